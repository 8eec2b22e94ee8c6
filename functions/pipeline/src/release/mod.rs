//! Site releases: render the site from one dataset publication, upload it completely
//! under `site/releases/{release-id}/` together with that publication's files, make it live
//! with one write to `site/current`, mirror the live pointer to the edge, prune old releases.
//!
//! Stage: release (after publish; only `jobs` and the commands call it). The submodules
//! depend one way: [`options`], [`mirror`] (plain contracts), [`parallel`] ←
//! [`site_inputs`] ← [`unit_months`], [`year_ago`], [`query_engine`] ← [`render`], [`stored`] (manifests, history, pointer) ← [`prune`],
//! [`kvs`], [`signed`] (the night's signed manifest) ← [`switch`]; this module only names
//! what they export.

pub mod kvs;
pub mod mirror;
pub mod options;
pub mod parallel;
pub mod prune;
pub mod query_engine;
pub mod render;
pub mod signed;
pub mod site_inputs;
pub mod stored;
pub mod switch;
pub mod unit_months;
pub mod year_ago;

pub use crate::error::ReleaseError;
pub use mirror::LiveMirror;
pub use options::ReleaseOptions;
pub use prune::prune;
pub use render::{SiteFiles, render};
pub use stored::{
    ERROR_PAGE_KEY, HISTORY_KEY, History, MANIFEST_NAME, Manifest, ManifestFile,
    RELEASE_ERROR_PAGE, ReleaseInfo, Switch, SwitchKind, current, history, list, manifest,
    manifest_key, verify,
};
pub use switch::*;
