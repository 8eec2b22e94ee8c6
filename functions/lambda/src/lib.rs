//! The envgov AWS Lambda functions: `envgov-ingest` (one raw delivery, on S3 "Object
//! Created"), `envgov-nightly` (the whole night, on the EventBridge Scheduler schedule) and
//! `envgov-fanout` (the same night as the plan, partition tasks and reduce of the Step
//! Functions distributed map, for national scale; see [`fanout`]).
//!
//! Stage: the Lambda edge. The binaries in `src/bin/` are one line each over [`main`]; this
//! crate holds what is specific to Lambda (configuration from the environment, events,
//! error types, JSON logs, the init-error report) and [`ingest`], the per-delivery job. The
//! nightly function runs `envgov_pipeline::jobs::nightly`, the very job `envgov nightly`
//! runs. The store is opened once per execution environment and shared by invocations; the
//! synchronous pipeline runs in `tokio::task::spawn_blocking`, where the S3 store may block.

pub mod config;
pub mod error;
pub mod events;
pub mod fanout;
pub mod ingest;
pub mod logging;
pub mod night;
pub mod runtime_api;
pub mod state;

use crate::config::Config;
use crate::error::FunctionError;
use crate::events::EventError;
use crate::night::{night_of, nightly_options};
use envgov_curated::Curated;
use envgov_dataset::layout;
use envgov_pipeline::jobs;
use envgov_pipeline::store::routed::RoutedStore;
use envgov_pipeline::store::s3::{S3Location, S3Store};
use envgov_pipeline::store::{Store, StoreError, open_store};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;
use tracing::Instrument;

pub use night::nightly_summary;
pub use state::State;

/// Which function a binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Ingest,
    Nightly,
    /// The fanned-out night's plan, task and reduce steps (see [`fanout`]).
    FanOut,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::Ingest => "ingest",
            Function::Nightly => "nightly",
            Function::FanOut => "fanout",
        }
    }
}

/// Opens the configured store: `ENVGOV_STORE`, with `raw/` routed to the evidence bucket
/// when `ENVGOV_EVIDENCE_BUCKET` is set. Must run where blocking is allowed.
pub fn open_configured_store(config: &Config) -> Result<Box<dyn Store>, StoreError> {
    let main = open_store(&config.store)?;
    Ok(match &config.evidence_bucket {
        None => main,
        Some(bucket) => Box::new(RoutedStore::new(
            main,
            Box::new(S3Store::open(&format!("s3://{bucket}"))?),
        )),
    })
}

/// The variables `lambda_runtime` reads (and would panic without).
const PLATFORM_VARS: [&str; 3] = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Logs a start-up failure and reports it to the Runtime API's init-error endpoint.
fn init_failure(api: &str, error_type: &str, message: &str) -> ExitCode {
    tracing::error!(error_type, error = message, "function cannot start");
    if let Err(e) = runtime_api::report_init_error(api, error_type, message) {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
    ExitCode::FAILURE
}

/// The whole life of a function's process: check the configuration, open the store once,
/// then serve invocations until the Runtime API goes away. Never panics on bad input: a
/// bad configuration is reported as an init error (`Config`) and the process exits 1.
pub fn main(function: Function) -> ExitCode {
    envgov_pipeline::memory::limit_arenas();
    logging::init(&std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()));
    let Some(api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        tracing::error!(
            "AWS_LAMBDA_RUNTIME_API is not set: this program is an AWS Lambda function (run `envgov nightly` locally instead)"
        );
        return ExitCode::from(2);
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return init_failure(&api, "Config", &e.to_string()),
    };
    let mut missing: Vec<&str> = PLATFORM_VARS
        .into_iter()
        .filter(|v| std::env::var(v).map_or(true, |s| s.is_empty()))
        .collect();
    if std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").is_ok_and(|m| m.parse::<i32>().is_err()) {
        missing.push("AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not a number)");
    }
    if !missing.is_empty() {
        let message = format!(
            "invalid configuration: the Lambda environment lacks {}",
            missing.join(", ")
        );
        return init_failure(&api, "Config", &message);
    }
    let curated = match Curated::load() {
        Ok(c) => c,
        Err(e) => {
            return init_failure(
                &api,
                "Internal.Curated",
                &format!("loading the curated tables: {e}"),
            );
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return init_failure(
                &api,
                "Internal.Runtime",
                &format!("starting the async runtime: {e}"),
            );
        }
    };
    runtime.block_on(serve(function, api, config, curated))
}

async fn serve(function: Function, api: String, config: Config, curated: Curated) -> ExitCode {
    let opened = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_configured_store(&config)).await
    };
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            let error = FunctionError::from(e);
            return init_failure(&api, error.error_type(), &error.message());
        }
        Err(e) => return init_failure(&api, "Internal.Task", &e.to_string()),
    };
    tracing::info!(function = function.name(), store = %store.describe(), max_reject_rate = config.max_reject_rate, "function ready");
    let state = Arc::new(State {
        config,
        store,
        curated,
    });
    let result = match function {
        Function::Ingest => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
                handle(state.clone(), Function::Ingest, event)
            }))
            .await
        }
        Function::Nightly => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
                handle(state.clone(), Function::Nightly, event)
            }))
            .await
        }
        Function::FanOut => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
                handle(state.clone(), Function::FanOut, event)
            }))
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// One invocation: a span with the request id and the run date around the work, which
/// runs on a blocking thread; the outcome (or the error and its type) is logged.
async fn handle(
    state: Arc<State>,
    function: Function,
    event: LambdaEvent<Value>,
) -> Result<Value, FunctionError> {
    let span = tracing::info_span!(
        "invocation",
        function = function.name(),
        request_id = %event.context.request_id,
        run_date = tracing::field::Empty,
    );
    let payload = event.payload;
    let work_span = span.clone();
    let result = async move {
        tokio::task::spawn_blocking(move || {
            work_span.in_scope(|| match function {
                Function::Ingest => handle_ingest(&state, &payload),
                Function::Nightly => handle_nightly(&state, &payload),
                Function::FanOut => fanout::handle(&state, &payload),
            })
        })
        .await
        .map_err(|e| FunctionError::Task(e.to_string()))?
    }
    .instrument(span.clone())
    .await;
    let _entered = span.enter();
    match &result {
        Ok(summary) => tracing::info!(summary = %summary, "invocation succeeded"),
        Err(e) => tracing::error!(
            error_type = e.error_type(),
            retryable = e.is_retryable(),
            error = %e.message(),
            "invocation failed"
        ),
    }
    result
}

/// The store key an object-created event names, or why the event does not belong here.
fn store_key(config: &Config, object: &events::ObjectCreated) -> Result<String, EventError> {
    let expected_bucket = match (&config.evidence_bucket, config.store.starts_with("s3://")) {
        (Some(bucket), _) => Some((bucket.clone(), String::new())),
        (None, true) => {
            let location = S3Location::parse(&config.store)
                .map_err(|e| EventError(format!("ENVGOV_STORE: {e}")))?;
            Some((location.bucket, location.prefix))
        }
        // A folder store (local trials): the key is taken as a store key.
        (None, false) => None,
    };
    let Some((bucket, prefix)) = expected_bucket else {
        return Ok(object.key.clone());
    };
    if object.bucket != bucket {
        return Err(EventError(format!(
            "the object s3://{}/{} is not in the bucket this function reads deliveries from ({bucket})",
            object.bucket, object.key
        )));
    }
    if prefix.is_empty() {
        return Ok(object.key.clone());
    }
    object
        .key
        .strip_prefix(&prefix)
        .and_then(|k| k.strip_prefix('/'))
        .map(str::to_string)
        .ok_or_else(|| {
            EventError(format!(
                "the object key {} is outside the store's prefix {prefix}/",
                object.key
            ))
        })
}

fn handle_ingest(state: &State, payload: &Value) -> Result<Value, FunctionError> {
    let objects = events::parse_object_created(payload)?;
    let mut results = Vec::with_capacity(objects.len());
    for object in &objects {
        let key = store_key(&state.config, object)?;
        if let Ok((_, date, _)) = layout::parse_raw_key(&key) {
            tracing::Span::current().record("run_date", date.as_str());
        }
        let outcome = ingest::ingest(
            state.store.as_ref(),
            &state.curated,
            &key,
            object.time.as_deref(),
            ingest::Limits {
                max_future_days: state.config.max_future_days,
                max_file_bytes: state.config.max_file_bytes,
            },
        )?;
        match &outcome {
            ingest::Outcome::FutureDate { key, date, .. } => {
                tracing::warn!(key = %key, date = %date, reason_code = "future_date", "delivery dated too far after its arrival; not ingested")
            }
            ingest::Outcome::InvalidKey { key, reason } => {
                tracing::warn!(key = %key, reason = %reason, "not a raw delivery; nothing ingested")
            }
            ingest::Outcome::NotInForce {
                key,
                reason_code,
                reason,
            } => {
                tracing::warn!(key = %key, reason_code = %reason_code, reason = %reason, "not in force (superseded, held after failing validation as a whole, or a revision that cannot be placed)")
            }
            ingest::Outcome::Ingested { report, .. } => {
                tracing::info!(key = %report.key, status = ?report.status, read = report.read, accepted = report.accepted, rejected = report.rejected, "file ingested")
            }
        }
        results.push(outcome.summary());
    }
    Ok(json!({ "function": "ingest", "results": results }))
}

fn handle_nightly(state: &State, payload: &Value) -> Result<Value, FunctionError> {
    let scheduled = events::parse_scheduled(payload)?;
    let date = night_of(&scheduled);
    tracing::Span::current().record("run_date", date.to_string().as_str());
    tracing::info!(
        event_id = scheduled.id.as_deref().unwrap_or(""),
        explicit_date = scheduled.date.is_some(),
        "nightly run requested"
    );
    let options = nightly_options(state, date);
    let report = jobs::nightly(state.store.as_ref(), &state.curated, &options)?;
    Ok(nightly_summary(&report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(store: &str, evidence: Option<&str>) -> Config {
        let mut c = Config::from_lookup(|n| (n == "ENVGOV_STORE").then(|| store.to_string()))
            .expect("valid");
        c.evidence_bucket = evidence.map(str::to_string);
        c
    }

    fn object(bucket: &str, key: &str) -> events::ObjectCreated {
        events::ObjectCreated {
            bucket: bucket.into(),
            key: key.into(),
            time: None,
        }
    }

    #[test]
    fn event_keys_map_to_store_keys() {
        let with_evidence = config("s3://store", Some("evidence"));
        assert_eq!(
            store_key(&with_evidence, &object("evidence", "raw/msw/d/f")).unwrap(),
            "raw/msw/d/f"
        );
        assert!(store_key(&with_evidence, &object("store", "raw/msw/d/f")).is_err());
        let prefixed = config("s3://store/envgov", None);
        assert_eq!(
            store_key(&prefixed, &object("store", "envgov/raw/msw/d/f")).unwrap(),
            "raw/msw/d/f"
        );
        assert!(store_key(&prefixed, &object("store", "raw/msw/d/f")).is_err());
        assert!(store_key(&prefixed, &object("store", "envgovx/raw/msw/d/f")).is_err());
        let folder = config("/tmp/store", None);
        assert_eq!(
            store_key(&folder, &object("any", "raw/msw/d/f")).unwrap(),
            "raw/msw/d/f"
        );
    }
}
