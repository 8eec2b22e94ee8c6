//! The `envgov-ingest` function's job is [`envgov_pipeline::ingest`], the code `envgov ingest`
//! runs too; this module only maps its errors onto the function's error types.

pub use envgov_pipeline::ingest::*;

use crate::error::FunctionError;
use crate::events::EventError;

impl From<IngestError> for FunctionError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Job(job) => FunctionError::Job(job),
            // The event names an object this function's store does not hold.
            e @ IngestError::NotInStore { .. } => FunctionError::Event(EventError(e.to_string())),
            e @ IngestError::Contended { .. } => FunctionError::Contended(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envgov_curated::Curated;
    use envgov_pipeline::store::MemoryStore;
    use lambda_runtime::Diagnostic;

    #[test]
    fn an_object_missing_from_the_store_is_an_invalid_event() {
        let store = MemoryStore::new();
        let curated = Curated::load().expect("curated tables");
        let key = "raw/msw/2026-01-31/msw.csv";
        let err = ingest(&store, &curated, key, None, Limits::default()).unwrap_err();
        let err = FunctionError::from(err);
        assert_eq!(err.error_type(), "InvalidEvent", "{err}");
        assert_eq!(Diagnostic::from(err).error_type, "InvalidEvent");
    }

    #[test]
    fn files_still_arriving_are_retryable() {
        let err = FunctionError::from(IngestError::Contended {
            prefix: "raw/msw/2026-01-31/".into(),
            passes: MAX_PASSES,
        });
        assert!(err.is_retryable(), "{err}");
    }
}
