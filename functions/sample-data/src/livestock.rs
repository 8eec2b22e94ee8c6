//! Large-scale livestock and poultry farms: the monthly `farms.csv` snapshot with herd sizes
//! above the scale thresholds, manure produced and how it was used. The registry's farms
//! appear with the same USCC; more farms (one per three units, at least 80) are added, mostly in
//! the outer districts. Builds the file in memory; no I/O.

use crate::defects::*;
use crate::geography::AREAS;
use crate::identity::{NameBook, Registrant, UsccBook};
use crate::registry::{SourceType, Unit};
use crate::streams::{Stream, chance, log_uniform, pick, pick_weighted, stream, uniform, weighted};
use crate::table::{CsvText, TextEncoding, num};
use chrono::{Datelike, NaiveDate};
use envgov_dataset::vocab::Species;
use rand::Rng;

pub(crate) const HEADER: [&str; 13] = envgov_dataset::raw_headers::LIVESTOCK;

/// Beijing keeps a few hundred large-scale farms; small samples still list this many.
const MIN_FARMS: usize = 80;

const KINDS: [&str; 2] = [LIVESTOCK_UTILISED_EXCEEDS, LIVESTOCK_UNKNOWN_SPECIES];

/// Species: scale threshold (head or birds), typical herd range, manure kg per head and day.
fn species_facts(species: Species) -> (f64, (f64, f64), f64) {
    match species {
        Species::Pig => (500.0, (550.0, 20_000.0), 2.0),
        Species::Dairy => (100.0, (120.0, 3_000.0), 30.0),
        Species::Beef => (200.0, (220.0, 1_500.0), 20.0),
        Species::Layer => (15_000.0, (16_000.0, 300_000.0), 0.12),
        Species::Broiler => (30_000.0, (32_000.0, 200_000.0), 0.09),
    }
}

pub(crate) struct Farm {
    uscc: String,
    name: String,
    district: &'static str,
    species: Species,
    herd: f64,
    equipped: bool,
    /// Route weights: land, organic fertiliser, energy, third party.
    routes: [f64; 4],
    utilisation: f64,
}

fn new_farm(
    rng: &mut Stream,
    uscc: String,
    name: String,
    district: &'static str,
    species: Species,
) -> Farm {
    let (_, range, _) = species_facts(species);
    let entrusted = rng.random_bool(0.3);
    Farm {
        uscc,
        name,
        district,
        species,
        herd: log_uniform(rng, range.0, range.1).round(),
        equipped: rng.random_bool(0.97),
        routes: [
            uniform(rng, 0.3, 0.7),
            uniform(rng, 0.1, 0.5),
            if rng.random_bool(0.4) {
                uniform(rng, 0.05, 0.3)
            } else {
                0.0
            },
            if entrusted {
                uniform(rng, 0.1, 0.4)
            } else {
                0.0
            },
        ],
        utilisation: uniform(rng, 0.75, 0.98),
    }
}

/// The registry's farms plus generated ones: one farm per three units, at least 80.
pub(crate) fn farms(seed: u64, units: &[Unit], usccs: &mut UsccBook) -> Vec<Farm> {
    let mut rng = stream(seed, "farms", &[units.len() as u64]);
    let mut farms: Vec<Farm> = units
        .iter()
        .filter(|u| u.source_type == SourceType::LivestockFarm)
        .map(|u| {
            let species = u.species.unwrap_or(Species::Pig);
            new_farm(
                &mut rng,
                u.uscc.clone(),
                u.name_zh.clone(),
                u.district,
                species,
            )
        })
        .collect();
    let mut names = NameBook::default();
    let weights: Vec<f64> = AREAS.iter().map(|a| a.farm_weight).collect();
    let species = [
        (Species::Pig, 0.4),
        (Species::Dairy, 0.15),
        (Species::Beef, 0.1),
        (Species::Layer, 0.25),
        (Species::Broiler, 0.1),
    ];
    while farms.len() < (units.len() / 3).max(MIN_FARMS) {
        let area = &AREAS[weighted(&mut rng, &weights)];
        let sp = pick_weighted(&mut rng, &species);
        let (word_zh, word_en) = match sp {
            Species::Pig => ("养殖", "Livestock Farming"),
            Species::Dairy | Species::Beef => ("牧业", "Cattle Farming"),
            _ => ("禽业", "Poultry"),
        };
        let uscc = usccs.issue(&mut rng, area.region, Registrant::Enterprise);
        let name = names.company(&mut rng, word_zh, word_en).0;
        farms.push(new_farm(&mut rng, uscc, name, area.district.code, sp));
    }
    farms
}

fn yes_no(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

/// `farms.csv` for the snapshot dated `date` (manure of the previous 30 days).
pub(crate) fn snapshot(
    seed: u64,
    farms: &[Farm],
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    if farms.is_empty() {
        return;
    }
    let ord = date.num_days_from_ce() as u64;
    let mut rng = stream(seed, "livestock", &[ord]);
    let defects = plan_rows(&mut rng, rates, &KINDS, farms.len(), pending, |_, _| true);
    let mut csv = CsvText::new(&HEADER, rng.random_bool(0.5));
    for (farm, defect) in farms.iter().zip(defects) {
        let (threshold, _, manure_kg) = species_facts(farm.species);
        let herd = (farm.herd * (1.0 + 0.05 * crate::streams::wobble(&mut rng)))
            .round()
            .max(threshold * 1.02)
            .round();
        let running = farm.equipped && !chance(&mut rng, 0.03);
        // Amounts in tenths of a tonne, so that rounded parts never exceed the whole.
        let produced = (herd * manure_kg * 30.0 / 1000.0 * 10.0).round().max(1.0) as u64;
        let used = produced as f64 * farm.utilisation * if running { 1.0 } else { 0.85 };
        let total_w: f64 = farm.routes.iter().sum();
        let mut parts: [u64; 4] = [0; 4];
        for (p, w) in parts.iter_mut().zip(farm.routes) {
            *p = (used * w / total_w).floor() as u64;
        }
        let mut species = farm.species.zh().to_string();
        if let Some(kind) = defect {
            ledger.add(kind, 1);
            match kind {
                LIVESTOCK_UTILISED_EXCEEDS => {
                    let factor = uniform(&mut rng, 1.05, 1.3);
                    let target = (produced as f64 * factor).ceil() as u64;
                    let sum: u64 = parts.iter().sum();
                    parts[0] += target.saturating_sub(sum);
                }
                LIVESTOCK_UNKNOWN_SPECIES => {
                    species = pick(&mut rng, &["肉鸭", "肉羊", "鹅"]).to_string()
                }
                _ => {}
            }
        }
        let t = |tenths: u64| num(tenths as f64 / 10.0, 1);
        csv.row(&[
            farm.uscc.clone(),
            farm.name.clone(),
            farm.district.to_string(),
            species,
            num(herd, 0),
            yes_no(farm.equipped).to_string(),
            yes_no(running).to_string(),
            t(produced),
            t(parts[0]),
            t(parts[1]),
            t(parts[2]),
            yes_no(farm.routes[3] > 0.0).to_string(),
            t(parts[3]),
        ]);
    }
    out("farms.csv".to_string(), csv.finish(TextEncoding::Utf8));
}
