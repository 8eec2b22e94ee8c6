//! What the site is rendered from, read from one dataset publication (see
//! [`crate::publication`]; a release renders the publication it then serves at the stable
//! URLs) and the store: the catalogue, each dataset's package, the rows of the tables the pages show, each unit's own rows as CSV,
//! the run report, the markdown of `content/`.
//!
//! Stage: publish (reads only). Memory is what bounds a render at the scale of a year of
//! ~2,000 units, so the big datasets are never held as JSON row objects:
//! - `cems-daily` is read from its Parquet file and only the days the pages show
//!   ([`envgov_site::RECENT_DAYS`] up to the data date) become row objects;
//! - the per-unit downloads are cut from each dataset's Parquet file, one dataset at a time,
//!   and written with the same CSV writer as the dataset itself, so a unit's file is its
//!   rows of the published CSV, byte for byte. The same read gives the pages their rows
//!   (the Parquet round trip is lossless, so they equal the published JSON's).

use crate::error::JobError;
use crate::frame::read_parquet;
use crate::publication::Publication;
use crate::publish::{to_csv, to_json};
use crate::store::Store;
use crate::table::Table;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::manifest::{Catalogue, DataPackage};
use envgov_dataset::report::RunReport;
use envgov_site::{SiteInputs, UnitDownload, UnitDownloads};

/// The markdown pages of `content/`, embedded so that the Lambda function needs no files.
pub const CONTENT: &[(&str, &str)] = &[
    (
        "about.en.md",
        include_str!("../../../../content/about.en.md"),
    ),
    (
        "about.zh.md",
        include_str!("../../../../content/about.zh.md"),
    ),
    (
        "contact.en.md",
        include_str!("../../../../content/contact.en.md"),
    ),
    (
        "contact.zh.md",
        include_str!("../../../../content/contact.zh.md"),
    ),
    (
        "methodology.en.md",
        include_str!("../../../../content/methodology.en.md"),
    ),
    (
        "methodology.zh.md",
        include_str!("../../../../content/methodology.zh.md"),
    ),
];
use std::collections::BTreeMap;

type Rows = Vec<serde_json::Map<String, serde_json::Value>>;

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

fn json<T: for<'de> serde::Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, JobError> {
    serde_json::from_slice(bytes).map_err(|e| JobError::Corrupt {
        key: key.into(),
        message: e.to_string(),
    })
}

fn parquet(store: &dyn Store, publication: &Publication, id: &str) -> Result<Table, JobError> {
    let path = Publication::dataset_path(id, Format::Parquet)?;
    read_parquet(&publication.read(store, &path)?).map_err(|e| JobError::Corrupt {
        key: path,
        message: e.to_string(),
    })
}

/// The rows of `table` whose `date` column is in `first..=last` (ISO dates compare as text).
fn dated(table: &Table, first: &str, last: &str) -> Result<Table, JobError> {
    if !table.names.iter().any(|n| n == "date") {
        return Err(definition("cems-daily has no date column"));
    }
    let dates = table.str_column("date");
    Ok(table.filter_rows(|i| dates[i].as_deref().is_some_and(|d| first <= d && d <= last)))
}

/// Each unit's rows of a dataset, as CSV in the dataset's own format.
pub fn unit_downloads(table: &Table) -> Result<BTreeMap<String, UnitDownload>, JobError> {
    if !table.names.iter().any(|n| n == "uscc") {
        return Err(definition("a per-unit dataset has no uscc column"));
    }
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, uscc) in table.str_column("uscc").iter().enumerate() {
        if let Some(u) = uscc.as_deref() {
            rows.entry(u).or_default().push(i);
        }
    }
    Ok(rows
        .into_iter()
        .map(|(uscc, idx)| {
            let csv = to_csv(&table.take(&idx));
            (
                uscc.to_string(),
                UnitDownload {
                    rows: idx.len() as u64,
                    csv,
                },
            )
        })
        .collect())
}

/// Reads everything the site is rendered from: the datasets of `publication`, the run
/// report of its data date, the sample marker and the embedded content.
pub fn load(store: &dyn Store, publication: &Publication) -> Result<SiteInputs, JobError> {
    let catalogue: Catalogue = json(
        layout::CATALOGUE_PATH,
        &publication.read(store, layout::CATALOGUE_PATH)?,
    )?;
    let data_date =
        chrono::NaiveDate::parse_from_str(&catalogue.data_date, "%Y-%m-%d").map_err(|e| {
            JobError::Corrupt {
                key: layout::CATALOGUE_PATH.into(),
                message: format!("data date {:?}: {e}", catalogue.data_date),
            }
        })?;
    let first_shown = (data_date - chrono::Days::new(envgov_site::RECENT_DAYS as u64 - 1))
        .format("%Y-%m-%d")
        .to_string();

    let mut packages = BTreeMap::new();
    let mut tables: BTreeMap<String, Rows> = BTreeMap::new();
    let mut archives = BTreeMap::new();
    let mut downloads: UnitDownloads = BTreeMap::new();
    for entry in &catalogue.datasets {
        let id = layout::check_segment(&entry.id).map_err(definition)?;
        let path = layout::datapackage_path(id).map_err(definition)?;
        let package: DataPackage = json(&path, &publication.read(store, &path)?)?;
        archives.insert(id.to_string(), package.archives.clone());
        packages.insert(id.to_string(), package);

        let shown = envgov_site::rows::TABLES.contains(&id);
        let per_unit = envgov_site::UNIT_DATASETS.contains(&id);
        if per_unit {
            // One read of the Parquet file serves both the pages' rows and the downloads.
            let table = parquet(store, publication, id)?;
            if shown {
                let rows = if id == envgov_site::rows::CEMS_DAILY {
                    to_json(&dated(&table, &first_shown, &catalogue.data_date)?)
                } else {
                    to_json(&table)
                };
                tables.insert(id.to_string(), json(id, &rows)?);
            }
            downloads.insert(id.to_string(), unit_downloads(&table)?);
        } else if shown {
            let path = Publication::dataset_path(id, Format::Json)?;
            tables.insert(
                id.to_string(),
                json(&path, &publication.read(store, &path)?)?,
            );
        }
    }
    let report_key = layout::run_report_key(&catalogue.data_date).map_err(definition)?;
    let report: Option<RunReport> = match store.get(&report_key)? {
        Some(b) => Some(json(&report_key, &b)?),
        None => None,
    };
    let content = envgov_site::load_content(
        CONTENT
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    )
    .map_err(definition)?;
    Ok(SiteInputs {
        data_date: catalogue.data_date.clone(),
        catalogue,
        packages,
        tables,
        archives,
        content,
        report,
        sample: store.get(layout::SAMPLE_LEDGER_KEY)?.is_some(),
        unit_downloads: downloads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Kind};

    fn table() -> Table {
        let mut t = Table::new(&[("date", Kind::Str), ("uscc", Kind::Str), ("v", Kind::F64)]);
        for (d, u, v) in [
            ("2026-01-24", "B", 1.5),
            ("2026-01-25", "A", 2.0),
            ("2026-01-31", "B", -0.25),
            ("2026-02-01", "A", 3.0),
        ] {
            t.push(vec![Cell::from(d), Cell::from(u), Cell::from(v)]);
        }
        t
    }

    #[test]
    fn only_the_days_shown_are_kept() {
        let t = dated(&table(), "2026-01-25", "2026-01-31").unwrap();
        assert_eq!(
            t.str_column("date"),
            &[
                Some("2026-01-25".to_string()),
                Some("2026-01-31".to_string())
            ]
        );
    }

    #[test]
    fn each_unit_gets_its_rows_of_the_dataset_csv() {
        let t = table();
        let all = String::from_utf8(to_csv(&t)).unwrap();
        let d = unit_downloads(&t).unwrap();
        assert_eq!(d.keys().collect::<Vec<_>>(), ["A", "B"]);
        let b = String::from_utf8(d["B"].csv.clone()).unwrap();
        assert_eq!(d["B"].rows, 2);
        // Written by hand: the header and B's two rows, as in the whole dataset's CSV.
        assert_eq!(
            b,
            "\u{feff}date,uscc,v\r\n2026-01-24,B,1.5\r\n2026-01-31,B,-0.25\r\n"
        );
        for line in b
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .filter(|l| !l.is_empty())
        {
            assert!(all.contains(&format!("{line}\r\n")), "{line}");
        }
    }
}
