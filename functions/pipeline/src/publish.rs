//! Publishing: tables → CSV, JSON and a Frictionless `datapackage.json`.
//!
//! Stage: publish (pure; tables in, bytes out). CSV is UTF-8 with a BOM, so Excel on Chinese
//! Windows opens it correctly, and any text cell that a spreadsheet would read as a formula
//! (leading `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`. Numbers are
//! written in Rust's shortest round-trip form, so the same value always gives the same bytes.

use crate::table::{Table, Values};
use envgov_curated::datasets::{DatasetDef, Fields};
use envgov_dataset::Localized;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::manifest::{DataPackage, Field, License, Resource, SourceRef, TableSchema};
use envgov_dataset::published::DatasetId;

/// Neutralises a text cell that a spreadsheet would evaluate as a formula (OWASP CSV
/// injection guidance).
pub fn neutralise_formula(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

fn number(v: f64) -> String {
    if v == 0.0 { "0".into() } else { format!("{v}") }
}

/// CSV: UTF-8 with BOM, header row of column names, CRLF line ends (RFC 4180).
pub fn to_csv(table: &Table) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(&table.names).expect("writing to memory");
        for row in 0..table.rows() {
            let record: Vec<String> = table
                .columns
                .iter()
                .map(|c| match c {
                    Values::Str(v) => v[row]
                        .as_deref()
                        .map(|s| neutralise_formula(s).into_owned())
                        .unwrap_or_default(),
                    Values::F64(v) => v[row].map(number).unwrap_or_default(),
                    Values::I64(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
                    Values::Bool(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
                })
                .collect();
            w.write_record(&record).expect("writing to memory");
        }
        w.flush().expect("writing to memory");
    }
    out
}

/// JSON: an array of row objects whose keys follow the column order.
pub fn to_json(table: &Table) -> Vec<u8> {
    let mut out = String::from("[");
    let names: Vec<String> = table
        .names
        .iter()
        .map(|n| serde_json::to_string(n).expect("string"))
        .collect();
    for row in 0..table.rows() {
        out.push_str(if row == 0 { "\n{" } else { ",\n{" });
        for (i, c) in table.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&names[i]);
            out.push(':');
            let v = match c {
                Values::Str(v) => v[row]
                    .as_ref()
                    .map(|s| serde_json::to_string(s).expect("string")),
                Values::F64(v) => v[row].map(number),
                Values::I64(v) => v[row].map(|x| x.to_string()),
                Values::Bool(v) => v[row].map(|x| x.to_string()),
            };
            out.push_str(v.as_deref().unwrap_or("null"));
        }
        out.push('}');
    }
    out.push_str("\n]\n");
    out.into_bytes()
}

/// Fails when a table has a column the field dictionary does not describe in both languages.
pub fn schema_fields(table: &Table, fields: &Fields) -> Result<Vec<Field>, String> {
    table
        .schema()
        .into_iter()
        .map(|(name, kind)| {
            let def = fields.get(&name).ok_or_else(|| {
                format!("column {name} has no entry in data/datasets.toml [field]")
            })?;
            Ok(Field {
                name: name.clone(),
                field_type: kind.frictionless().into(),
                title: def.title.en.clone(),
                description: def.description.en.clone(),
                titles: def.title.clone(),
                descriptions: def.description.clone(),
                unit: def.unit.clone(),
            })
        })
        .collect()
}

/// Fails unless the table has exactly the published shape of its dataset
/// ([`envgov_dataset::published`]): the same columns, in the same order, of the same types.
pub fn check_shape(id: &str, table: &Table) -> Result<(), String> {
    let Some(dataset) = DatasetId::parse(id) else {
        return Err(format!(
            "{id} is not a published dataset (envgov_dataset::published::DatasetId)"
        ));
    };
    let have: Vec<(String, &str)> = table
        .schema()
        .into_iter()
        .map(|(name, kind)| (name, kind.frictionless()))
        .collect();
    let want: Vec<(String, &str)> = dataset
        .shape()
        .iter()
        .map(|(name, t)| (name.to_string(), t.frictionless()))
        .collect();
    if have == want {
        return Ok(());
    }
    let show = |cols: &[(String, &str)]| {
        cols.iter()
            .map(|(n, t)| format!("{n}:{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "table {id} does not have its published shape: it has [{}], the contract says [{}]",
        show(&have),
        show(&want)
    ))
}

/// The files of one dataset: name → bytes, in publishing order.
pub struct Rendered {
    pub files: Vec<(String, Vec<u8>)>,
    pub package: DataPackage,
}

/// Renders a dataset's files and its data package.
pub fn render(
    def: &DatasetDef,
    table: &Table,
    parquet: Vec<u8>,
    fields: &Fields,
    data_date: &str,
    archives: Vec<String>,
) -> Result<Rendered, String> {
    check_shape(&def.id, table)?;
    let schema = TableSchema {
        fields: schema_fields(table, fields)?,
        primary_key: def.primary_key.clone(),
    };
    let mut files = Vec::new();
    let mut resources = Vec::new();
    for format in Format::ALL {
        let name = layout::dataset_file_name(&def.id, format).map_err(|e| e.to_string())?;
        let bytes = match format {
            Format::Csv => to_csv(table),
            Format::Json => to_json(table),
            Format::Parquet => parquet.clone(),
        };
        resources.push(Resource {
            profile: if format == Format::Csv {
                "tabular-data-resource"
            } else {
                "data-resource"
            }
            .into(),
            name: format!("{}-{}", def.id, format.extension()),
            path: name.clone(),
            format: format.extension().into(),
            mediatype: format.media_type().into(),
            encoding: (format != Format::Parquet).then(|| "utf-8".to_string()),
            bytes: bytes.len() as u64,
            hash: format!("sha256:{}", crate::ledger::sha256_hex(&bytes)),
            schema: Some(schema.clone()),
            rows: table.rows() as u64,
        });
        files.push((name, bytes));
    }
    let package = DataPackage {
        profile: "data-package".into(),
        name: def.id.clone(),
        title: def.title.en.clone(),
        description: def.description.en.clone(),
        titles: def.title.clone(),
        descriptions: def.description.clone(),
        version: data_date.into(),
        data_date: data_date.into(),
        next_update: def.update.clone(),
        licenses: vec![License {
            name: "CC-BY-4.0".into(),
            path: "https://creativecommons.org/licenses/by/4.0/".into(),
            title: "Creative Commons Attribution 4.0".into(),
        }],
        sources: def
            .sources
            .iter()
            .map(|s| SourceRef {
                title: s.en.clone(),
                titles: Localized::new(s.zh.clone(), s.en.clone()),
                path: s.path.clone(),
            })
            .collect(),
        keywords: def.keywords.clone(),
        resources,
        archives,
    };
    Ok(Rendered { files, package })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Kind};

    #[test]
    fn csv_has_bom_and_neutralises_formulas_but_not_numbers() {
        let mut t = Table::new(&[("name", Kind::Str), ("v", Kind::F64)]);
        t.push(vec!["=HYPERLINK(\"http://x\")".into(), (-1.5).into()]);
        t.push(vec!["@SUM(A1)".into(), Cell::F64(None)]);
        t.push(vec!["北京,朝阳".into(), 0.1.into()]);
        let csv = String::from_utf8(to_csv(&t)).unwrap();
        assert_eq!(
            csv,
            "\u{feff}name,v\r\n\"'=HYPERLINK(\"\"http://x\"\")\",-1.5\r\n'@SUM(A1),\r\n\"北京,朝阳\",0.1\r\n"
        );
    }

    #[test]
    fn json_keeps_column_order_and_nulls() {
        let mut t = Table::new(&[("b", Kind::Str), ("a", Kind::I64)]);
        t.push(vec!["<script>".into(), Cell::I64(None)]);
        assert_eq!(
            String::from_utf8(to_json(&t)).unwrap(),
            "[\n{\"b\":\"<script>\",\"a\":null}\n]\n"
        );
    }

    #[test]
    fn a_table_is_published_only_in_its_contract_shape() {
        let mut t = Table::new(&[
            ("indicator", Kind::Str),
            ("period", Kind::Str),
            ("value", Kind::F64),
            ("numerator", Kind::F64),
            ("denominator", Kind::F64),
            ("unit", Kind::Str),
            ("source_dataset", Kind::Str),
        ]);
        assert_eq!(check_shape("plan-indicators", &t), Ok(()));
        // Another id, a type changed, a column missing or moved: each refused, naming both.
        assert!(check_shape("plan_indicators", &t).is_err());
        let err = check_shape("medical-waste", &t).unwrap_err();
        assert!(
            err.contains("indicator:string") && err.contains("collected_t:number"),
            "{err}"
        );
        t.columns[2] = Values::I64(Vec::new());
        assert!(
            check_shape("plan-indicators", &t)
                .unwrap_err()
                .contains("value:integer")
        );
        let moved = Table::new(&[
            ("period", Kind::Str),
            ("indicator", Kind::Str),
            ("value", Kind::F64),
            ("numerator", Kind::F64),
            ("denominator", Kind::F64),
            ("unit", Kind::Str),
            ("source_dataset", Kind::Str),
        ]);
        assert!(check_shape("plan-indicators", &moved).is_err());
    }
}
