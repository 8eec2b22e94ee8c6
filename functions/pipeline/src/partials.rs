//! Stored partial aggregates: each validated online-monitoring partition (one day) is
//! aggregated once into its daily rows and that day's exceedances, stored under
//! `partials/cems/date={date}/` with a manifest of everything they depend on. A night reuses
//! every partial whose inputs are unchanged and recomputes only the others, so its work grows
//! with the new data, not with the history; a corrected or late partition recomputes its own
//! day only, new limits the days of the months they apply to.
//!
//! Stage: aggregate (the I/O edge around the pure [`crate::aggregate::cems_day`]). Imports no
//! later stage. [`ensure`] is what a fan-out task calls for one partition.

use crate::aggregate::{self, CemsDay};
use crate::error::JobError;
use crate::frame::{read_frame_as, read_frame_columns, write_frame_internal};
use crate::partition::{PartitionManifest, get_json, put_json_pending};
use crate::store::Store;
use crate::table::{Kind, Table, Values};
use chrono::{Datelike, NaiveDate};
use envgov_curated::Curated;
use envgov_dataset::{Source, layout};
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever the daily aggregation ([`aggregate::cems_day`]) or the partials' shape
/// or encoding changes, so that every stored partial is recomputed. 2: the files are LZ4
/// without statistics ([`write_frame_internal`]).
pub const AGGREGATE_VERSION: u32 = 2;

const DAILY_FILE: &str = "daily.parquet";
const EXCEEDANCES_FILE: &str = "exceedances.parquet";
const MANIFEST_FILE: &str = "manifest.json";

/// What a stored partial was computed from, and the hashes of its two files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialManifest {
    pub aggregate_version: u32,
    pub source: Source,
    pub date: String,
    /// The sha256 of the validated partition's bytes the partial was computed from.
    pub partition_sha256: String,
    /// The sha256 of the limits in force in the partition's month and of the parameter list
    /// (see [`Inputs::limits_sha256`]).
    pub limits_sha256: String,
    pub daily_sha256: String,
    pub daily_rows: u64,
    pub exceedances_sha256: String,
    pub exceedances_rows: u64,
}

/// One day's partial aggregates: the daily rows and the day's exceedances.
pub struct DayPartial {
    pub daily: DataFrame,
    pub exceedances: DataFrame,
    /// Whether they were computed now (missing or stale), rather than read back.
    pub computed: bool,
}

/// The curated inputs of the daily aggregation: the process parameters left out of
/// compliance, and the limits in force per month with their fingerprint.
pub struct Inputs {
    parameters: Vec<String>,
    months: BTreeMap<u32, (Table, String)>,
    /// The columns of the daily rows and of the exceedances (those of an empty day).
    daily_schema: Vec<(String, Kind)>,
    exceedances_schema: Vec<(String, Kind)>,
}

impl Inputs {
    pub fn new(curated: &Curated) -> Result<Self, JobError> {
        let parameters: Vec<String> = curated
            .pollutants
            .list
            .iter()
            .filter(|p| p.parameter)
            .map(|p| p.code.clone())
            .collect();
        let months = (1..=12)
            .map(|m| {
                let limits = aggregate::limits_table(curated, m);
                let sha = crate::ledger::sha256_hex(canonical(&limits, &parameters).as_bytes());
                (m, (limits, sha))
            })
            .collect::<BTreeMap<u32, (Table, String)>>();
        let empty = empty_day(&months, &parameters)?;
        Ok(Self {
            daily_schema: crate::frame::from_frame(&empty.daily)
                .map_err(polars)?
                .schema(),
            exceedances_schema: crate::frame::from_frame(&empty.exceedances)
                .map_err(polars)?
                .schema(),
            parameters,
            months,
        })
    }

    /// The aggregates of a day without data: every column, no row.
    pub fn empty_day(&self) -> Result<CemsDay, JobError> {
        empty_day(&self.months, &self.parameters)
    }

    pub fn parameters(&self) -> &[String] {
        &self.parameters
    }

    /// The limits in force in a month and their fingerprint: the sha256 of the limits
    /// table's cells and of the parameter list, in order.
    pub fn limits(&self, month: u32) -> Result<(&Table, &str), JobError> {
        self.months
            .get(&month)
            .map(|(t, s)| (t, s.as_str()))
            .ok_or_else(|| JobError::Definition(format!("no month {month}")))
    }
}

fn polars(source: polars::error::PolarsError) -> JobError {
    JobError::Polars {
        what: "aggregating online monitoring".into(),
        source,
    }
}

fn empty_day(
    months: &BTreeMap<u32, (Table, String)>,
    parameters: &[String],
) -> Result<CemsDay, JobError> {
    let limits = months
        .get(&1)
        .map(|(t, _)| t)
        .ok_or_else(|| JobError::Definition("no limits for January".into()))?;
    let day = crate::frame::empty_frame(crate::validate::schema(Source::Cems)).map_err(polars)?;
    aggregate::cems_day("1970-01-01", day, limits, parameters).map_err(polars)
}

/// A text that changes whenever a cell of the limits or a parameter code changes.
fn canonical(limits: &Table, parameters: &[String]) -> String {
    let mut out = format!("{:?}\n", limits.names);
    for row in 0..limits.rows() {
        for c in &limits.columns {
            let cell = match c {
                Values::Str(v) => format!("{:?}", v.get(row)),
                Values::F64(v) => format!("{:?}", v.get(row)),
                Values::I64(v) => format!("{:?}", v.get(row)),
                Values::Bool(v) => format!("{:?}", v.get(row)),
            };
            out.push_str(&cell);
            out.push('\t');
        }
        out.push('\n');
    }
    out.push_str(&format!("parameters {parameters:?}\n"));
    out
}

fn key(date: &str, file: &str) -> Result<String, JobError> {
    layout::partial_key(Source::Cems, date, file).map_err(|e| JobError::Definition(e.to_string()))
}

/// The fingerprint a fresh partial of the partition must carry, from the partition's
/// manifest (or its stored hash); `None` when the partition does not exist.
pub(crate) fn partition_sha256(store: &dyn Store, date: &str) -> Result<Option<String>, JobError> {
    source_partition_sha256(store, Source::Cems, date)
}

/// The sha256 of a source's validated partition of a date, from the partition's manifest (or
/// its stored hash); `None` when the partition does not exist.
pub(crate) fn source_partition_sha256(
    store: &dyn Store,
    source: Source,
    date: &str,
) -> Result<Option<String>, JobError> {
    let def = |e: layout::BadSegment| JobError::Definition(e.to_string());
    let manifest_key = layout::validated_manifest_key(source, date).map_err(def)?;
    let recorded =
        get_json::<PartitionManifest>(store, &manifest_key)?.and_then(|m| m.partition_sha256);
    match recorded {
        Some(sha) => Ok(Some(sha)),
        None => Ok(store.stored_hash(&layout::validated_key(source, date).map_err(def)?)?),
    }
}

/// The sha256 of a day's stored daily rows (the partial's `daily.parquet`), computing the
/// partial first when it is missing or stale; `None` when the day has no partition.
pub fn daily_sha256(
    store: &dyn Store,
    inputs: &Inputs,
    date: NaiveDate,
) -> Result<Option<String>, JobError> {
    let Some(sha) = partition_sha256(store, &date.to_string())? else {
        return Ok(None);
    };
    if let Some(m) = fresh_manifest(store, inputs, date, &sha)? {
        return Ok(Some(m.daily_sha256));
    }
    day(store, inputs, date)?;
    Ok(fresh_manifest(store, inputs, date, &sha)?.map(|m| m.daily_sha256))
}

/// The columns of a validated partition that the daily aggregation reads, straight into a
/// polars frame (schema checked, no [`Table`] in between), with the sha256 of the bytes it
/// was read from; `Ok(None)` when it does not exist.
fn read_partition_frame(
    store: &dyn Store,
    source: Source,
    date: &str,
) -> Result<Option<(DataFrame, String)>, JobError> {
    let key =
        layout::validated_key(source, date).map_err(|e| JobError::Definition(e.to_string()))?;
    let Some(bytes) = store.get(&key)? else {
        return Ok(None);
    };
    let schema = crate::validate::schema(source);
    let frame = read_frame_columns(&bytes, schema, &aggregate::CEMS_DAY_INPUT).map_err(|e| {
        JobError::Corrupt {
            key,
            message: e.to_string(),
        }
    })?;
    Ok(Some((frame, crate::ledger::sha256_hex(&bytes))))
}

/// The stored manifest when it matches the partition and the limits, else `None`.
fn fresh_manifest(
    store: &dyn Store,
    inputs: &Inputs,
    date: NaiveDate,
    partition: &str,
) -> Result<Option<PartialManifest>, JobError> {
    let d = date.to_string();
    let (_, limits_sha256) = inputs.limits(date.month())?;
    let stored = match get_json::<PartialManifest>(store, &key(&d, MANIFEST_FILE)?) {
        Ok(m) => m,
        // An unreadable manifest is a stale partial: recompute it.
        Err(JobError::Corrupt { .. }) => None,
        Err(e) => return Err(e),
    };
    Ok(stored.filter(|m| {
        m.aggregate_version == AGGREGATE_VERSION
            && m.source == Source::Cems
            && m.date == d
            && m.partition_sha256 == partition
            && m.limits_sha256 == limits_sha256
    }))
}

/// Reads a stored partial file back, `None` when it is missing or its bytes are not the
/// ones its manifest recorded.
fn read_file(
    store: &dyn Store,
    key: &str,
    sha256: &str,
    schema: &[(String, Kind)],
) -> Result<Option<DataFrame>, JobError> {
    let Some(bytes) = store.get(key)? else {
        return Ok(None);
    };
    if crate::ledger::sha256_hex(&bytes) != sha256 {
        return Ok(None);
    }
    let schema: Vec<(&str, Kind)> = schema.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    read_frame_as(&bytes, &schema)
        .map(Some)
        .map_err(|e| JobError::Corrupt {
            key: key.to_string(),
            message: e.to_string(),
        })
}

/// The stored partial of a day when it is fresh (see [`fresh_manifest`]) and intact.
fn read_stored(
    store: &dyn Store,
    inputs: &Inputs,
    date: NaiveDate,
    partition: &str,
) -> Result<Option<CemsDay>, JobError> {
    let Some(m) = fresh_manifest(store, inputs, date, partition)? else {
        return Ok(None);
    };
    let d = date.to_string();
    let daily_key = key(&d, DAILY_FILE)?;
    let Some(daily) = read_file(store, &daily_key, &m.daily_sha256, &inputs.daily_schema)? else {
        return Ok(None);
    };
    let Some(exceedances) = read_file(
        store,
        &key(&d, EXCEEDANCES_FILE)?,
        &m.exceedances_sha256,
        &inputs.exceedances_schema,
    )?
    else {
        return Ok(None);
    };
    Ok(Some(CemsDay { daily, exceedances }))
}

/// Computes a day's partial from its partition and stores it (files first, manifest last).
fn compute(
    store: &dyn Store,
    inputs: &Inputs,
    date: NaiveDate,
    frame: DataFrame,
    partition_sha256: String,
) -> Result<CemsDay, JobError> {
    let d = date.to_string();
    let (limits, limits_sha256) = inputs.limits(date.month())?;
    let polars = |what: &str| {
        let what = format!("{what} {d}");
        move |source| JobError::Polars { what, source }
    };
    let started = std::time::Instant::now();
    let day = aggregate::cems_day(&d, frame, limits, inputs.parameters())
        .map_err(polars("aggregating online monitoring"))?;
    let aggregated = started.elapsed();
    let daily = write_frame_internal(&day.daily).map_err(polars("writing the daily partial"))?;
    let exceedances = write_frame_internal(&day.exceedances)
        .map_err(polars("writing the exceedances partial"))?;
    let manifest = PartialManifest {
        aggregate_version: AGGREGATE_VERSION,
        source: Source::Cems,
        date: d.clone(),
        partition_sha256,
        limits_sha256: limits_sha256.to_string(),
        daily_sha256: crate::ledger::sha256_hex(&daily),
        daily_rows: day.daily.height() as u64,
        exceedances_sha256: crate::ledger::sha256_hex(&exceedances),
        exceedances_rows: day.exceedances.height() as u64,
    };
    // Written pending (durable at the caller's next `Store::sync`, one for all the days it
    // computed): a partial is a cache of its partition, and a reader trusts it only when
    // both files have the hashes its manifest records ([`read_stored`], [`intact`]), so a
    // power cut between these writes leaves at worst a partial that is computed again.
    store.put_pending(&key(&d, DAILY_FILE)?, &daily, &manifest.daily_sha256)?;
    store.put_pending(
        &key(&d, EXCEEDANCES_FILE)?,
        &exceedances,
        &manifest.exceedances_sha256,
    )?;
    put_json_pending(store, &key(&d, MANIFEST_FILE)?, &manifest)?;
    tracing::debug!(date = %d, aggregate_s = aggregated.as_secs_f64(), store_s = (started.elapsed() - aggregated).as_secs_f64(), "partial computed");
    Ok(day)
}

/// A day's partial aggregates of online monitoring: read back when fresh, else computed from
/// the partition and stored (pending: durable at the caller's next `Store::sync`).
/// `Ok(None)` when the day has no validated partition.
pub fn day(
    store: &dyn Store,
    inputs: &Inputs,
    date: NaiveDate,
) -> Result<Option<DayPartial>, JobError> {
    let d = date.to_string();
    if let Some(sha) = partition_sha256(store, &d)?
        && let Some(day) = read_stored(store, inputs, date, &sha)?
    {
        return Ok(Some(DayPartial {
            daily: day.daily,
            exceedances: day.exceedances,
            computed: false,
        }));
    }
    let started = std::time::Instant::now();
    let Some((frame, sha)) = read_partition_frame(store, Source::Cems, &d)? else {
        return Ok(None);
    };
    tracing::debug!(date = %d, read_s = started.elapsed().as_secs_f64(), "partition read");
    let day = compute(store, inputs, date, frame, sha)?;
    Ok(Some(DayPartial {
        daily: day.daily,
        exceedances: day.exceedances,
        computed: true,
    }))
}

/// Computes and stores the partial aggregates of one partition when they are missing or
/// stale (the partition, the limits in force in its month, the parameter list or
/// [`AGGREGATE_VERSION`] changed); returns whether it computed. `Ok(false)` for sources
/// without partials and when the partition does not exist. A fan-out task calls this for
/// its partition; the night then only reads the partials back.
pub fn ensure(
    store: &dyn Store,
    curated: &Curated,
    source: Source,
    date: NaiveDate,
) -> Result<bool, JobError> {
    if source != Source::Cems {
        return Ok(false);
    }
    let inputs = Inputs::new(curated)?;
    let d = date.to_string();
    let Some(sha) = partition_sha256(store, &d)? else {
        return Ok(false);
    };
    if let Some(m) = fresh_manifest(store, &inputs, date, &sha)?
        && intact(store, &d, &m)?
    {
        return Ok(false);
    }
    let Some((frame, sha)) = read_partition_frame(store, Source::Cems, &d)? else {
        return Ok(false);
    };
    compute(store, &inputs, date, frame, sha)?;
    store.sync()?;
    Ok(true)
}

/// Whether both files of a partial still have the hashes its manifest recorded.
fn intact(store: &dyn Store, date: &str, m: &PartialManifest) -> Result<bool, JobError> {
    Ok(
        store.stored_hash(&key(date, DAILY_FILE)?)?.as_deref() == Some(m.daily_sha256.as_str())
            && store.stored_hash(&key(date, EXCEEDANCES_FILE)?)?.as_deref()
                == Some(m.exceedances_sha256.as_str()),
    )
}
