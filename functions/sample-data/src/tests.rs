//! Behaviour tests of the generator: determinism, valid identifiers, parseable packets,
//! encodings, and a small independent checker that re-finds every injected defect so the
//! ledger can be reconciled with the files. Test-only; reads and writes no files.

use super::*;
use chrono::NaiveDateTime;
use envgov_curated::{Curated, Period};
use envgov_dataset::ids::{DISTRICTS, check_facility, check_outlet, check_permit, check_uscc};
use envgov_dataset::layout::parse_raw_key;
use envgov_hj212::{DataFlag, Diagnostic, PacketError, parse};
use std::collections::{BTreeMap, BTreeSet};

type Files = BTreeMap<String, Vec<u8>>;

fn small(defects: DefectRates) -> SampleConfig {
    SampleConfig {
        units: 40,
        days: 3,
        defects,
        ..SampleConfig::default()
    }
}

fn run(config: &SampleConfig) -> (Files, Vec<String>, DefectLedger) {
    let mut files = Files::new();
    let mut order = Vec::new();
    let ledger = generate(config, &mut |key, bytes| {
        order.push(key.clone());
        assert!(
            files.insert(key.clone(), bytes).is_none(),
            "{key} emitted twice"
        );
    });
    (files, order, ledger)
}

/// Strict UTF-8 (BOM stripped) first, then GB18030, which must decode without errors.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_string(),
        Err(_) => {
            let (t, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            assert!(!had_errors, "neither UTF-8 nor GB18030");
            t.into_owned()
        }
    }
}

/// Splits CSV text into records (RFC 4180 quoting, CRLF or LF line ends).
fn records(t: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, t.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                out.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        !quoted && cell.is_empty() && row.is_empty(),
        "file must end with a line end"
    );
    out
}

fn rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut all = records(&text(bytes));
    let header = all.remove(0);
    (header, all)
}

fn registry(files: &Files) -> Vec<serde_json::Value> {
    let (_, bytes) = files
        .iter()
        .find(|(k, _)| k.ends_with("/registry.jsonl"))
        .expect("a registry");
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// Re-finds injected defects the way a validator would, by ledger key.
fn observe(files: &Files) -> BTreeMap<String, u64> {
    let curated = Curated::load().unwrap();
    let units = registry(files);
    let mut seen: BTreeMap<String, u64> = DEFECT_KINDS
        .iter()
        .map(|k| (k.key.to_string(), 0))
        .collect();
    let mut add = |k: &str| *seen.get_mut(k).unwrap() += 1;
    // mn -> standard id
    let mut outlets: BTreeMap<String, String> = BTreeMap::new();
    for u in &units {
        for o in u["outlets"].as_array().unwrap() {
            if let Some(mn) = o["mn"].as_str() {
                outlets.insert(mn.to_string(), o["standard"].as_str().unwrap().to_string());
            }
        }
    }
    let usccs: BTreeSet<&str> = units.iter().map(|u| u["uscc"].as_str().unwrap()).collect();
    let plants: Vec<&str> = units
        .iter()
        .filter(|u| u["source_type"] == "sewage-plant")
        .map(|u| u["uscc"].as_str().unwrap())
        .collect();
    for (key, bytes) in files {
        let (source, date, file) = parse_raw_key(key).unwrap();
        let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap();
        let month = day.month();
        match source {
            Source::Cems => {
                let t = std::str::from_utf8(bytes).unwrap();
                let lines: Vec<&str> = t.split_inclusive("\r\n").collect();
                let (mut daily, mut unknown, mut dups) = (0u64, 0u64, 0u64);
                for (i, line) in lines.iter().enumerate() {
                    assert!(line.ends_with("\r\n"));
                    let p = match parse(line.as_bytes()) {
                        Ok(p) => p,
                        Err(PacketError::CrcMismatch { .. }) => {
                            add("cems/bad_crc");
                            continue;
                        }
                        Err(PacketError::Truncated { .. }) => {
                            add("cems/truncated_packet");
                            continue;
                        }
                        Err(PacketError::LengthMismatch { .. }) => {
                            add("cems/bad_length");
                            continue;
                        }
                        Err(e) => panic!("{key}: unexpected {e}: {line}"),
                    };
                    if i > 0 && lines[i - 1] == *line {
                        dups += 1;
                        add("cems/duplicate_packet");
                        continue;
                    }
                    let dt = p.data_time.as_deref().unwrap();
                    assert_eq!(&dt[..8], date.replace('-', ""), "{key}");
                    let Some(standard) = outlets.get(&p.mn) else {
                        unknown += 1;
                        add("cems/unknown_device");
                        continue;
                    };
                    if p.cn == "2031" {
                        daily += 1;
                        continue;
                    }
                    assert_eq!(p.cn, "2061");
                    let st = curated.standards.get(standard).unwrap();
                    if p.diagnostics
                        .iter()
                        .any(|d| matches!(d, Diagnostic::WhitespaceInField { .. }))
                    {
                        add("cems/whitespace_in_field");
                    }
                    for m in &p.measurements {
                        let avg = m.avg.unwrap();
                        match m.flag.unwrap() {
                            DataFlag::Normal => {}
                            f => {
                                add(&format!("cems/flag_{}", f.code()));
                                continue;
                            }
                        }
                        if avg == -999.0 {
                            add("cems/sentinel_999");
                        } else if avg < 0.0 || (m.code == "w01001" && avg > 14.0) {
                            add("cems/impossible_value");
                        } else if let Some(l) = st.limit(&m.code, Period::Hourly) {
                            if m.zs_avg.unwrap_or(avg) > l.upper_for_month(month) {
                                add("cems/true_exceedance");
                            }
                        } else if let Some(l) = st.limit(&m.code, Period::Daily)
                            && m.code != "w01001"
                            && avg > l.upper_for_month(month)
                        {
                            add("cems/true_exceedance");
                        }
                    }
                }
                // Every outlet sends 24 hourly packets and one daily packet, minus gaps.
                let hourly_lines = lines.len() as u64 - daily - unknown - dups;
                for _ in 0..(24 * daily - hourly_lines) {
                    add("cems/gap");
                }
            }
            Source::SelfMonitoring => {
                let (header, rows) = rows(bytes);
                assert_eq!(header, self_monitoring::HEADER);
                for r in rows {
                    if r.len() != 14 {
                        add("self-monitoring/ragged_row");
                        continue;
                    }
                    if check_uscc(&r[0]).is_err() {
                        add("self-monitoring/malformed_uscc");
                    }
                    let ts = NaiveDateTime::parse_from_str(&r[3], "%Y-%m-%d %H:%M");
                    if ts.map(|t| t.date() != day).unwrap_or(true) {
                        add("self-monitoring/bad_timestamp");
                    }
                    if curated.pollutants.by_item(&r[4]).is_none() {
                        add("self-monitoring/unknown_item");
                    }
                    if let Some(v) = number(&r[5]) {
                        if v < 0.0 {
                            add("self-monitoring/impossible_value");
                        } else if v > number(&r[6]).unwrap() {
                            assert_eq!(r[8], "否");
                            let limit = number(&r[6]).unwrap();
                            assert!(
                                (number(&r[9]).unwrap() - (v - limit) / limit).abs() < 6e-4,
                                "{r:?}"
                            );
                            add("self-monitoring/true_exceedance");
                        } else {
                            assert!(r[8] == "是" && r[9].is_empty(), "{r:?}");
                        }
                    } else if r[13].is_empty() {
                        assert!(r[5] == "ND" || r[5] == "未检出", "{r:?}");
                    }
                    assert!(curated.standards.by_code(&r[10]).is_some(), "{r:?}");
                }
            }
            Source::Vehicles => {
                let (header, rows) = rows(bytes);
                assert_eq!(header, vehicles::HEADER);
                let label = match file.as_str() {
                    "bus.csv" => "公交",
                    "road-transport.csv" => "道路运输",
                    "sanitation.csv" => "环卫",
                    "postal.csv" => "邮政",
                    "express.csv" => "快递",
                    "taxi.csv" => "出租",
                    f => panic!("unexpected {f}"),
                };
                for r in rows {
                    assert_eq!(r.len(), 9);
                    if check_uscc(&r[0]).is_err() {
                        add("vehicles/malformed_uscc");
                    }
                    if r[2] != label {
                        add("vehicles/sector_mismatch");
                    }
                    if ![
                        "汽油",
                        "柴油",
                        "天然气",
                        "纯电动",
                        "插电式混合动力",
                        "燃料电池",
                    ]
                    .contains(&r[4].as_str())
                    {
                        add("vehicles/unknown_fuel");
                    }
                    if NaiveDate::parse_from_str(&r[6], "%Y-%m-%d").is_err() {
                        add("vehicles/bad_date");
                    }
                    assert!(r[3].starts_with("京") && r[3].contains('*'), "{r:?}");
                }
            }
            Source::Sewage => {
                let (header, rows) = rows(bytes);
                assert_eq!(header, waste::SEWAGE_HEADER);
                let codes = ["w01018", "w01017", "w01012", "w21003", "w21001", "w21011"];
                // Every registered sewage plant reports; smaller town plants may too.
                let listed: BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
                assert!(plants.iter().all(|p| listed.contains(p)), "{key}");
                for r in &rows {
                    assert!(check_uscc(&r[0]).is_ok());
                    let st = curated.standards.get(&r[3]).unwrap();
                    if r.iter().any(String::is_empty) {
                        add("sewage/missing_value");
                    } else if r[4..].iter().any(|c| number(c).unwrap() < 0.0) {
                        add("sewage/impossible_value");
                    } else if codes.iter().zip(&r[5..]).any(|(p, c)| {
                        number(c).unwrap() > st.sample_limit(p).unwrap().upper_for_month(month)
                    }) {
                        add("sewage/true_exceedance");
                    }
                }
            }
            Source::Msw => {
                for r in rows(bytes).1 {
                    if number(&r[5]).unwrap() > number(&r[4]).unwrap() {
                        add("msw/treated_exceeds_received");
                    }
                }
            }
            Source::MedicalWaste => {
                for r in rows(bytes).1 {
                    assert!(usccs.contains(r[2].as_str()));
                    if number(&r[3]).unwrap() < 0.0 || number(&r[4]).unwrap() < 0.0 {
                        add("medical-waste/negative_value");
                    }
                }
            }
            Source::ConstructionWaste => {
                for r in rows(bytes).1 {
                    if !DISTRICTS.iter().any(|d| d.code == r[2]) {
                        add("construction-waste/bad_district");
                    }
                }
            }
            Source::Livestock => {
                for r in rows(bytes).1 {
                    assert!(DISTRICTS.iter().any(|d| d.code == r[2]));
                    if !["生猪", "奶牛", "肉牛", "蛋鸡", "肉鸡"].contains(&r[3].as_str())
                    {
                        add("livestock/unknown_species");
                    }
                    let produced = number(&r[7]).unwrap();
                    let used: f64 = [8, 9, 10, 12].iter().map(|&i| number(&r[i]).unwrap()).sum();
                    if used > produced + 1e-9 {
                        add("livestock/utilised_exceeds_produced");
                    }
                }
            }
            Source::Enterprises => {}
        }
    }
    seen
}

#[test]
fn csv_records_follow_rfc_4180_quoting() {
    let r = records("a,\"b,\"\"c\"\"\"\r\n,x\n");
    assert_eq!(
        r,
        [
            vec!["a".to_string(), "b,\"c\"".to_string()],
            vec![String::new(), "x".to_string()]
        ]
    );
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let config = small(DefectRates::default());
    let (a, order_a, ledger_a) = run(&config);
    let (b, order_b, ledger_b) = run(&config);
    assert_eq!(order_a, order_b);
    assert_eq!(ledger_a, ledger_b);
    assert!(a == b, "same seed must give identical bytes");
    let (c, ..) = run(&SampleConfig {
        seed: 2022,
        ..config
    });
    assert_ne!(a, c);
}

#[test]
fn a_day_does_not_depend_on_the_window_it_is_generated_in() {
    let clean = DefectRates::none();
    let long = run(&SampleConfig {
        units: 30,
        days: 4,
        defects: clean.clone(),
        ..SampleConfig::default()
    })
    .0;
    let short = run(&SampleConfig {
        units: 30,
        days: 1,
        defects: clean,
        ..SampleConfig::default()
    })
    .0;
    // Snapshot sources deliver on the window's first day, so only daily files are compared.
    let mut compared = 0;
    for (key, bytes) in short.iter().filter(|(k, _)| long.contains_key(*k)) {
        assert!(long[key] == *bytes, "{key} differs");
        compared += 1;
    }
    assert!(
        compared > 10
            && short.keys().filter(|k| !long.contains_key(*k)).all(|k| {
                ["registry.jsonl", "farms.csv"]
                    .iter()
                    .any(|f| k.ends_with(f))
                    || k.starts_with("raw/vehicles/")
            })
    );
}

#[test]
fn files_stream_in_date_order_under_valid_raw_keys() {
    let (files, order, _) = run(&small(DefectRates::default()));
    let dates: Vec<String> = order.iter().map(|k| parse_raw_key(k).unwrap().1).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
    for source in Source::ALL {
        assert!(
            files
                .keys()
                .any(|k| k.starts_with(&format!("raw/{source}/"))),
            "{source}"
        );
    }
    let names: BTreeSet<String> = files.keys().map(|k| parse_raw_key(k).unwrap().2).collect();
    for f in [
        "registry.jsonl",
        "sewage.csv",
        "msw.csv",
        "medical-waste.csv",
        "construction-waste.csv",
        "farms.csv",
    ] {
        assert!(names.contains(f), "{f}");
    }
    for f in [
        "bus",
        "road-transport",
        "sanitation",
        "postal",
        "express",
        "taxi",
    ] {
        assert!(names.contains(&format!("{f}.csv")), "{f}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("cems-") && n.ends_with(".hj212"))
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("sm-") && n.ends_with(".csv"))
    );
}

#[test]
fn snapshots_come_on_the_first_day_and_each_first_of_a_month() {
    let config = SampleConfig {
        units: 20,
        days: 5,
        end_date: NaiveDate::from_ymd_opt(2026, 2, 2).unwrap(),
        defects: DefectRates::none(),
        ..SampleConfig::default()
    };
    let (files, ..) = run(&config);
    let days = |suffix: &str| -> Vec<String> {
        files
            .keys()
            .filter(|k| k.ends_with(suffix))
            .map(|k| parse_raw_key(k).unwrap().1)
            .collect()
    };
    assert_eq!(days("/registry.jsonl"), ["2026-01-29", "2026-02-01"]);
    assert_eq!(days("/farms.csv"), ["2026-01-29", "2026-02-01"]);
    assert_eq!(days("/taxi.csv"), ["2026-01-29", "2026-02-01"]);
    assert_eq!(days("/sewage.csv").len(), 5);
    let r: Vec<&Vec<u8>> = files
        .iter()
        .filter(|(k, _)| k.ends_with("/registry.jsonl"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(r[0], r[1], "registry snapshots are identical");
}

#[test]
fn registry_identifiers_and_references_are_valid() {
    let (files, ..) = run(&small(DefectRates::default()));
    let curated = Curated::load().unwrap();
    let units = registry(&files);
    assert_eq!(units.len(), 40);
    let mut usccs = BTreeSet::new();
    let mut mns = BTreeSet::new();
    for u in &units {
        let uscc = u["uscc"].as_str().unwrap();
        assert_eq!(check_uscc(uscc).as_deref(), Ok(uscc));
        assert!(usccs.insert(uscc));
        let permit = u["permit_no"].as_str().unwrap();
        assert!(
            check_permit(permit).is_ok() && permit.starts_with(uscc),
            "{permit}"
        );
        assert!(
            DISTRICTS
                .iter()
                .any(|d| d.code == u["district"].as_str().unwrap())
        );
        let (lon, lat) = (u["lon"].as_f64().unwrap(), u["lat"].as_f64().unwrap());
        assert!((115.4..=117.6).contains(&lon) && (39.4..=41.1).contains(&lat));
        assert!(u["industry_code"].as_str().unwrap().len() == 4);
        for field in [
            "name_zh",
            "name_en",
            "industry_zh",
            "industry_en",
            "address_zh",
            "address_en",
        ] {
            assert!(!u[field].as_str().unwrap().is_empty(), "{field}");
        }
        let outlets = u["outlets"].as_array().unwrap();
        assert!(!outlets.is_empty());
        let codes: BTreeSet<&str> = outlets
            .iter()
            .map(|o| o["code"].as_str().unwrap())
            .collect();
        for o in outlets {
            let medium = check_outlet(o["code"].as_str().unwrap()).unwrap();
            assert_eq!(serde_json::to_value(medium).unwrap(), o["medium"]);
            let st = curated
                .standards
                .get(o["standard"].as_str().unwrap())
                .unwrap();
            for p in o["pollutants"].as_array().unwrap() {
                let p = p.as_str().unwrap();
                assert!(
                    curated.pollutants.get(p).is_some() && st.sample_limit(p).is_some(),
                    "{p}"
                );
            }
            if o["cems"].as_bool().unwrap() {
                let mn = o["mn"].as_str().unwrap();
                assert!(mn.len() <= 24 && mn.bytes().all(|b| b.is_ascii_alphanumeric()));
                assert!(mns.insert(mn.to_string()), "duplicate mn {mn}");
            }
        }
        for f in u["facilities"].as_array().unwrap() {
            check_facility(f["code"].as_str().unwrap()).unwrap();
            assert!(codes.contains(f["outlet"].as_str().unwrap()));
            assert!(
                ["operating", "stopped", "maintenance"].contains(&f["status"].as_str().unwrap())
            );
        }
    }
    let names: Vec<(&str, &str)> = units
        .iter()
        .map(|u| {
            (
                u["name_zh"].as_str().unwrap(),
                u["name_en"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(names.iter().any(|n| n.1 == XSS_PROBE_NAME_EN));
    assert!(names.iter().any(|n| n.0 == XSS_PROBE_NAME_ZH));
}

#[test]
fn clean_cems_packets_parse_check_crc_and_cover_every_hour() {
    let (files, ..) = run(&small(DefectRates::none()));
    let units = registry(&files);
    let registered: BTreeSet<&str> = units
        .iter()
        .flat_map(|u| u["outlets"].as_array().unwrap())
        .filter_map(|o| o["mn"].as_str())
        .collect();
    let mut per_device: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (key, bytes) in files.iter().filter(|(k, _)| k.starts_with("raw/cems/")) {
        let date = parse_raw_key(key).unwrap().1.replace('-', "");
        for line in std::str::from_utf8(bytes).unwrap().split_inclusive("\r\n") {
            let p = parse(line.as_bytes()).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert!(p.diagnostics.is_empty());
            assert!(registered.contains(p.mn.as_str()));
            let dt = p.data_time.unwrap();
            assert!(dt.starts_with(&date));
            assert!(p.qn.starts_with(&dt) && p.qn.len() == 17);
            assert!(
                per_device
                    .entry((p.mn.clone(), date.clone()))
                    .or_default()
                    .insert(format!("{}{dt}", p.cn))
            );
            for m in &p.measurements {
                assert_eq!(m.flag, Some(DataFlag::Normal));
                assert!(
                    m.avg.unwrap() >= 0.0
                        && m.min.unwrap() <= m.avg.unwrap()
                        && m.avg.unwrap() <= m.max.unwrap()
                );
                if p.st == "31" && !["a19001", "a01012"].contains(&m.code.as_str()) {
                    assert!(m.zs_avg.is_some() && m.cou.is_some(), "{}", m.code);
                }
            }
        }
    }
    assert!(per_device.values().all(|s| s.len() == 25));
    assert_eq!(per_device.len(), registered.len() * 3);
}

#[test]
fn defective_cems_packets_fail_only_where_a_framing_defect_was_injected() {
    let (files, _, ledger) = run(&small(DefectRates::default()));
    let mut failures = 0;
    for (_, bytes) in files.iter().filter(|(k, _)| k.starts_with("raw/cems/")) {
        for line in std::str::from_utf8(bytes).unwrap().split_inclusive("\r\n") {
            if parse(line.as_bytes()).is_err() {
                failures += 1;
            }
        }
    }
    let framing = ledger.get("cems/bad_crc")
        + ledger.get("cems/truncated_packet")
        + ledger.get("cems/bad_length");
    assert_eq!(failures, framing);
}

#[test]
fn gb18030_files_decode_and_are_not_valid_utf8() {
    let (files, ..) = run(&small(DefectRates::default()));
    let mut gb = 0;
    for (key, bytes) in files.iter().filter(|(k, _)| k.ends_with(".csv")) {
        if std::str::from_utf8(bytes).is_err() {
            gb += 1;
            let (t, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            assert!(!had_errors, "{key}");
            assert!(
                t.starts_with("统一社会信用代码") || t.starts_with("运营单位"),
                "{key}"
            );
            assert!(t.contains("\r\n"));
        }
    }
    assert!(gb >= 1);
}

#[test]
fn every_defect_kind_occurs_with_default_rates_and_the_ledger_matches_the_files() {
    let (files, _, ledger) = run(&small(DefectRates::default()));
    for k in DEFECT_KINDS {
        assert!(ledger.get(k.key) >= 1, "{} never injected", k.key);
    }
    assert_eq!(ledger.counts.len(), DEFECT_KINDS.len());
    assert_eq!(observe(&files), ledger.counts);
}

#[test]
fn the_ledger_matches_the_files_under_heavy_defect_rates_and_other_seeds() {
    for seed in [1, 77] {
        let config = SampleConfig {
            units: 30,
            days: 2,
            seed,
            end_date: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            defects: DefectRates::default().scaled(15.0),
            xss_probes: true,
        };
        let (files, _, ledger) = run(&config);
        assert_eq!(observe(&files), ledger.counts, "seed {seed}");
    }
}

#[test]
fn clean_rates_give_an_all_zero_ledger_and_defect_free_files() {
    let (files, _, ledger) = run(&small(DefectRates::none()));
    assert_eq!(ledger.counts.len(), DEFECT_KINDS.len());
    assert_eq!(ledger.total(), 0);
    assert!(
        observe(&files).values().all(|&n| n == 0),
        "{:?}",
        observe(&files)
    );
}

#[test]
fn a_kind_with_zero_rate_is_never_forced() {
    let rates = DefectRates::default()
        .with("cems/gap", 0.0)
        .with("msw/treated_exceeds_received", 0.0);
    let (_, _, ledger) = run(&small(rates));
    assert_eq!(ledger.get("cems/gap"), 0);
    assert_eq!(ledger.get("msw/treated_exceeds_received"), 0);
    assert!(ledger.get("cems/bad_crc") >= 1);
}

#[test]
fn every_unit_lies_inside_its_district_polygon() {
    let config = SampleConfig {
        units: 300,
        days: 1,
        defects: DefectRates::none(),
        ..SampleConfig::default()
    };
    let (files, ..) = run(&config);
    let boundaries = envgov_curated::boundaries::Boundaries::beijing().unwrap();
    let units = registry(&files);
    assert_eq!(units.len(), 300);
    for u in &units {
        let code = u["district"].as_str().unwrap();
        // The Yizhuang development area has no boundary of its own: it lies in Daxing.
        let host = if code == "BDA" { "110115" } else { code };
        let (lon, lat) = (u["lon"].as_f64().unwrap(), u["lat"].as_f64().unwrap());
        assert!(
            boundaries.get(host).unwrap().contains(lon, lat),
            "{} of {code} at {lon},{lat}",
            u["uscc"]
        );
        // Five decimals (about 1 m), as the generator always wrote them.
        assert_eq!((lon * 1e5).round() / 1e5, lon);
    }
}
