//! The registry of key polluting units: who they are, where, which outlets and treatment
//! facilities they have, which standard each outlet follows, and the hidden operating
//! points the other generators draw values around. Rendered as `registry.jsonl`.
//!
//! The registry depends only on the seed and the number of units, so every snapshot of it
//! is identical and the other sources can refer to its units. Pure: no I/O.

use crate::geography::{AREAS, Area, address, point_in};
use crate::identity::{NameBook, Registrant, UsccBook};
use crate::streams::{Stream, chance, log_uniform, pick, pick_weighted, stream, uniform, weighted};
use envgov_curated::boundaries::Boundaries;
use envgov_dataset::ids::Medium;
use envgov_dataset::vocab::Species;
use rand::Rng;
use rand::seq::SliceRandom;
use serde::Serialize;

/// The kinds of key polluting units (`source_type` in the registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SourceType {
    Boiler,
    Industrial,
    SewagePlant,
    MswIncinerator,
    Hospital,
    LivestockFarm,
    HazardousWaste,
}

impl SourceType {
    /// Share of all units, and the chance that a unit of this type has online monitoring.
    fn share_and_cems(self) -> (f64, f64) {
        match self {
            SourceType::Boiler => (0.35, 0.65),
            SourceType::Industrial => (0.25, 0.45),
            SourceType::SewagePlant => (0.12, 1.0),
            SourceType::MswIncinerator => (0.04, 1.0),
            SourceType::Hospital => (0.12, 0.35),
            SourceType::LivestockFarm => (0.08, 0.30),
            SourceType::HazardousWaste => (0.04, 1.0),
        }
    }
}

/// Allocation order; with fewer than seven units, the first types win.
const TYPES: [SourceType; 7] = [
    SourceType::Boiler,
    SourceType::SewagePlant,
    SourceType::MswIncinerator,
    SourceType::HazardousWaste,
    SourceType::Industrial,
    SourceType::LivestockFarm,
    SourceType::Hospital,
];

/// One outlet of a unit.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Outlet {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub medium: Medium,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mn: Option<String>,
    pub standard: String,
    pub discharge_method_zh: String,
    pub discharge_method_en: String,
    pub destination_zh: String,
    pub destination_en: String,
    pub pollutants: Vec<String>,
    pub cems: bool,
    /// Operating point (0..1 inside the realistic band) per pollutant, same order.
    #[serde(skip)]
    pub levels: Vec<f64>,
    /// Typical flow: flue gas m3/h for air, wastewater m3/d for water.
    #[serde(skip)]
    pub flow: f64,
    /// Typical measured O2 in percent (air).
    #[serde(skip)]
    pub o2: f64,
    /// Typical flue-gas temperature in °C (air).
    #[serde(skip)]
    pub temperature: f64,
}

/// One treatment facility.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Facility {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub outlet: String,
    pub status: &'static str,
    pub commissioned: String,
}

/// A key polluting unit, serialised as one line of `registry.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Unit {
    #[serde(skip)]
    pub index: usize,
    pub uscc: String,
    pub permit_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub district: &'static str,
    pub industry_code: &'static str,
    pub industry_zh: &'static str,
    pub industry_en: &'static str,
    pub source_type: SourceType,
    pub address_zh: String,
    pub address_en: String,
    pub lon: f64,
    pub lat: f64,
    pub disclosure_url: String,
    pub outlets: Vec<Outlet>,
    pub facilities: Vec<Facility>,
    /// Manual monitoring every `sm_period` days, on days where
    /// `(day number + sm_phase) % sm_period == 0`.
    #[serde(skip)]
    pub sm_period: u32,
    #[serde(skip)]
    pub sm_phase: u32,
    /// Livestock species (畜种) of a farm.
    #[serde(skip)]
    pub species: Option<Species>,
}

impl Unit {
    pub(crate) fn has_cems(&self) -> bool {
        self.outlets.iter().any(|o| o.cems)
    }
}

struct Industry {
    code: &'static str,
    zh: &'static str,
    en: &'static str,
    word_zh: &'static str,
    word_en: &'static str,
}

const fn ind(
    code: &'static str,
    zh: &'static str,
    en: &'static str,
    word_zh: &'static str,
    word_en: &'static str,
) -> Industry {
    Industry {
        code,
        zh,
        en,
        word_zh,
        word_en,
    }
}

const BOILER_INDUSTRIES: [(Industry, f64); 3] = [
    (
        ind(
            "4430",
            "热力生产和供应",
            "Heat production and supply",
            "热力",
            "Heating",
        ),
        0.7,
    ),
    (
        ind(
            "4411",
            "火力发电",
            "Thermal power generation",
            "热电",
            "Thermal Power",
        ),
        0.15,
    ),
    (
        ind(
            "4412",
            "热电联产",
            "Combined heat and power generation",
            "能源",
            "Energy",
        ),
        0.15,
    ),
];

const INDUSTRIAL_INDUSTRIES: [(Industry, f64); 10] = [
    (
        ind(
            "3670",
            "汽车零部件及配件制造",
            "Manufacture of auto parts and accessories",
            "汽车部件",
            "Auto Parts",
        ),
        0.16,
    ),
    (
        ind(
            "2710",
            "化学药品原料药制造",
            "Manufacture of chemical pharmaceutical ingredients",
            "制药",
            "Pharmaceutical",
        ),
        0.12,
    ),
    (
        ind(
            "2761",
            "生物药品制造",
            "Manufacture of biological medicines",
            "生物制药",
            "Biopharma",
        ),
        0.12,
    ),
    (
        ind(
            "2641",
            "涂料制造",
            "Manufacture of paints and coatings",
            "涂料",
            "Coatings",
        ),
        0.06,
    ),
    (
        ind(
            "3021",
            "水泥制品制造",
            "Manufacture of cement products",
            "建材",
            "Building Materials",
        ),
        0.1,
    ),
    (
        ind(
            "1512",
            "白酒制造",
            "Liquor distilling",
            "酒业",
            "Distillery",
        ),
        0.06,
    ),
    (
        ind(
            "1441",
            "液体乳制造",
            "Manufacture of liquid dairy products",
            "乳业",
            "Dairy",
        ),
        0.08,
    ),
    (
        ind(
            "3982",
            "电子电路制造",
            "Manufacture of electronic circuits",
            "电子",
            "Electronics",
        ),
        0.12,
    ),
    (
        ind(
            "2319",
            "包装装潢及其他印刷",
            "Packaging and other printing",
            "印刷",
            "Printing",
        ),
        0.1,
    ),
    (
        ind(
            "3311",
            "金属结构制造",
            "Manufacture of metal structures",
            "钢构",
            "Steel Structures",
        ),
        0.08,
    ),
];

const SEWAGE_INDUSTRY: Industry = ind(
    "4620",
    "污水处理及其再生利用",
    "Sewage treatment and water reclamation",
    "再生水厂",
    "Water Reclamation Plant",
);
const INCINERATOR_INDUSTRY: Industry = ind(
    "4417",
    "生物质能发电",
    "Biomass power generation (waste-to-energy)",
    "环保能源",
    "Environmental Energy",
);
const HOSPITAL_INDUSTRY: Industry =
    ind("8411", "综合医院", "General hospitals", "医院", "Hospital");
const HAZARDOUS_INDUSTRY: Industry = ind(
    "7724",
    "危险废物治理",
    "Hazardous waste treatment",
    "环境服务",
    "Environmental Services",
);

/// Livestock industries with the species they keep.
const LIVESTOCK_INDUSTRIES: [(Industry, &[Species], f64); 3] = [
    (
        ind(
            "0313",
            "猪的饲养",
            "Pig farming",
            "养殖",
            "Livestock Farming",
        ),
        &[Species::Pig],
        0.45,
    ),
    (
        ind(
            "0311",
            "牛的饲养",
            "Cattle farming",
            "牧业",
            "Cattle Farming",
        ),
        &[Species::Dairy, Species::Beef],
        0.25,
    ),
    (
        ind("0321", "鸡的饲养", "Chicken farming", "禽业", "Poultry"),
        &[Species::Layer, Species::Broiler],
        0.3,
    ),
];

const AIR_SEWER_POLLUTANTS: [&str; 3] = ["a34013", "a21026", "a21002"];
const SEWER_POLLUTANTS: [&str; 4] = ["w01018", "w21003", "w21011", "w01001"];
const WWTP_POLLUTANTS: [&str; 6] = ["w01018", "w01017", "w01012", "w21003", "w21001", "w21011"];
const INCINERATOR_POLLUTANTS: [&str; 7] = [
    "a34013", "a21026", "a21002", "a21024", "a21005", "dioxins", "a20057",
];
const LIVESTOCK_POLLUTANTS: [&str; 5] = ["w01018", "w01017", "w01012", "w21003", "w21011"];

/// The registry's XSS probes: names that a site must escape.
pub(crate) const XSS_NAME_EN: &str = "<script>alert(1)</script>";
pub(crate) const XSS_NAME_ZH: &str = "\"><img src=x onerror=alert(1)>";

fn type_counts(units: usize) -> Vec<(SourceType, usize)> {
    if units < TYPES.len() {
        return TYPES.iter().take(units).map(|t| (*t, 1)).collect();
    }
    let mut counts: Vec<(SourceType, usize, f64)> = TYPES
        .iter()
        .map(|t| {
            let exact = units as f64 * t.share_and_cems().0;
            (*t, exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let mut left = units - counts.iter().map(|c| c.1).sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].2.total_cmp(&counts[a].2).then(a.cmp(&b)));
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i].1 += 1;
        left -= 1;
    }
    // Every type at least once, taken from the largest.
    for i in 0..counts.len() {
        if counts[i].1 == 0 {
            let largest = (0..counts.len())
                .max_by_key(|&j| counts[j].1)
                .expect("non-empty");
            counts[largest].1 -= 1;
            counts[i].1 += 1;
        }
    }
    counts.into_iter().map(|(t, n, _)| (t, n)).collect()
}

fn area_for(rng: &mut Stream, t: SourceType) -> &'static Area {
    let weights: Vec<f64> = AREAS
        .iter()
        .map(|a| match t {
            SourceType::LivestockFarm => a.farm_weight,
            SourceType::MswIncinerator | SourceType::HazardousWaste | SourceType::SewagePlant
                if !a.district.statutory || a.district.code <= "110102" =>
            {
                0.0
            }
            SourceType::MswIncinerator | SourceType::HazardousWaste => {
                a.farm_weight.max(1.0) + a.unit_weight
            }
            _ => a.unit_weight,
        })
        .collect();
    &AREAS[weighted(rng, &weights)]
}

fn commissioned(rng: &mut Stream) -> String {
    let year = rng.random_range(2005..2024);
    let month = rng.random_range(1..=12);
    let day = rng.random_range(1..=28);
    format!("{year:04}-{month:02}-{day:02}")
}

fn status(rng: &mut Stream) -> &'static str {
    pick_weighted(
        rng,
        &[
            ("operating", 0.92),
            ("maintenance", 0.05),
            ("stopped", 0.03),
        ],
    )
}

struct OutletSpec<'a> {
    medium: Medium,
    name_zh: String,
    name_en: String,
    standard: &'a str,
    pollutants: &'a [&'a str],
    /// (method zh, method en, destination zh, destination en)
    discharge: (&'a str, &'a str, &'a str, &'a str),
    flow: (f64, f64),
    temperature: (f64, f64),
}

const STACK: (&str, &str, &str, &str) =
    ("有组织排放", "Stack (organised)", "大气环境", "Atmosphere");
const TO_SEWER: (&str, &str, &str, &str) = (
    "间接排放",
    "Indirect discharge",
    "进入城市污水处理厂",
    "To a municipal sewage plant",
);
const TO_RIVER: (&str, &str, &str, &str) = (
    "直接排放",
    "Direct discharge",
    "直接进入江河、湖、库等水环境",
    "Directly to rivers, lakes or reservoirs",
);

fn outlet_specs(rng: &mut Stream, t: SourceType) -> Vec<OutletSpec<'static>> {
    let air = |zh: String, en: String, standard, pollutants, flow, temperature| OutletSpec {
        medium: Medium::Air,
        name_zh: zh,
        name_en: en,
        standard,
        pollutants,
        discharge: STACK,
        flow,
        temperature,
    };
    let water = |zh: &str, en: &str, standard, pollutants, discharge, flow| OutletSpec {
        medium: Medium::Water,
        name_zh: zh.to_string(),
        name_en: en.to_string(),
        standard,
        pollutants,
        discharge,
        flow,
        temperature: (0.0, 0.0),
    };
    match t {
        SourceType::Boiler => {
            let n = pick_weighted(rng, &[(1usize, 0.6), (2, 0.3), (3, 0.1)]);
            (1..=n)
                .map(|i| {
                    air(
                        format!("{i}号锅炉排气筒"),
                        format!("Boiler stack {i}"),
                        "DB11-139-2015",
                        &AIR_SEWER_POLLUTANTS[..],
                        (8_000.0, 60_000.0),
                        (55.0, 130.0),
                    )
                })
                .collect()
        }
        SourceType::Industrial => {
            let mut v = Vec::new();
            let kind = rng.random_range(0..10);
            if kind < 7 {
                let n = if rng.random_bool(0.3) { 2 } else { 1 };
                for i in 1..=n {
                    v.push(air(
                        format!("{i}号工艺废气排气筒"),
                        format!("Process exhaust stack {i}"),
                        "DB11-501-2017",
                        &AIR_SEWER_POLLUTANTS[..],
                        (5_000.0, 40_000.0),
                        (25.0, 60.0),
                    ));
                }
            }
            if kind >= 4 {
                v.push(water(
                    "废水总排口",
                    "Main wastewater outlet",
                    "DB11-307-2013-sewer",
                    &SEWER_POLLUTANTS[..],
                    TO_SEWER,
                    (50.0, 2_000.0),
                ));
            }
            v
        }
        SourceType::SewagePlant => {
            let standard = pick_weighted(
                rng,
                &[
                    ("DB11-890-2012-new-A", 0.4),
                    ("DB11-890-2012-new-B", 0.35),
                    ("DB11-890-2012-existing-B", 0.25),
                ],
            );
            vec![water(
                "出水总排口",
                "Main effluent outlet",
                standard,
                &WWTP_POLLUTANTS[..],
                TO_RIVER,
                (10_000.0, 500_000.0),
            )]
        }
        SourceType::MswIncinerator => {
            let n = if rng.random_bool(0.55) { 2 } else { 3 };
            (1..=n)
                .map(|i| {
                    air(
                        format!("{i}号焚烧线烟囱"),
                        format!("Incineration line {i} stack"),
                        "GB18485-2014",
                        &INCINERATOR_POLLUTANTS[..],
                        (50_000.0, 150_000.0),
                        (130.0, 165.0),
                    )
                })
                .collect()
        }
        SourceType::Hospital => {
            vec![water(
                "污水处理站排口",
                "Wastewater station outlet",
                "DB11-307-2013-sewer",
                &SEWER_POLLUTANTS[..],
                TO_SEWER,
                (100.0, 1_500.0),
            )]
        }
        SourceType::LivestockFarm => {
            vec![water(
                "废水排放口",
                "Wastewater outlet",
                "GB18596-2001",
                &LIVESTOCK_POLLUTANTS[..],
                TO_RIVER,
                (20.0, 300.0),
            )]
        }
        SourceType::HazardousWaste => vec![
            air(
                "焚烧系统排气筒".to_string(),
                "Incineration system stack".to_string(),
                "DB11-501-2017",
                &AIR_SEWER_POLLUTANTS[..],
                (20_000.0, 60_000.0),
                (110.0, 160.0),
            ),
            water(
                "废水总排口",
                "Main wastewater outlet",
                "DB11-307-2013-sewer",
                &SEWER_POLLUTANTS[..],
                TO_SEWER,
                (20.0, 200.0),
            ),
        ],
    }
}

/// Treatment facilities of one outlet: `(name zh, name en)`.
fn facility_names(
    rng: &mut Stream,
    t: SourceType,
    medium: Medium,
) -> Vec<(&'static str, &'static str)> {
    match (t, medium) {
        (SourceType::Boiler, _) => {
            let mut v = vec![("低氮燃烧", "Low-NOx burners")];
            if rng.random_bool(0.4) {
                v.push(("烟气再循环", "Flue-gas recirculation"));
            }
            v
        }
        (SourceType::MswIncinerator, _) => vec![
            ("SNCR脱硝", "SNCR denitrification"),
            ("半干法脱酸", "Semi-dry acid-gas removal"),
            (
                "活性炭喷射+袋式除尘",
                "Activated-carbon injection and bag filter",
            ),
        ],
        (SourceType::HazardousWaste, Medium::Air) => vec![(
            "急冷+布袋除尘+湿法脱酸",
            "Quench, bag filter and wet scrubber",
        )],
        (SourceType::Industrial, Medium::Air) => vec![pick(
            rng,
            &[
                ("布袋除尘器", "Bag filter"),
                ("活性炭吸附", "Activated-carbon adsorption"),
                ("喷淋塔", "Spray scrubber"),
            ],
        )],
        (SourceType::SewagePlant, _) => vec![
            ("A2/O生物处理", "A2/O biological treatment"),
            pick(
                rng,
                &[
                    ("深床滤池", "Deep-bed filter"),
                    ("膜生物反应器", "Membrane bioreactor"),
                ],
            ),
            ("紫外消毒", "UV disinfection"),
        ],
        (SourceType::Hospital, _) => {
            vec![("二级生化处理+消毒", "Secondary treatment and disinfection")]
        }
        (SourceType::LivestockFarm, _) => {
            vec![("厌氧发酵+氧化塘", "Anaerobic digestion and oxidation pond")]
        }
        _ => vec![("物化+生化处理", "Physico-chemical and biological treatment")],
    }
}

/// Generates the registry's units: deterministic for `(seed, units)`.
pub(crate) fn units(seed: u64, n: usize, xss_probes: bool, usccs: &mut UsccBook) -> Vec<Unit> {
    let mut rng = stream(seed, "registry", &[n as u64]);
    let mut types: Vec<SourceType> = type_counts(n)
        .into_iter()
        .flat_map(|(t, c)| std::iter::repeat_n(t, c))
        .collect();
    types.shuffle(&mut rng);
    let mut names = NameBook::default();
    let boundaries = Boundaries::beijing().expect("the embedded district boundaries are valid");
    let mut units = Vec::with_capacity(n);
    for (index, &t) in types.iter().enumerate() {
        let mut r = stream(seed, "unit", &[n as u64, index as u64]);
        // The unit's location has a stream of its own (see `geography::point_in`).
        let mut place = stream(seed, "location", &[n as u64, index as u64]);
        let at = Placement {
            rng: &mut place,
            boundaries: &boundaries,
        };
        units.push(unit(&mut r, at, index, t, &mut names, usccs));
    }
    if xss_probes {
        let mut boilers = units
            .iter_mut()
            .filter(|u| u.source_type == SourceType::Boiler);
        if let Some(u) = boilers.next() {
            u.name_en = XSS_NAME_EN.to_string();
        }
        if let Some(u) = boilers.next() {
            u.name_zh = XSS_NAME_ZH.to_string();
        }
    }
    units
}

/// Where a unit's point is drawn from (see [`point_in`]).
struct Placement<'p> {
    rng: &'p mut Stream,
    boundaries: &'p Boundaries,
}

fn unit(
    rng: &mut Stream,
    at: Placement<'_>,
    index: usize,
    t: SourceType,
    names: &mut NameBook,
    usccs: &mut UsccBook,
) -> Unit {
    let area = area_for(rng, t);
    let (industry, species): (&Industry, Option<Species>) = match t {
        SourceType::Boiler => (
            &BOILER_INDUSTRIES[weighted(rng, &BOILER_INDUSTRIES.map(|x| x.1))].0,
            None,
        ),
        SourceType::Industrial => (
            &INDUSTRIAL_INDUSTRIES[weighted(rng, &INDUSTRIAL_INDUSTRIES.map(|x| x.1))].0,
            None,
        ),
        SourceType::SewagePlant => (&SEWAGE_INDUSTRY, None),
        SourceType::MswIncinerator => (&INCINERATOR_INDUSTRY, None),
        SourceType::Hospital => (&HOSPITAL_INDUSTRY, None),
        SourceType::HazardousWaste => (&HAZARDOUS_INDUSTRY, None),
        SourceType::LivestockFarm => {
            let w: Vec<f64> = LIVESTOCK_INDUSTRIES.iter().map(|x| x.2).collect();
            let (ind, species, _) = &LIVESTOCK_INDUSTRIES[weighted(rng, &w)];
            (ind, Some(pick(rng, species)))
        }
    };
    let public_hospital = t == SourceType::Hospital && rng.random_bool(0.7);
    let (name_zh, name_en) = if t == SourceType::SewagePlant || public_hospital {
        names.plant(rng, industry.word_zh, industry.word_en)
    } else {
        names.company(rng, industry.word_zh, industry.word_en)
    };
    let who = if public_hospital {
        Registrant::PublicInstitution
    } else {
        Registrant::Enterprise
    };
    let uscc = usccs.issue(rng, area.region, who);
    let seq = if rng.random_bool(0.9) { "001" } else { "002" };
    let permit_no = format!("{uscc}{seq}P");
    let (address_zh, address_en) = address(rng, area);
    let (lon, lat) = point_in(rng, at.rng, area, at.boundaries);
    let cems = chance(rng, t.share_and_cems().1);

    let mut outlets = Vec::new();
    let mut facilities = Vec::new();
    let (mut n_air, mut n_water, mut n_ta, mut n_tw) = (0, 0, 0, 0);
    for spec in outlet_specs(rng, t) {
        let code = match spec.medium {
            Medium::Air => {
                n_air += 1;
                format!("DA{n_air:03}")
            }
            _ => {
                n_water += 1;
                format!("DW{n_water:03}")
            }
        };
        let mn = cems.then(|| format!("BJ{}{:05}{code}", area.region, index + 1));
        for (fz, fe) in facility_names(rng, t, spec.medium) {
            let fcode = match spec.medium {
                Medium::Air => {
                    n_ta += 1;
                    format!("TA{n_ta:03}")
                }
                _ => {
                    n_tw += 1;
                    format!("TW{n_tw:03}")
                }
            };
            facilities.push(Facility {
                code: fcode,
                name_zh: fz.to_string(),
                name_en: fe.to_string(),
                outlet: code.clone(),
                status: status(rng),
                commissioned: commissioned(rng),
            });
        }
        let levels = spec
            .pollutants
            .iter()
            .map(|_| uniform(rng, 0.15, 0.85))
            .collect();
        outlets.push(Outlet {
            name_zh: spec.name_zh,
            name_en: spec.name_en,
            medium: spec.medium,
            mn,
            standard: spec.standard.to_string(),
            discharge_method_zh: spec.discharge.0.to_string(),
            discharge_method_en: spec.discharge.1.to_string(),
            destination_zh: spec.discharge.2.to_string(),
            destination_en: spec.discharge.3.to_string(),
            pollutants: spec.pollutants.iter().map(|p| p.to_string()).collect(),
            cems,
            levels,
            flow: log_uniform(rng, spec.flow.0, spec.flow.1),
            o2: uniform(rng, 6.8, 9.2),
            temperature: uniform(rng, spec.temperature.0, spec.temperature.1),
            code,
        });
    }
    let sm_period = rng.random_range(7..=10);
    let sm_phase = rng.random_range(0..sm_period);
    Unit {
        index,
        disclosure_url: format!("https://example.org/disclosure/{uscc}"),
        uscc,
        permit_no,
        name_zh,
        name_en,
        district: area.district.code,
        industry_code: industry.code,
        industry_zh: industry.zh,
        industry_en: industry.en,
        source_type: t,
        address_zh,
        address_en,
        lon,
        lat,
        outlets,
        facilities,
        sm_period,
        sm_phase,
        species,
    }
}

/// `registry.jsonl`: one unit per line, UTF-8.
pub(crate) fn render(units: &[Unit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.len() * 1500);
    for u in units {
        serde_json::to_writer(&mut out, u).expect("serialising plain data cannot fail");
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_counts_sum_to_units_and_cover_every_type() {
        for n in [7, 40, 300, 2000] {
            let c = type_counts(n);
            assert_eq!(c.iter().map(|x| x.1).sum::<usize>(), n);
            assert!(c.iter().all(|x| x.1 >= 1), "{n}: {c:?}");
        }
        assert_eq!(type_counts(3).len(), 3);
    }

    #[test]
    fn about_sixty_percent_of_units_have_cems() {
        let units = units(2021, 2000, false, &mut UsccBook::default());
        let share = units.iter().filter(|u| u.has_cems()).count() as f64 / 2000.0;
        assert!((0.5..0.7).contains(&share), "{share}");
    }
}
