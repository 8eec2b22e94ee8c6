//! The day-level datasets that grow with the year besides `cems-hourly`, published a file a
//! month ([`crate::monthly`]) in the formats of every envgov dataset (CSV, Parquet, JSON):
//!
//! - `cems-daily`: each day's daily rows are its stored partial aggregates
//!   (`partials/cems/date={date}/daily.parquet`, see [`crate::partials`]) with the raw
//!   files' sha256; a month's inputs are its days' daily partials' sha256;
//! - `self-monitoring`: each day's validated partition with its `month` and the raw files'
//!   sha256; a month's inputs are its days' partitions' sha256.
//!
//! A month's rows are its days' rows in date order, as the whole year's were: the files of
//! a month are the rows of that month of the year's table, byte for byte as that table's
//! writers write them ([`crate::month_files`]).
//!
//! Stage: aggregate and publish (reads partials and validated partitions through the store).
//! Imports no later stage.

use crate::error::JobError;
use crate::frame;
use crate::month_files::{Encoded, FileKind, MonthDay, encode_month};
use crate::monthly::{MonthInputs, Monthly};
use crate::partials::{self, Inputs, source_partition_sha256};
use crate::provenance::RawHashes;
use crate::store::Store;
use chrono::NaiveDate;
use envgov_dataset::Source;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::published::DatasetId;
use polars::prelude::DataFrame;
use std::collections::BTreeMap;

/// The files of a month of `cems-daily` and `self-monitoring`: CSV, Parquet, JSON.
const KINDS: &[FileKind] = &[
    FileKind {
        format: Format::Csv,
        gzip: false,
    },
    FileKind {
        format: Format::Parquet,
        gzip: false,
    },
    FileKind {
        format: Format::Json,
        gzip: false,
    },
];

/// Bumped whenever a month's rows or files change for the same inputs.
pub const DAY_DATASETS_VERSION: u32 = 1;

fn polars(what: &str) -> impl FnOnce(polars::error::PolarsError) -> JobError + '_ {
    move |source| JobError::Polars {
        what: what.to_string(),
        source,
    }
}

/// Groups the days that have inputs by month.
fn by_month(
    year: &[NaiveDate],
    mut sha: impl FnMut(NaiveDate) -> Result<Option<String>, JobError>,
) -> Result<BTreeMap<String, MonthInputs>, JobError> {
    let mut months: BTreeMap<String, MonthInputs> = BTreeMap::new();
    for d in year {
        if let Some(sha) = sha(*d)? {
            months
                .entry(d.format("%Y-%m").to_string())
                .or_default()
                .days
                .push((*d, sha));
        }
    }
    Ok(months)
}

/// Streams the days of a month: `rows(date)` of each, in date order.
fn encode_days(
    id: DatasetId,
    inputs: &MonthInputs,
    mut rows: impl FnMut(NaiveDate) -> Result<Option<DataFrame>, JobError>,
) -> Result<Encoded, JobError> {
    encode_month(id, KINDS, |emit| {
        for (d, _) in &inputs.days {
            if let Some(rows) = rows(*d)? {
                emit(MonthDay {
                    rows,
                    csv_member: None,
                })?;
            }
        }
        Ok(())
    })
}

/// `cems-daily`, a file a month.
pub struct CemsDaily {
    inputs: Inputs,
    hashes: RawHashes,
}

impl CemsDaily {
    pub fn new(store: &dyn Store, curated: &envgov_curated::Curated) -> Result<Self, JobError> {
        Ok(CemsDaily {
            inputs: Inputs::new(curated)?,
            hashes: RawHashes::load(store)?,
        })
    }

    /// A day's published rows: its daily partial with the raw files' sha256.
    pub fn day_rows(
        &self,
        store: &dyn Store,
        date: NaiveDate,
    ) -> Result<Option<DataFrame>, JobError> {
        let Some(day) = partials::day(store, &self.inputs, date)? else {
            return Ok(None);
        };
        let daily = frame::publishable(day.daily).map_err(polars("cems-daily rows"))?;
        self.hashes.add_to_frame(daily, "raw_key").map(Some)
    }
}

impl Monthly for CemsDaily {
    fn id(&self) -> DatasetId {
        DatasetId::CemsDaily
    }

    fn version(&self) -> u32 {
        DAY_DATASETS_VERSION
    }

    fn kinds(&self) -> &'static [FileKind] {
        KINDS
    }

    fn inputs(
        &self,
        store: &dyn Store,
        year: &[NaiveDate],
    ) -> Result<BTreeMap<String, MonthInputs>, JobError> {
        by_month(year, |d| partials::daily_sha256(store, &self.inputs, d))
    }

    fn encode(
        &self,
        store: &dyn Store,
        _month: &str,
        inputs: &MonthInputs,
    ) -> Result<Encoded, JobError> {
        encode_days(self.id(), inputs, |d| self.day_rows(store, d))
    }
}

/// `self-monitoring`, a file a month.
pub struct SelfMonitoring {
    hashes: RawHashes,
}

impl SelfMonitoring {
    pub fn new(store: &dyn Store) -> Result<Self, JobError> {
        Ok(SelfMonitoring {
            hashes: RawHashes::load(store)?,
        })
    }

    /// A day's published rows: its validated partition with `month` and the raw files'
    /// sha256.
    pub fn day_rows(
        &self,
        store: &dyn Store,
        date: NaiveDate,
    ) -> Result<Option<DataFrame>, JobError> {
        let source = Source::SelfMonitoring;
        let key = layout::validated_key(source, &date.to_string())
            .map_err(|e| JobError::Definition(e.to_string()))?;
        let Some(bytes) = store.get(&key)? else {
            return Ok(None);
        };
        let day = frame::read_frame_as(&bytes, crate::validate::schema(source)).map_err(|e| {
            JobError::Corrupt {
                key,
                message: e.to_string(),
            }
        })?;
        drop(bytes);
        let day = frame::with_const_str(day, "month", &date.format("%Y-%m").to_string())
            .and_then(frame::publishable)
            .map_err(polars("self-monitoring rows"))?;
        self.hashes.add_to_frame(day, "raw_line").map(Some)
    }
}

impl Monthly for SelfMonitoring {
    fn id(&self) -> DatasetId {
        DatasetId::SelfMonitoring
    }

    fn version(&self) -> u32 {
        DAY_DATASETS_VERSION
    }

    fn kinds(&self) -> &'static [FileKind] {
        KINDS
    }

    fn inputs(
        &self,
        store: &dyn Store,
        year: &[NaiveDate],
    ) -> Result<BTreeMap<String, MonthInputs>, JobError> {
        by_month(year, |d| {
            source_partition_sha256(store, Source::SelfMonitoring, &d.to_string())
        })
    }

    fn encode(
        &self,
        store: &dyn Store,
        _month: &str,
        inputs: &MonthInputs,
    ) -> Result<Encoded, JobError> {
        encode_days(self.id(), inputs, |d| self.day_rows(store, d))
    }
}
