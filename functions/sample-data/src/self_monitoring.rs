//! Manual self-monitoring results: `sm-{district}.csv` per district and day, one row per
//! outlet × item × sample time (three stack samples an hour apart, two to four wastewater
//! grab samples two hours apart) for every unit whose sampling day it is (each unit every
//! 7-10 days), as on Beijing's disclosure platform; a third of the files in GB18030, the
//! rest UTF-8 with or without BOM. Builds one file in memory at a time; no I/O.

use crate::defects::*;
use crate::geography::AREAS;
use crate::identity::malformed_uscc;
use crate::levels::{band, decimals_for, in_band};
use crate::registry::{Outlet, SourceType, Unit};
use crate::streams::{Stream, pick, stream, uniform, wobble};
use crate::table::{CsvText, TextEncoding, drop_leading_zero, iso_date, num};
use crate::world::World;
use chrono::{Datelike, Days, NaiveDate};
use envgov_curated::Standard;
use envgov_dataset::ids::Medium;
use rand::Rng;

pub(crate) const HEADER: [&str; 14] = envgov_dataset::raw_headers::SELF_MONITORING;

const KINDS: [&str; 6] = [
    SM_RAGGED_ROW,
    SM_MALFORMED_USCC,
    SM_BAD_TIMESTAMP,
    SM_IMPOSSIBLE,
    SM_UNKNOWN_ITEM,
    SM_TRUE_EXCEEDANCE,
];

/// Manual-only items of incinerators, sampled in the first ten days of a month.
const PERIODIC: [&str; 2] = ["dioxins", "a20057"];

#[derive(Debug, Clone)]
enum Outcome {
    Value {
        v: f64,
        decimals: usize,
        no_leading_zero: bool,
    },
    NotDetected(&'static str),
    NotMonitored(&'static str),
}

struct Row<'a> {
    unit: &'a Unit,
    outlet: &'a Outlet,
    standard: &'a Standard,
    pollutant: &'a str,
    item: String,
    unit_of_measure: &'a str,
    time: String,
    result: Outcome,
    limit: Option<f64>,
    lower: Option<f64>,
    defect: Option<&'static str>,
}

/// Whether `unit` samples on the day with number `ord`.
pub(crate) fn samples_on(unit: &Unit, ord: u64) -> bool {
    (ord + u64::from(unit.sm_phase)).is_multiple_of(u64::from(unit.sm_period))
}

pub(crate) fn day(
    world: &World,
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    let ord = date.num_days_from_ce() as u64;
    for (d_idx, area) in AREAS.iter().enumerate() {
        let code = area.district.code;
        let mut rows = Vec::new();
        for unit in world
            .units
            .iter()
            .filter(|u| u.district == code && samples_on(u, ord))
        {
            let mut rng = stream(world.seed, "sm", &[ord, unit.index as u64]);
            unit_rows(world, date, unit, &mut rng, &mut rows);
        }
        if rows.is_empty() {
            continue;
        }
        let mut rng = stream(world.seed, "sm-file", &[ord, d_idx as u64]);
        let plan = plan_rows(&mut rng, rates, &KINDS, rows.len(), pending, |i, k| {
            eligible(&rows[i], k)
        });
        for (row, defect) in rows.iter_mut().zip(plan) {
            row.defect = defect;
        }
        let encoding = TextEncoding::from_draw(rng.random_range(0..3));
        let crlf = encoding == TextEncoding::Gb18030 || rng.random_bool(0.5);
        let mut csv = CsvText::new(&HEADER, crlf);
        for row in &rows {
            let mut cells = render(row, &mut rng);
            if let Some(kind) = row.defect {
                apply(kind, &mut cells, date, &mut rng);
                ledger.add(kind, 1);
            }
            csv.row(&cells);
        }
        out(format!("sm-{code}.csv"), csv.finish(encoding));
    }
}

fn eligible(row: &Row, kind: &str) -> bool {
    let numeric = matches!(row.result, Outcome::Value { .. });
    match kind {
        SM_TRUE_EXCEEDANCE => numeric && row.lower.is_none() && row.limit.is_some(),
        SM_IMPOSSIBLE => numeric,
        _ => true,
    }
}

fn unit_rows<'a>(
    world: &'a World,
    date: NaiveDate,
    unit: &'a Unit,
    rng: &mut Stream,
    rows: &mut Vec<Row<'a>>,
) {
    let month = date.month();
    for outlet in &unit.outlets {
        let standard = world
            .curated
            .standards
            .get(&outlet.standard)
            .expect("registry standards exist");
        let not_monitored = rng
            .random_bool(0.02)
            .then(|| pick(rng, &["停产", "设备检修", "季节性停运"]));
        // Stack testing takes three samples an hour apart; wastewater two to four grab
        // samples two hours apart. Each sample is a row per item.
        let (samples, step) = match (not_monitored, outlet.medium) {
            (Some(_), _) => (1, 0),
            (None, Medium::Air) => (3, 60),
            (None, _) => (rng.random_range(2..=4), 120),
        };
        let start = rng.random_range(8 * 60..12 * 60);
        for sample in 0..samples {
            let minute = start + sample * step + rng.random_range(0..5);
            let time = format!("{} {:02}:{:02}", iso_date(date), minute / 60, minute % 60);
            for (p, level) in outlet.pollutants.iter().zip(&outlet.levels) {
                // Dioxins and mercury: one long sample in the first ten days of a month.
                if PERIODIC.contains(&p.as_str())
                    && (unit.source_type != SourceType::MswIncinerator
                        || date.day() > 10
                        || sample > 0)
                {
                    continue;
                }
                let pollutant = world
                    .curated
                    .pollutants
                    .get(p)
                    .expect("registry pollutants exist");
                let item = if pollutant.item_zh.len() > 1 && rng.random_bool(0.1) {
                    pollutant.item_zh[1].clone()
                } else {
                    pollutant.item_zh[0].clone()
                };
                let limit = standard.sample_limit(p);
                let result = if let Some(reason) = not_monitored {
                    Outcome::NotMonitored(reason)
                } else if p != "w01001" && rng.random_bool(0.02) {
                    Outcome::NotDetected(pick(rng, &["ND", "未检出"]))
                } else {
                    let v = in_band(band(standard, p, month), *level, 0.15 * wobble(rng));
                    Outcome::Value {
                        v,
                        decimals: decimals_for(v),
                        no_leading_zero: rng.random_bool(0.3),
                    }
                };
                rows.push(Row {
                    unit,
                    outlet,
                    standard,
                    pollutant: p,
                    item,
                    unit_of_measure: &pollutant.unit,
                    time: time.clone(),
                    result,
                    limit: limit.map(|l| l.upper_for_month(month)),
                    lower: limit.and_then(|l| l.lower),
                    defect: None,
                });
            }
        }
    }
}

/// The row's cells, with a true exceedance or impossible value already in the result.
fn render(row: &Row, rng: &mut Stream) -> Vec<String> {
    let mut result = row.result.clone();
    if let (Outcome::Value { v, .. }, Some(limit)) = (&mut result, row.limit) {
        match row.defect {
            Some(SM_TRUE_EXCEEDANCE) => *v = limit * uniform(rng, 1.1, 3.0),
            Some(SM_IMPOSSIBLE) => *v = -uniform(rng, 0.5, 20.0),
            _ => {}
        }
    }
    let (result_cell, value, reason) = match &result {
        Outcome::Value {
            v,
            decimals,
            no_leading_zero,
        } => {
            let d = if row.pollutant == "w01001" {
                2
            } else {
                (*decimals).max(decimals_for(*v))
            };
            let text = num(*v, d);
            let value: f64 = text.parse().expect("formatted number");
            let text = if *no_leading_zero {
                drop_leading_zero(text)
            } else {
                text
            };
            (text, Some(value), "")
        }
        Outcome::NotDetected(s) => (s.to_string(), None, ""),
        Outcome::NotMonitored(reason) => (String::new(), None, *reason),
    };
    let (ok, ratio) = match (value, row.limit, &result) {
        (_, _, Outcome::NotMonitored(_)) | (_, None, _) => (String::new(), String::new()),
        (None, Some(_), _) => ("是".to_string(), String::new()),
        (Some(v), Some(limit), _) => {
            let below = row.lower.is_some_and(|lo| v < lo);
            if v > limit {
                ("否".to_string(), num((v - limit) / limit, 3))
            } else if below {
                ("否".to_string(), String::new())
            } else {
                ("是".to_string(), String::new())
            }
        }
    };
    vec![
        row.unit.uscc.clone(),
        row.unit.name_zh.clone(),
        row.outlet.code.clone(),
        row.time.clone(),
        row.item.clone(),
        result_cell,
        row.limit.map(|l| num(l, 3)).unwrap_or_default(),
        row.unit_of_measure.to_string(),
        ok,
        ratio,
        row.standard.code.clone(),
        row.outlet.destination_zh.clone(),
        row.outlet.discharge_method_zh.clone(),
        reason.to_string(),
    ]
}

/// Applies a defect that changes cells other than the result.
fn apply(kind: &str, cells: &mut Vec<String>, date: NaiveDate, rng: &mut Stream) {
    match kind {
        SM_RAGGED_ROW => {
            if rng.random_bool(0.5) {
                cells.pop();
            } else {
                cells.push(String::new());
            }
        }
        SM_MALFORMED_USCC => cells[0] = malformed_uscc(rng, &cells[0]),
        SM_BAD_TIMESTAMP => {
            let hm = &cells[3][11..];
            cells[3] = if rng.random_bool(0.5) {
                // A day that does not exist in this month.
                let days_in_month = (1..=31)
                    .rev()
                    .find(|d| NaiveDate::from_ymd_opt(date.year(), date.month(), *d).is_some())
                    .expect("every month has a 28th");
                format!(
                    "{:04}-{:02}-{:02} {hm}",
                    date.year(),
                    date.month(),
                    days_in_month + 1
                )
            } else {
                // A valid time on another date than the folder's.
                let other = date
                    .checked_sub_days(Days::new(rng.random_range(1..=3)))
                    .expect("in range");
                format!("{} {hm}", iso_date(other))
            };
        }
        SM_UNKNOWN_ITEM => {
            cells[4] = pick(rng, &["某某物质", "其他污染物", "综合毒性"]).to_string()
        }
        _ => {}
    }
}
