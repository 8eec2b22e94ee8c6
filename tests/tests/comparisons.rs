//! Comparisons end to end (issue 11): the CSV beside each industry's ranking holds exactly
//! the numbers its page shows, and is reproducible from the rows of the published dataset
//! `emission-totals` (read here from the release's own files, summed and ranked again
//! independently of the site's code); the year-on-year comparison finds last year's month
//! in the dated archives.

use envgov_curated::Curated;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::store::{MemoryStore, Store};
use envgov_sample_data::{SampleConfig, generate};
use std::cmp::Ordering;
use std::collections::BTreeMap;

fn night(store: &dyn Store, end: &str, days: u32) -> String {
    let end_date = end.parse().unwrap();
    let config = SampleConfig {
        units: 40,
        days,
        end_date,
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
    let opts = NightlyOptions {
        date: Some(end_date),
        max_reject_rate: 1.0,
        release: envgov_e2e::same_signing_key(),
        ..NightlyOptions::default()
    };
    jobs::nightly(store, &Curated::load().unwrap(), &opts).expect("nightly");
    let live = store.get("site/current").unwrap().expect("a live release");
    format!("site/releases/{}/", String::from_utf8(live).unwrap().trim())
}

/// The rows of a CSV file of the release (byte-order mark and header read), as maps.
fn csv_rows(store: &dyn Store, key: &str) -> Vec<BTreeMap<String, String>> {
    let bytes = store
        .get(key)
        .unwrap()
        .unwrap_or_else(|| panic!("no {key}"));
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("a byte-order mark");
    let mut r = csv::Reader::from_reader(body);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn n(row: &BTreeMap<String, String>, col: &str) -> u64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col}: {:?}", row[col]))
}

/// A unit's sums over its year rows, as the method on the page states them.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
struct Sums {
    hours_checked: u64,
    hourly: u64,
    days_checked: u64,
    daily: u64,
}

impl Sums {
    fn checks(&self) -> u64 {
        self.hours_checked + self.days_checked
    }
    fn passed(&self) -> u64 {
        self.checks() - (self.hourly + self.daily)
    }
}

/// Lowest rate first (exactly, as fractions), then most checks, then credit code; equal
/// rates share a rank; units without checks last, unranked.
fn ranked(sums: &BTreeMap<String, Sums>) -> Vec<(Option<usize>, String)> {
    let rate_cmp = |a: &Sums, b: &Sums| {
        (u128::from(a.passed()) * u128::from(b.checks()))
            .cmp(&(u128::from(b.passed()) * u128::from(a.checks())))
    };
    let mut with: Vec<(&String, &Sums)> = sums.iter().filter(|(_, s)| s.checks() > 0).collect();
    with.sort_by(|a, b| {
        rate_cmp(a.1, b.1)
            .then(b.1.checks().cmp(&a.1.checks()))
            .then(a.0.cmp(b.0))
    });
    let mut out: Vec<(Option<usize>, String)> = Vec::new();
    for (i, (uscc, s)) in with.iter().enumerate() {
        let tie = i > 0 && rate_cmp(with[i - 1].1, s) == Ordering::Equal;
        let rank = if tie { out[i - 1].0 } else { Some(i + 1) };
        out.push((rank, (*uscc).clone()));
    }
    out.extend(
        sums.iter()
            .filter(|(_, s)| s.checks() == 0)
            .map(|(u, _)| (None, u.clone())),
    );
    out
}

/// Thousands separators as the English pages print integers.
fn grouped(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn each_industry_ranking_csv_is_the_page_and_is_reproducible_from_emission_totals() {
    let store = MemoryStore::new();
    let release = night(&store, "2026-01-31", 3);
    let totals = csv_rows(
        &store,
        &format!("{release}datasets/emission-totals/emission-totals.csv"),
    );
    let units = csv_rows(
        &store,
        &format!("{release}datasets/enterprises/enterprises.csv"),
    );
    let mut industries: BTreeMap<String, BTreeMap<String, Sums>> = BTreeMap::new();
    for u in &units {
        industries
            .entry(u["industry_code"].clone())
            .or_default()
            .insert(u["uscc"].clone(), Sums::default());
    }
    for r in totals
        .iter()
        .filter(|r| r["period_type"] == "year" && r["period"] == "2026")
    {
        let s = industries
            .get_mut(&r["industry_code"])
            .and_then(|i| i.get_mut(&r["uscc"]))
            .expect("a unit of the registry");
        s.hours_checked += n(r, "hours_checked");
        s.hourly += n(r, "hourly_exceedances");
        s.days_checked += n(r, "days_checked");
        s.daily += n(r, "daily_exceedances");
    }
    assert!(industries.len() > 3);
    let mut ranked_units = 0;
    for (code, sums) in &industries {
        let dir = format!("{release}en/sectors/industry/{code}/");
        let csv = csv_rows(&store, &format!("{dir}compliance.csv"));
        let expected = ranked(sums);
        assert_eq!(csv.len(), expected.len(), "{code}");
        let page =
            String::from_utf8(store.get(&format!("{dir}index.html")).unwrap().unwrap()).unwrap();
        let mut at = 0;
        for (row, (rank, uscc)) in csv.iter().zip(&expected) {
            let s = sums[uscc];
            assert_eq!(&row["uscc"], uscc, "{code}");
            assert_eq!(
                row["rank"],
                rank.map_or(String::new(), |r| r.to_string()),
                "{code} {uscc}"
            );
            // The page lists the same unit at the same place, with the same numbers.
            let link = format!("/en/enterprises/{uscc}.html");
            let found = page[at..]
                .find(&link)
                .unwrap_or_else(|| panic!("{code}: {uscc} out of order"));
            at += found + link.len();
            let row_html = &page[at..at + page[at..].find("</tr>").unwrap()];
            if rank.is_none() {
                assert_eq!(row["compliance_rate"], "", "{code} {uscc}");
                assert!(
                    row_html.ends_with("<td class=\"num\">No data</td>"),
                    "{row_html}"
                );
                continue;
            }
            ranked_units += 1;
            for (col, v) in [
                ("hours_checked", s.hours_checked),
                ("hourly_exceedances", s.hourly),
                ("days_checked", s.days_checked),
                ("daily_exceedances", s.daily),
                ("checks", s.checks()),
                ("exceedances", s.hourly + s.daily),
            ] {
                assert_eq!(n(row, col), v, "{code} {uscc} {col}");
            }
            let rate = s.passed() as f64 / s.checks() as f64;
            assert_eq!(row["compliance_rate"], format!("{rate:.6}"));
            let cells: Vec<String> = [s.hours_checked, s.hourly, s.days_checked, s.daily]
                .iter()
                .map(|v| format!("<td class=\"num\">{}</td>", grouped(*v)))
                .collect();
            assert!(
                row_html.contains(&cells.concat()),
                "{code} {uscc}: {row_html}"
            );
        }
    }
    assert!(ranked_units > 10, "{ranked_units} units ranked");
}

#[test]
fn year_on_year_reads_the_same_month_of_last_years_archive() {
    let store = MemoryStore::new();
    // No archive of 2024: January 2025 has no data for last year.
    let first = night(&store, "2025-01-31", 2);
    let home = |release: &str| {
        String::from_utf8(
            store
                .get(&format!("{release}en/index.html"))
                .unwrap()
                .unwrap(),
        )
        .unwrap()
    };
    assert!(home(&first).contains("no data for January last year"));
    // A year later, January 2025's archive is last year's: the same month is compared.
    let second = night(&store, "2026-01-31", 2);
    let page = home(&second);
    assert!(!page.contains("no data for January last year"), "{page}");
    let last_year = csv_rows(
        &store,
        "datasets/emission-totals/archive/2025-01-31/emission-totals.csv",
    );
    let (mut hours, mut over) = (0u64, 0u64);
    for r in last_year.iter().filter(|r| r["period"] == "2025-01") {
        hours += n(r, "hours_checked");
        over += n(r, "hourly_exceedances");
    }
    assert!(hours > 0);
    // The hourly compliance rate of January 2025, shown as the indicator's "last year"
    // (one decimal, more where one would round a rate below 1 up to 100.0%).
    let ratio = (hours - over) as f64 / hours as f64;
    let mut shown = String::new();
    for decimals in 1..=4 {
        shown = format!("{:.*}", decimals, ratio * 100.0);
        if ratio == 1.0 || shown.parse::<f64>().unwrap() < 100.0 {
            break;
        }
    }
    let name = "<th scope=\"row\">CEMS hourly compliance rate</th>";
    let row = &page[page.find(name).expect("the indicator's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cells: Vec<&str> = row.split("<td class=\"num\">").skip(1).collect();
    assert_eq!(cells[1], format!("{shown}%</td>"), "{row}");
}
