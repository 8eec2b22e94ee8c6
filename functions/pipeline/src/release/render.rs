//! Rendering a release: the site built from one dataset publication (through
//! [`super::site_inputs`]) and the release id, a hash of every rendered and published file.
//!
//! Stage: release (reads the store; writes nothing but the units' evidence bundles under
//! `bundles/`, built where missing by [`crate::evidence`], and the units' month downloads
//! under `unit-downloads/`, cut where missing by [`super::unit_months`], which the release
//! then copies).
//! It never switches, prunes or mirrors (that is [`super::switch`]).

use super::options::ReleaseOptions;
use super::parallel::{cores, in_parallel};
use super::site_inputs;
use crate::error::JobError;
use crate::memory::{peak_rss_mib, rss_mib};
use crate::publication::{Publication, PublishedFile};
use crate::signing::Signer;
use crate::store::{Copied, Store};
use envgov_curated::Curated;
use envgov_dataset::layout;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Uploads (and hashes) in flight at once. Putting one file is mostly waiting (an fsync on a
/// local store, a round trip on S3), so more of them than cores overlap their waits.
const UPLOADERS: usize = 16;

/// A rendered site: relative paths and their bytes.
pub type SiteFiles = Vec<(String, Vec<u8>)>;

/// A rendered release before upload: the site's files and the publication's (by key).
pub(super) struct Plan {
    pub(super) id: String,
    pub(super) data_date: String,
    pub(super) publication: Publication,
    pub(super) site: SiteFiles,
    /// The sha256 (hex) of each file of `site`, in the same order.
    pub(super) site_sha256: Vec<String>,
    /// Path in the release → a file stored beside the site: the publication's (under
    /// `datasets/`), the units' evidence bundles and month downloads
    /// (`downloads/enterprises/{uscc}/…`).
    pub(super) datasets: BTreeMap<String, PublishedFile>,
    /// The key that signs the release's manifest (whether it is a development key is on
    /// every page, so it is settled before rendering).
    pub(super) signer: Signer,
}

/// Renders the site from `publication` (pure apart from the reads). The release id is the
/// data date and a hash of every path and content, the datasets' included.
pub(super) fn plan(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
    publication: Publication,
) -> Result<Plan, JobError> {
    let started = std::time::Instant::now();
    let signer = options.signing.signer(store)?;
    let mut inputs = site_inputs::load(store, &publication)?;
    // Of the monthly datasets, each unit's downloads a file a month (stored where missing).
    let (unit_months, month_files) = super::unit_months::ensure(store, &publication)?;
    inputs.unit_months = unit_months;
    // The same month last year, for the year-on-year comparisons.
    inputs.year_ago = super::year_ago::load(store, &inputs.archives, &inputs.data_date)?;
    let loaded_ms = started.elapsed().as_millis();
    // The in-browser query engine's files, copied into the release like the datasets.
    let engine = super::query_engine::for_release(store, options.query_engine_dir.as_deref())?;
    let mut site_options = envgov_site::SiteOptions {
        development_key: signer.development,
        query_engine: engine.is_some(),
        ..Default::default()
    };
    if let Some(origin) = &options.site_origin {
        site_options.origin = origin.clone();
    }
    // Each unit's evidence bundle (built where its rows changed), linked from its page.
    let (links, bundles) = crate::evidence::for_release(
        store,
        curated,
        &inputs,
        &publication.manifest,
        &site_options.origin,
        &signer.key,
        signer.development,
    )?;
    inputs.unit_bundles = links;
    let bundles_ms = started.elapsed().as_millis() - loaded_ms;
    let data_date = inputs.data_date.clone();
    // The inputs are given up: their per-unit downloads move into the site's files.
    // Each unit page charts the unit's daily values, read from its month files a unit at a time.
    let unit_files = super::unit_months::StoredMonthFiles { store };
    let pages = envgov_site::pages_owned_charting(inputs, curated, &site_options, &unit_files)
        .map_err(|e| JobError::Definition(format!("rendering the site: {e}")))?;
    let rendered_ms = started.elapsed().as_millis() - loaded_ms - bundles_ms;
    tracing::info!(
        files = pages.len(),
        rss_mib = rss_mib(),
        peak_rss_mib = peak_rss_mib(),
        "site rendered"
    );
    let site = envgov_site::with_search_index(pages)
        .map_err(|e| JobError::Definition(format!("indexing the site for search: {e}")))?;
    let search_ms = started.elapsed().as_millis() - loaded_ms - bundles_ms - rendered_ms;
    tracing::info!(
        rss_mib = rss_mib(),
        peak_rss_mib = peak_rss_mib(),
        "site indexed for search"
    );
    let datasets_dir = format!("{}/", layout::RELEASE_DATASETS_DIR);
    if let Some((path, _)) = site.iter().find(|(p, _)| {
        p.starts_with(&datasets_dir)
            || bundles.contains_key(p)
            || month_files.contains_key(p)
            || engine.as_ref().is_some_and(|e| e.contains_key(p))
    }) {
        return Err(JobError::Definition(format!(
            "rendered path {path:?} collides with the release's datasets"
        )));
    }
    let site_sha256 = in_parallel(cores(), &site, |(_, bytes)| {
        Ok(crate::ledger::sha256_hex(bytes))
    })?;
    let mut hashes: BTreeMap<String, String> = site
        .iter()
        .zip(&site_sha256)
        .map(|((path, _), sha)| (path.clone(), sha.clone()))
        .collect();
    let mut datasets: BTreeMap<String, PublishedFile> = publication
        .manifest
        .files
        .iter()
        .map(|(p, f)| (format!("{datasets_dir}{p}"), f.clone()))
        .collect();
    datasets.extend(bundles);
    datasets.extend(month_files);
    datasets.extend(engine.into_iter().flatten());
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
    let id = format!("{data_date}-{}", &hex::encode(hash.finalize())[..12]);
    tracing::info!(release = %id, files = site.len(), loaded_ms, bundles_ms, rendered_ms, search_ms, total_ms = started.elapsed().as_millis(), "release planned");
    Ok(Plan {
        id,
        data_date,
        publication,
        site,
        site_sha256,
        datasets,
        signer,
    })
}

/// Copies each file stored beside the site (`datasets`: path in the release → the file:
/// the publication's and the evidence bundles) to `{prefix}{path}` unless the store already
/// holds it there, with [`Store::copy`], [`UPLOADERS`] at a time: the bytes never pass
/// through this process (a hard link on a local folder, `HeadObject` and `CopyObject` on S3,
/// mostly a round trip each: 2,000 units' bundles one after another would take minutes),
/// made durable by the caller's [`Store::sync`]. Returns, in the order of `datasets`,
/// whether each was written; on failure, the error of the first file (in that order) that
/// failed.
pub(super) fn copy_datasets(
    store: &dyn Store,
    prefix: &str,
    datasets: &BTreeMap<String, PublishedFile>,
) -> Result<Vec<bool>, JobError> {
    let files: Vec<(&String, &PublishedFile)> = datasets.iter().collect();
    in_parallel(UPLOADERS, &files, |(path, file)| {
        let key = format!("{prefix}{path}");
        match store.copy(&file.key, &key, &file.sha256)? {
            Copied::Written => Ok(true),
            Copied::Unchanged => Ok(false),
            Copied::NoSource => Err(JobError::Corrupt {
                key: file.key.clone(),
                message: format!("missing (planned as {path})"),
            }),
        }
    })
}

/// The bytes of a planned file that is not rendered: a file of the publication (under
/// `datasets/`, read through its manifest) or an evidence bundle (read from its key); either
/// checked against its sha256.
fn read_planned(
    store: &dyn Store,
    publication: &Publication,
    path: &str,
    file: &PublishedFile,
) -> Result<Vec<u8>, JobError> {
    if let Some(inner) = path
        .strip_prefix(layout::RELEASE_DATASETS_DIR)
        .and_then(|p| p.strip_prefix('/'))
    {
        return publication.read(store, inner);
    }
    let corrupt = |message: String| JobError::Corrupt {
        key: file.key.clone(),
        message,
    };
    let bytes = store
        .get(&file.key)?
        .ok_or_else(|| corrupt(format!("missing (planned as {path})")))?;
    let sha = crate::ledger::sha256_hex(&bytes);
    if sha != file.sha256 {
        return Err(corrupt(format!("sha256 {sha}, planned as {}", file.sha256)));
    }
    Ok(bytes)
}

/// What uploading one rendered file did.
pub(super) struct Uploaded {
    /// Written: the store did not hold these bytes at the key yet.
    pub(super) written: bool,
}

/// Puts each rendered file (`files[i]`, whose sha256 is `sha256[i]`) at `{prefix}{path}`
/// unless the store already holds the same bytes there, [`UPLOADERS`] at a time, with
/// [`Store::put_pending`] (the caller makes them durable with one [`Store::sync`]). Returns,
/// in the order of `files`, what each put did; on failure, the error of the first file (in
/// that order) that failed, after the puts in flight have finished.
pub(super) fn upload_site(
    store: &dyn Store,
    prefix: &str,
    files: &[(String, Vec<u8>)],
    sha256: &[String],
) -> Result<Vec<Uploaded>, JobError> {
    if files.len() != sha256.len() {
        return Err(JobError::Definition(format!(
            "{} rendered files but {} hashes",
            files.len(),
            sha256.len()
        )));
    }
    let jobs: Vec<(&(String, Vec<u8>), &String)> = files.iter().zip(sha256).collect();
    in_parallel(UPLOADERS, &jobs, |((path, content), sha)| {
        // Content hashes, not timestamps or sizes, decide what is uploaded again.
        let key = format!("{prefix}{path}");
        if store.stored_hash(&key)?.as_deref() == Some(sha.as_str()) {
            return Ok(Uploaded { written: false });
        }
        store.put_pending(&key, content, sha)?;
        Ok(Uploaded { written: true })
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
        files.push((
            path.clone(),
            read_planned(store, &plan.publication, path, file)?,
        ));
    }
    Ok((plan.id, files))
}
