//! Site releases: render the site from what the pipeline published, upload it completely
//! under `site/releases/{release-id}/`, then make it live with one write to `site/current`.
//!
//! Stage: publish (the I/O edge around the pure `envgov_site::build`). The release id is the
//! data date plus a hash of every rendered file, so the same inputs give the same release,
//! and a retried night rewrites identical bytes.

use crate::jobs::JobError;
use crate::store::Store;
use envgov_curated::Curated;
use envgov_dataset::layout;
use envgov_dataset::manifest::{Catalogue, DataPackage};
use envgov_dataset::report::RunReport;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The markdown pages of `content/`, embedded so that the Lambda function needs no files.
pub const CONTENT: &[(&str, &str)] = &[
    ("about.en.md", include_str!("../../../content/about.en.md")),
    ("about.zh.md", include_str!("../../../content/about.zh.md")),
    (
        "contact.en.md",
        include_str!("../../../content/contact.en.md"),
    ),
    (
        "contact.zh.md",
        include_str!("../../../content/contact.zh.md"),
    ),
    (
        "methodology.en.md",
        include_str!("../../../content/methodology.en.md"),
    ),
    (
        "methodology.zh.md",
        include_str!("../../../content/methodology.zh.md"),
    ),
];

/// What a render produced.
#[derive(Debug, Clone)]
pub struct Release {
    pub id: String,
    pub pages: usize,
    pub files: usize,
    pub bytes: u64,
    /// Objects written because their content was new or changed, and their bytes.
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    /// Objects already stored with the same content hash (not uploaded again).
    pub skipped: usize,
}

fn json<T: for<'de> serde::Deserialize<'de>>(store: &dyn Store, key: &str) -> Result<T, JobError> {
    let bytes = store.get(key)?.ok_or_else(|| JobError::Corrupt {
        key: key.into(),
        message: "missing; run `envgov nightly` first".into(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| JobError::Corrupt {
        key: key.into(),
        message: e.to_string(),
    })
}

/// How a site release is published. The CLI takes these from flags, the Lambda function
/// from its environment (`ENVGOV_SITE_ORIGIN`, `ENVGOV_RELEASES_TO_KEEP`, `ENVGOV_KVS_ARN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// The public origin (`https://envgov.example.org`) for absolute URLs in the sitemap,
    /// feeds, calendars and citations; `None` uses the site generator's default.
    pub site_origin: Option<String>,
    /// How many releases to keep besides the live one; `None` keeps every release.
    pub releases_to_keep: Option<usize>,
    /// A CloudFront KeyValueStore whose `site/current` entry mirrors the pointer.
    pub kvs_arn: Option<String>,
}

/// A rendered site: relative paths and their bytes.
pub type SiteFiles = Vec<(String, Vec<u8>)>;

/// Reads the published datasets and renders the site (pure apart from the reads).
/// Returns the release id and the files.
pub fn render(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
) -> Result<(String, SiteFiles), JobError> {
    let catalogue: Catalogue = json(store, layout::CATALOGUE_KEY)?;
    let mut packages = BTreeMap::new();
    let mut tables = BTreeMap::new();
    let mut archives = BTreeMap::new();
    for entry in &catalogue.datasets {
        let id =
            layout::check_segment(&entry.id).map_err(|e| JobError::Definition(e.to_string()))?;
        let package: DataPackage = json(store, &layout::datapackage_key(id).expect("checked id"))?;
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = json(
            store,
            &layout::dataset_key(id, layout::Format::Json).expect("checked id"),
        )?;
        archives.insert(id.to_string(), package.archives.clone());
        packages.insert(id.to_string(), package);
        tables.insert(id.to_string(), rows);
    }
    let report: Option<RunReport> = match store.get(
        &layout::run_report_key(&catalogue.data_date)
            .map_err(|e| JobError::Definition(e.to_string()))?,
    )? {
        Some(b) => Some(serde_json::from_slice(&b).map_err(|e| JobError::Corrupt {
            key: "run report".into(),
            message: e.to_string(),
        })?),
        None => None,
    };
    let content = envgov_site::load_content(
        CONTENT
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    )
    .map_err(|e| JobError::Definition(e.to_string()))?;
    let inputs = envgov_site::SiteInputs {
        data_date: catalogue.data_date.clone(),
        catalogue,
        packages,
        tables,
        archives,
        content,
        report,
        sample: store.get(layout::SAMPLE_LEDGER_KEY)?.is_some(),
    };
    let site_options = match &options.site_origin {
        Some(origin) => envgov_site::SiteOptions {
            origin: origin.clone(),
        },
        None => envgov_site::SiteOptions::default(),
    };
    let files = envgov_site::build_with(&inputs, curated, &site_options)
        .map_err(|e| JobError::Definition(format!("rendering the site: {e}")))?;
    let mut hash = Sha256::new();
    for (path, bytes) in &files {
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(Sha256::digest(bytes));
    }
    let id = format!(
        "{}-{}",
        inputs.data_date,
        &hex::encode(hash.finalize())[..12]
    );
    Ok((id, files))
}

/// Renders the site, uploads the release completely, then switches `site/current` to it.
pub fn publish(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
) -> Result<Release, JobError> {
    let (id, files) = render(store, curated, options)?;
    let prefix =
        layout::site_release_prefix(&id).map_err(|e| JobError::Definition(e.to_string()))?;
    let (mut bytes, mut uploaded, mut uploaded_bytes, mut skipped) = (0u64, 0usize, 0u64, 0usize);
    for (path, content) in &files {
        if path.split('/').any(|s| layout::check_segment(s).is_err()) {
            return Err(JobError::Definition(format!(
                "rendered path {path:?} is not a safe key"
            )));
        }
        bytes += content.len() as u64;
        // Content hashes, not timestamps or sizes, decide what is uploaded again.
        let key = format!("{prefix}{path}");
        let sha = crate::ledger::sha256_hex(content);
        if store.stored_hash(&key)?.as_deref() == Some(sha.as_str()) {
            skipped += 1;
            continue;
        }
        store.put_with_hash(&key, content, &sha)?;
        uploaded += 1;
        uploaded_bytes += content.len() as u64;
    }
    // Only now, with every file in place, does the release go live.
    store.put(layout::SITE_CURRENT_KEY, format!("{id}\n").as_bytes())?;
    let pages = files.iter().filter(|(p, _)| p.ends_with(".html")).count();
    tracing::info!(release = %id, pages, files = files.len(), bytes, uploaded, uploaded_bytes, skipped, "site release published");
    Ok(Release {
        id,
        pages,
        files: files.len(),
        bytes,
        uploaded,
        uploaded_bytes,
        skipped,
    })
}

/// The live release id, if any.
pub fn current(store: &dyn Store) -> Result<Option<String>, JobError> {
    Ok(store
        .get(layout::SITE_CURRENT_KEY)?
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| layout::check_segment(s).is_ok()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_content_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../content");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = super::CONTENT.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded);
    }
}
