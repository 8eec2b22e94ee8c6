//! Stored partial aggregates (issue 9, incremental nights): a night reuses the partial of
//! every online-monitoring partition whose inputs are unchanged, recomputes exactly those
//! whose partition or limits changed, and publishes the same bytes as a night from scratch.

use envgov_curated::Curated;
use envgov_dataset::Source;
use envgov_dataset::report::RunReport;
use envgov_e2e::TempDir;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::partials;
use envgov_pipeline::publication::Publication;
use envgov_pipeline::store::{LocalStore, Store};
use envgov_sample_data::{DefectRates, SampleConfig, generate};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn sample(end: &str, defects: bool) -> SampleConfig {
    SampleConfig {
        units: 40,
        days: 3,
        end_date: date(end),
        defects: if defects {
            DefectRates::default()
        } else {
            DefectRates::none()
        },
        ..SampleConfig::default()
    }
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn filled(dir: &TempDir, config: &SampleConfig) -> LocalStore {
    let store = LocalStore::new(&dir.0);
    generate(config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    store
}

fn nightly(store: &dyn Store) -> RunReport {
    jobs::nightly(
        store,
        &Curated::load().unwrap(),
        &NightlyOptions {
            max_reject_rate: 0.25,
            render_site: false,
            ..NightlyOptions::default()
        },
    )
    .unwrap()
}

/// The dates with a validated online-monitoring partition.
fn cems_days(store: &dyn Store) -> Vec<String> {
    store
        .list("validated/cems/")
        .unwrap()
        .iter()
        .filter(|k| k.ends_with("/part.parquet"))
        .map(|k| k["validated/cems/date=".len()..][..10].to_string())
        .collect()
}

/// Every file under `partials/` and its inode. The local store writes a temporary file
/// and renames it over the key, so a rewritten file has a new inode even when its bytes
/// are the same: an unchanged inode proves the file was not written.
fn partial_files(root: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.join("partials")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                dirs.push(e.path());
            } else {
                let key = e.path().strip_prefix(root).unwrap().display().to_string();
                out.insert(key, meta.ino());
            }
        }
    }
    out
}

/// The dates whose partial files were written between two listings.
fn rewritten_days(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<String> {
    let mut days: Vec<String> = after
        .iter()
        .filter(|(k, ino)| before.get(*k) != Some(ino))
        .map(|(k, _)| k["partials/cems/date=".len()..][..10].to_string())
        .collect();
    days.dedup();
    days
}

/// A publication's files: path → sha256 (the archive keys they are stored under differ
/// between stores that published different revisions; the bytes must not).
fn published(store: &dyn Store) -> BTreeMap<String, String> {
    Publication::staged(store)
        .unwrap()
        .manifest
        .files
        .into_iter()
        .map(|(path, f)| (path, f.sha256))
        .collect()
}

#[test]
fn a_second_night_without_new_data_recomputes_no_partial() {
    let dir = TempDir::new("partials-again");
    let store = filled(&dir, &sample("2026-01-31", false));
    nightly(&store);
    let days = cems_days(&store);
    assert_eq!(days, ["2026-01-29", "2026-01-30", "2026-01-31"]);
    let first = partial_files(&dir.0);
    // Five files for each day: daily rows, exceedances, manifest, and the day's CSV member
    // of cems-hourly with its manifest (hourly.csv.gz, hourly.json).
    assert_eq!(first.len(), 5 * days.len(), "{first:?}");

    nightly(&store);
    assert_eq!(
        partial_files(&dir.0),
        first,
        "the second night wrote partials"
    );
    let curated = Curated::load().unwrap();
    for d in &days {
        assert!(!partials::ensure(&store, &curated, Source::Cems, date(d)).unwrap());
    }
    // Sources without partials, and days without a partition, compute nothing.
    assert!(!partials::ensure(&store, &curated, Source::Msw, date("2026-01-31")).unwrap());
    assert!(!partials::ensure(&store, &curated, Source::Cems, date("2026-01-01")).unwrap());
    assert_eq!(partial_files(&dir.0), first);
}

#[test]
fn a_changed_partition_recomputes_its_own_day_only_and_publishes_as_from_scratch() {
    let dir = TempDir::new("partials-changed");
    let config = sample("2026-01-31", true);
    let store = filled(&dir, &config);
    nightly(&store);
    let before = partial_files(&dir.0);

    // Day two loses one device's delivery: its partition changes, the others do not.
    let raw = store.list("raw/cems/2026-01-30/").unwrap();
    assert!(raw.len() > 1, "{raw:?}");
    store.delete(&raw[0]).unwrap();
    let report = nightly(&store);
    assert!(
        report.validated_dates.contains(&"2026-01-30".to_string()),
        "{:?}",
        report.validated_dates
    );
    assert_eq!(
        rewritten_days(&before, &partial_files(&dir.0)),
        ["2026-01-30"]
    );

    // A store that sees the same raw files for the first time publishes the same bytes.
    let fresh_dir = TempDir::new("partials-changed-fresh");
    let fresh = filled(&fresh_dir, &config);
    fresh.delete(&raw[0]).unwrap();
    nightly(&fresh);
    assert_eq!(published(&store), published(&fresh));
}

#[test]
fn new_limits_for_one_month_recompute_that_months_partials_only() {
    let dir = TempDir::new("partials-limits");
    let store = filled(&dir, &sample("2026-04-01", false));
    nightly(&store);
    let days = cems_days(&store);
    assert_eq!(days, ["2026-03-30", "2026-03-31", "2026-04-01"]);

    // A new winter limit (1 December to 31 March) for NH3-N: March's limits change, April's
    // do not.
    let curated = Curated::load().unwrap();
    let mut winter = curated.clone();
    let limit = winter
        .standards
        .list
        .iter_mut()
        .flat_map(|s| s.limits.iter_mut())
        .find(|l| l.winter.is_some())
        .expect("a limit with a winter value");
    limit.winter = limit.winter.map(|w| w + 0.5);
    let computed = |c: &Curated| -> Vec<bool> {
        days.iter()
            .map(|d| partials::ensure(&store, c, Source::Cems, date(d)).unwrap())
            .collect()
    };
    assert_eq!(computed(&winter), [true, true, false]);
    assert_eq!(computed(&winter), [false, false, false]);
    // Back to the limits in force: March again, and the night then reuses everything.
    assert_eq!(computed(&curated), [true, true, false]);
    let before = partial_files(&dir.0);
    nightly(&store);
    assert_eq!(partial_files(&dir.0), before);
}

#[test]
fn datasets_from_stored_partials_are_byte_identical_to_datasets_from_scratch() {
    let config = sample("2026-01-31", true);
    let (a, b) = (
        TempDir::new("partials-scratch"),
        TempDir::new("partials-fanout"),
    );
    let (scratch, fanout) = (filled(&a, &config), filled(&b, &config));
    // From scratch: the first night computes every partial and aggregates what it computed.
    nightly(&scratch);

    // Fan-out: partials computed by `ensure` (one call per partition, as a fan-out task
    // does), then a night that only reads them back.
    nightly(&fanout);
    for key in fanout.list("partials/").unwrap() {
        fanout.delete(&key).unwrap();
    }
    let curated = Curated::load().unwrap();
    for d in cems_days(&fanout) {
        assert!(partials::ensure(&fanout, &curated, Source::Cems, date(&d)).unwrap());
    }
    let ensured = partial_files(&b.0);
    nightly(&fanout);
    assert_eq!(
        partial_files(&b.0),
        ensured,
        "the night recomputed a partial"
    );
    let (from_scratch, from_partials) = (published(&scratch), published(&fanout));
    assert!(from_scratch.contains_key("cems-daily/cems-daily-2026-01.csv"));
    assert_eq!(from_scratch, from_partials);
}
