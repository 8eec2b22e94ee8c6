//! The hourly readings dataset, `cems-hourly`: every accepted hourly value (HJ 212
//! `CN=2061` rows of the validated online-monitoring partitions) with its flag, validity and
//! exclusion reason, the hourly limit in force in its month (winter limits where they apply,
//! as the daily aggregation uses them: [`crate::aggregate::limits_table`]) and whether the
//! value exceeds it, and its provenance (`raw_key`, `raw_line`, `raw_sha256`).
//!
//! Stage: aggregate and publish (reads validated partitions through the store, writes the
//! monthly files into the dated archives). Imports no later stage.
//!
//! # Months, written only when they change
//!
//! The dataset is published a file a month and a format: `cems-hourly-{YYYY-MM}.parquet` and
//! `cems-hourly-{YYYY-MM}.csv.gz` (UTF-8 with a BOM, formula cells neutralised as in every
//! envgov CSV, gzip-compressed). A month's files are a function of its inputs, whose sha256
//! (the partitions' sha256 day by day, the month's limits, [`HOURLY_VERSION`]) is kept with
//! the files' keys and hashes in `datasets/cems-hourly/months/{YYYY-MM}.json`. A night
//! rewrites only the months whose inputs changed (an ordinary night: the current month; a
//! no-change night: none), into its own dated archive
//! (`datasets/cems-hourly/archive/{date}/`, created once, `r2/`… if a re-run differs, with
//! a `datapackage.json` of the months written there), and the publication lists every
//! month's files under the keys that hold them.
//!
//! The CSV file is gzip members (RFC 1952; every gzip reader reads them as one stream):
//! the BOM and header, then one member a day, kept with the day's partials
//! (`partials/cems/date={date}/hourly.csv.gz`) while its partition and the month's limits
//! are unchanged: a night encodes the CSV of the changed days only. The Parquet file is
//! encoded from every day of the month, a row group per 64k rows of a day.
//!
//! # Memory and time
//!
//! A month is written by streaming its days: one day's partition is read into a frame,
//! its hourly rows become Parquet row groups (and CSV, if the day's member is not kept),
//! then the frame is dropped. What is held is one day's frame and the month's two
//! compressed files (at 300 units: 1.0 M rows, 36.7 MB of CSV gzip, 19.1 MB of Parquet).
//! Measured at 300 units, release build: a month of 31 days written whole in about 3 s,
//! and in 1.5 s on an ordinary night (its days' CSV members kept).

use crate::error::JobError;
use crate::frame;
use crate::partials::{Inputs, partition_sha256};
use crate::partition::{get_json, put_json};
use crate::provenance::RawHashes;
use crate::publish::{StoredDataset, StoredFile};

use crate::store::{Conditional, Store};
use crate::table::{Kind, Table};
use chrono::{Datelike, NaiveDate};
use envgov_dataset::Source;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::published::{ColumnType, DatasetId};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The dataset's id.
pub const ID: DatasetId = DatasetId::CemsHourly;

/// Bumped whenever the rows or the files of a month change for the same inputs, so that
/// every month is written again.
pub const HOURLY_VERSION: u32 = 1;

/// Rows per Parquet row group (as the other datasets' Parquet files).
const ROW_GROUP: usize = 65_536;

/// `datasets/cems-hourly/months/{YYYY-MM}.json`: what a month's files were made from and
/// where they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthState {
    pub version: u32,
    pub month: String,
    /// The sha256 of the month's inputs ([`inputs_sha256`]).
    pub inputs_sha256: String,
    /// The CSV file, then the Parquet file.
    pub files: Vec<StoredFile>,
    /// The files made before from other inputs, the latest first (at most [`EARLIER_KEPT`]):
    /// a re-run of an older night lists its month's files again instead of writing them.
    #[serde(default)]
    pub earlier: Vec<EarlierFiles>,
}

/// `runs/{date}/cems-hourly.json`: the archive folder this run of the night wrote months
/// into, if any, and which (for the run report's archive revisions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunWritten {
    pub folder: Option<String>,
    pub months: Vec<String>,
}

/// The archive folder the last run of `run`'s night wrote months into, if any.
pub fn written_folder(store: &dyn Store, run: &str) -> Result<Option<String>, JobError> {
    let key = layout::hourly_run_key(run).map_err(definition)?;
    Ok(get_json::<RunWritten>(store, &key)?.and_then(|w| w.folder))
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

impl MonthState {
    /// The state whose current files are `files` (made from `inputs_sha256`), remembering
    /// `previous`'s current files and its earlier ones (but `inputs_sha256`'s).
    fn after(
        previous: Option<MonthState>,
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
            version: HOURLY_VERSION,
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

fn polars(what: &str) -> impl FnOnce(PolarsError) -> JobError + '_ {
    move |source| JobError::Polars {
        what: what.to_string(),
        source,
    }
}

/// The published columns, in order, as the pipeline's kinds.
pub fn schema() -> Vec<(String, Kind)> {
    ID.shape()
        .iter()
        .map(|(n, t)| {
            let kind = match t {
                ColumnType::Str => Kind::Str,
                ColumnType::Number => Kind::F64,
                ColumnType::Integer => Kind::I64,
                ColumnType::Boolean => Kind::Bool,
            };
            (n.to_string(), kind)
        })
        .collect()
}

/// The sha256 of what a month's files are made from: this module's version, the month, the
/// limits in force in it, and each day's date and validated partition sha256, in order.
pub fn inputs_sha256(month: &str, limits_sha256: &str, days: &[(NaiveDate, String)]) -> String {
    let mut text = format!("cems-hourly v{HOURLY_VERSION}\n{month}\nlimits {limits_sha256}\n");
    for (d, sha) in days {
        text.push_str(&format!("{d} {sha}\n"));
    }
    crate::ledger::sha256_hex(text.as_bytes())
}

/// The hourly limit and whether it is illustrative, by standard and pollutant, from the
/// limits in force in a month ([`crate::aggregate::limits_table`]).
type HourlyLimits = HashMap<(String, String), Limit>;

/// An hourly limit and whether it is illustrative (both `None` where there is none).
type Limit = (Option<f64>, Option<bool>);

fn hourly_limits(limits: &Table) -> HourlyLimits {
    let period = limits.str_column("period");
    let standard = limits.str_column("standard");
    let pollutant = limits.str_column("pollutant");
    let limit = limits.f64_column("limit");
    let illustrative = match limits.column("limit_illustrative") {
        Some(crate::table::Values::Bool(v)) => v.clone(),
        _ => vec![None; limits.rows()],
    };
    (0..limits.rows())
        .filter(|&i| period[i].as_deref() == Some("hourly"))
        .filter_map(|i| {
            Some((
                (standard[i].clone()?, pollutant[i].clone()?),
                (limit[i], illustrative[i]),
            ))
        })
        .collect()
}

/// One day's hourly rows in the published shape, from its validated partition (`None` when
/// the day has no partition).
pub fn day_rows(
    store: &dyn Store,
    date: NaiveDate,
    limits: &HourlyLimits,
    hashes: &RawHashes,
) -> Result<Option<DataFrame>, JobError> {
    let key = layout::validated_key(Source::Cems, &date.to_string()).map_err(definition)?;
    let Some(bytes) = store.get(&key)? else {
        return Ok(None);
    };
    let day = frame::read_frame_as(&bytes, crate::validate::schema(Source::Cems)).map_err(|e| {
        JobError::Corrupt {
            key: key.clone(),
            message: e.to_string(),
        }
    })?;
    drop(bytes);
    hourly_frame(day, &date.format("%Y-%m").to_string(), limits, hashes).map(Some)
}

/// The hourly rows of a validated partition's frame (the `CN=2061` rows, in partition
/// order), in the published shape.
pub fn hourly_frame(
    day: DataFrame,
    month: &str,
    limits: &HourlyLimits,
    hashes: &RawHashes,
) -> Result<DataFrame, JobError> {
    let p = polars("hourly values");
    let mask = day
        .column("cn")
        .and_then(|c| c.str().map(|s| s.equal("2061")))
        .map_err(polars("hourly values"))?;
    let mut df = day.filter(&mask).map_err(p)?;
    let (limit, illustrative, exceeds) = limit_columns(&df, limits)?;
    for column in [limit, illustrative, exceeds] {
        df.with_column(column).map_err(polars("hourly values"))?;
    }
    let df = frame::with_const_str(df, "month", month).map_err(polars("hourly values"))?;
    let df = hashes.add_to_frame(df, "raw_line")?;
    let names: Vec<String> = schema().into_iter().map(|(n, _)| n).collect();
    df.select(names)
        .and_then(frame::publishable)
        .map_err(polars("hourly values"))
}

/// `hourly_limit`, `limit_illustrative` and `exceeds_hourly_limit` of each row: the limit
/// of its standard and pollutant; over it when valid and its value is above it, not over
/// when not valid, unknown (null) when there is no hourly limit.
fn limit_columns(
    df: &DataFrame,
    limits: &HourlyLimits,
) -> Result<(Column, Column, Column), JobError> {
    let p = || polars("hourly limits");
    let standard = df
        .column("standard")
        .and_then(|c| c.str().cloned())
        .map_err(p())?;
    let pollutant = df
        .column("pollutant")
        .and_then(|c| c.str().cloned())
        .map_err(p())?;
    let valid = df
        .column("valid")
        .and_then(|c| c.bool().cloned())
        .map_err(p())?;
    let value = df
        .column("value")
        .and_then(|c| c.f64().cloned())
        .map_err(p())?;
    let mut last: Option<((&str, &str), Limit)> = None;
    let (mut limit, mut illustrative, mut exceeds) = (Vec::new(), Vec::new(), Vec::new());
    for (((s, p), valid), value) in standard
        .iter()
        .zip(pollutant.iter())
        .zip(valid.iter())
        .zip(value.iter())
    {
        let found = match (s, p, last) {
            (Some(s), Some(p), Some((k, found))) if k == (s, p) => found,
            (Some(s), Some(p), _) => {
                let found = limits
                    .get(&(s.to_string(), p.to_string()))
                    .copied()
                    .unwrap_or((None, None));
                last = Some(((s, p), found));
                found
            }
            _ => (None, None),
        };
        limit.push(found.0);
        illustrative.push(found.1);
        exceeds.push(
            found
                .0
                .map(|l| valid == Some(true) && value.is_some_and(|v| v > l)),
        );
    }
    Ok((
        Column::new("hourly_limit".into(), limit),
        Column::new("limit_illustrative".into(), illustrative),
        Column::new("exceeds_hourly_limit".into(), exceeds),
    ))
}

/// The polars schema of the published columns (for the Parquet writer of a month).
fn polars_schema() -> Schema {
    schema()
        .into_iter()
        .map(|(n, k)| {
            let dtype = match k {
                Kind::Str => DataType::String,
                Kind::F64 => DataType::Float64,
                Kind::I64 => DataType::Int64,
                Kind::Bool => DataType::Boolean,
            };
            Field::new(n.into(), dtype)
        })
        .collect()
}

/// A month's two files: the gzip-compressed CSV and the Parquet, and their rows.
pub struct MonthFiles {
    pub csv_gz: Vec<u8>,
    pub parquet: Vec<u8>,
    pub rows: u64,
}

/// Gzip (no file name, no time: the same bytes give the same member) of what `write` writes.
fn gzip(write: impl FnOnce(&mut Vec<u8>) -> Result<(), String>) -> Result<Vec<u8>, JobError> {
    let mut plain = Vec::new();
    write(&mut plain).map_err(JobError::Definition)?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &plain)
        .and_then(|()| gz.finish())
        .map_err(|e| JobError::Definition(format!("gzip: {e}")))
}

/// One day's CSV rows (no BOM, no header) as a gzip member. A month's CSV file is the member
/// of the BOM and header, then its days' members in date order: RFC 1952 lets a gzip file
/// hold several members, which every reader decompresses as one stream. A day's member is
/// kept with its partials, so a night encodes the CSV of the days that changed only.
pub fn csv_member(rows: &DataFrame) -> Result<Vec<u8>, JobError> {
    gzip(|out| crate::publish::write_csv_records(out, |sink| sink(rows)))
}

/// A day of a month: its rows (for the Parquet file) and its CSV member ([`csv_member`]).
pub struct MonthDay {
    pub rows: DataFrame,
    pub csv_member: Vec<u8>,
}

/// Writes a month's files from the days `days` gives (one at a time, in date order),
/// holding one day's frame at a time.
pub fn write_month(
    mut days: impl FnMut(&mut dyn FnMut(MonthDay) -> Result<(), JobError>) -> Result<(), JobError>,
) -> Result<MonthFiles, JobError> {
    let names: Vec<String> = schema().into_iter().map(|(n, _)| n).collect();
    let mut csv_gz = gzip(|out| crate::publish::write_csv_head(out, &names))?;
    let mut parquet = Vec::new();
    let mut rows = 0u64;
    let t = std::time::Instant::now();
    {
        let mut writer = ParquetWriter::new(&mut parquet)
            .with_compression(ParquetCompression::Zstd(None))
            .set_parallel(false)
            .batched(&polars_schema())
            .map_err(polars("hourly Parquet"))?;
        days(&mut |day: MonthDay| {
            rows += day.rows.height() as u64;
            let mut offset = 0;
            while offset < day.rows.height() {
                let part = day.rows.slice(offset as i64, ROW_GROUP);
                writer
                    .write_batch(&part)
                    .map_err(polars("hourly Parquet"))?;
                offset += ROW_GROUP;
            }
            csv_gz.extend_from_slice(&day.csv_member);
            Ok(())
        })?;
        writer.finish().map_err(polars("hourly Parquet"))?;
    }
    tracing::debug!(
        rows,
        seconds = t.elapsed().as_secs_f64(),
        "cems-hourly: a month's files encoded"
    );
    Ok(MonthFiles {
        csv_gz,
        parquet,
        rows,
    })
}

/// The archive folder a night writes its months into: the first revision of `run`'s
/// archive that has no `datapackage.json` yet (an archive folder is complete, and never
/// written again, once its data package is there).
fn archive_folder(store: &dyn Store, run: &str) -> Result<String, JobError> {
    for revision in 1.. {
        let prefix =
            layout::archive_revision_prefix(ID.as_str(), run, revision).map_err(definition)?;
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

/// `partials/cems/date={date}/hourly.json`: what a day's cached CSV member
/// (`hourly.csv.gz` beside it) was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberManifest {
    version: u32,
    partition_sha256: String,
    limits_sha256: String,
    member_sha256: String,
    rows: u64,
}

const MEMBER_FILE: &str = "hourly.csv.gz";
const MEMBER_MANIFEST: &str = "hourly.json";

/// A day's CSV member: the cached one when it was made from the same partition and limits,
/// else encoded from `rows` and cached.
fn day_member(
    store: &dyn Store,
    date: NaiveDate,
    made_from: (&str, &str),
    rows: &DataFrame,
) -> Result<Vec<u8>, JobError> {
    let key = |file| layout::partial_key(Source::Cems, &date.to_string(), file).map_err(definition);
    let (member_key, manifest_key) = (key(MEMBER_FILE)?, key(MEMBER_MANIFEST)?);
    let (partition_sha256, limits_sha256) = made_from;
    if let Some(m) = get_json::<MemberManifest>(store, &manifest_key)?
        && m.version == HOURLY_VERSION
        && m.partition_sha256 == partition_sha256
        && m.limits_sha256 == limits_sha256
        && m.rows == rows.height() as u64
        && let Some(bytes) = store.get(&member_key)?
        && crate::ledger::sha256_hex(&bytes) == m.member_sha256
    {
        return Ok(bytes);
    }
    let member = csv_member(rows)?;
    let member_sha256 = crate::ledger::sha256_hex(&member);
    store.put_with_hash(&member_key, &member, &member_sha256)?;
    let manifest = MemberManifest {
        version: HOURLY_VERSION,
        partition_sha256: partition_sha256.to_string(),
        limits_sha256: limits_sha256.to_string(),
        member_sha256,
        rows: rows.height() as u64,
    };
    put_json(store, &manifest_key, &manifest)?;
    Ok(member)
}

/// The inputs of a month: its days with their partitions' sha256, the limits in force in
/// it and their sha256.
struct MonthInputs<'a> {
    days: &'a [(NaiveDate, String)],
    limits: &'a HourlyLimits,
    limits_sha256: &'a str,
}

/// Writes a month's files from its days' partitions (and the days' cached CSV members) and
/// stores them in the archive folder `folder`.
fn write_and_store(
    store: &dyn Store,
    month: &str,
    inputs: &MonthInputs<'_>,
    hashes: &RawHashes,
    folder: &str,
) -> Result<Vec<StoredFile>, JobError> {
    let files = write_month(|emit| {
        for (d, partition_sha256) in inputs.days {
            if let Some(rows) = day_rows(store, *d, inputs.limits, hashes)? {
                let made_from = (partition_sha256.as_str(), inputs.limits_sha256);
                let csv_member = day_member(store, *d, made_from, &rows)?;
                emit(MonthDay { rows, csv_member })?;
            }
        }
        Ok(())
    })?;
    let mut stored = Vec::with_capacity(2);
    for (format, bytes) in [
        (Format::Csv, files.csv_gz),
        (Format::Parquet, files.parquet),
    ] {
        let name = layout::monthly_file_name(ID.as_str(), month, format).map_err(definition)?;
        let sha256 = crate::ledger::sha256_hex(&bytes);
        let key = format!("{folder}{name}");
        create_once(store, &key, &bytes, &sha256)?;
        stored.push(StoredFile {
            name,
            format: format.extension().to_string(),
            compression: (format == Format::Csv).then(|| "gz".to_string()),
            sha256,
            bytes: bytes.len() as u64,
            rows: files.rows,
            key,
        });
    }
    Ok(stored)
}

/// Brings every month of the year up to `run` up to date: writes the files of the months
/// whose inputs changed (into `run`'s archive) and their states; gives how many it wrote.
pub fn update_months(
    store: &dyn Store,
    curated: &envgov_curated::Curated,
    year: &[NaiveDate],
    run: NaiveDate,
) -> Result<usize, JobError> {
    let inputs = Inputs::new(curated)?;
    let hashes = RawHashes::load(store)?;
    let mut months: BTreeMap<String, Vec<(NaiveDate, String)>> = BTreeMap::new();
    for d in year.iter().filter(|d| **d <= run) {
        if let Some(sha) = partition_sha256(store, &d.to_string())? {
            months
                .entry(d.format("%Y-%m").to_string())
                .or_default()
                .push((*d, sha));
        }
    }
    // The months whose inputs changed are written into one archive folder of the night;
    // its data package (listing them) and then their states are written last, so that a
    // night stopped half-way writes them again.
    let mut folder: Option<String> = None;
    let (mut states, mut relisted) = (Vec::new(), Vec::new());
    for (month, days) in &months {
        let Some((first, _)) = days.first() else {
            continue;
        };
        let (limits, limits_sha) = inputs.limits(first.month())?;
        let fingerprint = inputs_sha256(month, limits_sha, days);
        let state_key = layout::month_state_key(ID.as_str(), month).map_err(definition)?;
        let previous =
            get_json::<MonthState>(store, &state_key)?.filter(|s| s.version == HOURLY_VERSION);
        if let Some(p) = &previous
            && p.inputs_sha256 == fingerprint
            && files_in_place(store, &p.files)?
        {
            continue;
        }
        // Made before from the same inputs (a re-run of an older night): listed again.
        if let Some(p) = &previous
            && let Some(e) = p.earlier.iter().find(|e| e.inputs_sha256 == fingerprint)
            && files_in_place(store, &e.files)?
        {
            let files = e.files.clone();
            relisted.push((
                state_key,
                MonthState::after(previous, month, fingerprint, files),
            ));
            continue;
        }
        let folder = match &folder {
            Some(f) => f.clone(),
            None => folder
                .insert(archive_folder(store, &run.to_string())?)
                .clone(),
        };
        let t = std::time::Instant::now();
        let limits = hourly_limits(limits);
        let inputs = MonthInputs {
            days,
            limits: &limits,
            limits_sha256: limits_sha,
        };
        let files = write_and_store(store, month, &inputs, &hashes, &folder)?;
        let rows = files.first().map_or(0, |f| f.rows);
        tracing::info!(month = %month, days = days.len(), rows, seconds = t.elapsed().as_secs_f64(), "cems-hourly: month written");
        states.push((
            state_key,
            MonthState::after(previous, month, fingerprint, files),
        ));
    }
    if let Some(folder) = &folder {
        let def = curated
            .datasets
            .dataset
            .iter()
            .find(|d| d.id == ID.as_str())
            .ok_or_else(|| definition("cems-hourly has no entry in data/datasets.toml"))?;
        let written = StoredDataset {
            schema: schema(),
            files: states.iter().flat_map(|(_, s)| s.files.clone()).collect(),
            archives: vec![run.to_string()],
        };
        let package = crate::publish::stored_package(
            def,
            &written,
            &curated.datasets.field,
            &run.to_string(),
        )
        .map_err(JobError::Definition)?;
        let mut bytes = serde_json::to_vec_pretty(&package).map_err(definition)?;
        bytes.push(b'\n');
        let sha = crate::ledger::sha256_hex(&bytes);
        create_once(store, &format!("{folder}{PACKAGE}"), &bytes, &sha)?;
    }
    for (key, state) in states.iter().chain(&relisted) {
        put_json(store, key, state)?;
    }
    let written = RunWritten {
        folder: folder.clone(),
        months: states.iter().map(|(_, s)| s.month.clone()).collect(),
    };
    let run_key = layout::hourly_run_key(&run.to_string()).map_err(definition)?;
    put_json(store, &run_key, &written)?;
    tracing::info!(
        months = months.len(),
        written = states.len(),
        "cems-hourly: months up to date"
    );
    Ok(states.len())
}

/// The months of `run`'s year up to its month, as their states list them: every month's
/// files, ready to publish ([`update_months`] brought them up to date for `run`).
pub fn stored_months(store: &dyn Store, run: &str) -> Result<StoredDataset, JobError> {
    let run_month = layout::check_date(run)
        .map_err(definition)?
        .get(..7)
        .unwrap_or_default();
    let prefix = layout::month_states_prefix(ID.as_str()).map_err(definition)?;
    let mut months: Vec<String> = store
        .list(&prefix)?
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix(".json"))
        .filter(|m| layout::check_month(m).is_ok())
        .filter(|m| m.get(..4) == run_month.get(..4) && *m <= run_month)
        .map(str::to_string)
        .collect();
    months.sort();
    let root = layout::archive_root(ID.as_str()).map_err(definition)?;
    let (mut files, mut archives) = (Vec::new(), Vec::new());
    for month in &months {
        let key = layout::month_state_key(ID.as_str(), month).map_err(definition)?;
        let Some(state) = get_json::<MonthState>(store, &key)? else {
            continue;
        };
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
        schema: schema(),
        files,
        archives,
    })
}

/// Streams the hourly rows of the units `usccs` (rows of `cems-hourly`, in its published
/// shape) from the validated partitions of `dates`, one day at a time in date order:
/// `emit(date, rows)` for each day with rows of those units. One partition frame is held
/// at a time. For the per-unit evidence bundles (give a chunk of units to read each
/// partition once per chunk).
pub fn units_rows(
    store: &dyn Store,
    curated: &envgov_curated::Curated,
    dates: &[NaiveDate],
    usccs: &std::collections::BTreeSet<String>,
    mut emit: impl FnMut(NaiveDate, DataFrame) -> Result<(), JobError>,
) -> Result<(), JobError> {
    let inputs = Inputs::new(curated)?;
    let hashes = RawHashes::load(store)?;
    let mut limits: BTreeMap<u32, HourlyLimits> = BTreeMap::new();
    for d in dates {
        let month = match limits.entry(d.month()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(hourly_limits(inputs.limits(d.month())?.0))
            }
        };
        let Some(day) = day_rows(store, *d, month, &hashes)? else {
            continue;
        };
        let mask: BooleanChunked = day
            .column("uscc")
            .and_then(|c| c.str().cloned())
            .map_err(polars("hourly rows of units"))?
            .iter()
            .map(|u| u.is_some_and(|u| usccs.contains(u)))
            .collect();
        let rows = day.filter(&mask).map_err(polars("hourly rows of units"))?;
        drop(day);
        if rows.height() > 0 {
            emit(*d, rows)?;
        }
    }
    Ok(())
}

/// [`units_rows`] of one unit.
pub fn unit_rows(
    store: &dyn Store,
    curated: &envgov_curated::Curated,
    dates: &[NaiveDate],
    uscc: &str,
    emit: impl FnMut(NaiveDate, DataFrame) -> Result<(), JobError>,
) -> Result<(), JobError> {
    let one = std::iter::once(uscc.to_string()).collect();
    units_rows(store, curated, dates, &one, emit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;

    const KEY: &str = "raw/cems/2026-01-05/cems-110105.hj212";
    /// sha256 of the bytes "a" (`printf a | sha256sum`), standing in for the raw file's.
    const SHA: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

    /// A validated partition of five rows: four hourly (CN=2061) and one daily (CN=2031).
    fn partition() -> Table {
        let mut t = Table::new(crate::validate::schema(Source::Cems));
        // (cn, hour, pollutant, value, flag, valid, excluded_reason, line)
        let rows = [
            ("2061", Some(1), "a21002", Some(31.5), "N", true, None, 1),
            ("2061", Some(2), "a21002", Some(30.0), "N", true, None, 2),
            (
                "2061",
                Some(3),
                "a21002",
                None,
                "D",
                false,
                Some("flag_D"),
                3,
            ),
            ("2031", None, "a21002", Some(25.0), "N", true, None, 4),
            ("2061", Some(4), "a01012", Some(120.0), "N", true, None, 5),
        ];
        for (cn, hour, pollutant, value, flag, valid, reason, line) in rows {
            let hour: Option<i64> = hour;
            t.push(vec![
                "91110105MA01ABCD5F".into(),
                "91110105MA01ABCD5F001P".into(),
                "110105".into(),
                "4430".into(),
                "DA001".into(),
                "91110105MA01ABCD5F001P-DA001".into(),
                "MN1".into(),
                "DB11-139-2015".into(),
                cn.into(),
                "2026-01-05".into(),
                Cell::from(hour),
                hour.map_or("2026-01-05T00:00:00+08:00".to_string(), |h| {
                    format!("2026-01-05T{h:02}:00:00+08:00")
                })
                .into(),
                pollutant.into(),
                Cell::from(value),
                Cell::from(value),
                Cell::F64(None),
                Cell::F64(None),
                Cell::F64(None),
                flag.into(),
                valid.into(),
                (!valid).into(),
                Cell::from(reason.map(str::to_string)),
                Cell::from(value.filter(|_| valid)),
                KEY.into(),
                Cell::from(line as i64),
            ]);
        }
        t
    }

    fn hourly() -> Table {
        let curated = envgov_curated::Curated::load().unwrap();
        let limits = hourly_limits(&crate::aggregate::limits_table(&curated, 1));
        let hashes = RawHashes::from_pairs([(KEY, SHA)]);
        let day = frame::to_frame(&partition()).unwrap();
        frame::from_frame(&hourly_frame(day, "2026-01", &limits, &hashes).unwrap()).unwrap()
    }

    #[test]
    fn hourly_rows_carry_the_limit_of_their_month_and_their_provenance() {
        let t = hourly();
        assert_eq!(t.schema(), schema());
        // The daily row (line 4) is no hourly value; the others keep their order.
        assert_eq!(
            t.i64_column("raw_line"),
            &[Some(1), Some(2), Some(3), Some(5)]
        );
        assert_eq!(
            t.str_column("raw_sha256"),
            &vec![Some(SHA.to_string()); 4][..]
        );
        assert_eq!(
            t.str_column("month"),
            &vec![Some("2026-01".to_string()); 4][..]
        );
        // DB11/139-2015 sets 30 mg/m3 for NOx (a21002) over an hour, marked illustrative
        // (confidence M); the flue gas temperature (a01012) is a parameter with no limit.
        assert_eq!(
            t.f64_column("hourly_limit"),
            &[Some(30.0), Some(30.0), Some(30.0), None]
        );
        let bools = |name| match t.column(name) {
            Some(crate::table::Values::Bool(v)) => v.clone(),
            _ => panic!("{name} is not boolean"),
        };
        assert_eq!(
            bools("limit_illustrative"),
            [Some(true), Some(true), Some(true), None]
        );
        // 31.5 > 30 exceeds; 30 is not above 30; a flagged hour is not valid, so it
        // exceeds nothing; with no limit, whether it exceeds is unknown.
        assert_eq!(
            bools("exceeds_hourly_limit"),
            [Some(true), Some(false), Some(false), None]
        );
        assert_eq!(
            t.str_column("excluded_reason")[2].as_deref(),
            Some("flag_D")
        );
    }

    #[test]
    fn a_month_is_written_as_gzip_csv_with_bom_and_parquet_of_the_same_rows() {
        let day = || {
            let rows = frame::publishable(frame::to_frame(&hourly()).unwrap()).unwrap();
            let csv_member = csv_member(&rows).unwrap();
            MonthDay { rows, csv_member }
        };
        let files = write_month(|emit| {
            emit(day())?;
            emit(day())
        })
        .unwrap();
        assert_eq!(files.rows, 8);
        let mut csv = Vec::new();
        std::io::Read::read_to_end(
            // The head's member, then a member a day: read as one stream.
            &mut flate2::read::MultiGzDecoder::new(files.csv_gz.as_slice()),
            &mut csv,
        )
        .unwrap();
        let text = String::from_utf8(csv).unwrap();
        let names: Vec<String> = schema().into_iter().map(|(n, _)| n).collect();
        assert!(text.starts_with(&format!("\u{feff}{}\r\n", names.join(","))));
        // A header and 8 rows, each ended by CRLF; the first row as the CSV writer writes
        // it (empty cells for nulls, numbers in shortest form).
        assert_eq!(text.matches("\r\n").count(), 9);
        let first = text.split("\r\n").nth(1).unwrap();
        assert_eq!(
            first,
            format!(
                "2026-01-05,2026-01,2026-01-05T01:00:00+08:00,1,91110105MA01ABCD5F,\
                 91110105MA01ABCD5F001P,110105,4430,DA001,91110105MA01ABCD5F001P-DA001,MN1,\
                 DB11-139-2015,a21002,31.5,31.5,,,,N,true,,31.5,30,true,true,{KEY},1,{SHA}"
            )
        );
        let parquet = frame::read_parquet(&files.parquet).unwrap();
        assert_eq!(parquet.schema(), schema());
        assert_eq!(parquet.rows(), 8);
        // Same inputs, same bytes (gzip without a time, Parquet without one).
        let again = write_month(|emit| {
            emit(day())?;
            emit(day())
        })
        .unwrap();
        assert_eq!((again.csv_gz, again.parquet), (files.csv_gz, files.parquet));
    }

    #[test]
    fn a_days_csv_member_is_cached_until_its_partition_or_limits_change() {
        let store = crate::store::MemoryStore::new();
        let date = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let rows = frame::publishable(frame::to_frame(&hourly()).unwrap()).unwrap();
        let member_key = layout::partial_key(Source::Cems, "2026-01-05", MEMBER_FILE).unwrap();
        let first = day_member(&store, date, ("p1", "l1"), &rows).unwrap();
        assert_eq!(first, csv_member(&rows).unwrap());
        assert_eq!(store.get(&member_key).unwrap(), Some(first.clone()));
        // Cached: a stand-in stored under the key would be returned only if its sha256 is
        // the one recorded; altered bytes are encoded again.
        store.put(&member_key, b"not a member").unwrap();
        assert_eq!(
            day_member(&store, date, ("p1", "l1"), &rows).unwrap(),
            first
        );
        assert_eq!(store.get(&member_key).unwrap(), Some(first.clone()));
        let manifest_key =
            layout::partial_key(Source::Cems, "2026-01-05", MEMBER_MANIFEST).unwrap();
        let m: MemberManifest = get_json(&store, &manifest_key).unwrap().unwrap();
        assert_eq!((m.partition_sha256.as_str(), m.rows), ("p1", 4));
        // Another partition, or other limits: encoded again and recorded.
        day_member(&store, date, ("p2", "l1"), &rows).unwrap();
        let m: MemberManifest = get_json(&store, &manifest_key).unwrap().unwrap();
        assert_eq!(m.partition_sha256, "p2");
        day_member(&store, date, ("p2", "l2"), &rows).unwrap();
        let m: MemberManifest = get_json(&store, &manifest_key).unwrap().unwrap();
        assert_eq!(m.limits_sha256, "l2");
    }

    #[test]
    fn the_inputs_fingerprint_changes_with_any_day_or_the_limits() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let days = vec![
            (d("2026-01-01"), "aa".to_string()),
            (d("2026-01-02"), "bb".into()),
        ];
        let base = inputs_sha256("2026-01", "L", &days);
        assert_eq!(base, inputs_sha256("2026-01", "L", &days));
        assert_ne!(base, inputs_sha256("2026-01", "L2", &days));
        let mut changed = days.clone();
        changed[1].1 = "bc".into();
        assert_ne!(base, inputs_sha256("2026-01", "L", &changed));
        assert_ne!(base, inputs_sha256("2026-01", "L", &days[..1]));
    }

    #[test]
    fn a_units_rows_are_its_hourly_rows_day_by_day() {
        let store = crate::store::MemoryStore::new();
        let key = layout::validated_key(Source::Cems, "2026-01-05").unwrap();
        store
            .put(&key, &frame::write_parquet(&partition()).unwrap())
            .unwrap();
        let curated = envgov_curated::Curated::load().unwrap();
        let dates = [
            NaiveDate::from_ymd_opt(2026, 1, 4).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        ];
        let mut got = Vec::new();
        unit_rows(&store, &curated, &dates, "91110105MA01ABCD5F", |d, rows| {
            got.push((
                d,
                frame::from_frame(&rows)
                    .unwrap()
                    .i64_column("raw_line")
                    .to_vec(),
            ));
            Ok(())
        })
        .unwrap();
        // No partition on the 4th; on the 5th the four hourly rows (not the daily one).
        assert_eq!(got, [(dates[1], vec![Some(1), Some(2), Some(3), Some(5)])]);
        let mut none = 0;
        unit_rows(&store, &curated, &dates, "9111010810200001XR", |_, _| {
            none += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(none, 0);
    }
}
