//! Reproducible rebuild: the datasets of one night recomputed from the raw archive into
//! another store, and compared byte for byte with that night's dated archives.
//!
//! Stage: orchestration over [`crate::jobs::nightly`] (the I/O edge): the very stages of the
//! night (validate → partials → datasets → publish), run against a [`RebuildStore`] that
//! reads raw evidence from the source store and writes everything else to the output store.
//! Nothing is ever written to the source store (a write under `raw/` is refused).
//!
//! What the night of `D` depended on, and where the rebuild takes it from:
//! - the raw files: those the night recorded that it saw (`runs/{D}/inputs.json`, see
//!   [`crate::inputs`]: every raw key dated on or before `D` its listing held); for a night
//!   without a record, those dated on or before `D` that the raw ledger first saw in a run of
//!   a date on or before `D` (a file first seen by a later night was not there that night),
//!   and of a corrected file the revision in force that night (the night's own rule,
//!   `crate::revisions`, applied to that ledger);
//!   their bytes are checked against the ledger (every file is hashed: `rehash`), so a raw
//!   file changed since it was recorded is left out exactly as the night left it out;
//! - the registry in force: decided again from those raw files, with the operator's
//!   acceptances (`runs/registry-accepted/{date}.json`) of registries dated on or before `D`
//!   except those the night's own report lists as held (accepted only afterwards);
//! - nothing else: validated partitions, partials and earlier nights' outputs are rebuilt
//!   from raw in the output store, and a dated archive holds no history (its
//!   `datapackage.json` names its own date only, see [`crate::publication`]).
//!
//! The comparison takes, for each dataset, the latest revision of the archive of `D` in the
//! source store (`archive/{D}/`, or `archive/{D}/r{n}/`: the last run of that night) with
//! the data files the night's publication (named by `runs/{D}/report.json`) lists from
//! earlier archives (a dataset written a month a file keeps its unchanged months where they
//! were first written), and the same of the rebuild (which writes every month into its own
//! `archive/{D}/`), and names every file that differs, is missing or is extra, with both
//! sha256 and the keys holding them. Changelogs (`datasets/{id}/changes/`) compare a night
//! with the one before: they are history, not the night's data, and are not compared.

use crate::error::JobError;
use crate::jobs::{self, NightlyOptions};
use crate::ledger::{RawLedger, fingerprint};
use crate::partition::{get_json, put_json};
use crate::publication::PublicationManifest;
use crate::store::{Conditional, ObjectMeta, ObjectReader, Store, StoreError, Version};
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::layout;
use envgov_dataset::manifest::DataPackage;
use envgov_dataset::report::RunReport;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Why a rebuild could not be made or compared.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(
        "the output store {0} is not empty: rebuild into a new or empty folder (an existing archive there would be kept and the rebuild written as a revision)"
    )]
    OutputNotEmpty(String),
    #[error(
        "the source store {store} has no raw ledger ({key}): no night ran there, nothing to rebuild"
    )]
    NoLedger { store: String, key: String },
    #[error(
        "the source store {store} has no dated archive of {date} (datasets/{{id}}/archive/{date}/): no night of that date was published"
    )]
    NoArchive { store: String, date: NaiveDate },
    #[error("rebuilding the night of {date}: {source}")]
    Night {
        date: NaiveDate,
        #[source]
        source: JobError,
    },
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading {key}: {source}")]
    Read {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

/// Options of a rebuild (the limits the night ran with, when they were not the defaults).
#[derive(Debug, Clone)]
pub struct RebuildOptions {
    pub date: NaiveDate,
    /// See [`crate::partition::DEFAULT_MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
    /// See [`crate::registry::DEFAULT_MAX_REGISTRY_SHRINK`].
    pub max_registry_shrink: f64,
}

impl RebuildOptions {
    pub fn new(date: NaiveDate) -> Self {
        Self {
            date,
            max_file_bytes: crate::partition::DEFAULT_MAX_FILE_BYTES,
            max_registry_shrink: crate::registry::DEFAULT_MAX_REGISTRY_SHRINK,
        }
    }
}

/// How one file of an archive compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Identical,
    /// A dataset published a file a month (`cems-hourly`) archives on a night only the months
    /// that changed, and its archive's `datapackage.json` lists those: that depends on the
    /// nights before. The rebuilt package, restricted to the months the archived one lists,
    /// is byte for byte the archived one.
    IdenticalForItsMonths,
    Differs,
    /// In the archive, not rebuilt.
    Missing,
    /// Rebuilt, not in the archive.
    Extra,
}

/// One file of a dataset's archive of the date, archived and rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileComparison {
    pub dataset: String,
    pub file: String,
    pub verdict: Verdict,
    /// The archived file's key in the source store.
    pub archive_key: Option<String>,
    /// The sha256 of the archived file (what was published).
    pub expected_sha256: Option<String>,
    /// The rebuilt file's key in the output store.
    pub rebuilt_key: Option<String>,
    pub actual_sha256: Option<String>,
}

/// What a rebuild did and how it compares.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    pub date: String,
    /// Raw files the rebuild read (dated on or before the date, first seen by then).
    pub raw_files: usize,
    /// Raw files dated on or before the date that the night did not see (its record does
    /// not list them; without a record: first seen by a later night).
    pub raw_first_seen_later: usize,
    /// Raw files the night's record lists that are no longer in the store: the rebuild
    /// cannot read them, and the files they went into will differ.
    pub raw_missing: Vec<String>,
    /// Whether the night left a record of the raw files it saw (`runs/{date}/inputs.json`).
    pub inputs_recorded: bool,
    /// The registry in force, as the rebuild decided and as the night's report says.
    pub registry_in_force: Option<String>,
    pub registry_in_force_that_night: Option<String>,
    /// Operator acceptances of held registries taken as in force that night.
    pub registry_acceptances: Vec<String>,
    /// Corrections (revisions `{stem}.r{n}.{ext}`, see `crate::revisions`) in force that
    /// night: first seen by a night on or before it.
    pub revisions_in_force: Vec<String>,
    /// Dataset → the archive folder compared (the latest revision of the date).
    pub archives: BTreeMap<String, String>,
    pub files: Vec<FileComparison>,
}

impl RebuildReport {
    /// Whether every archived file was rebuilt byte for byte, and nothing else.
    pub fn identical(&self) -> bool {
        !self.files.is_empty() && self.files.iter().all(FileComparison::holds)
    }

    /// The files that are not identical.
    pub fn differences(&self) -> impl Iterator<Item = &FileComparison> {
        self.files.iter().filter(|f| !f.holds())
    }
}

impl FileComparison {
    /// Whether the rebuilt file is the archived one.
    pub fn holds(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Identical | Verdict::IdenticalForItsMonths
        )
    }
}

/// Rebuilds the night of `opts.date` from `source`'s raw archive into `out` (which must be
/// empty) and compares it with `source`'s dated archives. See the module docs.
pub fn rebuild(
    source: &dyn Store,
    out: &dyn Store,
    curated: &Curated,
    opts: &RebuildOptions,
) -> Result<RebuildReport, RebuildError> {
    if !out.list("")?.is_empty() {
        return Err(RebuildError::OutputNotEmpty(out.describe()));
    }
    let date = opts.date;
    let run = date.to_string();
    let archives = latest_archives(source, curated, &run)?;
    if archives.is_empty() {
        return Err(RebuildError::NoArchive {
            store: source.describe(),
            date,
        });
    }
    let ledger: RawLedger =
        get_json(source, layout::RAW_LEDGER_KEY)?.ok_or_else(|| RebuildError::NoLedger {
            store: source.describe(),
            key: layout::RAW_LEDGER_KEY.into(),
        })?;
    let that_night: Option<RunReport> = get_json(
        source,
        &layout::run_report_key(&run).map_err(|e| JobError::Definition(e.to_string()))?,
    )?;
    let record = crate::inputs::read(source, &run)?;
    let inputs = night_inputs(source, &ledger, record.as_ref(), &run)?;
    let raw_missing = inputs.missing.clone();
    // The ledger as that night knew these files (first sightings on or before it).
    let seeded = RawLedger {
        files: inputs
            .raw
            .keys()
            .filter_map(|k| ledger.files.get(k).map(|e| (k.clone(), e.clone())))
            .collect(),
    };
    put_json(out, layout::RAW_LEDGER_KEY, &seeded)?;
    let acceptances = copy_acceptances(source, out, &run, that_night.as_ref())?;
    // The corrections applied up to that night: the register keeps what they withdrew.
    crate::changelog::copy_history(source, out, &run)
        .map_err(|e| RebuildError::Night { date, source: e })?;
    let raw_files = inputs.raw.len();
    let store = RebuildStore {
        source,
        out,
        raw: inputs.raw,
    };
    let night = NightlyOptions {
        date: Some(date),
        today: Some(date),
        rehash: true,
        max_file_bytes: opts.max_file_bytes,
        max_registry_shrink: opts.max_registry_shrink,
        // The night published: its gate let it through. A rebuild reproduces, never gates.
        max_reject_rate: 1.0,
        progress: None,
        render_site: false,
        release: Default::default(),
    };
    let report = jobs::nightly(&store, curated, &night)
        .map_err(|source| RebuildError::Night { date, source })?;
    let published = publication_of(source, that_night.as_ref())?;
    let republished = publication_of(out, Some(&report))?;
    let mut files = Vec::new();
    for (id, prefix) in &archives {
        let rebuilt = layout::archive_revision_prefix(id, &run, 1)
            .map_err(|e| JobError::Definition(e.to_string()))?;
        let expected = published_files(source, prefix, published.as_ref(), id)?;
        let actual = published_files(out, &rebuilt, republished.as_ref(), id)?;
        let mut compared = compare_files(id, &expected, &actual);
        for f in &mut compared {
            if f.verdict == Verdict::Differs && f.file == "datapackage.json" {
                same_for_its_months(source, out, f)?;
            }
        }
        files.extend(compared);
    }
    Ok(RebuildReport {
        date: run,
        raw_files,
        raw_first_seen_later: inputs.first_seen_later,
        raw_missing,
        inputs_recorded: record.is_some(),
        registry_in_force: report.registry_in_force,
        registry_in_force_that_night: that_night.and_then(|r| r.registry_in_force),
        registry_acceptances: acceptances,
        revisions_in_force: report
            .revisions
            .applied
            .iter()
            .map(|r| r.key.clone())
            .collect(),
        archives,
        files,
    })
}

/// The raw files a night of `run` saw: those its record (`runs/{run}/inputs.json`, see
/// [`crate::inputs`]) lists, or, for a night without a record, those dated on or before it
/// that the ledger first saw by then.
struct Seen {
    raw: BTreeMap<String, ObjectMeta>,
    first_seen_later: usize,
    /// Listed by the night's record but no longer in the store.
    missing: Vec<String>,
}

fn night_inputs(
    source: &dyn Store,
    ledger: &RawLedger,
    record: Option<&crate::inputs::NightInputs>,
    run: &str,
) -> Result<Seen, RebuildError> {
    let mut raw = BTreeMap::new();
    let mut first_seen_later = 0;
    for meta in source.list_meta("raw/")? {
        let Ok((_, date, _)) = layout::parse_raw_key(&meta.key) else {
            continue;
        };
        if date.as_str() > run {
            continue;
        }
        let seen = match record {
            Some(r) => r.files.contains_key(&meta.key),
            None => ledger
                .files
                .get(&meta.key)
                .is_some_and(|e| e.first_seen_run.as_str() <= run),
        };
        if seen {
            raw.insert(meta.key.clone(), meta);
        } else {
            first_seen_later += 1;
        }
    }
    let missing = record
        .into_iter()
        .flat_map(|r| r.files.keys())
        .filter(|k| !raw.contains_key(*k))
        .cloned()
        .collect();
    Ok(Seen {
        raw,
        first_seen_later,
        missing,
    })
}

/// Copies the operator acceptances of registries dated on or before `run` that the night's
/// report does not list as held (those were accepted after the night). Returns their dates.
fn copy_acceptances(
    source: &dyn Store,
    out: &dyn Store,
    run: &str,
    that_night: Option<&RunReport>,
) -> Result<Vec<String>, RebuildError> {
    let held: BTreeSet<&str> = that_night
        .map(|r| r.registry_held.iter().map(|h| h.date.as_str()).collect())
        .unwrap_or_default();
    let mut dates = Vec::new();
    for key in source.list("runs/registry-accepted/")? {
        let Some(date) = key
            .strip_prefix("runs/registry-accepted/")
            .and_then(|r| r.strip_suffix(".json"))
        else {
            continue;
        };
        if date > run || held.contains(date) {
            continue;
        }
        if layout::registry_acceptance_key(date).ok().as_deref() != Some(key.as_str()) {
            continue;
        }
        if let Some(bytes) = source.get(&key)? {
            out.put(&key, &bytes)?;
            dates.push(date.to_string());
        }
    }
    Ok(dates)
}

/// Dataset → the folder of the latest revision of its archive of `run` in `store`.
fn latest_archives(
    store: &dyn Store,
    curated: &Curated,
    run: &str,
) -> Result<BTreeMap<String, String>, RebuildError> {
    let def = |e: layout::BadSegment| JobError::Definition(e.to_string());
    let mut out = BTreeMap::new();
    for d in &curated.datasets.dataset {
        let root = layout::archive_root(&d.id).map_err(def)?;
        let prefix = layout::archive_prefix(&d.id, run).map_err(def)?;
        let latest = store
            .list(&prefix)?
            .iter()
            .filter_map(|k| layout::parse_archive_path(&k[root.len()..]))
            .map(|(_, revision)| revision)
            .max();
        if let Some(revision) = latest {
            let folder = layout::archive_revision_prefix(&d.id, run, revision).map_err(def)?;
            out.insert(d.id.clone(), folder);
        }
    }
    Ok(out)
}

/// A file to compare: the key holding it and its sha256, hashed from its bytes (streamed).
type Hashed = BTreeMap<String, (String, String)>;

fn hash_key(store: &dyn Store, key: &str) -> Result<Option<String>, RebuildError> {
    let Some(reader) = store.open(key)? else {
        return Ok(None);
    };
    let fp = fingerprint(reader).map_err(|source| RebuildError::Read {
        key: key.to_string(),
        source,
    })?;
    Ok(Some(fp.sha256))
}

/// What a night published of a dataset, by file name: the files directly in its archive
/// folder of the night (not in revision subfolders), and the data files its publication
/// lists from earlier archives (a dataset published a file a month, `cems-hourly`, rewrites
/// only the months that changed: the others stay in the archive that wrote them). The
/// publication's own `datapackage.json` (its list of archives is history) and changelogs
/// (a comparison with the night before) are not files of the night's data.
fn published_files(
    store: &dyn Store,
    folder: &str,
    publication: Option<&PublicationManifest>,
    dataset: &str,
) -> Result<Hashed, RebuildError> {
    let mut out = Hashed::new();
    for key in store.list(folder)? {
        let name = &key[folder.len()..];
        if name.contains('/') {
            continue;
        }
        if let Some(sha) = hash_key(store, &key)? {
            out.insert(name.to_string(), (key.clone(), sha));
        }
    }
    let listed = publication.into_iter().flat_map(|m| &m.files);
    for (path, file) in listed {
        let Some(name) = path
            .strip_prefix(dataset)
            .and_then(|r| r.strip_prefix('/'))
            .filter(|n| !n.contains('/') && *n != "datapackage.json")
        else {
            continue;
        };
        if out.contains_key(name) {
            continue;
        }
        if let Some(sha) = hash_key(store, &file.key)? {
            out.insert(name.to_string(), (file.key.clone(), sha));
        }
    }
    Ok(out)
}

/// Compares what the night published of a dataset with what the rebuild did, file by file.
fn compare_files(dataset: &str, expected: &Hashed, actual: &Hashed) -> Vec<FileComparison> {
    let names: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let (e, a) = (expected.get(name), actual.get(name));
            let verdict = match (e, a) {
                (Some(e), Some(a)) if e.1 == a.1 => Verdict::Identical,
                (Some(_), Some(_)) => Verdict::Differs,
                (Some(_), None) => Verdict::Missing,
                _ => Verdict::Extra,
            };
            FileComparison {
                dataset: dataset.to_string(),
                file: name.clone(),
                verdict,
                archive_key: e.map(|e| e.0.clone()),
                expected_sha256: e.map(|e| e.1.clone()),
                rebuilt_key: a.map(|a| a.0.clone()),
                actual_sha256: a.map(|a| a.1.clone()),
            }
        })
        .collect()
}

/// Settles a differing archive `datapackage.json` as [`Verdict::IdenticalForItsMonths`] when
/// the rebuilt package, keeping only the resources the archived one lists, has the archived
/// bytes (serialised as the publication writes it).
fn same_for_its_months(
    source: &dyn Store,
    out: &dyn Store,
    f: &mut FileComparison,
) -> Result<(), RebuildError> {
    let (Some(archived), Some(rebuilt)) = (&f.archive_key, &f.rebuilt_key) else {
        return Ok(());
    };
    let read = |store: &dyn Store, key: &str| -> Result<Option<DataPackage>, RebuildError> {
        Ok(store
            .get(key)?
            .and_then(|b| serde_json::from_slice::<DataPackage>(&b).ok()))
    };
    let (Some(theirs), Some(mut ours)) = (read(source, archived)?, read(out, rebuilt)?) else {
        return Ok(());
    };
    let listed: BTreeSet<&String> = theirs.resources.iter().map(|r| &r.path).collect();
    ours.resources.retain(|r| listed.contains(&r.path));
    let mut bytes = serde_json::to_vec_pretty(&ours).map_err(|e| JobError::Corrupt {
        key: rebuilt.clone(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    if Some(crate::ledger::sha256_hex(&bytes)) == f.expected_sha256 {
        f.verdict = Verdict::IdenticalForItsMonths;
    }
    Ok(())
}

/// The manifest of the publication a run report names, if both exist.
fn publication_of(
    store: &dyn Store,
    report: Option<&RunReport>,
) -> Result<Option<PublicationManifest>, RebuildError> {
    match report.and_then(|r| r.publication.as_deref()) {
        Some(id) => Ok(crate::publication::manifest(store, id)?),
        None => Ok(None),
    }
}

/// The store a rebuild runs the night on: the raw files of the night (and only those) read
/// from the source store, everything else read from and written to the output store.
/// Writing or deleting a raw key is refused: the source is never written.
struct RebuildStore<'a> {
    source: &'a dyn Store,
    out: &'a dyn Store,
    /// The raw files of the night, as the source listed them.
    raw: BTreeMap<String, ObjectMeta>,
}

impl RebuildStore<'_> {
    fn is_raw(key: &str) -> bool {
        key.starts_with("raw/")
    }

    fn refused(&self, key: &str, op: &'static str) -> StoreError {
        StoreError::Unsupported {
            key: key.to_string(),
            op,
            store: self.describe(),
        }
    }

    /// The source for a raw key of the night, `None` for a raw key outside it, the output
    /// store otherwise.
    fn reader(&self, key: &str) -> Option<&dyn Store> {
        if !Self::is_raw(key) {
            Some(self.out)
        } else if self.raw.contains_key(key) {
            Some(self.source)
        } else {
            None
        }
    }

    fn writer(&self, key: &str, op: &'static str) -> Result<&dyn Store, StoreError> {
        if Self::is_raw(key) {
            Err(self.refused(key, op))
        } else {
            Ok(self.out)
        }
    }
}

impl Store for RebuildStore<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.reader(key).map_or(Ok(None), |s| s.get(key))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.writer(key, "put")?.put(key, bytes)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.list_meta(prefix)?.into_iter().map(|m| m.key).collect())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.writer(key, "delete")?.delete(key)
    }

    fn describe(&self) -> String {
        format!(
            "rebuild of {} (raw read from {})",
            self.out.describe(),
            self.source.describe()
        )
    }

    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        self.writer(key, "put")?
            .put_with_hash(key, bytes, sha256_hex)
    }

    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.reader(key).map_or(Ok(None), |s| s.stored_hash(key))
    }

    /// The night's raw files under the prefix, then the output store's other objects.
    fn list_meta(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut objects: Vec<ObjectMeta> = self
            .raw
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, m)| m.clone())
            .collect();
        objects.extend(
            self.out
                .list_meta(prefix)?
                .into_iter()
                .filter(|m| !Self::is_raw(&m.key)),
        );
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    fn open(&self, key: &str) -> Result<Option<ObjectReader<'_>>, StoreError> {
        self.reader(key).map_or(Ok(None), |s| s.open(key))
    }

    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.reader(key).map_or(Ok(None), |s| s.get_versioned(key))
    }

    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        self.writer(key, "put_if_absent")?.put_if_absent(key, bytes)
    }

    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        self.writer(key, "put_if_match")?
            .put_if_match(key, bytes, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn meta(key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size: 1,
            tag: "t".into(),
        }
    }

    #[test]
    fn the_rebuild_store_reads_only_the_nights_raw_files_and_never_writes_raw() {
        let source = MemoryStore::new();
        let out = MemoryStore::new();
        source.put("raw/msw/2026-01-30/a.csv", b"a").unwrap();
        source.put("raw/msw/2026-01-31/b.csv", b"b").unwrap();
        source.put("datasets/staged", b"x").unwrap();
        let store = RebuildStore {
            source: &source,
            out: &out,
            raw: [meta("raw/msw/2026-01-30/a.csv")]
                .into_iter()
                .map(|m| (m.key.clone(), m))
                .collect(),
        };
        assert_eq!(
            store.get("raw/msw/2026-01-30/a.csv").unwrap().unwrap(),
            b"a"
        );
        assert_eq!(store.get("raw/msw/2026-01-31/b.csv").unwrap(), None);
        // Derived objects come from the output store only.
        assert_eq!(store.get("datasets/staged").unwrap(), None);
        store.put("datasets/staged", b"y").unwrap();
        assert_eq!(out.get("datasets/staged").unwrap().unwrap(), b"y");
        assert_eq!(
            store.list("").unwrap(),
            vec!["datasets/staged", "raw/msw/2026-01-30/a.csv"]
        );
        assert_eq!(
            store.list("raw/msw/2026-01-31/").unwrap(),
            Vec::<String>::new()
        );
        assert!(matches!(
            store.put("raw/msw/2026-01-30/a.csv", b"z"),
            Err(StoreError::Unsupported { .. })
        ));
        assert!(store.delete("raw/msw/2026-01-30/a.csv").is_err());
        assert_eq!(
            source.get("raw/msw/2026-01-30/a.csv").unwrap().unwrap(),
            b"a"
        );
    }

    #[test]
    fn only_acceptances_in_force_that_night_are_taken() {
        use envgov_dataset::report::RegistryHeld;
        let source = MemoryStore::new();
        let out = MemoryStore::new();
        for d in ["2026-01-10", "2026-01-20", "2026-02-05"] {
            source
                .put(&format!("runs/registry-accepted/{d}.json"), b"{}")
                .unwrap();
        }
        // The night of 2026-01-31 still held the registry of 01-20 (accepted afterwards);
        // the acceptance of 02-05 is after the night.
        let report = RunReport {
            registry_held: vec![RegistryHeld {
                date: "2026-01-20".into(),
                units: 1,
                kept: Some("2026-01-10".into()),
                kept_units: 10,
                reason_code: "registry_shrink".into(),
                reason: "shrinks".into(),
            }],
            ..RunReport::default()
        };
        let taken = copy_acceptances(&source, &out, "2026-01-31", Some(&report)).unwrap();
        assert_eq!(taken, vec!["2026-01-10"]);
        assert_eq!(
            out.list("").unwrap(),
            vec!["runs/registry-accepted/2026-01-10.json"]
        );
    }

    #[test]
    fn the_night_sees_raw_files_dated_and_first_seen_by_then() {
        let source = MemoryStore::new();
        for k in [
            "raw/msw/2026-01-30/a.csv",
            "raw/msw/2026-01-30/late.csv",
            "raw/msw/2026-01-31/b.csv",
            "raw/msw/2026-01-30/unknown.csv",
        ] {
            source.put(k, k.as_bytes()).unwrap();
        }
        let mut ledger = RawLedger::default();
        for (k, run) in [
            ("raw/msw/2026-01-30/a.csv", "2026-01-30"),
            ("raw/msw/2026-01-30/late.csv", "2026-01-31"),
            ("raw/msw/2026-01-31/b.csv", "2026-01-31"),
        ] {
            ledger.record(k, k.as_bytes(), run).unwrap();
        }
        let d30 = night_inputs(&source, &ledger, None, "2026-01-30").unwrap();
        assert_eq!(
            d30.raw.keys().collect::<Vec<_>>(),
            vec!["raw/msw/2026-01-30/a.csv"]
        );
        // The late file (first seen the 31st) and the file the ledger never saw.
        assert_eq!(d30.first_seen_later, 2);
        let d31 = night_inputs(&source, &ledger, None, "2026-01-31").unwrap();
        assert_eq!(d31.raw.len(), 3);
        // A night that recorded what it saw: exactly that (here the night of the 30th run
        // after the 31st's, which first saw the late file), and a recorded file since gone.
        let record = crate::inputs::NightInputs {
            night: "2026-01-30".into(),
            files: [
                "raw/msw/2026-01-30/a.csv",
                "raw/msw/2026-01-30/late.csv",
                "raw/msw/2026-01-30/gone.csv",
            ]
            .into_iter()
            .map(|k| (k.to_string(), String::new()))
            .collect(),
        };
        let recorded = night_inputs(&source, &ledger, Some(&record), "2026-01-30").unwrap();
        assert_eq!(
            recorded.raw.keys().collect::<Vec<_>>(),
            vec!["raw/msw/2026-01-30/a.csv", "raw/msw/2026-01-30/late.csv"]
        );
        assert_eq!(recorded.first_seen_later, 1);
        assert_eq!(recorded.missing, vec!["raw/msw/2026-01-30/gone.csv"]);
    }
}
