//! Invocation errors and their Lambda diagnostics.
//!
//! The `error_type` a function reports (and Lambda records, retries on, and sends to the
//! dead-letter queue with) says at a glance what to do:
//!
//! | `error_type` | meaning | what helps |
//! |---|---|---|
//! | `Retryable.Storage` | S3 or the disk failed (timeouts, 5xx, throttling, access denied) | nothing on the data side: Lambda's retries, or fixing permissions and redriving the DLQ |
//! | `Retryable.Contended` | files kept arriving for the partition being validated | Lambda's retry |
//! | `Retryable.Release` | the live-release switch met a concurrent switch, or the CloudFront KeyValueStore update failed | Lambda's retry (the same release) |
//! | `InvalidData.RejectRate` | a source's share of rejected records is over the limit | the provider's corrected delivery |
//! | `InvalidData.ChangedRawFile` | delivered evidence changed after it was first seen | investigation: raw files are immutable |
//! | `InvalidData.NoRawData` | no raw data for the night | deliveries |
//! | `InvalidData.Key` | a key that the store refuses | the delivery's name |
//! | `InvalidEvent` | the event is not one this function takes, or names an object it cannot read | the event source's configuration |
//! | `Config` | the function's environment is wrong (also reported as an init error) | the deployment |
//! | `Internal.TasksIncomplete` | a fan-out reduce found a partition task without a successful outcome; nothing published | a new execution of the state machine for the night |
//! | `Internal.*` | a bug or corrupt derived data | a fix, then a re-run |
//!
//! Every `Retryable.*` error leaves the event valid: re-delivering it once storage works
//! succeeds and, since every output is deterministic, changes nothing already written.

use envgov_pipeline::error::JobError;
use envgov_pipeline::store::StoreError;
use lambda_runtime::Diagnostic;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Event(#[from] crate::events::EventError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Concurrent writers kept changing what this invocation works on; trying again later
    /// will succeed.
    #[error("{0}")]
    Contended(String),
    /// The blocking task running the pipeline panicked or was cancelled.
    #[error("the pipeline task failed: {0}")]
    Task(String),
}

impl From<StoreError> for FunctionError {
    fn from(e: StoreError) -> Self {
        FunctionError::Job(JobError::Store(e))
    }
}

fn store_error_type(e: &StoreError) -> &'static str {
    match e {
        StoreError::BadKey { .. } => "InvalidData.Key",
        StoreError::Config { .. } => "Config",
        // A stored object differs from its manifest: retrying copies the same bytes.
        StoreError::HashMismatch { .. } => "Internal.CorruptObject",
        // A store without conditional writes: a deployment or code error, not a hiccup.
        StoreError::Unsupported { .. } => "Internal.Unsupported",
        // I/O and S3 failures, transient or not: the event itself is fine.
        _ => "Retryable.Storage",
    }
}

impl FunctionError {
    /// The readable `error_type` of the diagnostic (see the module docs).
    pub fn error_type(&self) -> &'static str {
        match self {
            FunctionError::Job(e) => match e {
                JobError::Store(s) => store_error_type(s),
                JobError::ChangedRaw(_) => "InvalidData.ChangedRawFile",
                JobError::RejectRate { .. } => "InvalidData.RejectRate",
                JobError::NoRawData | JobError::NoDataForDate(_) => "InvalidData.NoRawData",
                JobError::Corrupt { .. } => "Internal.CorruptObject",
                JobError::Polars { .. } => "Internal.Polars",
                JobError::Definition(_) => "Internal.Definition",
                JobError::Signing(_) => "Config.SigningKey",
                // Reducing again cannot help: a new execution of the night runs the tasks.
                JobError::TasksIncomplete { .. } => "Internal.TasksIncomplete",
                // site/current changed under the switch, or the KeyValueStore mirror failed.
                JobError::Release(r) if r.is_retryable() => "Retryable.Release",
                JobError::Release(_) => "Internal.Release",
                // Variants added later: classified by the pipeline's own judgement.
                #[allow(unreachable_patterns)]
                other if other.is_retryable() => "Retryable.Job",
                #[allow(unreachable_patterns)]
                _ => "Internal.Job",
            },
            FunctionError::Event(_) => "InvalidEvent",
            FunctionError::Config(_) => "Config",
            FunctionError::Contended(_) => "Retryable.Contended",
            FunctionError::Task(_) => "Internal.Task",
        }
    }

    /// Whether the same invocation may succeed later without any change to the data.
    pub fn is_retryable(&self) -> bool {
        self.error_type().starts_with("Retryable.")
    }

    /// The message: the whole error chain, as `{:#}` would print it with anyhow.
    pub fn message(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        text
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_are_retryable_and_data_failures_are_not() {
        let s3 = |retryable| {
            FunctionError::from(StoreError::S3 {
                key: "runs/raw-ledger.json".into(),
                op: "GetObject",
                retryable,
                message: "403 SignatureDoesNotMatch".into(),
            })
        };
        assert_eq!(s3(true).error_type(), "Retryable.Storage");
        assert_eq!(s3(false).error_type(), "Retryable.Storage");
        assert!(s3(false).is_retryable());
        let rate = FunctionError::Job(JobError::RejectRate {
            source_name: "msw".into(),
            read: 10,
            rejected: 5,
            rate: 50.0,
            limit: 5.0,
            date: "2026-01-31".into(),
        });
        assert_eq!(rate.error_type(), "InvalidData.RejectRate");
        assert!(!rate.is_retryable());
        let d: Diagnostic = rate.into();
        assert!(d.error_message.contains("reject rate too high for msw"));
        let changed = FunctionError::Job(JobError::ChangedRaw(
            envgov_pipeline::ledger::ChangedRawFile {
                key: "raw/msw/2026-01-31/msw.csv".into(),
                recorded: "a".into(),
                now: "b".into(),
                first_seen_run: "2026-01-31".into(),
            },
        ));
        assert_eq!(changed.error_type(), "InvalidData.ChangedRawFile");
        let event = FunctionError::from(crate::events::EventError("no key".into()));
        assert_eq!(Diagnostic::from(event).error_type, "InvalidEvent");
    }
}
