//! The hourly readings dataset, `cems-hourly`: every accepted hourly value (HJ 212
//! `CN=2061` rows of the validated online-monitoring partitions) with its flag, validity and
//! exclusion reason, the hourly limit in force in its month (winter limits where they apply,
//! as the daily aggregation uses them: [`crate::aggregate::limits_table`]) and whether the
//! value exceeds it, and its provenance (`raw_key`, `raw_line`, `raw_sha256`).
//!
//! Stage: aggregate and publish (reads validated partitions through the store). Imports no
//! later stage.
//!
//! # Months, written only when they change
//!
//! The dataset is published a file a month and a format ([`crate::monthly`]):
//! `cems-hourly-{YYYY-MM}.parquet` and `cems-hourly-{YYYY-MM}.csv.gz` (UTF-8 with a BOM,
//! formula cells neutralised as in every envgov CSV, gzip-compressed). A month's inputs are
//! its days' validated partitions (their sha256) and the limits in force in it.
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
use crate::month_files::{Encoded, FileKind, MonthDay, csv_member, encode_month};
use crate::monthly::{MonthInputs, Monthly};
use crate::partials::{Inputs, partition_sha256};
use crate::partition::{get_json, put_json};
use crate::provenance::RawHashes;
use crate::store::Store;
use crate::table::{Kind, Table};
use chrono::{Datelike, NaiveDate};
use envgov_dataset::Source;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::published::DatasetId;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The dataset's id.
pub const ID: DatasetId = DatasetId::CemsHourly;

/// Bumped whenever the rows or the files of a month change for the same inputs, so that
/// every month is written again.
pub const HOURLY_VERSION: u32 = 1;

/// The files of a month: the gzip-compressed CSV, then the Parquet.
const KINDS: &[FileKind] = &[
    FileKind {
        format: Format::Csv,
        gzip: true,
    },
    FileKind {
        format: Format::Parquet,
        gzip: false,
    },
];

/// `cems-hourly` as a dataset published a file a month ([`crate::monthly`]).
pub struct Hourly {
    inputs: Inputs,
    hashes: RawHashes,
}

impl Hourly {
    pub fn new(store: &dyn Store, curated: &envgov_curated::Curated) -> Result<Self, JobError> {
        Ok(Hourly {
            inputs: Inputs::new(curated)?,
            hashes: RawHashes::load(store)?,
        })
    }
}

impl Monthly for Hourly {
    fn id(&self) -> DatasetId {
        ID
    }

    fn version(&self) -> u32 {
        HOURLY_VERSION
    }

    fn kinds(&self) -> &'static [FileKind] {
        KINDS
    }

    /// Each month's days with their validated partitions' sha256, and the limits in force.
    fn inputs(
        &self,
        store: &dyn Store,
        year: &[NaiveDate],
    ) -> Result<BTreeMap<String, MonthInputs>, JobError> {
        let mut months: BTreeMap<String, MonthInputs> = BTreeMap::new();
        for d in year {
            if let Some(sha) = partition_sha256(store, &d.to_string())? {
                let month = months.entry(d.format("%Y-%m").to_string()).or_default();
                if month.days.is_empty() {
                    month.other_sha256 = self.inputs.limits(d.month())?.1.to_string();
                }
                month.days.push((*d, sha));
            }
        }
        Ok(months)
    }

    /// Streams the month's days: each partition's hourly rows, with the day's kept CSV member.
    fn encode(
        &self,
        store: &dyn Store,
        _month: &str,
        inputs: &MonthInputs,
    ) -> Result<Encoded, JobError> {
        let Some((first, _)) = inputs.days.first() else {
            return encode_month(ID, KINDS, |_| Ok(()));
        };
        let limits = hourly_limits(self.inputs.limits(first.month())?.0);
        encode_month(ID, KINDS, |emit| {
            for (d, partition_sha256) in &inputs.days {
                if let Some(rows) = day_rows(store, *d, &limits, &self.hashes)? {
                    let made_from = (partition_sha256.as_str(), inputs.other_sha256.as_str());
                    let member = day_member(store, *d, made_from, &rows)?;
                    emit(MonthDay {
                        rows,
                        csv_member: Some(member),
                    })?;
                }
            }
            Ok(())
        })
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
    crate::month_files::schema(ID)
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
            let csv_member = Some(csv_member(&rows).unwrap());
            MonthDay { rows, csv_member }
        };
        let files = encode_month(ID, KINDS, |emit| {
            emit(day())?;
            emit(day())
        })
        .unwrap();
        assert_eq!(files.rows, 8);
        let mut csv = Vec::new();
        std::io::Read::read_to_end(
            // The head's member, then a member a day: read as one stream.
            &mut flate2::read::MultiGzDecoder::new(files.files[0].bytes.as_slice()),
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
        let parquet = frame::read_parquet(&files.files[1].bytes).unwrap();
        assert_eq!(parquet.schema(), schema());
        assert_eq!(parquet.rows(), 8);
        // Same inputs, same bytes (gzip without a time, Parquet without one).
        let again = encode_month(ID, KINDS, |emit| {
            emit(day())?;
            emit(day())
        })
        .unwrap();
        assert_eq!(again.files[0].bytes, files.files[0].bytes);
        assert_eq!(again.files[1].bytes, files.files[1].bytes);
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
