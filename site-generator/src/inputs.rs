//! What a build reads and how it is published: [`SiteInputs`] (everything the site is built
//! from besides the curated tables) and [`SiteOptions`].

use crate::content::ContentPage;
use crate::rows;
use crate::urls;
use envgov_dataset::manifest::{Catalogue, DataPackage};
use envgov_dataset::report::RunReport;
use std::collections::BTreeMap;

/// Everything the site is built from, besides the curated tables.
#[derive(Debug, Clone)]
pub struct SiteInputs {
    /// The data date the site shows (`YYYY-MM-DD`): the latest run's date.
    pub data_date: String,
    /// `datasets/catalogue.json`.
    pub catalogue: Catalogue,
    /// Dataset id → `datasets/{id}/datapackage.json`.
    pub packages: BTreeMap<String, DataPackage>,
    /// Dataset id → the rows of `datasets/{id}/{id}.json`, for the tables of
    /// [`crate::rows::TABLES`]. Of `cems-daily` the pages show only the [`crate::RECENT_DAYS`] days up to
    /// the data date, so a caller may pass just those rows (the pipeline does).
    pub tables: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Each unit's own rows of the datasets of [`crate::UNIT_DATASETS`], as CSV cut from the
    /// published dataset by the pipeline.
    pub unit_downloads: UnitDownloads,
    /// Of the datasets of [`crate::UNIT_DATASETS`] published a file a month, each unit's
    /// files of one month each, which the release places at
    /// `envgov_dataset::layout::unit_month_download_path` (the unit page lists them newest
    /// first). Such a dataset has no entry in `unit_downloads`.
    pub unit_months: UnitMonths,
    /// Unit credit code → its evidence bundles, one a month, which the release places at
    /// `envgov_dataset::layout::unit_bundle_path` (the unit page lists them newest first; a
    /// unit without one shows none).
    pub unit_bundles: BTreeMap<String, Vec<BundleLink>>,
    /// Dataset id → the dates of its archive snapshots (`datasets/{id}/archive/{date}/`).
    pub archives: BTreeMap<String, Vec<String>>,
    /// The changelogs of corrections the publication lists (`datasets/{id}/changes/`, the
    /// latest revision of each night's, with its revision number), by night, then dataset.
    pub changelogs: Vec<(u32, envgov_dataset::changelog::Changelog)>,
    /// The markdown pages of `content/`, from [`crate::load_content`].
    pub content: Vec<ContentPage>,
    /// Rows of the same month a year before the data date's month, for the year-on-year
    /// comparisons (empty: no comparison has last year's data).
    pub year_ago: YearAgo,
    /// `runs/{date}/report.json` of the run that published the data, when there is one.
    pub report: Option<RunReport>,
    /// The data is the generated sample (the store holds the generator's ledger,
    /// `runs/sample-defects.json`): every page then says so.
    pub sample: bool,
}

/// How a build is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteOptions {
    /// The origin the site is served from (`https://envgov.example.org`), for the formats
    /// that need absolute URLs: sitemap, robots.txt, feed ids, iCalendar links, citations.
    pub origin: String,
    /// The release is signed with a development key (no key configured): every page says
    /// so, beside a link to the page on verifying downloads.
    pub development_key: bool,
    /// The release holds the in-browser query engine (DuckDB-WASM) under
    /// `envgov_dataset::layout::QUERY_ENGINE_DIR`: the query pages run SQL; without it they
    /// say that this build has no in-browser query.
    pub query_engine: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            origin: urls::DEFAULT_ORIGIN.to_string(),
            development_key: false,
            query_engine: false,
        }
    }
}

/// The datasets a unit's own records are offered from, in the order shown.
pub const UNIT_DATASETS: [&str; 4] = [
    rows::EXCEEDANCES,
    rows::CEMS_DAILY,
    rows::EMISSION_TOTALS,
    rows::SELF_MONITORING,
];

/// A unit's download of one month of a dataset published a file a month, as its page
/// shows it (the file itself is placed by the release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthDownload {
    /// `YYYY-MM`.
    pub month: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Reads a unit's files of a dataset published a file a month: the bytes the release places
/// at `envgov_dataset::layout::unit_month_download_path` (the unit's rows of the published
/// month, under its byte-order mark and header). The caller does the I/O; a build asks for
/// one unit's months at a time and drops them, so no year of every unit's rows is held
/// (see [`crate::build_owned_charting`]).
pub trait MonthFiles: std::fmt::Debug + Send + Sync {
    /// The bytes of each of `months` (the unit's, as listed in [`SiteInputs::unit_months`]),
    /// in the order given.
    fn read(
        &self,
        dataset: &str,
        uscc: &str,
        months: &[MonthDownload],
    ) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>>;
}

/// Dataset id → unit credit code → its month downloads (any order).
pub type UnitMonths = BTreeMap<String, BTreeMap<String, Vec<MonthDownload>>>;

/// A unit's evidence bundle of one month as its page shows it (the zip itself is placed by
/// the release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLink {
    /// `YYYY-MM`.
    pub month: String,
    pub bytes: u64,
    pub sha256: String,
}

/// One unit's rows of one dataset, as CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDownload {
    /// Data rows (the header not counted).
    pub rows: u64,
    pub csv: Vec<u8>,
}

/// Dataset id → unit credit code → that unit's download.
pub type UnitDownloads = BTreeMap<String, BTreeMap<String, UnitDownload>>;

/// The rows of one month a year before the data date's month (`2025-01` for a data date in
/// January 2026), read from each dataset's latest dated archive of that year: the
/// year-on-year comparisons' "same month last year". Only that month's rows, a few per unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearAgo {
    /// `YYYY-MM`.
    pub month: String,
    /// Dataset id → the archive read and its rows of the month. A dataset without an
    /// archive of last year has no entry: its comparisons say there is no data.
    pub tables: BTreeMap<String, YearAgoTable>,
}

/// One dataset's rows of the month a year ago.
#[derive(Debug, Clone, PartialEq)]
pub struct YearAgoTable {
    /// The date of the archive they were read from (`YYYY-MM-DD`).
    pub archive: String,
    /// Its rows of the month (`emission-totals`: `period` is the month; `exceedances`:
    /// `date` in the month; `sewage-compliance`, `msw-treatment`: `month` is the month;
    /// `plan-indicators`: `period` is the year to the same day last year, see
    /// [`YEAR_AGO_SAME_DAY_DATASETS`]).
    pub rows: Vec<crate::rows::RawRow>,
}

/// The datasets whose rows of a month a year ago [`YearAgo`] holds, and the column that
/// places a row in a month (a `YYYY-MM` value, or a date starting with it).
pub const YEAR_AGO_DATASETS: [(&str, &str); 4] = [
    (crate::rows::EMISSION_TOTALS, "period"),
    (crate::rows::EXCEEDANCES, "date"),
    (crate::rows::SEWAGE_COMPLIANCE, "month"),
    (crate::rows::MSW_TREATMENT, "month"),
];

/// The datasets whose rows are of the year to a date (`period` = `YYYY-01-01/YYYY-MM-DD`,
/// the night's date), and that column: [`YearAgo`] holds their rows of the year to the
/// same day last year, read from the archive of that day (the row it published then). A
/// month of last year is not defined for them, so they are compared period for period.
pub const YEAR_AGO_SAME_DAY_DATASETS: [(&str, &str); 1] =
    [(crate::rows::PLAN_INDICATORS, "period")];

/// The same day a year before `data_date` (`YYYY-MM-DD`) and the period of the year to it:
/// `2026-03-15` → (`2025-03-15`, `2025-01-01/2025-03-15`). `None` for a date that is not
/// `YYYY-MM-DD` or is 29 February (last year has no such day: not compared).
pub fn year_to_date_a_year_before(data_date: &str) -> Option<(String, String)> {
    use chrono::Datelike;
    let d = crate::format::parse_date(data_date)?;
    let day = d.with_year(d.year() - 1)?;
    let period = format!("{:04}-01-01/{}", day.year(), day.format("%Y-%m-%d"));
    Some((day.format("%Y-%m-%d").to_string(), period))
}

#[cfg(test)]
mod tests {
    use super::year_to_date_a_year_before;

    #[test]
    fn the_year_to_the_same_day_last_year() {
        let got = |d: &str| year_to_date_a_year_before(d);
        assert_eq!(
            got("2026-03-15"),
            Some(("2025-03-15".into(), "2025-01-01/2025-03-15".into()))
        );
        assert_eq!(
            got("2026-01-31"),
            Some(("2025-01-31".into(), "2025-01-01/2025-01-31".into()))
        );
        // 29 February 2028: 2027 has no such day, so nothing is compared.
        assert_eq!(got("2028-02-29"), None);
        assert_eq!(got("2026-3-15"), None);
        assert_eq!(got("x"), None);
    }
}
