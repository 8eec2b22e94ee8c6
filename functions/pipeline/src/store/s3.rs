//! Storage on S3 (or any S3-compatible server): the [`Store`] trait over `aws-sdk-s3`.
//!
//! Stage: I/O edge, like [`crate::store`]. A location `s3://BUCKET[/PREFIX]` names a bucket
//! and an optional key prefix; store keys are joined to the prefix with `/`, so the bucket
//! holds exactly the local store's layout under `PREFIX/`.
//!
//! Credentials, region and endpoint come from the standard AWS configuration chain
//! (environment, shared config and credentials files, SSO, web identity, container and
//! instance metadata), including `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` for an
//! S3-compatible server; path-style addressing is used when an endpoint is overridden.
//! Request checksums are only sent when an operation requires them
//! (`RequestChecksumCalculation::WhenRequired`), which S3-compatible servers such as Garage
//! need.
//!
//! Failures are retried inside the SDK (standard mode: throttling such as `503 SlowDown` and
//! `429`, other 5xx, timeouts and connection errors, with jittered exponential backoff). An
//! error that survives the retries is a [`StoreError::S3`] naming the key, whose
//! [`StoreError::is_retryable`] says whether running the whole job again may succeed.
//!
//! # Blocking
//!
//! [`Store`] is synchronous, so every call blocks the calling thread on an async SDK call.
//! Outside any tokio runtime (the CLI, tests), the store owns a current-thread runtime.
//! Inside an async program (the Lambda functions) the pipeline must run on a thread where
//! blocking is allowed, i.e. in `tokio::task::spawn_blocking`; opened there, the store
//! borrows the program's multi-thread runtime through its `Handle` (see [`S3Store::open`]).
//! Calling a store method from async code directly panics (tokio forbids blocking there).
//!
//! The Lambda functions (`functions/lambda`, tested through the Runtime API) do this:
//!
//! ```text
//! // In a Lambda handler (multi-thread runtime):
//! let report = tokio::task::spawn_blocking(move || {
//!     let store = envgov_pipeline::store::open_store(&location)?; // borrows the runtime
//!     envgov_pipeline::jobs::nightly(store.as_ref(), &curated, &options)
//! })
//! .await??;
//! ```

use super::api::{
    Conditional, Copied, ObjectMeta, ObjectReader, Store, StoreError, Version, check_key,
};
use crate::ledger::sha256_hex;
use aws_config::BehaviorVersion;
use aws_config::retry::{ErrorKind, RetryConfig};
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, RequestChecksumCalculation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, MetadataDirective};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use std::future::Future;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

/// The user-metadata name under which [`Store::put_with_hash`] records the content's sha256
/// (sent as the `x-amz-meta-sha256` header).
pub const SHA256_METADATA: &str = "sha256";

/// A parsed `s3://BUCKET[/PREFIX]` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// The key prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]`. The bucket must be a valid S3 bucket name; the prefix
    /// must be made of non-empty `/`-separated segments other than `.` and `..` (one trailing
    /// `/` is allowed).
    pub fn parse(location: &str) -> Result<Self, StoreError> {
        let bad = |reason: &str| StoreError::Config {
            location: location.to_string(),
            message: reason.to_string(),
        };
        let rest = location
            .strip_prefix("s3://")
            .ok_or_else(|| bad("an S3 location must start with s3://"))?;
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (b, p.strip_suffix('/').unwrap_or(p)),
            None => (rest, ""),
        };
        check_bucket(bucket).map_err(bad)?;
        if !prefix.is_empty() && check_key(prefix).is_err() {
            return Err(bad(
                "the prefix must be '/'-separated segments, none empty, '.' or '..'",
            ));
        }
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The object key of a store key.
    pub fn object_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// The store key of an object key under the prefix.
    fn store_key<'a>(&self, object_key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            Some(object_key)
        } else {
            object_key
                .strip_prefix(self.prefix.as_str())
                .and_then(|k| k.strip_prefix('/'))
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// S3 bucket naming rules (general purpose buckets).
fn check_bucket(bucket: &str) -> Result<(), &'static str> {
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let edges = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(3..=63).contains(&bucket.len())
        || !ok_chars
        || !edges(bucket.bytes().next())
        || !edges(bucket.bytes().last())
        || bucket.contains("..")
    {
        return Err(
            "the bucket name must be 3 to 63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit",
        );
    }
    Ok(())
}

/// The AWS configuration chain as envgov's AWS clients load it: hyper 1 + rustls over ring
/// (the SDK's default client would build aws-lc from C), the given retries and timeouts,
/// and static credentials when given (tests), else the standard chain.
pub(crate) fn sdk_loader(
    retry: RetryConfig,
    timeouts: TimeoutConfig,
    credentials: Option<&StaticCredentials>,
) -> aws_config::ConfigLoader {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(c) = credentials {
        loader = loader.credentials_provider(Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            None,
            None,
            "envgov-static",
        ));
    }
    loader
}

/// Static credentials, for callers that do not take them from the AWS configuration chain.
#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

/// How to reach the bucket and how hard to try. [`Default`] suits production.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Path-style addressing (`https://endpoint/bucket/key`). `None`: on when an endpoint is
    /// overridden (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3` or [`S3Options::endpoint_url`]),
    /// virtual-hosted style otherwise (AWS S3).
    pub force_path_style: Option<bool>,
    /// An endpoint overriding the configuration chain's.
    pub endpoint_url: Option<String>,
    /// Credentials overriding the configuration chain's.
    pub credentials: Option<StaticCredentials>,
    /// Attempts per operation, the first included (standard retry mode).
    pub max_attempts: u32,
    /// Base of the jittered exponential backoff between attempts.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// Limit on one attempt (request sent to response read); a timed-out attempt is retried.
    pub attempt_timeout: Duration,
    /// Limit on a whole operation, retries included; not retried.
    pub operation_timeout: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            force_path_style: None,
            endpoint_url: None,
            credentials: None,
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(60),
            operation_timeout: Duration::from_secs(300),
        }
    }
}

/// Where the store's blocking calls run their futures (also used by [`crate::release::kvs`]).
#[derive(Debug)]
pub(crate) enum Executor {
    /// A runtime of the store's own (callers outside any runtime).
    Owned(Runtime),
    /// The calling program's multi-thread runtime (callers in `spawn_blocking`).
    Borrowed(Handle),
}

impl Executor {
    /// The caller's multi-thread runtime if there is one (callers in `spawn_blocking`),
    /// else a current-thread runtime of our own.
    pub(crate) fn for_caller() -> std::io::Result<Self> {
        Ok(match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                Executor::Borrowed(handle)
            }
            _ => Executor::Owned(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?,
            ),
        })
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Executor::Owned(rt) => rt.block_on(future),
            Executor::Borrowed(handle) => handle.block_on(future),
        }
    }
}

/// A bucket (and prefix) laid out exactly like the local store.
#[derive(Debug)]
pub struct S3Store {
    location: S3Location,
    client: Client,
    // Declared after `client` so that the client (and its connection pool) is dropped while
    // the runtime still exists.
    executor: Executor,
}

impl S3Store {
    /// Opens `s3://BUCKET[/PREFIX]` with the default options. See [`S3Store::open_with`].
    pub fn open(location: &str) -> Result<Self, StoreError> {
        Self::open_with(location, S3Options::default())
    }

    /// Opens `s3://BUCKET[/PREFIX]`, loading the AWS configuration chain. No request is sent.
    ///
    /// Called inside a multi-thread tokio runtime (from `spawn_blocking`), the store uses
    /// that runtime; otherwise it starts its own current-thread runtime. Must not be called
    /// from async code.
    pub fn open_with(location: &str, options: S3Options) -> Result<Self, StoreError> {
        let parsed = S3Location::parse(location)?;
        let executor = Executor::for_caller().map_err(|e| StoreError::Config {
            location: location.to_string(),
            message: format!("starting the async runtime: {e}"),
        })?;
        Self::build(parsed, options, executor)
    }

    /// Opens `s3://BUCKET[/PREFIX]` on the given runtime. `handle` must belong to a
    /// multi-thread runtime (a current-thread runtime only makes progress while its own
    /// `block_on` runs), and the store must be used from threads where blocking is allowed.
    pub fn open_on(location: &str, options: S3Options, handle: Handle) -> Result<Self, StoreError> {
        let parsed = S3Location::parse(location)?;
        Self::build(parsed, options, Executor::Borrowed(handle))
    }

    fn build(
        location: S3Location,
        options: S3Options,
        executor: Executor,
    ) -> Result<Self, StoreError> {
        let mut loader = sdk_loader(
            RetryConfig::standard()
                .with_max_attempts(options.max_attempts.max(1))
                .with_initial_backoff(options.initial_backoff)
                .with_max_backoff(options.max_backoff),
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .operation_attempt_timeout(options.attempt_timeout)
                .operation_timeout(options.operation_timeout)
                .build(),
            options.credentials.as_ref(),
        );
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk_config = executor.block_on(loader.load());
        if sdk_config.region().is_none() {
            return Err(StoreError::Config {
                location: location.to_string(),
                message: "no AWS region configured (set AWS_REGION or a profile's region)".into(),
            });
        }
        let endpoint_overridden = sdk_config.endpoint_url().is_some()
            || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|v| !v.is_empty());
        let config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .force_path_style(options.force_path_style.unwrap_or(endpoint_overridden))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .build();
        Ok(Self {
            location,
            client: Client::from_conf(config),
            executor,
        })
    }

    /// The bucket and prefix.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    fn error<E>(&self, op: &'static str, key: &str, err: SdkError<E>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let retryable = is_transient(&err);
        let detail = match &err {
            SdkError::ServiceError(_) => {
                let mut detail = format!(
                    "HTTP {} {}",
                    status(&err).unwrap_or_default(),
                    err.code().unwrap_or("(no error code)")
                );
                if let Some(message) = err.message() {
                    detail.push_str(": ");
                    detail.push_str(message);
                }
                if let Some(id) = err.request_id() {
                    detail.push_str(&format!(" (request id {id})"));
                }
                detail
            }
            _ => error_chain(&err),
        };
        StoreError::S3 {
            key: key.to_string(),
            op,
            retryable,
            message: format!("{}/{key}: {detail}", self.location),
        }
    }

    /// One `PutObject`, with the content's sha256 in user metadata and as the request's
    /// integrity checksum (`x-amz-checksum-sha256`, announced by
    /// `x-amz-sdk-checksum-algorithm: SHA256`), so S3 verifies the bytes it stores and a
    /// bucket with Object Lock (which refuses uploads without `Content-MD5` or a checksum)
    /// accepts it. The hash is the one already computed: nothing is hashed twice.
    /// `condition` adds `If-None-Match: *` or `If-Match: <etag>`; their `412 Precondition
    /// Failed`, `409 ConditionalRequestConflict` (S3's answer to a conditional write racing
    /// another one on the same key) and, for `If-Match`, `404 NoSuchKey` are
    /// [`Conditional::Conflict`].
    fn put_object(
        &self,
        key: &str,
        bytes: &[u8],
        sha256: &str,
        condition: Condition<'_>,
    ) -> Result<Conditional, StoreError> {
        check_key(key)?;
        let digest = hex::decode(sha256).map_err(|_| StoreError::S3 {
            key: key.to_string(),
            op: "PutObject",
            retryable: false,
            message: format!("{sha256:?} is not a hex sha256"),
        })?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(self.location.object_key(key))
            .content_type(content_type(key))
            .metadata(SHA256_METADATA, sha256)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(base64(&digest))
            .body(ByteStream::from(bytes.to_vec()));
        request = match condition {
            Condition::None => request,
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(version) => request.if_match(version.as_str()),
        };
        match self.executor.block_on(request.send()) {
            Ok(_) => Ok(Conditional::Written),
            Err(e)
                if !matches!(condition, Condition::None)
                    && (status(&e) == Some(412)
                        || e.code() == Some("PreconditionFailed")
                        || (status(&e) == Some(409)
                            && e.code() == Some("ConditionalRequestConflict"))) =>
            {
                Ok(Conditional::Conflict)
            }
            // `If-Match` on a key that does not exist: S3 answers 404 NoSuchKey.
            Err(e) if matches!(condition, Condition::Matches(_)) && status(&e) == Some(404) => {
                Ok(Conditional::Conflict)
            }
            Err(e) => Err(self.error("PutObject", key, e)),
        }
    }

    /// Whether a `403 AccessDenied` on a GET or HEAD of `key` means the object is missing.
    ///
    /// S3 reveals that a key does not exist (404) only to callers allowed to list the
    /// bucket. The deployed roles (infra/template.yaml) hold `s3:ListBucket` only with an
    /// `s3:prefix` condition, which a GET or HEAD does not carry, so on AWS a missing key
    /// answers 403. A listing with the key itself as prefix (allowed by the roles, since
    /// every key the pipeline reads starts with a listed prefix) tells the two apart: no
    /// such key listed means missing; the key listed, or the listing denied too, means a
    /// real permission error, which the caller reports as it was.
    fn denied_means_missing(&self, key: &str) -> bool {
        let object_key = self.location.object_key(key);
        let request = self
            .client
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&object_key)
            .max_keys(1);
        match self.executor.block_on(request.send()) {
            Ok(page) => !page
                .contents()
                .iter()
                .any(|o| o.key() == Some(object_key.as_str())),
            Err(_) => false,
        }
    }

    /// Sends `GetObject`; `Ok(None)` when the object is missing (or, see
    /// `denied_means_missing`, denied because it is missing).
    fn send_get(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, StoreError> {
        check_key(key)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(self.location.object_key(key));
        match self.executor.block_on(request.send()) {
            Ok(output) => Ok(Some(output)),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                    || status(&e) == Some(404) =>
            {
                Ok(None)
            }
            Err(e) if status(&e) == Some(403) && self.denied_means_missing(key) => Ok(None),
            Err(e) => Err(self.error("GetObject", key, e)),
        }
    }

    /// The object's bytes and `ETag`.
    fn get_object(&self, key: &str) -> Result<Option<ObjectAndEtag>, StoreError> {
        let Some(output) = self.send_get(key)? else {
            return Ok(None);
        };
        let etag = output.e_tag().map(str::to_string);
        // A body cut off mid-way is a transient failure like any other.
        let body = self
            .executor
            .block_on(output.body.collect())
            .map_err(|e| StoreError::S3 {
                key: key.to_string(),
                op: "GetObject",
                retryable: true,
                message: format!(
                    "{}/{key}: reading the body: {}",
                    self.location,
                    error_chain(&e)
                ),
            })?;
        Ok(Some((body.into_bytes().to_vec(), etag)))
    }
}

/// A `GetObject` body read chunk by chunk as the caller reads: at most one network chunk
/// in memory, whatever the object's size.
struct BodyReader<'a> {
    executor: &'a Executor,
    body: ByteStream,
    chunk: bytes::Bytes,
    key: String,
}

impl std::io::Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.executor.block_on(self.body.try_next()) {
                Ok(Some(next)) => self.chunk = next,
                Ok(None) => return Ok(0),
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "reading the body of {}: {}",
                        self.key,
                        error_chain(&e)
                    )));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        let head = self.chunk.split_to(n);
        buf.get_mut(..n)
            .ok_or_else(|| std::io::Error::other("short buffer"))?
            .copy_from_slice(&head);
        Ok(n)
    }
}

/// An object's content and its `ETag` (if the response had one).
type ObjectAndEtag = (Vec<u8>, Option<String>);

/// The precondition of a `PutObject`.
#[derive(Debug, Clone, Copy)]
enum Condition<'a> {
    None,
    /// `If-None-Match: *`
    Absent,
    /// `If-Match: <etag>`
    Matches(&'a Version),
}

/// What `x-amz-copy-source` percent-encodes in a key: everything but the unreserved
/// characters of RFC 3986 and the `/` between segments.
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Standard base64 (RFC 4648, padded), for the checksum headers.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An error and its sources, `: `-separated (the SDK's errors keep the cause in the chain).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The HTTP status of a service error's response, if there was one.
pub(crate) fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Whether a failed operation may succeed if tried again later (the SDK has already retried
/// it): throttling, server errors, timeouts, connection failures and broken responses.
pub(crate) fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        // Connection failures and timeouts; not a missing credential or a bad endpoint URL.
        SdkError::DispatchFailure(d) => {
            d.is_io()
                || d.is_timeout()
                || matches!(
                    d.as_other(),
                    Some(
                        ErrorKind::TransientError
                            | ErrorKind::ThrottlingError
                            | ErrorKind::ServerError
                    )
                )
        }
        SdkError::ServiceError(_) => {
            status(err).is_some_and(|s| s == 429 || s >= 500)
                || matches!(
                    err.code(),
                    Some(
                        "SlowDown"
                            | "Throttling"
                            | "ThrottlingException"
                            | "RequestTimeout"
                            | "RequestLimitExceeded"
                            | "TooManyRequestsException"
                            | "InternalError"
                            | "ServiceUnavailable"
                    )
                )
        }
        _ => false,
    }
}

/// The `Content-Type` to store with an object, from its key's extension, so that the
/// published site and datasets are served with the right type.
pub fn content_type(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => return "application/octet-stream",
    };
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "csv" => "text/csv; charset=utf-8",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "ics" => "text/calendar; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        "parquet" => "application/vnd.apache.parquet",
        "zip" => "application/zip",
        // The in-browser query engine: browsers compile WebAssembly streamed only with it.
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Store for S3Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_object(key)?.map(|(bytes, _)| bytes))
    }

    /// Writes the object with its sha256 in user metadata, so [`Store::stored_hash`] never
    /// needs the content.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.put_object(key, bytes, &sha256_hex(bytes), Condition::None)
            .map(|_| ())
    }

    /// Writes the object with the caller's sha256 of `bytes` in `x-amz-meta-sha256`.
    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        if !is_sha256_hex(sha256_hex) {
            return Err(StoreError::S3 {
                key: key.to_string(),
                op: "PutObject",
                retryable: false,
                message: format!("{sha256_hex:?} is not a lowercase hex sha256"),
            });
        }
        self.put_object(key, bytes, sha256_hex, Condition::None)
            .map(|_| ())
    }

    /// `HeadObject` of `to` (its recorded sha256), then `CopyObject` inside the bucket: no
    /// byte passes through the caller. The copy gets
    /// `sha256_hex` in its metadata and S3 computes its SHA-256 checksum
    /// (`x-amz-checksum-algorithm: SHA256`); when the response returns it, it is compared
    /// with `sha256_hex` and a difference is [`StoreError::HashMismatch`] (the copy is
    /// deleted). Objects over 5 GiB (`CopyObject`'s limit, and `PutObject`'s) are not
    /// written by this store.
    fn copy(&self, from: &str, to: &str, sha256_hex: &str) -> Result<Copied, StoreError> {
        check_key(from)?;
        check_key(to)?;
        let digest = hex::decode(sha256_hex)
            .ok()
            .filter(|_| is_sha256_hex(sha256_hex));
        let Some(digest) = digest else {
            return Err(StoreError::S3 {
                key: to.to_string(),
                op: "CopyObject",
                retryable: false,
                message: format!("{sha256_hex:?} is not a lowercase hex sha256"),
            });
        };
        if self.stored_hash(to)?.as_deref() == Some(sha256_hex) {
            return Ok(Copied::Unchanged);
        }
        let source = format!(
            "{}/{}",
            self.location.bucket,
            percent_encoding::utf8_percent_encode(&self.location.object_key(from), COPY_SOURCE)
        );
        let request = self
            .client
            .copy_object()
            .bucket(&self.location.bucket)
            .key(self.location.object_key(to))
            .copy_source(source)
            .metadata_directive(MetadataDirective::Replace)
            .content_type(content_type(to))
            .metadata(SHA256_METADATA, sha256_hex)
            .checksum_algorithm(ChecksumAlgorithm::Sha256);
        let output = match self.executor.block_on(request.send()) {
            Ok(output) => output,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.code() == Some("NoSuchKey"))
                    || status(&e) == Some(404) =>
            {
                return Ok(Copied::NoSource);
            }
            Err(e) if status(&e) == Some(403) && self.denied_means_missing(from) => {
                return Ok(Copied::NoSource);
            }
            Err(e) => return Err(self.error("CopyObject", to, e)),
        };
        let copied = output
            .copy_object_result()
            .and_then(|r| r.checksum_sha256());
        if let Some(actual) = copied.filter(|c| *c != base64(&digest)) {
            use base64::Engine;
            let actual = match base64::engine::general_purpose::STANDARD.decode(actual) {
                Ok(bytes) => hex::encode(bytes),
                Err(_) => format!("{actual:?} (not base64)"),
            };
            self.delete(to)?;
            return Err(StoreError::HashMismatch {
                key: from.to_string(),
                expected: sha256_hex.to_string(),
                actual,
            });
        }
        Ok(Copied::Written)
    }

    /// The version is the object's `ETag`.
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        match self.get_object(key)? {
            None => Ok(None),
            Some((bytes, Some(etag))) => Ok(Some((bytes, Version::new(etag)))),
            Some((_, None)) => Err(StoreError::S3 {
                key: key.to_string(),
                op: "GetObject",
                retryable: false,
                message: format!("{}/{key}: the response has no ETag", self.location),
            }),
        }
    }

    /// `PutObject` with `If-None-Match: *`. AWS S3 (and moto) enforce it atomically;
    /// Garage accepts and ignores it (it overwrites), so nothing that must be correct on
    /// Garage may rest on this.
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        self.put_object(key, bytes, &sha256_hex(bytes), Condition::Absent)
    }

    /// `PutObject` with `If-Match: <ETag>` (same caveat about Garage).
    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        self.put_object(key, bytes, &sha256_hex(bytes), Condition::Matches(version))
    }

    /// Reads `x-amz-meta-sha256` with a HEAD request; `None` when the object is missing or
    /// was written without it (by another tool).
    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        let request = self
            .client
            .head_object()
            .bucket(&self.location.bucket)
            .key(self.location.object_key(key));
        match self.executor.block_on(request.send()) {
            Ok(output) => Ok(output
                .metadata()
                .and_then(|m| m.get(SHA256_METADATA))
                .filter(|h| is_sha256_hex(h))
                .cloned()),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || status(&e) == Some(404) =>
            {
                Ok(None)
            }
            // See `denied_means_missing`.
            Err(e) if status(&e) == Some(403) && self.denied_means_missing(key) => Ok(None),
            Err(e) => Err(self.error("HeadObject", key, e)),
        }
    }

    /// The keys of [`Store::list_meta`]'s listing.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.list_meta(prefix)?.into_iter().map(|o| o.key).collect())
    }

    /// One `ListObjectsV2` listing: each object's `Size` and `ETag`, no content read.
    fn list_meta(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let full_prefix = self.location.object_key(prefix);
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self
                .client
                .list_objects_v2()
                .bucket(&self.location.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(token.take());
            let page = self
                .executor
                .block_on(request.send())
                .map_err(|e| self.error("ListObjectsV2", prefix, e))?;
            for o in page.contents() {
                let Some(key) = o.key().and_then(|k| self.location.store_key(k)) else {
                    continue;
                };
                objects.push(ObjectMeta {
                    key: key.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    tag: o.e_tag().unwrap_or_default().to_string(),
                });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// `GetObject`, its body streamed (see `BodyReader`).
    fn open(&self, key: &str) -> Result<Option<ObjectReader<'_>>, StoreError> {
        Ok(self.send_get(key)?.map(|output| {
            Box::new(BodyReader {
                executor: &self.executor,
                body: output.body,
                chunk: bytes::Bytes::new(),
                key: format!("{}/{key}", self.location),
            }) as ObjectReader<'_>
        }))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        let request = self
            .client
            .delete_object()
            .bucket(&self.location.bucket)
            .key(self.location.object_key(key));
        match self.executor.block_on(request.send()) {
            Ok(_) => Ok(()),
            // S3 answers 204 for a missing key; some compatible servers answer 404.
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.error("DeleteObject", key, e)),
        }
    }

    fn describe(&self) -> String {
        self.location.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let l = S3Location::parse("s3://envgov-data").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("envgov-data", ""));
        assert_eq!(l.object_key("raw/a/x.csv"), "raw/a/x.csv");
        let l = S3Location::parse("s3://envgov-data/nightly/prod/").unwrap();
        assert_eq!(l.prefix, "nightly/prod");
        assert_eq!(l.object_key("raw/a/x.csv"), "nightly/prod/raw/a/x.csv");
        assert_eq!(l.store_key("nightly/prod/raw/a/x.csv"), Some("raw/a/x.csv"));
        assert_eq!(l.store_key("nightly/production/x"), None);
        assert_eq!(l.to_string(), "s3://envgov-data/nightly/prod");
    }

    #[test]
    fn rejects_malformed_locations() {
        for bad in [
            "envgov-data",
            "s3:/envgov-data",
            "s3://",
            "s3://ab",
            "s3://Envgov",
            "s3://-envgov",
            "s3://env_gov",
            "s3://env..gov",
            "s3://envgov//x",
            "s3://envgov/a/../b",
            "s3://envgov/./b",
        ] {
            let err = S3Location::parse(bad).unwrap_err();
            assert!(
                matches!(&err, StoreError::Config { location, .. } if location == bad),
                "{bad}: {err}"
            );
            assert!(!err.is_retryable());
        }
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
        // sha256("abc"), as `openssl dgst -sha256 -binary | base64` prints it.
        let digest =
            hex::decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                .unwrap();
        assert_eq!(
            base64(&digest),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(
            content_type("site/releases/x/zh/index.html"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type("datasets/a/a.parquet"),
            "application/vnd.apache.parquet"
        );
        assert_eq!(content_type("site/current"), "application/octet-stream");
        assert_eq!(
            content_type("site-assets/duckdb-wasm-1.28.0/duckdb-eh.wasm"),
            "application/wasm"
        );
        assert_eq!(
            content_type("site/releases/x/assets/duckdb-wasm-1.28.0/duckdb-browser.mjs"),
            "text/javascript; charset=utf-8"
        );
    }
}
