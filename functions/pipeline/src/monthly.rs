//! Datasets that grow with time, published a file a month and a format (`cems-hourly`,
//! `cems-daily`, `self-monitoring`: `{id}-{YYYY-MM}.{ext}`, see
//! [`layout::monthly_file_name`]), each month written only when its inputs change.
//!
//! Stage: aggregate and publish (reads what a dataset's months are made from through its
//! [`Monthly`] implementation, writes the monthly files into the dated archives and their
//! states). Imports no later stage.
//!
//! # Months, written only when they change
//!
//! A month's files are a function of its inputs, whose sha256 ([`inputs_sha256`]: the
//! dataset, its version, the month, the month's other inputs (e.g. the limits in force) and
//! each day's input sha256, in date order) is kept with the files' keys and hashes in
//! `datasets/{id}/months/{YYYY-MM}.json` ([`MonthState`]). A night writes only the months
//! whose inputs changed (an ordinary night: the current month; a no-change night: none),
//! by streaming their days ([`crate::month_files`]), into its own dated archive
//! (`datasets/{id}/archive/{date}/`, created once, `r2/`… if a re-run differs, with a
//! `datapackage.json` of the months written there), and the publication lists every
//! month's files under the keys that hold them ([`stored_months`]). What a run of a night
//! wrote, and which files each month had before it, is `runs/{date}/{id}.json`
//! ([`RunWritten`]): the night's changelog compares those ([`crate::changelog`]).
//!
//! A re-run of an older night lists the files it made before: a month's state remembers up
//! to [`EARLIER_KEPT`] earlier sets of files by their inputs' sha256. A dataset with no data
//! yet in the run's year is published as the run's month with no rows (header-only files).

use crate::error::JobError;
use crate::month_files::{Encoded, FileKind};
use crate::partition::{get_json, put_json};
use crate::publish::{StoredDataset, StoredFile};
use crate::store::{Conditional, Store};
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::layout;
use envgov_dataset::published::DatasetId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a month's files are made from: each day with data and its inputs' sha256 (in date
/// order), and the sha256 of the month's other inputs (the limits in force, …; empty when
/// there are none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonthInputs {
    pub days: Vec<(NaiveDate, String)>,
    pub other_sha256: String,
}

/// A dataset published a file a month.
pub trait Monthly: Sync {
    fn id(&self) -> DatasetId;
    /// Bumped whenever the rows or the files of a month change for the same inputs, so that
    /// every month is written again.
    fn version(&self) -> u32;
    /// The files of a month, in order (the first is the CSV, whose rows are counted).
    fn kinds(&self) -> &'static [FileKind];
    /// The months of `year` (the run's year up to the run date) that have data, each with
    /// its inputs.
    fn inputs(
        &self,
        store: &dyn Store,
        year: &[NaiveDate],
    ) -> Result<BTreeMap<String, MonthInputs>, JobError>;
    /// Encodes a month's files from its days, streamed ([`crate::month_files::encode_month`]).
    fn encode(
        &self,
        store: &dyn Store,
        month: &str,
        inputs: &MonthInputs,
    ) -> Result<Encoded, JobError>;
}

/// `datasets/{id}/months/{YYYY-MM}.json`: what a month's files were made from and where
/// they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthState {
    pub version: u32,
    pub month: String,
    /// The sha256 of the month's inputs ([`inputs_sha256`]).
    pub inputs_sha256: String,
    /// The month's files, in the dataset's order ([`Monthly::kinds`]).
    pub files: Vec<StoredFile>,
    /// The files made before from other inputs, the latest first (at most [`EARLIER_KEPT`]):
    /// a re-run of an older night lists its month's files again instead of writing them.
    #[serde(default)]
    pub earlier: Vec<EarlierFiles>,
}

/// A month's files made from other inputs than the state's current ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlierFiles {
    pub inputs_sha256: String,
    pub files: Vec<StoredFile>,
}

/// How many earlier sets of a month's files its state remembers.
pub const EARLIER_KEPT: usize = 12;

/// `runs/{date}/{id}.json`: the archive folder this run of the night wrote months into, if
/// any, which months, and the files each month changed tonight had before the night (for
/// the changelog of corrections).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunWritten {
    pub folder: Option<String>,
    pub months: Vec<String>,
    /// Month → its files before the night changed it (none for a month new tonight).
    #[serde(default)]
    pub replaced: BTreeMap<String, Vec<StoredFile>>,
}

impl MonthState {
    /// The state whose current files are `files` (made from `inputs_sha256`), remembering
    /// `previous`'s current files and its earlier ones (but `inputs_sha256`'s).
    fn after(
        previous: Option<MonthState>,
        version: u32,
        month: &str,
        inputs_sha256: String,
        files: Vec<StoredFile>,
    ) -> MonthState {
        let mut earlier = Vec::new();
        if let Some(p) = previous {
            earlier.push(EarlierFiles {
                inputs_sha256: p.inputs_sha256,
                files: p.files,
            });
            earlier.extend(p.earlier);
        }
        earlier.retain(|e| e.inputs_sha256 != inputs_sha256);
        earlier.truncate(EARLIER_KEPT);
        MonthState {
            version,
            month: month.to_string(),
            inputs_sha256,
            files,
            earlier,
        }
    }
}

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

/// The sha256 of what a month's files are made from: the dataset and its version, the month,
/// its other inputs, and each day's date and inputs' sha256, in order: the sha256 of the
/// text `{id} v{version}\n{month}\nlimits {other_sha256}\n` then `{date} {sha256}\n` a day.
pub fn inputs_sha256(id: DatasetId, version: u32, month: &str, inputs: &MonthInputs) -> String {
    // `limits`: the other inputs' line kept as cems-hourly wrote it before the other monthly
    // datasets joined (the same inputs keep the same fingerprint: no month written again).
    let mut text = format!(
        "{} v{version}\n{month}\nlimits {}\n",
        id.as_str(),
        inputs.other_sha256
    );
    for (d, sha) in &inputs.days {
        text.push_str(&format!("{d} {sha}\n"));
    }
    crate::ledger::sha256_hex(text.as_bytes())
}

/// The archive folder of `id` a night writes its months into: the first revision of
/// `run`'s archive that has no `datapackage.json` yet (an archive folder is complete, and
/// never written again, once its data package is there).
fn archive_folder(store: &dyn Store, id: DatasetId, run: &str) -> Result<String, JobError> {
    for revision in 1.. {
        let prefix =
            layout::archive_revision_prefix(id.as_str(), run, revision).map_err(definition)?;
        if store.get(&format!("{prefix}{PACKAGE}"))?.is_none() {
            return Ok(prefix);
        }
    }
    unreachable!("revisions are unbounded")
}

const PACKAGE: &str = "datapackage.json";

/// Creates a file of an archive folder (conditional create): the same bytes there already
/// (a night resumed after a crash) are kept; other bytes are never overwritten.
fn create_once(store: &dyn Store, key: &str, bytes: &[u8], sha256: &str) -> Result<(), JobError> {
    match store.put_if_absent(key, bytes)? {
        Conditional::Written => Ok(()),
        Conditional::Conflict => {
            let theirs = match store.stored_hash(key)? {
                Some(h) => h,
                None => store
                    .get(key)?
                    .map(|b| crate::ledger::sha256_hex(&b))
                    .unwrap_or_default(),
            };
            if theirs == sha256 {
                Ok(())
            } else {
                Err(JobError::Corrupt {
                    key: key.to_string(),
                    message: format!(
                        "an archived file holds other bytes (sha256 {theirs}, not {sha256}): \
                         archives are never overwritten"
                    ),
                })
            }
        }
    }
}

/// Whether every file of a month is stored with its sha256.
fn files_in_place(store: &dyn Store, files: &[StoredFile]) -> Result<bool, JobError> {
    for f in files {
        let ok = match store.stored_hash(&f.key)? {
            Some(h) => h == f.sha256,
            None => store
                .get(&f.key)?
                .is_some_and(|b| crate::ledger::sha256_hex(&b) == f.sha256),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Encodes a month's files and stores them in the archive folder `folder`.
fn write_and_store(
    store: &dyn Store,
    dataset: &dyn Monthly,
    month: &str,
    inputs: &MonthInputs,
    folder: &str,
) -> Result<Vec<StoredFile>, JobError> {
    let encoded = dataset.encode(store, month, inputs)?;
    let mut stored = Vec::with_capacity(encoded.files.len());
    for file in encoded.files {
        let (format, gzip) = (file.kind.format, file.kind.gzip);
        let name = layout::monthly_file_name(dataset.id().as_str(), month, format, gzip)
            .map_err(definition)?;
        let sha256 = crate::ledger::sha256_hex(&file.bytes);
        let key = format!("{folder}{name}");
        create_once(store, &key, &file.bytes, &sha256)?;
        stored.push(StoredFile {
            name,
            format: format.extension().to_string(),
            compression: gzip.then(|| "gz".to_string()),
            sha256,
            bytes: file.bytes.len() as u64,
            rows: encoded.rows,
            key,
        });
    }
    Ok(stored)
}

/// What [`update_months`] settles for one month.
enum Settled {
    /// Its files are those of its state.
    Unchanged,
    /// Its state changes to files made before (listed again), with the files it had.
    Relisted(MonthState, Option<Vec<StoredFile>>),
    /// Its files were written now into the night's archive folder, with the files it had.
    Written(MonthState, Option<Vec<StoredFile>>),
}

/// Settles one month: unchanged, listed again from its earlier files, or written into the
/// night's archive folder (chosen when the first month is written).
fn settle_month(
    store: &dyn Store,
    dataset: &dyn Monthly,
    month: &str,
    inputs: &MonthInputs,
    folder: &mut Option<String>,
    run: &str,
) -> Result<Settled, JobError> {
    let (id, version) = (dataset.id(), dataset.version());
    let fingerprint = inputs_sha256(id, version, month, inputs);
    let state_key = layout::month_state_key(id.as_str(), month).map_err(definition)?;
    let previous = get_json::<MonthState>(store, &state_key)?.filter(|s| s.version == version);
    if let Some(p) = &previous
        && p.inputs_sha256 == fingerprint
        && files_in_place(store, &p.files)?
    {
        return Ok(Settled::Unchanged);
    }
    let before = previous.as_ref().map(|p| p.files.clone());
    // Made before from the same inputs (a re-run of an older night): listed again.
    if let Some(p) = &previous
        && let Some(e) = p.earlier.iter().find(|e| e.inputs_sha256 == fingerprint)
        && files_in_place(store, &e.files)?
    {
        let files = e.files.clone();
        let state = MonthState::after(previous, version, month, fingerprint, files);
        return Ok(Settled::Relisted(state, before));
    }
    let folder = match folder {
        Some(f) => f.clone(),
        None => folder.insert(archive_folder(store, id, run)?).clone(),
    };
    let t = std::time::Instant::now();
    let files = write_and_store(store, dataset, month, inputs, &folder)?;
    let rows = files.first().map_or(0, |f| f.rows);
    tracing::info!(dataset = %id.as_str(), month = %month, days = inputs.days.len(), rows, seconds = t.elapsed().as_secs_f64(), peak_rss_mib = crate::memory::peak_rss_mib(), "month written");
    let state = MonthState::after(previous, version, month, fingerprint, files);
    Ok(Settled::Written(state, before))
}

/// Brings every month of `dataset` in the year up to `run` up to date: writes the files of
/// the months whose inputs changed (into `run`'s archive), their states and the run's
/// record ([`RunWritten`]); gives how many months changed.
pub fn update_months(
    store: &dyn Store,
    curated: &Curated,
    dataset: &dyn Monthly,
    year: &[NaiveDate],
    run: NaiveDate,
) -> Result<usize, JobError> {
    let id = dataset.id();
    let run_s = run.to_string();
    let year: Vec<NaiveDate> = year.iter().copied().filter(|d| *d <= run).collect();
    let mut months = dataset.inputs(store, &year)?;
    if months.is_empty() {
        // No data yet this year: the run's month is published with no rows (its files hold
        // the header only), so that the dataset always has files to list and describe.
        months.insert(
            run_s.get(..7).unwrap_or_default().to_string(),
            MonthInputs::default(),
        );
    }
    // The months whose inputs changed are written into one archive folder of the night;
    // its data package (listing them) and then their states are written last, so that a
    // night stopped half-way writes them again.
    let mut folder: Option<String> = None;
    let (mut written, mut states) = (Vec::new(), Vec::new());
    let run_key = layout::monthly_run_key(&run_s, id.as_str()).map_err(definition)?;
    // A re-run of the night keeps what the first run replaced.
    let mut replaced = get_json::<RunWritten>(store, &run_key)?
        .map(|w| w.replaced)
        .unwrap_or_default();
    for (month, inputs) in &months {
        let (state, before) =
            match settle_month(store, dataset, month, inputs, &mut folder, &run_s)? {
                Settled::Unchanged => continue,
                Settled::Relisted(state, before) => (state, before),
                Settled::Written(state, before) => {
                    written.push(state.clone());
                    (state, before)
                }
            };
        if let Some(before) = before {
            replaced.entry(month.clone()).or_insert(before);
        }
        let key = layout::month_state_key(id.as_str(), month).map_err(definition)?;
        states.push((key, state));
    }
    if let Some(folder) = &folder {
        write_archive_package(store, curated, id, &written, folder, &run_s)?;
    }
    for (key, state) in &states {
        put_json(store, key, state)?;
    }
    let record = RunWritten {
        folder: folder.clone(),
        months: written.iter().map(|s| s.month.clone()).collect(),
        replaced,
    };
    put_json(store, &run_key, &record)?;
    tracing::info!(dataset = %id.as_str(), months = months.len(), written = written.len(), "months up to date");
    Ok(states.len())
}

/// The `datapackage.json` of the archive folder a night wrote months into: those months.
fn write_archive_package(
    store: &dyn Store,
    curated: &Curated,
    id: DatasetId,
    written: &[MonthState],
    folder: &str,
    run: &str,
) -> Result<(), JobError> {
    let def = curated
        .datasets
        .dataset
        .iter()
        .find(|d| d.id == id.as_str())
        .ok_or_else(|| {
            definition(format!(
                "{} has no entry in data/datasets.toml",
                id.as_str()
            ))
        })?;
    let stored = StoredDataset {
        schema: crate::month_files::schema(id),
        files: written.iter().flat_map(|s| s.files.clone()).collect(),
        archives: vec![run.to_string()],
    };
    let package = crate::publish::stored_package(def, &stored, &curated.datasets.field, run)
        .map_err(JobError::Definition)?;
    let mut bytes = serde_json::to_vec_pretty(&package).map_err(definition)?;
    bytes.push(b'\n');
    let sha = crate::ledger::sha256_hex(&bytes);
    create_once(store, &format!("{folder}{PACKAGE}"), &bytes, &sha)
}

/// What the last run of `run`'s night recorded of `id`'s months, if anything.
pub fn run_written(
    store: &dyn Store,
    id: DatasetId,
    run: &str,
) -> Result<Option<RunWritten>, JobError> {
    let key = layout::monthly_run_key(run, id.as_str()).map_err(definition)?;
    get_json::<RunWritten>(store, &key)
}

/// The archive folder the last run of `run`'s night wrote `id`'s months into, if any.
pub fn written_folder(
    store: &dyn Store,
    id: DatasetId,
    run: &str,
) -> Result<Option<String>, JobError> {
    Ok(run_written(store, id, run)?.and_then(|w| w.folder))
}

/// The month states of `id` of `run`'s year up to its month, in month order.
pub fn month_states(
    store: &dyn Store,
    id: DatasetId,
    run: &str,
) -> Result<Vec<MonthState>, JobError> {
    let run_month = layout::check_date(run)
        .map_err(definition)?
        .get(..7)
        .unwrap_or_default();
    let prefix = layout::month_states_prefix(id.as_str()).map_err(definition)?;
    let mut months: Vec<String> = store
        .list(&prefix)?
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix(".json"))
        .filter(|m| layout::check_month(m).is_ok())
        .filter(|m| m.get(..4) == run_month.get(..4) && *m <= run_month)
        .map(str::to_string)
        .collect();
    months.sort();
    let mut states = Vec::with_capacity(months.len());
    for month in &months {
        let key = layout::month_state_key(id.as_str(), month).map_err(definition)?;
        if let Some(state) = get_json::<MonthState>(store, &key)? {
            states.push(state);
        }
    }
    Ok(states)
}

/// The months of `id` in `run`'s year up to its month, as their states list them: every
/// month's files, ready to publish ([`update_months`] brought them up to date for `run`).
pub fn stored_months(
    store: &dyn Store,
    id: DatasetId,
    run: &str,
) -> Result<StoredDataset, JobError> {
    let root = layout::archive_root(id.as_str()).map_err(definition)?;
    let (mut files, mut archives) = (Vec::new(), Vec::new());
    for state in month_states(store, id, run)? {
        for f in &state.files {
            if let Some((date, _)) = f
                .key
                .strip_prefix(&root)
                .and_then(layout::parse_archive_path)
            {
                archives.push(date);
            }
        }
        files.extend(state.files);
    }
    archives.sort();
    archives.dedup();
    Ok(StoredDataset {
        schema: crate::month_files::schema(id),
        files,
        archives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inputs_fingerprint_changes_with_any_day_the_other_inputs_or_the_version() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let inputs = MonthInputs {
            days: vec![
                (d("2026-01-01"), "aa".into()),
                (d("2026-01-02"), "bb".into()),
            ],
            other_sha256: "L".into(),
        };
        let id = DatasetId::CemsDaily;
        let base = inputs_sha256(id, 1, "2026-01", &inputs);
        assert_eq!(base, inputs_sha256(id, 1, "2026-01", &inputs.clone()));
        assert_ne!(base, inputs_sha256(id, 2, "2026-01", &inputs));
        assert_ne!(
            base,
            inputs_sha256(DatasetId::SelfMonitoring, 1, "2026-01", &inputs)
        );
        let mut other = inputs.clone();
        other.other_sha256 = "L2".into();
        assert_ne!(base, inputs_sha256(id, 1, "2026-01", &other));
        let mut changed = inputs.clone();
        changed.days[1].1 = "bc".into();
        assert_ne!(base, inputs_sha256(id, 1, "2026-01", &changed));
        changed.days.truncate(1);
        assert_ne!(base, inputs_sha256(id, 1, "2026-01", &changed));
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_its_text() {
        let inputs = MonthInputs {
            days: vec![(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), "aa".into())],
            other_sha256: "L".into(),
        };
        // printf 'cems-hourly v1\n2026-01\nlimits L\n2026-01-01 aa\n' | sha256sum
        // (the text cems-hourly's months were fingerprinted with before: unchanged).
        assert_eq!(
            inputs_sha256(DatasetId::CemsHourly, 1, "2026-01", &inputs),
            "d9ba3c1e8fedfa973c4464d73472e8d1da6edc4d62b8013cd528b89459061968"
        );
    }

    #[test]
    fn a_state_remembers_its_earlier_files_latest_first_without_its_own() {
        let file = |n: &str| StoredFile {
            name: n.into(),
            format: "csv".into(),
            compression: None,
            sha256: n.into(),
            bytes: 1,
            rows: 1,
            key: n.into(),
        };
        let a = MonthState::after(None, 1, "2026-01", "A".into(), vec![file("a")]);
        assert!(a.earlier.is_empty());
        let b = MonthState::after(Some(a), 1, "2026-01", "B".into(), vec![file("b")]);
        assert_eq!(b.earlier.len(), 1);
        // Back to A's inputs: A is current again and no longer among the earlier ones.
        let a2 = MonthState::after(Some(b), 1, "2026-01", "A".into(), vec![file("a")]);
        let earlier: Vec<&str> = a2
            .earlier
            .iter()
            .map(|e| e.inputs_sha256.as_str())
            .collect();
        assert_eq!(earlier, ["B"]);
    }
}
