//! What every validator shares: the limits, rejections and file results, the context a
//! validator runs in, and the helpers that reject a file whole, decode text and parse dates.
//!
//! Stage: validate (pure). Imports the registry's types ([`super::units`]), never a
//! validator.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::units::Registry;
use crate::decode::{Encoding, decode};
use crate::table::{Batch, Kind, Table};
use chrono::NaiveDate;
use envgov_dataset::report::FileCounts;

/// The longest line (a CSV row with its line end, or an HJ 212 packet line) a validator reads:
/// 64 KiB. A longer one is rejected whole as `line_too_long`.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The longest registry line (one unit with all its outlets and facilities): 1 MiB. A unit
/// with 200 outlets and 200 facilities is about 150 KB.
pub const MAX_REGISTRY_LINE_BYTES: usize = 1024 * 1024;

/// The most fields a CSV row may have (the widest header has 14): a row with more is
/// rejected as `too_many_fields`, with its count and this limit.
pub const MAX_FIELDS: usize = 256;

/// A rejected value is recorded with at most this many characters (then `…`).
pub const MAX_VALUE_CHARS: usize = 200;

/// A value as recorded in a rejection: its first [`MAX_VALUE_CHARS`] characters, then `…`.
pub(crate) fn clip(s: &str) -> String {
    clip_to(s, MAX_VALUE_CHARS)
}

/// The first `n` characters of `s`, then `…` if there was more.
pub(crate) fn clip_to(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", s.get(..at).unwrap_or_default()),
    }
}

/// Whether a rejection removed a whole record or only one value inside an accepted record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The record (row, packet, line) was rejected; it counts in `rejected`.
    Record,
    /// One value was excluded from an accepted record (a sentinel, an impossible value).
    Value,
    /// An irregularity that was tolerated (whitespace inside an HJ 212 field).
    Warning,
    /// A revision of a file failed validation as a whole and is held, not in force (one
    /// row for the file; its records are not the partition's).
    Held,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Record => "record",
            Scope::Value => "value",
            Scope::Warning => "warning",
            Scope::Held => "held",
        }
    }
}

/// Why a record or value was refused, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub raw_key: String,
    /// Line number in the file (packets are one per line; the CSV header is line 1).
    pub line: u64,
    pub field: String,
    pub value: String,
    /// A stable machine-readable reason code (`bad_crc`, `malformed_uscc`, ...).
    pub reason_code: &'static str,
    /// A readable explanation.
    pub reason: String,
    pub scope: Scope,
}

/// The outcome of validating one raw file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub counts: FileCounts,
    pub accepted: Table,
    pub rejections: Vec<Rejection>,
}

/// The outcome of validating one raw file with the accepted rows as a columnar [`Batch`]
/// (what the partition writer takes); [`FileBatch::into_result`] gives the [`FileResult`].
#[derive(Debug, Clone)]
pub struct FileBatch {
    pub counts: FileCounts,
    pub accepted: Batch,
    pub rejections: Vec<Rejection>,
}

impl FileBatch {
    pub fn into_result(self) -> FileResult {
        FileResult {
            counts: self.counts,
            accepted: self.accepted.into_table(),
            rejections: self.rejections,
        }
    }
}

impl From<FileResult> for FileBatch {
    fn from(r: FileResult) -> Self {
        FileBatch {
            counts: r.counts,
            accepted: r.accepted.into(),
            rejections: r.rejections,
        }
    }
}

/// What a validator needs besides the file itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub curated: &'a envgov_curated::Curated,
    /// The registry in force on the file's date (empty for the registry itself).
    pub registry: &'a Registry,
    /// The date of the folder the file was delivered in.
    pub date: NaiveDate,
}

/// Rejects a file whole: every one of its lines counts as rejected (counted by newline
/// bytes, which are the same in every encoding envgov accepts), so nothing vanishes from
/// the accounting.
pub(crate) fn reject_whole_file(
    key: &str,
    bytes: &[u8],
    schema: &[(&str, Kind)],
    message: String,
) -> FileResult {
    let lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
        .max(1) as u64;
    FileResult {
        counts: FileCounts {
            read: lines,
            rejected: lines,
            encoding: "unknown".into(),
            file_error: Some(message.clone()),
            ..FileCounts::default()
        },
        accepted: Table::new(schema),
        rejections: vec![Rejection {
            raw_key: key.to_string(),
            line: 0,
            field: "file".into(),
            value: String::new(),
            reason_code: "undecodable_file",
            reason: format!("{message}; every line of the file is rejected"),
            scope: Scope::Record,
        }],
    }
}

/// Decodes a text file, or rejects it whole.
pub(crate) fn decode_or_reject(
    key: &str,
    bytes: &[u8],
    schema: &[(&str, Kind)],
) -> Result<(String, Encoding), Box<FileResult>> {
    decode(bytes).map_err(|e| Box::new(reject_whole_file(key, bytes, schema, e.to_string())))
}

/// Parses a local (UTC+08:00) timestamp in the forms the sources use.
pub fn parse_local_datetime(s: &str) -> Option<chrono::NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y%m%d%H%M%S",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
}

/// Parses a date in the forms the sources use (`2026-01-05`, `2026/01/05`, `20260105`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// Formats a local time with its explicit offset (`2026-01-05T13:00:00+08:00`).
pub fn local_iso(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+08:00").to_string()
}
