//! Evidence end to end: a night rebuilt from the raw archive equals its dated archive byte
//! for byte (`envgov rebuild`), and the per-unit evidence bundle.

use envgov_curated::Curated;
use envgov_e2e::TempDir;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::ledger::sha256_hex;
use envgov_pipeline::rebuild::{self, RebuildError, RebuildOptions, Verdict};
use envgov_pipeline::store::{LocalStore, Store};
use envgov_sample_data::{SampleConfig, generate};
use std::collections::BTreeMap;

/// The two nights rebuilt: across a month's end, so that the hourly dataset (a file a month,
/// only the changed months rewritten) lists on D2 a month written on D1.
const D1: &str = "2026-01-31";
const D2: &str = "2026-02-01";

fn curated() -> Curated {
    Curated::load().unwrap()
}

fn night(store: &dyn Store, curated: &Curated, date: &str) {
    let opts = NightlyOptions {
        date: Some(date.parse().unwrap()),
        max_reject_rate: 1.0,
        render_site: false,
        ..NightlyOptions::default()
    };
    jobs::nightly(store, curated, &opts).expect("nightly");
}

/// Every object of a store with its bytes.
fn snapshot(store: &dyn Store, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    store
        .list(prefix)
        .unwrap()
        .into_iter()
        .map(|k| {
            let b = store.get(&k).unwrap().unwrap();
            (k, b)
        })
        .collect()
}

/// What the night of `date` published of every dataset, `{id}/{file}` → bytes: the files of
/// its first archive of the date (not its revision subfolders), and the data files its
/// publication (named by the night's report) lists from earlier archives.
fn night_files(store: &dyn Store, curated: &Curated, date: &str) -> BTreeMap<String, Vec<u8>> {
    let json = |key: &str| -> serde_json::Value {
        serde_json::from_slice(&store.get(key).unwrap().unwrap()).unwrap()
    };
    let report = json(&format!("runs/{date}/report.json"));
    let publication = report["publication"].as_str().unwrap();
    let manifest = json(&format!(
        "datasets/publications/{publication}/publication-manifest.json"
    ));
    let mut out = BTreeMap::new();
    for def in &curated.datasets.dataset {
        let prefix = format!("datasets/{}/archive/{date}/", def.id);
        for (k, b) in snapshot(store, &prefix) {
            if !k[prefix.len()..].contains('/') {
                out.insert(format!("{}/{}", def.id, &k[prefix.len()..]), b);
            }
        }
        for (path, file) in manifest["files"].as_object().unwrap() {
            let Some(name) = path.strip_prefix(&format!("{}/", def.id)) else {
                continue;
            };
            if name.contains('/') || name == "datapackage.json" {
                continue;
            }
            let key = file["key"].as_str().unwrap();
            out.entry(path.clone())
                .or_insert_with(|| store.get(key).unwrap().unwrap());
        }
    }
    out
}

/// A store with two published nights: a small sample, night D1, then a late delivery dated
/// D1 (a file held out of D1's night and delivered after it), then night D2. Returns the
/// late file's key.
fn two_nights(store: &dyn Store, curated: &Curated) -> String {
    let config = SampleConfig {
        units: 12,
        days: 3,
        end_date: D2.parse().unwrap(),
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    // A source that delivered several files on D1: one of them arrives late.
    let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in store.list("raw/").unwrap() {
        if key.split('/').nth(2) == Some(D1) {
            let source = key.split('/').nth(1).unwrap().to_string();
            by_source.entry(source).or_default().push(key);
        }
    }
    let late = by_source
        .values()
        .find(|keys| keys.len() >= 2)
        .map(|keys| keys[keys.len() - 1].clone())
        .expect("a source with several D1 deliveries");
    let late_bytes = store.get(&late).unwrap().unwrap();
    store.delete(&late).unwrap();
    night(store, curated, D1);
    store.put(&late, &late_bytes).unwrap();
    // A correction of a D1 self-monitoring file, delivered after D1's night: its last line
    // withdrawn (revision 2 replaces the file whole from the night that first sees it).
    let original = store
        .list(&format!("raw/self-monitoring/{D1}/"))
        .unwrap()
        .into_iter()
        .find(|k| k.ends_with(".csv"))
        .expect("a self-monitoring file on D1");
    let bytes = store.get(&original).unwrap().unwrap();
    let body = &bytes[..bytes.len() - 1];
    let cut = body.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    store
        .put(&original.replace(".csv", ".r2.csv"), &bytes[..cut])
        .unwrap();
    night(store, curated, D2);
    late
}

#[test]
fn a_rebuilt_night_equals_its_dated_archive_byte_for_byte_for_two_dates() {
    let curated = curated();
    let dir = TempDir::new("rebuild-source");
    let source = LocalStore::new(&dir.0);
    let late = two_nights(&source, &curated);
    let before = snapshot(&source, "");

    for date in [D1, D2] {
        let out_dir = TempDir::new(&format!("rebuild-out-{date}"));
        let out = LocalStore::new(out_dir.0.join("store"));
        let report = rebuild::rebuild(
            &source,
            &out,
            &curated,
            &RebuildOptions::new(date.parse().unwrap()),
        )
        .expect("rebuild");
        let differing: Vec<_> = report.differences().collect();
        assert!(differing.is_empty(), "{date}: {differing:#?}");
        assert!(report.identical());
        assert_eq!(report.archives.len(), curated.datasets.dataset.len());
        // D1's night did not see the late file nor the correction (first seen on D2's
        // night): left out.
        assert_eq!(report.raw_first_seen_later, 2 * usize::from(date == D1));
        // The correction is in force from D2's night only.
        assert_eq!(report.revisions_in_force.len(), usize::from(date == D2));
        assert_eq!(
            report.registry_in_force,
            report.registry_in_force_that_night
        );

        // The test's own comparison: every file the night published, byte for byte, and no
        // other.
        let archived = night_files(&source, &curated, date);
        let rebuilt = night_files(&out, &curated, date);
        assert!(!archived.is_empty());
        assert_eq!(
            archived.keys().collect::<Vec<_>>(),
            rebuilt.keys().collect::<Vec<_>>()
        );
        for (key, bytes) in &archived {
            assert!(rebuilt[key] == *bytes, "{date}: {key} differs");
        }
        // Every dataset was compared.
        for def in &curated.datasets.dataset {
            let folder = format!("{}/", def.id);
            assert!(archived.keys().any(|k| k.starts_with(&folder)), "{folder}");
        }
        // D2's night published January's hourly readings from D1's archive, and February's.
        if date == D2 {
            for month in ["2026-01", "2026-02"] {
                let name = format!("cems-hourly/cems-hourly-{month}.parquet");
                assert!(archived.contains_key(&name), "{name}");
            }
        }
        // Nothing was written to the source; no raw file was copied to the output.
        assert_eq!(snapshot(&source, ""), before);
        assert!(out.list("raw/").unwrap().is_empty());
    }
    // The late file is in D2's data but not D1's: D1's archive is not D2's inputs cut at D1.
    assert!(source.get(&late).unwrap().is_some());
}

#[test]
fn a_month_of_hourly_readings_archived_on_an_earlier_night_is_compared_where_it_was_written() {
    // Two ordinary nights across a month's end: D2 rewrites only February's hourly files and
    // lists January's from D1's archive.
    let curated = curated();
    let dir = TempDir::new("rebuild-months");
    let source = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 12,
        days: 3,
        end_date: D2.parse().unwrap(),
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| source.put(&key, &bytes).unwrap());
    night(&source, &curated, D1);
    night(&source, &curated, D2);
    let out_dir = TempDir::new("rebuild-months-out");
    let out = LocalStore::new(&out_dir.0);
    let report = rebuild::rebuild(
        &source,
        &out,
        &curated,
        &RebuildOptions::new(D2.parse().unwrap()),
    )
    .expect("rebuild");
    let differing: Vec<_> = report.differences().collect();
    assert!(differing.is_empty(), "{differing:#?}");
    let file = |name: &str| {
        report
            .files
            .iter()
            .find(|f| f.dataset == "cems-hourly" && f.file == name)
            .unwrap_or_else(|| panic!("{name} compared"))
    };
    let january = file("cems-hourly-2026-01.parquet");
    assert_eq!(january.verdict, Verdict::Identical);
    assert_eq!(
        january.archive_key.as_deref(),
        Some("datasets/cems-hourly/archive/2026-01-31/cems-hourly-2026-01.parquet")
    );
    assert_eq!(
        january.rebuilt_key.as_deref(),
        Some("datasets/cems-hourly/archive/2026-02-01/cems-hourly-2026-01.parquet")
    );
    // D2's archived package lists February only; the rebuilt one both months.
    assert_eq!(
        file("datapackage.json").verdict,
        Verdict::IdenticalForItsMonths
    );
}

#[test]
fn a_night_run_after_a_later_one_rebuilds_from_the_files_it_recorded() {
    // D2's night first (the ledger first sees every file in the run of D2), then D1's:
    // D1's night saw files the ledger dates to D2's run; its record says so.
    let curated = curated();
    let dir = TempDir::new("rebuild-order");
    let source = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 12,
        days: 3,
        end_date: D2.parse().unwrap(),
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| source.put(&key, &bytes).unwrap());
    night(&source, &curated, D2);
    night(&source, &curated, D1);
    for date in [D1, D2] {
        let out_dir = TempDir::new(&format!("rebuild-order-out-{date}"));
        let out = LocalStore::new(&out_dir.0);
        let report = rebuild::rebuild(
            &source,
            &out,
            &curated,
            &RebuildOptions::new(date.parse().unwrap()),
        )
        .expect("rebuild");
        let differing: Vec<_> = report.differences().collect();
        assert!(differing.is_empty(), "{date}: {differing:#?}");
        assert!(report.inputs_recorded && report.raw_missing.is_empty());
        assert!(report.raw_files > 0);
    }
}

#[test]
fn a_rebuild_names_the_archived_file_that_differs_with_both_hashes() {
    let curated = curated();
    let dir = TempDir::new("rebuild-tampered");
    let source = LocalStore::new(&dir.0);
    two_nights(&source, &curated);
    let victim = format!("datasets/enterprises/archive/{D1}/enterprises.csv");
    let original = source.get(&victim).unwrap().unwrap();
    let mut tampered = original.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    source.put(&victim, &tampered).unwrap();

    let out_dir = TempDir::new("rebuild-tampered-out");
    let out = LocalStore::new(&out_dir.0);
    let report = rebuild::rebuild(
        &source,
        &out,
        &curated,
        &RebuildOptions::new(D1.parse().unwrap()),
    )
    .expect("rebuild");
    assert!(!report.identical());
    let differing: Vec<_> = report.differences().collect();
    assert_eq!(differing.len(), 1, "{differing:#?}");
    let d = differing[0];
    assert_eq!(
        (d.dataset.as_str(), d.file.as_str(), d.verdict),
        ("enterprises", "enterprises.csv", Verdict::Differs)
    );
    assert_eq!(d.archive_key.as_deref(), Some(victim.as_str()));
    assert_eq!(d.expected_sha256, Some(sha256_hex(&tampered)));
    assert_eq!(d.actual_sha256, Some(sha256_hex(&original)));

    // Into a folder that is not empty: refused, nothing written.
    let again = rebuild::rebuild(
        &source,
        &out,
        &curated,
        &RebuildOptions::new(D1.parse().unwrap()),
    );
    assert!(matches!(again, Err(RebuildError::OutputNotEmpty(_))));
    // A date that was never published: refused.
    let empty = TempDir::new("rebuild-none-out");
    let none = rebuild::rebuild(
        &source,
        &LocalStore::new(&empty.0),
        &curated,
        &RebuildOptions::new("2026-01-30".parse().unwrap()),
    );
    assert!(
        matches!(none, Err(RebuildError::NoArchive { .. })),
        "{none:?}"
    );
}

/// A night without a site (`--no-site`) still signs what it published: its publication's
/// `manifest.json` (every file with its sha256 and size, the archives it lists) and
/// `manifest.json.minisig`, which verify with the store's key against the stored files.
#[test]
fn a_night_without_a_site_signs_its_publication() {
    use envgov_pipeline::signing::SecretKey;
    use envgov_pipeline::verify::{FoundFile, Scope, verify};
    let curated = curated();
    let dir = TempDir::new("signed-publication");
    let store = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 6,
        days: 1,
        end_date: D1.parse().unwrap(),
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    night(&store, &curated, D1);
    assert!(store.list("site/").unwrap().is_empty(), "no site rendered");
    let publication =
        envgov_pipeline::publication::Publication::staged(&store).expect("a publication");
    let (manifest_key, signature_key) =
        envgov_pipeline::release::signed::publication_keys(publication.id()).unwrap();
    let manifest = store.get(&manifest_key).unwrap().expect("manifest.json");
    let signature =
        String::from_utf8(store.get(&signature_key).unwrap().expect("its .minisig")).unwrap();
    let key = store
        .get(envgov_dataset::layout::DEVELOPMENT_SIGNING_KEY)
        .unwrap()
        .expect("the store's development key");
    let public = SecretKey::parse(&String::from_utf8(key).unwrap())
        .unwrap()
        .public();
    let found: Vec<FoundFile> = publication
        .manifest
        .files
        .iter()
        .map(|(path, file)| {
            let bytes = store.get(&file.key).unwrap().unwrap();
            FoundFile {
                path: path.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            }
        })
        .collect();
    let outcome = verify(&manifest, Some(&signature), &public, &Scope::Whole, &found);
    assert!(outcome.ok(), "{:?}", outcome.problems);
    assert!(outcome.development_key());
    let signed = outcome.manifest.unwrap();
    assert_eq!(signed.data_date, D1);
    assert!(
        signed
            .archives
            .keys()
            .any(|k| k.starts_with(&format!("datasets/exceedances/archive/{D1}/"))),
        "{:?}",
        signed.archives.keys().collect::<Vec<_>>()
    );
    // One changed file is named.
    let mut changed = found.clone();
    changed[0].sha256 = sha256_hex(b"other bytes");
    let outcome = verify(
        &manifest,
        Some(&signature),
        &public,
        &Scope::Whole,
        &changed,
    );
    assert!(!outcome.ok());
    assert!(
        outcome
            .problems
            .iter()
            .any(|p| p.to_string().contains(&changed[0].path)),
        "{:?}",
        outcome.problems
    );
    // The same night again writes nothing new: the same bytes.
    night(&store, &curated, D1);
    assert_eq!(store.get(&manifest_key).unwrap().unwrap(), manifest);
}
