//! Changelogs of corrections: on a night that puts revisions of raw files in force, what
//! changed in each day-level dataset for the corrected dates, record by record, compared
//! with the dataset as archived the night before (`data/raw-formats.md`, "Changelogs").
//!
//! Stage: publish. [`diff`] is pure (published rows in, entries out); the rest reads the
//! previous archive (streamed: only the corrected dates' rows are kept), writes the
//! changelogs once, lists them for the publication manifest, and keeps withdrawn
//! exceedances in the register ([`mark_exceedances`]). Imports no later stage.

use crate::error::JobError;
use crate::ledger::sha256_hex;
use crate::publication::PublishedFile;
use crate::publish::Dataset;
use crate::store::{Conditional, Store};
use crate::table::{Cell, Kind, Table, Values};
use envgov_curated::Curated;
use envgov_dataset::changelog::{
    Change, Changelog, Entry, FieldChange, Record, changelog_key, changelog_path, changes_root,
};
use envgov_dataset::layout;
use envgov_dataset::published::{DatasetId, EXCEEDANCE_ORDER};
use envgov_dataset::report::AppliedRevision;
use std::collections::{BTreeMap, BTreeSet};

/// The day-level datasets and the column whose first ten characters are a row's date.
pub const DAY_COLUMNS: &[(&str, &str)] = &[
    ("cems-daily", "date"),
    ("cems-hourly", "date"),
    ("exceedances", "date"),
    ("self-monitoring", "date"),
];

/// The columns that say where a record was read from: a record whose other values are
/// unchanged is not listed as changed when only these moved to the revision (when it is
/// changed, they are listed with its other fields).
pub const PROVENANCE: [&str; 3] = ["raw_key", "raw_line", "raw_sha256"];

/// The exceedance register's columns that say whether an exceedance is still in force.
pub const STATUS_COLUMNS: [&str; 4] = [
    "record_status",
    "withdrawn_by",
    "withdrawn_sha256",
    "withdrawn_night",
];

/// Rows as published: the header and each row's CSV text (empty for null).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> JobError {
    JobError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    }
}

/// What a diff compares and attributes: the dataset, its key, its day column and the
/// revisions put in force per corrected date.
pub struct Subject<'a> {
    pub dataset: &'a str,
    pub night: &'a str,
    pub primary_key: &'a [String],
    pub day_column: &'a str,
    pub revisions: &'a BTreeMap<String, Vec<AppliedRevision>>,
    pub previous_archive: Option<String>,
}

/// The changelog of `old` → `new` (the rows of the corrected dates before and after): each
/// record only in `old` withdrawn, only in `new` added, in both with other values changed
/// (field by field, over the columns both have; not when only [`PROVENANCE`] differs).
/// Records are matched by primary key.
pub fn diff(subject: &Subject<'_>, old: &Rows, new: &Rows) -> Result<Changelog, String> {
    let common: Vec<&String> = new
        .columns
        .iter()
        .filter(|c| old.columns.contains(c))
        .collect();
    let old_index = index_rows(old, subject)?;
    let new_index = index_rows(new, subject)?;
    let record = |rows: &Rows, row: &[String]| {
        Record(
            rows.columns
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect(),
        )
    };
    let position = |rows: &Rows, c: &str| rows.columns.iter().position(|x| x == c);
    let mut entries = Vec::new();
    let keys: BTreeSet<&(String, Vec<String>)> = old_index.keys().chain(new_index.keys()).collect();
    for k in keys {
        let (date, key) = k;
        let (change, fields, o, n) = match (old_index.get(k), new_index.get(k)) {
            (Some(o), None) => (Change::Withdrawn, vec![], Some(*o), None),
            (None, Some(n)) => (Change::Added, vec![], None, Some(*n)),
            (Some(o), Some(n)) => {
                let fields: Vec<FieldChange> = common
                    .iter()
                    .filter_map(|c| {
                        let ov = position(old, c).and_then(|i| o.get(i))?;
                        let nv = position(new, c).and_then(|i| n.get(i))?;
                        (ov != nv).then(|| FieldChange {
                            field: (*c).clone(),
                            old: ov.clone(),
                            new: nv.clone(),
                        })
                    })
                    .collect();
                // A record read from the revision with the same values has only moved.
                if fields
                    .iter()
                    .all(|f| PROVENANCE.contains(&f.field.as_str()))
                {
                    continue;
                }
                (Change::Changed, fields, Some(*o), Some(*n))
            }
            (None, None) => continue,
        };
        entries.push(Entry {
            change,
            date: date.clone(),
            key: key.clone(),
            fields,
            old: o.map(|r| record(old, r)),
            new: n.map(|r| record(new, r)),
            revisions: attributed(
                subject.revisions.get(date).map_or(&[], Vec::as_slice),
                o.and_then(|row| cell(old, row, "raw_key"))
                    .into_iter()
                    .chain(n.and_then(|row| cell(new, row, "raw_key"))),
            ),
        });
    }
    Ok(Changelog {
        dataset: subject.dataset.to_string(),
        night: subject.night.to_string(),
        primary_key: subject.primary_key.to_vec(),
        previous_archive: subject.previous_archive.clone(),
        entries,
    })
}

/// The revisions a record's change comes from: those that replace the file its old or new
/// row was read from (`raw_key`), else every revision of its date (a record that names no
/// single raw file, or a file no revision replaced, e.g. a unit's daily values of several
/// corrected files).
fn attributed<'k>(
    revisions: &[AppliedRevision],
    raw_keys: impl Iterator<Item = &'k str>,
) -> Vec<AppliedRevision> {
    let bases: BTreeSet<String> = raw_keys.map(crate::revisions::base_key).collect();
    let own: Vec<AppliedRevision> = revisions
        .iter()
        .filter(|r| bases.contains(&crate::revisions::base_key(&r.key)))
        .cloned()
        .collect();
    if own.is_empty() {
        revisions.to_vec()
    } else {
        own
    }
}

/// The value of `column` in a row of `rows`.
fn cell<'r>(rows: &Rows, row: &'r [String], column: &str) -> Option<&'r str> {
    let i = rows.columns.iter().position(|c| c == column)?;
    row.get(i).map(String::as_str).filter(|v| !v.is_empty())
}

/// Rows by (date, primary key values).
type Indexed<'r> = BTreeMap<(String, Vec<String>), &'r Vec<String>>;

/// Rows by (date, primary key); a key seen twice keeps its first row.
fn index_rows<'r>(rows: &'r Rows, subject: &Subject<'_>) -> Result<Indexed<'r>, String> {
    let find = |c: &str| {
        rows.columns
            .iter()
            .position(|x| x == c)
            .ok_or_else(|| format!("{}: no column {c}", subject.dataset))
    };
    let day = find(subject.day_column)?;
    let key: Vec<usize> = subject
        .primary_key
        .iter()
        .map(|c| find(c))
        .collect::<Result<_, _>>()?;
    let mut out = BTreeMap::new();
    for row in &rows.rows {
        let cell = |i: usize| row.get(i).cloned().unwrap_or_default();
        let date: String = cell(day).chars().take(10).collect();
        out.entry((date, key.iter().map(|i| cell(*i)).collect()))
            .or_insert(row);
    }
    Ok(out)
}

/// Reads CSV text rows (a BOM allowed), keeping those whose `day_column` falls on one of
/// `days` and, when `active_only`, whose `record_status` is not `withdrawn`. Streamed, a
/// record's bytes at a time: only the kept rows become strings (a 478 MB archive of
/// cems-daily at 2000 units x 365 days is scanned in 0.75 s, 11 MB resident).
pub fn read_rows(
    reader: impl std::io::Read,
    day_column: &str,
    days: &BTreeSet<String>,
    active_only: bool,
) -> Result<Rows, String> {
    let mut r = csv::ReaderBuilder::new().from_reader(reader);
    let columns: Vec<String> = r
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let day = columns.iter().position(|c| c == day_column);
    let status = columns.iter().position(|c| c == STATUS_COLUMNS[0]);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while r.read_byte_record(&mut record).map_err(|e| e.to_string())? {
        let on_day = day
            .and_then(|i| record.get(i))
            .and_then(|v| v.get(..10))
            .and_then(|d| std::str::from_utf8(d).ok())
            .is_some_and(|d| days.contains(d));
        let withdrawn =
            active_only && status.and_then(|i| record.get(i)) == Some(b"withdrawn".as_slice());
        if on_day && !withdrawn {
            let line = record.position().map_or(0, csv::Position::line);
            let row = record
                .iter()
                .map(|c| {
                    String::from_utf8(c.to_vec())
                        .map_err(|_| format!("line {line}: a cell is not UTF-8"))
                })
                .collect::<Result<Vec<String>, String>>()?;
            rows.push(row);
        }
    }
    Ok(Rows { columns, rows })
}

/// The rows of a built dataset on `days`, as its published CSV writes them.
pub fn dataset_rows(
    dataset: &Dataset,
    day_column: &str,
    days: &BTreeSet<String>,
) -> Result<Rows, JobError> {
    let table = match dataset {
        Dataset::Table(t) => {
            let column = t.str_column(day_column);
            t.filter_rows(|i| {
                column
                    .get(i)
                    .and_then(|v| v.as_deref())
                    .and_then(|s| s.get(..10))
                    .is_some_and(|d| days.contains(d))
            })
        }
        Dataset::Frame(df) => {
            crate::frame::rows_on_days(df, day_column, days).map_err(|e| JobError::Polars {
                what: format!("rows of {day_column} for a changelog"),
                source: e,
            })?
        }
    };
    let csv = crate::publish::to_csv(&table);
    read_rows(csv.as_slice(), day_column, days, false)
        .map_err(|e| JobError::Definition(format!("re-reading a dataset's CSV: {e}")))
}

/// The newest archive of a dataset dated before `night` (its folder), if any.
pub fn previous_archive(
    store: &dyn Store,
    id: &str,
    night: &str,
) -> Result<Option<String>, JobError> {
    let root = layout::archive_root(id).map_err(definition)?;
    let newest = store
        .list(&root)?
        .iter()
        .filter_map(|k| k.strip_prefix(&root).and_then(layout::parse_archive_path))
        .filter(|(date, _)| date.as_str() < night)
        .max();
    newest
        .map(|(date, rev)| layout::archive_revision_prefix(id, &date, rev).map_err(definition))
        .transpose()
}

/// The revisions new tonight, by the date folder they correct.
pub fn by_date(revisions: &[AppliedRevision]) -> BTreeMap<String, Vec<AppliedRevision>> {
    let mut out: BTreeMap<String, Vec<AppliedRevision>> = BTreeMap::new();
    for r in revisions {
        if let Ok((_, date, _)) = layout::parse_raw_key(&r.key) {
            out.entry(date).or_default().push(r.clone());
        }
    }
    out
}

/// The changelogs of a night: for each day-level dataset built tonight and archived
/// before, the changes on the dates `revisions` correct (none when nothing is corrected).
pub fn for_night(
    store: &dyn Store,
    curated: &Curated,
    tables: &BTreeMap<String, Dataset>,
    night: &str,
    revisions: &[AppliedRevision],
) -> Result<Vec<Changelog>, JobError> {
    let revisions = by_date(revisions);
    if revisions.is_empty() {
        return Ok(Vec::new());
    }
    let days: BTreeSet<String> = revisions.keys().cloned().collect();
    let mut out = Vec::new();
    for (id, day_column) in DAY_COLUMNS {
        let Some(def) = curated.datasets.dataset.iter().find(|d| d.id == *id) else {
            continue;
        };
        let record_key = record_key(id, &def.primary_key);
        let subject = |previous_archive| Subject {
            dataset: id,
            night,
            primary_key: &record_key,
            day_column,
            revisions: &revisions,
            previous_archive,
        };
        let Some(dataset) = tables.get(*id) else {
            // A dataset published a file a month: the months of the corrected days, as
            // published before tonight and now.
            if let Some(m) = DatasetId::parse(id).filter(|m| MONTHLY_CHANGELOGS.contains(m))
                && let Some((old, new, previous)) =
                    monthly_rows(store, m, night, day_column, &days)?
            {
                let log = diff(&subject(previous), &old, &new).map_err(definition)?;
                tracing::info!(
                    dataset = id,
                    entries = log.entries.len(),
                    "changelog of tonight's corrections"
                );
                if !log.entries.is_empty() {
                    out.push(log);
                }
            }
            continue;
        };
        let Some(prefix) = previous_archive(store, id, night)? else {
            tracing::info!(
                dataset = id,
                "no earlier archive: nothing to compare a correction with"
            );
            continue;
        };
        let file = layout::dataset_file_name(id, layout::Format::Csv).map_err(definition)?;
        let key = format!("{prefix}{file}");
        let reader = store
            .open(&key)?
            .ok_or_else(|| corrupt(&key, "the archive lists no CSV"))?;
        let old = read_rows(reader, day_column, &days, true).map_err(|e| corrupt(&key, e))?;
        let new = dataset_rows(dataset, day_column, &days)?;
        let log = diff(&subject(Some(prefix)), &old, &new).map_err(definition)?;
        tracing::info!(
            dataset = id,
            entries = log.entries.len(),
            "changelog of tonight's corrections"
        );
        if !log.entries.is_empty() {
            out.push(log);
        }
    }
    Ok(out)
}

/// The datasets published a file a month whose corrections get a changelog here.
const MONTHLY_CHANGELOGS: [DatasetId; 3] = [
    DatasetId::CemsDaily,
    DatasetId::CemsHourly,
    DatasetId::SelfMonitoring,
];

/// The columns a changelog matches a dataset's records by: its primary key, but for
/// `cems-hourly`, whose primary key is where a value was read (`raw_key`, `raw_line`,
/// `pollutant`), which a revision moves: its records are matched by outlet, hour and
/// pollutant, so that a corrected value is listed as changed, old → new.
pub fn record_key(dataset: &str, primary_key: &[String]) -> Vec<String> {
    if dataset == DatasetId::CemsHourly.as_str() {
        CEMS_HOURLY_RECORD.iter().map(|c| c.to_string()).collect()
    } else {
        primary_key.to_vec()
    }
}

/// See [`record_key`].
pub const CEMS_HOURLY_RECORD: [&str; 3] = ["outlet_id", "observed_at", "pollutant"];

/// Reads the rows on `days` of a month's CSV file (gzip-compressed when its name ends with
/// `.gz`), appending them to `rows`.
fn read_month_rows(
    store: &dyn Store,
    file: &crate::publish::StoredFile,
    day_column: &str,
    days: &BTreeSet<String>,
    rows: &mut Option<Rows>,
) -> Result<(), JobError> {
    let reader = store
        .open(&file.key)?
        .ok_or_else(|| corrupt(&file.key, "a month's file listed in its state is missing"))?;
    let read = if file.compression.as_deref() == Some("gz") {
        read_rows(
            flate2::read::MultiGzDecoder::new(reader),
            day_column,
            days,
            false,
        )
    } else {
        read_rows(reader, day_column, days, false)
    }
    .map_err(|e| corrupt(&file.key, e))?;
    match rows {
        Some(r) => r.rows.extend(read.rows),
        None => *rows = Some(read),
    }
    Ok(())
}

/// The rows on `days` of a monthly dataset as published before tonight (each month's files
/// before the night changed them, [`crate::monthly::RunWritten::replaced`], or its files
/// now when it did not change) and now, with the archive folder of the earlier files; `None`
/// when no month of those days was published before tonight (nothing to compare with).
fn monthly_rows(
    store: &dyn Store,
    id: DatasetId,
    night: &str,
    day_column: &str,
    days: &BTreeSet<String>,
) -> Result<Option<(Rows, Rows, Option<String>)>, JobError> {
    let months: BTreeSet<&str> = days.iter().filter_map(|d| d.get(..7)).collect();
    let replaced = crate::monthly::run_written(store, id, night)?
        .map(|w| w.replaced)
        .unwrap_or_default();
    let csv =
        |files: &[crate::publish::StoredFile]| files.iter().find(|f| f.format == "csv").cloned();
    let (mut old, mut new, mut previous) = (None, None, None);
    for state in crate::monthly::month_states(store, id, night)? {
        if !months.contains(state.month.as_str()) {
            continue;
        }
        let now = csv(&state.files);
        let before = match replaced.get(&state.month) {
            Some(files) => csv(files),
            // Unchanged tonight: as published before.
            None => now.clone(),
        };
        if let Some(b) = &before {
            previous = b.key.rfind('/').map(|at| b.key[..=at].to_string());
            read_month_rows(store, b, day_column, days, &mut old)?;
        }
        if let Some(n) = &now {
            read_month_rows(store, n, day_column, days, &mut new)?;
        }
    }
    let (Some(old), Some(new)) = (old, new) else {
        return Ok(None);
    };
    Ok(Some((old, new, previous)))
}

/// Pretty JSON with a final newline.
fn json(log: &Changelog) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(log).expect("serialisable");
    bytes.push(b'\n');
    bytes
}

/// Writes a changelog once (JSON and CSV): `{night}.json`, or, when that holds another
/// changelog (a re-run with other inputs), the next free `{night}.r{n}.json`. The JSON is
/// created conditionally (never overwritten), after its CSV.
pub fn write(store: &dyn Store, log: &Changelog) -> Result<(), JobError> {
    let (json, csv) = (json(log), log.to_csv());
    let csv_sha = sha256_hex(&csv);
    for n in 1..=crate::revisions::MAX_REVISION {
        let key = changelog_key(&log.dataset, &log.night, n, "json").map_err(definition)?;
        let csv_key = changelog_key(&log.dataset, &log.night, n, "csv").map_err(definition)?;
        let same = match store.get(&key)? {
            Some(stored) => stored == json,
            None => {
                store.put_with_hash(&csv_key, &csv, &csv_sha)?;
                match store.put_if_absent(&key, &json)? {
                    Conditional::Written => return Ok(()),
                    // Another run wrote it meanwhile: the same changelog, or the next.
                    _ => store.get(&key)?.as_deref() == Some(json.as_slice()),
                }
            }
        };
        if same {
            if store.stored_hash(&csv_key)?.as_deref() != Some(csv_sha.as_str()) {
                store.put_with_hash(&csv_key, &csv, &csv_sha)?;
            }
            return Ok(());
        }
    }
    Err(JobError::Definition(format!(
        "{}: more than {} changelogs of the night {}",
        log.dataset,
        crate::revisions::MAX_REVISION,
        log.night
    )))
}

/// The stored changelogs of nights up to `night`, by their path in a publication
/// (`{id}/changes/{file}`), for the publication manifest: listed with their sizes, hashed
/// from the store's recorded hash where it has one (read and hashed otherwise).
pub fn listed(store: &dyn Store, night: &str) -> Result<BTreeMap<String, PublishedFile>, JobError> {
    let mut out = BTreeMap::new();
    for (id, _) in DAY_COLUMNS {
        let root = changes_root(id).map_err(definition)?;
        for meta in store.list_meta(&root)? {
            let Some(file) = meta.key.strip_prefix(&root) else {
                continue;
            };
            if file.get(..10).is_none_or(|d| d > night) {
                continue;
            }
            let sha256 = match store.stored_hash(&meta.key)? {
                Some(sha) => sha,
                None => sha256_hex(
                    &store
                        .get(&meta.key)?
                        .ok_or_else(|| corrupt(&meta.key, "listed but missing"))?,
                ),
            };
            out.insert(
                format!("{id}/changes/{file}"),
                PublishedFile {
                    sha256,
                    bytes: meta.size,
                    key: meta.key.clone(),
                },
            );
        }
    }
    Ok(out)
}

/// Copies the changelogs of nights up to `night` from `source` to `out` (for a rebuild of
/// that night: the register keeps the exceedances those corrections withdrew, see
/// [`mark_exceedances`]). Returns how many files were copied.
pub fn copy_history(source: &dyn Store, out: &dyn Store, night: &str) -> Result<usize, JobError> {
    let mut copied = 0;
    for (path, file) in listed(source, night)? {
        let bytes = source
            .get(&file.key)?
            .ok_or_else(|| corrupt(&file.key, format!("listed as {path} but missing")))?;
        out.put_with_hash(&file.key, &bytes, &file.sha256)?;
        copied += 1;
    }
    Ok(copied)
}

/// The stored changelogs of one dataset up to `night`, oldest night first (a night's latest
/// revision only).
pub fn stored(store: &dyn Store, id: &str, night: &str) -> Result<Vec<Changelog>, JobError> {
    let root = changes_root(id).map_err(definition)?;
    let mut latest: BTreeMap<String, (u32, String)> = BTreeMap::new();
    for key in store.list(&root)? {
        let Some(file) = key
            .strip_prefix(&root)
            .and_then(|f| f.strip_suffix(".json"))
        else {
            continue;
        };
        let (date, n) = match file.split_once(".r") {
            Some((d, n)) => (d, n.parse::<u32>().unwrap_or(0)),
            None => (file, 1),
        };
        if date > night || layout::check_date(date).is_err() {
            continue;
        }
        let e = latest.entry(date.to_string()).or_insert((0, String::new()));
        if n > e.0 {
            *e = (n, key.clone());
        }
    }
    latest
        .into_values()
        .map(|(_, key)| {
            crate::partition::get_json::<Changelog>(store, &key)?
                .ok_or_else(|| corrupt(&key, "listed but missing"))
        })
        .collect()
}

/// The changelog paths of a dataset in a publication (for the site): see [`changelog_path`].
pub fn path_of(log: &Changelog, revision: u32, ext: &str) -> Result<String, JobError> {
    changelog_path(&log.dataset, &log.night, revision, ext).map_err(definition)
}

/// The exceedances withdrawn by the changelogs (oldest first) and not added back later nor
/// in `active` (exceedance ids in force): id → (the withdrawn record, the entry's revisions,
/// the night).
fn withdrawn(
    logs: &[Changelog],
    active: &BTreeSet<String>,
) -> BTreeMap<String, (Record, Vec<AppliedRevision>, String)> {
    let mut out = BTreeMap::new();
    for log in logs {
        for e in &log.entries {
            let Some(id) = e.key.first() else { continue };
            match (e.change, &e.old) {
                (Change::Withdrawn, Some(old)) => {
                    out.insert(
                        id.clone(),
                        (old.clone(), e.revisions.clone(), log.night.clone()),
                    );
                }
                _ => {
                    out.remove(id);
                }
            }
        }
    }
    out.retain(|id, _| !active.contains(id));
    out
}

/// A typed cell of a published CSV text value (empty is null).
fn cell_of(kind: Kind, text: Option<&str>) -> Cell {
    let text = text.filter(|t| !t.is_empty());
    match kind {
        Kind::Str => Cell::from(text.map(str::to_string)),
        Kind::F64 => Cell::from(text.and_then(|t| t.parse::<f64>().ok())),
        Kind::I64 => Cell::from(text.and_then(|t| t.parse::<i64>().ok())),
        Kind::Bool => Cell::from(text.and_then(|t| t.parse::<bool>().ok())),
    }
}

/// The exceedance register with its status columns ([`STATUS_COLUMNS`]): every exceedance
/// built tonight is `in-force`; every exceedance a correction withdrew (from the stored
/// changelogs up to `night`) is kept as `withdrawn`, with the revision that withdrew it.
/// Rows sorted by date, then exceedance id.
pub fn mark_exceedances(
    store: &dyn Store,
    register: Table,
    night: &str,
) -> Result<Table, JobError> {
    let logs = stored(store, "exceedances", night)?;
    let active: BTreeSet<String> = register
        .str_column("exceedance_id")
        .iter()
        .flatten()
        .cloned()
        .collect();
    let gone = withdrawn(&logs, &active);
    let schema = register.schema();
    let mut out = register;
    let rows = out.rows();
    out.names.extend(STATUS_COLUMNS.map(str::to_string));
    out.columns
        .push(Values::Str(vec![Some("in-force".into()); rows]));
    for _ in 1..STATUS_COLUMNS.len() {
        out.columns.push(Values::Str(vec![None; rows]));
    }
    for (record, revisions, withdrawn_night) in gone.into_values() {
        let mut row: Vec<Cell> = schema
            .iter()
            .map(|(name, kind)| cell_of(*kind, record.get(name)))
            .collect();
        let join =
            |f: fn(&AppliedRevision) -> &str| revisions.iter().map(f).collect::<Vec<_>>().join(" ");
        row.push(Cell::from("withdrawn"));
        row.push(Cell::from(join(|r| r.key.as_str())));
        row.push(Cell::from(join(|r| r.sha256.as_str())));
        row.push(Cell::from(withdrawn_night));
        out.push(row);
    }
    if out.rows() == rows {
        return Ok(out);
    }
    // The register's order (see `datasets::build`), with the withdrawn rows in their place.
    let columns: Vec<Vec<Option<String>>> = EXCEEDANCE_ORDER
        .iter()
        .filter_map(|c| match out.column(c) {
            Some(Values::Str(v)) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let sort_key = |i: usize| -> Vec<Option<&String>> {
        columns
            .iter()
            .map(|c| c.get(i).and_then(Option::as_ref))
            .collect()
    };
    let mut order: Vec<usize> = (0..out.rows()).collect();
    order.sort_by(|a, b| sort_key(*a).cmp(&sort_key(*b)));
    Ok(out.take(&order))
}

#[cfg(test)]
mod tests;
