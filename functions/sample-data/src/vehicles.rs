//! Fleet snapshots: `{sector}.csv` for buses, road transport, sanitation, postal, express and
//! taxis, one row per vehicle with its latest periodic emission inspection. The fleet is fixed
//! per seed; each snapshot shows every vehicle's latest inspection before the snapshot date.
//! Builds one file in memory at a time; no I/O.

use crate::defects::*;
use crate::identity::{NameBook, Registrant, UsccBook, malformed_uscc};
use crate::streams::{Stream, chance, pick, pick_weighted, stream};
use crate::table::{CsvText, TextEncoding, iso_date};
use chrono::{Datelike, Days, NaiveDate};
use envgov_dataset::vocab::{EmissionStage, Fuel, InspectionMethod, Sector};
use rand::Rng;
use std::collections::BTreeSet;

pub(crate) const HEADER: [&str; 9] = envgov_dataset::raw_headers::VEHICLES;

const KINDS: [&str; 4] = [
    VEH_MALFORMED_USCC,
    VEH_UNKNOWN_FUEL,
    VEH_SECTOR_MISMATCH,
    VEH_BAD_DATE,
];

struct SectorSpec {
    sector: Sector,
    share: f64,
    operators: usize,
    word_zh: &'static str,
    word_en: &'static str,
    letters: &'static [char],
    fuels: &'static [(Fuel, f64)],
}

const OTHER_LETTERS: &[char] = &['A', 'C', 'E', 'F', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'Q'];

const SECTORS: [SectorSpec; 6] = [
    SectorSpec {
        sector: Sector::Bus,
        share: 0.35,
        operators: 2,
        word_zh: "公共交通",
        word_en: "Public Transport",
        letters: &['A', 'C'],
        fuels: &[
            (Fuel::Bev, 0.70),
            (Fuel::NaturalGas, 0.12),
            (Fuel::Phev, 0.10),
            (Fuel::Fcev, 0.03),
            (Fuel::Diesel, 0.05),
        ],
    },
    SectorSpec {
        sector: Sector::RoadTransport,
        share: 0.20,
        operators: 5,
        word_zh: "物流",
        word_en: "Logistics",
        letters: OTHER_LETTERS,
        fuels: &[
            (Fuel::Diesel, 0.85),
            (Fuel::NaturalGas, 0.07),
            (Fuel::Bev, 0.05),
            (Fuel::Gasoline, 0.03),
        ],
    },
    SectorSpec {
        sector: Sector::Sanitation,
        share: 0.08,
        operators: 3,
        word_zh: "环境卫生服务",
        word_en: "Sanitation Services",
        letters: OTHER_LETTERS,
        fuels: &[
            (Fuel::Bev, 0.45),
            (Fuel::Diesel, 0.35),
            (Fuel::NaturalGas, 0.10),
            (Fuel::Gasoline, 0.05),
            (Fuel::Fcev, 0.05),
        ],
    },
    SectorSpec {
        sector: Sector::Postal,
        share: 0.04,
        operators: 1,
        word_zh: "邮政服务",
        word_en: "Postal Services",
        letters: OTHER_LETTERS,
        fuels: &[
            (Fuel::Bev, 0.55),
            (Fuel::Gasoline, 0.25),
            (Fuel::Diesel, 0.20),
        ],
    },
    SectorSpec {
        sector: Sector::Express,
        share: 0.13,
        operators: 4,
        word_zh: "速递",
        word_en: "Express Delivery",
        letters: OTHER_LETTERS,
        fuels: &[
            (Fuel::Bev, 0.65),
            (Fuel::Gasoline, 0.15),
            (Fuel::Diesel, 0.20),
        ],
    },
    SectorSpec {
        sector: Sector::Taxi,
        share: 0.20,
        operators: 4,
        word_zh: "出租汽车",
        word_en: "Taxi",
        letters: &['B'],
        fuels: &[
            (Fuel::Bev, 0.65),
            (Fuel::Gasoline, 0.25),
            (Fuel::Phev, 0.08),
            (Fuel::NaturalGas, 0.02),
        ],
    },
];

struct Operator {
    uscc: String,
    name: String,
}

struct Vehicle {
    operator: usize,
    plate: String,
    fuel: Fuel,
    stage: EmissionStage,
    method: InspectionMethod,
    /// Inspections happen on days where `(day number + offset) % 365 == 0`.
    offset: u32,
}

pub(crate) struct SectorFleet {
    operators: Vec<Operator>,
    vehicles: Vec<Vehicle>,
}

/// All six sector fleets, in [`SECTORS`] order.
pub(crate) struct Fleet {
    sectors: Vec<SectorFleet>,
}

fn stage_for(rng: &mut Stream, fuel: Fuel) -> EmissionStage {
    match fuel {
        Fuel::Bev | Fuel::Fcev => EmissionStage::NotApplicable,
        Fuel::Gasoline => pick_weighted(
            rng,
            &[
                (EmissionStage::China4, 0.05),
                (EmissionStage::China5, 0.2),
                (EmissionStage::China6a, 0.15),
                (EmissionStage::China6b, 0.6),
            ],
        ),
        Fuel::Diesel => pick_weighted(
            rng,
            &[
                (EmissionStage::China4, 0.08),
                (EmissionStage::China5, 0.4),
                (EmissionStage::China6a, 0.22),
                (EmissionStage::China6b, 0.3),
            ],
        ),
        Fuel::NaturalGas => pick_weighted(
            rng,
            &[
                (EmissionStage::China5, 0.4),
                (EmissionStage::China6a, 0.2),
                (EmissionStage::China6b, 0.4),
            ],
        ),
        _ => pick_weighted(
            rng,
            &[
                (EmissionStage::China5, 0.05),
                (EmissionStage::China6a, 0.15),
                (EmissionStage::China6b, 0.8),
            ],
        ),
    }
}

fn method_for(rng: &mut Stream, fuel: Fuel) -> InspectionMethod {
    match fuel {
        Fuel::Bev | Fuel::Fcev => InspectionMethod::NotApplicable,
        Fuel::Diesel => pick_weighted(
            rng,
            &[
                (InspectionMethod::FreeAcceleration, 0.5),
                (InspectionMethod::LugDown, 0.45),
                (InspectionMethod::Obd, 0.05),
            ],
        ),
        Fuel::NaturalGas => pick_weighted(
            rng,
            &[
                (InspectionMethod::TwoSpeedIdle, 0.6),
                (InspectionMethod::SimpleTransient, 0.4),
            ],
        ),
        _ => pick_weighted(
            rng,
            &[
                (InspectionMethod::TwoSpeedIdle, 0.4),
                (InspectionMethod::SimpleTransient, 0.5),
                (InspectionMethod::Obd, 0.1),
            ],
        ),
    }
}

/// Roman-numeral spelling of a stage (`国VIb` → `国Ⅵb`).
fn roman(stage: &str) -> String {
    stage
        .replacen("VI", "Ⅵ", 1)
        .replacen("IV", "Ⅳ", 1)
        .replacen("V", "Ⅴ", 1)
        .replacen("III", "Ⅲ", 1)
}

fn plate(rng: &mut Stream, letters: &[char], used: &mut BTreeSet<String>) -> String {
    const SYMBOLS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    for attempt in 0.. {
        let letter = pick(rng, letters);
        let a = SYMBOLS[rng.random_range(0..SYMBOLS.len())] as char;
        let b = SYMBOLS[rng.random_range(0..10)] as char;
        let y = rng.random_range(0..100);
        let p = if attempt < 30 {
            format!("京{letter}·{a}**{y:02}")
        } else {
            format!("京{letter}·{a}{b}*{y:02}")
        };
        if used.insert(p.clone()) {
            return p;
        }
    }
    unreachable!("the plate loop only ends by returning")
}

/// The fixed fleet of a sample world: about 15 vehicles per registered unit.
pub(crate) fn fleet(seed: u64, units: usize, usccs: &mut UsccBook) -> Fleet {
    let total = units * 15;
    let mut names = NameBook::default();
    let sectors = SECTORS
        .iter()
        .enumerate()
        .map(|(s_idx, spec)| {
            let mut rng = stream(seed, "fleet", &[units as u64, s_idx as u64]);
            let operators = (0..spec.operators)
                .map(|_| Operator {
                    uscc: usccs.issue(&mut rng, "110000", Registrant::Enterprise),
                    name: names.company(&mut rng, spec.word_zh, spec.word_en).0,
                })
                .collect::<Vec<_>>();
            let n = ((total as f64 * spec.share).round() as usize).max(1);
            let mut used = BTreeSet::new();
            let vehicles = (0..n)
                .map(|_| {
                    let fuel = pick_weighted(&mut rng, spec.fuels);
                    Vehicle {
                        operator: rng.random_range(0..operators.len()),
                        plate: plate(&mut rng, spec.letters, &mut used),
                        fuel,
                        stage: stage_for(&mut rng, fuel),
                        method: method_for(&mut rng, fuel),
                        offset: rng.random_range(0..365),
                    }
                })
                .collect();
            SectorFleet {
                operators,
                vehicles,
            }
        })
        .collect();
    Fleet { sectors }
}

/// Emits the six sector files of a snapshot dated `date`.
pub(crate) fn snapshot(
    seed: u64,
    fleet: &Fleet,
    date: NaiveDate,
    rates: &DefectRates,
    ledger: &mut DefectLedger,
    pending: &mut Pending,
    out: &mut dyn FnMut(String, Vec<u8>),
) {
    let ord = date.num_days_from_ce() as i64;
    for (s_idx, (spec, sf)) in SECTORS.iter().zip(&fleet.sectors).enumerate() {
        let mut rng = stream(seed, "vehicles", &[ord as u64, s_idx as u64]);
        let encoding = TextEncoding::from_draw(rng.random_range(0..3));
        let crlf = encoding == TextEncoding::Gb18030 || rng.random_bool(0.5);
        let defects = plan_rows(
            &mut rng,
            rates,
            &KINDS,
            sf.vehicles.len(),
            pending,
            |_, _| true,
        );
        let mut csv = CsvText::new(&HEADER, crlf);
        for (v, defect) in sf.vehicles.iter().zip(defects) {
            // The latest inspection before the snapshot date.
            let days_ago = 1 + (ord - 1 + i64::from(v.offset)).rem_euclid(365);
            let inspected = date
                .checked_sub_days(Days::new(days_ago as u64))
                .expect("in range");
            let mut vr = stream(
                seed,
                "inspection",
                &[
                    s_idx as u64,
                    inspected.num_days_from_ce() as u64,
                    v.offset as u64,
                ],
            );
            let passed = v.method == InspectionMethod::NotApplicable || !chance(&mut vr, 0.03);
            let op = &sf.operators[v.operator];
            let stage = if v.stage != EmissionStage::NotApplicable && vr.random_bool(0.1) {
                roman(v.stage.zh())
            } else {
                v.stage.zh().to_string()
            };
            let mut cells = vec![
                op.uscc.clone(),
                op.name.clone(),
                spec.sector.zh().to_string(),
                v.plate.clone(),
                v.fuel.zh().to_string(),
                stage,
                iso_date(inspected),
                v.method.zh().to_string(),
                if passed { "合格" } else { "不合格" }.to_string(),
            ];
            if let Some(kind) = defect {
                ledger.add(kind, 1);
                match kind {
                    VEH_MALFORMED_USCC => cells[0] = malformed_uscc(&mut rng, &cells[0]),
                    VEH_UNKNOWN_FUEL => {
                        cells[4] = pick(&mut rng, &["柴汽油", "其他燃料", "甲醇"]).to_string()
                    }
                    VEH_SECTOR_MISMATCH => {
                        let others: Vec<&str> = SECTORS
                            .iter()
                            .map(|s| s.sector.zh())
                            .filter(|l| *l != spec.sector.zh())
                            .collect();
                        cells[2] = pick(&mut rng, &others).to_string();
                    }
                    VEH_BAD_DATE => {
                        cells[6] = if rng.random_bool(0.5) {
                            format!("{:04}-13-{:02}", inspected.year(), inspected.day().min(28))
                        } else {
                            format!("{:04}-02-30", inspected.year())
                        }
                    }
                    _ => {}
                }
            }
            csv.row(&cells);
        }
        out(format!("{}.csv", spec.sector.code()), csv.finish(encoding));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_spellings() {
        assert_eq!(roman("国VIb"), "国Ⅵb");
        assert_eq!(roman("国IV"), "国Ⅳ");
        assert_eq!(roman("国V"), "国Ⅴ");
        assert_eq!(roman("国VIa"), "国Ⅵa");
    }

    #[test]
    fn plates_are_unique_per_sector() {
        let fleet = fleet(5, 300, &mut UsccBook::default());
        for sf in &fleet.sectors {
            let set: BTreeSet<&str> = sf.vehicles.iter().map(|v| v.plate.as_str()).collect();
            assert_eq!(set.len(), sf.vehicles.len());
        }
    }
}
