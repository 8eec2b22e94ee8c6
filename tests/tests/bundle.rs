//! The per-unit evidence bundle end to end: built by the site release, linked from the unit
//! page, deterministic, signed, with each exceedance's raw lines and calculation.

use envgov_curated::Curated;
use envgov_e2e::TempDir;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::ledger::sha256_hex;
use envgov_pipeline::store::{LocalStore, Store};
use envgov_sample_data::{SampleConfig, generate};
use std::collections::BTreeMap;

fn curated() -> Curated {
    Curated::load().unwrap()
}

/// The files of a zip, in the order stored.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().unwrap().to_string(), content)
        })
        .collect()
}

/// Header-keyed rows of a CSV without a byte-order mark.
fn csv_rows(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// The value of a pollutant in an HJ 212 packet, as the aggregation reads it: `ZsAvg`, else
/// `Avg`, else `Rtd`.
fn packet_value(packet: &str, pollutant: &str) -> Option<f64> {
    ["ZsAvg", "Avg", "Rtd"].iter().find_map(|field| {
        let tag = format!("{pollutant}-{field}=");
        let at = packet.find(&tag)? + tag.len();
        let rest = &packet[at..];
        let end = rest.find([',', ';', '&']).unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

/// Line `n` (1-based) of a file as `sed -n Np` prints it, without its line feed.
fn line_of(bytes: &[u8], n: usize) -> Vec<u8> {
    bytes.split(|b| *b == b'\n').nth(n - 1).unwrap().to_vec()
}

fn night_with_site(store: &dyn Store, curated: &Curated, date: &str) -> String {
    let opts = NightlyOptions {
        date: Some(date.parse().unwrap()),
        max_reject_rate: 1.0,
        ..NightlyOptions::default()
    };
    let report = jobs::nightly(store, curated, &opts).expect("nightly");
    report.site_release.expect("a release")
}

#[test]
fn each_unit_page_links_a_signed_deterministic_evidence_bundle_with_its_exceedances_worked_out() {
    use envgov_pipeline::signing::{PublicKey, SecretKey};
    use envgov_pipeline::verify::{FoundFile, Scope, verify};
    let curated = curated();
    let dir = TempDir::new("bundle");
    let store = LocalStore::new(&dir.0);
    let mut config = SampleConfig {
        units: 40,
        days: 2,
        ..SampleConfig::default()
    };
    // More true exceedances than the default sample has, so that a daily mean is over its
    // limit in so few unit-days.
    config
        .defects
        .rates
        .insert("cems/true_exceedance".to_string(), 0.5);
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    let release = night_with_site(&store, &curated, "2026-01-31");
    let root = format!("site/releases/{release}/");
    let register = envgov_e2e::read_csv(
        &store
            .get(&format!("{root}datasets/exceedances/exceedances.csv"))
            .unwrap()
            .unwrap(),
    );
    // A unit with a daily exceedance of the online monitoring (its mean of hourly values).
    let daily = register
        .iter()
        .find(|r| r["record_source"] == "cems-daily")
        .expect("the sample has a daily exceedance");
    let uscc = daily["uscc"].clone();
    // One bundle a month: the sample's two days are of January.
    let bundle_path = format!("downloads/enterprises/{uscc}/evidence-bundle-2026-01.zip");
    let bundle = store.get(&format!("{root}{bundle_path}")).unwrap().unwrap();

    // Linked from the unit's page in both languages, with its sha256.
    for lang in ["zh", "en"] {
        let page = String::from_utf8(
            store
                .get(&format!("{root}{lang}/enterprises/{uscc}.html"))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert!(page.contains(&format!("href=\"/{bundle_path}\"")), "{lang}");
        assert!(page.contains(&sha256_hex(&bundle)), "{lang}");
    }

    // Deterministic: built again from nothing, the same bytes and the same release.
    for key in store.list("bundles/").unwrap() {
        store.delete(&key).unwrap();
    }
    let again = envgov_pipeline::release::publish(&store, &curated, &Default::default())
        .expect("publish again");
    assert_eq!(again.id, release);
    assert!(store.get(&format!("{root}{bundle_path}")).unwrap().unwrap() == bundle);
    // Incremental: published again, no bundle object is written again.
    let tags = |store: &LocalStore| -> BTreeMap<String, String> {
        store
            .list_meta("bundles/")
            .unwrap()
            .into_iter()
            .map(|m| (m.key, m.tag))
            .collect()
    };
    let before = tags(&store);
    assert!(before.keys().any(|k| k.contains("/evidence-")));
    envgov_pipeline::release::publish(&store, &curated, &Default::default()).unwrap();
    assert_eq!(tags(&store), before);
    // Zips gone, their exceedance evidence kept: rebuilt from it alone, the same bytes, and
    // the evidence is not written again.
    for key in store.list("bundles/").unwrap() {
        if !key.contains("/evidence-") {
            store.delete(&key).unwrap();
        }
    }
    envgov_pipeline::release::publish(&store, &curated, &Default::default()).unwrap();
    assert!(store.get(&format!("{root}{bundle_path}")).unwrap().unwrap() == bundle);
    let after = tags(&store);
    for (key, tag) in before.iter().filter(|(k, _)| k.contains("/evidence-")) {
        assert_eq!(after.get(key), Some(tag), "{key} written again");
    }

    let files = unzip(&bundle);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries sorted by path");
    let file = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("{name} in the bundle"))
    };
    for name in [
        "README.zh.md",
        "README.en.md",
        "CITATION.zh.txt",
        "CITATION.en.txt",
        "contents.json",
        "manifest.json",
        "manifest.json.minisig",
    ] {
        assert!(!file(name).is_empty(), "{name}");
    }
    // The unit's rows of the month, byte for byte those of its CSV downloads (of cems-daily
    // and self-monitoring its January file; of emission-totals the month's rows, not the
    // year's), under
    // the same header (a dataset without rows of the unit has no file in the bundle).
    for dataset in [
        "cems-daily",
        "exceedances",
        "self-monitoring",
        "emission-totals",
    ] {
        // Of a dataset published a file a month, the unit's download of January (none
        // without rows that month).
        let name = match dataset {
            "cems-daily" | "self-monitoring" => format!("{dataset}-2026-01.csv"),
            _ => format!("{dataset}.csv"),
        };
        let Some(mut download) = store
            .get(&format!("{root}downloads/enterprises/{uscc}/{name}"))
            .unwrap()
        else {
            assert!(
                !names.contains(&format!("data/{dataset}.csv").as_str()),
                "{dataset}: in the bundle, but the unit has no download of the month"
            );
            continue;
        };
        if dataset == "emission-totals" {
            let lines: Vec<&[u8]> = download.split_inclusive(|b| *b == b'\n').collect();
            download = lines
                .iter()
                .enumerate()
                .filter(|(i, l)| *i == 0 || l.windows(7).any(|w| w == b",month,"))
                .flat_map(|(_, l)| l.iter().copied())
                .collect();
        }
        let rows = envgov_e2e::read_csv(&download).len();
        let name = format!("data/{dataset}.csv");
        match files.iter().find(|(n, _)| *n == name) {
            Some((_, bytes)) => assert!(*bytes == download, "{dataset}"),
            None => assert_eq!(rows, 0, "{dataset} has rows but no file"),
        }
    }
    assert!(names.contains(&"data/cems-daily.csv"));
    // The hourly readings: a file a day, each the unit's rows of the published cems-hourly
    // month file of that day, byte for byte, under the same BOM and header.
    let month = {
        use std::io::Read;
        let gz = store
            .get(&format!(
                "{root}datasets/cems-hourly/cems-hourly-2026-01.csv.gz"
            ))
            .unwrap()
            .expect("the month's hourly file in the release");
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(gz.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let mut lines = month.strip_prefix('\u{feff}').unwrap().split("\r\n");
    let header = lines.next().unwrap();
    let at = |name: &str| header.split(',').position(|c| c == name).unwrap();
    let (uscc_at, date_at) = (at("uscc"), at("date"));
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[uscc_at] == uscc {
            let day = expected
                .entry(cells[date_at].to_string())
                .or_insert_with(|| format!("\u{feff}{header}\r\n"));
            day.push_str(line);
            day.push_str("\r\n");
        }
    }
    assert!(!expected.is_empty(), "the unit has hourly readings");
    let hourly: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("data/cems-hourly/"))
        .collect();
    let wanted: Vec<String> = expected
        .keys()
        .map(|d| format!("data/cems-hourly/{}/{d}.csv", &d[..7]))
        .collect();
    assert_eq!(hourly, wanted);
    for (d, text) in &expected {
        let got = file(&format!("data/cems-hourly/{}/{d}.csv", &d[..7]));
        assert!(got == text.as_bytes(), "{d}: the unit's rows of the day");
    }
    assert!(!names.contains(&"data/cems-hourly-files.csv"));
    let readme = String::from_utf8(file("README.en.md")).unwrap();
    assert!(
        readme.contains(&format!("({} days, a file a day)", expected.len())),
        "{readme}"
    );
    assert!(
        String::from_utf8(file("README.zh.md"))
            .unwrap()
            .contains("data/cems-hourly/")
    );
    // The citation names the unit, the URL and the sha256 of contents.json.
    let citation = String::from_utf8(file("CITATION.en.txt")).unwrap();
    assert!(citation.contains(&uscc));
    assert!(citation.contains(&format!("https://envgov.example.org/{bundle_path}")));
    assert!(citation.contains(&sha256_hex(&file("contents.json"))));

    // Every exceedance of the unit: its raw lines are the raw files' lines, with their sha256.
    let index = csv_rows(&file("exceedances/index.csv"));
    let unit_rows: Vec<_> = register.iter().filter(|r| r["uscc"] == uscc).collect();
    assert_eq!(index.len(), unit_rows.len());
    let mut daily_folder = None;
    for entry in &index {
        let folder = &entry["folder"];
        let lines = file(&format!("{folder}raw-lines.txt"));
        let where_ = csv_rows(&file(&format!("{folder}raw-lines.csv")));
        assert!(!where_.is_empty(), "{folder}");
        for (i, w) in where_.iter().enumerate() {
            let raw = store.get(&w["raw_key"]).unwrap().unwrap();
            let n: usize = w["raw_line"].parse().unwrap();
            assert_eq!(
                line_of(&lines, i + 1),
                line_of(&raw, n),
                "{folder} line {}",
                i + 1
            );
            assert_eq!(w["raw_sha256"], sha256_hex(&raw));
        }
        if entry["exceedance_id"] == daily["exceedance_id"] {
            daily_folder = Some(folder.clone());
        }
    }

    // The daily exceedance worked out by hand from its hourly values.
    let folder = daily_folder.expect("the daily exceedance's folder");
    let hours = csv_rows(&file(&format!("{folder}hourly-values.csv")));
    let lines = file(&format!("{folder}raw-lines.txt"));
    let pollutant = &daily["pollutant"];
    let mut valid = Vec::new();
    for (i, h) in hours.iter().enumerate() {
        // Each hourly value is in its raw packet.
        let packet = String::from_utf8_lossy(&line_of(&lines, i + 1)).into_owned();
        assert!(packet.contains(pollutant.as_str()), "{packet}");
        if h["valid"] == "true" {
            // The value read from the raw packet itself, not from the bundle's table.
            let v = packet_value(&packet, pollutant).expect("a value in the packet");
            assert_eq!(h["value"].parse::<f64>().unwrap(), v, "{packet}");
            valid.push(v);
        }
    }
    let n = valid.len() as f64;
    let sum: f64 = valid.iter().sum();
    let mean = sum / n;
    let limit: f64 = daily["limit"].parse().unwrap();
    let round6 = |x: f64| (x * 1e6).round() / 1e6;
    let calc: serde_json::Value =
        serde_json::from_slice(&file(&format!("{folder}calculation.json"))).unwrap();
    assert!(valid.len() >= 20);
    assert_eq!(calc["valid_hours"].as_u64(), Some(valid.len() as u64));
    assert_eq!(calc["limit"].as_f64(), Some(limit));
    assert_eq!(calc["value_rounded"].as_f64(), Some(round6(mean)));
    assert_eq!(
        calc["multiple_rounded"].as_f64(),
        Some(round6((mean - limit) / limit))
    );
    // And the register publishes the same numbers.
    let published: f64 = daily["value"].parse().unwrap();
    assert!(
        (published - round6(mean)).abs() < 1e-9,
        "{published} {mean}"
    );
    assert_eq!(calc["agrees"], serde_json::json!(true));
    let text = String::from_utf8(file(&format!("{folder}calculation.en.txt"))).unwrap();
    for number in [
        format!("{}", round6(mean)),
        format!("{}", round6((mean - limit) / limit)),
    ] {
        assert!(text.contains(&number), "{number} in {text}");
    }
    assert!(text.contains(&daily["standard"]) || text.contains("GB") || text.contains("DB"));

    // Signed: the manifest verifies with the store's key; one flipped byte is named.
    let key = SecretKey::parse(
        &String::from_utf8(
            store
                .get(envgov_dataset::layout::DEVELOPMENT_SIGNING_KEY)
                .unwrap()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let public: PublicKey = key.public();
    let manifest = file("manifest.json");
    let signature = String::from_utf8(file("manifest.json.minisig")).unwrap();
    let found = |files: &[(String, Vec<u8>)]| -> Vec<FoundFile> {
        files
            .iter()
            .filter(|(n, _)| n != "manifest.json" && n != "manifest.json.minisig")
            .map(|(n, b)| FoundFile {
                path: n.clone(),
                bytes: b.len() as u64,
                sha256: sha256_hex(b),
            })
            .collect()
    };
    let outcome = verify(
        &manifest,
        Some(&signature),
        &public,
        &Scope::Whole,
        &found(&files),
    );
    assert!(outcome.ok(), "{:?}", outcome.problems);
    let mut flipped = files.clone();
    let victim = flipped
        .iter_mut()
        .find(|(n, _)| n == "data/cems-daily.csv")
        .unwrap();
    let last = victim.1.len() - 3;
    victim.1[last] ^= 1;
    let outcome = verify(
        &manifest,
        Some(&signature),
        &public,
        &Scope::Whole,
        &found(&flipped),
    );
    assert!(!outcome.ok());
    assert_eq!(outcome.problems.len(), 1, "{:?}", outcome.problems);
    assert!(format!("{}", outcome.problems[0]).contains("data/cems-daily.csv"));
}

/// A unit has a bundle a month. A closed month's bundle is not written again by a later
/// night; the current month's hourly readings are made incrementally (a night compresses only
/// its new days and copies the others from the month's previous bundle), and every bundle has
/// the same bytes as one built from nothing.
#[test]
fn a_bundle_made_from_the_previous_one_has_the_bytes_of_one_made_from_nothing() {
    let curated = curated();
    let dir = TempDir::new("bundle-incremental");
    let store = LocalStore::new(&dir.0);
    // 30 and 31 January, 1 and 2 February.
    let config = SampleConfig {
        units: 12,
        days: 4,
        end_date: "2026-02-02".parse().unwrap(),
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    night_with_site(&store, &curated, "2026-02-01");
    let january = |store: &LocalStore| -> BTreeMap<String, String> {
        store
            .list_meta("bundles/")
            .unwrap()
            .into_iter()
            .filter(|m| m.key.contains("/2026-01/"))
            .map(|m| (m.key, m.tag))
            .collect()
    };
    let closed = january(&store);
    assert!(
        closed.keys().any(|k| k.ends_with(".zip")),
        "January's bundles"
    );
    let release = night_with_site(&store, &curated, "2026-02-02");
    assert_eq!(
        january(&store),
        closed,
        "a closed month's bundle written again"
    );
    let root = format!("site/releases/{release}/");
    // Every unit with hourly readings: its days as the index remembers them.
    let indexes: Vec<String> = store
        .list("bundles/")
        .unwrap()
        .into_iter()
        .filter(|k| k.ends_with("/hourly-days.json"))
        .collect();
    assert!(!indexes.is_empty());
    let bundles: BTreeMap<String, Vec<u8>> = store
        .list(&format!("{root}downloads/enterprises/"))
        .unwrap()
        .into_iter()
        .filter(|k| k.contains("/evidence-bundle-") && k.ends_with(".zip"))
        .map(|k| {
            let b = store.get(&k).unwrap().unwrap();
            (k, b)
        })
        .collect();
    // Each month's bundle holds that month's days only: January's two, February's two.
    let days_in = |b: &[u8]| -> Vec<String> {
        unzip(b)
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("data/cems-hourly/"))
            .collect()
    };
    let with_hourly: Vec<&String> = bundles
        .iter()
        .filter(|(k, b)| {
            let days = days_in(b);
            let month = if k.ends_with("-2026-01.zip") {
                "data/cems-hourly/2026-01/"
            } else {
                "data/cems-hourly/2026-02/"
            };
            days.len() == 2 && days.iter().all(|d| d.starts_with(month))
        })
        .map(|(k, _)| k)
        .collect();
    assert!(
        with_hourly.iter().any(|k| k.ends_with("-2026-01.zip"))
            && with_hourly.iter().any(|k| k.ends_with("-2026-02.zip")),
        "units with 2 days of hourly readings in each month's bundle"
    );
    // The index names one of the unit's zips of the month; the first night's bundle is
    // kept beside it (an overlapping night may be copying it into its release).
    for index in &indexes {
        let folder = index.strip_suffix("hourly-days.json").unwrap();
        let named: serde_json::Value =
            serde_json::from_slice(&store.get(index).unwrap().unwrap()).unwrap();
        let zips: Vec<String> = store
            .list(folder)
            .unwrap()
            .into_iter()
            .filter(|k| k.ends_with(".zip"))
            .collect();
        assert!(
            zips.contains(&named["zip"].as_str().unwrap().to_string()),
            "{folder}: {zips:?}"
        );
    }
    // Made again from nothing: the same bytes.
    for key in store.list("bundles/").unwrap() {
        store.delete(&key).unwrap();
    }
    let again = envgov_pipeline::release::publish(&store, &curated, &Default::default()).unwrap();
    assert_eq!(again.id, release);
    for (key, bytes) in &bundles {
        assert!(
            store.get(key).unwrap().unwrap() == *bytes,
            "{key}: not the bytes made from the previous bundle"
        );
    }
    // The month zips put aside while building from nothing are gone.
    let aside: Vec<String> = store
        .list("bundles/")
        .unwrap()
        .into_iter()
        .filter(|k| k.contains("/hourly-2026-"))
        .collect();
    assert!(aside.is_empty(), "{aside:?}");
}

/// A revision of a closed month's delivery builds that month's bundle again, of the unit it
/// changes only: every other bundle of the month is left as it was.
#[test]
fn a_correction_of_a_closed_month_builds_that_month_bundle_again() {
    let curated = curated();
    let dir = TempDir::new("bundle-correction");
    let store = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 12,
        days: 4,
        end_date: "2026-02-02".parse().unwrap(),
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    night_with_site(&store, &curated, "2026-02-01");
    let january = |store: &LocalStore| -> BTreeMap<String, String> {
        store
            .list_meta("bundles/")
            .unwrap()
            .into_iter()
            .filter(|m| m.key.contains("/2026-01/") && m.key.ends_with(".zip"))
            .map(|m| (m.key, m.tag))
            .collect()
    };
    let before = january(&store);
    // A January self-monitoring row of a unit with a January bundle, its result raised by
    // one in a revision of its file (columns: uscc, name, point, time, item, result, …).
    let (key, uscc, corrected) = store
        .list("raw/self-monitoring/2026-01-")
        .unwrap()
        .into_iter()
        .filter(|k| k.ends_with(".csv"))
        .find_map(|key| {
            let bytes = store.get(&key).unwrap().unwrap();
            let text = String::from_utf8(bytes).ok()?;
            let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
            let (i, uscc, cells) = lines.iter().enumerate().skip(1).find_map(|(i, l)| {
                let cells: Vec<String> = l.split(',').map(str::to_string).collect();
                let has_bundle = before
                    .keys()
                    .any(|k| k.starts_with(&format!("bundles/{}/2026-01/", cells[0])));
                (cells.len() > 6 && cells[5].parse::<f64>().is_ok() && has_bundle)
                    .then(|| (i, cells[0].clone(), cells))
            })?;
            let mut cells = cells;
            cells[5] = format!("{:.1}", cells[5].parse::<f64>().unwrap() + 1.0);
            lines[i] = cells.join(",");
            Some((key, uscc, lines.join("\n")))
        })
        .expect("a January self-monitoring row of a unit with a bundle");
    store
        .put(&key.replace(".csv", ".r2.csv"), corrected.as_bytes())
        .unwrap();
    night_with_site(&store, &curated, "2026-02-02");
    let after = january(&store);
    let of = |m: &BTreeMap<String, String>, unit: bool| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| k.starts_with(&format!("bundles/{uscc}/")) == unit)
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect()
    };
    assert_eq!(
        of(&after, false),
        of(&before, false),
        "other units' January"
    );
    // The unit's January built again, under a new key; the previous January bundle is
    // kept as it was (an overlapping night may be copying it into its release).
    let (old, new) = (of(&before, true), of(&after, true));
    assert_eq!(old.len(), 1);
    assert_eq!(new.len(), 2, "{uscc}'s January built again");
    assert!(
        old.iter().all(|(k, t)| new.get(k) == Some(t)),
        "previous kept"
    );
}
