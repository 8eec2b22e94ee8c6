//! The raw files a night saw: `runs/{date}/inputs.json`, every raw key dated on or before the
//! night that its listing held (revisions and superseded files included, so that the same
//! revision rule gives the same files in force), with the sha256 the ledger records.
//!
//! Stage: ingest (a record written by the night, read by `envgov rebuild`). Imports the ledger,
//! the store and `partition`'s JSON helpers only. Why it exists: which files a night of date
//! `D` saw is history (a night re-run later, or run after a later night, sees files the ledger
//! first saw on a later date), so the night says it itself, and the rebuild reproduces it.

use crate::error::JobError;
use crate::ledger::RawLedger;
use crate::partition::{get_json, put_json};
use crate::store::Store;
use envgov_dataset::layout;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `runs/{date}/inputs.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NightInputs {
    pub night: String,
    /// Raw key → the sha256 the ledger records for it (empty when it records none).
    pub files: BTreeMap<String, String>,
}

fn key(night: &str) -> Result<String, JobError> {
    layout::run_inputs_key(night).map_err(|e| JobError::Definition(e.to_string()))
}

/// Writes the night's record of the raw keys it listed (dated on or before it); unchanged
/// records are not written again.
pub fn record<'a>(
    store: &dyn Store,
    night: &str,
    keys: impl IntoIterator<Item = &'a String>,
    ledger: &RawLedger,
) -> Result<(), JobError> {
    let files: BTreeMap<String, String> = keys
        .into_iter()
        .map(|k| {
            let sha = ledger.files.get(k).map(|e| e.sha256.clone());
            (k.clone(), sha.unwrap_or_default())
        })
        .collect();
    let inputs = NightInputs {
        night: night.to_string(),
        files,
    };
    let key = key(night)?;
    if read(store, night)?.as_ref() != Some(&inputs) {
        put_json(store, &key, &inputs)?;
    }
    Ok(())
}

/// The record of a night, if it wrote one.
pub fn read(store: &dyn Store, night: &str) -> Result<Option<NightInputs>, JobError> {
    get_json(store, &key(night)?)
}
