//! The storage-key layout, the same in the local folder and in the S3 bucket.
//!
//! ```text
//! raw/{source}/{YYYY-MM-DD}/{file}                  immutable, as delivered
//! validated/{source}/date={YYYY-MM-DD}/part.parquet typed, Hive-style partitions
//! rejects/{source}/date={YYYY-MM-DD}/rejects.csv    file, line, field, value, reason
//! partials/{source}/date={YYYY-MM-DD}/{file}       a partition's stored partial aggregates
//!                                                   (daily.parquet, exceedances.parquet,
//!                                                   manifest.json: what they were made from)
//! runs/{YYYY-MM-DD}/report.json                     row accounting of a run
//! runs/ingest/{source}/{YYYY-MM-DD}/{file}.json     the ingest report on one raw file
//! datasets/publications/{pub-id}/{id}/{id}.csv|.parquet|.json|datapackage.json
//!                                                   one night's datasets, written whole
//! datasets/publications/{pub-id}/catalogue.json     with its catalogue; manifest last
//! datasets/staged                                   the latest publication (`envgov site`)
//! datasets/{id}/archive/{YYYY-MM-DD}/...            dated snapshot, written once
//! datasets/{id}/archive/{YYYY-MM-DD}/r{n}/...       a re-run's differing outputs
//! site/releases/{release-id}/...                    a complete rendered site
//! site/releases/{release-id}/datasets/...           its publication: the stable URLs
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
#[deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
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
#[deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
pub fn check_date(date: &str) -> Result<&str, BadSegment> {
    let ok = match date.as_bytes() {
        [y @ .., b'-', m1, m2, b'-', d1, d2] if y.len() == 4 => {
            y.iter().chain([m1, m2, d1, d2]).all(u8::is_ascii_digit)
        }
        _ => false,
    };
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
#[deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
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

/// Where a partition's partial aggregates are stored.
pub const PARTIALS_PREFIX: &str = "partials/";

/// One file of a partition's stored partial aggregates:
/// `partials/{source}/date={YYYY-MM-DD}/{file}`.
pub fn partial_key(source: Source, date: &str, file: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "{PARTIALS_PREFIX}{source}/date={}/{}",
        check_date(date)?,
        check_segment(file)?
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

/// What a night's run wrote of a dataset published a file a month (the archive folder, if
/// any, the months and the files they replaced): `runs/{YYYY-MM-DD}/{id}.json`
/// (`runs/2026-01-31/cems-hourly.json`), rewritten by every run of the night.
pub fn monthly_run_key(date: &str, id: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "runs/{}/{}.json",
        check_date(date)?,
        check_segment(id)?
    ))
}

/// The raw files a night saw (`envgov_pipeline::inputs`), for `envgov rebuild`.
pub fn run_inputs_key(date: &str) -> Result<String, BadSegment> {
    Ok(format!("runs/{}/inputs.json", check_date(date)?))
}

/// A fanned-out night's records (its plan, the task items the distributed map reads, each
/// task's outcome), one folder per execution: `runs/{YYYY-MM-DD}/fanout/{execution}/{name}`.
pub fn fanout_key(date: &str, execution: &str, name: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "runs/{}/fanout/{}/{}",
        check_date(date)?,
        check_segment(execution)?,
        check_segment(name)?
    ))
}

/// The outcome of one partition's task of a fanned-out night:
/// `runs/{run}/fanout/{execution}/outcomes/{source}/{YYYY-MM-DD}.json`.
pub fn fanout_outcome_key(
    run: &str,
    execution: &str,
    source: Source,
    date: &str,
) -> Result<String, BadSegment> {
    Ok(format!(
        "runs/{}/fanout/{}/outcomes/{source}/{}.json",
        check_date(run)?,
        check_segment(execution)?,
        check_date(date)?
    ))
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

/// An operator's confirmation that the registry delivered on a date may be put in force
/// although the pipeline held it back (rejected whole, or shrinking the register by more
/// than the limit): `runs/registry-accepted/{YYYY-MM-DD}.json`, written by
/// `envgov registry accept DATE`.
pub fn registry_acceptance_key(date: &str) -> Result<String, BadSegment> {
    Ok(format!("runs/registry-accepted/{}.json", check_date(date)?))
}

/// The ledger of raw files: sha256, size and first-seen run for every raw key.
pub const RAW_LEDGER_KEY: &str = "runs/raw-ledger.json";

/// Evidence bundles, built by a site release and kept across releases, one per unit and
/// month: `bundles/{uscc}/{YYYY-MM}/{cache}.zip` and its `{cache}.json` (sha256 and size).
pub const BUNDLES_PREFIX: &str = "bundles/";

/// Where the bundle of a unit's month is kept: `bundles/{uscc}/{YYYY-MM}/`.
pub fn bundle_month_prefix(uscc: &str, month: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "{BUNDLES_PREFIX}{}/{}/",
        check_segment(uscc)?,
        check_month(month)?
    ))
}

/// A unit's evidence bundle of one month in a site release, beside its other downloads (its
/// URL is this path under the site's root):
/// `downloads/enterprises/{uscc}/evidence-bundle-{YYYY-MM}.zip`.
pub fn unit_bundle_path(uscc: &str, month: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "downloads/enterprises/{}/evidence-bundle-{}.zip",
        check_segment(uscc)?,
        check_month(month)?
    ))
}

/// Per-unit downloads of the datasets published a file a month, one file a unit a month,
/// written by a site release and kept across releases (content-addressed, so a closed
/// month's file is written once): `unit-downloads/{uscc}/{YYYY-MM}/{id}-{sha256[..20]}.csv`.
pub const UNIT_DOWNLOADS_PREFIX: &str = "unit-downloads/";

/// Where a unit's download of a monthly dataset's month is kept (see
/// [`UNIT_DOWNLOADS_PREFIX`]); `sha256` is the file's (lowercase hex, 64 digits).
pub fn unit_month_download_key(
    uscc: &str,
    id: &str,
    month: &str,
    sha256: &str,
) -> Result<String, BadSegment> {
    let hash = sha256
        .get(..20)
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .ok_or_else(|| BadSegment {
            segment: sha256.to_string(),
            reason: "not a lowercase hex sha256",
        })?;
    Ok(format!(
        "{UNIT_DOWNLOADS_PREFIX}{}/{}/{}-{hash}.csv",
        check_segment(uscc)?,
        check_month(month)?,
        check_segment(id)?
    ))
}

/// The index of a monthly dataset's month's per-unit downloads (each unit's rows, bytes and
/// sha256, and the sha256 of the published month file they were cut from):
/// `unit-downloads-index/{id}/{YYYY-MM}.json`. A release whose month file is unchanged reads
/// this and not the month.
pub fn unit_month_index_key(id: &str, month: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "unit-downloads-index/{}/{}.json",
        check_segment(id)?,
        check_month(month)?
    ))
}

/// A unit's rows of one month of a dataset published a file a month, in a site release
/// beside its other downloads (its URL is this path under the site's root):
/// `downloads/enterprises/{uscc}/{id}-{YYYY-MM}.csv`.
pub fn unit_month_download_path(uscc: &str, id: &str, month: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "downloads/enterprises/{}/{}-{}.csv",
        check_segment(uscc)?,
        check_segment(id)?,
        check_month(month)?
    ))
}

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

/// The folder of every dated archive of a dataset: `datasets/{id}/archive/`.
pub fn archive_root(id: &str) -> Result<String, BadSegment> {
    Ok(format!("datasets/{}/archive/", check_segment(id)?))
}

/// The first archive of a dataset on a date: `datasets/{id}/archive/{YYYY-MM-DD}/`.
pub fn archive_prefix(id: &str, date: &str) -> Result<String, BadSegment> {
    archive_revision_prefix(id, date, 1)
}

/// Revision `revision` (1, 2, ...) of a dataset's archive on a date: revision 1 is
/// `datasets/{id}/archive/{YYYY-MM-DD}/`, later ones `datasets/{id}/archive/{YYYY-MM-DD}/r{n}/`.
/// An archive is written once and never rewritten; a re-run of a night whose outputs
/// differ writes the next revision.
pub fn archive_revision_prefix(id: &str, date: &str, revision: u32) -> Result<String, BadSegment> {
    let base = format!("{}{}/", archive_root(id)?, check_date(date)?);
    match revision {
        0 => Err(BadSegment {
            segment: "r0".into(),
            reason: "archive revisions start at 1",
        }),
        1 => Ok(base),
        n => Ok(format!("{base}r{n}/")),
    }
}

/// The archive (`{YYYY-MM-DD}` or `{YYYY-MM-DD}/r{n}`) and revision of a key under
/// [`archive_root`], given the key with that root removed.
pub fn parse_archive_path(rest: &str) -> Option<(String, u32)> {
    let mut parts = rest.split('/');
    let date = check_date(parts.next()?).ok()?.to_string();
    let next = parts.next()?;
    match next.strip_prefix('r').and_then(|n| n.parse::<u32>().ok()) {
        Some(n) if n >= 2 && parts.next().is_some() => Some((date, n)),
        _ => Some((date, 1)),
    }
}

/// A month, `YYYY-MM`, as the monthly files of a dataset name it.
pub fn check_month(month: &str) -> Result<&str, BadSegment> {
    match month.split_once('-') {
        Some((y, m))
            if y.len() == 4
                && m.len() == 2
                && y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) =>
        {
            Ok(month)
        }
        _ => Err(BadSegment {
            segment: month.to_string(),
            reason: "not a YYYY-MM month",
        }),
    }
}

/// The file of one month of a dataset published a file a month (`cems-hourly`,
/// `cems-daily`, `self-monitoring`): `{id}-{YYYY-MM}.{ext}`, and `{id}-{YYYY-MM}.{ext}.gz`
/// when `gzip` (cems-hourly's CSV, `cems-hourly-2026-01.csv.gz`). The file is written into
/// the dated archive of the night that wrote it ([`archive_revision_prefix`]) and listed,
/// under this name, by every later publication whose month it still is.
pub fn monthly_file_name(
    id: &str,
    month: &str,
    format: Format,
    gzip: bool,
) -> Result<String, BadSegment> {
    let gz = if gzip { ".gz" } else { "" };
    Ok(format!(
        "{}-{}.{}{gz}",
        check_segment(id)?,
        check_month(month)?,
        format.extension()
    ))
}

/// The month of a monthly file's name ([`monthly_file_name`]) of dataset `id`
/// (`cems-daily-2026-01.csv` → `2026-01`), `None` for any other name.
pub fn month_of_file<'a>(id: &str, name: &'a str) -> Option<&'a str> {
    let month = name.strip_prefix(id)?.strip_prefix('-')?.get(..7)?;
    let rest = name.get(id.len() + 8..)?;
    let ext_ok = Format::ALL.iter().any(|f| {
        rest.strip_prefix('.')
            .is_some_and(|r| r == f.extension() || r.strip_suffix(".gz") == Some(f.extension()))
    });
    (ext_ok && check_month(month).is_ok()).then_some(month)
}

/// What the monthly files of a month were made from, and where they are:
/// `datasets/{id}/months/{YYYY-MM}.json` (a month is written again only when it changed).
pub fn month_state_key(id: &str, month: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "{}{}.json",
        month_states_prefix(id)?,
        check_month(month)?
    ))
}

/// The folder of a dataset's month states ([`month_state_key`]): `datasets/{id}/months/`.
pub fn month_states_prefix(id: &str) -> Result<String, BadSegment> {
    Ok(format!("datasets/{}/months/", check_segment(id)?))
}

/// Every published night's dataset files, side by side: a *publication*,
/// `datasets/publications/{publication-id}/` (the id is the data date and a hash of its
/// files, as a release id). It is written completely, its manifest last, before any site
/// release refers to it; the stable URLs serve it through the live release (see
/// [`site_release_dataset_prefix`]).
pub const PUBLICATIONS_PREFIX: &str = "datasets/publications/";

pub fn publication_prefix(publication_id: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "{PUBLICATIONS_PREFIX}{}/",
        check_segment(publication_id)?
    ))
}

/// A publication's manifest (every file and its sha256), written after every file.
pub fn publication_manifest_key(publication_id: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "{}publication-manifest.json",
        publication_prefix(publication_id)?
    ))
}

/// The publication that `envgov site` (and a release published without one named) renders
/// from: the latest one a night wrote, never replaced by one of an earlier data date.
pub const STAGED_PUBLICATION_KEY: &str = "datasets/staged";

/// A dataset file's path relative to a publication, and to the `datasets/` folder of a
/// release (and of the site: the stable URL `/datasets/{id}/{id}.csv`).
pub fn dataset_path(id: &str, format: Format) -> Result<String, BadSegment> {
    Ok(format!("{id}/{}", dataset_file_name(id, format)?))
}

pub fn datapackage_path(id: &str) -> Result<String, BadSegment> {
    Ok(format!("{}/datapackage.json", check_segment(id)?))
}

/// The catalogue's path relative to a publication.
pub const CATALOGUE_PATH: &str = "catalogue.json";

/// Where a live release keeps the datasets it was rendered from:
/// `site/releases/{release-id}/datasets/`. The stable URLs `/datasets/{id}/...` are served
/// from the live release's copy, so they change exactly when `site/current` switches.
pub fn site_release_dataset_prefix(release_id: &str) -> Result<String, BadSegment> {
    Ok(format!("{}datasets/", site_release_prefix(release_id)?))
}

/// The folder inside a release that holds its datasets (relative to the release).
pub const RELEASE_DATASETS_DIR: &str = "datasets";

/// The version of DuckDB-WASM (`@duckdb/duckdb-wasm` on npm, MIT) that the query pages run:
/// the last with Parquet built in (later ones fetch it from a third-party host at run time;
/// see `scripts/duckdb-wasm-assets`).
pub const QUERY_ENGINE_VERSION: &str = "1.28.0";

/// The folder inside a release that holds the query engine's files (relative to the
/// release): versioned, so a new version never mixes with a cached old one.
pub const QUERY_ENGINE_DIR: &str = "assets/duckdb-wasm-1.28.0";

/// The query engine's files, as `scripts/duckdb-wasm-assets` lays them out.
pub const QUERY_ENGINE_FILES: [&str; 5] = [
    "duckdb-browser.mjs",
    "duckdb-browser-eh.worker.js",
    "duckdb-eh.wasm",
    "LICENSE-apache-arrow.txt",
    "NOTICE-apache-arrow.txt",
];

/// Where the store keeps the query engine's files between nights
/// (`site-assets/duckdb-wasm-1.28.0/{file}`), uploaded once and copied into every release.
pub fn query_engine_key(file: &str) -> String {
    format!("site-assets/duckdb-wasm-{QUERY_ENGINE_VERSION}/{file}")
}

/// Marks a release being pruned: `site/releases/{release-id}.pruning` (beside its folder,
/// never inside it). See `release::prune` for the protocol.
pub fn site_release_pruning_key(release_id: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "site/releases/{}.pruning",
        check_segment(release_id)?
    ))
}

/// Announces that a release is about to be made live (by a rollback or a publish), one
/// object per caller: `site/releases/{release-id}.reviving.{nonce}`.
pub fn site_release_reviving_prefix(release_id: &str) -> Result<String, BadSegment> {
    Ok(format!(
        "site/releases/{}.reviving.",
        check_segment(release_id)?
    ))
}

/// The catalogue of every published dataset (ids, titles, last update), as it was
/// published at the store's root before publications; now each publication has its own
/// ([`CATALOGUE_PATH`]) and the site serves the live release's.
pub const CATALOGUE_KEY: &str = "datasets/catalogue.json";

pub fn site_release_prefix(release_id: &str) -> Result<String, BadSegment> {
    Ok(format!("site/releases/{}/", check_segment(release_id)?))
}

pub const SITE_CURRENT_KEY: &str = "site/current";

/// The store's development signing key (a minisign secret key), generated by the first
/// night that has no configured key and reused by later ones so that their releases stay
/// verifiable. Outside `site/` and `datasets/`: never published, never in a release.
pub const DEVELOPMENT_SIGNING_KEY: &str = "private/signing/development.key";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_units_month_downloads_are_named_by_dataset_and_month() {
        assert_eq!(
            unit_month_download_path("91110106177886783N", "cems-daily", "2026-03").unwrap(),
            "downloads/enterprises/91110106177886783N/cems-daily-2026-03.csv"
        );
        let sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            unit_month_download_key("U1", "self-monitoring", "2026-12", sha).unwrap(),
            "unit-downloads/U1/2026-12/self-monitoring-0123456789abcdef0123.csv"
        );
        for (uscc, id, month) in [
            ("U1", "cems-daily", "2026-3"),
            ("a/b", "cems-daily", "2026-03"),
            ("U1", "..", "2026-03"),
            ("U1", "x/y", "2026-03"),
        ] {
            assert!(
                unit_month_download_path(uscc, id, month).is_err(),
                "{uscc} {id} {month}"
            );
            assert!(unit_month_download_key(uscc, id, month, sha).is_err());
        }
        assert!(unit_month_download_key("U1", "cems-daily", "2026-03", "ABC").is_err());
        assert_eq!(
            unit_month_index_key("cems-daily", "2026-03").unwrap(),
            "unit-downloads-index/cems-daily/2026-03.json"
        );
        assert!(unit_month_index_key("cems-daily", "2026-3").is_err());
        assert!(
            unit_month_download_key("U1", "cems-daily", "2026-03", &sha.to_uppercase()).is_err()
        );
    }

    #[test]
    fn evidence_bundles_are_named_by_unit_and_month() {
        assert_eq!(
            unit_bundle_path("91110106177886783N", "2026-03").unwrap(),
            "downloads/enterprises/91110106177886783N/evidence-bundle-2026-03.zip"
        );
        assert_eq!(
            bundle_month_prefix("91110106177886783N", "2026-03").unwrap(),
            "bundles/91110106177886783N/2026-03/"
        );
        for (uscc, month) in [
            ("U1", "2026-3"),
            ("U1", "../x"),
            ("a/b", "2026-03"),
            ("..", "2026-03"),
        ] {
            assert!(unit_bundle_path(uscc, month).is_err(), "{uscc} {month}");
            assert!(bundle_month_prefix(uscc, month).is_err(), "{uscc} {month}");
        }
    }

    #[test]
    fn monthly_files_are_named_by_dataset_and_month_and_read_back() {
        assert_eq!(
            monthly_file_name("cems-daily", "2026-01", Format::Csv, false).unwrap(),
            "cems-daily-2026-01.csv"
        );
        assert_eq!(
            monthly_file_name("cems-hourly", "2026-12", Format::Csv, true).unwrap(),
            "cems-hourly-2026-12.csv.gz"
        );
        assert!(monthly_file_name("cems-daily", "2026-1", Format::Json, false).is_err());
        assert_eq!(
            monthly_run_key("2026-01-31", "self-monitoring").unwrap(),
            "runs/2026-01-31/self-monitoring.json"
        );
        for (name, month) in [
            ("cems-daily-2026-01.csv", Some("2026-01")),
            ("cems-daily-2026-02.parquet", Some("2026-02")),
            ("cems-daily-2026-03.json", Some("2026-03")),
            ("cems-daily-2026-03.csv.gz", Some("2026-03")),
            ("cems-daily.csv", None),
            ("cems-daily-2026-03.txt", None),
            ("cems-daily-2026-3x.csv", None),
            ("cems-hourly-2026-01.csv.gz", None),
            ("cems-daily-2026-01.csv.gzip", None),
        ] {
            assert_eq!(month_of_file("cems-daily", name), month, "{name}");
        }
    }

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
    fn partial_keys() {
        assert_eq!(
            partial_key(Source::Cems, "2026-01-31", "daily.parquet").unwrap(),
            "partials/cems/date=2026-01-31/daily.parquet"
        );
        assert!(partial_key(Source::Cems, "2026-1-31", "daily.parquet").is_err());
        assert!(partial_key(Source::Cems, "2026-01-31", "../x").is_err());
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
        assert_eq!(
            archive_revision_prefix("cems-daily", "2026-02-01", 3).unwrap(),
            "datasets/cems-daily/archive/2026-02-01/r3/"
        );
        assert!(archive_revision_prefix("cems-daily", "2026-02-01", 0).is_err());
        for (rest, parsed) in [
            ("2026-02-01/cems-daily.csv", Some(("2026-02-01", 1))),
            ("2026-02-01/r2/cems-daily.csv", Some(("2026-02-01", 2))),
            ("2026-02-01/r1/x.csv", Some(("2026-02-01", 1))),
            ("2026-2-01/x.csv", None),
        ] {
            assert_eq!(
                parse_archive_path(rest),
                parsed.map(|(d, n)| (d.to_string(), n)),
                "{rest}"
            );
        }
    }
}
