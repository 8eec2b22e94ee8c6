//! How a site release is published ([`ReleaseOptions`]).
//!
//! Stage: release (plain values). Imports only the signing key's configuration.

/// How a site release is published. The CLI takes these from flags, the Lambda function
/// from its environment (`ENVGOV_SITE_ORIGIN`, `ENVGOV_RELEASES_TO_KEEP`, `ENVGOV_KVS_ARN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// The public origin (`https://envgov.example.org`) for absolute URLs in the sitemap,
    /// feeds, calendars and citations; `None` uses the site generator's default.
    pub site_origin: Option<String>,
    /// How many releases to keep, the live one included (the most recently live ones; the
    /// live release and the one just published are never pruned); `None` keeps every
    /// release.
    pub releases_to_keep: Option<usize>,
    /// A CloudFront KeyValueStore whose `site/current` entry mirrors the pointer.
    pub kvs_arn: Option<String>,
    /// The key that signs the release's manifest (default: the store's development key).
    pub signing: crate::signing::KeyConfig,
    /// A folder holding the in-browser query engine's files (what
    /// `scripts/duckdb-wasm-assets` prints), put into the store where it lacks them; `None`
    /// uses the store's copy, if any (see [`super::query_engine`]).
    pub query_engine_dir: Option<std::path::PathBuf>,
}
