//! Per-unit downloads: each unit's own rows of the exceedance register, the daily online
//! monitoring values, the emission totals and the self-monitoring results, written once
//! (language-independent) as `/downloads/enterprises/{uscc}/{dataset}.csv`.
//!
//! The pipeline cuts them from the published datasets, row for row in the datasets' own CSV
//! format (UTF-8 with a byte-order mark, CRLF, RFC 4180 quoting, spreadsheet formulas
//! neutralised), and hands them over in [`SiteInputs::unit_downloads`]; the site places them
//! and counts their rows. A unit with no rows in a dataset gets a file with the header only,
//! its columns in the dataset schema's order. Of a dataset published a file a month, a unit's
//! downloads are a file a month (`/downloads/enterprises/{uscc}/{dataset}-{YYYY-MM}.csv`, see
//! [`SiteInputs::unit_months`]), stored by the pipeline and placed by the release; the site
//! lists them.

use crate::error::SiteError;
use crate::inputs::{
    MonthDownload, SiteInputs, UNIT_DATASETS, UnitDownload, UnitDownloads, UnitMonths,
};
use crate::output::Output;
use crate::registry::Unit;
use crate::urls::{self, Slug};
use envgov_dataset::published::DatasetId;
use std::collections::BTreeMap;

/// The per-unit downloads of a build, and the header-only file of each dataset.
pub struct UnitRows<'a> {
    downloads: &'a UnitDownloads,
    months: &'a UnitMonths,
    headers: BTreeMap<&'static str, Vec<u8>>,
}

/// Whether a dataset is published a file a month: its per-unit downloads are then a file a
/// month, placed by the release (see [`SiteInputs::unit_months`]).
pub fn monthly(dataset: &str) -> bool {
    DatasetId::parse(dataset).is_some_and(DatasetId::monthly)
}

static NO_MONTHS: Vec<MonthDownload> = Vec::new();

impl<'a> UnitRows<'a> {
    pub fn new(inputs: &'a SiteInputs) -> Result<UnitRows<'a>, SiteError> {
        let mut headers = BTreeMap::new();
        for dataset in UNIT_DATASETS.into_iter().filter(|d| !monthly(d)) {
            headers.insert(dataset, header_only(dataset, &columns(inputs, dataset)?)?);
        }
        let misplaced = |d: &&String, want_monthly: bool| {
            !UNIT_DATASETS.contains(&d.as_str()) || monthly(d) != want_monthly
        };
        if let Some(other) = (inputs.unit_downloads.keys().find(|d| misplaced(d, false)))
            .or_else(|| inputs.unit_months.keys().find(|d| misplaced(d, true)))
        {
            return Err(SiteError::MissingInput {
                dataset: other.clone(),
                what: "a place on the unit pages (per-unit downloads are offered only from UNIT_DATASETS)",
            });
        }
        Ok(UnitRows {
            downloads: &inputs.unit_downloads,
            months: &inputs.unit_months,
            headers,
        })
    }

    /// Of a dataset published a file a month, the unit's month files (none when it has no
    /// rows); `None` for another dataset.
    pub fn months(&self, dataset: &str, uscc: &str) -> Option<&'a Vec<MonthDownload>> {
        if !monthly(dataset) {
            return None;
        }
        let months: &'a UnitMonths = self.months;
        Some(
            months
                .get(dataset)
                .and_then(|m| m.get(uscc))
                .unwrap_or(&NO_MONTHS),
        )
    }

    fn get(&self, dataset: &str, uscc: &str) -> Option<&'a UnitDownload> {
        self.downloads.get(dataset).and_then(|m| m.get(uscc))
    }

    /// How many rows of `dataset` belong to the unit.
    pub fn count(&self, dataset: &str, uscc: &str) -> usize {
        match self.months(dataset, uscc) {
            Some(months) => months.iter().map(|m| m.rows as usize).sum(),
            None => self.get(dataset, uscc).map_or(0, |d| d.rows as usize),
        }
    }

    /// Writes the CSV files of every unit of `units` (a header-only file when it has no
    /// rows), but those of the datasets published a file a month (the release places them). Their bytes are moved out of `taken` when given (see [`take_csv`]), else
    /// copied from the inputs.
    pub fn place(
        &self,
        units: &[Unit<'_>],
        mut taken: Option<&mut TakenCsv>,
        out: &mut Output,
    ) -> Result<(), SiteError> {
        for unit in units {
            for (dataset, header) in &self.headers {
                let uscc = unit.uscc.as_str();
                let bytes = match (self.get(dataset, uscc), taken.as_deref_mut()) {
                    (None, _) => header.clone(),
                    (Some(d), None) => d.csv.clone(),
                    (Some(_), Some(taken)) => taken
                        .get_mut(*dataset)
                        .and_then(|m| m.get_mut(uscc))
                        .map(std::mem::take)
                        .unwrap_or_default(),
                };
                out.add(
                    &urls::unit_download(&unit.uscc, &dataset_slug(dataset)),
                    bytes,
                )?;
            }
        }
        Ok(())
    }
}

/// The CSV bytes of the downloads, by dataset and unit, taken out of them.
pub type TakenCsv = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// Takes the CSV bytes out of `downloads` (which keep their row counts).
pub fn take_csv(downloads: &mut UnitDownloads) -> TakenCsv {
    downloads
        .iter_mut()
        .map(|(dataset, units)| {
            let csv = units
                .iter_mut()
                .map(|(uscc, d)| (uscc.clone(), std::mem::take(&mut d.csv)))
                .collect();
            (dataset.clone(), csv)
        })
        .collect()
}

/// The CSV of a dataset with no rows: BOM, the column names, CRLF. Column names are
/// identifiers (`[a-z0-9_]`), so none needs quoting or neutralising.
fn header_only(dataset: &str, columns: &[&str]) -> Result<Vec<u8>, SiteError> {
    if let Some(bad) = columns.iter().find(|c| {
        c.is_empty()
            || !c
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }) {
        return Err(SiteError::Row {
            dataset: dataset.to_string(),
            row: 0,
            message: format!("column name {bad:?} is not an identifier"),
        });
    }
    Ok(format!("\u{feff}{}\r\n", columns.join(",")).into_bytes())
}

pub fn dataset_slug(dataset: &str) -> Slug {
    Slug::new(dataset).expect("per-unit dataset ids are ASCII slugs")
}

/// The columns of a dataset, in order: its schema's in `datapackage.json`, or, when no
/// resource has one (a dataset published a file a month has no file, so no resource, before
/// its first month has a row), its published shape (`envgov_dataset::published`, which the
/// pipeline checks every published table against).
fn columns<'a>(inputs: &'a SiteInputs, dataset: &str) -> Result<Vec<&'a str>, SiteError> {
    let package = inputs
        .packages
        .get(dataset)
        .ok_or_else(|| SiteError::MissingInput {
            dataset: dataset.to_string(),
            what: "datapackage.json",
        })?;
    if let Some(schema) = package.resources.iter().find_map(|r| r.schema.as_ref()) {
        return Ok(schema.fields.iter().map(|f| f.name.as_str()).collect());
    }
    let id = DatasetId::parse(dataset).ok_or_else(|| SiteError::MissingInput {
        dataset: dataset.to_string(),
        what: "table schema in datapackage.json, or a published shape",
    })?;
    Ok(id.shape().iter().map(|(name, _)| *name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_only_file_has_bom_names_and_crlf() {
        let bytes = header_only("x", &["date", "uscc", "daily_mean"]).unwrap();
        assert_eq!(bytes, "\u{feff}date,uscc,daily_mean\r\n".as_bytes());
        assert!(header_only("x", &["=cmd"]).is_err());
    }
}
