//! Rendering a release: the site built from one dataset publication (through
//! [`super::site_inputs`]) and the release id, a hash of every rendered and published file.
//!
//! Stage: release (reads the store, writes nothing). It never switches, prunes or mirrors
//! (that is [`super::switch`]).

use super::options::ReleaseOptions;
use super::site_inputs;
use crate::error::JobError;
use crate::publication::{Publication, PublishedFile};
use crate::store::Store;
use envgov_curated::Curated;
use envgov_dataset::layout;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A rendered site: relative paths and their bytes.
pub type SiteFiles = Vec<(String, Vec<u8>)>;

/// A rendered release before upload: the site's files and the publication's (by key).
pub(super) struct Plan {
    pub(super) id: String,
    pub(super) data_date: String,
    pub(super) publication: Publication,
    pub(super) site: SiteFiles,
    /// Path in the release (`datasets/...`) → the publication's file.
    pub(super) datasets: BTreeMap<String, PublishedFile>,
}

/// Renders the site from `publication` (pure apart from the reads). The release id is the
/// data date and a hash of every path and content, the datasets' included.
pub(super) fn plan(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
    publication: Publication,
) -> Result<Plan, JobError> {
    let inputs = site_inputs::load(store, &publication)?;
    let site_options = match &options.site_origin {
        Some(origin) => envgov_site::SiteOptions {
            origin: origin.clone(),
        },
        None => envgov_site::SiteOptions::default(),
    };
    let site = envgov_site::build_with(&inputs, curated, &site_options)
        .map_err(|e| JobError::Definition(format!("rendering the site: {e}")))?;
    let datasets_dir = format!("{}/", layout::RELEASE_DATASETS_DIR);
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    for (path, bytes) in &site {
        if path.starts_with(&datasets_dir) {
            return Err(JobError::Definition(format!(
                "rendered path {path:?} collides with the release's datasets"
            )));
        }
        hashes.insert(path.clone(), crate::ledger::sha256_hex(bytes));
    }
    let datasets: BTreeMap<String, PublishedFile> = publication
        .manifest
        .files
        .iter()
        .map(|(p, f)| (format!("{datasets_dir}{p}"), f.clone()))
        .collect();
    for (path, file) in &datasets {
        hashes.insert(path.clone(), file.sha256.clone());
    }
    let mut hash = Sha256::new();
    for (path, sha) in &hashes {
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(sha.as_bytes());
        hash.update([0]);
    }
    let id = format!(
        "{}-{}",
        inputs.data_date,
        &hex::encode(hash.finalize())[..12]
    );
    Ok(Plan {
        id,
        data_date: inputs.data_date,
        publication,
        site,
        datasets,
    })
}

/// Renders the site from the staged publication (`datasets/staged`) and returns the release
/// id and every file of the release, the datasets under `datasets/` included (read whole:
/// for tests and tools; [`publish`] streams them).
pub fn render(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
) -> Result<(String, SiteFiles), JobError> {
    let plan = plan(store, curated, options, Publication::staged(store)?)?;
    let mut files = plan.site;
    for (path, file) in &plan.datasets {
        let inner = &path[layout::RELEASE_DATASETS_DIR.len() + 1..];
        debug_assert_eq!(plan.publication.manifest.files.get(inner), Some(file));
        files.push((path.clone(), plan.publication.read(store, inner)?));
    }
    Ok((plan.id, files))
}
