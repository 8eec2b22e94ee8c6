//! The errors of the pipeline's stages: [`JobError`] (what a job, and every stage it runs,
//! fails with) and [`ReleaseError`] (the release machinery's own failures).
//!
//! Shared by every stage: no stage imports `jobs` or `release` for its error type. Depends
//! only on the store's, the ledger's and the signing key's errors; imports no stage.

use crate::ledger::ChangedRawFile;
use crate::store::StoreError;
use chrono::NaiveDate;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ChangedRaw(#[from] ChangedRawFile),
    #[error("no raw data in the store under raw/ (run `envgov generate` or deliver files first)")]
    NoRawData,
    #[error("no raw data on or before {0}")]
    NoDataForDate(NaiveDate),
    #[error(
        "{key} kept changing under concurrent writers ({attempts} compare-and-set attempts); run again"
    )]
    Contended { key: String, attempts: u32 },
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
    Release(ReleaseError),
    /// No key to sign the night's manifest with (a configured key that cannot be read).
    #[error(transparent)]
    Signing(#[from] crate::signing::KeySourceError),
    /// A fanned-out night whose partition tasks did not all succeed: its reduce publishes
    /// nothing (see `fanout::reduce`).
    #[error(
        "{missing} of the {planned} partition tasks of the night of {run_date} did not succeed ({first}); nothing was published: run the night again"
    )]
    TasksIncomplete {
        run_date: String,
        planned: usize,
        missing: usize,
        first: String,
    },
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
            JobError::Contended { .. } => true,
            _ => false,
        }
    }
}

/// A failure of the release machinery itself (the store's failures are [`StoreError`]s).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("release {release} is not complete: {problem}")]
    Incomplete { release: String, problem: String },
    #[error("no release to roll back to: {0}")]
    NoRollbackTarget(String),
    #[error(
        "site/current changed while switching to {release} (it is now {now}); nothing was switched: check `envgov releases` and run again"
    )]
    Contended { release: String, now: String },
    #[error("stored {key} is corrupt: {message}")]
    Corrupt { key: String, message: String },
    /// A prune marked the release for deletion before it could be made live.
    #[error(
        "release {release} is being pruned ({marker} exists); nothing was switched: pick another release (`envgov releases`), or run the night again"
    )]
    BeingPruned { release: String, marker: String },
    /// A file of the in-browser query engine could not be read from the folder given
    /// (`--query-engine`, `ENVGOV_QUERY_ENGINE`; `scripts/duckdb-wasm-assets` makes it).
    #[error("query engine file {path}: {source} (install it with scripts/duckdb-wasm-assets)")]
    QueryEngine {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Setting the CloudFront KeyValueStore key failed. The store's `site/current` is
    /// already switched; running again (the same release) repeats the mirror.
    #[error("mirroring site/current to the KeyValueStore {arn}: {message}")]
    Mirror {
        arn: String,
        retryable: bool,
        message: String,
    },
}

impl ReleaseError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ReleaseError::Contended { .. } | ReleaseError::BeingPruned { .. } => true,
            ReleaseError::Mirror { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

impl From<ReleaseError> for JobError {
    fn from(e: ReleaseError) -> Self {
        JobError::Release(e)
    }
}
