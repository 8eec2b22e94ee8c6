//! The nightly run fanned out over partitions (`envgov_pipeline::fanout`: plan, one task per
//! partition, reduce), as the Step Functions distributed map runs it, gives the very files a
//! single `jobs::nightly` run gives from the same raw files; a task run twice changes
//! nothing; a night with a failed task publishes nothing.

use envgov_curated::Curated;
use envgov_e2e::TempDir;
use envgov_pipeline::error::JobError;
use envgov_pipeline::fanout::{self, Plan, TaskItem, TaskOptions, TaskOutcome};
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::partition::DEFAULT_MAX_FILE_BYTES;
use envgov_pipeline::store::{
    Conditional, LocalStore, ObjectMeta, ObjectReader, Store, StoreError, Version,
};
use envgov_sample_data::{SampleConfig, generate};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Four days of 40 units with the sample's defects: every source, a registry, rejections.
fn sample() -> SampleConfig {
    SampleConfig {
        units: 40,
        days: 4,
        ..SampleConfig::default()
    }
}

fn filled(name: &str) -> (TempDir, LocalStore) {
    let dir = TempDir::new(name);
    let store = LocalStore::new(&dir.0);
    generate(&sample(), &mut |key, bytes| {
        store.put(&key, &bytes).unwrap()
    });
    (dir, store)
}

/// The small sample carries every defect kind at least once, a higher share of its few rows
/// than the default 5 % limit allows (as in tests/pipeline.rs).
fn options() -> NightlyOptions<'static> {
    NightlyOptions {
        date: Some(sample().end_date),
        max_reject_rate: 0.25,
        // Two stores are compared byte for byte, signatures included.
        release: envgov_e2e::same_signing_key(),
        ..NightlyOptions::default()
    }
}

const TASK: TaskOptions = TaskOptions {
    max_file_bytes: DEFAULT_MAX_FILE_BYTES,
};

/// Every object under the prefixes, for byte-for-byte comparisons.
fn snapshot(store: &dyn Store, prefixes: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for prefix in prefixes {
        for key in store.list(prefix).unwrap() {
            let bytes = store.get(&key).unwrap().expect("listed");
            out.insert(key, bytes);
        }
    }
    out
}

fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: not the same files"
    );
    for (key, bytes) in a {
        assert!(bytes == &b[key], "{what}: {key} differs");
    }
}

/// The items in an order that is not the plan's (a fixed xorshift shuffle).
fn shuffled(items: &[TaskItem], seed: u64) -> Vec<TaskItem> {
    let mut items = items.to_vec();
    let mut x = seed;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
    items
}

/// Runs the items on `threads` threads, each taking the next item; returns every result.
fn run_tasks(
    store: &dyn Store,
    curated: &Curated,
    items: &[TaskItem],
    threads: usize,
) -> Vec<Result<TaskOutcome, JobError>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(item) = items.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let result = fanout::run_task(store, curated, item, &TASK);
                    results.lock().unwrap().push(result);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

fn fan_out(store: &dyn Store, curated: &Curated, execution: &str) -> (Plan, Vec<TaskOutcome>) {
    let plan = fanout::plan(store, curated, &options(), execution).unwrap();
    let items = shuffled(&plan.items, 2021);
    assert_ne!(
        items, plan.items,
        "the tasks do not run in the plan's order"
    );
    let outcomes = run_tasks(store, curated, &items, 3)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (plan, outcomes)
}

#[test]
fn fan_out_over_partitions_gives_the_files_of_a_single_run() {
    let curated = Curated::load().unwrap();
    let ((_a, single), (_b, fanned)) = (filled("fanout-single"), filled("fanout-fanned"));
    let one = jobs::nightly(&single, &curated, &options()).unwrap();

    let (plan, outcomes) = fan_out(&fanned, &curated, "exec-1");
    // One task per partition other than the registry's: 8 sources on each of the 4 days
    // the sample delivers them, at most (the plan lists only partitions with raw files).
    assert!(
        plan.items.len() > 4 && plan.items.len() <= 8 * 4,
        "{}",
        plan.items.len()
    );
    assert!(
        plan.items
            .iter()
            .all(|i| i.source.as_str() != "enterprises")
    );
    assert!(
        plan.registry.is_some(),
        "the registry is validated by the plan"
    );
    // The distributed map's items: small JSON, and what the plan stored.
    let stored: Vec<TaskItem> = serde_json::from_slice(
        &fanned
            .get(&fanout::items_key(plan.run_date, "exec-1").unwrap())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored, plan.items);
    for item in &plan.items {
        assert!(serde_json::to_vec(item).unwrap().len() < 256);
    }
    // The reduce reads what the tasks stored, as the Lambda reduce does.
    let mut loaded = fanout::load_outcomes(&fanned, &plan).unwrap();
    assert_eq!(loaded.len(), plan.items.len());
    let mut returned = outcomes;
    for list in [&mut loaded, &mut returned] {
        list.sort_by_key(|o| (o.date, o.source));
    }
    assert_eq!(loaded, returned);
    let many = fanout::reduce(&fanned, &curated, &options(), &plan, &loaded).unwrap();

    let derived = ["datasets/", "validated/", "rejects/", "partials/"];
    // What the night saw, for `envgov rebuild`: the same record, byte for byte.
    let inputs = format!("runs/{}/inputs.json", plan.run_date);
    let recorded = fanned
        .get(&inputs)
        .unwrap()
        .expect("the reduce records the inputs");
    assert_eq!(Some(recorded), single.get(&inputs).unwrap());
    assert_same(
        &snapshot(&single, &derived),
        &snapshot(&fanned, &derived),
        "fan-out against one run",
    );
    assert!(!fanned.list("partials/cems/").unwrap().is_empty());
    // Among them the publication manifest (every published file with its sha256).
    let manifests: Vec<String> = fanned
        .list("datasets/publications/")
        .unwrap()
        .into_iter()
        .filter(|k| k.ends_with("/publication-manifest.json"))
        .collect();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    assert!(single.get(&manifests[0]).unwrap().is_some());
    // The same publication, made live as the same release.
    assert_eq!(many.publication, one.publication);
    assert_eq!(many.site_release, one.site_release);
    assert_eq!(
        fanned.get("site/current").unwrap(),
        single.get("site/current").unwrap()
    );
    // The same accounting (the timings and the share of work differ, nothing else).
    assert_eq!(many.sources, one.sources);
    assert_eq!(many.datasets, one.datasets);
    assert_eq!(many.validated_dates, one.validated_dates);
    assert_eq!(many.new_data_dates, one.new_data_dates);
    assert_eq!(many.registry_in_force, one.registry_in_force);
    assert_eq!(many.raw_files, one.raw_files);
    assert_eq!(many.reject_rate, one.reject_rate);
    let (read, accepted, rejected) = many.totals();
    assert_eq!(read, accepted + rejected);
    assert!(rejected > 0, "the sample's defects are rejected");
}

/// Adds to a store filled with [`sample`]: a second registry delivery on 2026-01-30 without
/// one of the units (2.5 % fewer, under the 20 % limit: in force from that day), a third on
/// 2026-01-31 in GBK (rejected whole: held, the second stays in force) and a delivery dated
/// 2099 (held back).
fn deliver_registries_and_a_future_file(store: &dyn Store) {
    let first = store.list("raw/enterprises/").unwrap();
    assert_eq!(
        first.len(),
        1,
        "the sample delivers one registry: {first:?}"
    );
    let text = String::from_utf8(store.get(&first[0]).unwrap().unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 40);
    let fewer = lines[1..].join("\n") + "\n";
    store
        .put(
            "raw/enterprises/2026-01-30/registry.jsonl",
            fewer.as_bytes(),
        )
        .unwrap();
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    store
        .put("raw/enterprises/2026-01-31/registry.jsonl", &gbk)
        .unwrap();
    store
        .put("raw/msw/2099-01-01/x.csv", "统一社会信用代码\n".as_bytes())
        .unwrap();
}

#[test]
fn each_partition_is_validated_against_the_registry_in_force_on_its_date() {
    let curated = Curated::load().unwrap();
    let ((_a, single), (_b, fanned)) = (filled("fanout-reg-single"), filled("fanout-reg-fanned"));
    deliver_registries_and_a_future_file(&single);
    deliver_registries_and_a_future_file(&fanned);
    let one = jobs::nightly(&single, &curated, &options()).unwrap();
    let (plan, outcomes) = fan_out(&fanned, &curated, "exec-1");
    let many = fanout::reduce(&fanned, &curated, &options(), &plan, &outcomes).unwrap();

    // The plan validated the registries in date order: the one of the 30th is in force from
    // that day, the GBK one of the 31st is held, and each item names its date's registry.
    assert_eq!(plan.registry.as_deref(), Some("2026-01-30"));
    for item in &plan.items {
        let expected = if item.date.to_string().as_str() < "2026-01-30" {
            "2026-01-28"
        } else {
            "2026-01-30"
        };
        assert_eq!(item.registry.as_deref(), Some(expected), "{item:?}");
    }
    assert!(
        plan.items
            .iter()
            .all(|i| i.date.to_string() != "2099-01-01")
    );
    assert_eq!(many.registry_held, one.registry_held);
    assert_eq!(many.registry_held.len(), 1);
    assert_eq!(many.held_back, one.held_back);
    assert_eq!(many.held_back.len(), 1);
    assert_eq!(many.registry_in_force, one.registry_in_force);
    assert_eq!(many.sources, one.sources);
    let derived = ["datasets/", "validated/", "rejects/", "partials/"];
    // What the night saw, for `envgov rebuild`: the same record, byte for byte.
    let inputs = format!("runs/{}/inputs.json", plan.run_date);
    let recorded = fanned
        .get(&inputs)
        .unwrap()
        .expect("the reduce records the inputs");
    assert_eq!(Some(recorded), single.get(&inputs).unwrap());
    assert_same(
        &snapshot(&single, &derived),
        &snapshot(&fanned, &derived),
        "fan-out against one run, with registries and a future delivery",
    );
    assert_eq!(many.site_release, one.site_release);
}

#[test]
fn a_task_run_twice_changes_nothing() {
    let curated = Curated::load().unwrap();
    let (_dir, store) = filled("fanout-twice");
    let (plan, first) = fan_out(&store, &curated, "exec-1");
    let kept = [
        "validated/",
        "rejects/",
        "partials/",
        "runs/raw-ledger.json",
    ];
    let before = snapshot(&store, &kept);
    // Every task again, all at once this time.
    let again: Vec<TaskOutcome> = run_tasks(&store, &curated, &plan.items, 4)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_same(
        &before,
        &snapshot(&store, &kept),
        "a second run of the tasks",
    );
    assert!(first.iter().all(|o| o.validated));
    // The online-monitoring days' partial aggregates were computed by their tasks.
    let cems = |o: &&TaskOutcome| o.source.as_str() == "cems";
    assert!(first.iter().filter(cems).count() > 1);
    assert!(first.iter().filter(cems).all(|o| o.partial_computed));
    for o in &again {
        assert!(!o.validated, "{} {} was reused", o.source, o.date);
        assert!(!o.partial_computed);
        assert_eq!(o.raw_files.new, 0);
        let earlier = first
            .iter()
            .find(|f| (f.source, f.date) == (o.source, o.date))
            .unwrap();
        assert_eq!(o.partition_sha256, earlier.partition_sha256);
        assert_eq!((o.read, o.rejected), (earlier.read, earlier.rejected));
    }
}

#[test]
fn a_night_with_a_failed_task_publishes_nothing() {
    let curated = Curated::load().unwrap();
    let (_dir, local) = filled("fanout-failed");
    let plan = fanout::plan(&local, &curated, &options(), "exec-1").unwrap();
    let victim = plan.items.last().unwrap().clone();
    // The store refuses to write that partition's validated data (S3 failing for it).
    let failing = Failing {
        inner: &local,
        prefix: format!("validated/{}/date={}/", victim.source, victim.date),
    };
    let results = run_tasks(&failing, &curated, &plan.items, 2);
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 1, "only the victim's task fails");
    let outcomes: Vec<TaskOutcome> = results.into_iter().filter_map(Result::ok).collect();
    assert_eq!(
        fanout::load_outcomes(&local, &plan).unwrap().len(),
        plan.items.len() - 1
    );
    let refused = fanout::reduce(&local, &curated, &options(), &plan, &outcomes).unwrap_err();
    match &refused {
        JobError::TasksIncomplete {
            planned, missing, ..
        } => assert_eq!((*planned, *missing), (plan.items.len(), 1)),
        other => panic!("expected TasksIncomplete, got {other}"),
    }
    let message = refused.to_string();
    assert!(message.contains(victim.source.as_str()), "{message}");
    assert!(message.contains("nothing was published"), "{message}");
    assert!(local.list("datasets/").unwrap().is_empty(), "no dataset");
    assert!(local.list("site/").unwrap().is_empty(), "no release");
    let report = envgov_dataset::layout::run_report_key(&plan.run_date.to_string()).unwrap();
    assert_eq!(local.get(&report).unwrap(), None, "no run report");

    // The failed task run again (storage working) completes the night.
    let retried = fanout::run_task(&local, &curated, &victim, &TASK).unwrap();
    let mut all = outcomes;
    all.push(retried);
    let report = fanout::reduce(&local, &curated, &options(), &plan, &all).unwrap();
    assert!(report.site_release.is_some());
}

/// A single night writes each partition on writer threads while it validates the next
/// (`partition::with_writer`): a write failing there stops the night with that write's
/// error, naming the key, and nothing is published.
#[test]
fn a_single_night_whose_partition_write_fails_stops_with_that_error() {
    let curated = Curated::load().unwrap();
    let (_dir, local) = filled("night-write-fails");
    let failing = Failing {
        inner: &local,
        prefix: "validated/cems/".into(),
    };
    let error = jobs::nightly(&failing, &curated, &options()).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, JobError::Store(StoreError::S3 { .. })),
        "{message}"
    );
    assert!(message.contains("validated/cems/date="), "{message}");
    assert!(message.contains("503 SlowDown"), "{message}");
    assert!(local.list("validated/cems/").unwrap().is_empty());
    assert!(local.list("datasets/").unwrap().is_empty(), "no dataset");
    assert!(local.list("site/").unwrap().is_empty(), "no release");
    let report = envgov_dataset::layout::run_report_key(&sample().end_date.to_string()).unwrap();
    assert_eq!(local.get(&report).unwrap(), None, "no run report");
}

/// A store whose writes under one prefix fail as S3 would.
struct Failing<'a> {
    inner: &'a LocalStore,
    prefix: String,
}

impl Failing<'_> {
    fn check(&self, key: &str) -> Result<(), StoreError> {
        if key.starts_with(&self.prefix) {
            return Err(StoreError::S3 {
                key: key.into(),
                op: "PutObject",
                retryable: true,
                message: "503 SlowDown (injected by the test)".into(),
            });
        }
        Ok(())
    }
}

impl Store for Failing<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.check(key)?;
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn describe(&self) -> String {
        format!("{} (failing under {})", self.inner.describe(), self.prefix)
    }
    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        self.check(key)?;
        self.inner.put_with_hash(key, bytes, sha256_hex)
    }
    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.stored_hash(key)
    }
    fn list_meta(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list_meta(prefix)
    }
    fn open(&self, key: &str) -> Result<Option<ObjectReader<'_>>, StoreError> {
        self.inner.open(key)
    }
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.inner.get_versioned(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        self.check(key)?;
        self.inner.put_if_absent(key, bytes)
    }
    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        self.check(key)?;
        self.inner.put_if_match(key, bytes, version)
    }
}

/// The equivalence at a larger size, timed (not part of the test command; debug builds
/// time nothing useful, so read the timings of a release run):
/// `ENVGOV_FANOUT_UNITS=300 ENVGOV_FANOUT_DAYS=31 cargo nextest run -p envgov-e2e --test
/// fanout --run-ignored only`.
#[test]
#[ignore = "minutes: a sample of ENVGOV_FANOUT_UNITS x ENVGOV_FANOUT_DAYS (300 x 31)"]
fn fan_out_at_scale_gives_the_files_of_a_single_run() {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let config = SampleConfig {
        units: var("ENVGOV_FANOUT_UNITS", 300) as usize,
        days: var("ENVGOV_FANOUT_DAYS", 31) as u32,
        ..SampleConfig::default()
    };
    let options = || NightlyOptions {
        date: Some(config.end_date),
        max_reject_rate: 1.0,
        release: envgov_e2e::same_signing_key(),
        ..NightlyOptions::default()
    };
    let curated = Curated::load().unwrap();
    let (a, b) = (
        TempDir::new("fanout-scale-a"),
        TempDir::new("fanout-scale-b"),
    );
    let (single, fanned) = (LocalStore::new(&a.0), LocalStore::new(&b.0));
    generate(&config, &mut |key, bytes| {
        single.put(&key, &bytes).unwrap();
        fanned.put(&key, &bytes).unwrap();
    });
    let t = std::time::Instant::now();
    let one = jobs::nightly(&single, &curated, &options()).unwrap();
    let single_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let plan = fanout::plan(&fanned, &curated, &options(), "scale").unwrap();
    let plan_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let outcomes: Vec<TaskOutcome> = run_tasks(&fanned, &curated, &plan.items, 2)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let tasks_s = t.elapsed().as_secs_f64();
    let slowest = outcomes.iter().map(|o| o.seconds).fold(0.0, f64::max);
    let t = std::time::Instant::now();
    let many = fanout::reduce(&fanned, &curated, &options(), &plan, &outcomes).unwrap();
    let reduce_s = t.elapsed().as_secs_f64();
    eprintln!(
        "{} units x {} days: single {single_s:.1} s; fan-out plan {plan_s:.1} s, {} tasks on 2 threads {tasks_s:.1} s (slowest {slowest:.1} s), reduce {reduce_s:.1} s",
        config.units,
        config.days,
        plan.items.len()
    );
    let derived = ["datasets/", "validated/", "rejects/", "partials/"];
    // What the night saw, for `envgov rebuild`: the same record, byte for byte.
    let inputs = format!("runs/{}/inputs.json", plan.run_date);
    let recorded = fanned
        .get(&inputs)
        .unwrap()
        .expect("the reduce records the inputs");
    assert_eq!(Some(recorded), single.get(&inputs).unwrap());
    assert_same(
        &snapshot(&single, &derived),
        &snapshot(&fanned, &derived),
        "fan-out against one run, at scale",
    );
    assert_eq!(many.site_release, one.site_release);
    assert_eq!(many.sources, one.sources);
}

/// A correction delivered after a night: the fanned-out night applies it as a single night
/// does (the same report of revisions, the same changelogs, the same register with the
/// withdrawn records kept).
#[test]
fn a_fanned_out_night_applies_a_correction_as_a_single_night_does() {
    let curated = Curated::load().unwrap();
    let ((_a, single), (_b, fanned)) = (filled("fanout-fix-single"), filled("fanout-fix-fanned"));
    let end = sample().end_date;
    let before = NightlyOptions {
        date: end.pred_opt(),
        ..options()
    };
    let day = end.pred_opt().unwrap().pred_opt().unwrap().to_string();
    for store in [&single, &fanned] {
        jobs::nightly(store, &curated, &before).unwrap();
        // The whole first online-monitoring file of the day before is withdrawn.
        let cems = store
            .list(&format!("raw/cems/{day}/"))
            .unwrap()
            .into_iter()
            .next()
            .unwrap();
        store
            .put(&cems.replace(".hj212", ".r2.hj212"), b"")
            .unwrap();
    }
    let one = jobs::nightly(&single, &curated, &options()).unwrap();
    let (plan, outcomes) = fan_out(&fanned, &curated, "exec-fix");
    let many = fanout::reduce(&fanned, &curated, &options(), &plan, &outcomes).unwrap();
    assert_eq!(many.revisions, one.revisions);
    assert_eq!(one.revisions.new_tonight.len(), 1);
    let changes = |s: &dyn Store| {
        snapshot(
            s,
            &["datasets/cems-daily/changes/", "datasets/exceedances/"],
        )
    };
    let single_changes = changes(&single);
    assert!(single_changes.keys().any(|k| k.contains("/changes/")));
    assert_same(
        &single_changes,
        &changes(&fanned),
        "changelogs and registers",
    );
}

/// A revision that fails validation as a whole (`data/raw-formats.md`, "Corrections") is
/// held by the fanned-out night as by a single night: the same report (held, nothing
/// applied, nothing new), no changelog, the same registers.
#[test]
fn a_fanned_out_night_holds_a_revision_that_fails_as_a_whole_as_a_single_night_does() {
    let curated = Curated::load().unwrap();
    let ((_a, single), (_b, fanned)) = (filled("fanout-held-single"), filled("fanout-held-fanned"));
    let end = sample().end_date;
    let before = NightlyOptions {
        date: end.pred_opt(),
        ..options()
    };
    let day = end.pred_opt().unwrap().pred_opt().unwrap().to_string();
    let mut revision = String::new();
    for store in [&single, &fanned] {
        jobs::nightly(store, &curated, &before).unwrap();
        // The first online-monitoring file of the day before gets an undecodable revision.
        let cems = store
            .list(&format!("raw/cems/{day}/"))
            .unwrap()
            .into_iter()
            .next()
            .unwrap();
        revision = cems.replace(".hj212", ".r2.hj212");
        store.put(&revision, b"\xff\xfe\xff\n").unwrap();
    }
    let one = jobs::nightly(&single, &curated, &options()).unwrap();
    let (plan, outcomes) = fan_out(&fanned, &curated, "exec-held");
    let many = fanout::reduce(&fanned, &curated, &options(), &plan, &outcomes).unwrap();
    assert_eq!(many.revisions, one.revisions);
    assert!(one.revisions.applied.is_empty() && one.revisions.new_tonight.is_empty());
    let held: Vec<&str> = one.revisions.held.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(held, vec![revision.as_str()]);
    let changes = |s: &dyn Store| {
        snapshot(
            s,
            &["datasets/cems-daily/changes/", "datasets/exceedances/"],
        )
    };
    let single_changes = changes(&single);
    assert!(!single_changes.keys().any(|k| k.contains("/changes/")));
    assert_same(&single_changes, &changes(&fanned), "registers");
}
