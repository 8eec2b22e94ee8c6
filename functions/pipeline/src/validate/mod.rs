//! Validation: raw records → typed rows or rejections.
//!
//! Stage: validate (pure). Each source's validator takes a raw file's key and bytes (and the
//! reference data it needs) and returns a [`FileResult`]: the accepted rows as a [`Table`],
//! the rejections with file, line, field, value and reason, and the file's counts, for which
//! `read == accepted + rejected` holds by construction. Validators never touch storage.
//!
//! No input makes a validator panic (the lints below keep indexing, `unwrap` and `expect` out
//! of this module and its children; tests are exempt). Lines and rows are capped
//! ([`MAX_LINE_BYTES`], [`MAX_REGISTRY_LINE_BYTES`], [`MAX_FIELDS`]) with a rejection that
//! names the limit, and a rejected value is kept to its first [`MAX_VALUE_CHARS`] characters.

// The submodules depend one way: `units` (the registry's types) ← `common` (limits,
// rejections, the validators' context and helpers) ← `cems`, `registry`, `tabular` ← this
// module, which only dispatches a file to its validator.
//
// Inherited by `cems`, `registry` and `tabular` (each repeats it). Not denied here:
// `clippy::arithmetic_side_effects`, whose only integer arithmetic in these modules is
// counting lines and records of one file (`+= 1` on u64, bounded by the file's length).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod cems;
pub mod common;
pub mod registry;
pub mod tabular;
pub mod units;

use crate::table::Kind;
use envgov_dataset::Source;

pub use common::{
    Context, FileBatch, FileResult, MAX_FIELDS, MAX_LINE_BYTES, MAX_REGISTRY_LINE_BYTES,
    MAX_VALUE_CHARS, Rejection, Scope, local_iso, parse_date, parse_local_datetime,
};
pub use units::{Outlet, Registry, Unit};

/// The accepted-row schema of a source's validated partition.
pub fn schema(source: Source) -> &'static [(&'static str, Kind)] {
    match source {
        Source::Enterprises => registry::SCHEMA,
        Source::Cems => cems::SCHEMA,
        other => tabular::spec(other).schema,
    }
}

/// Validates one raw file of a source.
pub fn validate_file(source: Source, key: &str, bytes: &[u8], ctx: Context<'_>) -> FileResult {
    validate_batch(source, key, bytes, ctx).into_result()
}

/// Validates one raw file of a source, giving the accepted rows as a columnar batch.
pub fn validate_batch(source: Source, key: &str, bytes: &[u8], ctx: Context<'_>) -> FileBatch {
    let mut result = match source {
        Source::Enterprises => registry::validate(key, bytes, ctx).into(),
        Source::Cems => cems::validate(key, bytes, ctx),
        other => tabular::validate(other, key, bytes, ctx).into(),
    };
    result.counts.key = key.to_string();
    result.counts.bytes = bytes.len() as u64;
    result.counts.sha256 = crate::ledger::sha256_hex(bytes);
    debug_assert_eq!(
        result.counts.read,
        result.counts.accepted + result.counts.rejected
    );
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::common::{clip, clip_to};
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn clips_long_values_on_character_boundaries() {
        assert_eq!(clip_to("中文字", 2), "中文…");
        assert_eq!(clip_to("中文", 2), "中文");
        assert_eq!(clip(&"x".repeat(201)), format!("{}…", "x".repeat(200)));
    }

    #[test]
    fn parses_the_date_forms_seen_in_government_files() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        for s in ["2026-01-05", "2026/01/05", "20260105", " 2026-01-05 "] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("2026-02-30"), None);
        assert!(parse_local_datetime("2026-01-05 10:00").is_some());
        assert!(parse_local_datetime("2026-01-05 25:00").is_none());
    }
}
