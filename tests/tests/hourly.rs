//! End-to-end: the hourly readings dataset `cems-hourly` (issue 10). Every accepted hourly
//! value is published, a file a month, with the raw file and line it came from and the raw
//! file's sha256; the cited line is the packet; only the months that changed are written.

use envgov_dataset::manifest::DataPackage;
use envgov_e2e::{TempDir, read_csv};
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::publication::Publication;
use envgov_pipeline::store::{LocalStore, Store};
use envgov_sample_data::{DefectRates, SampleConfig, generate};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn config(days: u32, end: &str) -> SampleConfig {
    SampleConfig {
        units: 12,
        days,
        end_date: chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap(),
        defects: DefectRates::none(),
        ..SampleConfig::default()
    }
}

fn nightly(store: &dyn Store) {
    let curated = envgov_curated::Curated::load().unwrap();
    jobs::nightly(store, &curated, &NightlyOptions::default()).unwrap();
}

fn package(store: &dyn Store, publication: &Publication) -> DataPackage {
    serde_json::from_slice(
        &publication
            .read(store, "cems-hourly/datapackage.json")
            .unwrap(),
    )
    .unwrap()
}

/// The keys under the dataset's archives and month states, with their bytes' sha256.
fn hourly_objects(store: &dyn Store) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for prefix in [
        "datasets/cems-hourly/archive/",
        "datasets/cems-hourly/months/",
    ] {
        for key in store.list(prefix).unwrap() {
            let bytes = store.get(&key).unwrap().unwrap();
            out.insert(key, sha256(&bytes));
        }
    }
    out
}

#[test]
fn every_accepted_hourly_value_is_published_with_the_line_and_hash_of_its_raw_file() {
    let dir = TempDir::new("hourly-provenance");
    let store = LocalStore::new(&dir.0);
    generate(&config(3, "2026-01-31"), &mut |k, b| {
        store.put(&k, &b).unwrap()
    });
    nightly(&store);
    let publication = Publication::staged(&store).unwrap();
    let package = package(&store, &publication);
    let names: Vec<&str> = package.resources.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        names,
        ["cems-hourly-2026-01.csv.gz", "cems-hourly-2026-01.parquet"]
    );

    // The hourly values of the raw packet archives, counted from the raw bytes: one per
    // measurement of each CN=2061 packet (a clean sample: every packet is accepted).
    let mut expected = 0;
    for key in store.list("raw/cems/").unwrap() {
        let raw = store.get(&key).unwrap().unwrap();
        for line in raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let packet = envgov_hj212::parse(line).unwrap();
            if packet.cn == "2061" {
                expected += packet.measurements.len();
            }
        }
    }

    let csv = &package.resources[0];
    assert_eq!(
        (csv.format.as_str(), csv.compression.as_deref()),
        ("csv", Some("gz"))
    );
    let gz = publication
        .read(&store, "cems-hourly/cems-hourly-2026-01.csv.gz")
        .unwrap();
    assert_eq!(csv.hash, format!("sha256:{}", sha256(&gz)));
    assert_eq!(csv.bytes, gz.len() as u64);
    let manifest = &publication.manifest.files["cems-hourly/cems-hourly-2026-01.csv.gz"];
    assert_eq!(manifest.sha256, sha256(&gz));
    assert!(
        manifest
            .key
            .starts_with("datasets/cems-hourly/archive/2026-01-31/")
    );
    let mut text = Vec::new();
    // The header's gzip member, then one a day (RFC 1952 members, read as one stream).
    flate2::read::MultiGzDecoder::new(gz.as_slice())
        .read_to_end(&mut text)
        .unwrap();
    let rows = read_csv(&text);
    assert_eq!(rows.len(), expected);
    assert_eq!(csv.rows, expected as u64);

    // Each row's raw line is its packet, and its raw_sha256 the raw file's.
    let mut raw_files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for row in &rows {
        let raw = raw_files
            .entry(row["raw_key"].clone())
            .or_insert_with(|| store.get(&row["raw_key"]).unwrap().unwrap());
        assert_eq!(row["raw_sha256"], sha256(raw));
        let n: usize = row["raw_line"].parse().unwrap();
        // `sed -n Np`: the bytes between the (N-1)th and Nth LF, less the CR of the CRLF.
        let line = raw.split(|&b| b == b'\n').nth(n - 1).unwrap();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let packet = envgov_hj212::parse(line).unwrap();
        assert_eq!(packet.cn, "2061");
        assert_eq!(packet.mn, row["mn"]);
        // DataTime yyyyMMddHHmmss is the local start of the hour observed_at gives.
        let t = &row["observed_at"];
        let compact = format!("{}{}{}{}0000", &t[..4], &t[5..7], &t[8..10], &t[11..13]);
        assert_eq!(packet.data_time.as_deref(), Some(compact.as_str()));
        assert!(
            packet
                .measurements
                .iter()
                .any(|m| m.code == row["pollutant"]),
            "{row:?}"
        );
    }
}

#[test]
fn a_no_change_night_writes_no_month_and_a_new_day_writes_its_month_only() {
    let dir = TempDir::new("hourly-months");
    let store = LocalStore::new(&dir.0);
    generate(&config(3, "2026-01-31"), &mut |k, b| {
        store.put(&k, &b).unwrap()
    });
    nightly(&store);
    let first = hourly_objects(&store);
    nightly(&store);
    assert_eq!(
        hourly_objects(&store),
        first,
        "a no-change night writes nothing"
    );

    // The next day's deliveries only (2026-02-01): January is kept as it is.
    generate(&config(4, "2026-02-01"), &mut |k, b| {
        if k.contains("/2026-02-01/") {
            store.put(&k, &b).unwrap()
        }
    });
    nightly(&store);
    let after = hourly_objects(&store);
    for (key, sha) in &first {
        assert_eq!(after.get(key), Some(sha), "{key} was written again");
    }
    let new: Vec<&String> = after.keys().filter(|k| !first.contains_key(*k)).collect();
    assert_eq!(
        new,
        [
            "datasets/cems-hourly/archive/2026-02-01/cems-hourly-2026-02.csv.gz",
            "datasets/cems-hourly/archive/2026-02-01/cems-hourly-2026-02.parquet",
            "datasets/cems-hourly/archive/2026-02-01/datapackage.json",
            "datasets/cems-hourly/months/2026-02.json",
        ]
    );
    let publication = Publication::staged(&store).unwrap();
    let names: Vec<String> = package(&store, &publication)
        .resources
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        names,
        [
            "cems-hourly-2026-01.csv.gz",
            "cems-hourly-2026-01.parquet",
            "cems-hourly-2026-02.csv.gz",
            "cems-hourly-2026-02.parquet",
        ]
    );
}

#[test]
fn the_same_raw_data_gives_the_same_monthly_files_in_another_store() {
    let (a, b) = (TempDir::new("hourly-det-a"), TempDir::new("hourly-det-b"));
    let (sa, sb) = (LocalStore::new(&a.0), LocalStore::new(&b.0));
    for store in [&sa, &sb] {
        generate(&config(3, "2026-01-31"), &mut |k, b| {
            store.put(&k, &b).unwrap()
        });
        nightly(store);
    }
    let (ha, hb) = (hourly_objects(&sa), hourly_objects(&sb));
    assert_eq!(ha.len(), 4, "{ha:?}");
    assert_eq!(ha, hb);
    let (pa, pb) = (
        Publication::staged(&sa).unwrap(),
        Publication::staged(&sb).unwrap(),
    );
    assert_eq!(package(&sa, &pa), package(&sb, &pb));
}
