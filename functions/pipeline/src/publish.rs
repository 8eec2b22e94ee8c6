//! Publishing: datasets → CSV, JSON, Parquet and a Frictionless `datapackage.json`.
//!
//! Stage: publish (pure; datasets in, bytes out). A dataset is a [`Table`] or, for those that
//! grow with the year (cems-daily, self-monitoring), a polars frame rendered a block of rows
//! at a time ([`Dataset`]); either gives the same bytes. A file is written to a hasher for
//! its data package ([`render`]), then written again when it is stored (`publication`), one
//! at a time: at most one file's bytes are held, while it is stored.
//!
//! CSV is UTF-8 with a BOM, so Excel on Chinese Windows opens it correctly, and any text
//! cell that a spreadsheet would read as a formula (leading `=`, `+`, `-`, `@`, tab or
//! carriage return) is prefixed with `'`. Numbers are written in Rust's shortest round-trip
//! form, so the same value always gives the same bytes.

use crate::table::{Kind, Table, Values};
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

/// Rows of a [`Dataset::Frame`] converted to a [`Table`] at a time while rendering.
const BLOCK_ROWS: usize = 16_384;

/// A dataset as built: a row [`Table`], or a polars frame for the large ones, rendered a
/// block of rows at a time so that no `Table` of all its rows is ever held. Build a frame
/// dataset with [`crate::frame::publishable`] (its columns have the types a table's have).
pub enum Dataset {
    Table(Table),
    Frame(polars::prelude::DataFrame),
}

/// A dataset whose files are already stored, each under its own key with its sha256 (the
/// monthly files of `cems-hourly`, `cems-daily` and `self-monitoring`, see `crate::monthly`): published by listing them in its
/// data package and the publication manifest, never rendered again.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDataset {
    pub schema: Vec<(String, Kind)>,
    pub files: Vec<StoredFile>,
    /// The dates of the archives that hold its files, up to the data date.
    pub archives: Vec<String>,
}

impl StoredDataset {
    /// Rows: each is in one CSV file and one Parquet file.
    pub fn rows(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.format == "csv")
            .map(|f| f.rows)
            .sum()
    }
}

/// One stored file of a [`StoredDataset`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFile {
    /// The name in the dataset's folder (`cems-hourly-2026-01.csv.gz`).
    pub name: String,
    /// `csv`, `parquet` or `json`.
    pub format: String,
    /// `gz` when the file is gzip-compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    /// The store key holding it (in a dated archive).
    pub key: String,
}

impl From<Table> for Dataset {
    fn from(t: Table) -> Self {
        Dataset::Table(t)
    }
}

impl Dataset {
    pub fn rows(&self) -> usize {
        match self {
            Dataset::Table(t) => t.rows(),
            Dataset::Frame(df) => df.height(),
        }
    }

    /// Column names and kinds, in order.
    pub fn schema(&self) -> Result<Vec<(String, Kind)>, String> {
        match self {
            Dataset::Table(t) => Ok(t.schema()),
            Dataset::Frame(df) => crate::frame::schema(df).map_err(|e| e.to_string()),
        }
    }

    /// Calls `f` with the rows as tables, in order: a table whole, a frame
    /// [`BLOCK_ROWS`] rows at a time.
    pub(crate) fn each_block(
        &self,
        mut f: impl FnMut(&Table) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Dataset::Table(t) => f(t),
            Dataset::Frame(df) => {
                let mut offset = 0;
                while offset < df.height() {
                    let block = crate::frame::rows_as_table(df, offset, BLOCK_ROWS)
                        .map_err(|e| e.to_string())?;
                    f(&block)?;
                    offset += BLOCK_ROWS;
                }
                Ok(())
            }
        }
    }
}

fn io(e: impl std::fmt::Display) -> String {
    format!("writing a dataset file: {e}")
}

/// CSV: UTF-8 with BOM, header row of column names, CRLF line ends (RFC 4180).
pub fn to_csv(table: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    write_csv_rows(&mut out, &table.names, |f| f(table)).expect("writing to memory");
    out
}

/// Writes [`to_csv`]'s bytes of a dataset.
pub fn write_csv(dataset: &Dataset, out: &mut impl std::io::Write) -> Result<(), String> {
    let names: Vec<String> = dataset.schema()?.into_iter().map(|(n, _)| n).collect();
    write_csv_rows(out, &names, |f| dataset.each_block(f))
}

pub(crate) type Blocks<'a> = dyn FnMut(&Table) -> Result<(), String> + 'a;

/// The CSV of the header `names` and the rows of the tables `blocks` passes on, in order.
pub(crate) fn write_csv_rows(
    out: &mut impl std::io::Write,
    names: &[String],
    blocks: impl FnOnce(&mut Blocks<'_>) -> Result<(), String>,
) -> Result<(), String> {
    out.write_all(b"\xEF\xBB\xBF").map_err(io)?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(names).map_err(io)?;
    let mut record: Vec<String> = Vec::with_capacity(names.len());
    blocks(&mut |table: &Table| {
        for row in 0..table.rows() {
            record.clear();
            record.extend(table.columns.iter().map(|c| csv_cell(c, row)));
            w.write_record(&record).map_err(io)?;
        }
        Ok(())
    })?;
    w.flush().map_err(io)
}

/// What [`write_csv_records`] gives each frame of rows to.
pub(crate) type FrameSink<'a> = dyn FnMut(&polars::prelude::DataFrame) -> Result<(), String> + 'a;

/// The start of every envgov CSV: the BOM and the header row.
pub(crate) fn write_csv_head(
    out: &mut impl std::io::Write,
    names: &[String],
) -> Result<(), String> {
    out.write_all(b"\xEF\xBB\xBF").map_err(io)?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(names).map_err(io)?;
    w.flush().map_err(io)
}

/// [`write_csv_rows`]'s rows (after [`write_csv_head`]) for rows given as polars frames:
/// the same bytes (each cell as [`csv_cell`] writes it), read from the frames' columns in
/// place, with no [`Table`] and no string copied per cell. For the monthly files of
/// `cems-hourly` (millions of rows).
pub(crate) fn write_csv_records(
    out: &mut impl std::io::Write,
    frames: impl FnOnce(&mut FrameSink<'_>) -> Result<(), String>,
) -> Result<(), String> {
    use polars::prelude::DataType;
    use std::fmt::Write as _;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let mut buf = String::new();
    frames(&mut |df| {
        let columns = df.columns();
        for row in 0..df.height() {
            for c in columns {
                let polars = |e: polars::error::PolarsError| e.to_string();
                buf.clear();
                match c.dtype() {
                    DataType::String => {
                        if let Some(s) = c.str().map_err(polars)?.get(row) {
                            buf.push_str(&neutralise_formula(s));
                        }
                    }
                    DataType::Float64 => {
                        if let Some(v) = c.f64().map_err(polars)?.get(row) {
                            if v == 0.0 {
                                buf.push('0');
                            } else {
                                let _ = write!(buf, "{v}");
                            }
                        }
                    }
                    DataType::Int64 => {
                        if let Some(v) = c.i64().map_err(polars)?.get(row) {
                            let _ = write!(buf, "{v}");
                        }
                    }
                    DataType::Boolean => {
                        if let Some(v) = c.bool().map_err(polars)?.get(row) {
                            buf.push_str(if v { "true" } else { "false" });
                        }
                    }
                    other => {
                        return Err(format!("column {} has unsupported type {other}", c.name()));
                    }
                }
                w.write_field(&buf).map_err(io)?;
            }
            w.write_record(None::<&[u8]>).map_err(io)?;
        }
        Ok(())
    })?;
    w.flush().map_err(io)
}

fn csv_cell(c: &Values, row: usize) -> String {
    match c {
        Values::Str(v) => v[row]
            .as_deref()
            .map(|s| neutralise_formula(s).into_owned())
            .unwrap_or_default(),
        Values::F64(v) => v[row].map(number).unwrap_or_default(),
        Values::I64(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
        Values::Bool(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
    }
}

/// JSON: an array of row objects whose keys follow the column order.
pub fn to_json(table: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    write_json_rows(&mut out, &table.names, |f| f(table)).expect("writing to memory");
    out
}

/// Writes [`to_json`]'s bytes of a dataset.
pub fn write_json(dataset: &Dataset, out: &mut impl std::io::Write) -> Result<(), String> {
    let names: Vec<String> = dataset.schema()?.into_iter().map(|(n, _)| n).collect();
    write_json_rows(out, &names, |f| dataset.each_block(f))
}

/// The JSON array of the rows of the tables `blocks` passes on, in order, keyed by `names`.
fn write_json_rows(
    out: &mut impl std::io::Write,
    names: &[String],
    blocks: impl FnOnce(&mut Blocks<'_>) -> Result<(), String>,
) -> Result<(), String> {
    out.write_all(b"[").map_err(io)?;
    let mut first = true;
    blocks(&mut |table: &Table| write_json_records(out, names, table, &mut first))?;
    out.write_all(b"\n]\n").map_err(io)
}

/// The row objects of `table` keyed by `names`, each after `,\n` (`\n` for the array's
/// first, then `first` is false): [`write_json_rows`]'s records, for a file written a day
/// of rows at a time (the monthly files, [`crate::month_files`]).
pub(crate) fn write_json_records(
    out: &mut impl std::io::Write,
    names: &[String],
    table: &Table,
    first: &mut bool,
) -> Result<(), String> {
    let keys: Vec<String> = names
        .iter()
        .map(|n| serde_json::to_string(n).map_err(io))
        .collect::<Result<_, _>>()?;
    let mut line = String::new();
    for row in 0..table.rows() {
        line.clear();
        line.push_str(if *first { "\n{" } else { ",\n{" });
        *first = false;
        for (i, (c, key)) in table.columns.iter().zip(&keys).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(key);
            line.push(':');
            let v = match c {
                Values::Str(v) => v[row]
                    .as_ref()
                    .map(|s| serde_json::to_string(s).map_err(io))
                    .transpose()?,
                Values::F64(v) => v[row].map(number),
                Values::I64(v) => v[row].map(|x| x.to_string()),
                Values::Bool(v) => v[row].map(|x| x.to_string()),
            };
            line.push_str(v.as_deref().unwrap_or("null"));
        }
        line.push('}');
        out.write_all(line.as_bytes()).map_err(io)?;
    }
    Ok(())
}

/// Writes a dataset's file in `format`: [`write_csv`], [`write_json`] or its Parquet
/// ([`crate::frame::write_parquet`]'s bytes).
pub fn write_file(
    dataset: &Dataset,
    format: Format,
    out: &mut impl std::io::Write,
) -> Result<(), String> {
    match format {
        Format::Csv => write_csv(dataset, out),
        Format::Json => write_json(dataset, out),
        Format::Parquet => {
            let bytes = match dataset {
                Dataset::Table(t) => crate::frame::write_parquet(t),
                Dataset::Frame(df) => crate::frame::write_frame_parquet(df),
            }
            .map_err(|e| format!("writing Parquet: {e}"))?;
            out.write_all(&bytes).map_err(io)
        }
    }
}

/// The sha256 (lowercase hex) and size of what `write` writes, without keeping the bytes.
pub fn hash_of(
    write: impl FnOnce(&mut HashWriter) -> Result<(), String>,
) -> Result<(String, u64), String> {
    use sha2::Digest;
    let mut w = HashWriter::default();
    write(&mut w)?;
    Ok((hex::encode(w.hash.finalize()), w.bytes))
}

/// A writer that keeps only the sha256 and size of what is written to it.
#[derive(Default)]
pub struct HashWriter {
    hash: sha2::Sha256,
    bytes: u64,
}

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        self.hash.update(buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fails when a table has a column the field dictionary does not describe in both languages.
pub fn schema_fields(schema: &[(String, Kind)], fields: &Fields) -> Result<Vec<Field>, String> {
    schema
        .iter()
        .map(|(name, kind)| {
            let def = fields.get(name).ok_or_else(|| {
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
    check_schema(id, &table.schema())
}

/// [`check_shape`] of a dataset, a table or a frame.
pub fn check_dataset_shape(id: &str, dataset: &Dataset) -> Result<(), String> {
    check_schema(id, &dataset.schema()?)
}

fn check_schema(id: &str, schema: &[(String, Kind)]) -> Result<(), String> {
    let Some(dataset) = DatasetId::parse(id) else {
        return Err(format!(
            "{id} is not a published dataset (envgov_dataset::published::DatasetId)"
        ));
    };
    let have: Vec<(String, &str)> = schema
        .iter()
        .map(|(name, kind)| (name.clone(), kind.frictionless()))
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

/// One data file of a dataset, as its data package lists it (the bytes are written again
/// with [`write_file`] when they are stored).
pub struct RenderedFile {
    pub name: String,
    pub format: Format,
    pub sha256: String,
    pub bytes: u64,
}

/// The data files of one dataset, in publishing order, and its data package.
pub struct Rendered {
    pub files: Vec<RenderedFile>,
    pub package: DataPackage,
}

/// Renders a dataset's data package: each file is written once to be hashed, then dropped
/// (no two files' bytes, nor one whole file, are held).
pub fn render(
    def: &DatasetDef,
    dataset: &Dataset,
    fields: &Fields,
    data_date: &str,
    archives: Vec<String>,
) -> Result<Rendered, String> {
    check_dataset_shape(&def.id, dataset)?;
    let schema = TableSchema {
        fields: schema_fields(&dataset.schema()?, fields)?,
        primary_key: def.primary_key.clone(),
    };
    let mut files = Vec::new();
    let mut resources = Vec::new();
    for format in Format::ALL {
        let name = layout::dataset_file_name(&def.id, format).map_err(|e| e.to_string())?;
        let (sha256, bytes) = hash_of(|w| write_file(dataset, format, w))?;
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
            compression: None,
            bytes,
            hash: format!("sha256:{sha256}"),
            schema: Some(schema.clone()),
            rows: dataset.rows() as u64,
        });
        files.push(RenderedFile {
            name,
            format,
            sha256,
            bytes,
        });
    }
    let package = package(def, data_date, archives, resources);
    Ok(Rendered { files, package })
}

/// The data package of a [`StoredDataset`]: one resource per stored file, each with the
/// dataset's schema.
pub fn stored_package(
    def: &DatasetDef,
    stored: &StoredDataset,
    fields: &Fields,
    data_date: &str,
) -> Result<DataPackage, String> {
    check_schema(&def.id, &stored.schema)?;
    let schema = TableSchema {
        fields: schema_fields(&stored.schema, fields)?,
        primary_key: def.primary_key.clone(),
    };
    let resources = stored
        .files
        .iter()
        .map(|f| {
            let csv = f.format == "csv";
            Resource {
                profile: if csv {
                    "tabular-data-resource"
                } else {
                    "data-resource"
                }
                .into(),
                name: f.name.replace('.', "-"),
                path: f.name.clone(),
                format: f.format.clone(),
                mediatype: match f.format.as_str() {
                    "csv" => Format::Csv.media_type(),
                    "json" => Format::Json.media_type(),
                    _ => Format::Parquet.media_type(),
                }
                .into(),
                encoding: (f.format != "parquet").then(|| "utf-8".to_string()),
                compression: f.compression.clone(),
                bytes: f.bytes,
                hash: format!("sha256:{}", f.sha256),
                schema: Some(schema.clone()),
                rows: f.rows,
            }
        })
        .collect();
    Ok(package(def, data_date, stored.archives.clone(), resources))
}

fn package(
    def: &DatasetDef,
    data_date: &str,
    archives: Vec<String>,
    resources: Vec<Resource>,
) -> DataPackage {
    DataPackage {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;

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

    /// A table of every kind of cell publishing treats specially, `rows` long.
    fn awkward(rows: usize) -> Table {
        let mut t = Table::new(&[
            ("text", Kind::Str),
            ("v", Kind::F64),
            ("n", Kind::I64),
            ("b", Kind::Bool),
        ]);
        let texts = [
            Some("=1+2"),
            Some("-3"),
            Some("北京市朝阳区,\"引号\""),
            None,
            Some(""),
            Some("\tx\r\ny"),
        ];
        let floats = [
            Some(-1.5),
            Some(0.0),
            Some(-0.0),
            None,
            Some(1e300),
            Some(5e-324),
            Some(0.1 + 0.2),
        ];
        for i in 0..rows {
            t.push(vec![
                Cell::Str(texts[i % texts.len()].map(str::to_string)),
                Cell::F64(floats[i % floats.len()]),
                Cell::I64((i % 5 != 0).then_some(i as i64 - 7)),
                Cell::Bool((i % 3 != 0).then_some(i % 2 == 0)),
            ]);
        }
        t
    }

    fn written(dataset: &Dataset, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        write_file(dataset, format, &mut out).unwrap();
        out
    }

    #[test]
    fn a_frame_is_published_as_the_same_bytes_as_its_table() {
        // Three blocks and a part, and one row: the same bytes either way.
        for rows in [BLOCK_ROWS * 3 + 5, 1, 0] {
            let t = awkward(rows);
            let frame = crate::frame::publishable(crate::frame::to_frame(&t).unwrap()).unwrap();
            let frame = Dataset::Frame(frame);
            assert_eq!(written(&frame, Format::Csv), to_csv(&t), "{rows} rows");
            assert_eq!(written(&frame, Format::Json), to_json(&t), "{rows} rows");
            assert_eq!(
                written(&frame, Format::Parquet),
                crate::frame::write_parquet(&t).unwrap()
            );
            let table = Dataset::Table(t);
            assert_eq!(frame.schema(), table.schema());
            for format in Format::ALL {
                let bytes = written(&table, format);
                let (sha, size) = hash_of(|w| write_file(&frame, format, w)).unwrap();
                assert_eq!(sha, crate::ledger::sha256_hex(&bytes));
                assert_eq!(size, bytes.len() as u64);
            }
        }
    }

    #[test]
    fn a_frame_is_rendered_cell_by_cell_as_a_table_is() {
        let mut t = Table::new(&[
            ("text", Kind::Str),
            ("v", Kind::F64),
            ("n", Kind::I64),
            ("b", Kind::Bool),
        ]);
        type Row = (Option<&'static str>, Option<f64>, Option<i64>, Option<bool>);
        let rows: [Row; 6] = [
            (Some("=1+2"), Some(-1.5), None, None),
            (Some("-3"), Some(-0.0), Some(0), Some(false)),
            (
                Some("北京市朝阳区,\"引号\""),
                Some(1e21),
                Some(-6),
                Some(true),
            ),
            (None, Some(1.5e-7), None, None),
            (Some(""), Some(0.1 + 0.2), Some(123), None),
            (Some("\tx\r\ny"), None, Some(7), Some(false)),
        ];
        for (text, v, n, b) in rows {
            t.push(vec![
                Cell::Str(text.map(str::to_string)),
                Cell::F64(v),
                Cell::I64(n),
                Cell::Bool(b),
            ]);
        }
        let frame = Dataset::Frame(crate::frame::to_frame(&t).unwrap());
        assert_eq!(
            String::from_utf8(written(&frame, Format::Csv)).unwrap(),
            "\u{feff}text,v,n,b\r\n\
             '=1+2,-1.5,,\r\n\
             '-3,0,0,false\r\n\
             \"北京市朝阳区,\"\"引号\"\"\",1000000000000000000000,-6,true\r\n\
             ,0.00000015,,\r\n\
             ,0.30000000000000004,123,\r\n\
             \"'\tx\r\ny\",,7,false\r\n"
        );
        assert_eq!(
            String::from_utf8(written(&frame, Format::Json)).unwrap(),
            "[\n\
             {\"text\":\"=1+2\",\"v\":-1.5,\"n\":null,\"b\":null},\n\
             {\"text\":\"-3\",\"v\":0,\"n\":0,\"b\":false},\n\
             {\"text\":\"北京市朝阳区,\\\"引号\\\"\",\"v\":1000000000000000000000,\"n\":-6,\"b\":true},\n\
             {\"text\":null,\"v\":0.00000015,\"n\":null,\"b\":null},\n\
             {\"text\":\"\",\"v\":0.30000000000000004,\"n\":123,\"b\":null},\n\
             {\"text\":\"\\tx\\r\\ny\",\"v\":null,\"n\":7,\"b\":false}\n\
             ]\n"
        );
    }

    #[test]
    fn frames_written_in_place_give_the_csv_of_their_rows_as_a_table() {
        let mut t = Table::new(&[
            ("text", Kind::Str),
            ("v", Kind::F64),
            ("n", Kind::I64),
            ("b", Kind::Bool),
        ]);
        type Row = (Option<&'static str>, Option<f64>, Option<i64>, Option<bool>);
        let rows: [Row; 7] = [
            (Some("=1+2"), Some(-1.5), None, None),
            (Some("-3"), Some(-0.0), Some(0), Some(false)),
            (
                Some("北京市朝阳区,\"引号\""),
                Some(1e21),
                Some(-6),
                Some(true),
            ),
            (None, Some(1.5e-7), None, None),
            (Some(""), Some(0.1 + 0.2), Some(123), None),
            (Some("\tx\r\ny"), None, Some(7), Some(false)),
            (
                Some("@SUM(A1)"),
                Some(f64::MIN_POSITIVE),
                Some(i64::MIN),
                Some(true),
            ),
        ];
        for (text, v, n, b) in rows {
            t.push(vec![
                Cell::Str(text.map(str::to_string)),
                Cell::F64(v),
                Cell::I64(n),
                Cell::Bool(b),
            ]);
        }
        let df = crate::frame::to_frame(&t).unwrap();
        let mut out = Vec::new();
        // The head, then two frames (rows 0-3, then 4-6): the rows in order.
        write_csv_head(&mut out, &t.names).unwrap();
        write_csv_records(&mut out, |sink| {
            sink(&df.slice(0, 4))?;
            sink(&df.slice(4, 10))
        })
        .unwrap();
        assert_eq!(out, to_csv(&t));
        // 2.2250738585072014e-308 in full: "0.", 307 zeros, then its 17 digits.
        let tiny = format!("0.{}22250738585072014", "0".repeat(307));
        let last = format!("'@SUM(A1),{tiny},-9223372036854775808,true\r\n");
        assert!(String::from_utf8(out).unwrap().ends_with(&last));
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
