//! Dataset publication: a night's datasets become dated archives (written once, never
//! rewritten) and one *publication*, the set of files a site release serves at the stable
//! URLs.
//!
//! Stage: publish (the I/O edge around the pure [`crate::publish::render`]).
//!
//! # Keys (all built in `envgov_dataset::layout`)
//!
//! - `datasets/{id}/archive/{date}/{id}.csv|.parquet|.json|datapackage.json`: the dated
//!   archive. Its `datapackage.json` is created first with a conditional create
//!   (`put_if_absent`): that claims the archive, then each data file is created the same
//!   way. Nothing under `archive/` is ever overwritten. A night re-run whose data files are
//!   byte-identical to an existing revision of that date leaves it untouched; one whose
//!   files differ writes the next revision, `archive/{date}/r2/` (then `r3`, ...), logs it
//!   and records it in the run report ([`Published::archive_revisions`]).
//! - `datasets/publications/{publication-id}/`: `catalogue.json`, `{id}/datapackage.json`
//!   and, last, `publication-manifest.json`, which lists every file of the publication with
//!   its sha256, size and the key holding it (the data files are those of the archive
//!   revision, not copied again). The id is the data date and a hash of every path and
//!   sha256: the same outputs give the same publication, and a re-run writes nothing new.
//! - `datasets/staged`: the latest publication a night wrote, for `envgov site` and
//!   `release::publish` (never moved back to an earlier data date, compare-and-swap).
//!
//! A site release copies its publication under `site/releases/{release}/datasets/`, and the
//! CDN (and `envgov serve`) serve `/datasets/{id}/{file}` from the *live* release: the
//! stable URLs change only when `site/current` switches, all together, and always to the
//! files of one night.
//!
//! # The datapackage's `archives`
//!
//! The publication's `datapackage.json` (served at the stable URL) lists the archive dates
//! of its dataset up to and including its own data date (sorted, each once): re-running an
//! older night gives the list it had, so the same inputs give the same bytes whatever was
//! published after. The archive's own `datapackage.json` lists its own date only: which
//! other nights were archived is history, not an input of the night, and a dated archive
//! is reproduced byte for byte from the raw archive alone (`envgov rebuild`, see
//! [`crate::rebuild`]).

use crate::error::JobError;
use crate::publish::{Dataset, RenderedFile};
use crate::store::{Conditional, Store, Version};
use envgov_curated::Curated;
use envgov_curated::datasets::{DatasetDef, Fields};
use envgov_dataset::layout::{self, Format};
use envgov_dataset::manifest::{Catalogue, CatalogueEntry, DataPackage};
use envgov_dataset::published::DatasetId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The name of a publication's manifest (see [`layout::publication_manifest_key`]).
pub const MANIFEST_NAME: &str = "publication-manifest.json";

/// Attempts of a conditional write that keeps losing to concurrent writers.
const CAS_ATTEMPTS: usize = 5;

/// `datasets/publications/{id}/publication-manifest.json`: what a publication is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicationManifest {
    pub publication: String,
    pub data_date: String,
    /// Path relative to the publication (and to a release's `datasets/`) → its file.
    pub files: BTreeMap<String, PublishedFile>,
}

/// One file of a publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedFile {
    pub sha256: String,
    pub bytes: u64,
    /// The store key holding it (an archive file, or the publication's own copy).
    pub key: String,
}

/// What a publication wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub id: String,
    pub catalogue: Catalogue,
    /// Dataset id → rows.
    pub rows: BTreeMap<String, u64>,
    /// Dataset id → the archive folder written as a new revision (`.../archive/{date}/r{n}/`)
    /// because an archive of that date already held other outputs.
    pub archive_revisions: BTreeMap<String, String>,
    /// Archive folders created by this publication (first revisions included).
    pub archives_created: Vec<String>,
    /// Whether `datasets/staged` names this publication afterwards (`false` when one of a
    /// later data date was staged and stays staged).
    pub staged: bool,
}

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

/// Pretty JSON with a final newline: the same value, the same bytes.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    bytes
}

fn corrupt(key: &str, message: impl std::fmt::Display) -> JobError {
    JobError::Corrupt {
        key: key.to_string(),
        message: message.to_string(),
    }
}

/// Publishes every dataset of `tables` for the data date `run`: archives, then the
/// publication, then `datasets/staged`. See the module docs. `changes` are the stored
/// changelogs of corrections up to `run` (`{id}/changes/{night}.json|csv`, see
/// [`crate::changelog`]): listed in the manifest as they are, like archive files.
pub fn publish(
    store: &dyn Store,
    curated: &Curated,
    tables: &BTreeMap<String, Dataset>,
    run: &str,
    changes: &BTreeMap<String, PublishedFile>,
) -> Result<Published, JobError> {
    layout::check_date(run).map_err(definition)?;
    let defs = &curated.datasets;
    if let Some(extra) = tables
        .keys()
        .find(|id| !defs.dataset.iter().any(|d| &&d.id == id))
    {
        return Err(JobError::Definition(format!(
            "dataset {extra} is built but has no definition in data/datasets.toml"
        )));
    }
    let mut catalogue = Catalogue {
        data_date: run.to_string(),
        datasets: Vec::new(),
    };
    let mut files: BTreeMap<String, PublishedFile> = BTreeMap::new();
    // The publication's own files (datapackages, catalogue), written once its id is known.
    let mut own: Vec<(String, Vec<u8>)> = Vec::new();
    let mut rows = BTreeMap::new();
    let mut archive_revisions = BTreeMap::new();
    let mut archives_created = Vec::new();
    for def in &defs.dataset {
        if let Some(id) = DatasetId::parse(&def.id).filter(|d| d.monthly()) {
            // Written a month a file into the archives when the datasets were built:
            // listed, not rendered again.
            let listed = list_monthly(store, def, id, &defs.field, run)?;
            if let Some(folder) = listed.revision_folder {
                archive_revisions.insert(def.id.clone(), folder);
            }
            files.extend(listed.files);
            own.push((
                layout::datapackage_path(&def.id).map_err(definition)?,
                to_json(&listed.package),
            ));
            rows.insert(def.id.clone(), listed.rows);
            catalogue.datasets.push(CatalogueEntry {
                id: def.id.clone(),
                title: def.title.clone(),
                description: def.description.clone(),
                rows: listed.rows,
                data_date: run.to_string(),
            });
            continue;
        }
        let dataset = tables.get(&def.id).ok_or_else(|| {
            JobError::Definition(format!(
                "dataset {} is defined in data/datasets.toml but not built",
                def.id
            ))
        })?;
        let archived = archive_dataset(store, def, dataset, &defs.field, run)?;
        if archived.created {
            archives_created.push(archived.prefix.clone());
            if archived.revision > 1 {
                tracing::warn!(dataset = %def.id, date = %run, archive = %archived.prefix, "outputs differ from the existing archive of this date: written as a new revision");
                archive_revisions.insert(def.id.clone(), archived.prefix.clone());
            }
        }
        for (name, (sha256, bytes)) in &archived.data {
            files.insert(
                format!("{}/{name}", def.id),
                PublishedFile {
                    sha256: sha256.clone(),
                    bytes: *bytes,
                    key: format!("{}{name}", archived.prefix),
                },
            );
        }
        own.push((
            layout::datapackage_path(&def.id).map_err(definition)?,
            archived.package,
        ));
        rows.insert(def.id.clone(), dataset.rows() as u64);
        catalogue.datasets.push(CatalogueEntry {
            id: def.id.clone(),
            title: def.title.clone(),
            description: def.description.clone(),
            rows: dataset.rows() as u64,
            data_date: run.to_string(),
        });
    }
    own.push((layout::CATALOGUE_PATH.to_string(), to_json(&catalogue)));
    files.extend(changes.iter().map(|(p, f)| (p.clone(), f.clone())));

    // The id: the data date and a hash of every path and content.
    let mut listed: BTreeMap<String, String> = files
        .iter()
        .map(|(p, f)| (p.clone(), f.sha256.clone()))
        .collect();
    for (path, bytes) in &own {
        listed.insert(path.clone(), crate::ledger::sha256_hex(bytes));
    }
    let mut hash = Sha256::new();
    for (path, sha) in &listed {
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(sha.as_bytes());
        hash.update([0]);
    }
    let id = format!("{run}-{}", &hex::encode(hash.finalize())[..12]);
    let prefix = layout::publication_prefix(&id).map_err(definition)?;
    for (path, bytes) in &own {
        let key = format!("{prefix}{path}");
        let sha = crate::ledger::sha256_hex(bytes);
        if store.stored_hash(&key)?.as_deref() != Some(sha.as_str()) {
            store.put_with_hash(&key, bytes, &sha)?;
        }
        files.insert(
            path.clone(),
            PublishedFile {
                sha256: sha,
                bytes: bytes.len() as u64,
                key,
            },
        );
    }
    // The manifest last: its presence says every file it lists is in place.
    let manifest = PublicationManifest {
        publication: id.clone(),
        data_date: run.to_string(),
        files,
    };
    let manifest_key = layout::publication_manifest_key(&id).map_err(definition)?;
    let manifest_bytes = to_json(&manifest);
    let sha = crate::ledger::sha256_hex(&manifest_bytes);
    if store.stored_hash(&manifest_key)?.as_deref() != Some(sha.as_str()) {
        store.put_with_hash(&manifest_key, &manifest_bytes, &sha)?;
    }
    let staged = stage(store, &id)?;
    tracing::info!(publication = %id, datasets = rows.len(), peak_rss_mib = crate::memory::peak_rss_mib(), archives_created = archives_created.len(), revisions = archive_revisions.len(), staged, "datasets published");
    Ok(Published {
        id,
        catalogue,
        rows,
        archive_revisions,
        archives_created,
        staged,
    })
}

/// A monthly dataset as a publication lists it.
struct ListedMonths {
    /// Publication path → file.
    files: BTreeMap<String, PublishedFile>,
    package: DataPackage,
    rows: u64,
    /// The archive folder tonight's months were written into, when a later revision of
    /// tonight's archive.
    revision_folder: Option<String>,
}

/// Lists every month's files of a dataset published a file a month ([`crate::monthly`]),
/// brought up to date for `run` when the datasets were built.
fn list_monthly(
    store: &dyn Store,
    def: &DatasetDef,
    id: DatasetId,
    fields: &Fields,
    run: &str,
) -> Result<ListedMonths, JobError> {
    let stored = crate::monthly::stored_months(store, id, run)?;
    let package =
        crate::publish::stored_package(def, &stored, fields, run).map_err(JobError::Definition)?;
    let root = layout::archive_root(&def.id).map_err(definition)?;
    let revision_folder = crate::monthly::written_folder(store, id, run)?.filter(|folder| {
        folder
            .strip_prefix(&root)
            .and_then(layout::parse_archive_path)
            .is_some_and(|(date, revision)| date == run && revision > 1)
    });
    let files = stored
        .files
        .iter()
        .map(|f| {
            (
                format!("{}/{}", def.id, f.name),
                PublishedFile {
                    sha256: f.sha256.clone(),
                    bytes: f.bytes,
                    key: f.key.clone(),
                },
            )
        })
        .collect();
    Ok(ListedMonths {
        files,
        package,
        rows: stored.rows(),
        revision_folder,
    })
}

/// One dataset's archive for a date, as settled by [`archive_dataset`].
struct Archived {
    /// `datasets/{id}/archive/{date}/` or `.../r{n}/`.
    prefix: String,
    revision: u32,
    /// Whether this call created the archive (claimed its revision).
    created: bool,
    /// Data file name → sha256 and size.
    data: BTreeMap<String, (String, u64)>,
    /// The dataset's `datapackage.json` for the publication.
    package: Vec<u8>,
}

/// The data files' names and sha256 as a datapackage lists them.
fn resource_hashes(package: &DataPackage) -> BTreeMap<String, String> {
    package
        .resources
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.hash
                    .strip_prefix("sha256:")
                    .unwrap_or(&r.hash)
                    .to_string(),
            )
        })
        .collect()
}

/// Renders one dataset and settles its archive for `run`: an existing revision with the
/// same data files, or a new one (claimed with a conditional create of its
/// `datapackage.json`, then its files, each created once).
fn archive_dataset(
    store: &dyn Store,
    def: &DatasetDef,
    dataset: &Dataset,
    fields: &Fields,
    run: &str,
) -> Result<Archived, JobError> {
    let root = layout::archive_root(&def.id).map_err(definition)?;
    // Existing archives: date → revisions.
    let mut existing: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for key in store.list(&root)? {
        if let Some((date, revision)) = layout::parse_archive_path(&key[root.len()..]) {
            existing.entry(date).or_default().insert(revision);
        }
    }
    let mut archives: BTreeSet<String> = existing
        .keys()
        .filter(|d| d.as_str() <= run)
        .cloned()
        .collect();
    archives.insert(run.to_string());
    let rendered =
        crate::publish::render(def, dataset, fields, run, archives.into_iter().collect())
            .map_err(JobError::Definition)?;
    let package = to_json(&rendered.package);
    // The archive's own datapackage names its own date only: the list of every archive
    // depends on which nights ran before (history), and a dated archive must be a function
    // of that night's inputs alone (`envgov rebuild` reproduces it byte for byte). The
    // publication's copy, served at the stable URL, lists them all.
    let archived_package = to_json(&DataPackage {
        archives: vec![run.to_string()],
        ..rendered.package.clone()
    });
    let ours = resource_hashes(&rendered.package);
    let data: BTreeMap<String, (String, u64)> = rendered
        .files
        .iter()
        .map(|f| (f.name.clone(), (f.sha256.clone(), f.bytes)))
        .collect();
    debug_assert_eq!(
        ours,
        data.iter()
            .map(|(n, (s, _))| (n.clone(), s.clone()))
            .collect()
    );
    let package_name = "datapackage.json";
    let mut revision = 1;
    loop {
        let prefix = layout::archive_revision_prefix(&def.id, run, revision).map_err(definition)?;
        let package_key = format!("{prefix}{package_name}");
        let (created, theirs) = match store.get(&package_key)? {
            Some(bytes) => (false, bytes),
            None => match store.put_if_absent(&package_key, &archived_package)? {
                Conditional::Written => (true, archived_package.clone()),
                // Another run claimed this revision meanwhile: compare with theirs.
                Conditional::Conflict => match store.get(&package_key)? {
                    Some(bytes) => (false, bytes),
                    None => return Err(corrupt(&package_key, "created, then missing")),
                },
            },
        };
        let theirs: DataPackage =
            serde_json::from_slice(&theirs).map_err(|e| corrupt(&package_key, e))?;
        if resource_hashes(&theirs) != ours {
            revision += 1;
            continue;
        }
        // This revision holds (or is to hold) exactly our data files: create what is
        // missing (after a crash between the claim and the files), never overwrite.
        if !complete_archive(store, &prefix, dataset, &rendered.files)? {
            tracing::warn!(dataset = %def.id, archive = %prefix, "an archived file differs from its datapackage (written before archives were immutable?): left as it is, the next revision is used");
            revision += 1;
            continue;
        }
        return Ok(Archived {
            prefix,
            revision,
            created,
            data,
            package,
        });
    }
}

/// The bytes of a dataset's file, written again (one file at a time), checked against the
/// size and sha256 its data package lists.
fn file_bytes(dataset: &Dataset, file: &RenderedFile, key: &str) -> Result<Vec<u8>, JobError> {
    let mut bytes = Vec::with_capacity(usize::try_from(file.bytes).unwrap_or(0));
    crate::publish::write_file(dataset, file.format, &mut bytes).map_err(JobError::Definition)?;
    if bytes.len() as u64 != file.bytes || crate::ledger::sha256_hex(&bytes) != file.sha256 {
        return Err(corrupt(
            key,
            "written again, the file differs from the one its datapackage lists",
        ));
    }
    Ok(bytes)
}

/// Creates the files of an archive revision that are missing, each with a conditional
/// create, one file's bytes in memory at a time. Returns `false` if a file is there with
/// other content (the revision is not ours, or was damaged): nothing is overwritten.
fn complete_archive(
    store: &dyn Store,
    prefix: &str,
    dataset: &Dataset,
    files: &[RenderedFile],
) -> Result<bool, JobError> {
    for file in files {
        let key = format!("{prefix}{}", file.name);
        let sha = &file.sha256;
        let same = |store: &dyn Store| -> Result<bool, JobError> {
            // A stored hash when the store keeps one, else the content itself.
            Ok(match store.stored_hash(&key)? {
                Some(h) => &h == sha,
                None => store
                    .get(&key)?
                    .is_some_and(|b| &crate::ledger::sha256_hex(&b) == sha),
            })
        };
        match store.stored_hash(&key)? {
            Some(h) if &h == sha => {}
            Some(_) => return Ok(false),
            None => match store.put_if_absent(&key, &file_bytes(dataset, file, &key)?)? {
                Conditional::Written => {}
                Conditional::Conflict => {
                    if !same(store)? {
                        return Ok(false);
                    }
                }
            },
        }
    }
    Ok(true)
}

/// Reads a publication's manifest; `None` when it has none (incomplete or unknown).
pub fn manifest(store: &dyn Store, id: &str) -> Result<Option<PublicationManifest>, JobError> {
    let key = layout::publication_manifest_key(id).map_err(definition)?;
    match store.get(&key)? {
        None => Ok(None),
        Some(bytes) => {
            let m: PublicationManifest =
                serde_json::from_slice(&bytes).map_err(|e| corrupt(&key, e))?;
            if m.publication != id {
                return Err(corrupt(
                    &key,
                    format!("names publication {}", m.publication),
                ));
            }
            Ok(Some(m))
        }
    }
}

/// The publication `datasets/staged` names, if any.
pub fn staged(store: &dyn Store) -> Result<Option<String>, JobError> {
    Ok(store
        .get(layout::STAGED_PUBLICATION_KEY)?
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| layout::check_segment(s).is_ok()))
}

/// The data date of a publication or release id (`{YYYY-MM-DD}-{hash}`), if it has that shape.
pub fn data_date_of(release_id: &str) -> Option<&str> {
    let date = release_id.get(..10)?;
    let ok = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    (ok && release_id.as_bytes().get(10) == Some(&b'-')).then_some(date)
}

/// Points `datasets/staged` at `id` unless it names a publication of a later data date
/// (compare-and-swap on the version read; a lost race reads again and decides again).
fn stage(store: &dyn Store, id: &str) -> Result<bool, JobError> {
    let key = layout::STAGED_PUBLICATION_KEY;
    let bytes = format!("{id}\n");
    for _ in 0..CAS_ATTEMPTS {
        let read: Option<(String, Version)> = store
            .get_versioned(key)?
            .map(|(b, v)| (String::from_utf8_lossy(&b).trim().to_string(), v));
        let written = match &read {
            Some((now, _)) if now == id => return Ok(true),
            Some((now, _))
                if data_date_of(now).is_some() && data_date_of(now) > data_date_of(id) =>
            {
                tracing::info!(publication = %id, staged = %now, "a publication of a later data date is staged: it stays staged");
                return Ok(false);
            }
            Some((_, version)) => store.put_if_match(key, bytes.as_bytes(), version)?,
            None => store.put_if_absent(key, bytes.as_bytes())?,
        };
        if written == Conditional::Written {
            return Ok(true);
        }
    }
    Err(JobError::Contended {
        key: key.to_string(),
        attempts: CAS_ATTEMPTS as u32,
    })
}

/// A complete publication, read through its manifest: what the site is rendered from.
#[derive(Debug, Clone)]
pub struct Publication {
    pub manifest: PublicationManifest,
}

impl Publication {
    /// Opens a publication by id; an error if it has no manifest.
    pub fn open(store: &dyn Store, id: &str) -> Result<Self, JobError> {
        let manifest = manifest(store, id)?.ok_or_else(|| {
            corrupt(
                &layout::publication_manifest_key(id).unwrap_or_else(|_| id.to_string()),
                "no such publication (never completed); run `envgov nightly` first",
            )
        })?;
        Ok(Publication { manifest })
    }

    /// Opens the staged publication (`datasets/staged`).
    pub fn staged(store: &dyn Store) -> Result<Self, JobError> {
        let id = staged(store)?.ok_or_else(|| {
            corrupt(
                layout::STAGED_PUBLICATION_KEY,
                "no published datasets; run `envgov nightly` first",
            )
        })?;
        Self::open(store, &id)
    }

    pub fn id(&self) -> &str {
        &self.manifest.publication
    }

    /// Reads a file of the publication by its path (`catalogue.json`,
    /// `{id}/{id}.parquet`, ...), checking its sha256 against the manifest.
    pub fn read(&self, store: &dyn Store, path: &str) -> Result<Vec<u8>, JobError> {
        let file = self.manifest.files.get(path).ok_or_else(|| {
            corrupt(
                &format!("{}{path}", layout::PUBLICATIONS_PREFIX),
                format!("not in publication {}", self.id()),
            )
        })?;
        let bytes = store
            .get(&file.key)?
            .ok_or_else(|| corrupt(&file.key, format!("missing (publication {})", self.id())))?;
        let sha = crate::ledger::sha256_hex(&bytes);
        if sha != file.sha256 {
            return Err(corrupt(
                &file.key,
                format!(
                    "sha256 {sha}, publication {} says {}",
                    self.id(),
                    file.sha256
                ),
            ));
        }
        Ok(bytes)
    }

    /// The paths of a monthly dataset's files of one format in the publication (`{id}/{id}-{YYYY-MM}.{ext}`
    /// and `….{ext}.gz`), by month.
    pub fn month_paths(&self, id: &str, format: Format) -> BTreeMap<String, String> {
        let prefix = format!("{id}/");
        self.manifest
            .files
            .keys()
            .filter_map(|path| {
                let name = path.strip_prefix(&prefix)?;
                let month = layout::month_of_file(id, name)?;
                let ext = name.get(id.len() + 9..)?;
                (ext.trim_end_matches(".gz") == format.extension())
                    .then(|| (month.to_string(), path.clone()))
            })
            .collect()
    }

    /// The path of a dataset's file in the publication.
    pub fn dataset_path(id: &str, format: Format) -> Result<String, JobError> {
        layout::dataset_path(id, format).map_err(definition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::table::{Cell, Kind, Table};

    /// A one-row `enterprises` table in its published shape: `value` as the USCC, the rest
    /// empty.
    fn table(value: &str) -> Table {
        use envgov_dataset::published::{ColumnType, DatasetId};
        let shape = DatasetId::Enterprises.shape();
        let kind = |t: ColumnType| match t {
            ColumnType::Str => Kind::Str,
            ColumnType::Number => Kind::F64,
            ColumnType::Integer => Kind::I64,
            ColumnType::Boolean => Kind::Bool,
        };
        let schema: Vec<(&str, Kind)> = shape.iter().map(|(n, t)| (*n, kind(*t))).collect();
        let mut t = Table::new(&schema);
        let row = schema
            .iter()
            .enumerate()
            .map(|(i, (_, k))| match (i, k) {
                (0, _) => Cell::from(value),
                (_, Kind::Str) => Cell::Str(None),
                (_, Kind::F64) => Cell::F64(None),
                (_, Kind::I64) => Cell::I64(None),
                (_, Kind::Bool) => Cell::Bool(None),
            })
            .collect();
        t.push(row);
        t
    }

    fn archive(store: &dyn Store, curated: &Curated, value: &str, date: &str) -> Archived {
        let def = &curated.datasets.dataset[0];
        archive_dataset(
            store,
            def,
            &Dataset::Table(table(value)),
            &curated.datasets.field,
            date,
        )
        .unwrap()
    }

    /// Every object under the dataset's archive folder.
    fn archived(store: &MemoryStore, id: &str) -> BTreeMap<String, Vec<u8>> {
        store
            .list(&format!("datasets/{id}/archive/"))
            .unwrap()
            .into_iter()
            .map(|k| {
                let b = store.get(&k).unwrap().unwrap();
                (k, b)
            })
            .collect()
    }

    #[test]
    fn an_archive_is_written_once_and_a_different_rerun_gets_the_next_revision() {
        let curated = Curated::load().unwrap();
        let id = curated.datasets.dataset[0].id.clone();
        let store = MemoryStore::new();
        let first = archive(&store, &curated, "A", "2026-01-31");
        assert!(first.created);
        assert_eq!(first.prefix, format!("datasets/{id}/archive/2026-01-31/"));
        let before = archived(&store, &id);
        // Four files: the three formats and the datapackage.
        assert_eq!(before.len(), 4);

        // The same outputs again: nothing written, the same package bytes.
        let again = archive(&store, &curated, "A", "2026-01-31");
        assert!(!again.created);
        assert_eq!((again.revision, &again.package), (1, &first.package));
        assert_eq!(archived(&store, &id), before);

        // Other outputs for the same date: revision 2, the first untouched.
        let other = archive(&store, &curated, "B", "2026-01-31");
        assert!(other.created);
        assert_eq!(
            other.prefix,
            format!("datasets/{id}/archive/2026-01-31/r2/")
        );
        let after = archived(&store, &id);
        for (k, v) in &before {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
        assert_eq!(after.len(), 8);
        // And back to the first outputs: revision 1 matches again.
        assert_eq!(archive(&store, &curated, "A", "2026-01-31").revision, 1);

        // The archives list names dates up to the package's own, each once.
        let package: DataPackage = serde_json::from_slice(&other.package).unwrap();
        assert_eq!(package.archives, vec!["2026-01-31".to_string()]);
        let later = archive(&store, &curated, "A", "2026-02-01");
        let package: DataPackage = serde_json::from_slice(&later.package).unwrap();
        assert_eq!(package.archives, vec!["2026-01-31", "2026-02-01"]);
        // The archive's own datapackage names its date only (no history in an archive).
        let stored: DataPackage = serde_json::from_slice(
            &store
                .get(&format!("{}datapackage.json", later.prefix))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stored.archives, vec!["2026-02-01"]);
        assert_eq!(stored.resources, package.resources);
        // An older night re-run after it lists what it listed before.
        let rerun = archive(&store, &curated, "A", "2026-01-31");
        assert_eq!(rerun.package, first.package);
    }

    #[test]
    fn a_damaged_archive_is_never_overwritten() {
        let curated = Curated::load().unwrap();
        let id = curated.datasets.dataset[0].id.clone();
        let store = MemoryStore::new();
        archive(&store, &curated, "A", "2026-01-31");
        // A data file of revision 1 overwritten behind the pipeline's back.
        let victim = format!("datasets/{id}/archive/2026-01-31/{id}.csv");
        store.put(&victim, b"damaged").unwrap();
        let next = archive(&store, &curated, "A", "2026-01-31");
        assert_eq!(next.revision, 2);
        assert_eq!(store.get(&victim).unwrap().unwrap(), b"damaged");
    }
}
