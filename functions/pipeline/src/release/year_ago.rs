//! The rows of the same month last year, for the site's year-on-year comparisons
//! ([`envgov_site::YearAgo`]): of each dataset of [`envgov_site::YEAR_AGO_DATASETS`], its
//! rows of that month in its latest dated archive of last year (the state of last year's
//! data as the last night of that year published it; its latest revision). Of each dataset
//! of [`envgov_site::YEAR_AGO_SAME_DAY_DATASETS`] (rows of the year to the night's date), its
//! rows of the year to the same day last year, from the archive of that day.
//!
//! Stage: release (reads only). Only one month of per-month sums and register rows is kept
//! (a few rows per unit): the year of rows is never held, and nothing is recomputed.

use crate::error::JobError;
use crate::frame::read_parquet;
use crate::publish::to_json;
use crate::store::Store;
use crate::table::Values;
use envgov_dataset::layout::{self, Format};
use envgov_site::{
    YEAR_AGO_DATASETS, YEAR_AGO_SAME_DAY_DATASETS, YearAgo, YearAgoTable,
    year_to_date_a_year_before,
};
use std::collections::BTreeMap;

/// Of `archives` (`YYYY-MM-DD`, any order), the latest of `year`.
pub fn latest_of_year<'a>(archives: &'a [String], year: &str) -> Option<&'a String> {
    archives
        .iter()
        .filter(|d| d.len() == 10 && d.get(..4) == Some(year) && d.as_bytes()[4] == b'-')
        .max()
}

/// Whether a row's `value` of the month column places it in `month` (`YYYY-MM` itself, or a
/// date or time starting with it).
pub fn in_month(value: &str, month: &str) -> bool {
    value == month
        || value
            .strip_prefix(month)
            .is_some_and(|r| r.starts_with('-'))
}

/// The month a year before `data_date`'s (`2026-01-31` → `2025-01`).
fn month_a_year_before(data_date: &str) -> Result<String, JobError> {
    let bad = || JobError::Definition(format!("data date {data_date:?} is not YYYY-MM-DD"));
    let year: i32 = data_date
        .get(..4)
        .ok_or_else(bad)?
        .parse()
        .map_err(|_| bad())?;
    let month = data_date.get(5..7).ok_or_else(bad)?;
    Ok(format!("{:04}-{month}", year - 1))
}

/// The prefix of the latest revision of a dataset's archive on `date`.
fn latest_revision(store: &dyn Store, id: &str, date: &str) -> Result<String, JobError> {
    let base = layout::archive_prefix(id, date).map_err(|e| JobError::Definition(e.to_string()))?;
    let root = layout::archive_root(id).map_err(|e| JobError::Definition(e.to_string()))?;
    let revision = store
        .list(&base)?
        .iter()
        .filter_map(|k| k.strip_prefix(&root).and_then(layout::parse_archive_path))
        .map(|(_, n)| n)
        .max()
        .unwrap_or(1);
    layout::archive_revision_prefix(id, date, revision)
        .map_err(|e| JobError::Definition(e.to_string()))
}

/// One dataset's rows from its archive on `date` (its Parquet file) whose text `column`
/// satisfies `keep`.
fn archived_rows(
    store: &dyn Store,
    id: &str,
    column: &str,
    date: &str,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Option<YearAgoTable>, JobError> {
    let prefix = latest_revision(store, id, date)?;
    let name = layout::dataset_file_name(id, Format::Parquet)
        .map_err(|e| JobError::Definition(e.to_string()))?;
    let key = format!("{prefix}{name}");
    let Some(bytes) = store.get(&key)? else {
        return Ok(None);
    };
    let corrupt = |message: String| JobError::Corrupt {
        key: key.clone(),
        message,
    };
    let table = read_parquet(&bytes).map_err(|e| corrupt(e.to_string()))?;
    // An archive without the column, or with it as something else than text, is an error
    // naming the file and the column (never a panic).
    let Some(Values::Str(values)) = table.column(column) else {
        return Err(corrupt(format!("no text column {column}")));
    };
    let rows = table.filter_rows(|i| values[i].as_deref().is_some_and(keep));
    let rows = serde_json::from_slice(&to_json(&rows)).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(YearAgoTable {
        archive: date.to_string(),
        rows,
    }))
}

/// The same month last year of each dataset of [`YEAR_AGO_DATASETS`], from the archives
/// its publication lists (`archives`: dataset id → dates).
pub fn load(
    store: &dyn Store,
    archives: &BTreeMap<String, Vec<String>>,
    data_date: &str,
) -> Result<YearAgo, JobError> {
    let started = std::time::Instant::now();
    let month = month_a_year_before(data_date)?;
    let year = &month[..4];
    let mut tables = BTreeMap::new();
    for (id, column) in YEAR_AGO_DATASETS {
        let Some(date) = archives.get(id).and_then(|a| latest_of_year(a, year)) else {
            continue;
        };
        if let Some(t) = archived_rows(store, id, column, date, &|v| in_month(v, &month))? {
            tables.insert(id.to_string(), t);
        }
    }
    // Rows of the year to a date: the archive of the same day last year, its rows of the
    // year to that day (a night without an archive, or 29 February: no entry, "no data").
    if let Some((day, period)) = year_to_date_a_year_before(data_date) {
        for (id, column) in YEAR_AGO_SAME_DAY_DATASETS {
            if !archives.get(id).is_some_and(|a| a.contains(&day)) {
                continue;
            }
            if let Some(t) = archived_rows(store, id, column, &day, &|v| v == period)? {
                tables.insert(id.to_string(), t);
            }
        }
    }
    tracing::info!(
        month = %month,
        datasets = tables.len(),
        rows = tables.values().map(|t: &YearAgoTable| t.rows.len()).sum::<usize>(),
        ms = started.elapsed().as_millis() as u64,
        rss_mib = crate::memory::rss_mib(),
        "site inputs: the same month last year read from the archives"
    );
    Ok(YearAgo { month, tables })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::table::{Cell, Kind, Table};

    #[test]
    fn the_latest_archive_of_last_year_is_chosen() {
        let a: Vec<String> = ["2026-01-02", "2025-12-31", "2025-06-30", "2024-12-31", "x"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            latest_of_year(&a, "2025").map(String::as_str),
            Some("2025-12-31")
        );
        assert_eq!(latest_of_year(&a, "2023"), None);
    }

    fn archive(store: &MemoryStore, date: &str, revision: u32, rows: &[(&str, i64)]) {
        let mut t = Table::new(&[("period", Kind::Str), ("n", Kind::I64)]);
        for (period, n) in rows {
            t.push(vec![Cell::from(*period), Cell::I64(Some(*n))]);
        }
        let prefix = layout::archive_revision_prefix("emission-totals", date, revision).unwrap();
        let bytes = crate::frame::write_parquet(&t).unwrap();
        store
            .put(&format!("{prefix}emission-totals.parquet"), &bytes)
            .unwrap();
    }

    #[test]
    fn last_years_month_comes_from_the_latest_revision_of_the_latest_archive() {
        let store = MemoryStore::new();
        archive(&store, "2025-06-30", 1, &[("2025-01", 1), ("2025-06", 2)]);
        archive(&store, "2025-12-31", 1, &[("2025-01", 3), ("2025", 4)]);
        // A re-run of that night whose files differed: revision 2 is the one in force.
        archive(
            &store,
            "2025-12-31",
            2,
            &[("2025-01", 5), ("2025-02", 6), ("2025", 7)],
        );
        let archives = BTreeMap::from([(
            "emission-totals".to_string(),
            vec![
                "2025-06-30".to_string(),
                "2025-12-31".to_string(),
                "2026-01-30".to_string(),
            ],
        )]);
        let got = load(&store, &archives, "2026-01-31").unwrap();
        assert_eq!(got.month, "2025-01");
        let t = &got.tables["emission-totals"];
        assert_eq!(t.archive, "2025-12-31");
        // Only January 2025's row of revision 2 (n = 5): not the year's, not February's.
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0]["n"], serde_json::json!(5));
        // The other datasets have no archive listed: no entry, so "no data".
        assert_eq!(got.tables.len(), 1);
        // No archive of 2024: nothing for January 2025.
        assert!(
            load(&store, &archives, "2025-01-31")
                .unwrap()
                .tables
                .is_empty()
        );
    }

    fn plan_archive(store: &MemoryStore, date: &str, revision: u32, rows: &[(&str, &str, f64)]) {
        let mut t = Table::new(&[
            ("indicator", Kind::Str),
            ("period", Kind::Str),
            ("value", Kind::F64),
        ]);
        for (indicator, period, value) in rows {
            t.push(vec![
                Cell::from(*indicator),
                Cell::from(*period),
                Cell::F64(Some(*value)),
            ]);
        }
        let prefix = layout::archive_revision_prefix("plan-indicators", date, revision).unwrap();
        let bytes = crate::frame::write_parquet(&t).unwrap();
        store
            .put(&format!("{prefix}plan-indicators.parquet"), &bytes)
            .unwrap();
    }

    #[test]
    fn plan_indicators_come_from_the_archive_of_the_same_day_last_year() {
        let store = MemoryStore::new();
        let rate = "cems_hourly_compliance_rate";
        plan_archive(
            &store,
            "2025-01-30",
            1,
            &[(rate, "2025-01-01/2025-01-30", 0.1)],
        );
        plan_archive(
            &store,
            "2025-01-31",
            1,
            &[(rate, "2025-01-01/2025-01-31", 0.2)],
        );
        // That night re-run with other figures (revision 2, in force), and a row of another
        // period, which is not the year to 31 January 2025 and so not taken.
        plan_archive(
            &store,
            "2025-01-31",
            2,
            &[
                (rate, "2025-01-01/2025-01-31", 0.95),
                ("exceedance_count", "2025-01-01/2025-01-31", 7.0),
                (rate, "2024-01-01/2024-12-31", 0.3),
            ],
        );
        plan_archive(
            &store,
            "2025-12-31",
            1,
            &[(rate, "2025-01-01/2025-12-31", 0.4)],
        );
        let archives = BTreeMap::from([(
            "plan-indicators".to_string(),
            ["2025-01-30", "2025-01-31", "2025-12-31", "2026-01-31"]
                .map(String::from)
                .to_vec(),
        )]);
        let got = load(&store, &archives, "2026-01-31").unwrap();
        let t = &got.tables["plan-indicators"];
        assert_eq!(t.archive, "2025-01-31");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0]["indicator"], serde_json::json!(rate));
        assert_eq!(t.rows[0]["value"].as_f64(), Some(0.95));
        assert_eq!(
            t.rows[1]["indicator"],
            serde_json::json!("exceedance_count")
        );
        assert_eq!(t.rows[1]["value"].as_f64(), Some(7.0));
        // 1 February 2026: no archive of 1 February 2025 (the year's last one is not the
        // same period), so no entry and "no data".
        let got = load(&store, &archives, "2026-02-01").unwrap();
        assert!(!got.tables.contains_key("plan-indicators"));
    }

    #[test]
    fn an_archive_whose_month_column_is_not_text_is_an_error_naming_it() {
        let store = MemoryStore::new();
        let mut t = Table::new(&[("period", Kind::I64)]);
        t.push(vec![Cell::I64(Some(202501))]);
        let prefix = layout::archive_prefix("emission-totals", "2025-12-31").unwrap();
        let key = format!("{prefix}emission-totals.parquet");
        store
            .put(&key, &crate::frame::write_parquet(&t).unwrap())
            .unwrap();
        let archives = BTreeMap::from([(
            "emission-totals".to_string(),
            vec!["2025-12-31".to_string()],
        )]);
        let err = load(&store, &archives, "2026-01-31")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&key) && err.contains("period"), "{err}");
    }

    #[test]
    fn a_row_is_in_a_month_by_its_month_or_date() {
        assert!(in_month("2025-01", "2025-01"));
        assert!(in_month("2025-01-31", "2025-01"));
        assert!(in_month("2025-01-31T23:00:00+08:00", "2025-01"));
        assert!(!in_month("2025", "2025-01"));
        assert!(!in_month("2025-010", "2025-01"));
        assert!(!in_month("2025-02-01", "2025-01"));
        assert_eq!(month_a_year_before("2026-01-31").unwrap(), "2025-01");
        assert!(month_a_year_before("2026").is_err());
    }
}
