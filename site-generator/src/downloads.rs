//! Per-unit downloads: each unit's own rows of the exceedance register, the daily online
//! monitoring values, the emission totals and the self-monitoring results, written once
//! (language-independent) as `/downloads/enterprises/{uscc}/{dataset}.csv`.
//!
//! CSV as spreadsheet programs read it: UTF-8 with a byte-order mark, CRLF line ends,
//! RFC 4180 quoting, columns in the dataset schema's order. Text cells starting with
//! `=`, `+`, `-`, `@`, tab or CR get a leading `'` so that no cell is run as a formula;
//! numbers are written exactly as they were published.

use crate::output::Output;
use crate::registry::Unit;
use crate::rows::{self, RawRow, UnitKey};
use crate::urls::{self, Slug};
use crate::{SiteError, SiteInputs};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The datasets a unit's own records are offered from, in the order shown.
pub const UNIT_DATASETS: [&str; 4] = [
    rows::EXCEEDANCES,
    rows::CEMS_DAILY,
    rows::EMISSION_TOTALS,
    rows::SELF_MONITORING,
];

/// A dataset's columns, and its rows grouped by unit.
type Grouped<'a> = (Vec<&'a str>, BTreeMap<&'a str, Vec<&'a RawRow>>);

/// The rows of each per-unit dataset, grouped by unit, with each dataset's columns.
pub struct UnitRows<'a> {
    by_dataset: BTreeMap<&'static str, Grouped<'a>>,
}

impl<'a> UnitRows<'a> {
    pub fn new(inputs: &'a SiteInputs) -> Result<UnitRows<'a>, SiteError> {
        let mut by_dataset = BTreeMap::new();
        for dataset in UNIT_DATASETS {
            let columns = columns(inputs, dataset)?;
            let mut by_unit: BTreeMap<&str, Vec<&RawRow>> = BTreeMap::new();
            for (i, row) in rows::table(&inputs.tables, dataset)?.iter().enumerate() {
                let key = UnitKey::deserialize(row).map_err(|e| SiteError::Row {
                    dataset: dataset.to_string(),
                    row: i + 1,
                    message: e.to_string(),
                })?;
                by_unit.entry(key.uscc).or_default().push(row);
            }
            by_dataset.insert(dataset, (columns, by_unit));
        }
        Ok(UnitRows { by_dataset })
    }

    /// How many rows of `dataset` belong to the unit.
    pub fn count(&self, dataset: &str, uscc: &str) -> usize {
        self.by_dataset
            .get(dataset)
            .and_then(|(_, m)| m.get(uscc))
            .map_or(0, Vec::len)
    }

    /// Writes the unit's CSV files (a header-only file when it has no rows).
    pub fn write(&self, out: &mut Output, unit: &Unit<'_>) -> Result<(), SiteError> {
        for (dataset, (columns, by_unit)) in &self.by_dataset {
            let rows = by_unit
                .get(unit.uscc.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            out.add(
                &urls::unit_download(&unit.uscc, &dataset_slug(dataset)),
                csv(columns, rows),
            )?;
        }
        Ok(())
    }
}

pub fn dataset_slug(dataset: &str) -> Slug {
    Slug::new(dataset).expect("per-unit dataset ids are ASCII slugs")
}

/// The columns of a dataset, in its schema's order.
fn columns<'a>(inputs: &'a SiteInputs, dataset: &str) -> Result<Vec<&'a str>, SiteError> {
    let package = inputs
        .packages
        .get(dataset)
        .ok_or_else(|| SiteError::MissingInput {
            dataset: dataset.to_string(),
            what: "datapackage.json",
        })?;
    let schema = package
        .resources
        .iter()
        .filter_map(|r| r.schema.as_ref())
        .next()
        .ok_or_else(|| SiteError::MissingInput {
            dataset: dataset.to_string(),
            what: "table schema in datapackage.json",
        })?;
    Ok(schema.fields.iter().map(|f| f.name.as_str()).collect())
}

/// One CSV file: BOM, header, rows, CRLF.
pub fn csv(columns: &[&str], rows: &[&RawRow]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let header: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| cell(row.get(*c).unwrap_or(&Value::Null)))
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let neutralised = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            };
            quote(&neutralised)
        }
        other => quote(&other.to_string()),
    }
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_bom_crlf_quotes_and_neutralises_formulas() {
        let row =
            json!({"a": "=SUM(A1)", "b": -5, "c": "x,\"y\"", "d": null, "e": true, "f": "@x"});
        let row = row.as_object().unwrap().clone();
        let bytes = csv(&["a", "b", "c", "d", "e", "f"], &[&row]);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}a,b,c,d,e,f\r\n'=SUM(A1),-5,\"x,\"\"y\"\"\",,true,'@x\r\n"
        );
    }

    #[test]
    fn numbers_are_written_as_they_came() {
        let row = json!({"v": 12.684167, "n": 0, "t": "\tx", "m": "-1"});
        let row = row.as_object().unwrap().clone();
        let text = String::from_utf8(csv(&["v", "n", "t", "m"], &[&row])).unwrap();
        assert!(text.ends_with("12.684167,0,'\tx,'-1\r\n"), "{text:?}");
    }
}
