//! The raw-file ledger: the sha256 and size of every raw file, recorded when first seen.
//!
//! Stage: ingest (pure). Raw deliveries are evidence: once a key is in the ledger its bytes
//! must never change. [`RawLedger::record`] refuses a changed file, so a published number can
//! always be traced back to exactly the bytes it came from.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub sha256: String,
    pub bytes: u64,
    /// The run (data date) in which the file was first seen.
    pub first_seen_run: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawLedger {
    pub files: BTreeMap<String, LedgerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "raw file {key} changed after delivery: first seen with sha256 {recorded} in run {first_seen_run}, now {now}; raw deliveries are immutable, deliver a correction under a new name"
)]
pub struct ChangedRawFile {
    pub key: String,
    pub recorded: String,
    pub now: String,
    pub first_seen_run: String,
}

impl RawLedger {
    /// Records a file's hash on first sight; checks it on every later sight.
    /// Returns true when the file is new.
    pub fn record(&mut self, key: &str, bytes: &[u8], run: &str) -> Result<bool, ChangedRawFile> {
        let sha = sha256_hex(bytes);
        match self.files.get(key) {
            Some(e) if e.sha256 == sha => Ok(false),
            Some(e) => Err(ChangedRawFile {
                key: key.into(),
                recorded: e.sha256.clone(),
                now: sha,
                first_seen_run: e.first_seen_run.clone(),
            }),
            None => {
                self.files.insert(
                    key.into(),
                    LedgerEntry {
                        sha256: sha,
                        bytes: bytes.len() as u64,
                        first_seen_run: run.into(),
                    },
                );
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc() {
        // FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn refuses_a_changed_raw_file() {
        let mut l = RawLedger::default();
        assert_eq!(
            l.record("raw/msw/2026-01-01/msw.csv", b"a", "2026-01-01"),
            Ok(true)
        );
        assert_eq!(
            l.record("raw/msw/2026-01-01/msw.csv", b"a", "2026-01-02"),
            Ok(false)
        );
        let err = l
            .record("raw/msw/2026-01-01/msw.csv", b"b", "2026-01-03")
            .unwrap_err();
        assert_eq!(err.first_seen_run, "2026-01-01");
    }
}
