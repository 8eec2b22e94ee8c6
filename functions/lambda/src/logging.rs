//! Structured JSON logs on stdout (CloudWatch Logs, `LoggingConfig: JSON`).
//!
//! One JSON object per line, with the fields of the current span flattened in: the
//! handlers open a span with `request_id` (the Lambda request id) and `run_date` (the night,
//! or the delivered file's date), so every line of an invocation carries them.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber with a `RUST_LOG`-style filter (`info` when it does not
/// parse; the configuration check reports that separately). Safe to call twice.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .try_init();
}
