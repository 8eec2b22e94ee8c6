//! The CloudFront KeyValueStore mirror of the live pointer: the edge router
//! (infra/template.yaml, `SiteRouterFunction`) reads the live release id from the key
//! `site/current` of a KeyValueStore, so every switch of the store's `site/current` is
//! followed by `DescribeKeyValueStore` (for the store's ETag) and `PutKey` with `IfMatch`.
//! [`super::switch::mirror_live`] drives it as a compare-and-set: it reads the ETag, then
//! `site/current`, puts the id with `IfMatch`, and on a conflict (409/412) or a pointer
//! that moved meanwhile reads `site/current` again.
//!
//! Stage: I/O edge, like [`crate::store::s3`]. The KeyValueStore API is signed with SigV4A
//! (`aws-sdk-cloudfrontkeyvaluestore` with its `sigv4a` feature, pure Rust over p256); the
//! HTTP client is the same hyper + rustls/ring one as the S3 store's (no aws-lc). The ETag
//! is the whole KeyValueStore's.

use super::mirror::LiveMirror;
use super::options::ReleaseOptions;
use crate::error::ReleaseError;
use crate::store::Conditional;
use crate::store::s3::{Executor, StaticCredentials, error_chain, is_transient, status};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cloudfrontkeyvaluestore::Client;
use aws_sdk_cloudfrontkeyvaluestore::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// The key the router reads.
pub const CURRENT_KEY: &str = "site/current";

/// Where to reach the KeyValueStore API; [`Default`] is the AWS configuration chain.
#[derive(Debug, Clone, Default)]
pub struct KvsOptions {
    /// An endpoint overriding the resolved one (tests on loopback).
    pub endpoint_url: Option<String>,
    /// Credentials overriding the configuration chain's.
    pub credentials: Option<StaticCredentials>,
}

/// A KeyValueStore whose `site/current` key follows the store's.
#[derive(Debug)]
pub struct KvsMirror {
    arn: String,
    client: Client,
    // After `client`: the client's connections are dropped while the runtime exists.
    executor: Executor,
}

fn config_error(arn: &str, message: String) -> ReleaseError {
    ReleaseError::Mirror {
        arn: arn.to_string(),
        retryable: false,
        message,
    }
}

impl KvsMirror {
    /// Opens the KeyValueStore `arn` with the AWS configuration chain. No request is sent.
    pub fn open(arn: &str) -> Result<Self, ReleaseError> {
        Self::open_with(arn, KvsOptions::default())
    }

    pub fn open_with(arn: &str, options: KvsOptions) -> Result<Self, ReleaseError> {
        if !arn.starts_with("arn:") || !arn.contains(":key-value-store/") {
            return Err(config_error(
                arn,
                "not a KeyValueStore ARN (arn:PARTITION:cloudfront::ACCOUNT:key-value-store/ID)"
                    .into(),
            ));
        }
        let executor = Executor::for_caller()
            .map_err(|e| config_error(arn, format!("starting the async runtime: {e}")))?;
        let loader = crate::store::s3::sdk_loader(
            RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(500)),
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(90))
                .build(),
            options.credentials.as_ref(),
        );
        let sdk_config = executor.block_on(loader.load());
        let mut config = aws_sdk_cloudfrontkeyvaluestore::config::Builder::from(&sdk_config);
        if let Some(url) = &options.endpoint_url {
            config = config.endpoint_url(url);
        }
        Ok(Self {
            arn: arn.to_string(),
            client: Client::from_conf(config.build()),
            executor,
        })
    }

    fn error<E>(&self, op: &str, err: SdkError<E>) -> ReleaseError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = match &err {
            SdkError::ServiceError(_) => format!(
                "HTTP {} {}: {}",
                status(&err).unwrap_or_default(),
                err.code().unwrap_or("(no error code)"),
                err.message().unwrap_or("")
            ),
            _ => error_chain(&err),
        };
        ReleaseError::Mirror {
            arn: self.arn.clone(),
            retryable: is_transient(&err),
            message: format!("{op}: {detail}"),
        }
    }

    /// The KeyValueStore's ETag (`DescribeKeyValueStore`).
    pub fn etag(&self) -> Result<String, ReleaseError> {
        let described = self
            .executor
            .block_on(
                self.client
                    .describe_key_value_store()
                    .kvs_arn(&self.arn)
                    .send(),
            )
            .map_err(|e| self.error("DescribeKeyValueStore", e))?;
        Ok(described.e_tag().to_string())
    }

    /// Sets `site/current` to `release_id` if the KeyValueStore's ETag is still `etag`
    /// (`PutKey` with `IfMatch`); a 409 or 412 (another writer changed it) is a
    /// [`Conditional::Conflict`].
    pub fn put_current_if_match(
        &self,
        release_id: &str,
        etag: &str,
    ) -> Result<Conditional, ReleaseError> {
        let put = self.executor.block_on(
            self.client
                .put_key()
                .kvs_arn(&self.arn)
                .key(CURRENT_KEY)
                .value(release_id)
                .if_match(etag)
                .send(),
        );
        match put {
            Ok(_) => Ok(Conditional::Written),
            Err(e) if matches!(status(&e), Some(409 | 412)) => Ok(Conditional::Conflict),
            Err(e) => Err(self.error("PutKey", e)),
        }
    }
}

impl LiveMirror for KvsMirror {
    fn version(&self) -> Result<String, ReleaseError> {
        self.etag()
    }

    fn set_live_if_match(
        &self,
        release_id: &str,
        version: &str,
    ) -> Result<Conditional, ReleaseError> {
        self.put_current_if_match(release_id, version)
    }

    fn describe(&self) -> String {
        self.arn.clone()
    }
}

/// The mirror `options.kvs_arn` names, if any (an empty ARN means none, as the template
/// sets it without a CDN).
pub fn mirror_from_options(
    options: &ReleaseOptions,
) -> Result<Option<Box<dyn LiveMirror>>, ReleaseError> {
    match options.kvs_arn.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(arn) => Ok(Some(Box::new(KvsMirror::open(arn)?))),
    }
}
