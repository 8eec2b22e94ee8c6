//! The storage-key layout, the same in the local folder and in the S3 bucket.
//!
//! ```text
//! raw/{source}/{YYYY-MM-DD}/{file}                  immutable, as delivered
//! validated/{source}/date={YYYY-MM-DD}/part.parquet typed, Hive-style partitions
//! rejects/{source}/date={YYYY-MM-DD}/rejects.csv    file, line, field, value, reason
//! runs/{YYYY-MM-DD}/report.json                     row accounting of a run
//! runs/ingest/{source}/{YYYY-MM-DD}/{file}.json     the ingest report on one raw file
//! datasets/{id}/{id}.csv|.parquet|.json             latest: the stable URL
//! datasets/{id}/datapackage.json                    schema, licence, sources, hashes
//! datasets/{id}/archive/{YYYY-MM-DD}/...            immutable dated snapshot
//! site/releases/{release-id}/...                    a complete rendered site
//! site/current                                      the pointer that makes a release live
//! ```
//!
//! Every key is built here from checked parts; no key is ever built from data without
//! passing [`check_segment`].

use crate::Source;

/// Why a key part was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key segment {segment:?}: {reason}")]
pub struct BadSegment {
    pub segment: String,
    pub reason: &'static str,
}

/// Accepts a single path segment made of ASCII letters, digits, `-`, `_` and `.`, not
/// starting with a dot, at most 200 bytes. This keeps data-derived names from escaping
/// their folder or colliding with the layout.
pub fn check_segment(segment: &str) -> Result<&str, BadSegment> {
    let bad = |reason| {
        Err(BadSegment {
            segment: segment.to_string(),
            reason,
        })
    };
    if segment.is_empty() {
        return bad("empty");
    }
    if segment.len() > 200 {
        return bad("longer than 200 bytes");
    }
    if segment.starts_with('.') {
        return bad("starts with a dot");
    }
    if !segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return bad("only ASCII letters, digits, '-', '_' and '.' are allowed");
    }
    Ok(segment)
}

/// Accepts an ISO date `YYYY-MM-DD` (shape only; calendar checks are the caller's).
pub fn check_date(date: &str) -> Result<&str, BadSegment> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        Ok(date)
    } else {
        Err(BadSegment {
            segment: date.to_string(),
            reason: "not a YYYY-MM-DD date",
        })
    }
}

pub fn raw_prefix(source: Source) -> String {
    format!("raw/{source}/")
}

pub fn raw_key(source: Source, date: &str, file: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "raw/{source}/{}/{}",
        check_date(date)?,
        check_segment(file)?
    ))
}

/// Splits a raw key into source, date and file name.
pub fn parse_raw_key(key: &str) -> Result<(Source, String, String), BadSegment> {
    let bad = |reason| BadSegment {
        segment: key.to_string(),
        reason,
    };
    let mut parts = key.split('/');
    if parts.next() != Some("raw") {
        return Err(bad("not under raw/"));
    }
    let source = parts
        .next()
        .and_then(Source::parse)
        .ok_or_else(|| bad("unknown source"))?;
    let date = parts.next().ok_or_else(|| bad("no date folder"))?;
    let file = parts.next().ok_or_else(|| bad("no file name"))?;
    if parts.next().is_some() {
        return Err(bad("nested deeper than raw/{source}/{date}/{file}"));
    }
    check_date(date)?;
    check_segment(file)?;
    Ok((source, date.to_string(), file.to_string()))
}

pub fn validated_key(source: Source, date: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "validated/{source}/date={}/part.parquet",
        check_date(date)?
    ))
}

/// The manifest of a validated partition: which raw files (and their hashes) it was made from.
pub fn validated_manifest_key(source: Source, date: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "validated/{source}/date={}/manifest.json",
        check_date(date)?
    ))
}

pub fn rejects_key(source: Source, date: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "rejects/{source}/date={}/rejects.csv",
        check_date(date)?
    ))
}

pub fn run_report_key(date: &str) -> Result<String, BadSegment> {
    Ok(format!("runs/{}/report.json", check_date(date)?))
}

/// The ingest function's report on one delivered raw file, readable by its provider:
/// `runs/ingest/{source}/{YYYY-MM-DD}/{file}.json` for `raw/{source}/{YYYY-MM-DD}/{file}`.
pub fn ingest_report_key(source: Source, date: &str, file: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "runs/ingest/{source}/{}/{}.json",
        check_date(date)?,
        check_segment(file)?
    ))
}

/// The ledger of raw files: sha256, size and first-seen run for every raw key.
pub const RAW_LEDGER_KEY: &str = "runs/raw-ledger.json";

/// The sample generator's ledger of injected defects. Its presence marks a store filled
/// with generated sample data, which the site then labels as such.
pub const SAMPLE_LEDGER_KEY: &str = "runs/sample-defects.json";

/// The formats every dataset is published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Csv, Format::Parquet, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Json => "json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Json => "application/json",
        }
    }
}

pub fn dataset_file_name(id: &str, format: Format) -> Result<String, BadSegment> {
    Ok(format!("{}.{}", check_segment(id)?, format.extension()))
}

pub fn dataset_key(id: &str, format: Format) -> Result<String, BadSegment> {
    Ok(format!("datasets/{id}/{}", dataset_file_name(id, format)?))
}

pub fn datapackage_key(id: &str) -> Result<String, BadSegment> {
    Ok(format!("datasets/{}/datapackage.json", check_segment(id)?))
}

pub fn archive_prefix(id: &str, date: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "datasets/{}/archive/{}/",
        check_segment(id)?,
        check_date(date)?
    ))
}

/// The catalogue of every published dataset (ids, titles, last update).
pub const CATALOGUE_KEY: &str = "datasets/catalogue.json";

pub fn site_release_prefix(release_id: &str) -> Result<String, BadSegment> {
    Ok(format!("site/releases/{}/", check_segment(release_id)?))
}

pub const SITE_CURRENT_KEY: &str = "site/current";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal_and_separators() {
        for bad in ["..", "../x", "a/b", ".hidden", "", "a b", "名"] {
            assert!(check_segment(bad).is_err(), "{bad:?}");
        }
        assert!(check_segment("MN0101.hj212").is_ok());
    }

    #[test]
    fn raw_keys_round_trip() {
        let key = raw_key(Source::SelfMonitoring, "2026-01-31", "sm.csv").unwrap();
        assert_eq!(key, "raw/self-monitoring/2026-01-31/sm.csv");
        assert_eq!(
            parse_raw_key(&key).unwrap(),
            (
                Source::SelfMonitoring,
                "2026-01-31".to_string(),
                "sm.csv".to_string()
            )
        );
        assert!(parse_raw_key("raw/cems/2026-1-31/x").is_err());
        assert!(parse_raw_key("raw/nope/2026-01-31/x").is_err());
    }

    #[test]
    fn ingest_report_keys_mirror_raw_keys() {
        assert_eq!(
            ingest_report_key(Source::Msw, "2026-01-31", "msw.csv").unwrap(),
            "runs/ingest/msw/2026-01-31/msw.csv.json"
        );
        assert!(ingest_report_key(Source::Msw, "2026-1-31", "msw.csv").is_err());
        assert!(ingest_report_key(Source::Msw, "2026-01-31", "../x").is_err());
    }

    #[test]
    fn dataset_keys() {
        assert_eq!(
            dataset_key("cems-daily", Format::Csv).unwrap(),
            "datasets/cems-daily/cems-daily.csv"
        );
        assert_eq!(
            archive_prefix("cems-daily", "2026-02-01").unwrap(),
            "datasets/cems-daily/archive/2026-02-01/"
        );
    }
}
