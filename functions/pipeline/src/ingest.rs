//! Ingest of one raw delivery: the work of the `envgov-ingest` function and of
//! `envgov ingest`, over a [`Store`] (both run this code).
//!
//! Stage: orchestration (the I/O edge), like [`crate::jobs`]. For a delivered key
//! `raw/{source}/{date}/{file}` it
//!
//! 1. reads every raw file of that source and date (a partition is made of all of them),
//!    and refuses evidence that changed since it was first seen (the nightly ledger
//!    `runs/raw-ledger.json`, or this file's earlier ingest report);
//! 2. validates the partition with `partition::validate_partition`, the very function the nightly
//!    run uses, against the registry in force on that date: the same validated partition,
//!    rejects and manifest. The manifest records each raw file's sha256, so the nightly run
//!    reuses the partition only while its raw files are unchanged, and a partition whose
//!    manifest already matches is not rewritten at all;
//! 3. writes the per-file report `runs/ingest/{source}/{date}/{file}.json` (sha256, size,
//!    arrival time, counts, reasons and the first rejections), built only from what the
//!    partition holds, so it is the same whichever of ingest or nightly validated first.
//!
//! Delivery semantics: events come at least once and Lambda retries. Every output is a
//! deterministic function of the raw files (the arrival time is the event's object-creation
//! time, and the first report's time is kept), so a redelivered event rewrites nothing.
//!
//! The ledger stays the nightly run's alone (one writer, reserved concurrency 1): concurrent
//! ingest invocations updating one shared JSON object would lose each other's entries, and
//! the ledger's `first_seen_run` means "the night that first saw the file". Ingest reads
//! it to refuse changed evidence and records its own sighting in the per-file report.
//!
//! Errors ([`IngestError`]; the function maps them to its error types): storage failures are
//! errors (`Retryable.Storage`; Lambda retries, then the dead-letter queue). Data problems are a successful invocation whose report says
//! `rejected` or `invalid-key`: retrying cannot fix a delivery, and an error would bury the
//! answer the provider needs in a dead-letter queue they cannot read. The one exception is
//! changed evidence (`InvalidData.ChangedRawFile`), an integrity breach that must raise the
//! ingest alarm, not a data-quality verdict.

use crate::error::JobError;
use crate::jobs;
use crate::ledger::{ChangedRawFile, RawLedger};
use crate::partition::{self, PartitionManifest};
use crate::revisions;
use crate::store::{Store, StoreError};
use crate::validate::Context;
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::Source;
use envgov_dataset::layout;
use envgov_dataset::report::FileCounts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// By default a delivery may be dated at most one day after its arrival (Beijing).
pub const DEFAULT_MAX_FUTURE_DAYS: u32 = 1;

/// Why an ingest failed. Data problems are not errors (see [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Job(#[from] JobError),
    /// The key is well formed but no such object is in the store: the event comes from
    /// another bucket or store than the one configured.
    #[error(
        "{key} is not in the store {store}: does the event come from the evidence bucket the function is configured with?"
    )]
    NotInStore { key: String, store: String },
    /// Files kept arriving for the partition; trying again later will succeed.
    #[error("files kept arriving under {prefix} during {passes} validations of the partition")]
    Contended { prefix: String, passes: u32 },
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        IngestError::Job(JobError::Store(e))
    }
}

/// How many times one invocation validates a partition while files keep arriving for it.
pub const MAX_PASSES: u32 = 5;

/// How many rejections a per-file report lists; all of them are in the rejects CSV.
pub const REPORT_REJECTIONS: usize = 100;

/// The verdict on one delivered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every record accepted.
    Accepted,
    /// Some records rejected (see `rejections` and the rejects CSV).
    PartiallyRejected,
    /// Nothing accepted: the file could not be read, or every record was rejected.
    Rejected,
}

/// One rejection as the provider reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedRejection {
    pub line: u64,
    pub field: String,
    pub value: String,
    pub reason_code: String,
    pub reason: String,
    pub scope: String,
}

/// `runs/ingest/{source}/{date}/{file}.json`: what happened to one delivered file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestReport {
    pub key: String,
    pub source: Source,
    pub date: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// When the file arrived (the S3 event's object-creation time), as first recorded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arrived_at: Option<String>,
    pub status: Status,
    pub encoding: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub warnings: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file_error: Option<String>,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// The first [`REPORT_REJECTIONS`] rejections, in file order.
    pub rejections: Vec<ReportedRejection>,
    /// Where every rejection of the partition is (filter on `raw_key`).
    pub rejects_key: String,
    pub validated_key: String,
    pub validator_version: u32,
}

/// The result of ingesting one key.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The file was validated (now or earlier); its report is at `report_key`.
    Ingested {
        report_key: String,
        report: Box<IngestReport>,
        /// Whether the partition was (re)validated by this call.
        validated: bool,
    },
    /// The key does not follow `raw/{source}/{YYYY-MM-DD}/{file}`: nothing was read or
    /// written (the nightly report lists such keys under `unrecognised_raw_keys`).
    InvalidKey { key: String, reason: String },
    /// The key is a revision that cannot be placed (`revision_gap`,
    /// `revision_of_missing_file`, `revision_numbering`), a file replaced by a later
    /// revision (`superseded`) or a revision that failed validation as a whole
    /// (`revision_held`): it is kept as evidence, its partition is validated from the files
    /// in force, and it is not (see `data/raw-formats.md`, "Corrections").
    NotInForce {
        key: String,
        reason_code: String,
        reason: String,
    },
    /// The delivery is dated more than the allowed margin after its arrival: nothing was
    /// validated (a night never processes it before its date; see `future_date` in the
    /// nightly report).
    FutureDate {
        key: String,
        date: String,
        arrived: String,
        max_future_days: u32,
    },
}

/// Limits of one ingest, from the function's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A delivery may be dated at most this many days after its arrival date in Beijing.
    pub max_future_days: u32,
    /// Larger raw files are rejected whole, unread.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_future_days: DEFAULT_MAX_FUTURE_DAYS,
            max_file_bytes: partition::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

impl Outcome {
    /// A compact JSON summary, the function's response for this key.
    pub fn summary(&self) -> serde_json::Value {
        match self {
            Outcome::Ingested {
                report_key,
                report,
                validated,
            } => serde_json::json!({
                "key": report.key,
                "outcome": report.status,
                "read": report.read,
                "accepted": report.accepted,
                "rejected": report.rejected,
                "sha256": report.sha256,
                "report": report_key,
                "partition_validated": validated,
            }),
            Outcome::FutureDate {
                key,
                date,
                arrived,
                max_future_days,
            } => serde_json::json!({
                "key": key,
                "outcome": "future-date",
                "reason_code": "future_date",
                "message": format!(
                    "{key:?} is dated {date}, more than {max_future_days} day(s) after its arrival on {arrived} (Beijing): not ingested; deliver it under its data date"
                ),
            }),
            Outcome::NotInForce {
                key,
                reason_code,
                reason,
            } => serde_json::json!({
                "key": key,
                "outcome": match reason_code.as_str() {
                    "superseded" => "superseded",
                    "revision_held" => "held-revision",
                    _ => "rejected-revision",
                },
                "reason_code": reason_code,
                "message": format!("{key:?} is not validated: {reason}"),
            }),
            Outcome::InvalidKey { key, reason } => serde_json::json!({
                "key": key,
                "outcome": "invalid-key",
                "message": format!(
                    "{key:?} is not a raw delivery: {reason}; deliver files as raw/{{source}}/{{YYYY-MM-DD}}/{{file}} (file names: ASCII letters, digits, '-', '_', '.')"
                ),
            }),
        }
    }
}

fn corrupt(key: &str, message: impl Into<String>) -> JobError {
    JobError::Corrupt {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Ingests one delivered key. `arrived_at` is the event's object-creation time.
pub fn ingest(
    store: &dyn Store,
    curated: &Curated,
    key: &str,
    arrived_at: Option<&str>,
    limits: Limits,
) -> Result<Outcome, IngestError> {
    let invalid = |reason: String| {
        Ok(Outcome::InvalidKey {
            key: key.to_string(),
            reason,
        })
    };
    let (source, date_text, file) = match layout::parse_raw_key(key) {
        Ok(parts) => parts,
        Err(e) => return invalid(e.reason.to_string()),
    };
    let Some(date) = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == date_text)
    else {
        return invalid(format!("{date_text} is not a calendar date"));
    };
    // A date far after the arrival is refused at the door (a typo, or a provider trying to
    // steer the night); the nightly run holds any future-dated delivery back anyway.
    let arrived = arrived_at
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    let arrival_date = jobs::beijing_date(arrived);
    if date > arrival_date + chrono::Days::new(u64::from(limits.max_future_days)) {
        return Ok(Outcome::FutureDate {
            key: key.to_string(),
            date: date_text,
            arrived: arrival_date.to_string(),
            max_future_days: limits.max_future_days,
        });
    }
    let partition_prefix = format!("{}{date_text}/", layout::raw_prefix(source));
    // The partition: every well-formed raw file of this source and date, in key order
    // (the order the nightly run validates them in).
    let list_partition = || -> Result<Vec<String>, StoreError> {
        Ok(store
            .list(&partition_prefix)?
            .into_iter()
            .filter(|k| layout::parse_raw_key(k).is_ok())
            .collect())
    };
    let mut keys = list_partition()?;
    if !keys.iter().any(|k| k == key) {
        // S3 is strongly consistent and evidence cannot be deleted: the event names an
        // object of another bucket or store than this function reads.
        return Err(IngestError::NotInStore {
            key: key.to_string(),
            store: store.describe(),
        });
    }

    // Refuse changed evidence; a fresh ledger of the bytes read now decides reuse.
    let recorded: RawLedger =
        partition::get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    // A revision that cannot be placed is not validated; a file replaced by a later
    // revision still has its partition validated (from the files in force) below.
    if let Some((outcome, false)) = not_in_force(key, &keys, &recorded, &revisions::Held::new()) {
        return Ok(outcome);
    }
    let report_key = layout::ingest_report_key(source, &date_text, &file)
        .map_err(|e| JobError::Definition(e.to_string()))?;
    let previous: Option<IngestReport> = partition::get_json(store, &report_key)?;
    // Files of one partition may arrive together, each with its own invocation validating
    // the whole partition. A pass is kept only if no file arrived meanwhile; otherwise it
    // runs again with the longer listing. Every pass writes all its objects before the
    // re-listing, and listings only grow, so the last writes to the partition always come
    // from a pass over the complete listing: the partition and its manifest never mix two
    // listings (which would let the nightly run reuse a partition missing a file).
    let mut pass = 1;
    let (manifest, validated, sha256, bytes) = loop {
        let mut now = RawLedger::default();
        let mut delivered = None;
        for k in &keys {
            // Streamed: a file of any size is hashed in constant memory.
            let fp = partition::open_fingerprint(store, k)?;
            let sha = fp.sha256.clone();
            if let Some(e) = recorded.files.get(k)
                && e.sha256 != sha
            {
                return Err(JobError::from(ChangedRawFile {
                    key: k.clone(),
                    recorded: e.sha256.clone(),
                    now: sha,
                    first_seen_run: e.first_seen_run.clone(),
                })
                .into());
            }
            if k == key {
                if let Some(p) = &previous
                    && p.sha256 != sha
                {
                    return Err(JobError::from(ChangedRawFile {
                        key: k.clone(),
                        recorded: p.sha256.clone(),
                        now: sha,
                        first_seen_run: format!(
                            "ingest at {}",
                            p.arrived_at.as_deref().unwrap_or("an unknown time")
                        ),
                    })
                    .into());
                }
                delivered = Some((sha.clone(), fp.bytes));
            }
            now.sight(k, &fp, None, &date_text)
                .map_err(JobError::from)?;
        }
        let Some((sha256, bytes)) = delivered else {
            return Err(corrupt(key, "listed but not read").into());
        };

        // The registry in force: the latest validated one on or before the date (before it,
        // for the registry itself), as the nightly run uses.
        let registry_date = if source == Source::Enterprises {
            date.pred_opt().unwrap_or(date)
        } else {
            date
        };
        let (registry, registry_id) = crate::registry::registry_in_force(
            store,
            registry_date,
            crate::registry::DEFAULT_MAX_REGISTRY_SHRINK,
        )?;
        let ctx = Context {
            curated,
            registry: &registry,
            date,
        };
        let mut by_reason = BTreeMap::new();
        let no_conflicts = std::collections::BTreeSet::new();
        let evidence = partition::Evidence {
            ledger: &now,
            conflicted: &no_conflicts,
            registry: if source == Source::Enterprises {
                None
            } else {
                registry_id.as_deref()
            },
            max_file_bytes: limits.max_file_bytes,
        };
        // Every delivered file is hashed above; the partition is made of those in force (a
        // revision that fails as a whole held).
        let (manifest, validated) = partition::validate_partition(
            store,
            source,
            date,
            &revisions::resolver(&keys, &recorded, revisions::EVERY_NIGHT),
            ctx,
            evidence,
            &mut by_reason,
        )?
        .written(store)?;
        if validated {
            tracing::info!(key, source = %source, date = %date_text, files = keys.len(), "partition validated");
        } else {
            tracing::info!(key, source = %source, date = %date_text, "partition already validated from these raw files; reused");
        }
        let again = list_partition()?;
        if again == keys {
            break (manifest, validated, sha256, bytes);
        }
        if pass >= MAX_PASSES {
            return Err(IngestError::Contended {
                prefix: partition_prefix,
                passes: pass,
            });
        }
        tracing::info!(
            key,
            pass,
            files = again.len(),
            "more files arrived for this partition; validating it again"
        );
        keys = again;
        pass += 1;
    };

    // Held or superseded: the partition is validated from the files in force, not this one.
    let held: revisions::Held = manifest
        .held
        .iter()
        .map(|h| (h.key.clone(), h.clone()))
        .collect();
    if let Some((outcome, _)) = not_in_force(key, &keys, &recorded, &held) {
        return Ok(outcome);
    }
    let report = build_report(
        store,
        &manifest,
        key,
        (source, &date_text, &file),
        (&sha256, bytes),
        previous
            .as_ref()
            .and_then(|p| p.arrived_at.clone())
            .or(arrived_at.map(str::to_string)),
    )?;
    let mut json = serde_json::to_vec_pretty(&report).expect("serialisable");
    json.push(b'\n');
    if store.get(&report_key)?.as_deref() != Some(json.as_slice()) {
        store.put(&report_key, &json)?;
    }
    Ok(Outcome::Ingested {
        report_key,
        report: Box::new(report),
        validated,
    })
}

/// Why `key` is not in force among the partition's `keys` (the ingest counts every revision
/// delivered so far) with the revisions `held`, and whether its partition is validated
/// anyway (superseded or held); `None` when it is in force.
fn not_in_force(
    key: &str,
    keys: &[String],
    ledger: &RawLedger,
    held: &revisions::Held,
) -> Option<(Outcome, bool)> {
    let resolved = revisions::resolve_held(keys, ledger, revisions::EVERY_NIGHT, held);
    if let Some(h) = resolved.held.iter().find(|h| h.key == key) {
        let outcome = Outcome::NotInForce {
            key: key.to_string(),
            reason_code: "revision_held".into(),
            reason: format!(
                "revision {} failed validation as a whole ({}: {}); it is held, not in force: {} stays in force",
                h.revision, h.reason_code, h.reason, h.kept
            ),
        };
        return Some((outcome, true));
    }
    if let Some(r) = resolved.rejected.iter().find(|r| r.key == key) {
        let outcome = Outcome::NotInForce {
            key: key.to_string(),
            reason_code: r.reason_code.clone(),
            reason: r.reason.clone(),
        };
        return Some((outcome, false));
    }
    if resolved.superseded.iter().any(|k| k == key) {
        let by = resolved
            .applied
            .iter()
            .filter(|a| revisions::base_key(&a.key) == revisions::base_key(key))
            .map(|a| a.key.as_str())
            .next_back()
            .unwrap_or("a later revision");
        let outcome = Outcome::NotInForce {
            key: key.to_string(),
            reason_code: "superseded".into(),
            reason: format!("replaced by the revision {by}, which is in force"),
        };
        return Some((outcome, true));
    }
    None
}

/// The per-file report, from the partition's manifest and rejects CSV only.
fn build_report(
    store: &dyn Store,
    manifest: &PartitionManifest,
    key: &str,
    (source, date, file): (Source, &str, &str),
    (sha256, bytes): (&str, u64),
    arrived_at: Option<String>,
) -> Result<IngestReport, JobError> {
    let manifest_key = layout::validated_manifest_key(source, date).expect("checked date");
    let counts: &FileCounts = manifest
        .files
        .iter()
        .find(|f| f.key == key)
        .ok_or_else(|| corrupt(&manifest_key, format!("does not list {key}")))?;
    let rejects_key = layout::rejects_key(source, date).expect("checked date");
    let mut rejections = Vec::new();
    let mut rejected_by_reason = BTreeMap::new();
    if let Some(csv_bytes) = store.get(&rejects_key)? {
        let text = csv_bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(&csv_bytes);
        let mut reader = csv::ReaderBuilder::new().from_reader(text);
        let headers = reader
            .headers()
            .map_err(|e| corrupt(&rejects_key, e.to_string()))?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| corrupt(&rejects_key, format!("no {name} column")))
        };
        let [raw_key, line, field, value, code, reason, scope] = [
            "raw_key",
            "line",
            "field",
            "value",
            "reason_code",
            "reason",
            "scope",
        ]
        .map(column);
        let (raw_key, line, field, value, code, reason, scope) =
            (raw_key?, line?, field?, value?, code?, reason?, scope?);
        for record in reader.records() {
            let r = record.map_err(|e| corrupt(&rejects_key, e.to_string()))?;
            if r.get(raw_key) != Some(key) {
                continue;
            }
            let cell = |i: usize| r.get(i).unwrap_or("").to_string();
            *rejected_by_reason.entry(cell(code)).or_insert(0u64) += 1;
            if rejections.len() < REPORT_REJECTIONS {
                rejections.push(ReportedRejection {
                    line: cell(line)
                        .parse()
                        .map_err(|_| corrupt(&rejects_key, "a line number is not a number"))?,
                    field: cell(field),
                    value: cell(value),
                    reason_code: cell(code),
                    reason: cell(reason),
                    scope: cell(scope),
                });
            }
        }
    }
    let status = if counts.rejected == 0 && counts.file_error.is_none() {
        Status::Accepted
    } else if counts.accepted == 0 {
        Status::Rejected
    } else {
        Status::PartiallyRejected
    };
    Ok(IngestReport {
        key: key.to_string(),
        source,
        date: date.to_string(),
        file: file.to_string(),
        sha256: sha256.to_string(),
        bytes,
        arrived_at,
        status,
        encoding: counts.encoding.clone(),
        read: counts.read,
        accepted: counts.accepted,
        rejected: counts.rejected,
        warnings: counts.warnings,
        file_error: counts.file_error.clone(),
        rejected_by_reason,
        rejections,
        rejects_key,
        validated_key: layout::validated_key(source, date).expect("checked date"),
        validator_version: manifest.validator_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, StoreError};

    const MSW_HEADER: &str =
        "统一社会信用代码,设施名称,日期,处理方式,进场量(t),无害化处理量(t),资源化产品量(t)\n";

    fn curated() -> Curated {
        Curated::load().expect("curated tables")
    }

    #[test]
    fn a_key_outside_the_layout_is_an_invalid_outcome_that_touches_nothing() {
        let store = MemoryStore::new();
        let c = curated();
        for key in [
            "datasets/x/x.csv",
            "raw/unknown-source/2026-01-31/a.csv",
            "raw/msw/2026-02-30/msw.csv",
            "raw/msw/2026-01-31/sub/msw.csv",
            "raw/msw/2026-01-31/a b.csv",
        ] {
            let outcome = ingest(&store, &c, key, None, Limits::default()).unwrap();
            assert!(
                matches!(&outcome, Outcome::InvalidKey { key: k, .. } if k == key),
                "{key}: {outcome:?}"
            );
            assert_eq!(outcome.summary()["outcome"], "invalid-key");
        }
        assert!(store.list("").unwrap().is_empty());
    }

    #[test]
    fn a_delivery_dated_past_the_margin_is_refused_and_nothing_is_written() {
        let store = MemoryStore::new();
        let c = curated();
        // Arrival 2026-01-31T20:00Z is 1 February 04:00 in Beijing; with a margin of one
        // day, 2 February is the latest acceptable date.
        let at = Some("2026-01-31T20:00:00Z");
        let far = "raw/msw/2099-01-01/msw.csv";
        store.put(far, MSW_HEADER.as_bytes()).unwrap();
        let outcome = ingest(&store, &c, far, at, Limits::default()).unwrap();
        assert!(
            matches!(&outcome, Outcome::FutureDate { date, arrived, .. } if date == "2099-01-01" && arrived == "2026-02-01"),
            "{outcome:?}"
        );
        assert_eq!(outcome.summary()["reason_code"], "future_date");
        assert_eq!(
            store.list("").unwrap(),
            vec![far.to_string()],
            "nothing written"
        );
        let next_day = "raw/msw/2026-02-02/msw.csv";
        store.put(next_day, MSW_HEADER.as_bytes()).unwrap();
        let outcome = ingest(&store, &c, next_day, at, Limits::default()).unwrap();
        assert!(matches!(outcome, Outcome::Ingested { .. }), "{outcome:?}");
        let day_after = "raw/msw/2026-02-03/msw.csv";
        store.put(day_after, MSW_HEADER.as_bytes()).unwrap();
        let outcome = ingest(&store, &c, day_after, at, Limits::default()).unwrap();
        assert!(matches!(outcome, Outcome::FutureDate { .. }), "{outcome:?}");
    }

    #[test]
    fn a_missing_object_is_an_invalid_event() {
        let store = MemoryStore::new();
        let err = ingest(
            &store,
            &curated(),
            "raw/msw/2026-01-31/msw.csv",
            None,
            Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, IngestError::NotInStore { .. }), "{err}");
    }

    #[test]
    fn a_changed_delivery_is_refused_and_the_first_report_kept() {
        let store = MemoryStore::new();
        let c = curated();
        let key = "raw/msw/2026-01-31/msw.csv";
        store.put(key, MSW_HEADER.as_bytes()).unwrap();
        let first = ingest(
            &store,
            &c,
            key,
            Some("2026-02-01T00:00:00Z"),
            Limits::default(),
        )
        .unwrap();
        let Outcome::Ingested { report_key, .. } = &first else {
            panic!("{first:?}")
        };
        let report_bytes = store.get(report_key).unwrap().unwrap();
        store
            .put(
                key,
                format!("{MSW_HEADER}x,y,2026-01-31,焚烧,1,1,0\n").as_bytes(),
            )
            .unwrap();
        let err = ingest(
            &store,
            &c,
            key,
            Some("2026-02-01T01:00:00Z"),
            Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, IngestError::Job(JobError::ChangedRaw(_))),
            "{err}"
        );
        assert_eq!(store.get(report_key).unwrap().unwrap(), report_bytes);
    }

    /// A store where a second file of the partition arrives while the first is validated.
    struct ArrivingStore {
        inner: MemoryStore,
        arrival: std::sync::Mutex<Option<(&'static str, Vec<u8>)>>,
    }

    impl Store for ArrivingStore {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.get(key)
        }
        fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
            self.inner.put(key, bytes)?;
            if key.ends_with("manifest.json")
                && let Some((k, b)) = self.arrival.lock().unwrap().take()
            {
                self.inner.put(k, &b)?;
            }
            Ok(())
        }
        fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
            self.inner.list(prefix)
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.inner.delete(key)
        }
        fn describe(&self) -> String {
            "arriving".into()
        }
    }

    #[test]
    fn a_file_arriving_during_validation_is_validated_with_its_partition() {
        let second = "raw/msw/2026-01-31/msw-2.csv";
        let store = ArrivingStore {
            inner: MemoryStore::new(),
            arrival: std::sync::Mutex::new(Some((second, MSW_HEADER.as_bytes().to_vec()))),
        };
        let key = "raw/msw/2026-01-31/msw.csv";
        store.put(key, MSW_HEADER.as_bytes()).unwrap();
        ingest(&store, &curated(), key, None, Limits::default()).unwrap();
        let manifest: PartitionManifest = serde_json::from_slice(
            &store
                .get("validated/msw/date=2026-01-31/manifest.json")
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let files: Vec<&str> = manifest.files.iter().map(|f| f.key.as_str()).collect();
        // Both, in key order ('-' sorts before '.').
        assert_eq!(files, vec![second, key]);
    }

    #[test]
    fn a_revision_replaces_its_file_in_the_partition_and_a_gap_is_rejected() {
        let store = MemoryStore::new();
        let c = curated();
        let put = |k: &str| store.put(k, MSW_HEADER.as_bytes()).unwrap();
        let ingest_key = |k: &str| ingest(&store, &c, k, None, Limits::default()).unwrap();
        let (r1, r2, r3) = (
            "raw/msw/2026-01-31/msw.csv",
            "raw/msw/2026-01-31/msw.r2.csv",
            "raw/msw/2026-01-31/msw.r3.csv",
        );
        put(r1);
        ingest_key(r1);
        // Revision 3 before revision 2: rejected, naming the missing key; nothing validated.
        put(r3);
        let before = store
            .get("validated/msw/date=2026-01-31/manifest.json")
            .unwrap();
        let outcome = ingest_key(r3);
        let Outcome::NotInForce {
            reason_code,
            reason,
            ..
        } = &outcome
        else {
            panic!("{outcome:?}")
        };
        assert_eq!(reason_code, "revision_gap");
        assert!(reason.contains(r2), "{reason}");
        assert_eq!(outcome.summary()["outcome"], "rejected-revision");
        assert_eq!(
            store
                .get("validated/msw/date=2026-01-31/manifest.json")
                .unwrap(),
            before
        );
        // Revision 2 fills the gap: revision 3 is in force, the partition lists it alone.
        put(r2);
        let outcome = ingest_key(r2);
        assert!(
            matches!(&outcome, Outcome::NotInForce { reason_code, .. } if reason_code == "superseded"),
            "{outcome:?}"
        );
        let manifest: PartitionManifest = serde_json::from_slice(
            &store
                .get("validated/msw/date=2026-01-31/manifest.json")
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let files: Vec<&str> = manifest.files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(files, vec![r3]);
        assert!(matches!(ingest_key(r3), Outcome::Ingested { .. }));
        // A revision of a file never delivered.
        let orphan = "raw/msw/2026-01-31/other.r2.csv";
        put(orphan);
        assert!(matches!(
            ingest_key(orphan),
            Outcome::NotInForce { reason_code, .. } if reason_code == "revision_of_missing_file"
        ));
    }

    #[test]
    fn a_revision_that_fails_as_a_whole_is_held_and_its_file_stays_in_force() {
        let store = MemoryStore::new();
        let c = curated();
        let ingest_key = |k: &str| ingest(&store, &c, k, None, Limits::default()).unwrap();
        let (r1, r2) = (
            "raw/msw/2026-01-31/msw.csv",
            "raw/msw/2026-01-31/msw.r2.csv",
        );
        store.put(r1, MSW_HEADER.as_bytes()).unwrap();
        ingest_key(r1);
        // Neither UTF-8 nor GB18030: undecodable, held.
        store.put(r2, b"\xff\xfe\xff\n").unwrap();
        let outcome = ingest_key(r2);
        let Outcome::NotInForce {
            reason_code,
            reason,
            ..
        } = &outcome
        else {
            panic!("{outcome:?}")
        };
        assert_eq!(reason_code, "revision_held");
        assert!(
            reason.contains("undecodable_file") && reason.contains(r1),
            "{reason}"
        );
        assert_eq!(outcome.summary()["outcome"], "held-revision");
        let manifest: PartitionManifest = serde_json::from_slice(
            &store
                .get("validated/msw/date=2026-01-31/manifest.json")
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let files: Vec<&str> = manifest.files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(files, vec![r1]);
        let held: Vec<(&str, u32, &str)> = manifest
            .held
            .iter()
            .map(|h| (h.key.as_str(), h.revision, h.kept.as_str()))
            .collect();
        assert_eq!(held, vec![(r2, 2, r1)]);
        // The original is still in force: ingesting it again reports it, not "superseded".
        assert!(matches!(ingest_key(r1), Outcome::Ingested { .. }));
    }

    #[test]
    fn the_first_arrival_time_is_kept_on_redelivery() {
        let store = MemoryStore::new();
        let c = curated();
        let key = "raw/msw/2026-01-31/msw.csv";
        store.put(key, MSW_HEADER.as_bytes()).unwrap();
        ingest(
            &store,
            &c,
            key,
            Some("2026-02-01T00:00:00Z"),
            Limits::default(),
        )
        .unwrap();
        let Outcome::Ingested {
            report, validated, ..
        } = ingest(
            &store,
            &c,
            key,
            Some("2026-02-01T05:00:00Z"),
            Limits::default(),
        )
        .unwrap()
        else {
            panic!("not ingested")
        };
        assert_eq!(report.arrived_at.as_deref(), Some("2026-02-01T00:00:00Z"));
        assert!(!validated, "an unchanged partition is not validated again");
        assert_eq!(report.read, 0);
        assert_eq!(report.status, Status::Accepted);
    }
}
