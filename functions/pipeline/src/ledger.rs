//! The raw-file ledger: the sha256, size and line count of every raw file, recorded when
//! first seen, and the rules for when a night must read a raw file again.
//!
//! Stage: ingest (pure, but for [`fingerprint`], which reads a stream). Raw deliveries are
//! evidence: once a key is in the ledger its bytes must never change. A changed file is not
//! a reason to stop the night: [`RawLedger::sight`] reports it as a [`ChangedRawFile`]
//! conflict, the ledger keeps the hash first recorded, and the night goes on with what it
//! validated from the original bytes (see `jobs`). A correction is a new key: a revision
//! `{stem}.r{n}.{ext}` of the file (`data/raw-formats.md`, "Corrections"), recorded here
//! like any delivery, with its own sha256; its `first_seen_run` is the night from which it is
//! in force (see [`crate::revisions`]). Superseded revisions keep their entries: evidence
//! is never dropped from the ledger.
//!
//! Bounded work: a night does not re-read the whole raw history. A file whose listed size
//! and version tag (S3's ETag) match the ledger is trusted without reading it; each night
//! re-hashes a rotating sample (about one file in [`REHASH_PERIOD`]), and every file on
//! demand (`envgov nightly --rehash`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A night re-hashes the raw files whose key falls in its slot of this many (by the
/// sha256 of the key and the run date), so that every stored file is re-verified about
/// once a month without reading the whole history every night.
pub const REHASH_PERIOD: u64 = 30;

/// What one streaming read of a file gives: its hash, size and line count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub sha256: String,
    pub bytes: u64,
    /// Non-empty lines: the `\n`-separated segments with at least one byte, counted the way
    /// a whole-file rejection counts them (the same in every encoding envgov accepts).
    pub lines: u64,
}

/// Hashes and counts a stream in constant memory (64 KiB at a time).
pub fn fingerprint(mut reader: impl Read) -> std::io::Result<Fingerprint> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut lines, mut in_line) = (0u64, 0u64, false);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        bytes += n as u64;
        for &b in chunk {
            if b == b'\n' {
                lines += u64::from(in_line);
                in_line = false;
            } else {
                in_line = true;
            }
        }
    }
    lines += u64::from(in_line);
    Ok(Fingerprint {
        sha256: hex::encode(hasher.finalize()),
        bytes,
        lines,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub sha256: String,
    pub bytes: u64,
    /// The run (data date) in which the file was first seen.
    pub first_seen_run: String,
    /// Non-empty lines, counted while hashing (absent in entries of older ledgers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
    /// The store's version tag of the object when it was last hashed (S3's ETag): while
    /// the listing shows the same size and tag, the object is trusted unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawLedger {
    pub files: BTreeMap<String, LedgerEntry>,
}

/// A raw file whose bytes are not the ones first recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error(
    "raw file {key} changed after delivery: first seen with sha256 {recorded} in run {first_seen_run}, now {now}; raw deliveries are immutable, deliver a correction as a revision {{stem}}.r2.{{ext}} beside it (data/raw-formats.md, Corrections)"
)]
pub struct ChangedRawFile {
    pub key: String,
    pub recorded: String,
    pub now: String,
    pub first_seen_run: String,
}

/// What a night must do with a listed raw file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// In the ledger with the listed size and tag, and not due for re-hashing: trusted.
    Trusted,
    /// New, changed in size or tag, due in the rotating sample, or `--rehash`: read it.
    Hash,
}

/// Whether `key` falls in `run`'s slot of the rotating re-hash sample.
pub fn in_rehash_sample(key: &str, run: &str) -> bool {
    let digest = Sha256::digest(format!("{run}\n{key}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first) % REHASH_PERIOD == 0
}

impl RawLedger {
    /// Decides whether a listed file must be read.
    pub fn check(&self, key: &str, size: u64, tag: &str, run: &str, rehash_all: bool) -> Check {
        match self.files.get(key) {
            Some(e)
                if !rehash_all
                    && e.bytes == size
                    && e.tag.as_deref() == Some(tag)
                    && !tag.is_empty()
                    && !in_rehash_sample(key, run) =>
            {
                Check::Trusted
            }
            _ => Check::Hash,
        }
    }

    /// Records a hashed file: a new file is added (returns `Ok(true)`), a known one with the
    /// recorded hash gets its tag and line count refreshed (`Ok(false)`), a known one with
    /// other bytes is a conflict: the recorded entry is kept as it was.
    pub fn sight(
        &mut self,
        key: &str,
        fp: &Fingerprint,
        tag: Option<&str>,
        run: &str,
    ) -> Result<bool, ChangedRawFile> {
        match self.files.get_mut(key) {
            Some(e) if e.sha256 == fp.sha256 => {
                e.tag = tag.map(str::to_string);
                e.lines = Some(fp.lines);
                Ok(false)
            }
            Some(e) => Err(ChangedRawFile {
                key: key.into(),
                recorded: e.sha256.clone(),
                now: fp.sha256.clone(),
                first_seen_run: e.first_seen_run.clone(),
            }),
            None => {
                self.files.insert(
                    key.into(),
                    LedgerEntry {
                        sha256: fp.sha256.clone(),
                        bytes: fp.bytes,
                        first_seen_run: run.into(),
                        lines: Some(fp.lines),
                        tag: tag.map(str::to_string),
                    },
                );
                Ok(true)
            }
        }
    }

    /// Records a file's hash on first sight; checks it on every later sight (the whole
    /// bytes in memory: for small files and tests). Returns true when the file is new.
    pub fn record(&mut self, key: &str, bytes: &[u8], run: &str) -> Result<bool, ChangedRawFile> {
        let fp = fingerprint(bytes).map_err(|e| ChangedRawFile {
            key: key.into(),
            recorded: String::new(),
            now: e.to_string(),
            first_seen_run: run.into(),
        })?;
        self.sight(key, &fp, None, run)
    }

    /// Folds this run's sightings into `fresh`, the ledger as stored now (another run may
    /// have written it since this one read it): entries only ever get added or their tags
    /// refreshed, never replaced by other bytes, so the merge of two runs loses no entry.
    /// Returns the keys both runs recorded with different hashes (the stored one is kept).
    pub fn merge_into(&self, fresh: &mut RawLedger) -> Vec<ChangedRawFile> {
        let mut conflicts = Vec::new();
        for (key, ours) in &self.files {
            match fresh.files.get_mut(key) {
                None => {
                    fresh.files.insert(key.clone(), ours.clone());
                }
                Some(theirs) if theirs.sha256 == ours.sha256 => {
                    // The earlier first sighting wins; the latest tag and line count.
                    if ours.first_seen_run < theirs.first_seen_run {
                        theirs.first_seen_run = ours.first_seen_run.clone();
                    }
                    if ours.tag.is_some() {
                        theirs.tag = ours.tag.clone();
                    }
                    if ours.lines.is_some() {
                        theirs.lines = ours.lines;
                    }
                }
                Some(theirs) => conflicts.push(ChangedRawFile {
                    key: key.clone(),
                    recorded: theirs.sha256.clone(),
                    now: ours.sha256.clone(),
                    first_seen_run: theirs.first_seen_run.clone(),
                }),
            }
        }
        conflicts
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
        // The recorded entry is kept.
        assert_eq!(
            l.files["raw/msw/2026-01-01/msw.csv"].sha256,
            sha256_hex(b"a")
        );
    }

    #[test]
    fn fingerprint_streams_hash_size_and_non_empty_lines() {
        // "a\r\n\nb" has the segments "a\r", "" and "b": two non-empty lines.
        let fp = fingerprint(&b"a\r\n\nb"[..]).unwrap();
        assert_eq!(fp.bytes, 5);
        assert_eq!(fp.lines, 2);
        assert_eq!(fp.sha256, sha256_hex(b"a\r\n\nb"));
        // Across the 64 KiB read boundary: 70,000 lines of "x\n".
        let big = b"x\n".repeat(70_000);
        let fp = fingerprint(&big[..]).unwrap();
        assert_eq!((fp.bytes, fp.lines), (140_000, 70_000));
        assert_eq!(fingerprint(&b""[..]).unwrap().lines, 0);
    }

    #[test]
    fn a_listed_file_with_its_recorded_size_and_tag_is_trusted_unread() {
        let mut l = RawLedger::default();
        let key = "raw/msw/2026-01-01/msw.csv";
        let fp = fingerprint(&b"abc\n"[..]).unwrap();
        l.sight(key, &fp, Some("etag-1"), "2026-01-01").unwrap();
        // Find a run date outside the rotating sample, and one inside it.
        let runs: Vec<String> = (1..=200)
            .map(|d| {
                (chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(d))
                    .to_string()
            })
            .collect();
        let outside = runs.iter().find(|r| !in_rehash_sample(key, r)).unwrap();
        let inside = runs.iter().filter(|r| in_rehash_sample(key, r)).count();
        // About one night in 30 re-hashes the file: over 200 nights, between 1 and 20.
        assert!((1..=20).contains(&inside), "{inside}");
        assert_eq!(l.check(key, 4, "etag-1", outside, false), Check::Trusted);
        assert_eq!(l.check(key, 4, "etag-2", outside, false), Check::Hash);
        assert_eq!(l.check(key, 5, "etag-1", outside, false), Check::Hash);
        assert_eq!(l.check(key, 4, "etag-1", outside, true), Check::Hash);
        assert_eq!(
            l.check("raw/msw/2026-01-01/new.csv", 4, "x", outside, false),
            Check::Hash
        );
    }

    #[test]
    fn merging_two_runs_loses_no_entry_and_keeps_the_first_hash() {
        let fp = |b: &[u8]| fingerprint(b).unwrap();
        let mut stored = RawLedger::default();
        stored
            .sight("raw/a/2026-01-01/x", &fp(b"x"), None, "2026-01-02")
            .unwrap();
        stored
            .sight("raw/a/2026-01-01/y", &fp(b"y"), None, "2026-01-02")
            .unwrap();
        let mut ours = RawLedger::default();
        ours.sight("raw/a/2026-01-01/x", &fp(b"x"), Some("t"), "2026-01-01")
            .unwrap();
        ours.sight("raw/a/2026-01-01/y", &fp(b"Y"), None, "2026-01-01")
            .unwrap();
        ours.sight("raw/a/2026-01-01/z", &fp(b"z"), None, "2026-01-01")
            .unwrap();
        let conflicts = ours.merge_into(&mut stored);
        assert_eq!(stored.files.len(), 3);
        assert_eq!(
            stored.files["raw/a/2026-01-01/x"].first_seen_run,
            "2026-01-01"
        );
        assert_eq!(stored.files["raw/a/2026-01-01/x"].tag.as_deref(), Some("t"));
        assert_eq!(stored.files["raw/a/2026-01-01/y"].sha256, sha256_hex(b"y"));
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].key, "raw/a/2026-01-01/y");
    }
}
