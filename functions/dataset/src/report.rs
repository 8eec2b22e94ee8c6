//! Run reports: the row accounting of a nightly run, written to `runs/{date}/report.json`.
//!
//! Every input row, packet or record is either accepted or rejected, per file and per
//! source: `read == accepted + rejected` always holds, and [`RunReport::check_accounting`]
//! verifies it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts for one raw file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    pub key: String,
    pub sha256: String,
    pub bytes: u64,
    /// The encoding the file was decoded from (`utf-8`, `utf-8-bom`, `gb18030`).
    pub encoding: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Irregularities tolerated (e.g. whitespace inside HJ 212 fields), not rejections.
    pub warnings: u64,
    /// The file could not be read at all (then every line counts as rejected).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file_error: Option<String>,
}

/// Counts for one source over the files of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rejections by reason code, for a quick look at what went wrong.
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub files: Vec<FileCounts>,
}

/// `runs/{date}/report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_date: String,
    pub envgov_version: String,
    /// Dates whose raw files were validated in this run (history already validated is reused).
    pub validated_dates: Vec<String>,
    /// Data dates of the raw files first seen in this run's date (from the ledger): what
    /// "last night" brought. Unlike `validated_dates`, the same on a retry of the same night.
    #[serde(default)]
    pub new_data_dates: Vec<String>,
    /// Keys under `raw/` that do not follow `raw/{source}/{YYYY-MM-DD}/{file}`: not read,
    /// listed here so that nothing delivered goes unnoticed.
    #[serde(default)]
    pub unrecognised_raw_keys: Vec<String>,
    /// Raw deliveries dated after the run date: not validated, not published, held back
    /// until the night of their date (`reason_code` `future_date`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_back: Vec<HeldBack>,
    /// Raw files whose bytes are no longer those first recorded in the ledger. The night
    /// goes on: the ledger keeps the first hash, the partition validated from the original
    /// bytes stays in force, and the changed bytes are never validated or published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_conflicts: Vec<RawConflict>,
    /// Registry deliveries not put in force (rejected whole, or shrinking the register by
    /// more than the limit) until an operator confirms them (`envgov registry accept DATE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry_held: Vec<RegistryHeld>,
    /// The registry (its delivery date) in force on the run date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_in_force: Option<String>,
    /// Corrections (`data/raw-formats.md`, "Corrections"): the revisions in force and the
    /// revisions that could not be placed.
    #[serde(default, skip_serializing_if = "Revisions::is_empty")]
    pub revisions: Revisions,
    /// How the raw files up to the run date were checked against the ledger.
    #[serde(default)]
    pub raw_files: RawFileChecks,
    pub sources: BTreeMap<String, SourceCounts>,
    pub datasets: BTreeMap<String, u64>,
    /// The dataset publication this run wrote (`datasets/publications/{id}/`): what its
    /// site release serves at the stable dataset URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<String>,
    /// Datasets whose dated archive for the run date already held other outputs (a re-run
    /// with changed inputs): dataset id → the new revision written instead
    /// (`datasets/{id}/archive/{date}/r{n}/`). The earlier archive is never rewritten.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub archive_revisions: BTreeMap<String, String>,
    /// The site release this run made live, if it rendered the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_release: Option<String>,
    /// Site objects uploaded (new or changed content) and skipped (same content hash).
    #[serde(default)]
    pub site_uploaded: u64,
    #[serde(default)]
    pub site_uploaded_bytes: u64,
    #[serde(default)]
    pub site_skipped: u64,
    pub reject_rate: f64,
    pub reject_rate_limit: f64,
    /// Wall-clock seconds per stage. The only non-deterministic part of a run's outputs,
    /// kept here and out of the datasets.
    pub timings_s: BTreeMap<String, f64>,
}

/// A raw delivery held back from a night.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBack {
    pub key: String,
    pub date: String,
    pub reason_code: String,
    pub reason: String,
}

/// A raw file whose bytes changed after they were first recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawConflict {
    pub key: String,
    pub recorded_sha256: String,
    pub found_sha256: String,
    pub first_seen_run: String,
    pub action: String,
}

/// The revisions of raw files a night considered (see `data/raw-formats.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revisions {
    /// Every revision (n ≥ 2) in force on the night, by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<AppliedRevision>,
    /// Revisions that first came into force on this night replacing a file in force the
    /// night before: corrections of what was published (their partitions were validated
    /// again and their changes are in the night's changelogs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_tonight: Vec<String>,
    /// Revisions that cannot be placed: never validated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<RejectedRevision>,
    /// Raw files replaced by a later revision in force: kept as evidence, not validated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
    /// Revisions delivered in order but not in force because they failed validation as a
    /// whole: the file in force before them stays in force (by key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldRevision>,
}

impl Revisions {
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty()
            && self.new_tonight.is_empty()
            && self.rejected.is_empty()
            && self.superseded.is_empty()
            && self.held.is_empty()
    }
}

/// A revision in force: it replaces `replaces` whole (revision n − 1, or the revision in
/// force before it when the revisions between are held).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppliedRevision {
    pub key: String,
    pub revision: u32,
    pub replaces: String,
    /// From the raw ledger (empty when the ledger has not recorded the key yet).
    pub sha256: String,
    /// The night that first saw it (from the ledger), from which it is in force.
    pub first_seen_run: String,
}

/// A revision that failed validation as a whole (`data/raw-formats.md`, "Corrections"): over
/// the size limit, undecodable, or records read and none accepted. It never takes force; the
/// file in force before it stays in force, and a later revision can still replace that.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HeldRevision {
    pub key: String,
    pub revision: u32,
    pub sha256: String,
    /// Why: `file_too_large`, `undecodable_file` (or another whole-file reason of the
    /// validators), or `no_record_accepted`.
    pub reason_code: String,
    pub reason: String,
    /// The records read from it and rejected (for a whole-file failure, its lines).
    pub read: u64,
    pub rejected: u64,
    /// The key in force instead (on the night of the report).
    pub kept: String,
}

/// A revision that cannot be placed (`revision_gap`, `revision_of_missing_file`,
/// `revision_numbering`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RejectedRevision {
    pub key: String,
    pub reason_code: String,
    pub reason: String,
}

/// A registry delivery that was not put in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryHeld {
    /// The delivery date of the held registry.
    pub date: String,
    /// Units it would have put in force.
    pub units: u64,
    /// The registry kept in force (its delivery date) and its units.
    pub kept: Option<String>,
    pub kept_units: u64,
    pub reason_code: String,
    pub reason: String,
}

/// The raw files a night listed: hashed (new, changed size or tag, the rotating sample, or
/// `--rehash`) or trusted unread (the ledger's size and tag match the listing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFileChecks {
    pub listed: u64,
    pub hashed: u64,
    pub trusted: u64,
    pub new: u64,
}

/// A broken invariant of the row accounting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "row accounting broken for {what}: read {read} != accepted {accepted} + rejected {rejected}"
)]
pub struct AccountingError {
    pub what: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
}

impl SourceCounts {
    pub fn add_file(&mut self, file: FileCounts) {
        self.read += file.read;
        self.accepted += file.accepted;
        self.rejected += file.rejected;
        self.files.push(file);
    }
}

impl RunReport {
    pub fn totals(&self) -> (u64, u64, u64) {
        self.sources.values().fold((0, 0, 0), |(r, a, j), s| {
            (r + s.read, a + s.accepted, j + s.rejected)
        })
    }

    /// Checks `read == accepted + rejected` for every file, every source and the total.
    pub fn check_accounting(&self) -> Result<(), AccountingError> {
        let check = |what: &str, read, accepted, rejected| {
            if read == accepted + rejected {
                Ok(())
            } else {
                Err(AccountingError {
                    what: what.to_string(),
                    read,
                    accepted,
                    rejected,
                })
            }
        };
        for (name, s) in &self.sources {
            check(name, s.read, s.accepted, s.rejected)?;
            let (mut r, mut a, mut j) = (0, 0, 0);
            for f in &s.files {
                check(&f.key, f.read, f.accepted, f.rejected)?;
                r += f.read;
                a += f.accepted;
                j += f.rejected;
            }
            if (r, a, j) != (s.read, s.accepted, s.rejected) {
                return Err(AccountingError {
                    what: format!("{name} (sum of files)"),
                    read: r,
                    accepted: a,
                    rejected: j,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_detects_a_lost_row() {
        let mut report = RunReport::default();
        let mut s = SourceCounts::default();
        s.add_file(FileCounts {
            key: "raw/msw/2026-01-01/a.csv".into(),
            read: 10,
            accepted: 8,
            rejected: 2,
            ..Default::default()
        });
        report.sources.insert("msw".into(), s);
        assert!(report.check_accounting().is_ok());
        report.sources.get_mut("msw").unwrap().files[0].accepted = 7;
        let err = report.check_accounting().unwrap_err();
        assert_eq!(err.what, "raw/msw/2026-01-01/a.csv");
    }
}
