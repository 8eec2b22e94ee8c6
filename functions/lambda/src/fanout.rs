//! `envgov-fanout`: the three steps of the fanned-out night (the Step Functions state
//! machine of `infra/template.yaml`), one binary deployed as three functions, each step
//! named by its event:
//!
//! - `{"step": "plan", "execution": NAME, "event": SCHEDULED_EVENT}`: the state machine's
//!   first state, with the schedule's `Scheduled Event` (the night is the day before its
//!   `time` in Beijing, or its `detail.date`) and the execution's name. Answers where the
//!   task items are (`items_bucket`, `items_key`: the `ItemReader`'s object) and how many.
//! - `{"step": "task", "item": ITEM}`: one item of the distributed map (see
//!   [`envgov_pipeline::fanout::TaskItem`]; unknown fields are refused). Answers a summary of
//!   the outcome, which the task also stores for the reduce.
//! - `{"step": "reduce", "run_date": "YYYY-MM-DD", "execution": NAME}`: after every task
//!   succeeded; publishes the night, or refuses when an outcome is missing. Answers what the
//!   nightly function answers.
//!
//! Stage: the Lambda edge; the work is `envgov_pipeline::fanout`'s.

use crate::error::FunctionError;
use crate::events::{self, EventError};
use crate::night::{night_of, nightly_options, nightly_summary};
use crate::state::State;
use chrono::NaiveDate;
use envgov_pipeline::fanout::{self, TaskItem, TaskOptions};
use envgov_pipeline::jobs::NightlyOptions;
use envgov_pipeline::store::s3::S3Location;
use serde_json::{Value, json};

/// One step of the fanned-out night, parsed from its event.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Plan {
        execution: String,
        scheduled: events::Scheduled,
    },
    Task(TaskItem),
    Reduce {
        run_date: NaiveDate,
        execution: String,
    },
}

fn execution_name(event: &Value) -> Result<String, EventError> {
    let name = event
        .get("execution")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            EventError("execution (the Step Functions execution name) is missing".into())
        })?;
    envgov_dataset::layout::check_segment(name)
        .map(str::to_string)
        .map_err(|e| EventError(format!("execution: {e}")))
}

/// Parses an event of the fan-out function.
pub fn parse_step(event: &Value) -> Result<Step, EventError> {
    let step = event.get("step").and_then(Value::as_str).ok_or_else(|| {
        EventError("step is missing: expected \"plan\", \"task\" or \"reduce\"".into())
    })?;
    match step {
        "plan" => Ok(Step::Plan {
            execution: execution_name(event)?,
            scheduled: events::parse_scheduled(event.get("event").unwrap_or(&Value::Null))
                .map_err(|e| EventError(format!("event: {}", e.0)))?,
        }),
        "task" => {
            let item = event
                .get("item")
                .ok_or_else(|| EventError("item is missing".into()))?;
            let item: TaskItem = serde_json::from_value(item.clone())
                .map_err(|e| EventError(format!("item: {e}")))?;
            envgov_dataset::layout::check_segment(&item.execution)
                .map_err(|e| EventError(format!("item.execution: {e}")))?;
            Ok(Step::Task(item))
        }
        "reduce" => {
            let run_date = event
                .get("run_date")
                .and_then(Value::as_str)
                .and_then(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .filter(|d| d.format("%Y-%m-%d").to_string() == s)
                })
                .ok_or_else(|| EventError("run_date must be a \"YYYY-MM-DD\" date".into()))?;
            Ok(Step::Reduce {
                run_date,
                execution: execution_name(event)?,
            })
        }
        other => Err(EventError(format!(
            "step is {other:?}, expected \"plan\", \"task\" or \"reduce\""
        ))),
    }
}

/// Where an object of the store is in S3 (bucket and key), for the state machine's
/// `ItemReader`; `None` for a folder store.
fn s3_object(store_url: &str, key: &str) -> Option<(String, String)> {
    let location = S3Location::parse(store_url).ok()?;
    let key = if location.prefix.is_empty() {
        key.to_string()
    } else {
        format!("{}/{key}", location.prefix)
    };
    Some((location.bucket, key))
}

/// Runs one step.
pub fn handle(state: &State, payload: &Value) -> Result<Value, FunctionError> {
    match parse_step(payload)? {
        Step::Plan {
            execution,
            scheduled,
        } => {
            let date = night_of(&scheduled);
            tracing::Span::current().record("run_date", date.to_string().as_str());
            let options = nightly_options(state, date);
            let plan = fanout::plan(state.store.as_ref(), &state.curated, &options, &execution)?;
            let key = fanout::items_key(plan.run_date, &execution)?;
            let (bucket, s3_key) = match s3_object(&state.config.store, &key) {
                Some((b, k)) => (Some(b), k),
                None => (None, key),
            };
            Ok(json!({
                "step": "plan",
                "run_date": plan.run_date,
                "execution": execution,
                "items": plan.items.len(),
                "items_bucket": bucket,
                "items_key": s3_key,
                "registry_in_force": plan.registry,
            }))
        }
        Step::Task(item) => {
            tracing::Span::current().record("run_date", item.run_date.to_string().as_str());
            let options = TaskOptions {
                max_file_bytes: state.config.max_file_bytes,
            };
            let o = fanout::run_task(state.store.as_ref(), &state.curated, &item, &options)?;
            Ok(json!({
                "step": "task",
                "source": o.source,
                "date": o.date,
                "validated": o.validated,
                "read": o.read,
                "accepted": o.accepted,
                "rejected": o.rejected,
                "raw_conflicts": o.raw_conflicts.len(),
                "partial_computed": o.partial_computed,
            }))
        }
        Step::Reduce {
            run_date,
            execution,
        } => {
            tracing::Span::current().record("run_date", run_date.to_string().as_str());
            let store = state.store.as_ref();
            let plan = fanout::load_plan(store, run_date, &execution)?;
            let outcomes = fanout::load_outcomes(store, &plan)?;
            let options: NightlyOptions<'_> = nightly_options(state, run_date);
            let report = fanout::reduce(store, &state.curated, &options, &plan, &outcomes)?;
            let mut summary = nightly_summary(&report);
            summary["function"] = json!("fanout");
            summary["step"] = json!("reduce");
            summary["tasks"] = json!(plan.items.len());
            Ok(summary)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_steps() {
        let plan = json!({"step": "plan", "execution": "night-2026-01-31",
            "event": {"detail-type": "Scheduled Event", "time": "2026-01-31T18:00:00Z"}});
        match parse_step(&plan).unwrap() {
            Step::Plan {
                execution,
                scheduled,
            } => {
                assert_eq!(execution, "night-2026-01-31");
                assert!(scheduled.time.is_some());
            }
            other => panic!("{other:?}"),
        }
        let task = json!({"step": "task", "item": {"execution": "x", "run_date": "2026-01-31",
            "source": "cems", "date": "2026-01-30", "registry": "2026-01-28"}});
        let Step::Task(item) = parse_step(&task).unwrap() else {
            panic!("a task")
        };
        assert_eq!(item.source, envgov_dataset::Source::Cems);
        assert_eq!(item.registry.as_deref(), Some("2026-01-28"));
        assert!(!item.rehash);
        let reduce = json!({"step": "reduce", "run_date": "2026-01-31", "execution": "x"});
        assert_eq!(
            parse_step(&reduce).unwrap(),
            Step::Reduce {
                run_date: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
                execution: "x".into()
            }
        );
    }

    #[test]
    fn refuses_malformed_steps_by_name() {
        let refused = |e: Value| parse_step(&e).unwrap_err().to_string();
        assert!(refused(json!({})).contains("step is missing"));
        assert!(refused(json!({"step": "publish"})).contains("\"publish\""));
        assert!(refused(json!({"step": "plan", "event": {}})).contains("execution"));
        let traversal = json!({"step": "reduce", "run_date": "2026-01-31", "execution": "../x"});
        assert!(refused(traversal).contains("execution"));
        let bad_date = json!({"step": "reduce", "run_date": "2026-02-30", "execution": "x"});
        assert!(refused(bad_date).contains("run_date"));
        let unknown = json!({"step": "task", "item": {"execution": "x", "run_date": "2026-01-31",
            "source": "cems", "date": "2026-01-30", "keys": []}});
        assert!(refused(unknown).contains("unknown field"));
        let source = json!({"step": "task", "item": {"execution": "x", "run_date": "2026-01-31",
            "source": "coal", "date": "2026-01-30"}});
        assert!(refused(source).contains("item"));
    }

    #[test]
    fn items_are_found_in_the_store_bucket_under_its_prefix() {
        let key = "runs/2026-01-31/fanout/x/items.json";
        assert_eq!(
            s3_object("s3://store/envgov", key),
            Some(("store".into(), format!("envgov/{key}")))
        );
        assert_eq!(
            s3_object("s3://store", key),
            Some(("store".into(), key.into()))
        );
        assert_eq!(s3_object("/tmp/store", key), None);
    }
}
