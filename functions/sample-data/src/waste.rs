//! Daily operating statistics of treatment facilities: `sewage.csv` (municipal sewage
//! plants' effluent: the registry's plants plus smaller town plants), `msw.csv` (municipal solid waste by treatment method),
//! `medical-waste.csv` (collected and disposed per district) and `construction-waste.csv`
//! (received and recycled). Each file is built in memory; no I/O.

use crate::defects::*;
use crate::geography::AREAS;
use crate::levels::{band, decimals_for, in_band};
use crate::registry::{SourceType, Unit};
use crate::streams::{Stream, pick, stream, uniform, wobble};
use crate::table::{CsvText, TextEncoding, drop_leading_zero, iso_date, num};
use chrono::{Datelike, NaiveDate};
use envgov_dataset::vocab::MswMethod;
use rand::Rng;

pub(crate) const SEWAGE_HEADER: [&str; 11] = envgov_dataset::raw_headers::SEWAGE;
pub(crate) const MSW_HEADER: [&str; 7] = envgov_dataset::raw_headers::MSW;
pub(crate) const MEDICAL_HEADER: [&str; 5] = envgov_dataset::raw_headers::MEDICAL_WASTE;
pub(crate) const CONSTRUCTION_HEADER: [&str; 7] = envgov_dataset::raw_headers::CONSTRUCTION_WASTE;
use crate::waste_sites::*;
use crate::world::World;

fn csv_encoding(rng: &mut Stream) -> (TextEncoding, bool) {
    let encoding = if rng.random_bool(0.8) {
        TextEncoding::Utf8
    } else {
        TextEncoding::Utf8Bom
    };
    (encoding, rng.random_bool(0.5))
}

/// `sewage.csv`: one row per municipal sewage plant of the registry.
pub(crate) fn sewage(
    world: &World,
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    let plants = &world.sewage_sites;
    if plants.is_empty() {
        return;
    }
    let ord = date.num_days_from_ce() as u64;
    let month = date.month();
    let mut rng = stream(world.seed, "sewage", &[ord]);
    let kinds = [SEWAGE_IMPOSSIBLE, SEWAGE_MISSING, SEWAGE_TRUE_EXCEEDANCE];
    let defects = plan_rows(&mut rng, rates, &kinds, plants.len(), pending, |_, _| true);
    let (encoding, crlf) = csv_encoding(&mut rng);
    let mut csv = CsvText::new(&SEWAGE_HEADER, crlf);
    for (plant, defect) in plants.iter().zip(defects) {
        let standard = world
            .curated
            .standards
            .get(&plant.standard)
            .expect("sewage standards exist");
        let mut values: Vec<f64> = SEWAGE_POLLUTANTS
            .iter()
            .zip(plant.levels)
            .map(|(p, level)| in_band(band(standard, p, month), level, 0.12 * wobble(&mut rng)))
            .collect();
        let mut flow = (plant.flow * (1.0 + 0.08 * wobble(&mut rng))).round();
        let mut missing = None;
        if let Some(kind) = defect {
            ledger.add(kind, 1);
            match kind {
                SEWAGE_TRUE_EXCEEDANCE => {
                    let i = if crate::levels::is_winter(month) && rng.random_bool(0.6) {
                        3
                    } else {
                        rng.random_range(0..6)
                    };
                    let limit = standard
                        .sample_limit(SEWAGE_POLLUTANTS[i])
                        .map(|l| l.upper_for_month(month))
                        .expect("DB11/890 limits every column");
                    values[i] = limit * uniform(&mut rng, 1.15, 2.0);
                }
                SEWAGE_IMPOSSIBLE => {
                    if rng.random_bool(0.2) {
                        flow = -flow;
                    } else {
                        let i = rng.random_range(0..6);
                        values[i] = -values[i].max(0.5);
                    }
                }
                SEWAGE_MISSING => missing = Some(pick(&mut rng, &[4usize, 5, 8, 10])),
                _ => {}
            }
        }
        let mut cells = vec![
            plant.uscc.clone(),
            plant.name.clone(),
            iso_date(date),
            plant.standard.clone(),
            num(flow, 0),
        ];
        for v in values {
            let s = num(v, decimals_for(v));
            cells.push(if rng.random_bool(0.2) {
                drop_leading_zero(s)
            } else {
                s
            });
        }
        if let Some(i) = missing {
            cells[i].clear();
        }
        csv.row(&cells);
    }
    out("sewage.csv".to_string(), csv.finish(encoding));
}

/// `msw.csv`: incinerators, landfills and kitchen-waste plants.
pub(crate) fn msw(
    world: &World,
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    if world.msw_sites.is_empty() {
        return;
    }
    let mut rng = stream(world.seed, "msw", &[date.num_days_from_ce() as u64]);
    let defects = plan_rows(
        &mut rng,
        rates,
        &[MSW_TREATED_EXCEEDS],
        world.msw_sites.len(),
        pending,
        |_, _| true,
    );
    let (encoding, crlf) = csv_encoding(&mut rng);
    let mut csv = CsvText::new(&MSW_HEADER, crlf);
    for (site, defect) in world.msw_sites.iter().zip(defects) {
        let received = (site.capacity * uniform(&mut rng, 0.8, 1.05) * 10.0).round() / 10.0;
        let mut treated = if rng.random_bool(0.7) {
            received
        } else {
            (received * uniform(&mut rng, 0.97, 1.0) * 10.0).floor() / 10.0
        };
        let products = if matches!(
            site.method,
            MswMethod::KitchenCompost | MswMethod::KitchenAnaerobic
        ) {
            received * uniform(&mut rng, 0.05, 0.15)
        } else {
            0.0
        };
        if let Some(kind) = defect {
            ledger.add(kind, 1);
            treated = (received * uniform(&mut rng, 1.02, 1.2) * 10.0).round() / 10.0;
        }
        csv.row(&[
            site.uscc.clone(),
            site.name.clone(),
            iso_date(date),
            site.method.zh().to_string(),
            num(received, 1),
            num(treated, 1),
            num(products, 1),
        ]);
    }
    out("msw.csv".to_string(), csv.finish(encoding));
}

/// `medical-waste.csv`: one row per district, disposed by one of the first two
/// hazardous-waste units of the registry.
pub(crate) fn medical(
    world: &World,
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    let disposers: Vec<&Unit> = world
        .units
        .iter()
        .filter(|u| u.source_type == SourceType::HazardousWaste)
        .take(2)
        .collect();
    if disposers.is_empty() {
        return;
    }
    let mut rng = stream(
        world.seed,
        "medical-waste",
        &[date.num_days_from_ce() as u64],
    );
    let defects = plan_rows(
        &mut rng,
        rates,
        &[MEDICAL_NEGATIVE],
        AREAS.len(),
        pending,
        |_, _| true,
    );
    let weekend = date.weekday().number_from_monday() >= 6;
    let (encoding, crlf) = csv_encoding(&mut rng);
    let mut csv = CsvText::new(&MEDICAL_HEADER, crlf);
    for (i, (area, defect)) in AREAS.iter().zip(defects).enumerate() {
        let disposer = disposers[i % disposers.len()];
        let mut collected =
            area.medical_t * uniform(&mut rng, 0.85, 1.15) * if weekend { 0.8 } else { 1.0 };
        let mut disposed = collected * uniform(&mut rng, 0.9, 1.1);
        if let Some(kind) = defect {
            ledger.add(kind, 1);
            if rng.random_bool(0.5) {
                collected = -collected;
            } else {
                disposed = -disposed;
            }
        }
        csv.row(&[
            area.district.code.to_string(),
            iso_date(date),
            disposer.uscc.clone(),
            num(collected, 2),
            num(disposed, 2),
        ]);
    }
    out("medical-waste.csv".to_string(), csv.finish(encoding));
}

/// `construction-waste.csv`: received and recycled per facility.
pub(crate) fn construction(
    world: &World,
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    if world.construction_sites.is_empty() {
        return;
    }
    let mut rng = stream(
        world.seed,
        "construction-waste",
        &[date.num_days_from_ce() as u64],
    );
    let defects = plan_rows(
        &mut rng,
        rates,
        &[CONSTRUCTION_BAD_DISTRICT],
        world.construction_sites.len(),
        pending,
        |_, _| true,
    );
    let (encoding, crlf) = csv_encoding(&mut rng);
    let mut csv = CsvText::new(&CONSTRUCTION_HEADER, crlf);
    for (site, defect) in world.construction_sites.iter().zip(defects) {
        let received = (site.capacity * uniform(&mut rng, 0.6, 1.0)).clamp(500.0, 5000.0);
        let recycled = received * uniform(&mut rng, 0.6, 0.9);
        let product = if rng.random_bool(0.85) {
            site.product
        } else {
            pick(&mut rng, PRODUCTS)
        };
        let mut district = site.district.to_string();
        if let Some(kind) = defect {
            ledger.add(kind, 1);
            district = pick(&mut rng, &["110110", "110103", "999999", "朝阳"]).to_string();
        }
        csv.row(&[
            site.uscc.clone(),
            site.name.clone(),
            district,
            iso_date(date),
            num(received, 1),
            num(recycled, 1),
            product.zh().to_string(),
        ]);
    }
    out("construction-waste.csv".to_string(), csv.finish(encoding));
}
