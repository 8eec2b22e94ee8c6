//! Jobs: the nightly run and file checks, over a [`Store`].
//!
//! Stage: orchestration (the I/O edge). Reads raw files, records them in the ledger, runs
//! the pure validators, writes validated partitions and rejects, runs the aggregations and
//! publishes datasets and the run report. History already validated is reused when its raw
//! files are unchanged, so a night only validates what is new.

use crate::frame::{read_parquet_as, write_parquet};
use crate::ledger::RawLedger;
use crate::publish;
use crate::store::{Store, StoreError};
use crate::table::{Cell, Kind, Table};
use crate::validate::{self, Context, Registry, Rejection};
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::Source;
use envgov_dataset::layout;
use envgov_dataset::report::{FileCounts, RunReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// Bumped whenever validation rules change, so that reused partitions are re-validated.
pub const VALIDATOR_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ChangedRaw(#[from] crate::ledger::ChangedRawFile),
    #[error("no raw data in the store under raw/ (run `envgov generate` or deliver files first)")]
    NoRawData,
    #[error("no raw data on or before {0}")]
    NoDataForDate(NaiveDate),
    #[error("{what}: {source}")]
    Polars {
        what: String,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("stored {key} is corrupt: {message}")]
    Corrupt { key: String, message: String },
    #[error("{0}")]
    Definition(String),
    #[error(transparent)]
    Release(crate::release::ReleaseError),
    #[error(
        "reject rate too high for {source_name}: {rejected} of {read} records rejected ({rate:.2}%), limit {limit:.2}%; see rejects/{source_name}/ and runs/{date}/report.json"
    )]
    RejectRate {
        source_name: String,
        read: u64,
        rejected: u64,
        rate: f64,
        limit: f64,
        date: String,
    },
}

impl JobError {
    /// Whether running again unchanged may succeed (storage hiccups), as opposed to data
    /// that needs a provider's correction.
    pub fn is_retryable(&self) -> bool {
        match self {
            JobError::Store(e) => e.is_retryable(),
            JobError::Release(e) => e.is_retryable(),
            _ => false,
        }
    }
}

fn polars_err(what: impl Into<String>) -> impl FnOnce(polars::error::PolarsError) -> JobError {
    let what = what.into();
    move |source| JobError::Polars { what, source }
}

/// Progress reporting for long stages (the CLI shows bars; Lambda logs).
pub trait Progress {
    fn stage(&self, name: &str, total: u64);
    fn advance(&self, n: u64);
    fn done(&self);
}

/// Options of a nightly run.
pub struct NightlyOptions<'a> {
    /// The run date; `None` means the latest date that has raw data.
    pub date: Option<NaiveDate>,
    /// Highest acceptable share of rejected records per source, among newly validated files.
    pub max_reject_rate: f64,
    pub progress: Option<&'a dyn Progress>,
    /// Render the site and make it live after publishing the datasets.
    pub render_site: bool,
    /// How the site release is published.
    pub release: crate::release::ReleaseOptions,
}

impl Default for NightlyOptions<'_> {
    fn default() -> Self {
        Self {
            date: None,
            max_reject_rate: 0.05,
            progress: None,
            render_site: true,
            release: Default::default(),
        }
    }
}

/// The manifest of a validated partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartitionManifest {
    pub validator_version: u32,
    pub source: Source,
    pub date: String,
    pub files: Vec<FileCounts>,
    /// The sha256 of the partition and of its rejects file as written with this manifest.
    /// A partition is reused only when the stored objects still have these hashes: two
    /// writers racing on one partition (a nightly run and a late delivery's ingest) can
    /// leave one's data under the other's manifest, and that must not pass for validated.
    /// Absent in manifests written before the check existed (they are re-validated).
    #[serde(default)]
    pub partition_sha256: Option<String>,
    #[serde(default)]
    pub rejects_sha256: Option<String>,
}

/// Raw files in the store, grouped by date and source.
type RawIndex = BTreeMap<NaiveDate, BTreeMap<Source, Vec<String>>>;

fn raw_index(store: &dyn Store) -> Result<(RawIndex, Vec<String>), JobError> {
    let mut index = RawIndex::new();
    let mut unrecognised = Vec::new();
    for key in store.list("raw/")? {
        match layout::parse_raw_key(&key) {
            Ok((source, date, _)) => match NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
                Ok(d) => index
                    .entry(d)
                    .or_default()
                    .entry(source)
                    .or_default()
                    .push(key),
                Err(_) => unrecognised.push(key),
            },
            Err(_) => unrecognised.push(key),
        }
    }
    Ok((index, unrecognised))
}

/// Reads a JSON object of the store; `Ok(None)` when it does not exist, `Corrupt` naming
/// the key when it does not parse.
pub fn get_json<T: for<'de> Deserialize<'de>>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, JobError> {
    match store.get(key)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| JobError::Corrupt {
                key: key.into(),
                message: e.to_string(),
            }),
    }
}

fn put_json<T: Serialize>(store: &dyn Store, key: &str, value: &T) -> Result<(), JobError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    Ok(store.put(key, &bytes)?)
}

fn read_partition(
    store: &dyn Store,
    source: Source,
    date: &str,
) -> Result<Option<Table>, JobError> {
    let key =
        layout::validated_key(source, date).map_err(|e| JobError::Definition(e.to_string()))?;
    match store.get(&key)? {
        None => Ok(None),
        Some(b) => read_parquet_as(&b, validate::schema(source))
            .map(Some)
            .map_err(|e| JobError::Corrupt {
                key,
                message: e.to_string(),
            }),
    }
}

fn rejects_table(rejections: &[Rejection]) -> Table {
    let mut t = Table::new(&[
        ("raw_key", Kind::Str),
        ("line", Kind::I64),
        ("field", Kind::Str),
        ("value", Kind::Str),
        ("reason_code", Kind::Str),
        ("reason", Kind::Str),
        ("scope", Kind::Str),
    ]);
    for r in rejections {
        t.push(vec![
            Cell::from(r.raw_key.clone()),
            Cell::from(r.line as i64),
            Cell::from(r.field.clone()),
            Cell::from(r.value.clone()),
            Cell::from(r.reason_code),
            Cell::from(r.reason.clone()),
            Cell::from(r.scope.as_str()),
        ]);
    }
    t
}

/// Validates (or reuses) one source's partition for one date. Returns its manifest, and
/// whether it was validated in this run. The partition is reused when its manifest lists
/// exactly `keys` with the sha256 that `ledger` records for them. The ingest function calls
/// this too (with a ledger of the bytes it just read), so both write the same partitions.
pub fn validate_partition(
    store: &dyn Store,
    source: Source,
    date: NaiveDate,
    keys: &[String],
    ctx: Context<'_>,
    ledger: &RawLedger,
    rejected_by_reason: &mut BTreeMap<String, u64>,
) -> Result<(PartitionManifest, bool), JobError> {
    let d = date.to_string();
    let manifest_key = layout::validated_manifest_key(source, &d)
        .map_err(|e| JobError::Definition(e.to_string()))?;
    if let Some(m) = get_json::<PartitionManifest>(store, &manifest_key)? {
        let same = m.validator_version == VALIDATOR_VERSION
            && m.files.len() == keys.len()
            && m.files.iter().zip(keys).all(|(f, k)| {
                &f.key == k && ledger.files.get(k).is_some_and(|e| e.sha256 == f.sha256)
            });
        if same && written_with(store, &m, source, &d)? {
            return Ok((m, false));
        }
    }
    let mut accepted = Table::new(validate::schema(source));
    let mut rejections = Vec::new();
    let mut files = Vec::new();
    for key in keys {
        let bytes = store.get(key)?.ok_or_else(|| JobError::Corrupt {
            key: key.clone(),
            message: "listed but missing".into(),
        })?;
        let result = validate::validate_file(source, key, &bytes, ctx);
        tracing::debug!(key = %key, read = result.counts.read, accepted = result.counts.accepted, rejected = result.counts.rejected, "validated");
        accepted.extend(result.accepted);
        files.push(result.counts);
        rejections.extend(result.rejections);
    }
    for r in &rejections {
        if r.scope == validate::Scope::Record {
            *rejected_by_reason
                .entry(r.reason_code.to_string())
                .or_default() += 1;
        }
    }
    let parquet =
        write_parquet(&accepted).map_err(polars_err(format!("writing validated {source} {d}")))?;
    let partition_sha256 = crate::ledger::sha256_hex(&parquet);
    store.put_with_hash(
        &layout::validated_key(source, &d).expect("checked date"),
        &parquet,
        &partition_sha256,
    )?;
    let rejects = publish::to_csv(&rejects_table(&rejections));
    let rejects_sha256 = crate::ledger::sha256_hex(&rejects);
    store.put_with_hash(
        &layout::rejects_key(source, &d).expect("checked date"),
        &rejects,
        &rejects_sha256,
    )?;
    let manifest = PartitionManifest {
        validator_version: VALIDATOR_VERSION,
        source,
        date: d,
        files,
        partition_sha256: Some(partition_sha256),
        rejects_sha256: Some(rejects_sha256),
    };
    put_json(store, &manifest_key, &manifest)?;
    Ok((manifest, true))
}

/// Whether the stored partition and rejects are the ones `manifest` was written with.
fn written_with(
    store: &dyn Store,
    manifest: &PartitionManifest,
    source: Source,
    date: &str,
) -> Result<bool, JobError> {
    let (Some(partition), Some(rejects)) = (&manifest.partition_sha256, &manifest.rejects_sha256)
    else {
        return Ok(false);
    };
    let key =
        |k: Result<String, layout::BadSegment>| k.map_err(|e| JobError::Definition(e.to_string()));
    Ok(store
        .stored_hash(&key(layout::validated_key(source, date))?)?
        .as_ref()
        == Some(partition)
        && store
            .stored_hash(&key(layout::rejects_key(source, date))?)?
            .as_ref()
            == Some(rejects))
}

/// Everything the aggregation stage needs, read from validated partitions.
struct Validated {
    registry: Registry,
    registry_date: Option<String>,
}

/// Runs the nightly job: ingest, validate, aggregate, publish. Returns the run report.
pub fn nightly(
    store: &dyn Store,
    curated: &Curated,
    opts: &NightlyOptions<'_>,
) -> Result<RunReport, JobError> {
    let started = Instant::now();
    let mut timings = BTreeMap::new();
    let (index, unrecognised) = raw_index(store)?;
    for key in &unrecognised {
        tracing::warn!(key = %key, "raw key does not follow raw/{{source}}/{{YYYY-MM-DD}}/{{file}}; ignored");
    }
    let latest = *index.keys().next_back().ok_or(JobError::NoRawData)?;
    let run_date = opts.date.unwrap_or(latest);
    if index.keys().next().is_none_or(|d| *d > run_date) {
        return Err(JobError::NoDataForDate(run_date));
    }
    let run = run_date.to_string();
    tracing::info!(run_date = %run, store = %store.describe(), "nightly run started");

    // Ingest: record every raw file's hash on first sight, refuse changed evidence.
    let mut ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    let dates: Vec<NaiveDate> = index.keys().copied().filter(|d| *d <= run_date).collect();
    let total_files: u64 = dates
        .iter()
        .map(|d| index[d].values().map(|v| v.len() as u64).sum::<u64>())
        .sum();
    if let Some(p) = opts.progress {
        p.stage("ingest", total_files);
    }
    let mut new_files = 0u64;
    for d in &dates {
        for keys in index[d].values() {
            for key in keys {
                let bytes = store.get(key)?.ok_or_else(|| JobError::Corrupt {
                    key: key.clone(),
                    message: "listed but missing".into(),
                })?;
                if ledger.record(key, &bytes, &run)? {
                    new_files += 1;
                }
                if let Some(p) = opts.progress {
                    p.advance(1);
                }
            }
        }
    }
    put_json(store, layout::RAW_LEDGER_KEY, &ledger)?;
    tracing::info!(files = total_files, new = new_files, "raw files recorded");
    timings.insert("ingest".to_string(), started.elapsed().as_secs_f64());

    // Validate, date by date; the registry in force on a date is the latest one before it.
    let t = Instant::now();
    let mut report = RunReport {
        run_date: run.clone(),
        envgov_version: env!("CARGO_PKG_VERSION").into(),
        reject_rate_limit: opts.max_reject_rate,
        ..RunReport::default()
    };
    let mut fresh: BTreeMap<Source, (u64, u64)> = BTreeMap::new();
    let mut v = Validated {
        registry: Registry::default(),
        registry_date: None,
    };
    if let Some(p) = opts.progress {
        p.stage("validate", dates.len() as u64);
    }
    let mut validated_dates = BTreeSet::new();
    for d in &dates {
        for source in Source::ALL {
            let Some(keys) = index[d].get(&source) else {
                continue;
            };
            let ctx = Context {
                curated,
                registry: &v.registry,
                date: *d,
            };
            let counts = report.sources.entry(source.to_string()).or_default();
            let (manifest, was_new) = validate_partition(
                store,
                source,
                *d,
                keys,
                ctx,
                &ledger,
                &mut counts.rejected_by_reason,
            )?;
            for f in manifest.files {
                if was_new {
                    let e = fresh.entry(source).or_default();
                    e.0 += f.read;
                    e.1 += f.rejected;
                }
                counts.add_file(f);
            }
            if was_new {
                validated_dates.insert(d.to_string());
            }
            if source == Source::Enterprises {
                let table = read_partition(store, source, &d.to_string())?
                    .unwrap_or_else(|| Table::new(validate::schema(source)));
                v.registry = Registry::from_table(&table).map_err(|e| JobError::Corrupt {
                    key: format!("validated/enterprises/date={d}"),
                    message: e.to_string(),
                })?;
                v.registry_date = Some(d.to_string());
            }
        }
        if let Some(p) = opts.progress {
            p.advance(1);
        }
    }
    report.validated_dates = validated_dates.into_iter().collect();
    report.unrecognised_raw_keys = unrecognised;
    report.new_data_dates = ledger
        .files
        .iter()
        .filter(|(_, e)| e.first_seen_run == run)
        .filter_map(|(k, _)| layout::parse_raw_key(k).ok().map(|(_, d, _)| d))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (read, _, rejected) = report.totals();
    report.reject_rate = if read == 0 {
        0.0
    } else {
        crate::table::round(rejected as f64 / read as f64, 6)
    };
    report
        .check_accounting()
        .map_err(|e| JobError::Definition(e.to_string()))?;
    timings.insert("validate".to_string(), t.elapsed().as_secs_f64());

    let too_high = fresh.iter().find(|(_, (read, rejected))| {
        *read > 0 && *rejected as f64 / *read as f64 > opts.max_reject_rate
    });
    if let Some((source, (read, rejected))) = too_high {
        report.timings_s = timings;
        put_json(store, &layout::run_report_key(&run).expect("date"), &report)?;
        return Err(JobError::RejectRate {
            source_name: source.to_string(),
            read: *read,
            rejected: *rejected,
            rate: *rejected as f64 / *read as f64 * 100.0,
            limit: opts.max_reject_rate * 100.0,
            date: run,
        });
    }

    // Aggregate and publish.
    let t = Instant::now();
    let tables =
        crate::datasets::build(store, curated, &v.registry, &dates, run_date, opts.progress)?;
    timings.insert("aggregate".to_string(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    // Archives (written once) and one publication; the stable URLs serve it only once a
    // site release made from it goes live (see `publication`).
    let published = crate::publication::publish(store, curated, &tables, &run)?;
    report.datasets = published.rows.clone();
    report.publication = Some(published.id.clone());
    report.archive_revisions = published.archive_revisions.clone();
    timings.insert("publish".to_string(), t.elapsed().as_secs_f64());
    if opts.render_site {
        let t = Instant::now();
        // The site reads this run's report (freshness of each source).
        put_json(store, &layout::run_report_key(&run).expect("date"), &report)?;
        let release =
            crate::release::publish_publication(store, curated, &opts.release, &published.id)?;
        report.site_release = Some(release.id);
        report.site_uploaded = release.uploaded as u64;
        report.site_uploaded_bytes = release.uploaded_bytes;
        report.site_skipped = release.skipped as u64;
        timings.insert("site".to_string(), t.elapsed().as_secs_f64());
    }
    timings.insert("total".to_string(), started.elapsed().as_secs_f64());
    report.timings_s = timings;
    put_json(store, &layout::run_report_key(&run).expect("date"), &report)?;
    tracing::info!(run_date = %run, read, rejected, datasets = report.datasets.len(), "nightly run finished");
    Ok(report)
}

/// The result of checking files as a provider would before delivering them.
pub struct CheckedFile {
    pub source: Source,
    pub result: validate::FileResult,
}

/// Validates files without a store: the source is taken from the key's `raw/{source}/`
/// layout or, failing that, from the file name. The registry (for device and unit look-ups)
/// is the one given.
pub fn check_file(
    key: &str,
    source: Source,
    date: NaiveDate,
    bytes: &[u8],
    curated: &Curated,
    registry: &Registry,
) -> CheckedFile {
    let ctx = Context {
        curated,
        registry,
        date,
    };
    CheckedFile {
        source,
        result: validate::validate_file(source, key, bytes, ctx),
    }
}

/// Loads the registry in force on a date from a store's validated partitions.
pub fn registry_on(store: &dyn Store, date: NaiveDate) -> Result<Registry, JobError> {
    let mut best = None;
    for key in store.list("validated/enterprises/")? {
        let day = key
            .strip_prefix("validated/enterprises/date=")
            .and_then(|r| r.split('/').next());
        if let Some(d) =
            day.filter(|d| key.ends_with("part.parquet") && *d <= date.to_string().as_str())
        {
            best = Some(d.to_string());
        }
    }
    match best {
        None => Ok(Registry::default()),
        Some(d) => {
            let t = read_partition(store, Source::Enterprises, &d)?
                .unwrap_or_else(|| Table::new(validate::schema(Source::Enterprises)));
            Registry::from_table(&t).map_err(|e| JobError::Corrupt {
                key: format!("validated/enterprises/date={d}"),
                message: e.to_string(),
            })
        }
    }
}
