//! Validated partitions: one source's raw files of one day → the validated partition, its
//! rejects and its manifest, reused while the raw bytes, the validator version and the
//! registry are unchanged; and the raw ledger, saved by compare-and-set. The nightly job
//! and the ingest function both call [`validate_partition`], so both write the same
//! partitions.
//!
//! Stage: validate (the I/O edge around the pure [`crate::validate`]). It never aggregates,
//! publishes or releases, and imports no later stage (nor `jobs`).

use crate::error::JobError;
use crate::frame::read_parquet_as;
#[cfg(doc)]
use crate::frame::write_parquet;
use crate::ledger::{ChangedRawFile, RawLedger, fingerprint};
use crate::publish;
use crate::store::{Conditional, Store, StoreError};
use crate::table::{Batch, Cell, Column, Kind, Table, Values};
use crate::validate::{self, Context, Rejection};
use chrono::NaiveDate;
use envgov_dataset::Source;
use envgov_dataset::layout;
use envgov_dataset::report::{FileCounts, HeldRevision};
use polars::prelude::PolarsResult;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bumped whenever validation rules change, so that reused partitions are re-validated.
pub const VALIDATOR_VERSION: u32 = 1;

fn polars_err(what: impl Into<String>) -> impl FnOnce(polars::error::PolarsError) -> JobError {
    let what = what.into();
    move |source| JobError::Polars { what, source }
}

/// Raw files larger than this are rejected whole (with their line count) without being
/// read into memory: 256 MiB, far above any real day's delivery of one source.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The manifest of a validated partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartitionManifest {
    pub validator_version: u32,
    pub source: Source,
    pub date: String,
    pub files: Vec<FileCounts>,
    /// The sha256 of the partition and of its rejects file as written with this manifest.
    /// A partition is reused only when the stored objects still have these hashes: two
    /// writers racing on one partition (a nightly run and a late delivery's ingest) can
    /// leave one's data under the other's manifest, and that must not pass for validated.
    /// Absent in manifests written before the check existed (they are re-validated).
    #[serde(default)]
    pub partition_sha256: Option<String>,
    #[serde(default)]
    pub rejects_sha256: Option<String>,
    /// The registry the partition was validated against (its delivery date and partition
    /// sha256); a partition validated against another registry is validated again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Raw files of the partition left out because their bytes are no longer those first
    /// recorded in the ledger (see `RunReport::raw_conflicts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<String>,
    /// Revisions of the partition's files held because they failed validation as a whole
    /// (see [`validate_partition`]): the file in force before each stays in force. Reused
    /// with the partition while their sha256 and the registry are unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldRevision>,
}

/// Revisions held, by key (see `crate::revisions`, whose `Held` is this type).
pub type HeldKeys = BTreeMap<String, HeldRevision>;

/// A partition's files resolved with some revisions held (see [`Resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionFiles {
    /// The keys in force, sorted: what the partition is made of.
    pub in_force: Vec<String>,
    /// Every revision (n ≥ 2) placed and not held, superseded ones included: each must
    /// validate to keep its place (whether a revision is held depends on it alone, not on
    /// whether a later one came with it).
    pub revisions: Vec<String>,
    /// The revisions held among the partition's files (numbered, with the key kept in force).
    pub held: Vec<HeldRevision>,
}

/// How a partition's files follow from the revisions held, as
/// `crate::revisions::resolve_held` gives them. The caller resolves: this module knows
/// nothing of the revision scheme.
pub type Resolve<'a> = &'a (dyn Fn(&HeldKeys) -> PartitionFiles + Sync);

/// What [`validate_partition`] checks the raw files against.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The hashes the raw files were first recorded with.
    pub ledger: &'a RawLedger,
    /// Keys whose bytes changed since they were first recorded: never validated.
    pub conflicted: &'a BTreeSet<String>,
    /// The registry in force (see [`PartitionManifest::registry`]); `None` for the registry.
    pub registry: Option<&'a str>,
    /// See [`DEFAULT_MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
}

/// Reads a JSON object of the store; `Ok(None)` when it does not exist, `Corrupt` naming
/// the key when it does not parse.
pub fn get_json<T: for<'de> Deserialize<'de>>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, JobError> {
    match store.get(key)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| JobError::Corrupt {
                key: key.into(),
                message: e.to_string(),
            }),
    }
}

fn json_bytes<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, JobError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| JobError::Corrupt {
        key: key.into(),
        message: format!("cannot serialise: {e}"),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(crate) fn put_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
) -> Result<(), JobError> {
    Ok(store.put(key, &json_bytes(key, value)?)?)
}

/// [`put_json`], durable only at the store's next [`Store::sync`] ([`Store::put_pending`]).
pub(crate) fn put_json_pending<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
) -> Result<(), JobError> {
    let bytes = json_bytes(key, value)?;
    Ok(store.put_pending(key, &bytes, &crate::ledger::sha256_hex(&bytes))?)
}

/// How many times a compare-and-set loop re-reads before giving up ([`JobError::Contended`]).
const CAS_ATTEMPTS: u32 = 40;

/// Waits before compare-and-set attempt `attempt + 1`: a few milliseconds, growing, with
/// jitter from the clock so that writers that collided once do not collide again in step.
/// (Timing only: nothing written depends on it.)
fn backoff(attempt: u32) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos() % 1000))
        .unwrap_or(500);
    let ms = u64::from(attempt.min(10) + 1) * (1 + jitter % 5);
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// Folds this run's sightings into the stored ledger with compare-and-set (`If-Match`, or
/// `If-None-Match` for the first ledger), re-reading and merging again when another run
/// wrote it meanwhile: no run's entries are lost. Returns the merged ledger and the keys
/// recorded by the other writer with other bytes. Writes nothing when nothing changed.
pub(crate) fn save_ledger(
    store: &dyn Store,
    ours: &RawLedger,
) -> Result<(RawLedger, Vec<ChangedRawFile>), JobError> {
    let key = layout::RAW_LEDGER_KEY;
    for attempt in 0..CAS_ATTEMPTS {
        let stored = store.get_versioned(key)?;
        let (mut ledger, version) = match stored {
            None => (RawLedger::default(), None),
            Some((bytes, version)) => (
                serde_json::from_slice(&bytes).map_err(|e| JobError::Corrupt {
                    key: key.into(),
                    message: e.to_string(),
                })?,
                Some(version),
            ),
        };
        let before = ledger.clone();
        let conflicts = ours.merge_into(&mut ledger);
        if version.is_some() && ledger == before {
            return Ok((ledger, conflicts));
        }
        let bytes = json_bytes(key, &ledger)?;
        let written = match &version {
            Some(v) => store.put_if_match(key, &bytes, v)?,
            None => store.put_if_absent(key, &bytes)?,
        };
        if written == Conditional::Written {
            return Ok((ledger, conflicts));
        }
        tracing::info!(key, "the ledger changed since it was read; merging again");
        backoff(attempt);
    }
    Err(JobError::Contended {
        key: key.into(),
        attempts: CAS_ATTEMPTS,
    })
}

pub(crate) fn read_partition(
    store: &dyn Store,
    source: Source,
    date: &str,
) -> Result<Option<Table>, JobError> {
    let key =
        layout::validated_key(source, date).map_err(|e| JobError::Definition(e.to_string()))?;
    match store.get(&key)? {
        None => Ok(None),
        Some(b) => read_parquet_as(&b, validate::schema(source))
            .map(Some)
            .map_err(|e| JobError::Corrupt {
                key,
                message: e.to_string(),
            }),
    }
}

fn rejects_table(rejections: &[Rejection]) -> Table {
    let mut t = Table::new(&[
        ("raw_key", Kind::Str),
        ("line", Kind::I64),
        ("field", Kind::Str),
        ("value", Kind::Str),
        ("reason_code", Kind::Str),
        ("reason", Kind::Str),
        ("scope", Kind::Str),
    ]);
    for r in rejections {
        t.push(vec![
            Cell::from(r.raw_key.clone()),
            Cell::from(r.line as i64),
            Cell::from(r.field.clone()),
            Cell::from(r.value.clone()),
            Cell::from(r.reason_code),
            Cell::from(r.reason.clone()),
            Cell::from(r.scope.as_str()),
        ]);
    }
    t
}

/// Validates (or reuses) one source's partition for one date: the stored manifest, or the
/// partition validated and still to write ([`Prepared::written`] writes it; the nightly job
/// writes it on writer threads while it validates the next, see [`with_writer`]).
/// `files` gives the keys in force (see [`Resolve`]).
/// The partition is reused when its manifest lists the partition's files (all the keys in
/// force, or all but the conflicted ones) with the sha256 the ledger records for them, and
/// was validated against the same registry. The ingest function calls this too, so both
/// write the same partitions.
///
/// A revision (`{stem}.r{n}.{ext}`) that fails validation as a whole ([`whole_failure`]:
/// over the size limit, undecodable, or records read and none accepted) is **held**: the
/// keys in force are resolved again without it and the file in force before it is validated
/// instead, so a failed correction never withdraws what it would have replaced. Held
/// revisions are listed in the manifest (and reused with it) and in the rejects, one row
/// each (scope `held`, reason code `revision_held`).
///
/// Bounded memory: a file over `evidence.max_file_bytes` is rejected whole, with the line
/// count the ledger took while hashing it, and never read into memory.
pub fn validate_partition(
    store: &dyn Store,
    source: Source,
    date: NaiveDate,
    files: Resolve<'_>,
    ctx: Context<'_>,
    evidence: Evidence<'_>,
    rejected_by_reason: &mut BTreeMap<String, u64>,
) -> Result<Prepared, JobError> {
    let d = date.to_string();
    let manifest_key = layout::validated_manifest_key(source, &d)
        .map_err(|e| JobError::Definition(e.to_string()))?;
    let registry = evidence.registry.map(str::to_string);
    let stored = get_json::<PartitionManifest>(store, &manifest_key)?
        .filter(|m| m.validator_version == VALIDATOR_VERSION && m.registry == registry);
    let held = still_held(stored.as_ref(), evidence.ledger);
    if let Some(m) = stored {
        let keys = files(&held).in_force;
        if lists_files(&m, &keys, &evidence) && written_with(store, &m, source, &d)? {
            return Ok(Prepared::Reused(m));
        }
    }
    let t = std::time::Instant::now();
    let (resolved, mut results) = validate_holding(store, source, files, ctx, &evidence, held)?;
    let validate_s = t.elapsed().as_secs_f64();
    let PartitionFiles {
        in_force: keys,
        held: held_here,
        ..
    } = resolved;
    let mut accepted: Vec<Batch> = Vec::new();
    let mut rejections = Vec::new();
    let mut counted = Vec::new();
    let mut withheld: Vec<String> = keys
        .iter()
        .filter(|k| evidence.conflicted.contains(*k))
        .cloned()
        .collect();
    for key in &keys {
        let Some(result) = results.remove(key) else {
            continue;
        };
        if let Some(entry) = evidence.ledger.files.get(key)
            && entry.sha256 != result.counts.sha256
        {
            // Overwritten between the ledger's check and now: the changed bytes are not
            // the evidence; leave them out (the next night reports the conflict).
            tracing::warn!(key = %key, recorded = %entry.sha256, now = %result.counts.sha256, "raw file changed during the run; left out");
            withheld.push(key.clone());
            continue;
        }
        tracing::debug!(key = %key, read = result.counts.read, accepted = result.counts.accepted, rejected = result.counts.rejected, "validated");
        accepted.push(result.accepted);
        counted.push(result.counts);
        rejections.extend(result.rejections);
    }
    drop(results);
    for h in &held_here {
        tracing::warn!(key = %h.key, reason_code = %h.reason_code, kept = %h.kept, "revision failed validation as a whole; held, not in force");
        rejections.push(held_rejection(h));
    }
    for r in rejections
        .iter()
        .filter(|r| r.scope == validate::Scope::Record)
    {
        *rejected_by_reason
            .entry(r.reason_code.to_string())
            .or_default() += 1;
    }
    withheld.sort();
    Ok(Prepared::Fresh(Pending {
        manifest_key,
        manifest: PartitionManifest {
            validator_version: VALIDATOR_VERSION,
            source,
            date: d,
            files: counted,
            partition_sha256: None,
            rejects_sha256: None,
            registry,
            withheld,
            held: held_here,
        },
        accepted,
        rejections,
        validate_s,
    }))
}

/// A partition validated: reused as stored, or validated in this run and still to write.
pub enum Prepared {
    Reused(PartitionManifest),
    Fresh(Pending),
}

impl Prepared {
    /// The partition written where it was validated in this run: its manifest, and whether
    /// it was validated in this run.
    pub fn written(self, store: &dyn Store) -> Result<(PartitionManifest, bool), JobError> {
        match self {
            Prepared::Reused(m) => Ok((m, false)),
            Prepared::Fresh(p) => Ok((p.write(store)?, true)),
        }
    }
}

/// A partition validated in this run, not yet written: its manifest (without the hashes of
/// what is written), its accepted rows and its rejections.
pub struct Pending {
    manifest_key: String,
    manifest: PartitionManifest,
    accepted: Vec<Batch>,
    rejections: Vec<Rejection>,
    validate_s: f64,
}

impl Pending {
    /// The manifest as it will be stored, but for `partition_sha256` and `rejects_sha256`.
    pub fn manifest(&self) -> &PartitionManifest {
        &self.manifest
    }

    /// Writes the partition, its rejects and then its manifest; returns the manifest.
    pub fn write(self, store: &dyn Store) -> Result<PartitionManifest, JobError> {
        let t = std::time::Instant::now();
        let Pending {
            manifest_key,
            mut manifest,
            accepted,
            rejections,
            validate_s,
        } = self;
        let (source, d) = (manifest.source, manifest.date.clone());
        let (partition, rejects) = write_partition(store, source, &d, &accepted, &rejections)?;
        manifest.partition_sha256 = Some(partition);
        manifest.rejects_sha256 = Some(rejects);
        put_json(store, &manifest_key, &manifest)?;
        tracing::debug!(%source, date = %d, validate_s, write_s = t.elapsed().as_secs_f64(), "partition validated");
        Ok(manifest)
    }
}

/// Writes [`Pending`] partitions on [`WRITERS`] threads of their own, so that the caller
/// validates the next partition meanwhile: validating a day keeps every core busy for a
/// moment, encoding its partition (a day of online monitoring: some 230,000 rows at 2,000
/// units) mostly one, and it takes longer than validating. Partitions are independent
/// (each writes its own keys, its manifest last), so the order they are written in does not
/// matter. Bounded memory: at most [`LARGE_IN_FLIGHT`] large partitions are queued or being
/// written at a time, and [`QUEUED`] partitions queued (the caller waits).
pub struct Writer<'s> {
    shared: &'s Shared,
}

/// Threads writing partitions.
const WRITERS: usize = 2;
/// A partition of at least this many rows (one Parquet row group) is large.
const LARGE_FROM_ROWS: usize = 65_536;
/// Large partitions queued or being written at a time: one per writer, one waiting.
const LARGE_IN_FLIGHT: usize = WRITERS + 1;
/// Partitions queued at a time (a day's sources, small ones mostly).
const QUEUED: usize = 16;

/// The writers' queue and what they report back.
#[derive(Default)]
struct Shared {
    state: std::sync::Mutex<Queue>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: std::collections::VecDeque<(Pending, bool)>,
    /// Partitions being written.
    writing: usize,
    /// Large partitions queued or being written.
    large: usize,
    /// No partition will be queued any more: the writers stop once the queue is empty.
    closed: bool,
    /// A write failed: nothing more is written.
    stopped: bool,
    /// The first write that failed, until the caller is told.
    failed: Option<JobError>,
}

impl Queue {
    /// The error of the first write that failed, once; after that, that the writers
    /// stopped.
    fn failure(&mut self) -> Result<(), JobError> {
        if !self.stopped {
            return Ok(());
        }
        Err(self.failed.take().unwrap_or_else(|| {
            JobError::Definition("the partition writers stopped after a failed write".into())
        }))
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(
        &self,
        guard: std::sync::MutexGuard<'a, Queue>,
        until: impl Fn(&Queue) -> bool,
    ) -> std::sync::MutexGuard<'a, Queue> {
        self.changed
            .wait_while(guard, |q| !until(q))
            .unwrap_or_else(|p| p.into_inner())
    }

    /// One writer thread: takes the next partition until the queue is closed and empty.
    fn work(&self, store: &dyn Store) {
        loop {
            let mut q = self.wait(self.lock(), |q| q.closed || !q.jobs.is_empty());
            let Some((p, large)) = q.jobs.pop_front() else {
                return;
            };
            let skip = q.stopped;
            q.writing += 1;
            drop(q);
            self.changed.notify_all();
            let result = if skip {
                Ok(())
            } else {
                p.write(store).map(drop)
            };
            let mut q = self.lock();
            q.writing -= 1;
            if large {
                q.large -= 1;
            }
            if let Err(e) = result
                && !q.stopped
            {
                q.stopped = true;
                q.failed = Some(e);
            }
            drop(q);
            self.changed.notify_all();
        }
    }
}

impl Writer<'_> {
    /// Queues a partition to write, waiting while the queue is full (or, for a large one,
    /// while [`LARGE_IN_FLIGHT`] are in flight); the error of the first write that failed,
    /// if any did.
    pub fn write(&self, p: Pending) -> Result<(), JobError> {
        let large = p.accepted.iter().map(Batch::rows).sum::<usize>() >= LARGE_FROM_ROWS;
        let mut q = self.shared.wait(self.shared.lock(), |q| {
            q.stopped || (q.jobs.len() < QUEUED && (!large || q.large < LARGE_IN_FLIGHT))
        });
        q.failure()?;
        q.large += usize::from(large);
        q.jobs.push_back((p, large));
        drop(q);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Waits until every partition queued is written; the error of the first that failed.
    pub fn flush(&self) -> Result<(), JobError> {
        self.shared
            .wait(self.shared.lock(), |q| q.jobs.is_empty() && q.writing == 0)
            .failure()
    }
}

/// Closes the writers' queue when dropped.
struct Close<'a>(&'a Shared);

impl Drop for Close<'_> {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.changed.notify_all();
    }
}

/// Runs `f` with a [`Writer`] of partitions to `store`; returns once every partition it
/// queued is written, with `f`'s error first, then the first write's.
pub fn with_writer<R>(
    store: &dyn Store,
    f: impl FnOnce(&Writer<'_>) -> Result<R, JobError>,
) -> Result<R, JobError> {
    let shared = Shared::default();
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| s.spawn(|| shared.work(store)))
            .collect();
        // Closed however `f` ends (a panic included), so that the writers stop.
        let close = Close(&shared);
        let writer = Writer { shared: &shared };
        let result = f(&writer);
        let flushed = writer.flush();
        drop(close);
        for w in writers {
            w.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        let r = result?;
        flushed.map(|()| r)
    })
}

/// The revisions a stored manifest holds, while their bytes are those it judged.
fn still_held(stored: Option<&PartitionManifest>, ledger: &RawLedger) -> HeldKeys {
    stored
        .iter()
        .flat_map(|m| m.held.iter())
        .filter(|h| {
            ledger
                .files
                .get(&h.key)
                .is_some_and(|e| e.sha256 == h.sha256)
        })
        .map(|h| (h.key.clone(), h.clone()))
        .collect()
}

/// Whether a stored manifest lists the partition's files in force (all of `keys`, or all
/// but the conflicted ones) with the sha256 the ledger records for them.
fn lists_files(m: &PartitionManifest, keys: &[String], evidence: &Evidence<'_>) -> bool {
    let lists = |listed: &[&String]| {
        m.files.len() == listed.len()
            && m.files.iter().zip(listed).all(|(f, k)| {
                &f.key == *k
                    && evidence
                        .ledger
                        .files
                        .get(*k)
                        .is_some_and(|e| e.sha256 == f.sha256)
            })
    };
    let all: Vec<&String> = keys.iter().collect();
    let usable: Vec<&String> = keys
        .iter()
        .filter(|k| !evidence.conflicted.contains(*k))
        .collect();
    lists(&all) || lists(&usable)
}

/// Validates the partition's files in force and every revision placed, holding each
/// revision that fails as a whole and resolving again until none does. Returns the files as
/// resolved and every file validated (by key).
fn validate_holding(
    store: &dyn Store,
    source: Source,
    files: Resolve<'_>,
    ctx: Context<'_>,
    evidence: &Evidence<'_>,
    mut held: HeldKeys,
) -> Result<(PartitionFiles, BTreeMap<String, validate::FileBatch>), JobError> {
    let mut results: BTreeMap<String, validate::FileBatch> = BTreeMap::new();
    loop {
        let now = files(&held);
        let judged: BTreeSet<&String> = now.in_force.iter().chain(&now.revisions).collect();
        let todo: Vec<&String> = judged
            .iter()
            .copied()
            .filter(|k| !evidence.conflicted.contains(*k) && !results.contains_key(*k))
            .collect();
        // Files are validated in parallel and taken in key order: the same outputs as one
        // by one.
        let batches = in_parallel(&todo, |key| validate_key(store, source, key, ctx, evidence));
        for (key, batch) in todo.into_iter().zip(batches) {
            results.insert(key.clone(), batch?);
        }
        let failed: Vec<HeldRevision> = judged
            .iter()
            .filter(|k| !held.contains_key(k.as_str()))
            .filter_map(|k| results.get(*k).and_then(whole_failure))
            .collect();
        if failed.is_empty() {
            return Ok((now, results));
        }
        held.extend(failed.into_iter().map(|h| (h.key.clone(), h)));
        // An original that fails is not a revision: nothing to hold, the files stay.
        let again = files(&held);
        if again == now {
            return Ok((again, results));
        }
    }
}

/// Writes a validated partition and its rejects; returns their sha256.
fn write_partition(
    store: &dyn Store,
    source: Source,
    d: &str,
    accepted: &[Batch],
    rejections: &[Rejection],
) -> Result<(String, String), JobError> {
    let def = |e: layout::BadSegment| JobError::Definition(e.to_string());
    let parquet = write_batches(validate::schema(source), accepted)
        .map_err(polars_err(format!("writing validated {source} {d}")))?;
    let partition_sha256 = crate::ledger::sha256_hex(&parquet);
    store.put_with_hash(
        &layout::validated_key(source, d).map_err(def)?,
        &parquet,
        &partition_sha256,
    )?;
    let rejects = publish::to_csv(&rejects_table(rejections));
    let rejects_sha256 = crate::ledger::sha256_hex(&rejects);
    store.put_with_hash(
        &layout::rejects_key(source, d).map_err(def)?,
        &rejects,
        &rejects_sha256,
    )?;
    Ok((partition_sha256, rejects_sha256))
}

/// Whether a validated file failed as a whole, and why: a file error (over the size limit,
/// undecodable: the code of its whole-file rejection) or records read and none accepted
/// (`no_record_accepted`). A file with no record at all (a revision withdrawing a whole
/// file) has not failed. The revision number and the key kept are left for the resolver.
pub fn whole_failure(result: &validate::FileBatch) -> Option<HeldRevision> {
    let c = &result.counts;
    let first = result
        .rejections
        .iter()
        .find(|r| r.scope == validate::Scope::Record);
    let (code, why) = if let Some(error) = &c.file_error {
        let code = first
            .filter(|r| r.line == 0)
            .map_or("file_error", |r| r.reason_code);
        (code.to_string(), error.clone())
    } else if c.read > 0 && c.accepted == 0 {
        let example = first
            .map(|r| {
                format!(
                    " (the first at line {}, field {}: {})",
                    r.line, r.field, r.reason
                )
            })
            .unwrap_or_default();
        (
            "no_record_accepted".to_string(),
            format!("every one of its {} records was rejected{example}", c.read),
        )
    } else {
        return None;
    };
    Some(HeldRevision {
        key: c.key.clone(),
        revision: 0,
        sha256: c.sha256.clone(),
        reason_code: code,
        reason: why,
        read: c.read,
        rejected: c.rejected,
        kept: String::new(),
    })
}

/// The rejects row of a held revision (scope `held`: not a record of the partition).
fn held_rejection(h: &HeldRevision) -> Rejection {
    Rejection {
        raw_key: h.key.clone(),
        line: 0,
        field: "file".into(),
        value: h.reason_code.clone(),
        reason_code: "revision_held",
        reason: format!(
            "revision {} failed validation as a whole ({}: {}); it is held, not in force: {} stays in force until a later revision validates with at least one accepted record",
            h.revision, h.reason_code, h.reason, h.kept
        ),
        scope: validate::Scope::Held,
    }
}

/// Validates one raw file of a partition: rejected whole, unread, when the ledger records it
/// over the size limit (with the line count the ledger took while hashing it).
fn validate_key(
    store: &dyn Store,
    source: Source,
    key: &str,
    ctx: Context<'_>,
    evidence: &Evidence<'_>,
) -> Result<validate::FileBatch, JobError> {
    if let Some(entry) = evidence
        .ledger
        .files
        .get(key)
        .filter(|e| e.bytes > evidence.max_file_bytes)
    {
        let lines = match entry.lines {
            Some(n) => n,
            None => open_fingerprint(store, key)?.lines,
        };
        return Ok(reject_oversized_file(
            source,
            key,
            entry.bytes,
            lines,
            &entry.sha256,
            evidence.max_file_bytes,
        )
        .into());
    }
    let bytes = store.get(key)?.ok_or_else(|| JobError::Corrupt {
        key: key.to_string(),
        message: "listed but missing".into(),
    })?;
    Ok(validate::validate_batch(source, key, &bytes, ctx))
}

/// `f` of each item, in the items' order, computed on as many threads as the machine has
/// cores (at most one per item), each taking the next item not yet taken.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Writes a partition's batches, in order, as the Parquet [`write_parquet`] writes of the
/// same rows as one [`Table`] (same columns, same settings: same bytes), without a `String`
/// per cell.
fn write_batches(schema: &[(&str, Kind)], batches: &[Batch]) -> PolarsResult<Vec<u8>> {
    use polars::prelude::{Column as PlColumn, DataFrame, ParquetCompression, ParquetWriter};
    let want: Vec<(String, Kind)> = schema.iter().map(|(n, k)| (n.to_string(), *k)).collect();
    if let Some(b) = batches.iter().find(|b| b.schema() != want) {
        polars::prelude::polars_bail!(SchemaMismatch: "batch schema {:?} differs from {want:?}", b.schema());
    }
    let rows = batches.iter().map(Batch::rows).sum();
    let mut columns = Vec::with_capacity(schema.len());
    for (i, (name, kind)) in schema.iter().enumerate() {
        let cells = batches.iter().filter_map(|b| b.columns.get(i));
        let name = polars::prelude::PlSmallStr::from(*name);
        columns.push(match kind {
            Kind::Str => str_column(name, cells)?,
            Kind::F64 => PlColumn::new(name, plain(cells, rows, f64_cells)),
            Kind::I64 => PlColumn::new(name, plain(cells, rows, i64_cells)),
            Kind::Bool => PlColumn::new(name, plain(cells, rows, bool_cells)),
        });
    }
    let mut df = DataFrame::new(rows, columns)?;
    df.rechunk_mut();
    let mut out = Vec::new();
    // Columns are encoded on polars' pool, then written in order: the same bytes.
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Zstd(None))
        .with_row_group_size(Some(65_536))
        .set_parallel(true)
        .finish(&mut df)?;
    Ok(out)
}

/// The cells of the batches' string columns as one column. An interned column is its
/// dictionary gathered by code: each cell a view of its dictionary value, no string copied
/// per cell.
fn str_column<'a>(
    name: polars::prelude::PlSmallStr,
    columns: impl Iterator<Item = &'a Column>,
) -> PolarsResult<polars::prelude::Column> {
    use polars::prelude::{ChunkTake, IdxCa, IdxSize, IntoColumn, NewChunkedArray, StringChunked};
    let mut out: Option<StringChunked> = None;
    for c in columns {
        let part = match c {
            Column::Interned(v) => {
                let (values, codes) = v.parts();
                let dictionary = StringChunked::from_iter_values(
                    name.clone(),
                    values.iter().map(String::as_str),
                );
                let codes = IdxCa::from_iter_options(
                    name.clone(),
                    codes.iter().map(|c| c.map(IdxSize::from)),
                );
                dictionary.take(&codes)?
            }
            Column::Plain(Values::Str(v)) => {
                StringChunked::from_iter_options(name.clone(), v.iter().map(Option::as_deref))
            }
            Column::Plain(_) => continue,
        };
        match &mut out {
            Some(o) => {
                o.append(&part)?;
            }
            None => out = Some(part),
        }
    }
    Ok(out
        .unwrap_or_else(|| StringChunked::from_iter_values(name, std::iter::empty::<&str>()))
        .into_column())
}

/// The cells of the batches' plain columns of numbers or booleans (`cells` picks the kind).
fn plain<'a, T: Copy + 'a>(
    columns: impl Iterator<Item = &'a Column>,
    rows: usize,
    cells: fn(&'a Values) -> &'a [Option<T>],
) -> Vec<Option<T>> {
    let mut out = Vec::with_capacity(rows);
    for c in columns {
        if let Column::Plain(v) = c {
            out.extend_from_slice(cells(v));
        }
    }
    out
}

fn f64_cells(v: &Values) -> &[Option<f64>] {
    match v {
        Values::F64(v) => v,
        _ => &[],
    }
}

fn i64_cells(v: &Values) -> &[Option<i64>] {
    match v {
        Values::I64(v) => v,
        _ => &[],
    }
}

fn bool_cells(v: &Values) -> &[Option<bool>] {
    match v {
        Values::Bool(v) => v,
        _ => &[],
    }
}

/// Rejects a raw file over the size limit whole, unread: every one of its non-empty lines
/// counts as rejected (as for an undecodable file), so the accounting still adds up.
fn reject_oversized_file(
    source: Source,
    key: &str,
    bytes: u64,
    lines: u64,
    sha256: &str,
    limit: u64,
) -> validate::FileResult {
    let lines = lines.max(1);
    let message = format!(
        "the file is {bytes} bytes, over the limit of {limit} bytes for one raw file; split the delivery into several files"
    );
    validate::FileResult {
        counts: FileCounts {
            key: key.to_string(),
            sha256: sha256.to_string(),
            bytes,
            encoding: "unknown".into(),
            read: lines,
            rejected: lines,
            file_error: Some(message.clone()),
            ..FileCounts::default()
        },
        accepted: Table::new(validate::schema(source)),
        rejections: vec![Rejection {
            raw_key: key.to_string(),
            line: 0,
            field: "file".into(),
            value: bytes.to_string(),
            reason_code: "file_too_large",
            reason: format!("{message}; every line of the file ({lines}) is rejected"),
            scope: validate::Scope::Record,
        }],
    }
}

/// Streams a stored object through [`fingerprint`].
pub fn open_fingerprint(
    store: &dyn Store,
    key: &str,
) -> Result<crate::ledger::Fingerprint, JobError> {
    let reader = store.open(key)?.ok_or_else(|| JobError::Corrupt {
        key: key.to_string(),
        message: "listed but missing".into(),
    })?;
    fingerprint(reader).map_err(|source| {
        JobError::Store(StoreError::Io {
            key: key.to_string(),
            source,
        })
    })
}

/// Whether the stored partition and rejects are the ones `manifest` was written with.
fn written_with(
    store: &dyn Store,
    manifest: &PartitionManifest,
    source: Source,
    date: &str,
) -> Result<bool, JobError> {
    let (Some(partition), Some(rejects)) = (&manifest.partition_sha256, &manifest.rejects_sha256)
    else {
        return Ok(false);
    };
    let key =
        |k: Result<String, layout::BadSegment>| k.map_err(|e| JobError::Definition(e.to_string()));
    Ok(store
        .stored_hash(&key(layout::validated_key(source, date))?)?
        .as_ref()
        == Some(partition)
        && store
            .stored_hash(&key(layout::rejects_key(source, date))?)?
            .as_ref()
            == Some(rejects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Interned;

    #[test]
    fn in_parallel_keeps_the_items_order() {
        let items: Vec<u64> = (0..1000).collect();
        let squares = in_parallel(&items, |x| x * x);
        assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        assert!(in_parallel(&[] as &[u64], |x| *x).is_empty());
    }

    /// A partition of `rows` rows of `source`'s schema, validated and not yet written.
    fn pending(source: Source, date: &str, rows: usize) -> Pending {
        let schema = validate::schema(source);
        let columns = schema
            .iter()
            .map(|(_, kind)| match kind {
                Kind::Str => {
                    let mut c = Interned::default();
                    for i in 0..rows {
                        c.push(Some(if i % 2 == 0 { "甲" } else { "b" }));
                    }
                    Column::Interned(c)
                }
                Kind::F64 => {
                    Column::Plain(Values::F64((0..rows).map(|i| Some(i as f64)).collect()))
                }
                Kind::I64 => {
                    Column::Plain(Values::I64((0..rows).map(|i| Some(i as i64)).collect()))
                }
                Kind::Bool => Column::Plain(Values::Bool(vec![Some(true); rows])),
            })
            .collect();
        let batch = Batch {
            names: schema.iter().map(|(n, _)| n.to_string()).collect(),
            columns,
        };
        Pending {
            manifest_key: layout::validated_manifest_key(source, date).unwrap(),
            manifest: PartitionManifest {
                validator_version: VALIDATOR_VERSION,
                source,
                date: date.to_string(),
                files: Vec::new(),
                partition_sha256: None,
                rejects_sha256: None,
                registry: None,
                withheld: Vec::new(),
                held: Vec::new(),
            },
            accepted: vec![batch],
            rejections: Vec::new(),
            validate_s: 0.0,
        }
    }

    /// Large partitions (more than the writer holds at once) and small ones queued in turn
    /// are all written, each with the manifest of its own bytes, once `with_writer` returns.
    #[test]
    fn the_writer_writes_every_partition_queued_large_or_small() {
        let store = crate::store::MemoryStore::new();
        let days: Vec<String> = (1..=5).map(|d| format!("2026-01-0{d}")).collect();
        with_writer(&store, |writer| {
            for d in &days {
                writer.write(pending(Source::Cems, d, LARGE_FROM_ROWS + 1))?;
                writer.write(pending(Source::Sewage, d, 3))?;
            }
            Ok(())
        })
        .unwrap();
        for d in &days {
            for (source, rows) in [(Source::Cems, LARGE_FROM_ROWS + 1), (Source::Sewage, 3)] {
                let key = layout::validated_manifest_key(source, d).unwrap();
                let m: PartitionManifest = get_json(&store, &key).unwrap().expect("manifest");
                assert!(written_with(&store, &m, source, d).unwrap(), "{source} {d}");
                let table = read_partition(&store, source, d)
                    .unwrap()
                    .expect("partition");
                assert_eq!(table.rows(), rows, "{source} {d}");
            }
        }
    }

    /// Batches with interned and plain string columns are written as the same bytes as the
    /// table of their rows.
    #[test]
    fn batches_are_written_as_the_table_of_their_rows() {
        let schema: &[(&str, Kind)] = &[
            ("s", Kind::Str),
            ("x", Kind::F64),
            ("n", Kind::I64),
            ("b", Kind::Bool),
        ];
        let mut first = Interned::default();
        for v in [Some("北京"), None, Some("北京"), Some("a")] {
            first.push(v);
        }
        let interned = Batch {
            names: vec!["s".into(), "x".into(), "n".into(), "b".into()],
            columns: vec![
                Column::Interned(first),
                Column::Plain(Values::F64(vec![Some(0.5), None, Some(-1.0), Some(2.0)])),
                Column::Plain(Values::I64(vec![Some(1), Some(2), None, Some(4)])),
                Column::Plain(Values::Bool(vec![
                    Some(true),
                    None,
                    Some(false),
                    Some(true),
                ])),
            ],
        };
        let mut second = Table::new(schema);
        second.push(vec!["z".into(), 3.0.into(), 5i64.into(), false.into()]);
        let mut whole = interned.clone().into_table();
        whole.extend(second.clone());
        let batches = [interned, Batch::from(second)];
        assert_eq!(
            write_batches(schema, &batches).unwrap(),
            crate::frame::write_parquet(&whole).unwrap()
        );
        assert!(write_batches(&schema[..2], &batches).is_err());
    }
}
