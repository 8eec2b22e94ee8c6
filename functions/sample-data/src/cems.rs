//! Online-monitoring archives: one `cems-{district}.hj212` per district and day, with 24
//! hourly packets (`CN=2061`) and one daily packet (`CN=2031`) per monitored outlet, in the
//! HJ 212-2017 framing, and the CEMS defects injected at their rates.
//!
//! Each outlet-day draws from its own stream, so its packets do not depend on any other
//! outlet. At most one defect is put in a packet. Builds one file in memory at a time; no I/O.

use crate::defects::*;
use crate::geography::AREAS;
use crate::levels::{band, in_band};
use crate::registry::{Outlet, Unit};
use crate::streams::{Stream, chance, pick, stream, uniform, wobble};
use crate::world::World;
use chrono::{Datelike, NaiveDate};
use envgov_curated::{Period, Standard};
use envgov_dataset::ids::Medium;
use envgov_hj212::{DataFlag, SegmentBuilder, fmt_value, frame};
use rand::Rng;

/// Pollutants measured online; others of an outlet are sampled manually only.
const ONLINE: [&str; 10] = [
    "a34013", "a21026", "a21002", "a21024", "a21005", "w01018", "w21003", "w21011", "w21001",
    "w01001",
];

const PW: &str = "123456";

/// Defects drawn per hourly packet, at most one per packet.
const HOURLY_KINDS: [&str; 14] = [
    CEMS_FLAG_F,
    CEMS_FLAG_M,
    CEMS_FLAG_D,
    CEMS_FLAG_C,
    CEMS_FLAG_T,
    CEMS_FLAG_B,
    CEMS_SENTINEL,
    CEMS_GAP,
    CEMS_DUPLICATE,
    CEMS_BAD_CRC,
    CEMS_TRUNCATED,
    CEMS_BAD_LENGTH,
    CEMS_IMPOSSIBLE,
    CEMS_WHITESPACE,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum HourDefect {
    /// A measurement's flag set to a letter other than `N`.
    Flag(usize, char, &'static str),
    Sentinel(usize),
    Impossible(usize),
    Whitespace(usize),
    /// Part of a true exceedance of a limit.
    Exceed(usize),
    Gap,
    Duplicate,
    BadCrc,
    Truncated,
    BadLength,
}

impl HourDefect {
    /// Whether the validator must reject the whole packet.
    fn rejects_packet(self) -> bool {
        matches!(
            self,
            HourDefect::Gap | HourDefect::BadCrc | HourDefect::Truncated | HourDefect::BadLength
        )
    }

    /// Whether channel `c`'s value of this hour may enter a mean.
    fn valid_for(self, c: usize) -> bool {
        match self {
            HourDefect::Flag(x, ..) | HourDefect::Sentinel(x) | HourDefect::Impossible(x) => x != c,
            d => !d.rejects_packet(),
        }
    }
}

/// One online-measured pollutant of an outlet.
struct Channel<'a> {
    code: &'a str,
    band: (f64, f64),
    level: f64,
    hourly_limit: Option<f64>,
    daily_limit: Option<f64>,
    ph: bool,
}

/// The hourly series of one outlet-day.
struct Series {
    /// Per channel and hour: value at reference O2 (air) or concentration (water).
    zs: Vec<[f64; 24]>,
    /// Per channel and hour: measured value.
    avg: Vec<[f64; 24]>,
    min: Vec<[f64; 24]>,
    max: Vec<[f64; 24]>,
    /// Air: O2 % and temperature °C; water: unused.
    o2: [f64; 24],
    temperature: [f64; 24],
    /// Air: flue-gas flow m3/h; water: L/s.
    flow: [f64; 24],
}

/// Emits the day's CEMS files, one per district with monitored outlets.
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
        let units: Vec<&Unit> = world
            .units
            .iter()
            .filter(|u| u.district == code && u.has_cems())
            .collect();
        let outlets: Vec<(&Unit, usize, &Outlet)> = units
            .iter()
            .flat_map(|u| {
                u.outlets
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.cems)
                    .map(move |(i, o)| (*u, i, o))
            })
            .collect();
        if outlets.is_empty() {
            continue;
        }
        let mut file_rng = stream(world.seed, "cems-file", &[ord, d_idx as u64]);
        let unknown = if pending.contains(CEMS_UNKNOWN_DEVICE) {
            pending.done(CEMS_UNKNOWN_DEVICE);
            true
        } else {
            chance(&mut file_rng, rates.rate(CEMS_UNKNOWN_DEVICE))
        };
        let unknown_after = file_rng.random_range(0..outlets.len());
        let mut text = String::with_capacity(outlets.len() * 25 * 420);
        for (k, (unit, o_idx, outlet)) in outlets.iter().enumerate() {
            let mut rng = stream(world.seed, "cems", &[ord, unit.index as u64, *o_idx as u64]);
            outlet_day(
                world, date, outlet, &mut rng, rates, ledger, pending, &mut text,
            );
            if unknown && k == unknown_after {
                unknown_packet(world, date, code, &mut file_rng, &mut text);
                ledger.add(CEMS_UNKNOWN_DEVICE, 1);
            }
        }
        out(format!("cems-{code}.hj212"), text.into_bytes());
    }
}

fn limit_of(standard: &Standard, code: &str, period: Period, month: u32) -> Option<f64> {
    standard
        .limit(code, period)
        .map(|l| l.upper_for_month(month))
}

#[allow(clippy::too_many_arguments)]
fn outlet_day(
    world: &World,
    date: NaiveDate,
    outlet: &Outlet,
    rng: &mut Stream,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    text: &mut String,
) {
    let month = date.month();
    let standard = world
        .curated
        .standards
        .get(&outlet.standard)
        .expect("registry standards exist");
    let air = outlet.medium == Medium::Air;
    let channels: Vec<Channel> = outlet
        .pollutants
        .iter()
        .zip(&outlet.levels)
        .filter(|(p, _)| ONLINE.contains(&p.as_str()))
        .map(|(p, level)| Channel {
            code: p,
            band: band(standard, p, month),
            level: *level,
            hourly_limit: limit_of(standard, p, Period::Hourly, month),
            daily_limit: limit_of(standard, p, Period::Daily, month),
            ph: p == "w01001",
        })
        .collect();
    let o2_ref = standard.reference_o2_pct;

    let mut plan = plan_defects(rng, rates, &channels, pending);
    let mut s = series(rng, outlet, &channels, air);
    // From reference O2 back to the measured value: C_meas = C_ref (21 - O2) / (21 - O2ref).
    let to_measured = |zs: f64, o2: f64| match o2_ref {
        Some(r) => zs * (21.0 - o2) / (21.0 - r),
        None => zs,
    };
    for c in 0..channels.len() {
        for h in 0..24 {
            s.avg[c][h] = if air {
                to_measured(s.zs[c][h], s.o2[h])
            } else {
                s.zs[c][h]
            };
        }
    }
    inject_exceedances(rng, &channels, &mut plan, &mut s, air, &to_measured);
    min_max(rng, &channels, &mut s, air, o2_ref);

    let ymd = format!("{:04}{:02}{:02}", date.year(), date.month(), date.day());
    let mn = outlet
        .mn
        .as_deref()
        .expect("monitored outlets have a device id");
    let st = if air { "31" } else { "32" };
    let mut packets_ok = [true; 24];
    for h in 0..24 {
        let defect = plan[h];
        if let Some(d) = defect {
            packets_ok[h] = !d.rejects_packet();
        }
        if defect == Some(HourDefect::Gap) {
            ledger.add(CEMS_GAP, 1);
            continue;
        }
        let dt = format!("{ymd}{h:02}0000");
        let qn = format!("{dt}{:03}", rng.random_range(0..1000));
        let mut b = SegmentBuilder::new(&qn, st, "2061", PW, mn, &dt);
        if !air {
            b = b.averaged(
                "w00000",
                s.flow[h],
                s.flow[h] * 0.9,
                s.flow[h] * 1.1,
                Some(s.flow[h] * 3.6),
                DataFlag::Normal,
            );
        }
        for (c, ch) in channels.iter().enumerate() {
            let cou = if ch.ph {
                None
            } else if air {
                Some(s.avg[c][h] * s.flow[h] * 1e-6)
            } else {
                Some(s.avg[c][h] * s.flow[h] * 3.6 / 1000.0)
            };
            let zs = air.then_some(s.zs[c][h]);
            let normal = |flag: char| {
                group(
                    ch.code,
                    s.avg[c][h],
                    zs,
                    s.min[c][h],
                    s.max[c][h],
                    cou,
                    flag,
                )
            };
            let g = match defect {
                Some(HourDefect::Flag(x, letter, key)) if x == c => {
                    ledger.add(key, 1);
                    normal(letter)
                }
                Some(HourDefect::Sentinel(x)) if x == c => {
                    ledger.add(CEMS_SENTINEL, 1);
                    let v = pick(rng, &["-999", "-00999.000"]);
                    let zs = if air {
                        format!(",{}-ZsAvg={v}", ch.code)
                    } else {
                        String::new()
                    };
                    format!(
                        "{0}-Avg={v}{zs},{0}-Min={v},{0}-Max={v},{0}-Flag=N",
                        ch.code
                    )
                }
                Some(HourDefect::Impossible(x)) if x == c => {
                    ledger.add(CEMS_IMPOSSIBLE, 1);
                    let v = if ch.ph {
                        uniform(rng, 14.5, 16.0)
                    } else {
                        -uniform(rng, 0.5, 20.0)
                    };
                    let v = fmt_value((v * 10.0).round() / 10.0);
                    let zs = if air {
                        format!(",{}-ZsAvg={v}", ch.code)
                    } else {
                        String::new()
                    };
                    format!(
                        "{0}-Avg={v}{zs},{0}-Min={v},{0}-Max={v},{0}-Flag=N",
                        ch.code
                    )
                }
                Some(HourDefect::Whitespace(x)) if x == c => {
                    ledger.add(CEMS_WHITESPACE, 1);
                    normal('N').replacen(
                        &format!("{}-Avg=", ch.code),
                        &format!("{}- Avg=", ch.code),
                        1,
                    )
                }
                Some(HourDefect::Exceed(x)) if x == c => {
                    let limit = ch.hourly_limit.or(ch.daily_limit).unwrap_or(f64::INFINITY);
                    if s.zs[c][h] > limit {
                        ledger.add(CEMS_TRUE_EXCEEDANCE, 1);
                    }
                    normal('N')
                }
                _ => normal('N'),
            };
            b = b.raw_group(&g);
        }
        if air {
            b = air_parameters(b, s.o2[h], s.o2[h] - 0.3, s.o2[h] + 0.3, s.temperature[h]);
        }
        let line = frame(&b.build());
        match defect {
            Some(HourDefect::Duplicate) => {
                ledger.add(CEMS_DUPLICATE, 1);
                text.push_str(&line);
                text.push_str(&line);
            }
            Some(HourDefect::BadCrc) => {
                ledger.add(CEMS_BAD_CRC, 1);
                text.push_str(&corrupt_crc(rng, &line));
            }
            Some(HourDefect::Truncated) => {
                ledger.add(CEMS_TRUNCATED, 1);
                let body = line.trim_end_matches("\r\n");
                let cut = rng.random_range(20..body.len() - 8);
                text.push_str(&body[..cut]);
                text.push_str("\r\n");
            }
            Some(HourDefect::BadLength) => {
                ledger.add(CEMS_BAD_LENGTH, 1);
                let declared: usize = line[2..6].parse().expect("four digits");
                let wrong = declared - rng.random_range(1..=3);
                text.push_str(&format!("##{wrong:04}{}", &line[6..]));
            }
            _ => text.push_str(&line),
        }
    }

    // The daily packet: means of the hours that are valid for each measurement.
    let dt = format!("{ymd}000000");
    let qn = format!("{dt}{:03}", rng.random_range(0..1000));
    let mut b = SegmentBuilder::new(&qn, st, "2031", PW, mn, &dt);
    let ok_hours: Vec<usize> = (0..24).filter(|&h| packets_ok[h]).collect();
    if !air && !ok_hours.is_empty() {
        let flows: Vec<f64> = ok_hours.iter().map(|&h| s.flow[h]).collect();
        let (mean, lo, hi) = stats(&flows);
        b = b.averaged(
            "w00000",
            mean,
            lo * 0.9,
            hi * 1.1,
            Some(flows.iter().sum::<f64>() * 3.6),
            DataFlag::Normal,
        );
    }
    for (c, ch) in channels.iter().enumerate() {
        let hours: Vec<usize> = (0..24)
            .filter(|&h| plan[h].is_none_or(|d| d.valid_for(c)))
            .collect();
        if hours.is_empty() {
            continue;
        }
        let n = hours.len() as f64;
        let avg = hours.iter().map(|&h| s.avg[c][h]).sum::<f64>() / n;
        let zs = air.then(|| hours.iter().map(|&h| s.zs[c][h]).sum::<f64>() / n);
        let min = hours
            .iter()
            .map(|&h| s.min[c][h])
            .fold(f64::INFINITY, f64::min);
        let max = hours
            .iter()
            .map(|&h| s.max[c][h])
            .fold(f64::NEG_INFINITY, f64::max);
        let cou = (!ch.ph).then(|| {
            hours
                .iter()
                .map(|&h| {
                    if air {
                        s.avg[c][h] * s.flow[h] * 1e-6
                    } else {
                        s.avg[c][h] * s.flow[h] * 3.6 / 1000.0
                    }
                })
                .sum::<f64>()
        });
        b = b.raw_group(&group(ch.code, avg, zs, min, max, cou, 'N'));
    }
    if air && !ok_hours.is_empty() {
        let o2: Vec<f64> = ok_hours.iter().map(|&h| s.o2[h]).collect();
        let t: Vec<f64> = ok_hours.iter().map(|&h| s.temperature[h]).collect();
        let (o2_mean, o2_min, o2_max) = stats(&o2);
        let (t_mean, ..) = stats(&t);
        b = air_parameters(b, o2_mean, o2_min - 0.3, o2_max + 0.3, t_mean);
    }
    text.push_str(&frame(&b.build()));
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, lo, hi)
}

fn air_parameters(
    b: SegmentBuilder,
    o2: f64,
    o2_min: f64,
    o2_max: f64,
    temperature: f64,
) -> SegmentBuilder {
    b.averaged("a19001", o2, o2_min, o2_max, None, DataFlag::Normal)
        .averaged(
            "a01012",
            temperature,
            temperature - 2.0,
            temperature + 2.0,
            None,
            DataFlag::Normal,
        )
}

/// `code-Avg=..[,code-ZsAvg=..],code-Min=..,code-Max=..[,code-Cou=..],code-Flag=X`.
fn group(
    code: &str,
    avg: f64,
    zs: Option<f64>,
    min: f64,
    max: f64,
    cou: Option<f64>,
    flag: char,
) -> String {
    let mut g = String::with_capacity(96);
    g.push_str(code);
    g.push_str("-Avg=");
    g.push_str(&fmt_value(avg));
    if let Some(z) = zs {
        g.push(',');
        g.push_str(code);
        g.push_str("-ZsAvg=");
        g.push_str(&fmt_value(z));
    }
    for (suffix, v) in [("-Min=", Some(min)), ("-Max=", Some(max)), ("-Cou=", cou)] {
        if let Some(v) = v {
            g.push(',');
            g.push_str(code);
            g.push_str(suffix);
            g.push_str(&fmt_value(v));
        }
    }
    g.push(',');
    g.push_str(code);
    g.push_str("-Flag=");
    g.push(flag);
    g
}

/// Replaces one CRC digit with a different hex digit.
fn corrupt_crc(rng: &mut Stream, line: &str) -> String {
    let body = line.trim_end_matches("\r\n");
    let at = body.len() - 4 + rng.random_range(0..4);
    let old = body.as_bytes()[at];
    let digits = b"0123456789ABCDEF";
    let mut new = old;
    while new == old {
        new = digits[rng.random_range(0..16)];
    }
    format!("{}{}{}\r\n", &body[..at], new as char, &body[at + 1..])
}

fn free_hours(plan: &[Option<HourDefect>; 24]) -> Vec<usize> {
    (0..24).filter(|&h| plan[h].is_none()).collect()
}

/// Places one defect kind starting at hour `h` (which is free). Returns whether it was placed.
fn place(
    rng: &mut Stream,
    plan: &mut [Option<HourDefect>; 24],
    kind: &'static str,
    h: usize,
    channels: &[Channel],
) -> bool {
    let c = rng.random_range(0..channels.len());
    let flag = |letter| HourDefect::Flag(c, letter, kind);
    let d = match kind {
        CEMS_FLAG_F => flag('F'),
        CEMS_FLAG_D => flag('D'),
        CEMS_FLAG_T => flag('T'),
        CEMS_FLAG_B => flag('B'),
        CEMS_FLAG_M | CEMS_FLAG_C => {
            let letter = if kind == CEMS_FLAG_M { 'M' } else { 'C' };
            let run = rng.random_range(2..=4);
            for slot in plan.iter_mut().skip(h).take(run) {
                if slot.is_some() {
                    break;
                }
                *slot = Some(HourDefect::Flag(c, letter, kind));
            }
            return true;
        }
        CEMS_SENTINEL => HourDefect::Sentinel(c),
        CEMS_IMPOSSIBLE => HourDefect::Impossible(c),
        CEMS_WHITESPACE => HourDefect::Whitespace(c),
        CEMS_GAP => HourDefect::Gap,
        CEMS_DUPLICATE => HourDefect::Duplicate,
        CEMS_BAD_CRC => HourDefect::BadCrc,
        CEMS_TRUNCATED => HourDefect::Truncated,
        CEMS_BAD_LENGTH => HourDefect::BadLength,
        CEMS_TRUE_EXCEEDANCE => return place_exceedance(rng, plan, channels),
        _ => return false,
    };
    plan[h] = Some(d);
    true
}

/// One hour over an hourly limit, or a run of hours that lifts the daily mean over a daily
/// limit, on a measurement that has one (not pH).
fn place_exceedance(
    rng: &mut Stream,
    plan: &mut [Option<HourDefect>; 24],
    channels: &[Channel],
) -> bool {
    let eligible: Vec<usize> = (0..channels.len())
        .filter(|&c| {
            !channels[c].ph
                && (channels[c].hourly_limit.is_some() || channels[c].daily_limit.is_some())
        })
        .collect();
    if eligible.is_empty() {
        return false;
    }
    let c = pick(rng, &eligible);
    let free = free_hours(plan);
    if channels[c].hourly_limit.is_some() {
        if free.is_empty() {
            return false;
        }
        plan[pick(rng, &free)] = Some(HourDefect::Exceed(c));
        return true;
    }
    let run = rng.random_range(6..=9);
    if free.len() < run + 4 {
        return false;
    }
    // Prefer a consecutive stretch; otherwise any free hours.
    let start = (0..=24 - run).find(|&s| (s..s + run).all(|h| plan[h].is_none()));
    let hours: Vec<usize> = match start {
        Some(s) => (s..s + run).collect(),
        None => free[..run].to_vec(),
    };
    for h in hours {
        plan[h] = Some(HourDefect::Exceed(c));
    }
    true
}

fn plan_defects(
    rng: &mut Stream,
    rates: &DefectRates,
    channels: &[Channel],
    pending: &mut Pending,
) -> [Option<HourDefect>; 24] {
    let mut plan = [None; 24];
    if channels.is_empty() {
        return plan;
    }
    for h in 0..24 {
        if plan[h].is_some() {
            continue;
        }
        if let Some(kind) = draw_one(rng, rates, &HOURLY_KINDS) {
            place(rng, &mut plan, kind, h, channels);
        }
    }
    if chance(rng, rates.rate(CEMS_TRUE_EXCEEDANCE)) {
        place_exceedance(rng, &mut plan, channels);
    }
    // Kinds that have not occurred yet go to the first free hours.
    for kind in pending.kinds().to_vec() {
        if kind == CEMS_UNKNOWN_DEVICE {
            continue;
        }
        let free = free_hours(&plan);
        let needs = if matches!(kind, CEMS_FLAG_M | CEMS_FLAG_C) {
            2
        } else {
            1
        };
        let Some(h) = free
            .windows(needs)
            .find(|w| w[needs - 1] == w[0] + needs - 1)
            .map(|w| w[0])
        else {
            continue;
        };
        if place(rng, &mut plan, kind, h, channels) {
            pending.done(kind);
        }
    }
    plan
}

fn series(rng: &mut Stream, outlet: &Outlet, channels: &[Channel], air: bool) -> Series {
    let mut s = Series {
        zs: vec![[0.0; 24]; channels.len()],
        avg: vec![[0.0; 24]; channels.len()],
        min: vec![[0.0; 24]; channels.len()],
        max: vec![[0.0; 24]; channels.len()],
        o2: [0.0; 24],
        temperature: [0.0; 24],
        flow: [0.0; 24],
    };
    let day_load = 1.0 + 0.08 * wobble(rng);
    for h in 0..24 {
        // A daily rhythm: more load by day than at night.
        let rhythm = 1.0 + 0.18 * ((h as f64 - 8.0) * std::f64::consts::PI / 12.0).sin();
        if air {
            s.o2[h] = (outlet.o2 + 0.5 * wobble(rng)).clamp(6.0, 10.0);
            s.temperature[h] = outlet.temperature + 4.0 * wobble(rng);
            s.flow[h] = outlet.flow * day_load * (1.0 + 0.1 * wobble(rng));
        } else {
            s.flow[h] = outlet.flow / 86.4 * day_load * rhythm * (1.0 + 0.05 * wobble(rng));
        }
    }
    for (c, ch) in channels.iter().enumerate() {
        let day_shift = 0.1 * wobble(rng);
        for h in 0..24 {
            s.zs[c][h] = in_band(ch.band, ch.level, day_shift + 0.12 * wobble(rng));
        }
    }
    s
}

fn inject_exceedances(
    rng: &mut Stream,
    channels: &[Channel],
    plan: &mut [Option<HourDefect>; 24],
    s: &mut Series,
    air: bool,
    to_measured: &dyn Fn(f64, f64) -> f64,
) {
    for (c, ch) in channels.iter().enumerate() {
        let run: Vec<usize> = (0..24)
            .filter(|&h| plan[h] == Some(HourDefect::Exceed(c)))
            .collect();
        if run.is_empty() {
            continue;
        }
        let valid: Vec<usize> = (0..24)
            .filter(|&h| plan[h].is_none_or(|d| d.valid_for(c)))
            .collect();
        let n = valid.len() as f64;
        let rest: f64 = valid
            .iter()
            .filter(|h| !run.contains(h))
            .map(|&h| s.zs[c][h])
            .sum();
        if let Some(hourly) = ch.hourly_limit {
            for &h in &run {
                let mut v = hourly * uniform(rng, 1.1, 1.8);
                if let Some(daily) = ch.daily_limit {
                    v = v.min(0.97 * daily * n - rest).max(1.05 * hourly);
                }
                s.zs[c][h] = v;
            }
        } else if let Some(daily) = ch.daily_limit {
            let target = daily * uniform(rng, 1.15, 1.5);
            let each = ((target * n - rest) / run.len() as f64).max(1.15 * daily);
            for &h in &run {
                s.zs[c][h] = each * (1.0 + 0.04 * wobble(rng));
            }
        }
        for &h in &run {
            s.avg[c][h] = if air {
                to_measured(s.zs[c][h], s.o2[h])
            } else {
                s.zs[c][h]
            };
        }
    }
}

/// Hourly minima and maxima around the mean; maxima of clean hours stay below the limit.
fn min_max(rng: &mut Stream, channels: &[Channel], s: &mut Series, air: bool, o2_ref: Option<f64>) {
    for (c, ch) in channels.iter().enumerate() {
        let limit = ch.hourly_limit.or(ch.daily_limit);
        for h in 0..24 {
            let avg = s.avg[c][h];
            if ch.ph {
                s.min[c][h] = avg - uniform(rng, 0.02, 0.25);
                s.max[c][h] = avg + uniform(rng, 0.02, 0.25);
                continue;
            }
            s.min[c][h] = avg * uniform(rng, 0.7, 0.95);
            let mut max = avg * uniform(rng, 1.05, 1.35);
            if let Some(l) = limit {
                // Back to the measured state: the cap applies at reference O2.
                let factor = match (air, o2_ref) {
                    (true, Some(r)) => (21.0 - s.o2[h]) / (21.0 - r),
                    _ => 1.0,
                };
                if s.zs[c][h] <= 0.9 * l {
                    max = max.min(0.98 * l * factor).max(avg);
                }
            }
            s.max[c][h] = max;
        }
    }
}

/// An hourly packet from a device that is not in the registry.
fn unknown_packet(
    world: &World,
    date: NaiveDate,
    district: &str,
    rng: &mut Stream,
    text: &mut String,
) {
    let region = if district == "BDA" {
        "110115"
    } else {
        district
    };
    let mn = loop {
        let mn = format!("BJ{region}{:05}DA001", rng.random_range(90_000..100_000));
        if !world.mns.contains(&mn) {
            break mn;
        }
    };
    let h = rng.random_range(0..24);
    let dt = format!(
        "{:04}{:02}{:02}{h:02}0000",
        date.year(),
        date.month(),
        date.day()
    );
    let qn = format!("{dt}{:03}", rng.random_range(0..1000));
    let o2 = uniform(rng, 6.0, 10.0);
    let mut b = SegmentBuilder::new(&qn, "31", "2061", PW, &mn, &dt);
    for (code, lo, hi) in [
        ("a34013", 0.8, 7.0),
        ("a21026", 1.0, 12.0),
        ("a21002", 10.0, 70.0),
    ] {
        let v = uniform(rng, lo, hi);
        b = b.raw_group(&group(
            code,
            v,
            Some(v),
            v * 0.8,
            v * 1.2,
            Some(v * 0.02),
            'N',
        ));
    }
    b = air_parameters(b, o2, o2 - 0.3, o2 + 0.3, uniform(rng, 40.0, 90.0));
    text.push_str(&frame(&b.build()));
}
