//! Corrections (issue 10, `data/raw-formats.md` "Corrections"): a revision `{stem}.r2.{ext}`
//! delivered after a night replaces its file on the next night, which validates again only
//! the corrected partitions, writes a changelog per day-level dataset (old and new values,
//! the revision's key and sha256) and keeps the withdrawn exceedances in the register.
//!
//! The raw files are the test's own: the sample generator's clean files, one hourly series
//! of an online-monitoring file (a water outlet's COD) raised to 900 mg/L before the first
//! night (so that the day exceeds its limit), and the revisions that put the true values back.

use envgov_curated::Curated;
use envgov_dataset::changelog::{Change, Changelog};
use envgov_dataset::report::RunReport;
use envgov_e2e::{TempDir, read_csv};
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::ledger::sha256_hex;
use envgov_pipeline::store::{LocalStore, Store};
use envgov_sample_data::{DefectRates, SampleConfig, generate};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

const DAY: &str = "2026-01-30";
/// COD of a water outlet: its standards set a daily limit (at most 500 mg/L).
const POLLUTANT: &str = "w01018";

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn night(store: &dyn Store, d: &str) -> RunReport {
    jobs::nightly(
        store,
        &Curated::load().unwrap(),
        &NightlyOptions {
            date: Some(date(d)),
            max_reject_rate: 0.25,
            render_site: false,
            ..NightlyOptions::default()
        },
    )
    .unwrap()
}

/// An HJ 212 line framed again around `segment`: `##` + length + segment + CRC + CRLF.
fn frame(segment: &str) -> String {
    let crc = envgov_hj212::crc16(segment.as_bytes());
    format!("##{:04}{segment}{crc:04X}\r\n", segment.len())
}

/// The line's data segment (between the length and the CRC).
fn segment(line: &str) -> &str {
    let body = line.trim_end_matches(['\r', '\n']);
    &body[6..body.len() - 4]
}

/// Sets every `{POLLUTANT}-Avg/-Min/-Max` of the hourly packets of device `mn` to `value`;
/// returns the new file and the original values of `-Avg` (water outlets report no
/// `-ZsAvg`: the daily mean is of `-Avg`), in hour order.
fn raise(original: &str, mn: &str, value: &str) -> (String, Vec<f64>) {
    let mut out = String::new();
    let mut avg = Vec::new();
    for line in original.split_inclusive('\n') {
        let mut seg = segment(line).to_string();
        if !(seg.contains(&format!("MN={mn};")) && seg.contains("CN=2061")) {
            out.push_str(line);
            continue;
        }
        for group in ["Avg", "Min", "Max"] {
            let name = format!("{POLLUTANT}-{group}=");
            let start = seg.find(&name).expect("the pollutant's group") + name.len();
            let end = start + seg[start..].find([',', ';', '&']).unwrap();
            if group == "Avg" {
                avg.push(seg[start..end].parse::<f64>().unwrap());
            }
            seg.replace_range(start..end, value);
        }
        out.push_str(&frame(&seg));
    }
    (out, avg)
}

fn inode(dir: &TempDir, key: &str) -> u64 {
    std::fs::metadata(dir.0.join(key)).unwrap().ino()
}

fn changelog(store: &dyn Store, id: &str, n: &str) -> (Changelog, Vec<u8>) {
    let bytes = store
        .get(&format!("datasets/{id}/changes/{n}.json"))
        .unwrap()
        .unwrap_or_else(|| panic!("no changelog of {id}"));
    (serde_json::from_slice(&bytes).unwrap(), bytes)
}

#[test]
fn a_correction_is_applied_the_next_night_with_its_changelog_and_the_withdrawn_exceedance_kept() {
    let dir = TempDir::new("corrections");
    let store = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 12,
        days: 2,
        end_date: date("2026-01-31"),
        defects: DefectRates::none(),
        xss_probes: false,
        ..SampleConfig::default()
    };
    let mut raw: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    generate(&config, &mut |key, bytes| {
        raw.insert(key, bytes);
    });
    // The first online-monitoring file of the day with a water outlet, and that device.
    let water = |s: &str| s.contains("ST=32;CN=2061") && s.contains(POLLUTANT);
    let cems_key = raw
        .iter()
        .find(|(k, b)| {
            k.starts_with(&format!("raw/cems/{DAY}/"))
                && String::from_utf8_lossy(b).lines().any(&water)
        })
        .map(|(k, _)| k.clone())
        .expect("a water outlet with online monitoring");
    let original = String::from_utf8(raw[&cems_key].clone()).unwrap();
    let first = original
        .lines()
        .map(segment)
        .find(|s| water(s))
        .unwrap()
        .to_string();
    let mn = first
        .split("MN=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let (raised, true_values) = raise(&original, mn, "900");
    assert_eq!(true_values.len(), 24, "one packet an hour");
    raw.insert(cems_key.clone(), raised.into_bytes());
    // The self-monitoring file of the day: its first row's result will be corrected.
    // A self-monitoring file of the day (UTF-8) and its first compliant numeric result.
    let sm_key = raw
        .iter()
        .find(|(k, b)| {
            k.starts_with(&format!("raw/self-monitoring/{DAY}/")) && std::str::from_utf8(b).is_ok()
        })
        .map(|(k, _)| k.clone())
        .expect("a UTF-8 self-monitoring file");
    let sm = String::from_utf8(raw[&sm_key].clone()).unwrap();
    let line = sm
        .lines()
        .skip(1)
        .find(|l| {
            let row: Vec<&str> = l.split(',').collect();
            row.len() == 14 && row[5].parse::<f64>().is_ok() && row[8] == "是"
        })
        .expect("a compliant numeric result")
        .to_string();
    let row: Vec<&str> = line.split(',').collect();
    let (old_result, limit) = (row[5].to_string(), row[6].parse::<f64>().unwrap());
    // 0.5 × the limit: still compliant; written with two decimals as a provider would.
    let new_result = format!("{:.2}", limit / 2.0);
    let mut corrected_row = row.clone();
    corrected_row[5] = &new_result;
    let corrected = sm.replacen(&line, &corrected_row.join(","), 1);
    for (k, b) in &raw {
        store.put(k, b).unwrap();
    }

    let first_night = night(&store, DAY);
    assert!(first_night.revisions.is_empty());
    // The raised series exceeds its daily limit: the mean of 24 hours of 900 is 900.
    let exceedances = read_csv(
        &store
            .get(&format!(
                "datasets/exceedances/archive/{DAY}/exceedances.csv"
            ))
            .unwrap()
            .unwrap(),
    );
    let daily: Vec<_> = exceedances
        .iter()
        .filter(|r| {
            r["record_source"] == "cems-daily"
                && r["pollutant"] == POLLUTANT
                && r["raw_key"] == cems_key
        })
        .collect();
    assert_eq!(
        daily.len(),
        1,
        "{:?}",
        exceedances
            .iter()
            .filter(|r| r["pollutant"] == POLLUTANT)
            .collect::<Vec<_>>()
    );
    assert_eq!(daily[0]["value"], "900");
    assert_eq!(daily[0]["record_status"], "in-force");
    let daily_id = daily[0]["exceedance_id"].clone();

    // The corrections, delivered after the first night.
    let cems_r2 = cems_key.replace(".hj212", ".r2.hj212");
    store.put(&cems_r2, &original.clone().into_bytes()).unwrap();
    let sm_r2 = sm_key.replace(".csv", ".r2.csv");
    store.put(&sm_r2, corrected.as_bytes()).unwrap();
    // A revision 3 without a revision 2, and a revision of a file never delivered.
    let gap = format!("raw/msw/{DAY}/msw.r3.csv");
    store.put(&gap, b"x").unwrap();
    let orphan = format!("raw/sewage/{DAY}/other.r2.csv");
    store.put(&orphan, b"x").unwrap();

    let untouched = format!("validated/msw/date={DAY}/part.parquet");
    let before = [
        inode(&dir, &untouched),
        inode(&dir, &format!("validated/cems/date={DAY}/part.parquet")),
        inode(
            &dir,
            &format!("validated/self-monitoring/date={DAY}/part.parquet"),
        ),
    ];
    let report = night(&store, "2026-01-31");

    // The report: the two revisions new tonight, the two that cannot be placed.
    assert_eq!(
        report.revisions.new_tonight,
        vec![cems_r2.clone(), sm_r2.clone()]
    );
    let rejected: Vec<(&str, &str)> = report
        .revisions
        .rejected
        .iter()
        .map(|r| (r.key.as_str(), r.reason_code.as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (gap.as_str(), "revision_gap"),
            (orphan.as_str(), "revision_of_missing_file")
        ]
    );
    assert!(report.revisions.superseded.contains(&cems_key));
    // Only the corrected partitions of the day were validated again.
    let after = [
        inode(&dir, &untouched),
        inode(&dir, &format!("validated/cems/date={DAY}/part.parquet")),
        inode(
            &dir,
            &format!("validated/self-monitoring/date={DAY}/part.parquet"),
        ),
    ];
    assert_eq!(after[0], before[0], "msw of {DAY} not rewritten");
    assert_ne!(after[1], before[1], "cems of {DAY} validated again");
    assert_ne!(
        after[2], before[2],
        "self-monitoring of {DAY} validated again"
    );

    let cems_sha = sha256_hex(original.as_bytes());
    let sm_sha = sha256_hex(corrected.as_bytes());

    // cems-daily: the day's mean goes from 900 back to the mean of the true values.
    let (log, _) = changelog(&store, "cems-daily", "2026-01-31");
    assert_eq!(
        log.previous_archive.as_deref(),
        Some(&*format!("datasets/cems-daily/archive/{DAY}/"))
    );
    let entry = log
        .entries
        .iter()
        .find(|e| {
            e.key[0] == DAY
                && e.key[2] == POLLUTANT
                && e.old.as_ref().unwrap().get("raw_key") == Some(cems_key.as_str())
        })
        .expect("the corrected day");
    assert_eq!(entry.change, Change::Changed);
    let mean = entry
        .fields
        .iter()
        .find(|f| f.field == "daily_mean")
        .unwrap();
    assert_eq!(mean.old, "900");
    let expected = true_values.iter().sum::<f64>() / 24.0;
    let got: f64 = mean.new.parse().unwrap();
    assert!((got - expected).abs() < 0.001, "{got} vs {expected}");
    // Attributed to the revision of the file the row was read from, not the day's other one.
    assert_eq!(entry.revisions.len(), 1, "{:?}", entry.revisions);
    let cems_rev = &entry.revisions[0];
    assert_eq!(cems_rev.key, cems_r2);
    assert_eq!(cems_rev.sha256, cems_sha);
    assert_eq!(cems_rev.replaces, cems_key);
    assert!(log.entries.iter().all(|e| e.date == DAY));

    // cems-hourly: the 24 raised hours of the series, each changed from 900 back to its true
    // value (matched by outlet, hour and pollutant: the revision moved every row's raw_key);
    // no other hour changed.
    let (log, _) = changelog(&store, "cems-hourly", "2026-01-31");
    assert_eq!(
        log.primary_key,
        vec!["outlet_id", "observed_at", "pollutant"]
    );
    assert_eq!(log.entries.len(), 24, "{:?}", log.entries.first());
    let mut corrected: Vec<(String, f64, f64)> = log
        .entries
        .iter()
        .map(|e| {
            assert_eq!(e.change, Change::Changed);
            assert_eq!(e.key[2], POLLUTANT);
            assert_eq!(e.new.as_ref().unwrap().get("mn"), Some(mn));
            let avg = e
                .fields
                .iter()
                .find(|f| f.field == "avg")
                .expect("avg changed");
            let moved = e.fields.iter().find(|f| f.field == "raw_key").unwrap();
            assert_eq!(
                (moved.old.as_str(), moved.new.as_str()),
                (cems_key.as_str(), cems_r2.as_str())
            );
            assert_eq!(e.revisions.len(), 1);
            assert_eq!(e.revisions[0].key, cems_r2);
            (
                e.key[1].clone(),
                avg.old.parse::<f64>().unwrap(),
                avg.new.parse::<f64>().unwrap(),
            )
        })
        .collect();
    corrected.sort_by(|a, b| a.0.cmp(&b.0));
    for (hour, (at, old, new)) in corrected.iter().enumerate() {
        assert_eq!(*old, 900.0, "{at}");
        assert!(
            (new - true_values[hour]).abs() < 1e-9,
            "{at}: {new} vs {}",
            true_values[hour]
        );
    }
    // Listed in the night's publication (and so signed with it).
    let publication = report.publication.clone().unwrap();
    let manifest = envgov_pipeline::publication::manifest(&store, &publication)
        .unwrap()
        .unwrap();
    assert!(
        manifest
            .files
            .contains_key("cems-hourly/changes/2026-01-31.json")
    );

    // self-monitoring: one row changed, its result old → new, nothing else.
    let (log, _) = changelog(&store, "self-monitoring", "2026-01-31");
    assert_eq!(log.entries.len(), 1, "{:?}", log.entries);
    let e = &log.entries[0];
    assert_eq!(e.change, Change::Changed);
    let field = |name: &str| {
        e.fields
            .iter()
            .find(|f| f.field == name)
            .map(|f| (f.old.as_str(), f.new.as_str()))
    };
    let as_published = |s: &str| format!("{}", s.parse::<f64>().unwrap());
    assert_eq!(
        field("result"),
        Some((
            as_published(&old_result).as_str(),
            as_published(&new_result).as_str()
        ))
    );
    assert_eq!(field("raw_key"), Some((sm_key.as_str(), sm_r2.as_str())));
    assert_eq!(field("compliant"), None, "still compliant");
    let sm_revisions: Vec<(&str, &str)> = e
        .revisions
        .iter()
        .map(|r| (r.key.as_str(), r.sha256.as_str()))
        .collect();
    assert_eq!(sm_revisions, vec![(sm_r2.as_str(), sm_sha.as_str())]);

    // exceedances: the daily exceedance and the 24 hourly ones are withdrawn.
    let (log, log_bytes) = changelog(&store, "exceedances", "2026-01-31");
    let withdrawn: Vec<&str> = log
        .entries
        .iter()
        .filter(|e| e.change == Change::Withdrawn)
        .map(|e| e.key[0].as_str())
        .collect();
    assert!(withdrawn.contains(&daily_id.as_str()));
    // Every exceedance of the raised series (its unit, outlet and pollutant) was withdrawn,
    // and nothing else changed.
    let raised_series: Vec<&str> = exceedances
        .iter()
        .filter(|r| {
            r["uscc"] == daily[0]["uscc"]
                && r["outlet"] == daily[0]["outlet"]
                && r["pollutant"] == POLLUTANT
        })
        .map(|r| r["exceedance_id"].as_str())
        .collect();
    assert_eq!(withdrawn, raised_series);
    assert_eq!(log.entries.len(), raised_series.len());
    // ... and kept in the published register, marked with the revision that withdrew them.
    let register = read_csv(
        &store
            .get("datasets/exceedances/archive/2026-01-31/exceedances.csv")
            .unwrap()
            .unwrap(),
    );
    let kept = register
        .iter()
        .find(|r| r["exceedance_id"] == daily_id)
        .expect("the withdrawn exceedance is still in the register");
    assert_eq!(kept["record_status"], "withdrawn");
    assert_eq!(kept["withdrawn_by"], cems_r2);
    assert_eq!(kept["withdrawn_sha256"], cems_sha);
    assert_eq!(kept["withdrawn_night"], "2026-01-31");
    assert_eq!(kept["value"], "900");
    assert_eq!(
        register
            .iter()
            .filter(|r| r["record_status"] == "withdrawn")
            .count(),
        raised_series.len()
    );
    let csv_log = String::from_utf8(
        store
            .get("datasets/exceedances/changes/2026-01-31.csv")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(
        csv_log.contains(&format!(
            "withdrawn,{DAY},{daily_id},,,,{cems_r2},{cems_sha}"
        )),
        "{csv_log}"
    );
    // The publication lists the changelogs (sha256 as stored).
    let publication = report.publication.clone().unwrap();
    let manifest = envgov_pipeline::publication::manifest(&store, &publication)
        .unwrap()
        .unwrap();
    let listed = &manifest.files["exceedances/changes/2026-01-31.json"];
    assert_eq!(listed.sha256, sha256_hex(&log_bytes));

    // Determinism: the same night again writes the same changelog, and no second one.
    let again = night(&store, "2026-01-31");
    assert_eq!(again.publication, report.publication);
    assert_eq!(changelog(&store, "exceedances", "2026-01-31").1, log_bytes);
    assert!(
        store
            .get("datasets/exceedances/changes/2026-01-31.r2.json")
            .unwrap()
            .is_none()
    );
    // The next night changes nothing more: no new revision, no new changelog.
    let quiet = night(&store, "2026-02-01");
    assert!(quiet.revisions.new_tonight.is_empty());
    assert!(
        store
            .get("datasets/exceedances/changes/2026-02-01.json")
            .unwrap()
            .is_none()
    );
}

/// `data/raw-formats.md`, "Corrections": a revision that fails validation as a whole (here
/// undecodable) is held, never in force: the original's records stay published and nothing
/// is withdrawn; the next revision that validates replaces the original; the fanned-out
/// night and `envgov rebuild` resolve the same.
#[test]
fn a_revision_that_fails_as_a_whole_is_held_and_the_next_valid_one_replaces_the_original() {
    let dir = TempDir::new("corrections-held");
    let store = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 12,
        days: 2,
        end_date: date("2026-01-31"),
        defects: DefectRates::none(),
        xss_probes: false,
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    // A self-monitoring file of the day cut to its header and first 3 rows (all valid: the
    // sample has no defects).
    let sm_key = store
        .list(&format!("raw/self-monitoring/{DAY}/"))
        .unwrap()
        .into_iter()
        .find(|k| std::str::from_utf8(&store.get(k).unwrap().unwrap()).is_ok())
        .expect("a UTF-8 self-monitoring file");
    let text = String::from_utf8(store.get(&sm_key).unwrap().unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().take(4).collect();
    assert_eq!(lines.len(), 4, "a header and 3 rows");
    let original = format!("{}\n", lines.join("\n"));
    store.delete(&sm_key).unwrap();
    store.put(&sm_key, original.as_bytes()).unwrap();
    let stem = sm_key.strip_suffix(".csv").unwrap().to_string();
    // The night's published self-monitoring rows of the file (any of its revisions), from
    // the CSV files its publication lists (one file, or a file a month, gzip or not).
    let published = |report: &RunReport| -> Vec<BTreeMap<String, String>> {
        let publication = report.publication.clone().unwrap();
        let manifest = envgov_pipeline::publication::manifest(&store, &publication)
            .unwrap()
            .unwrap();
        let mut rows = Vec::new();
        for (path, file) in &manifest.files {
            let Some(name) = path.strip_prefix("self-monitoring/") else {
                continue;
            };
            let bytes = store.get(&file.key).unwrap().unwrap();
            let bytes = if name.ends_with(".csv.gz") {
                let mut out = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(bytes.as_slice()),
                    &mut out,
                )
                .unwrap();
                out
            } else if name.ends_with(".csv") && !name.contains('/') {
                bytes
            } else {
                continue;
            };
            rows.extend(
                read_csv(&bytes)
                    .into_iter()
                    .filter(|r| r["date"] == DAY && r["raw_key"].starts_with(&stem)),
            );
        }
        rows
    };
    assert_eq!(published(&night(&store, DAY)).len(), 3);

    // Revision 2: bytes that are neither UTF-8 nor GB18030.
    let r2 = sm_key.replace(".csv", ".r2.csv");
    store.put(&r2, b"\xff\xff\xff\n\xff\xfe\n").unwrap();
    let report = night(&store, "2026-01-31");
    assert!(
        report.revisions.applied.is_empty(),
        "{:?}",
        report.revisions
    );
    assert!(report.revisions.new_tonight.is_empty());
    assert!(report.revisions.superseded.is_empty());
    assert_eq!(report.revisions.held.len(), 1, "{:?}", report.revisions);
    let held = &report.revisions.held[0];
    assert_eq!(
        (held.key.as_str(), held.revision, held.kept.as_str()),
        (r2.as_str(), 2, sm_key.as_str())
    );
    assert_eq!(held.reason_code, "undecodable_file");
    assert_eq!(held.sha256, sha256_hex(b"\xff\xff\xff\n\xff\xfe\n"));
    // The original's 3 records stay published, read from the original.
    let rows = published(&report);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["raw_key"] == sm_key));
    // No changelog: nothing changed, nothing withdrawn.
    for id in ["self-monitoring", "exceedances", "cems-daily"] {
        let log = format!("datasets/{id}/changes/2026-01-31.json");
        assert!(store.get(&log).unwrap().is_none(), "{log}");
    }
    // The rejects name the held revision with its reason; the records counted are the
    // original's only.
    let rejects = read_csv(
        &store
            .get(&format!("rejects/self-monitoring/date={DAY}/rejects.csv"))
            .unwrap()
            .unwrap(),
    );
    let row = rejects
        .iter()
        .find(|r| r["raw_key"] == r2)
        .expect("a rejects row for the held revision");
    assert_eq!(row["reason_code"], "revision_held");
    assert_eq!(row["scope"], "held");
    assert!(row["reason"].contains(&sm_key), "{}", row["reason"]);
    let files = &report.sources["self-monitoring"].files;
    assert!(files.iter().all(|f| f.key != r2));
    assert!(files.iter().any(|f| f.key == sm_key && f.accepted == 3));

    // Revision 3: the first 2 rows only (the third is withdrawn).
    let r3 = sm_key.replace(".csv", ".r3.csv");
    let corrected = format!("{}\n", lines[..3].join("\n"));
    store.put(&r3, corrected.as_bytes()).unwrap();
    let report = night(&store, "2026-02-01");
    assert_eq!(report.revisions.new_tonight, vec![r3.clone()]);
    assert_eq!(report.revisions.applied.len(), 1);
    assert_eq!(report.revisions.applied[0].replaces, sm_key);
    assert_eq!(report.revisions.held[0].kept, r3);
    let rows = published(&report);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["raw_key"] == r3));
    let (log, _) = changelog(&store, "self-monitoring", "2026-02-01");
    assert_eq!(log.entries.len(), 1, "{:?}", log.entries);
    assert_eq!(log.entries[0].change, Change::Withdrawn);
    assert_eq!(log.entries[0].revisions[0].key, r3);
    assert_eq!(
        log.entries[0].revisions[0].sha256,
        sha256_hex(corrected.as_bytes())
    );

    // The rebuild of each night resolves the same revisions and gives the same archives.
    for d in ["2026-01-31", "2026-02-01"] {
        let out_dir = TempDir::new(&format!("corrections-held-rebuild-{d}"));
        let out = LocalStore::new(out_dir.0.join("store"));
        let rebuilt = envgov_pipeline::rebuild::rebuild(
            &store,
            &out,
            &Curated::load().unwrap(),
            &envgov_pipeline::rebuild::RebuildOptions::new(date(d)),
        )
        .unwrap();
        let differing: Vec<_> = rebuilt.differences().collect();
        assert!(differing.is_empty(), "{d}: {differing:#?}");
        let in_force = if d == "2026-01-31" {
            vec![]
        } else {
            vec![r3.clone()]
        };
        assert_eq!(rebuilt.revisions_in_force, in_force, "{d}");
    }
}
