//! The night as a function runs it: which night an event names, the options of the run from
//! the configuration, the compact answer. Shared by the nightly function and the fan-out's
//! plan and reduce steps.
//!
//! Stage: the Lambda edge; imports `events` and `state`, never the crate root.

use crate::events;
use crate::state::State;
use envgov_dataset::layout;
use envgov_dataset::report::RunReport;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::progress::Progress;
use serde_json::{Value, json};

/// Stage progress as log lines.
struct LogProgress;

impl Progress for LogProgress {
    fn stage(&self, name: &str, total: u64) {
        tracing::info!(stage = name, total, "stage started");
    }
    fn advance(&self, _n: u64) {}
    fn done(&self) {}
}

/// The night a schedule's event names: its `detail.date`, else the day before its firing
/// time, in Beijing. Never the latest date found in the data (a delivery dated 2099 must
/// not choose the night).
pub fn night_of(scheduled: &events::Scheduled) -> chrono::NaiveDate {
    match (scheduled.date, scheduled.time) {
        (Some(d), _) => d,
        (None, Some(at)) => jobs::scheduled_night(at),
        (None, None) => jobs::scheduled_night(chrono::Utc::now()),
    }
}

/// The options of a night run by a function (the nightly one, or the fan-out's plan and
/// reduce): the configuration's limits and release.
pub fn nightly_options(state: &State, date: chrono::NaiveDate) -> NightlyOptions<'static> {
    NightlyOptions {
        date: Some(date),
        today: None,
        rehash: false,
        max_file_bytes: state.config.max_file_bytes,
        max_registry_shrink: envgov_pipeline::registry::DEFAULT_MAX_REGISTRY_SHRINK,
        max_reject_rate: state.config.max_reject_rate,
        progress: Some(&LogProgress),
        render_site: true,
        release: state.config.release.clone(),
    }
}

/// The compact response of a nightly run: the full report is at `runs/{date}/report.json`.
pub fn nightly_summary(report: &RunReport) -> Value {
    let (read, accepted, rejected) = report.totals();
    json!({
        "function": "nightly",
        "run_date": report.run_date,
        "report": layout::run_report_key(&report.run_date).ok(),
        "read": read,
        "accepted": accepted,
        "rejected": rejected,
        "reject_rate": report.reject_rate,
        "reject_rate_limit": report.reject_rate_limit,
        "datasets": report.datasets.len(),
        "validated_dates": report.validated_dates.len(),
        "new_data_dates": report.new_data_dates,
        "unrecognised_raw_keys": report.unrecognised_raw_keys.len(),
        "site_release": report.site_release,
        "site_uploaded": report.site_uploaded,
        "site_uploaded_bytes": report.site_uploaded_bytes,
        "site_skipped": report.site_skipped,
        "seconds": report.timings_s.get("total"),
    })
}
