//! Jobs: the nightly run and file checks, over a [`Store`].
//!
//! Stage: orchestration (the I/O edge), the top of the pipeline: only [`crate::fanout`] (the
//! same night fanned out over partitions) imports it, for the phases of the night it shares
//! (`open_night`, `check_raw_files`, `summarise`, `gate`, `publish_night`). Lists
//! the raw files, records them in the ledger, validates partitions ([`crate::partition`])
//! against the registry in force ([`crate::registry`]), runs the aggregations
//! ([`crate::datasets`]), publishes the datasets ([`crate::publication`]) and the run report,
//! and renders the release ([`crate::release`]). History already validated is reused when its
//! raw files are unchanged, so a night only validates what is new.

use crate::error::JobError;
use crate::ledger::{ChangedRawFile, Check, RawLedger};
use crate::partition::{
    self, DEFAULT_MAX_FILE_BYTES, Evidence, PartitionManifest, Prepared, get_json,
    open_fingerprint, put_json, save_ledger, validate_partition,
};
use crate::progress::Progress;
use crate::registry::{DEFAULT_MAX_REGISTRY_SHRINK, Validated, consider_registry};
use crate::revisions::{self, InForce};
use crate::store::{ObjectMeta, Store};
use crate::validate::{self, Context, Registry};
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::Source;
use envgov_dataset::layout;
use envgov_dataset::report::{HeldBack, RawConflict, RawFileChecks, RunReport};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// The calendar date in Beijing (UTC+08:00, no daylight saving) at an instant.
pub fn beijing_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(beijing) => at.with_timezone(&beijing).date_naive(),
        None => at.date_naive(),
    }
}

/// The night a schedule firing at `at` processes: the day before, in Beijing.
pub fn scheduled_night(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    let today = beijing_date(at);
    today.pred_opt().unwrap_or(today)
}

/// Options of a nightly run.
pub struct NightlyOptions<'a> {
    /// The run date; `None` means the latest date that has raw data on or before `today`
    /// (a delivery dated in the future never chooses the night).
    pub date: Option<NaiveDate>,
    /// Today's date in Beijing; `None` reads the clock. Only bounds the default run date.
    pub today: Option<NaiveDate>,
    /// Re-hash every raw file instead of trusting the ledger's size and tag.
    pub rehash: bool,
    /// See [`DEFAULT_MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
    /// See [`DEFAULT_MAX_REGISTRY_SHRINK`].
    pub max_registry_shrink: f64,
    /// Highest acceptable share of rejected records per source, among newly validated files.
    pub max_reject_rate: f64,
    pub progress: Option<&'a dyn Progress>,
    /// Render the site and make it live after publishing the datasets.
    pub render_site: bool,
    /// How the site release is published.
    pub release: crate::release::ReleaseOptions,
}

impl Default for NightlyOptions<'_> {
    fn default() -> Self {
        Self {
            date: None,
            today: None,
            rehash: false,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_registry_shrink: DEFAULT_MAX_REGISTRY_SHRINK,
            max_reject_rate: 0.05,
            progress: None,
            render_site: true,
            release: Default::default(),
        }
    }
}

/// Raw files in the store, grouped by date and source.
type RawIndex = revisions::RawIndex;

/// The raw files of one listing, by key, with their sizes and tags.
type RawMetas = BTreeMap<String, ObjectMeta>;

/// The raw files (one listing, with sizes and tags), their index, and the keys outside the
/// layout.
fn raw_index(store: &dyn Store) -> Result<(RawIndex, RawMetas, Vec<String>), JobError> {
    let mut index = RawIndex::new();
    let mut unrecognised = Vec::new();
    let metas: RawMetas = store
        .list_meta("raw/")?
        .into_iter()
        .map(|m| (m.key.clone(), m))
        .collect();
    for key in metas.keys().cloned() {
        match layout::parse_raw_key(&key) {
            Ok((source, date, _)) => match NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
                Ok(d) => index
                    .entry(d)
                    .or_default()
                    .entry(source)
                    .or_default()
                    .push(key),
                Err(_) => unrecognised.push(key),
            },
            Err(_) => unrecognised.push(key),
        }
    }
    Ok((index, metas, unrecognised))
}

/// The latest date with raw data on or before `today`, the default night.
fn default_run_date(index: &RawIndex, today: NaiveDate) -> Result<NaiveDate, JobError> {
    if index.is_empty() {
        return Err(JobError::NoRawData);
    }
    index
        .keys()
        .rev()
        .find(|d| **d <= today)
        .copied()
        .ok_or(JobError::NoDataForDate(today))
}

/// A night's raw listing: the run date, the dates up to it that have raw files, the
/// deliveries held back (in `report`) and the keys outside the layout.
pub(crate) struct Night {
    pub(crate) index: RawIndex,
    pub(crate) metas: RawMetas,
    pub(crate) unrecognised: Vec<String>,
    pub(crate) run_date: NaiveDate,
    /// The dates with raw files on or before the run date, ascending.
    pub(crate) dates: Vec<NaiveDate>,
    /// The report so far: the run date, the limits and the deliveries held back.
    pub(crate) report: RunReport,
    /// The raw files in force on the night (the highest revision of each delivered file,
    /// see [`crate::revisions`]), from the ledger as stored when the night opened.
    pub(crate) in_force: InForce,
}

impl Night {
    /// The raw keys in force of one source's partition of a date (empty when it has none):
    /// what the partition is validated from. Superseded revisions and revisions that cannot
    /// be placed are left out (see [`crate::revisions`]).
    pub(crate) fn keys(&self, date: NaiveDate, source: Source) -> &[String] {
        self.in_force.keys(source, date)
    }

    /// Every raw key of one source's partition of a date (revisions, superseded and held
    /// files included): what [`revisions::resolver`] resolves the partition's files from.
    pub(crate) fn listed(&self, date: NaiveDate, source: Source) -> &[String] {
        listed(&self.index, date, source)
    }
}

/// Every raw key of one source's partition of a date in a raw listing.
pub(crate) fn listed(index: &RawIndex, date: NaiveDate, source: Source) -> &[String] {
    index
        .get(&date)
        .and_then(|m| m.get(&source))
        .map_or(&[], Vec::as_slice)
}

/// Lists the raw files, chooses the run date (the date of `opts`, else the latest with raw
/// data on or before today) and holds back the deliveries dated after it.
pub(crate) fn open_night(store: &dyn Store, opts: &NightlyOptions<'_>) -> Result<Night, JobError> {
    let (index, metas, unrecognised) = raw_index(store)?;
    for key in &unrecognised {
        tracing::warn!(key = %key, "raw key does not follow raw/{{source}}/{{YYYY-MM-DD}}/{{file}}; ignored");
    }
    let today = opts
        .today
        .unwrap_or_else(|| beijing_date(chrono::Utc::now()));
    let run_date = match opts.date {
        Some(d) => d,
        None => default_run_date(&index, today)?,
    };
    if index.keys().next().is_none_or(|d| *d > run_date) {
        return Err(JobError::NoDataForDate(run_date));
    }
    let run = run_date.to_string();
    let mut report = RunReport {
        run_date: run.clone(),
        envgov_version: env!("CARGO_PKG_VERSION").into(),
        reject_rate_limit: opts.max_reject_rate,
        ..RunReport::default()
    };
    // Deliveries dated after the night: held back, never validated or published tonight.
    for (d, sources) in index.range(run_date.succ_opt().unwrap_or(run_date)..) {
        if *d <= run_date {
            continue;
        }
        for key in sources.values().flatten() {
            report.held_back.push(HeldBack {
                key: key.clone(),
                date: d.to_string(),
                reason_code: "future_date".into(),
                reason: format!(
                    "dated {d}, after the run date {run}: held back until the night of its date"
                ),
            });
        }
    }
    if !report.held_back.is_empty() {
        tracing::warn!(
            files = report.held_back.len(),
            "deliveries dated after the run date held back"
        );
    }
    let dates = index.keys().copied().filter(|d| *d <= run_date).collect();
    let stored_ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    let in_force = revisions::resolve_index(&index, &stored_ledger, run_date, &Default::default());
    Ok(Night {
        index,
        metas,
        unrecognised,
        run_date,
        dates,
        report,
        in_force,
    })
}

/// Records raw files in the ledger: hashes (streamed) every new file, trusts known files
/// whose listed size and tag match the ledger but for a rotating sample (or all with
/// `rehash`), and saves this run's sightings by compare-and-set. Returns the merged ledger
/// and the keys whose bytes are not those first recorded (sorted, each once).
pub(crate) fn check_raw_files(
    store: &dyn Store,
    keys: &[&String],
    metas: &RawMetas,
    run: &str,
    rehash: bool,
    counts: &mut RawFileChecks,
    progress: Option<&dyn Progress>,
) -> Result<(RawLedger, Vec<ChangedRawFile>), JobError> {
    let stored_ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    let mut ledger = stored_ledger.clone();
    let mut ours = RawLedger::default();
    let mut conflicts: Vec<ChangedRawFile> = Vec::new();
    for key in keys.iter().copied() {
        counts.listed += 1;
        let (size, tag) = metas
            .get(key)
            .map(|m| (m.size, m.tag.as_str()))
            .unwrap_or((0, ""));
        if ledger.check(key, size, tag, run, rehash) == Check::Trusted {
            counts.trusted += 1;
        } else {
            counts.hashed += 1;
            let fp = open_fingerprint(store, key)?;
            let tag = (!tag.is_empty() && fp.bytes == size).then_some(tag);
            match ledger.sight(key, &fp, tag, run) {
                Ok(new) => {
                    counts.new += u64::from(new);
                    if let Some(entry) = ledger.files.get(key) {
                        ours.files.insert(key.clone(), entry.clone());
                    }
                }
                Err(conflict) => conflicts.push(conflict),
            }
        }
        if let Some(p) = progress {
            p.advance(1);
        }
    }
    if ours
        .files
        .iter()
        .any(|(k, e)| stored_ledger.files.get(k) != Some(e))
    {
        let (merged, more) = save_ledger(store, &ours)?;
        ledger = merged;
        conflicts.extend(more);
    }
    conflicts.sort_by(|a, b| a.key.cmp(&b.key));
    conflicts.dedup_by(|a, b| a.key == b.key);
    Ok((ledger, conflicts))
}

/// The report's records of raw files changed after delivery (logged), and their keys.
pub(crate) fn raw_conflicts(
    conflicts: Vec<ChangedRawFile>,
) -> (BTreeSet<String>, Vec<RawConflict>) {
    for c in &conflicts {
        tracing::warn!(key = %c.key, recorded = %c.recorded, now = %c.now, "raw file changed after delivery; the first recorded bytes stay the evidence");
    }
    let conflicted = conflicts.iter().map(|c| c.key.clone()).collect();
    let records = conflicts
        .into_iter()
        .map(|c| RawConflict {
            key: c.key,
            recorded_sha256: c.recorded,
            found_sha256: c.now,
            first_seen_run: c.first_seen_run,
            action: "the changed bytes are not validated or published; the partition validated from the bytes first recorded stays in force; a correction is delivered under a new key".into(),
        })
        .collect();
    (conflicted, records)
}

/// The revisions of the night in the report (see [`crate::revisions`]), once every
/// partition is validated and the revisions held are known: those in force, held (logged),
/// new tonight, rejected (logged) and superseded.
pub(crate) fn report_revisions(
    store: &dyn Store,
    (index, ledger): (&RawIndex, &RawLedger),
    run_date: NaiveDate,
    held: &revisions::Held,
    report: &mut RunReport,
) -> Result<(), JobError> {
    let before = revisions::held_before(store, run_date)?.unwrap_or_else(|| held.clone());
    report.revisions = revisions::report(index, ledger, run_date, (held, &before));
    for r in &report.revisions.rejected {
        tracing::warn!(key = %r.key, reason_code = %r.reason_code, reason = %r.reason, "revision rejected; not validated");
    }
    for h in &report.revisions.held {
        tracing::warn!(key = %h.key, reason_code = %h.reason_code, kept = %h.kept, "revision held: failed validation as a whole; not in force");
    }
    if !report.revisions.new_tonight.is_empty() {
        tracing::info!(revisions = ?report.revisions.new_tonight, "revisions in force from tonight");
    }
    Ok(())
}

/// Runs the nightly job: ingest, validate, aggregate, publish. Returns the run report.
pub fn nightly(
    store: &dyn Store,
    curated: &Curated,
    opts: &NightlyOptions<'_>,
) -> Result<RunReport, JobError> {
    let started = Instant::now();
    let mut timings = BTreeMap::new();
    let Night {
        index,
        metas,
        unrecognised,
        run_date,
        dates,
        mut report,
        in_force: _,
    } = open_night(store, opts)?;
    let run = run_date.to_string();
    tracing::info!(run_date = %run, store = %store.describe(), "nightly run started");
    let checked = ingest(store, opts, (&index, &metas), &dates, run_date, &mut report)?;
    timings.insert("ingest".to_string(), started.elapsed().as_secs_f64());

    let t = Instant::now();
    let stage = Stage {
        store,
        curated,
        opts,
        index: &index,
        checked: &checked,
        run: &run,
    };
    let validated = stage.validate(&dates, &mut report)?;
    report_revisions(
        store,
        (&index, &checked.ledger),
        run_date,
        &validated.held,
        &mut report,
    )?;
    report.registry_in_force = validated.v.registry_date.clone();
    report.validated_dates = validated.dates.into_iter().collect();
    report.unrecognised_raw_keys = unrecognised;
    let mut record = RunRecord {
        report,
        timings,
        started,
    };
    summarise(&mut record.report, &checked.ledger)?;
    record
        .timings
        .insert("validate".to_string(), t.elapsed().as_secs_f64());
    gate(store, &mut record, &validated.fresh, opts.max_reject_rate)?;
    publish_night(store, curated, opts, record, &validated.v, &dates, run_date)
}

/// The raw files a night has checked ([`ingest`]).
struct Checked {
    /// The ledger with tonight's sightings.
    ledger: RawLedger,
    /// The keys whose bytes are not those first recorded.
    conflicted: BTreeSet<String>,
    /// The files in force (before any revision is held: a partition with none has nothing
    /// to validate).
    in_force: InForce,
}

/// The ingest stage: records every new raw file's hash (streamed), trusting known files
/// whose listed size and tag match the ledger but for a rotating sample (or all with
/// `--rehash`), and records what the night saw for `envgov rebuild` (which files a night saw
/// is history).
fn ingest(
    store: &dyn Store,
    opts: &NightlyOptions<'_>,
    (index, metas): (&RawIndex, &RawMetas),
    dates: &[NaiveDate],
    run_date: NaiveDate,
    report: &mut RunReport,
) -> Result<Checked, JobError> {
    let run = run_date.to_string();
    let keys_to_check: Vec<&String> = dates
        .iter()
        .flat_map(|d| index.get(d).into_iter().flat_map(|m| m.values().flatten()))
        .collect();
    if let Some(p) = opts.progress {
        p.stage("ingest", keys_to_check.len() as u64);
    }
    let (ledger, conflicts) = check_raw_files(
        store,
        &keys_to_check,
        metas,
        &run,
        opts.rehash,
        &mut report.raw_files,
        opts.progress,
    )?;
    let (conflicted, conflict_records) = raw_conflicts(conflicts);
    report.raw_conflicts = conflict_records;
    let in_force = revisions::resolve_index(index, &ledger, run_date, &Default::default());
    crate::inputs::record(store, &run, keys_to_check.iter().copied(), &ledger)?;
    tracing::info!(
        files = report.raw_files.listed,
        hashed = report.raw_files.hashed,
        new = report.raw_files.new,
        conflicts = report.raw_conflicts.len(),
        "raw files checked"
    );
    Ok(Checked {
        ledger,
        conflicted,
        in_force,
    })
}

/// What the validate stage leaves for the rest of the night.
struct ValidateStage {
    /// The registry in force at the end of the night.
    v: Validated,
    /// Per source, the records read and rejected in partitions validated tonight (what the
    /// reject-rate gate weighs).
    fresh: BTreeMap<Source, (u64, u64)>,
    /// The dates with a partition validated tonight.
    dates: BTreeSet<String>,
    /// The revisions held back by the partitions.
    held: revisions::Held,
}

/// What every partition of a night is validated with.
struct Stage<'a> {
    store: &'a dyn Store,
    curated: &'a Curated,
    opts: &'a NightlyOptions<'a>,
    index: &'a RawIndex,
    checked: &'a Checked,
    run: &'a str,
}

impl Stage<'_> {
    /// The validate stage, date by date; the registry in force on a date is the latest one
    /// before it that was not held back. Partitions are written on writer threads while the
    /// next one is validated.
    fn validate(
        &self,
        dates: &[NaiveDate],
        report: &mut RunReport,
    ) -> Result<ValidateStage, JobError> {
        let mut stage = ValidateStage {
            v: Validated {
                registry: Registry::default(),
                registry_date: None,
                registry_id: None,
            },
            fresh: BTreeMap::new(),
            dates: BTreeSet::new(),
            held: revisions::Held::new(),
        };
        if let Some(p) = self.opts.progress {
            p.stage("validate", dates.len() as u64);
        }
        partition::with_writer(self.store, |writer| {
            for d in dates {
                for source in Source::ALL {
                    if !self.checked.in_force.keys(source, *d).is_empty() {
                        self.partition(writer, source, *d, &mut stage, report)?;
                    }
                }
                if let Some(p) = self.opts.progress {
                    p.advance(1);
                }
            }
            Ok(())
        })?;
        Ok(stage)
    }

    /// Validates one partition (or reuses it), puts a registry delivery in force unless it
    /// is held, and counts its files.
    fn partition(
        &self,
        writer: &partition::Writer<'_>,
        source: Source,
        d: NaiveDate,
        stage: &mut ValidateStage,
        report: &mut RunReport,
    ) -> Result<(), JobError> {
        let ledger = &self.checked.ledger;
        let files = revisions::resolver(listed(self.index, d, source), ledger, self.run);
        let ctx = Context {
            curated: self.curated,
            registry: &stage.v.registry,
            date: d,
        };
        let evidence = Evidence {
            ledger,
            conflicted: &self.checked.conflicted,
            registry: if source == Source::Enterprises {
                None
            } else {
                stage.v.registry_id.as_deref()
            },
            max_file_bytes: self.opts.max_file_bytes,
        };
        let counts = report.sources.entry(source.to_string()).or_default();
        let prepared = validate_partition(
            self.store,
            source,
            d,
            &files,
            ctx,
            evidence,
            &mut counts.rejected_by_reason,
        )?;
        let (manifest, was_new) = self.place(writer, source, prepared)?;
        stage
            .held
            .extend(manifest.held.iter().map(|h| (h.key.clone(), h.clone())));
        // A held registry changes nothing that is published: its rejections are in the
        // report, but do not trip the reject-rate gate (that would let one bad registry
        // delivery stop every night until it is replaced).
        let mut held = false;
        if source == Source::Enterprises {
            let verdict = consider_registry(
                self.store,
                &mut stage.v,
                &d.to_string(),
                self.opts.max_registry_shrink,
            )?;
            held = verdict.is_some();
            report.registry_held.extend(verdict);
        }
        let counts = report.sources.entry(source.to_string()).or_default();
        let gated = was_new && !held;
        tally(counts, &mut stage.fresh, source, manifest.files, gated);
        if was_new {
            stage.dates.insert(d.to_string());
        }
        Ok(())
    }

    /// Where a validated partition goes: reused as stored; written at once when it is a
    /// registry delivery (the night reads it back at once); else queued to the writer.
    /// Returns its manifest and whether it was validated tonight.
    fn place(
        &self,
        writer: &partition::Writer<'_>,
        source: Source,
        prepared: Prepared,
    ) -> Result<(PartitionManifest, bool), JobError> {
        Ok(match prepared {
            Prepared::Reused(m) => (m, false),
            Prepared::Fresh(p) if source == Source::Enterprises => {
                writer.flush()?;
                (p.write(self.store)?, true)
            }
            Prepared::Fresh(p) => {
                let m = p.manifest().clone();
                writer.write(p)?;
                (m, true)
            }
        })
    }
}

/// Adds a partition's files to its source's counts; with `gated` (validated tonight, and
/// not a held registry's), to the records the reject-rate gate weighs (`fresh`) as well.
pub(crate) fn tally(
    counts: &mut envgov_dataset::report::SourceCounts,
    fresh: &mut BTreeMap<Source, (u64, u64)>,
    source: Source,
    files: Vec<envgov_dataset::report::FileCounts>,
    gated: bool,
) {
    for f in files {
        if gated {
            let e = fresh.entry(source).or_default();
            e.0 += f.read;
            e.1 += f.rejected;
        }
        counts.add_file(f);
    }
}

/// A run's report and timings while it runs.
pub(crate) struct RunRecord {
    pub(crate) report: RunReport,
    pub(crate) timings: BTreeMap<String, f64>,
    pub(crate) started: Instant,
}

/// Completes the report once every partition is validated: the dates whose raw files were
/// first seen tonight (from the ledger), the reject rate, and the row accounting check.
pub(crate) fn summarise(report: &mut RunReport, ledger: &RawLedger) -> Result<(), JobError> {
    let run = report.run_date.clone();
    report.new_data_dates = ledger
        .files
        .iter()
        .filter(|(_, e)| e.first_seen_run == run)
        .filter_map(|(k, _)| layout::parse_raw_key(k).ok().map(|(_, d, _)| d))
        .filter(|d| d.as_str() <= run.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (read, _, rejected) = report.totals();
    report.reject_rate = if read == 0 {
        0.0
    } else {
        crate::table::round(rejected as f64 / read as f64, 6)
    };
    report
        .check_accounting()
        .map_err(|e| JobError::Definition(e.to_string()))
}

/// Fails the night (after writing its report) when a source's share of rejected records
/// among the newly validated files (`fresh`: read and rejected per source) is over `limit`.
pub(crate) fn gate(
    store: &dyn Store,
    record: &mut RunRecord,
    fresh: &BTreeMap<Source, (u64, u64)>,
    limit: f64,
) -> Result<(), JobError> {
    let report = &mut record.report;
    let run = report.run_date.clone();
    let too_high = fresh
        .iter()
        .find(|(_, (read, rejected))| *read > 0 && *rejected as f64 / *read as f64 > limit);
    if let Some((source, (read, rejected))) = too_high {
        report.timings_s = record.timings.clone();
        put_json(store, &run_report_key(&run)?, report)?;
        return Err(JobError::RejectRate {
            source_name: source.to_string(),
            read: *read,
            rejected: *rejected,
            rate: *rejected as f64 / *read as f64 * 100.0,
            limit: limit * 100.0,
            date: run,
        });
    }
    Ok(())
}

fn run_report_key(run: &str) -> Result<String, JobError> {
    layout::run_report_key(run).map_err(|e| JobError::Definition(e.to_string()))
}

/// The rest of a night once its partitions are validated: aggregate, publish the datasets
/// and the run report, render and switch the site release.
pub(crate) fn publish_night(
    store: &dyn Store,
    curated: &Curated,
    opts: &NightlyOptions<'_>,
    record: RunRecord,
    v: &Validated,
    dates: &[NaiveDate],
    run_date: NaiveDate,
) -> Result<RunReport, JobError> {
    let RunRecord {
        mut report,
        mut timings,
        started,
    } = record;
    let run = run_date.to_string();
    let (read, _, rejected) = report.totals();

    // Aggregate and publish.
    let t = Instant::now();
    let mut stage_s = BTreeMap::new();
    let mut tables = crate::datasets::build(
        store,
        curated,
        &v.registry,
        dates,
        run_date,
        opts.progress,
        &mut stage_s,
    )?;
    timings.insert("aggregate".to_string(), t.elapsed().as_secs_f64());
    // Parts of the aggregate stage: `aggregate.online_monitoring`, `aggregate.monthly_files`.
    for (k, v) in stage_s {
        timings.insert(format!("aggregate.{k}"), v);
    }
    let t = Instant::now();
    let changes = corrections(store, curated, &mut tables, &report, &run)?;
    timings.insert("changelogs".to_string(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    // Archives (written once) and one publication; the stable URLs serve it only once a
    // site release made from it goes live (see `publication`).
    let published = crate::publication::publish(store, curated, &tables, &run, &changes)?;
    report.datasets = published.rows.clone();
    report.publication = Some(published.id.clone());
    report.archive_revisions = published.archive_revisions.clone();
    // What the night published is signed whatever the site step does (`--no-site` too).
    let signer = opts.release.signing.signer(store)?;
    let publication = crate::publication::Publication::open(store, &published.id)?;
    crate::release::signed::sign_publication(store, &publication, &signer)?;
    timings.insert("publish".to_string(), t.elapsed().as_secs_f64());
    if opts.render_site {
        let t = Instant::now();
        // The site reads this run's report (freshness of each source).
        put_json(store, &run_report_key(&run)?, &report)?;
        let release =
            crate::release::publish_publication(store, curated, &opts.release, &published.id)?;
        report.site_release = Some(release.id);
        report.site_uploaded = release.uploaded as u64;
        report.site_uploaded_bytes = release.uploaded_bytes;
        report.site_skipped = release.skipped as u64;
        timings.insert("site".to_string(), t.elapsed().as_secs_f64());
    }
    timings.insert("total".to_string(), started.elapsed().as_secs_f64());
    report.timings_s = timings;
    put_json(store, &run_report_key(&run)?, &report)?;
    tracing::info!(run_date = %run, read, rejected, datasets = report.datasets.len(), "nightly run finished");
    Ok(report)
}

/// Tonight's corrections: the changelogs of the revisions new tonight (written once, see
/// [`crate::changelog`]), the exceedance register with its withdrawn exceedances kept, and
/// every stored changelog up to the night, for the publication manifest.
fn corrections(
    store: &dyn Store,
    curated: &Curated,
    tables: &mut BTreeMap<String, crate::publish::Dataset>,
    report: &RunReport,
    run: &str,
) -> Result<BTreeMap<String, crate::publication::PublishedFile>, JobError> {
    let new: Vec<_> = report
        .revisions
        .applied
        .iter()
        .filter(|a| report.revisions.new_tonight.contains(&a.key))
        .cloned()
        .collect();
    for log in crate::changelog::for_night(store, curated, tables, run, &new)? {
        crate::changelog::write(store, &log)?;
    }
    match tables.remove("exceedances") {
        Some(crate::publish::Dataset::Table(register)) => {
            let marked = crate::changelog::mark_exceedances(store, register, run)?;
            tables.insert("exceedances".to_string(), marked.into());
        }
        Some(_) => {
            return Err(JobError::Definition(
                "the exceedance register is built as a frame: its withdrawn exceedances cannot be kept (changelog::mark_exceedances takes a table)".into(),
            ));
        }
        None => {}
    }
    crate::changelog::listed(store, run)
}

/// The result of checking files as a provider would before delivering them.
pub struct CheckedFile {
    pub source: Source,
    pub result: validate::FileResult,
}

/// Validates files without a store: the source is taken from the key's `raw/{source}/`
/// layout or, failing that, from the file name. The registry (for device and unit look-ups)
/// is the one given.
pub fn check_file(
    key: &str,
    source: Source,
    date: NaiveDate,
    bytes: &[u8],
    curated: &Curated,
    registry: &Registry,
) -> CheckedFile {
    let ctx = Context {
        curated,
        registry,
        date,
    };
    CheckedFile {
        source,
        result: validate::validate_file(source, key, bytes, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::fingerprint;
    use crate::store::{LocalStore, MemoryStore};

    /// Runs that save the ledger at the same time lose none of each other's entries.
    fn concurrent_saves_keep_every_entry(store: &dyn Store) {
        let (threads, each) = (6, 15);
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || {
                    for i in 0..each {
                        let mut ours = RawLedger::default();
                        let key = format!("raw/msw/2026-01-01/t{t}-{i}.csv");
                        let fp = fingerprint(key.as_bytes()).unwrap();
                        ours.sight(&key, &fp, None, "2026-01-01").unwrap();
                        let (_, conflicts) = save_ledger(store, &ours).unwrap();
                        assert!(conflicts.is_empty());
                    }
                });
            }
        });
        let ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY).unwrap().unwrap();
        assert_eq!(ledger.files.len(), threads * each);
    }

    #[test]
    fn ledger_saves_racing_on_a_memory_store_lose_nothing() {
        concurrent_saves_keep_every_entry(&MemoryStore::new());
    }

    #[test]
    fn ledger_saves_racing_on_a_local_store_lose_nothing() {
        let dir = std::env::temp_dir().join(format!("envgov-ledger-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        concurrent_saves_keep_every_entry(&LocalStore::new(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_default_night_is_the_latest_with_data_not_after_today() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut index = RawIndex::new();
        for day in ["2026-01-30", "2026-01-31", "2099-01-01"] {
            index.insert(d(day), BTreeMap::new());
        }
        assert_eq!(
            default_run_date(&index, d("2026-02-01")).unwrap(),
            d("2026-01-31")
        );
        assert_eq!(
            default_run_date(&index, d("2026-01-30")).unwrap(),
            d("2026-01-30")
        );
        assert!(matches!(
            default_run_date(&index, d("2026-01-29")),
            Err(JobError::NoDataForDate(_))
        ));
        assert!(matches!(
            default_run_date(&RawIndex::new(), d("2026-01-29")),
            Err(JobError::NoRawData)
        ));
    }
}
