//! The nightly run fanned out over partitions (issue 9, "scale past one function"): the
//! AWS Step Functions distributed map of `infra/template.yaml` runs [`plan`] once, then
//! [`run_task`] for every partition (one source's raw files of one day) in parallel, then
//! [`reduce`] once. The three together write what [`crate::jobs::nightly`] writes in one
//! process: the same validated partitions, the same datasets byte for byte, the same
//! publication and release (`tests/tests/fanout.rs` checks it).
//!
//! - [`plan`] lists the raw files, chooses the run date and holds back later deliveries as
//!   the nightly run does, then validates the registry (`enterprises`) itself, date by date,
//!   because every other partition is validated against the registry in force on its date
//!   (and a registry delivery may be held). It stores the plan and the task items (small
//!   JSON: run date, source, date, the registry's date; the map reads them from the store
//!   with `ItemReader`), one folder per execution under `runs/{run}/fanout/{execution}/`.
//! - [`run_task`] records its partition's raw files in the ledger (compare-and-set, so tasks
//!   running at once merge), validates the partition ([`validate_partition`], reused while
//!   its raw bytes, the validator and the registry are unchanged), ensures its stored
//!   partial aggregates ([`crate::partials::ensure`]) and stores its outcome. Idempotent.
//! - [`reduce`] refuses to publish unless every item of the plan has an outcome whose
//!   partition is still the one stored, then completes the report from the partitions'
//!   manifests and runs the rest of the night with the very functions `jobs::nightly` runs
//!   ([`crate::jobs::summarise`], [`crate::jobs::gate`], [`crate::jobs::publish_night`]).
//!
//! Stage: orchestration (the I/O edge), above `jobs`, whose phases it calls; nothing but the
//! Lambda edge and the tests import it.

use crate::error::JobError;
use crate::jobs::{self, Night, NightlyOptions, RunRecord};
use crate::ledger::RawLedger;
use crate::partition::{Evidence, PartitionManifest, get_json, put_json, validate_partition};
use crate::registry::{Validated, consider_registry, read_registry};
use crate::store::Store;
use crate::validate::{Context, Registry};
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::Source;
use envgov_dataset::layout::{self, BadSegment};
use envgov_dataset::report::{RawConflict, RawFileChecks, RunReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// The plan's file under the execution's folder.
pub const PLAN_NAME: &str = "plan.json";
/// The task items, a JSON array (what the distributed map's `ItemReader` reads).
pub const ITEMS_NAME: &str = "items.json";

/// One partition's task: small JSON (about 150 bytes), far below Step Functions' 256 KB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskItem {
    /// The execution whose plan listed the item (its records' folder).
    pub execution: String,
    pub run_date: NaiveDate,
    pub source: Source,
    pub date: NaiveDate,
    /// The date of the registry delivery in force on `date` (none before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Re-hash every raw file instead of trusting the ledger (`--rehash`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rehash: bool,
}

/// What the plan step decided and did: the night's items and the report so far (held-back
/// deliveries, keys outside the layout, the registry's files, its validation and holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub execution: String,
    pub run_date: NaiveDate,
    /// The dates with raw data up to the run date (what the datasets are built over).
    pub dates: Vec<NaiveDate>,
    /// The registry in force on the run date (the date of its delivery).
    pub registry: Option<String>,
    /// Registry partitions validated by the plan (not reused): read and rejected records.
    pub fresh: BTreeMap<Source, (u64, u64)>,
    pub validated_dates: BTreeSet<String>,
    pub report: RunReport,
    pub items: Vec<TaskItem>,
    pub seconds: f64,
    /// Every raw key of the plan's listing dated on or before the run date: what the night
    /// saw, recorded by the reduce (`runs/{run}/inputs.json`, see [`crate::inputs`]) with
    /// the sha256 the tasks recorded, as the single night records it.
    #[serde(default)]
    pub inputs: Vec<String>,
}

/// What one task did. Small: counts, never the partition's file list (the reduce reads that
/// from the partition's manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskOutcome {
    pub source: Source,
    pub date: NaiveDate,
    /// Whether the partition was validated now (rather than reused).
    pub validated: bool,
    /// The sha256 of the validated partition the task left (see [`PartitionManifest`]).
    pub partition_sha256: Option<String>,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rejected records by reason, of a partition validated now.
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub raw_files: RawFileChecks,
    pub raw_conflicts: Vec<RawConflict>,
    /// Whether the partition's partial aggregates were computed now.
    pub partial_computed: bool,
    pub seconds: f64,
}

/// The limits a task applies (the function's configuration).
#[derive(Debug, Clone, Copy)]
pub struct TaskOptions {
    /// See [`crate::partition::DEFAULT_MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
}

fn bad_key(e: BadSegment) -> JobError {
    JobError::Definition(e.to_string())
}

/// Where the plan of an execution is stored.
pub fn plan_key(run_date: NaiveDate, execution: &str) -> Result<String, JobError> {
    layout::fanout_key(&run_date.to_string(), execution, PLAN_NAME).map_err(bad_key)
}

/// Where the task items of an execution are stored.
pub fn items_key(run_date: NaiveDate, execution: &str) -> Result<String, JobError> {
    layout::fanout_key(&run_date.to_string(), execution, ITEMS_NAME).map_err(bad_key)
}

fn outcome_key(item: &TaskItem) -> Result<String, JobError> {
    layout::fanout_outcome_key(
        &item.run_date.to_string(),
        &item.execution,
        item.source,
        &item.date.to_string(),
    )
    .map_err(bad_key)
}

/// The plan step: lists the night, validates the registry date by date (as the nightly
/// run does, against the registry in force before it, holding a delivery that empties or
/// shrinks it past the limit), lists one task per other partition with raw files up to
/// the run date, and stores the plan and its items. `execution` names the run's records
/// (the Step Functions execution name); it must be a plain path segment.
pub fn plan(
    store: &dyn Store,
    curated: &Curated,
    opts: &NightlyOptions<'_>,
    execution: &str,
) -> Result<Plan, JobError> {
    let started = Instant::now();
    layout::check_segment(execution).map_err(bad_key)?;
    let mut night = jobs::open_night(store, opts)?;
    let run = night.run_date.to_string();
    tracing::info!(run_date = %run, execution, store = %store.describe(), "fan-out plan started");
    let mut report = std::mem::take(&mut night.report);
    let registry_keys: Vec<&String> = night
        .dates
        .iter()
        .flat_map(|d| night.listed(*d, Source::Enterprises))
        .collect();
    let (ledger, conflicts) = jobs::check_raw_files(
        store,
        &registry_keys,
        &night.metas,
        &run,
        opts.rehash,
        &mut report.raw_files,
        None,
    )?;
    let (conflicted, records) = jobs::raw_conflicts(conflicts);
    report.raw_conflicts = records;
    report.unrecognised_raw_keys = std::mem::take(&mut night.unrecognised);
    let evidence = Evidence {
        ledger: &ledger,
        conflicted: &conflicted,
        registry: None,
        max_file_bytes: opts.max_file_bytes,
    };
    let mut plan = Plan {
        execution: execution.to_string(),
        run_date: night.run_date,
        dates: night.dates.clone(),
        registry: None,
        fresh: BTreeMap::new(),
        validated_dates: BTreeSet::new(),
        report,
        items: Vec::new(),
        seconds: 0.0,
        inputs: night
            .dates
            .iter()
            .flat_map(|d| {
                night
                    .index
                    .get(d)
                    .into_iter()
                    .flat_map(|m| m.values().flatten())
            })
            .cloned()
            .collect(),
    };
    walk_dates(store, curated, opts, &night, evidence, &mut plan)?;
    plan.seconds = started.elapsed().as_secs_f64();
    put_json(store, &items_key(plan.run_date, execution)?, &plan.items)?;
    put_json(store, &plan_key(plan.run_date, execution)?, &plan)?;
    tracing::info!(run_date = %run, execution, items = plan.items.len(), "fan-out plan stored");
    Ok(plan)
}

/// Walks the night's dates in order: validates each date's registry delivery (against the
/// registry in force before it), then lists that date's other partitions as items, with the
/// registry in force on the date. Leaves in `plan` the registry in force on the run date.
fn walk_dates(
    store: &dyn Store,
    curated: &Curated,
    opts: &NightlyOptions<'_>,
    night: &Night,
    evidence: Evidence<'_>,
    plan: &mut Plan,
) -> Result<(), JobError> {
    let mut v = Validated {
        registry: Registry::default(),
        registry_date: None,
        registry_id: None,
    };
    let run = night.run_date.to_string();
    for d in &night.dates {
        if !night.keys(*d, Source::Enterprises).is_empty() {
            let day = RegistryDay {
                date: *d,
                listed: night.listed(*d, Source::Enterprises),
                night: &run,
                evidence,
                max_shrink: opts.max_registry_shrink,
            };
            let (report, fresh) = (&mut plan.report, &mut plan.fresh);
            if validate_registry_day(store, curated, &day, &mut v, report, fresh)? {
                plan.validated_dates.insert(d.to_string());
            }
        }
        for source in Source::ALL {
            if source != Source::Enterprises && !night.keys(*d, source).is_empty() {
                plan.items.push(TaskItem {
                    execution: plan.execution.clone(),
                    run_date: night.run_date,
                    source,
                    date: *d,
                    registry: v.registry_date.clone(),
                    rehash: opts.rehash,
                });
            }
        }
    }
    plan.registry = v.registry_date;
    Ok(())
}

/// One date's registry delivery, as the plan validates it.
struct RegistryDay<'a> {
    date: NaiveDate,
    /// Every raw key of the date's registry partition (resolved for `night`).
    listed: &'a [String],
    night: &'a str,
    evidence: Evidence<'a>,
    max_shrink: f64,
}

/// Validates (or reuses) one date's registry partition against the registry in force
/// before it, then puts it in force unless it is held; counts it in the report as the
/// nightly run does. Returns whether it was validated now.
fn validate_registry_day(
    store: &dyn Store,
    curated: &Curated,
    day: &RegistryDay<'_>,
    v: &mut Validated,
    report: &mut RunReport,
    fresh: &mut BTreeMap<Source, (u64, u64)>,
) -> Result<bool, JobError> {
    let source = Source::Enterprises;
    let ctx = Context {
        curated,
        registry: &v.registry,
        date: day.date,
    };
    let counts = report.sources.entry(source.to_string()).or_default();
    let files = crate::revisions::resolver(day.listed, day.evidence.ledger, day.night);
    let (manifest, was_new) = validate_partition(
        store,
        source,
        day.date,
        &files,
        ctx,
        day.evidence,
        &mut counts.rejected_by_reason,
    )?
    .written(store)?;
    // A held registry's rejections are reported but do not trip the reject-rate gate.
    let verdict = consider_registry(store, v, &day.date.to_string(), day.max_shrink)?;
    let held = verdict.is_some();
    report.registry_held.extend(verdict);
    let counts = report.sources.entry(source.to_string()).or_default();
    crate::jobs::tally(counts, fresh, source, manifest.files, was_new && !held);
    Ok(was_new)
}

/// The task step for one partition: records its raw files in the ledger, validates it
/// against the registry the plan found in force on its date, ensures its partial
/// aggregates and stores its outcome. Running it again changes nothing.
pub fn run_task(
    store: &dyn Store,
    curated: &Curated,
    item: &TaskItem,
    opts: &TaskOptions,
) -> Result<TaskOutcome, JobError> {
    let started = Instant::now();
    check_item(item)?;
    let (run, d) = (item.run_date.to_string(), item.date.to_string());
    let prefix = format!("{}{d}/", layout::raw_prefix(item.source));
    let metas: BTreeMap<String, _> = store
        .list_meta(&prefix)?
        .into_iter()
        .filter(|m| {
            layout::parse_raw_key(&m.key)
                .is_ok_and(|(source, date, _)| source == item.source && date == d)
        })
        .map(|m| (m.key.clone(), m))
        .collect();
    let keys: Vec<String> = metas.keys().cloned().collect();
    if keys.is_empty() {
        return Err(JobError::Corrupt {
            key: prefix,
            message: "the plan listed raw files here, and there are none".into(),
        });
    }
    let mut raw_files = RawFileChecks::default();
    let key_refs: Vec<&String> = keys.iter().collect();
    let (ledger, conflicts) = jobs::check_raw_files(
        store,
        &key_refs,
        &metas,
        &run,
        item.rehash,
        &mut raw_files,
        None,
    )?;
    let (conflicted, raw_conflicts) = jobs::raw_conflicts(conflicts);
    // Only the files in force are validated, a revision that fails as a whole held (see
    // `crate::revisions`).
    let files = crate::revisions::resolver(&keys, &ledger, &run);
    let (registry, registry_id) = task_registry(store, item)?;
    let ctx = Context {
        curated,
        registry: &registry,
        date: item.date,
    };
    let evidence = Evidence {
        ledger: &ledger,
        conflicted: &conflicted,
        registry: registry_id.as_deref(),
        max_file_bytes: opts.max_file_bytes,
    };
    let mut rejected_by_reason = BTreeMap::new();
    let (manifest, validated) = validate_partition(
        store,
        item.source,
        item.date,
        &files,
        ctx,
        evidence,
        &mut rejected_by_reason,
    )?
    .written(store)?;
    let partial_computed = crate::partials::ensure(store, curated, item.source, item.date)?;
    let outcome = outcome_of(item, &manifest, validated, rejected_by_reason).with(
        raw_files,
        raw_conflicts,
        partial_computed,
        started,
    );
    put_json(store, &outcome_key(item)?, &outcome)?;
    tracing::info!(source = %item.source, date = %d, validated, partial_computed, "fan-out task done");
    Ok(outcome)
}

/// Refuses an item no plan makes: the registry's partition (the plan validates it), or a
/// partition dated after its night (held back, as the nightly run holds it back).
fn check_item(item: &TaskItem) -> Result<(), JobError> {
    if item.source == Source::Enterprises {
        return Err(JobError::Definition(format!(
            "a task for the registry of {} (the plan validates the registry itself)",
            item.date
        )));
    }
    if item.date > item.run_date {
        return Err(JobError::Definition(format!(
            "a task for {} {}, after its night {}: held back until the night of its date",
            item.source, item.date, item.run_date
        )));
    }
    Ok(())
}

/// The registry a task validates against: the delivery the plan found in force on its
/// date, with its identity, or none.
fn task_registry(
    store: &dyn Store,
    item: &TaskItem,
) -> Result<(Registry, Option<String>), JobError> {
    match &item.registry {
        None => Ok((Registry::default(), None)),
        Some(date) => {
            layout::check_date(date).map_err(bad_key)?;
            let (registry, id) = read_registry(store, date)?;
            Ok((registry, Some(id)))
        }
    }
}

fn outcome_of(
    item: &TaskItem,
    manifest: &PartitionManifest,
    validated: bool,
    rejected_by_reason: BTreeMap<String, u64>,
) -> TaskOutcome {
    let sum = |f: fn(&envgov_dataset::report::FileCounts) -> u64| {
        manifest.files.iter().map(f).sum::<u64>()
    };
    TaskOutcome {
        source: item.source,
        date: item.date,
        validated,
        partition_sha256: manifest.partition_sha256.clone(),
        read: sum(|f| f.read),
        accepted: sum(|f| f.accepted),
        rejected: sum(|f| f.rejected),
        rejected_by_reason,
        raw_files: RawFileChecks::default(),
        raw_conflicts: Vec::new(),
        partial_computed: false,
        seconds: 0.0,
    }
}

impl TaskOutcome {
    fn with(
        mut self,
        raw_files: RawFileChecks,
        raw_conflicts: Vec<RawConflict>,
        partial_computed: bool,
        started: Instant,
    ) -> Self {
        self.raw_files = raw_files;
        self.raw_conflicts = raw_conflicts;
        self.partial_computed = partial_computed;
        self.seconds = started.elapsed().as_secs_f64();
        self
    }
}

/// Reads a stored plan.
pub fn load_plan(
    store: &dyn Store,
    run_date: NaiveDate,
    execution: &str,
) -> Result<Plan, JobError> {
    let key = plan_key(run_date, execution)?;
    get_json(store, &key)?.ok_or_else(|| JobError::Corrupt {
        key,
        message: "no plan stored for this execution".into(),
    })
}

/// Reads the stored outcomes of a plan's items (those that have one).
pub fn load_outcomes(store: &dyn Store, plan: &Plan) -> Result<Vec<TaskOutcome>, JobError> {
    let mut outcomes = Vec::with_capacity(plan.items.len());
    for item in &plan.items {
        outcomes.extend(get_json::<TaskOutcome>(store, &outcome_key(item)?)?);
    }
    Ok(outcomes)
}

/// The reduce step: publishes nothing unless every item of `plan` has an outcome in
/// `outcomes` whose partition is still the one stored; then completes the report from the
/// plan, the outcomes and the partitions' manifests, and runs the rest of the night
/// (reject-rate gate, aggregate, publish, release) as `jobs::nightly` does.
pub fn reduce(
    store: &dyn Store,
    curated: &Curated,
    opts: &NightlyOptions<'_>,
    plan: &Plan,
    outcomes: &[TaskOutcome],
) -> Result<RunReport, JobError> {
    let started = Instant::now();
    let by_item: BTreeMap<(NaiveDate, Source), &TaskOutcome> =
        outcomes.iter().map(|o| ((o.date, o.source), o)).collect();
    let missing: Vec<&TaskItem> = plan
        .items
        .iter()
        .filter(|i| !by_item.contains_key(&(i.date, i.source)))
        .collect();
    if let Some(first) = missing.first() {
        return Err(incomplete(plan, missing.len(), first, "has no outcome"));
    }
    let mut report = plan.report.clone();
    let mut fresh = plan.fresh.clone();
    let mut validated_dates = plan.validated_dates.clone();
    for item in &plan.items {
        let Some(outcome) = by_item.get(&(item.date, item.source)) else {
            continue;
        };
        let manifest = stored_manifest(store, item)?;
        if manifest.partition_sha256 != outcome.partition_sha256 {
            return Err(incomplete(plan, 1, item, "changed since its task ran"));
        }
        add_outcome(&mut report, &mut fresh, outcome, manifest);
        if outcome.validated {
            validated_dates.insert(item.date.to_string());
        }
    }
    report.raw_conflicts.sort_by(|a, b| a.key.cmp(&b.key));
    report.raw_conflicts.dedup_by(|a, b| a.key == b.key);
    report.registry_in_force = plan.registry.clone();
    report.validated_dates = validated_dates.into_iter().collect();
    let ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    // What the night saw, for `envgov rebuild`: the same record as the single night's.
    crate::inputs::record(store, &plan.run_date.to_string(), &plan.inputs, &ledger)?;
    let mut record = RunRecord {
        report,
        timings: BTreeMap::from([("plan".to_string(), plan.seconds)]),
        started,
    };
    let task_seconds = outcomes.iter().map(|o| o.seconds).sum();
    record.timings.insert("tasks".to_string(), task_seconds);
    jobs::summarise(&mut record.report, &ledger)?;
    // The revisions in force and new tonight (their changelogs are written when published).
    record.report.revisions = crate::revisions::of_night(store, plan.run_date)?;
    jobs::gate(store, &mut record, &fresh, opts.max_reject_rate)?;
    let v = match &plan.registry {
        None => Validated {
            registry: Registry::default(),
            registry_date: None,
            registry_id: None,
        },
        Some(date) => {
            let (registry, id) = read_registry(store, date)?;
            Validated {
                registry,
                registry_date: Some(date.clone()),
                registry_id: Some(id),
            }
        }
    };
    jobs::publish_night(store, curated, opts, record, &v, &plan.dates, plan.run_date)
}

fn incomplete(plan: &Plan, missing: usize, first: &TaskItem, why: &str) -> JobError {
    JobError::TasksIncomplete {
        run_date: plan.run_date.to_string(),
        planned: plan.items.len(),
        missing,
        first: format!("{} {} {why}", first.source, first.date),
    }
}

fn stored_manifest(store: &dyn Store, item: &TaskItem) -> Result<PartitionManifest, JobError> {
    let key =
        layout::validated_manifest_key(item.source, &item.date.to_string()).map_err(bad_key)?;
    get_json(store, &key)?.ok_or(JobError::Corrupt {
        key,
        message: "a task's partition has no manifest".into(),
    })
}

/// Counts one task's partition in the report, as the nightly run counts a partition.
fn add_outcome(
    report: &mut RunReport,
    fresh: &mut BTreeMap<Source, (u64, u64)>,
    outcome: &TaskOutcome,
    manifest: PartitionManifest,
) {
    let counts = report
        .sources
        .entry(outcome.source.to_string())
        .or_default();
    for (reason, n) in &outcome.rejected_by_reason {
        *counts.rejected_by_reason.entry(reason.clone()).or_default() += n;
    }
    for f in manifest.files {
        if outcome.validated {
            let e = fresh.entry(outcome.source).or_default();
            e.0 += f.read;
            e.1 += f.rejected;
        }
        counts.add_file(f);
    }
    let (ours, theirs) = (&mut report.raw_files, &outcome.raw_files);
    ours.listed += theirs.listed;
    ours.hashed += theirs.hashed;
    ours.trusted += theirs.trusted;
    ours.new += theirs.new;
    report
        .raw_conflicts
        .extend(outcome.raw_conflicts.iter().cloned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn item(source: Source, date: &str) -> TaskItem {
        TaskItem {
            execution: "x".into(),
            run_date: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
            source,
            date: date.parse().unwrap(),
            registry: None,
            rehash: false,
        }
    }

    #[test]
    fn a_task_no_plan_makes_is_refused_and_writes_nothing() {
        let store = MemoryStore::new();
        let curated = Curated::load().unwrap();
        let opts = TaskOptions {
            max_file_bytes: crate::partition::DEFAULT_MAX_FILE_BYTES,
        };
        for (source, date, why) in [
            (
                Source::Enterprises,
                "2026-01-30",
                "the plan validates the registry",
            ),
            (Source::Msw, "2026-02-01", "after its night"),
        ] {
            let refused = run_task(&store, &curated, &item(source, date), &opts).unwrap_err();
            assert!(refused.to_string().contains(why), "{refused}");
        }
        // A partition with no raw file (deleted after the plan) is an error, not a no-op.
        let gone = run_task(&store, &curated, &item(Source::Msw, "2026-01-30"), &opts);
        assert!(matches!(gone, Err(JobError::Corrupt { .. })));
        assert!(store.list("").unwrap().is_empty());
    }

    #[test]
    fn an_item_is_small_json_and_refuses_unknown_fields() {
        let it = item(Source::SelfMonitoring, "2026-01-30");
        let text = serde_json::to_string(&it).unwrap();
        assert_eq!(
            text,
            r#"{"execution":"x","run_date":"2026-01-31","source":"self-monitoring","date":"2026-01-30"}"#
        );
        assert_eq!(serde_json::from_str::<TaskItem>(&text).unwrap(), it);
        let extra = text.replace("}", r#","keys":[]}"#);
        assert!(serde_json::from_str::<TaskItem>(&extra).is_err());
    }
}
