//! End-to-end: raw files in a store → `nightly` → validated partitions, rejects, datasets.

use envgov_curated::Curated;
use envgov_dataset::report::RunReport;
use envgov_e2e::{TempDir, read_csv};
use envgov_hj212::{DataFlag, SegmentBuilder, frame};
use envgov_pipeline::error::JobError;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::store::{LocalStore, Store};
use envgov_sample_data::{DefectRates, SampleConfig, generate};
use std::collections::BTreeMap;

fn small_sample(defects: bool) -> SampleConfig {
    let mut c = SampleConfig {
        units: 40,
        days: 3,
        ..SampleConfig::default()
    };
    if !defects {
        c.defects = DefectRates::none();
    }
    c
}

fn fill(store: &dyn Store, config: &SampleConfig) -> BTreeMap<String, u64> {
    let ledger = generate(config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    ledger.counts
}

/// Runs the nightly job. The small samples of these tests still carry every defect kind at
/// least once, which is a higher share of their few rows than the default 5 % limit allows.
fn nightly(store: &dyn Store) -> Result<RunReport, JobError> {
    let curated = Curated::load().unwrap();
    jobs::nightly(
        store,
        &curated,
        &NightlyOptions {
            max_reject_rate: 0.25,
            // Runs over two stores are compared byte for byte, signatures included.
            release: envgov_e2e::same_signing_key(),
            ..NightlyOptions::default()
        },
    )
}

/// All rejection rows of a source, from `rejects/{source}/date=*/rejects.csv`.
fn rejects(store: &dyn Store, source: &str) -> Vec<BTreeMap<String, String>> {
    let mut rows = Vec::new();
    for key in store.list(&format!("rejects/{source}/")).unwrap() {
        rows.extend(read_csv(&store.get(&key).unwrap().unwrap()));
    }
    rows
}

fn count(rows: &[BTreeMap<String, String>], reason: &str) -> u64 {
    rows.iter().filter(|r| r["reason_code"] == reason).count() as u64
}

/// A dataset as the last night published it (its publication: what its release serves at
/// `/datasets/{id}/{id}.csv`, or, of a dataset published a file a month, at
/// `/datasets/{id}/{id}-{YYYY-MM}.csv`, every month in order).
fn dataset(store: &dyn Store, id: &str) -> Vec<BTreeMap<String, String>> {
    let publication = envgov_pipeline::publication::Publication::staged(store).unwrap();
    let months = publication.month_paths(id, envgov_dataset::layout::Format::Csv);
    if months.is_empty() {
        return read_csv(&publication.read(store, &format!("{id}/{id}.csv")).unwrap());
    }
    months
        .values()
        .flat_map(|path| read_csv(&publication.read(store, path).unwrap()))
        .collect()
}

#[test]
fn every_injected_defect_is_rejected_or_flagged_with_its_reason() {
    let dir = TempDir::new("defects");
    let store = LocalStore::new(&dir.0);
    let injected = fill(&store, &small_sample(true));
    let report = nightly(&store).expect("a default sample stays under the reject-rate limit");
    report.check_accounting().unwrap();

    // Record- and value-level rejections: injected kind → (source, reason code).
    let expected = [
        ("cems/bad_crc", "cems", "bad_crc"),
        ("cems/truncated_packet", "cems", "truncated_packet"),
        ("cems/bad_length", "cems", "bad_length"),
        ("cems/duplicate_packet", "cems", "duplicate_packet"),
        ("cems/unknown_device", "cems", "unknown_device"),
        ("cems/sentinel_999", "cems", "sentinel_value"),
        ("cems/impossible_value", "cems", "impossible_value"),
        ("cems/whitespace_in_field", "cems", "whitespace_in_field"),
        (
            "self-monitoring/ragged_row",
            "self-monitoring",
            "ragged_row",
        ),
        (
            "self-monitoring/malformed_uscc",
            "self-monitoring",
            "malformed_uscc",
        ),
        (
            "self-monitoring/impossible_value",
            "self-monitoring",
            "impossible_value",
        ),
        (
            "self-monitoring/unknown_item",
            "self-monitoring",
            "unknown_item",
        ),
        ("vehicles/malformed_uscc", "vehicles", "malformed_uscc"),
        ("vehicles/unknown_fuel", "vehicles", "unknown_fuel"),
        ("vehicles/sector_mismatch", "vehicles", "sector_mismatch"),
        ("vehicles/bad_date", "vehicles", "bad_date"),
        ("sewage/missing_value", "sewage", "missing_value"),
        (
            "msw/treated_exceeds_received",
            "msw",
            "treated_exceeds_received",
        ),
        (
            "medical-waste/negative_value",
            "medical-waste",
            "negative_value",
        ),
        (
            "construction-waste/bad_district",
            "construction-waste",
            "unknown_district",
        ),
        (
            "livestock/utilised_exceeds_produced",
            "livestock",
            "utilised_exceeds_produced",
        ),
        ("livestock/unknown_species", "livestock", "unknown_species"),
    ];
    let mut by_source = BTreeMap::new();
    for (kind, source, reason) in expected {
        let n = *injected
            .get(kind)
            .unwrap_or_else(|| panic!("generator did not report {kind}"));
        assert!(n >= 1, "{kind} was never injected");
        let rows = by_source
            .entry(source)
            .or_insert_with(|| rejects(&store, source));
        assert_eq!(
            count(rows, reason),
            n,
            "{kind}: rejections with reason {reason}"
        );
    }
    // Bad timestamps are either unparseable or on another day.
    let sm = rejects(&store, "self-monitoring");
    assert_eq!(
        count(&sm, "bad_timestamp") + count(&sm, "outside_delivery_date"),
        injected["self-monitoring/bad_timestamp"]
    );
    // Sewage impossible values may be negative (a different reason, same row).
    let sewage = rejects(&store, "sewage");
    assert_eq!(
        count(&sewage, "impossible_value") + count(&sewage, "negative_value"),
        injected["sewage/impossible_value"]
    );

    // Every rejection names its file, line, field and reason.
    for rows in by_source.values() {
        for r in rows {
            assert!(r["raw_key"].starts_with("raw/"), "{r:?}");
            assert!(
                !r["reason"].is_empty() && !r["reason_code"].is_empty(),
                "{r:?}"
            );
            if r["reason_code"] != "undecodable_file" {
                assert!(r["line"].parse::<u64>().unwrap() >= 1, "{r:?}");
                assert!(!r["field"].is_empty(), "{r:?}");
            }
        }
    }

    // Device flags are kept, excluded from means and counted.
    let daily = dataset(&store, "cems-daily");
    let flagged: u64 = daily
        .iter()
        .map(|r| r["flagged_hours"].parse::<u64>().unwrap())
        .sum();
    assert!(flagged >= 1);
    let missing: u64 = daily
        .iter()
        .map(|r| r["missing_hours"].parse::<u64>().unwrap())
        .sum();
    assert!(
        missing >= injected["cems/gap"],
        "gaps show as missing hours"
    );
    // True exceedances reach the register.
    let register = dataset(&store, "exceedances");
    assert!(register.iter().any(|r| r["record_source"] == "cems-hourly"));
    assert!(
        register
            .iter()
            .any(|r| r["record_source"] == "self-monitoring")
    );
}

#[test]
fn clean_sample_has_no_rejections() {
    let dir = TempDir::new("clean");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    let report = nightly(&store).unwrap();
    let (read, accepted, rejected) = report.totals();
    assert_eq!(
        rejected,
        0,
        "{:?}",
        report
            .sources
            .iter()
            .map(|(k, v)| (k, &v.rejected_by_reason))
            .collect::<Vec<_>>()
    );
    assert_eq!(read, accepted);
    assert!(read > 1000);
}

/// Counts records in raw files independently of the validators: CSV data lines (header
/// excluded), registry lines and packet lines.
fn count_raw_records(store: &dyn Store, source: &str) -> u64 {
    let mut n = 0;
    for key in store.list(&format!("raw/{source}/")).unwrap() {
        if envgov_dataset::layout::parse_raw_key(&key).is_err() {
            continue;
        }
        let bytes = store.get(&key).unwrap().unwrap();
        let lines = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .count() as u64;
        n += if key.ends_with(".csv") {
            lines - 1
        } else {
            lines
        };
    }
    n
}

#[test]
fn every_raw_record_is_accounted_for() {
    let dir = TempDir::new("accounting");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(true));
    // Deliveries outside the layout are not read, but listed: nothing goes unnoticed.
    store
        .put("raw/noise-survey/2026-01-31/n.csv", b"a,b\n")
        .unwrap();
    store.put("raw/msw/31-01-2026/msw.csv", b"a,b\n").unwrap();
    let report = nightly(&store).unwrap();
    assert_eq!(
        report.unrecognised_raw_keys,
        vec![
            "raw/msw/31-01-2026/msw.csv",
            "raw/noise-survey/2026-01-31/n.csv"
        ]
    );
    for (source, counts) in &report.sources {
        // Ragged rows with embedded newlines are not generated, so lines == records.
        assert_eq!(counts.read, count_raw_records(&store, source), "{source}");
        assert_eq!(counts.read, counts.accepted + counts.rejected, "{source}");
        let record_rejects = rejects(&store, source)
            .iter()
            .filter(|r| r["scope"] == "record")
            .count() as u64;
        let whole_files: u64 = counts
            .files
            .iter()
            .filter(|f| f.file_error.is_some())
            .map(|f| f.rejected.saturating_sub(1))
            .sum();
        assert_eq!(record_rejects + whole_files, counts.rejected, "{source}");
    }
    let stored: RunReport = serde_json::from_slice(
        &store
            .get(&format!("runs/{}/report.json", report.run_date))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored.sources, report.sources);
}

/// Every published object: datasets and the rendered site.
fn datasets_snapshot(store: &dyn Store) -> BTreeMap<String, Vec<u8>> {
    let mut keys = store.list("datasets/").unwrap();
    keys.extend(store.list("site/").unwrap());
    keys.into_iter()
        .map(|k| {
            let b = store.get(&k).unwrap().unwrap();
            (k, b)
        })
        .collect()
}

#[test]
fn two_runs_over_the_same_raw_data_give_byte_identical_datasets() {
    let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
    let (sa, sb) = (LocalStore::new(&a.0), LocalStore::new(&b.0));
    fill(&sa, &small_sample(true));
    fill(&sb, &small_sample(true));
    let (ra, rb) = (nightly(&sa).unwrap(), nightly(&sb).unwrap());
    // The same data gives the same site release, made live by site/current.
    let release = ra
        .site_release
        .clone()
        .expect("the nightly run renders the site");
    assert_eq!(rb.site_release.as_ref(), Some(&release));
    assert_eq!(
        sa.get("site/current").unwrap(),
        Some(format!("{release}\n").into_bytes())
    );
    assert!(
        sa.get(&format!("site/releases/{release}/zh/index.html"))
            .unwrap()
            .is_some()
    );
    let (da, db) = (datasets_snapshot(&sa), datasets_snapshot(&sb));
    assert!(da.len() > 40);
    assert_eq!(da.keys().collect::<Vec<_>>(), db.keys().collect::<Vec<_>>());
    for (k, v) in &da {
        assert!(v == &db[k], "{k} differs between runs");
    }
    // A second night over the same store reuses validated history and changes nothing.
    let report = nightly(&sa).unwrap();
    assert!(
        report.validated_dates.is_empty(),
        "{:?}",
        report.validated_dates
    );
    // Incremental: the same night again uploads no site object.
    assert_eq!(report.site_uploaded, 0);
    assert!(report.site_skipped > 100, "{}", report.site_skipped);
    assert_eq!(ra.site_skipped, 0);
    let again = datasets_snapshot(&sa);
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        da.keys().collect::<Vec<_>>()
    );
    for (k, v) in &da {
        assert!(v == &again[k], "{k} changed on a re-run of the same night");
    }
}

#[test]
fn a_run_over_the_reject_rate_limit_fails_clearly_and_keeps_its_report() {
    let dir = TempDir::new("rate");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    // A whole day of MSW rows whose harmless tonnage exceeds the tonnage received.
    let date = "2026-01-31";
    let key = format!("raw/msw/{date}/msw.csv");
    let text = String::from_utf8(store.get(&key).unwrap().unwrap()).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines {
        let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
        cells[5] = "999999".into();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    store.put(&key, out.as_bytes()).unwrap();
    let curated = Curated::load().unwrap();
    let err = jobs::nightly(&store, &curated, &NightlyOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, JobError::RejectRate { .. }), "{message}");
    assert!(message.contains("msw"), "{message}");
    assert!(
        store
            .get(&format!("runs/{date}/report.json"))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.list("datasets/").unwrap(),
        Vec::<String>::new(),
        "nothing is published by a failed run"
    );
    assert_eq!(store.get("site/current").unwrap(), None);
}

// ---- Hand-computed compliance -------------------------------------------------------------

const INCINERATOR: &str = "91110105MA01ABCD5F";
const PLANT: &str = "9111010810200001XR";

fn registry_jsonl() -> String {
    let unit = |uscc: &str, district: &str, source_type: &str, outlets: serde_json::Value| {
        serde_json::json!({
            "uscc": uscc, "permit_no": format!("{uscc}001P"), "name_zh": "测试单位", "name_en": "Test unit",
            "district": district, "industry_code": "7820", "industry_zh": "环境卫生管理", "industry_en": "Environmental sanitation",
            "source_type": source_type, "address_zh": "北京市", "address_en": "Beijing", "lon": 116.4, "lat": 39.9,
            "disclosure_url": "https://example.org/d", "outlets": outlets, "facilities": []
        })
        .to_string()
    };
    let incinerator = unit(
        INCINERATOR,
        "110105",
        "msw-incinerator",
        serde_json::json!([
            {"code": "DA001", "name_zh": "1号焚烧线", "name_en": "Line 1", "medium": "air", "mn": "MNINC0001", "standard": "GB18485-2014",
             "discharge_method_zh": "有组织", "discharge_method_en": "Stack", "destination_zh": "大气", "destination_en": "Air",
             "pollutants": ["a21002", "a34013", "a21026"], "cems": true},
            {"code": "DW001", "name_zh": "废水总排口", "name_en": "Main wastewater outlet", "medium": "water", "standard": "DB11-307-2013-sewer",
             "discharge_method_zh": "间接排放", "discharge_method_en": "Indirect", "destination_zh": "市政管网", "destination_en": "Municipal sewer",
             "pollutants": ["w01018", "w21003"], "cems": false}
        ]),
    );
    let plant = unit(
        PLANT,
        "110108",
        "sewage-plant",
        serde_json::json!([
            {"code": "DW001", "name_zh": "出水口", "name_en": "Effluent", "medium": "water", "mn": "MNWWTP0001", "standard": "DB11-890-2012-new-B",
             "discharge_method_zh": "直接排放", "discharge_method_en": "Direct", "destination_zh": "清河", "destination_en": "Qing River",
             "pollutants": ["w01018", "w21003"], "cems": true}
        ]),
    );
    format!("{incinerator}\n{plant}\n")
}

fn hour_packet(mn: &str, st: &str, hour: u32, groups: &[String]) -> String {
    let t = format!("20260115{hour:02}0000");
    let mut b = SegmentBuilder::new(&format!("{t}000"), st, "2061", "123456", mn, &t);
    for g in groups {
        b = b.raw_group(g);
    }
    frame(&b.build())
}

fn air_group(code: &str, v: &str, flag: DataFlag) -> String {
    format!(
        "{code}-Avg={v},{code}-ZsAvg={v},{code}-Min={v},{code}-Max={v},{code}-Cou=1.5,{code}-Flag={flag}"
    )
}

fn cems_file() -> String {
    let mut out = String::new();
    for h in 0..24 {
        // NOx: 310 at 00:00 (over the 300 hourly limit), maintenance at 01:00, a sentinel at
        // 02:00, 260 for the remaining 21 hours.
        let nox = match h {
            0 => air_group("a21002", "310", DataFlag::Normal),
            1 => air_group("a21002", "500", DataFlag::Maintenance),
            2 => air_group("a21002", "-999", DataFlag::Normal),
            _ => air_group("a21002", "260", DataFlag::Normal),
        };
        // Particulate: calibration from 05:00 to 08:00, 8 mg/m3 otherwise (20 valid hours).
        let pm = air_group(
            "a34013",
            "8",
            if (5..9).contains(&h) {
                DataFlag::Calibration
            } else {
                DataFlag::Normal
            },
        );
        // SO2: device fault from 00:00 to 04:00, 90 mg/m3 otherwise (19 valid hours).
        let so2 = air_group(
            "a21026",
            "90",
            if h < 5 {
                DataFlag::Fault
            } else {
                DataFlag::Normal
            },
        );
        let packet = hour_packet("MNINC0001", "31", h, &[nox, pm, so2]);
        out.push_str(&packet);
        if h == 3 {
            out.push_str(&packet); // delivered twice
        }
        let water = [
            "w01018-Avg=20,w01018-Min=20,w01018-Max=20,w01018-Cou=10,w01018-Flag=N".to_string(),
            "w21003-Avg=2.6,w21003-Min=2.6,w21003-Max=2.6,w21003-Cou=1,w21003-Flag=N".to_string(),
        ];
        out.push_str(&hour_packet("MNWWTP0001", "32", h, &water));
    }
    // One packet whose CRC was damaged in transit.
    let bad = hour_packet(
        "MNWWTP0001",
        "32",
        23,
        &["w01018-Avg=21,w01018-Flag=N".to_string()],
    );
    out.push_str(&format!("{}FFFF\r\n", &bad[..bad.len() - 6]));
    out
}

fn self_monitoring_gb18030() -> Vec<u8> {
    let text = "统一社会信用代码,企业名称,监测点位,监测时间,监测项目,监测结果,标准限值,单位,是否达标,超标倍数,执行标准,排放去向,排放方式,未监测原因\n\
        91110105MA01ABCD5F,测试单位,DW001,2026-01-15 10:00,化学需氧量,600,500,mg/L,否,0.2,DB11/307-2013 表3,市政管网,间接排放,\n\
        91110105MA01ABCD5F,测试单位,DW001,2026-01-15 10:00,氨氮,30,45,mg/L,是,,DB11/307-2013 表3,市政管网,间接排放,\n\
        91110105MA01ABCD5F,测试单位,DW001,2026-01-15 11:00,化学需氧量,ND,500,mg/L,是,,DB11/307-2013 表3,市政管网,间接排放,\n\
        91110105MA01ABCD5G,测试单位,DW001,2026-01-15 10:00,氨氮,30,45,mg/L,是,,DB11/307-2013 表3,市政管网,间接排放,\n\
        91110105MA01ABCD5F,测试单位,DW001,2026-01-15 10:00,氨氮,30\n";
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture must really be GB18030, not UTF-8"
    );
    bytes.into_owned()
}

fn hand_store(dir: &TempDir) -> LocalStore {
    let store = LocalStore::new(&dir.0);
    store
        .put(
            "raw/enterprises/2026-01-15/registry.jsonl",
            registry_jsonl().as_bytes(),
        )
        .unwrap();
    store
        .put(
            "raw/cems/2026-01-15/cems-110105.hj212",
            cems_file().as_bytes(),
        )
        .unwrap();
    store
        .put(
            "raw/self-monitoring/2026-01-15/sm-110105.csv",
            &self_monitoring_gb18030(),
        )
        .unwrap();
    store
}

fn row(
    rows: &[BTreeMap<String, String>],
    pred: impl Fn(&BTreeMap<String, String>) -> bool,
) -> &BTreeMap<String, String> {
    let found: Vec<_> = rows.iter().filter(|r| pred(r)).collect();
    assert_eq!(found.len(), 1, "expected exactly one matching row");
    found[0]
}

#[test]
fn compliance_matches_hand_computation_from_the_standards() {
    let dir = TempDir::new("hand");
    let store = hand_store(&dir);
    let curated = Curated::load().unwrap();
    let opts = NightlyOptions {
        max_reject_rate: 0.5,
        ..NightlyOptions::default()
    };
    let report = jobs::nightly(&store, &curated, &opts).unwrap();

    // Accounting: 48 hourly packets + 1 duplicate + 1 bad CRC; 5 self-monitoring rows.
    let cems = &report.sources["cems"];
    assert_eq!((cems.read, cems.accepted, cems.rejected), (50, 48, 2));
    assert_eq!(cems.rejected_by_reason.get("duplicate_packet"), Some(&1));
    assert_eq!(cems.rejected_by_reason.get("bad_crc"), Some(&1));
    let sm = &report.sources["self-monitoring"];
    assert_eq!((sm.read, sm.accepted, sm.rejected), (5, 3, 2));
    assert_eq!(sm.files[0].encoding, "gb18030");
    assert_eq!(sm.rejected_by_reason.get("malformed_uscc"), Some(&1));
    assert_eq!(sm.rejected_by_reason.get("ragged_row"), Some(&1));

    let daily = dataset(&store, "cems-daily");
    // NOx (GB 18485-2014: 1-hour 300, 24-hour 250 mg/m3). Valid hours: 00:00 and 03:00-23:00
    // = 22. Mean = (310 + 21 × 260) / 22 = 5770 / 22 = 262.272727...; over 250 by
    // (262.272727 - 250) / 250 = 0.049091.
    let nox = row(&daily, |r| r["pollutant"] == "a21002");
    assert_eq!(nox["hours_reported"], "24");
    assert_eq!(nox["valid_hours"], "22");
    assert_eq!(nox["flagged_hours"], "1");
    assert_eq!(nox["excluded_values"], "1");
    assert_eq!(nox["value_sum"], "5770");
    assert_eq!(nox["daily_mean"], "262.272727");
    assert_eq!(nox["daily_limit"], "250");
    assert_eq!(nox["daily_compliant"], "false");
    assert_eq!(nox["daily_exceedance_multiple"], "0.049091");
    assert_eq!(nox["hourly_exceedances"], "1");
    assert_eq!(nox["mass_kg"], "33", "1.5 kg in each of 22 valid hours");
    // Particulate: exactly 20 valid hours, enough for a daily mean of 8 (limit 20).
    let pm = row(&daily, |r| r["pollutant"] == "a34013");
    assert_eq!(
        (
            pm["valid_hours"].as_str(),
            pm["daily_mean"].as_str(),
            pm["daily_compliant"].as_str()
        ),
        ("20", "8", "true")
    );
    // SO2: 19 valid hours is not enough: no daily mean, no judgment, not zero.
    let so2 = row(&daily, |r| r["pollutant"] == "a21026");
    assert_eq!(
        (
            so2["valid_hours"].as_str(),
            so2["daily_mean"].as_str(),
            so2["daily_compliant"].as_str()
        ),
        ("19", "", "")
    );
    // Sewage plant, DB11/890-2012 new plant class B: NH3-N 2.5 mg/L from December to March.
    // 2.6 is over by (2.6 - 2.5) / 2.5 = 0.04.
    let nh3 = row(&daily, |r| r["uscc"] == PLANT && r["pollutant"] == "w21003");
    assert_eq!(
        (
            nh3["daily_mean"].as_str(),
            nh3["daily_limit"].as_str(),
            nh3["daily_exceedance_multiple"].as_str()
        ),
        ("2.6", "2.5", "0.04")
    );

    let register = dataset(&store, "exceedances");
    assert_eq!(register.len(), 4, "{register:#?}");
    let hourly = row(&register, |r| r["record_source"] == "cems-hourly");
    assert_eq!(
        (
            hourly["observed_at"].as_str(),
            hourly["value"].as_str(),
            hourly["limit"].as_str()
        ),
        ("2026-01-15T00:00:00+08:00", "310", "300")
    );
    // (310 - 300) / 300 = 0.033333
    assert_eq!(hourly["exceedance_multiple"], "0.033333");
    assert!(hourly["raw_key"].ends_with("cems-110105.hj212") && hourly["raw_line"] == "1");
    // DB11/307-2013 table 3 (to public sewers): COD 500 mg/L; 600 is over by 0.2.
    let sample = row(&register, |r| r["record_source"] == "self-monitoring");
    assert_eq!(
        (
            sample["value"].as_str(),
            sample["limit"].as_str(),
            sample["exceedance_multiple"].as_str()
        ),
        ("600", "500", "0.2")
    );
    assert_eq!(sample["raw_line"], "2");
    assert_eq!(sample["name_zh"], "测试单位");

    // The declared judgment agrees with envgov's check on every accepted sample.
    let samples = dataset(&store, "self-monitoring");
    assert_eq!(samples.len(), 3);
    assert!(
        samples
            .iter()
            .all(|r| r["declaration_consistent"] != "false")
    );
}

/// Each unit's downloads in the live release are its rows of the published dataset CSV:
/// split here independently by the `uscc` column with the csv crate, and compared line
/// for line; units without rows get the header alone. Of a dataset published a file a month
/// a unit's downloads are a file a month (`{dataset}-{YYYY-MM}.csv`), its rows of that
/// month's file, and a unit without rows in a month has no file of it.
#[test]
fn unit_downloads_are_the_units_rows_of_the_published_csv() {
    let dir = TempDir::new("unit-downloads");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(true));
    let report = nightly(&store).unwrap();
    let release = report.site_release.unwrap();
    let enterprises = store
        .list(&format!("site/releases/{release}/downloads/enterprises/"))
        .unwrap();
    for dataset in [
        "exceedances",
        "cems-daily",
        "emission-totals",
        "self-monitoring",
    ] {
        // The stable URL's files: the live release's (of a monthly dataset, a file a month).
        let folder = format!("site/releases/{release}/datasets/{dataset}/");
        let mut names: Vec<(String, String)> = store
            .list(&folder)
            .unwrap()
            .into_iter()
            .filter_map(|k| {
                let name = k[folder.len()..].to_string();
                if name == format!("{dataset}.csv") {
                    return Some((format!("{dataset}.csv"), k));
                }
                let month = envgov_dataset::layout::month_of_file(dataset, &name)?;
                name.ends_with(".csv")
                    .then(|| (format!("{dataset}-{month}.csv"), k.clone()))
            })
            .collect();
        names.sort();
        assert!(!names.is_empty(), "{dataset}: no CSV file in the release");
        let monthly = names[0].0 != format!("{dataset}.csv");
        let mut checked = 0;
        for (download, key) in names {
            let text = String::from_utf8(store.get(&key).unwrap().unwrap()).unwrap();
            let by_unit = lines_by_unit(&text);
            let header = by_unit[""].as_str();
            let files: Vec<&String> = enterprises
                .iter()
                .filter(|k| k.ends_with(&format!("/{download}")))
                .collect();
            for key in &files {
                let uscc = key.rsplit('/').nth(1).unwrap();
                let got = String::from_utf8(store.get(key).unwrap().unwrap()).unwrap();
                let rows = by_unit.get(uscc).map(String::as_str).unwrap_or("");
                assert!(
                    !(monthly && rows.is_empty()),
                    "{key}: a month file without rows"
                );
                assert!(
                    got == format!("\u{feff}{header}{rows}"),
                    "{key} differs from its rows of {download}"
                );
                checked += 1;
            }
            if monthly {
                // Every unit with rows in the month has its file of the month.
                assert_eq!(files.len(), by_unit.len() - 1, "{download}");
            }
        }
        assert!(checked >= 10, "{dataset}: {checked} files");
    }
}

/// The lines of a published CSV (BOM, header, CRLF rows) by the unit of their `uscc` field
/// (parsed, so quoting cannot fool it), each unit's in order; the header under `""`.
fn lines_by_unit(text: &str) -> BTreeMap<String, String> {
    assert!(text.starts_with('\u{feff}'));
    let mut lines = text.trim_start_matches('\u{feff}').split_inclusive("\r\n");
    let header = lines.next().unwrap();
    let uscc_col = header
        .trim_end()
        .split(',')
        .position(|c| c == "uscc")
        .unwrap();
    let mut by_unit: BTreeMap<String, String> = BTreeMap::new();
    by_unit.insert(String::new(), header.to_string());
    for line in lines {
        let record = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        by_unit
            .entry(record[uscc_col].to_string())
            .or_default()
            .push_str(line);
    }
    by_unit
}

/// A partition is reused only with the bytes its manifest was written with. Here the
/// partition of one day is replaced by another day's (what two writers racing on one
/// partition can leave behind: one's data under the other's manifest): the next night
/// re-validates that day and restores exactly the bytes of the first run.
#[test]
fn a_partition_that_does_not_match_its_manifest_is_validated_again() {
    let dir = TempDir::new("partition-hash");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    nightly(&store).unwrap();
    let day = |d: &str| format!("validated/cems/date={d}/part.parquet");
    let keys = store.list("validated/cems/").unwrap();
    let days: Vec<&str> = keys
        .iter()
        .filter(|k| k.ends_with("/part.parquet"))
        .map(|k| k.split("date=").nth(1).unwrap().split('/').next().unwrap())
        .collect();
    assert!(days.len() >= 2, "{days:?}");
    let (first, second) = (days[0], days[1]);
    let original = store.get(&day(first)).unwrap().unwrap();
    let other = store.get(&day(second)).unwrap().unwrap();
    assert_ne!(original, other);
    store.put(&day(first), &other).unwrap();

    let report = nightly(&store).unwrap();
    assert_eq!(report.validated_dates, vec![first.to_string()]);
    assert_eq!(store.get(&day(first)).unwrap().unwrap(), original);
    // And with the store whole again, nothing is validated.
    assert!(nightly(&store).unwrap().validated_dates.is_empty());
}

// --- Hardening (issue 8): one delivery cannot stop, hijack or corrupt a night. ---------

fn nightly_with(store: &dyn Store, opts: NightlyOptions<'_>) -> Result<RunReport, JobError> {
    let curated = Curated::load().unwrap();
    jobs::nightly(
        store,
        &curated,
        &NightlyOptions {
            max_reject_rate: 0.25,
            ..opts
        },
    )
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const MSW_HEADER: &str =
    "统一社会信用代码,设施名称,日期,处理方式,进场量(t),无害化处理量(t),资源化产品量(t)\n";

#[test]
fn a_delivery_dated_2099_neither_chooses_the_night_nor_is_published() {
    let dir = TempDir::new("future");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    let future = "raw/msw/2099-01-01/x.csv";
    store.put(future, MSW_HEADER.as_bytes()).unwrap();

    // The next scheduled night (1 February in Beijing, no explicit date): the latest date
    // with data on or before today, the sample's last day, never 2099.
    let report = nightly_with(
        &store,
        NightlyOptions {
            today: Some(date("2026-02-01")),
            ..NightlyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.run_date, "2026-01-31");
    assert_eq!(report.held_back.len(), 1, "{:?}", report.held_back);
    assert_eq!(report.held_back[0].key, future);
    assert_eq!(report.held_back[0].reason_code, "future_date");
    // Not validated, not counted: no partition, no msw file of 2099 in the report.
    assert!(
        store
            .get("validated/msw/date=2099-01-01/manifest.json")
            .unwrap()
            .is_none()
    );
    assert!(
        report.sources["msw"].files.iter().all(|f| f.key != future),
        "a held-back file is not read"
    );
    assert!(report.datasets.values().any(|rows| *rows > 0));
    assert!(store.get("runs/2026-01-31/report.json").unwrap().is_some());
    assert!(store.get("runs/2099-01-01/report.json").unwrap().is_none());
    // An explicitly scheduled night holds it back too.
    let report = nightly_with(
        &store,
        NightlyOptions {
            date: Some(date("2026-01-30")),
            ..NightlyOptions::default()
        },
    )
    .unwrap();
    assert!(report.held_back.iter().any(|h| h.key == future));
    assert!(
        report
            .held_back
            .iter()
            .all(|h| h.date.as_str() > "2026-01-30"),
        "only deliveries after the night are held back: {:?}",
        report.held_back
    );
}

#[test]
fn a_hostile_redelivery_is_reported_and_the_night_still_publishes_the_original() {
    let dir = TempDir::new("redelivery");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    let first = nightly(&store).unwrap();
    assert!(first.raw_conflicts.is_empty());
    let key = store
        .list("raw/msw/2026-01-30/")
        .unwrap()
        .into_iter()
        .next()
        .expect("the sample delivers msw daily");
    let original = store.get(&key).unwrap().unwrap();
    let partition = "validated/msw/date=2026-01-30/part.parquet";
    let partition_before = store.get(partition).unwrap().unwrap();
    // The provider overwrites the delivered key with other bytes.
    let hostile = format!("{MSW_HEADER}91110000000000000X,伪造,2026-01-30,焚烧,1,1,0\n");
    store.put(&key, hostile.as_bytes()).unwrap();

    let report = nightly(&store).expect("a changed delivery never stops the night");
    assert_eq!(report.raw_conflicts.len(), 1, "{:?}", report.raw_conflicts);
    let c = &report.raw_conflicts[0];
    assert_eq!(c.key, key);
    assert_eq!(
        c.recorded_sha256,
        envgov_pipeline::ledger::sha256_hex(&original)
    );
    assert_eq!(
        c.found_sha256,
        envgov_pipeline::ledger::sha256_hex(hostile.as_bytes())
    );
    // The ledger keeps the first hash; the published msw rows are those of the original.
    let ledger: serde_json::Value =
        serde_json::from_slice(&store.get("runs/raw-ledger.json").unwrap().unwrap()).unwrap();
    assert_eq!(ledger["files"][&key]["sha256"], c.recorded_sha256.as_str());
    assert_eq!(
        store.get(partition).unwrap().unwrap(),
        partition_before,
        "the partition validated from the original bytes stays in force"
    );
    assert_eq!(report.sources["msw"], first.sources["msw"]);
    assert_eq!(
        report.datasets, first.datasets,
        "the night published every dataset"
    );
    // The written report says so too.
    let stored: RunReport = serde_json::from_slice(
        &store
            .get(&format!("runs/{}/report.json", report.run_date))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored.raw_conflicts, report.raw_conflicts);
}

#[test]
fn a_registry_rejected_whole_leaves_the_last_good_registry_in_force() {
    let (good, bad) = (TempDir::new("reg-good"), TempDir::new("reg-bad"));
    let (sg, sb) = (LocalStore::new(&good.0), LocalStore::new(&bad.0));
    fill(&sg, &small_sample(false));
    fill(&sb, &small_sample(false));
    // The sample delivers its registry on its first day; a second delivery on the last day
    // arrives in GBK (not UTF-8, so rejected whole: every line).
    let first = sb.list("raw/enterprises/").unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    let utf8 = String::from_utf8(sb.get(&first[0]).unwrap().unwrap()).unwrap();
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&utf8);
    assert!(!lossy);
    let lines = utf8.lines().filter(|l| !l.is_empty()).count() as u64;
    sb.put("raw/enterprises/2026-01-31/registry.jsonl", &gbk)
        .unwrap();

    let (rg, rb) = (nightly(&sg).unwrap(), nightly(&sb).unwrap());
    assert_eq!(rb.registry_held.len(), 1, "{:?}", rb.registry_held);
    let held = &rb.registry_held[0];
    assert_eq!(held.date, "2026-01-31");
    assert_eq!(held.reason_code, "registry_empty");
    assert_eq!(held.units, 0);
    assert_eq!(held.kept_units, 40, "the sample's 40 units stay in force");
    assert_eq!(rb.registry_in_force.as_deref(), Some("2026-01-29"));
    // The whole file is rejected and counted.
    let reg_file = rb.sources["enterprises"]
        .files
        .iter()
        .find(|f| f.key == "raw/enterprises/2026-01-31/registry.jsonl")
        .unwrap();
    assert_eq!((reg_file.read, reg_file.rejected), (lines, lines));
    // CEMS packets of that day still find their devices: the same outcome as without it.
    let unknown = |r: &RunReport| {
        r.sources["cems"]
            .rejected_by_reason
            .get("unknown_device")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(unknown(&rb), unknown(&rg));
    assert_eq!(rb.sources["cems"].accepted, rg.sources["cems"].accepted);
    let in_force = envgov_pipeline::registry::registry_on(&sb, date("2026-01-31")).unwrap();
    assert_eq!(in_force.units.len(), 40);
    assert!(!in_force.devices.is_empty());

    // An operator confirms the delivery: the next night puts the (empty) registry in force.
    sb.put(
        &envgov_dataset::layout::registry_acceptance_key("2026-01-31").unwrap(),
        b"{}\n",
    )
    .unwrap();
    assert!(
        envgov_pipeline::registry::registry_on(&sb, date("2026-01-31"))
            .unwrap()
            .units
            .is_empty()
    );
}

#[test]
fn a_registry_shrinking_past_the_limit_is_held_until_accepted() {
    // Computed from the rule: 40 units in force, 31 delivered = 9 removed = 22.5 % > 20 %;
    // 32 delivered = 8 removed = 20 %, not more than the limit.
    assert!(envgov_pipeline::registry::registry_hold(31, Some(40), false, 0.2).is_some());
    assert!(envgov_pipeline::registry::registry_hold(32, Some(40), false, 0.2).is_none());
    assert!(envgov_pipeline::registry::registry_hold(31, Some(40), true, 0.2).is_none());
    assert!(envgov_pipeline::registry::registry_hold(0, Some(40), false, 0.2).is_some());
    assert!(envgov_pipeline::registry::registry_hold(0, None, false, 0.2).is_none());
    assert!(envgov_pipeline::registry::registry_hold(41, Some(40), false, 0.2).is_none());
}

#[test]
fn a_no_change_night_reads_no_raw_file_and_rehash_reads_them_all() {
    let dir = TempDir::new("trust");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    let first = nightly(&store).unwrap();
    let files = store.list("raw/").unwrap().len() as u64;
    assert_eq!(first.raw_files.listed, files);
    assert_eq!(
        (first.raw_files.hashed, first.raw_files.new),
        (files, files)
    );
    let second = nightly(&store).unwrap();
    assert_eq!(second.raw_files.new, 0);
    // Only the rotating sample (about 1 in 30) is re-read.
    assert!(
        second.raw_files.hashed < files,
        "{} of {files} re-hashed",
        second.raw_files.hashed
    );
    assert_eq!(
        second.raw_files.hashed + second.raw_files.trusted,
        second.raw_files.listed
    );
    let all = nightly_with(
        &store,
        NightlyOptions {
            rehash: true,
            ..NightlyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(all.raw_files.hashed, files);
    assert!(all.raw_conflicts.is_empty());
}

#[test]
fn an_oversized_file_is_rejected_whole_with_its_line_count_unread() {
    let dir = TempDir::new("oversized");
    let store = LocalStore::new(&dir.0);
    fill(&store, &small_sample(false));
    // The limit: the largest delivered file, so that only the new one is over it.
    let limit = store
        .list_meta("raw/")
        .unwrap()
        .iter()
        .map(|m| m.size)
        .max()
        .unwrap();
    // Header + 3 rows = 4 non-empty lines; the last row padded to one byte over the limit.
    let row = "91110000000000000X,设施,2026-01-31,焚烧,100,100,0";
    let mut big = format!("{MSW_HEADER}{row}\n{row}\n{row}").into_bytes();
    let size = limit as usize + 1;
    assert!(big.len() < size);
    big.resize(size - 1, b' ');
    big.push(b'\n');
    let key = "raw/msw/2026-01-31/big.csv";
    store.put(key, &big).unwrap();
    let report = nightly_with(
        &store,
        NightlyOptions {
            max_file_bytes: limit,
            ..NightlyOptions::default()
        },
    )
    .unwrap();
    let f = report.sources["msw"]
        .files
        .iter()
        .find(|f| f.key == key)
        .unwrap();
    assert_eq!((f.read, f.accepted, f.rejected), (4, 0, 4));
    assert_eq!(f.bytes, limit + 1);
    assert!(f.file_error.as_deref().unwrap().contains("over the limit"));
    let rows = rejects(&store, "msw");
    assert_eq!(
        rows.iter()
            .filter(|r| r["reason_code"] == "file_too_large" && r["raw_key"] == key)
            .count(),
        1
    );
    report.check_accounting().unwrap();
}
