//! Fixtures for envgov's end-to-end tests: temporary stores and hand-built raw files.

use std::path::PathBuf;

/// A temporary folder removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("envgov-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads a published CSV (UTF-8 with BOM) into header-keyed rows.
pub fn read_csv(bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("published CSV starts with a BOM");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// A name no other test (or earlier run) uses: `{test}-{pid}-{nanoseconds}`.
pub fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!(
        "{test}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// Says loudly that a test could not run for want of `what`, and passes; under `CI=true` it
/// fails instead: in CI a missing tool is an error, never a quiet skip.
pub fn skip_or_fail(what: &str) {
    let msg = format!(
        "{what}: run `./scripts/test` (it starts the test servers), or \
         `scripts/s3-server start && eval \"$(scripts/s3-server env)\"` before cargo test"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("\n*** SKIPPED ***\n*** {msg} ***\n");
}

/// The S3-compatible test server `scripts/s3-server` starts (Garage on 127.0.0.1), from the
/// variables it writes.
#[derive(Debug, Clone)]
pub struct S3TestServer {
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub bucket: String,
}

impl S3TestServer {
    /// The server, or `None` after [`skip_or_fail`] when its variables are not set.
    pub fn from_env(needed_by: &str) -> Option<S3TestServer> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let vars = [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "ENVGOV_TEST_BUCKET",
        ];
        let missing: Vec<&str> = vars.into_iter().filter(|v| var(v).is_none()).collect();
        if !missing.is_empty() {
            skip_or_fail(&format!(
                "{needed_by} need the S3 test server: {} not set",
                missing.join(", ")
            ));
            return None;
        }
        let [endpoint, access_key_id, secret_access_key, region, bucket] =
            vars.map(|v| var(v).expect("checked above"));
        Some(S3TestServer {
            endpoint,
            access_key_id,
            secret_access_key,
            region,
            bucket,
        })
    }

    /// A location in the test bucket no other test (or earlier run) uses.
    pub fn location(&self, test: &str) -> String {
        format!("s3://{}/e2e/{}", self.bucket, unique(test))
    }
}

/// A fixed signing key (never a deployment's) for tests that compare two stores byte for
/// byte: each store would otherwise generate its own development key, and everything signed
/// (the release's `manifest.json`, the evidence bundles) would differ by its signature.
/// Ed25519 is deterministic: the same key gives the same bytes.
pub fn same_signing_key() -> envgov_pipeline::release::ReleaseOptions {
    use envgov_pipeline::signing::{KeyConfig, KeyId, SecretKey};
    envgov_pipeline::release::ReleaseOptions {
        signing: KeyConfig::Configured(Box::new(SecretKey::from_seed(
            KeyId(*b"e2e-test"),
            [0x5e; 32],
        ))),
        ..Default::default()
    }
}
