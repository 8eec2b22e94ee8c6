//! Encoding a month's files of a dataset published a file a month (`cems-hourly`,
//! `cems-daily`, `self-monitoring`, see [`crate::monthly`]) by streaming its days: one day's
//! rows (a polars frame) at a time are appended to each of the month's files, then dropped.
//! What is held is one day's frame and the month's encoded files.
//!
//! Every format gives the bytes the whole-table writers of [`crate::publish`] give for the
//! month's rows: CSV (UTF-8 with a BOM, CRLF, formula cells neutralised; plain, or gzip
//! members: the head's, then one a day, which every gzip reader reads as one stream,
//! RFC 1952), JSON (an array of row objects) and Parquet (zstd, a row group per 64k rows
//! of a day).
//!
//! Stage: publish (pure: frames in, bytes out). Imports no later stage.

use crate::error::JobError;
use crate::table::Kind;
use envgov_dataset::layout::Format;
use envgov_dataset::published::{ColumnType, DatasetId};
use polars::prelude::*;

/// Rows per Parquet row group (as the other datasets' Parquet files).
const ROW_GROUP: usize = 65_536;

/// Rows of a day converted to a table at a time for the JSON file.
const JSON_BLOCK: usize = 16_384;

/// One file of a month: its format and whether it is gzip-compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub format: Format,
    pub gzip: bool,
}

/// A month's encoded file.
pub struct EncodedFile {
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

/// A month's files, in the order of the kinds asked for, and its rows.
pub struct Encoded {
    pub files: Vec<EncodedFile>,
    pub rows: u64,
}

/// A day of a month: its rows in the published shape and, for a gzip CSV, its CSV member
/// when it is kept from an earlier night ([`csv_member`] of the rows; encoded when `None`).
pub struct MonthDay {
    pub rows: DataFrame,
    pub csv_member: Option<Vec<u8>>,
}

fn polars(what: &str) -> impl FnOnce(PolarsError) -> JobError + '_ {
    move |source| JobError::Polars {
        what: what.to_string(),
        source,
    }
}

/// The published columns of a dataset, in order, as the pipeline's kinds.
pub fn schema(id: DatasetId) -> Vec<(String, Kind)> {
    id.shape()
        .iter()
        .map(|(n, t)| {
            let kind = match t {
                ColumnType::Str => Kind::Str,
                ColumnType::Number => Kind::F64,
                ColumnType::Integer => Kind::I64,
                ColumnType::Boolean => Kind::Bool,
            };
            (n.to_string(), kind)
        })
        .collect()
}

/// The polars schema of a dataset's published columns (for the Parquet writer).
fn polars_schema(id: DatasetId) -> Schema {
    schema(id)
        .into_iter()
        .map(|(n, k)| {
            let dtype = match k {
                Kind::Str => DataType::String,
                Kind::F64 => DataType::Float64,
                Kind::I64 => DataType::Int64,
                Kind::Bool => DataType::Boolean,
            };
            Field::new(n.into(), dtype)
        })
        .collect()
}

/// Gzip (no file name, no time: the same bytes give the same member) of what `write` writes.
pub fn gzip(write: impl FnOnce(&mut Vec<u8>) -> Result<(), String>) -> Result<Vec<u8>, JobError> {
    let mut plain = Vec::new();
    write(&mut plain).map_err(JobError::Definition)?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &plain)
        .and_then(|()| gz.finish())
        .map_err(|e| JobError::Definition(format!("gzip: {e}")))
}

/// One day's CSV rows (no BOM, no header) as a gzip member.
pub fn csv_member(rows: &DataFrame) -> Result<Vec<u8>, JobError> {
    gzip(|out| crate::publish::write_csv_records(out, |sink| sink(rows)))
}

/// The text formats' buffers of a month being encoded.
struct Texts {
    names: Vec<String>,
    csv: Option<(Vec<u8>, bool)>,
    json: Option<(Vec<u8>, bool)>,
}

impl Texts {
    fn new(id: DatasetId, kinds: &[FileKind]) -> Result<Self, JobError> {
        let names: Vec<String> = schema(id).into_iter().map(|(n, _)| n).collect();
        let csv = match kinds.iter().find(|k| k.format == Format::Csv) {
            Some(k) if k.gzip => Some((
                gzip(|out| crate::publish::write_csv_head(out, &names))?,
                true,
            )),
            Some(_) => {
                let mut out = Vec::new();
                crate::publish::write_csv_head(&mut out, &names).map_err(JobError::Definition)?;
                Some((out, false))
            }
            None => None,
        };
        let json = kinds
            .iter()
            .any(|k| k.format == Format::Json)
            .then(|| (b"[".to_vec(), true));
        Ok(Texts { names, csv, json })
    }

    fn day(&mut self, day: &MonthDay) -> Result<(), JobError> {
        if let Some((out, gz)) = &mut self.csv {
            if *gz {
                match &day.csv_member {
                    Some(member) => out.extend_from_slice(member),
                    None => out.extend_from_slice(&csv_member(&day.rows)?),
                }
            } else {
                crate::publish::write_csv_records(out, |sink| sink(&day.rows))
                    .map_err(JobError::Definition)?;
            }
        }
        if let Some((out, first)) = &mut self.json {
            let mut offset = 0;
            while offset < day.rows.height() {
                let block = crate::frame::rows_as_table(&day.rows, offset, JSON_BLOCK)
                    .map_err(polars("JSON rows of a month"))?;
                crate::publish::write_json_records(out, &self.names, &block, first)
                    .map_err(JobError::Definition)?;
                offset += JSON_BLOCK;
            }
        }
        Ok(())
    }
}

/// Encodes a month's files of `id` in the formats `kinds` from the days `days` gives (one
/// at a time, in date order), holding one day's frame at a time.
pub fn encode_month(
    id: DatasetId,
    kinds: &[FileKind],
    mut days: impl FnMut(&mut dyn FnMut(MonthDay) -> Result<(), JobError>) -> Result<(), JobError>,
) -> Result<Encoded, JobError> {
    let mut texts = Texts::new(id, kinds)?;
    let with_parquet = kinds.iter().any(|k| k.format == Format::Parquet);
    let mut parquet = Vec::new();
    let mut rows = 0u64;
    {
        let mut writer = if with_parquet {
            Some(
                ParquetWriter::new(&mut parquet)
                    .with_compression(ParquetCompression::Zstd(None))
                    .set_parallel(false)
                    .batched(&polars_schema(id))
                    .map_err(polars("a month's Parquet"))?,
            )
        } else {
            None
        };
        days(&mut |day: MonthDay| {
            rows += day.rows.height() as u64;
            if let Some(writer) = &mut writer {
                let mut offset = 0;
                while offset < day.rows.height() {
                    let part = day.rows.slice(offset as i64, ROW_GROUP);
                    writer
                        .write_batch(&part)
                        .map_err(polars("a month's Parquet"))?;
                    offset += ROW_GROUP;
                }
            }
            texts.day(&day)
        })?;
        if let Some(writer) = writer {
            writer.finish().map_err(polars("a month's Parquet"))?;
        }
    }
    let mut files = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let bytes = match kind.format {
            Format::Parquet => std::mem::take(&mut parquet),
            Format::Csv => texts.csv.take().map(|(b, _)| b).unwrap_or_default(),
            Format::Json => {
                let mut b = texts.json.take().map(|(b, _)| b).unwrap_or_default();
                b.extend_from_slice(b"\n]\n");
                b
            }
        };
        let bytes = if kind.gzip && kind.format != Format::Csv {
            gzip(|out| {
                out.extend_from_slice(&bytes);
                Ok(())
            })?
        } else {
            bytes
        };
        files.push(EncodedFile { kind: *kind, bytes });
    }
    Ok(Encoded { files, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Table};

    /// Two rows of `plan-indicators`' shape would do, but a monthly dataset's shape is
    /// needed: self-monitoring rows built from its published columns, all null but a few.
    fn day(values: &[(&str, f64)]) -> DataFrame {
        let shape = schema(DatasetId::SelfMonitoring);
        let kinds: Vec<(&str, Kind)> = shape.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        let mut t = Table::new(&kinds);
        for (uscc, v) in values {
            let row = shape
                .iter()
                .map(|(n, k)| match (n.as_str(), k) {
                    ("uscc", _) => Cell::from(*uscc),
                    ("value", _) => Cell::from(*v),
                    (_, Kind::Str) => Cell::Str(None),
                    (_, Kind::F64) => Cell::F64(None),
                    (_, Kind::I64) => Cell::I64(None),
                    (_, Kind::Bool) => Cell::Bool(None),
                })
                .collect();
            t.push(row);
        }
        crate::frame::publishable(crate::frame::to_frame(&t).unwrap()).unwrap()
    }

    #[test]
    fn a_month_streamed_by_days_gives_the_bytes_of_its_rows_written_whole() {
        let kinds = [
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
        let (a, b) = (day(&[("=A", 1.5)]), day(&[("B", 0.0), ("C", -2.25)]));
        let encoded = encode_month(DatasetId::SelfMonitoring, &kinds, |emit| {
            for rows in [a.clone(), b.clone()] {
                emit(MonthDay {
                    rows,
                    csv_member: None,
                })?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(encoded.rows, 3);
        let whole = crate::frame::from_frame(&a.vstack(&b).unwrap()).unwrap();
        assert_eq!(encoded.files[0].bytes, crate::publish::to_csv(&whole));
        assert_eq!(encoded.files[2].bytes, crate::publish::to_json(&whole));
        let parquet = crate::frame::read_parquet(&encoded.files[1].bytes).unwrap();
        assert_eq!(parquet.rows(), 3);
        assert_eq!(parquet.str_column("uscc")[2].as_deref(), Some("C"));
        // The formula cell is neutralised; the header and 3 rows end with CRLF.
        let csv = String::from_utf8(encoded.files[0].bytes.clone()).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        assert_eq!(csv.matches("\r\n").count(), 4);
        assert!(csv.contains("\r\n'=A,"));
        // An empty month: the head alone, an empty JSON array.
        let empty = encode_month(DatasetId::SelfMonitoring, &kinds, |_| Ok(())).unwrap();
        assert_eq!(empty.rows, 0);
        assert_eq!(empty.files[2].bytes, b"[\n]\n");
    }
}
