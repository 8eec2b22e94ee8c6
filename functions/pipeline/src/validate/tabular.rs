//! The CSV sources: self-monitoring, vehicles, sewage, MSW, medical waste, construction
//! waste and livestock (formats in `data/raw-formats.md`).
//!
//! Stage: validate (pure). A file is decoded (UTF-8, else GB18030, never lossily), its header
//! must be exactly the source's; then each row is checked field by field and accepted as a
//! typed row or rejected with its line, field (the Chinese column name), value and reason.
//! A row longer than [`super::common::MAX_LINE_BYTES`] or with more than [`super::common::MAX_FIELDS`] fields
//! is rejected whole before its cells are read.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::common::{Context, FileResult, Rejection, Scope};
use crate::table::{Cell, Kind, Table, round};
use envgov_dataset::report::FileCounts;
use envgov_dataset::{Source, ids, raw_headers};
use std::collections::BTreeMap;

/// A CSV source's header and accepted-row schema.
pub struct Spec {
    pub headers: &'static [&'static str],
    pub schema: &'static [(&'static str, Kind)],
}

const ORIGIN: [(&str, Kind); 2] = [("raw_key", Kind::Str), ("raw_line", Kind::I64)];

macro_rules! schema {
    ($($name:literal : $kind:ident),* $(,)?) => {
        &[$(($name, Kind::$kind),)* ORIGIN[0], ORIGIN[1]]
    };
}

const SELF_MONITORING: Spec = Spec {
    headers: &raw_headers::SELF_MONITORING,
    schema: schema!(
        "uscc": Str, "enterprise_name": Str, "district": Str, "outlet": Str, "sampled_at": Str, "date": Str,
        "pollutant": Str, "item_zh": Str, "result": F64, "detected": Bool, "not_monitored_reason": Str,
        "unit": Str, "declared_limit": F64, "declared_compliant": Bool, "declared_multiple": F64,
        "standard": Str, "standard_code": Str, "destination": Str, "discharge_method": Str,
        "limit": F64, "limit_lower": F64, "limit_illustrative": Bool, "compliant": Bool,
        "exceedance_multiple": F64, "declaration_consistent": Bool,
    ),
};

const VEHICLES: Spec = Spec {
    headers: &raw_headers::VEHICLES,
    schema: schema!(
        "operator_uscc": Str, "operator_name": Str, "sector": Str, "vehicle_id": Str, "fuel": Str,
        "emission_stage": Str, "inspection_date": Str, "inspection_method": Str, "inspection_passed": Bool,
    ),
};

const SEWAGE: Spec = Spec {
    headers: &raw_headers::SEWAGE,
    schema: schema!(
        "uscc": Str, "plant_name": Str, "date": Str, "standard": Str, "flow_m3_d": F64, "cod_mg_l": F64,
        "bod5_mg_l": F64, "ss_mg_l": F64, "nh3n_mg_l": F64, "tn_mg_l": F64, "tp_mg_l": F64,
    ),
};

const MSW: Spec = Spec {
    headers: &raw_headers::MSW,
    schema: schema!(
        "uscc": Str, "facility_name": Str, "date": Str, "method": Str, "received_t": F64, "harmless_t": F64, "products_t": F64,
    ),
};

const MEDICAL_WASTE: Spec = Spec {
    headers: &raw_headers::MEDICAL_WASTE,
    schema: schema!("district": Str, "date": Str, "treatment_uscc": Str, "collected_t": F64, "treated_t": F64),
};

const CONSTRUCTION_WASTE: Spec = Spec {
    headers: &raw_headers::CONSTRUCTION_WASTE,
    schema: schema!(
        "uscc": Str, "facility_name": Str, "district": Str, "date": Str, "received_t": F64, "recycled_products_t": F64, "product_type": Str,
    ),
};

const LIVESTOCK: Spec = Spec {
    headers: &raw_headers::LIVESTOCK,
    schema: schema!(
        "uscc": Str, "farm_name": Str, "district": Str, "snapshot_date": Str, "species": Str, "herd": I64,
        "pig_equivalents": F64, "facilities_equipped": Bool, "facilities_operating": Bool, "manure_produced_t": F64,
        "field_use_t": F64, "fertiliser_t": F64, "energy_t": F64, "third_party": Bool, "third_party_t": F64,
        "utilised_t": F64,
    ),
};

pub fn spec(source: Source) -> &'static Spec {
    match source {
        Source::SelfMonitoring => &SELF_MONITORING,
        Source::Vehicles => &VEHICLES,
        Source::Sewage => &SEWAGE,
        Source::Msw => &MSW,
        Source::MedicalWaste => &MEDICAL_WASTE,
        Source::ConstructionWaste => &CONSTRUCTION_WASTE,
        Source::Livestock => &LIVESTOCK,
        Source::Enterprises | Source::Cems => unreachable!("{source} is not a CSV source"),
    }
}

/// Sector codes and their names in the files.
pub const SECTORS: [(&str, &str); 6] = [
    ("bus", "公交"),
    ("road-transport", "道路运输"),
    ("sanitation", "环卫"),
    ("postal", "邮政"),
    ("express", "快递"),
    ("taxi", "出租"),
];
pub const FUELS: [(&str, &str); 6] = [
    ("gasoline", "汽油"),
    ("diesel", "柴油"),
    ("natural-gas", "天然气"),
    ("bev", "纯电动"),
    ("phev", "插电式混合动力"),
    ("fcev", "燃料电池"),
];
const METHODS: [(&str, &str); 6] = [
    ("two-speed-idle", "双怠速法"),
    ("simple-transient", "简易瞬态工况法"),
    ("free-acceleration", "自由加速法"),
    ("lug-down", "加载减速法"),
    ("obd", "OBD检查"),
    ("not-applicable", "不适用"),
];
const MSW_METHODS: [(&str, &str); 4] = [
    ("incineration", "焚烧"),
    ("landfill", "卫生填埋"),
    ("kitchen-compost", "厨余堆肥"),
    ("kitchen-anaerobic", "厨余厌氧消化"),
];
const PRODUCT_TYPES: [(&str, &str); 4] = [
    ("recycled-aggregate", "再生骨料"),
    ("recycled-brick", "再生砖"),
    ("recycled-concrete", "再生混凝土"),
    ("recycled-inorganic", "再生无机料"),
];
/// Species and their pig-equivalent factor (GB 18596-2001 conversion: 30 layers or 60
/// broilers = 1 pig; 1 dairy cow = 10 pigs; 1 beef cattle = 5 pigs).
pub const SPECIES: [(&str, &str, f64); 5] = [
    ("pig", "生猪", 1.0),
    ("dairy", "奶牛", 10.0),
    ("beef", "肉牛", 5.0),
    ("layer", "蛋鸡", 1.0 / 30.0),
    ("broiler", "肉鸡", 1.0 / 60.0),
];

/// Normalises an emission stage as written (国Ⅵb, 国VIb, 国6b ...) to a code.
pub fn emission_stage(s: &str) -> Option<&'static str> {
    let t: String = s
        .trim()
        .replace('Ⅲ', "III")
        .replace('Ⅳ', "IV")
        .replace('Ⅴ', "V")
        .replace(['Ⅵ', '６'], "VI")
        .to_ascii_lowercase();
    Some(match t.as_str() {
        "国iii" | "国3" => "china3",
        "国iv" | "国4" => "china4",
        "国v" | "国5" => "china5",
        "国vi" | "国6" => "china6",
        "国via" | "国6a" => "china6a",
        "国vib" | "国6b" => "china6b",
        "不适用" => "not-applicable",
        _ => return None,
    })
}

struct Problem {
    column: usize,
    code: &'static str,
    reason: String,
}

type Checked<T> = Result<T, Problem>;

/// One CSV row, with the helpers that turn its cells into typed values or problems.
struct Row<'a> {
    cells: &'a csv::StringRecord,
}

impl Row<'_> {
    fn raw(&self, i: usize) -> &str {
        self.cells.get(i).unwrap_or("").trim()
    }

    fn problem<T>(&self, i: usize, code: &'static str, reason: impl Into<String>) -> Checked<T> {
        Err(Problem {
            column: i,
            code,
            reason: reason.into(),
        })
    }

    fn text(&self, i: usize) -> Checked<String> {
        match self.raw(i) {
            "" => self.problem(i, "missing_value", "required value is empty"),
            s => Ok(s.to_string()),
        }
    }

    fn opt_text(&self, i: usize) -> Option<String> {
        Some(self.raw(i))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn uscc(&self, i: usize) -> Checked<String> {
        ids::check_uscc(self.raw(i)).or_else(|e| self.problem(i, "malformed_uscc", e.to_string()))
    }

    fn district(&self, i: usize) -> Checked<String> {
        let s = self.raw(i);
        match ids::DISTRICTS.iter().find(|d| d.code == s || d.zh == s) {
            Some(d) => Ok(d.code.to_string()),
            None => self.problem(
                i,
                "unknown_district",
                "not a Beijing district (code or name) nor BDA",
            ),
        }
    }

    fn opt_number(&self, i: usize) -> Checked<Option<f64>> {
        let s = self.raw(i);
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => self.problem(i, "bad_number", "not a number"),
        }
    }

    /// A required number within `min..=max`; values below zero get `negative_value`.
    fn number(&self, i: usize, min: f64, max: f64) -> Checked<f64> {
        match self.opt_number(i)? {
            None => self.problem(i, "missing_value", "required value is empty"),
            Some(v) if v < 0.0 && min >= 0.0 => {
                self.problem(i, "negative_value", "a quantity cannot be negative")
            }
            Some(v) if v < min || v > max => self.problem(
                i,
                "impossible_value",
                format!("outside the possible range {min}..{max}"),
            ),
            Some(v) => Ok(v),
        }
    }

    fn date(&self, i: usize) -> Checked<chrono::NaiveDate> {
        super::common::parse_date(self.raw(i)).map_or_else(
            || self.problem(i, "bad_date", "not a valid date (YYYY-MM-DD)"),
            Ok,
        )
    }

    fn on_date(&self, i: usize, date: chrono::NaiveDate) -> Checked<String> {
        let d = self.date(i)?;
        if d != date {
            return self.problem(
                i,
                "outside_delivery_date",
                format!("date is not the delivery date {date}"),
            );
        }
        Ok(d.to_string())
    }

    fn yes_no(&self, i: usize) -> Checked<bool> {
        match self.raw(i) {
            "是" => Ok(true),
            "否" => Ok(false),
            _ => self.problem(i, "bad_value", "must be 是 or 否"),
        }
    }

    fn one_of(
        &self,
        i: usize,
        table: &[(&'static str, &str)],
        code: &'static str,
    ) -> Checked<&'static str> {
        let s = self.raw(i);
        match table.iter().find(|(_, zh)| *zh == s) {
            Some((c, _)) => Ok(c),
            None => self.problem(
                i,
                code,
                format!(
                    "must be one of {}",
                    table.iter().map(|(_, z)| *z).collect::<Vec<_>>().join("、")
                ),
            ),
        }
    }
}

/// Checks a row and returns its cells (without the origin columns) and, for duplicate
/// detection, its key.
type RowCheck = fn(&Row<'_>, &Context<'_>, &str) -> Checked<(Vec<Cell>, String)>;

fn check_self_monitoring(
    r: &Row<'_>,
    ctx: &Context<'_>,
    _file: &str,
) -> Checked<(Vec<Cell>, String)> {
    let uscc = r.uscc(0)?;
    let Some(unit) = ctx.registry.unit(&uscc) else {
        return r.problem(
            0,
            "unknown_unit",
            "not a key polluting unit in the registry",
        );
    };
    let point = r.text(2)?;
    if !unit.outlets.iter().any(|o| o.code == point) {
        return r.problem(
            2,
            "unknown_point",
            format!("unit {uscc} has no outlet {point}"),
        );
    }
    let Some(t) = super::common::parse_local_datetime(r.raw(3)) else {
        return r.problem(
            3,
            "bad_timestamp",
            "not a valid local time (YYYY-MM-DD HH:MM)",
        );
    };
    if t.date() != ctx.date {
        return r.problem(
            3,
            "outside_delivery_date",
            format!("time is not on the delivery date {}", ctx.date),
        );
    }
    let item = r.text(4)?;
    let Some(pollutant) = ctx.curated.pollutants.by_item(&item) else {
        return r.problem(
            4,
            "unknown_item",
            "not a monitoring item envgov knows (data/pollutants.toml)",
        );
    };
    let reason = r.opt_text(13);
    let (result, detected) = match r.raw(5) {
        "ND" | "未检出" => (None, false),
        "" if reason.is_some() => (None, true),
        "" => {
            return r.problem(
                5,
                "missing_value",
                "no result and no reason for not monitoring",
            );
        }
        _ => {
            let Some(v) = r.opt_number(5)? else {
                return r.problem(5, "missing_value", "required value is empty");
            };
            if v < pollutant.min || v > pollutant.max {
                return r.problem(
                    5,
                    "impossible_value",
                    format!(
                        "outside the possible range {}..{} {}",
                        pollutant.min, pollutant.max, pollutant.unit
                    ),
                );
            }
            (Some(v), true)
        }
    };
    let unit_text = r.text(7)?;
    let normalised = unit_text
        .replace('³', "3")
        .replace("·", "-")
        .replace(' ', "");
    if normalised != pollutant.unit.replace(' ', "") {
        return r.problem(
            7,
            "unit_mismatch",
            format!("{item} is reported in {}", pollutant.unit),
        );
    }
    let declared_limit = r.opt_number(6)?;
    let declared_compliant = if r.raw(8).is_empty() && result.is_none() {
        None
    } else {
        Some(r.yes_no(8)?)
    };
    let declared_multiple = r.opt_number(9)?;
    let standard_code = r.text(10)?;
    let Some(standard) = ctx.curated.standards.by_code(&standard_code) else {
        return r.problem(
            10,
            "unknown_standard",
            "not a standard code envgov knows (data/standards.toml)",
        );
    };
    use chrono::Datelike;
    let limit = standard.sample_limit(&pollutant.code);
    let upper = limit
        .map(|l| l.upper_for_month(t.month()))
        .or(declared_limit);
    let lower = limit.and_then(|l| l.lower);
    let compliant = match (result, upper) {
        (Some(v), Some(u)) => Some(v <= u && lower.is_none_or(|lo| v >= lo)),
        (None, Some(_)) if !detected => Some(true),
        _ => None,
    };
    let multiple = match (result, upper) {
        // A multiple of a limit of zero (or a declared negative one) is not a number.
        (Some(v), Some(u)) if v > u && u > 0.0 => Some(round((v - u) / u, 4)),
        _ => None,
    };
    let consistent = match (declared_compliant, compliant) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    let key = format!("{uscc}|{point}|{}|{}", pollutant.code, t);
    Ok((
        vec![
            Cell::from(uscc),
            Cell::from(r.opt_text(1)),
            Cell::from(unit.district.clone()),
            Cell::from(point),
            Cell::from(super::common::local_iso(t)),
            Cell::from(t.date().to_string()),
            Cell::from(pollutant.code.clone()),
            Cell::from(item),
            Cell::from(result),
            Cell::from(detected),
            Cell::from(reason),
            Cell::from(pollutant.unit.clone()),
            Cell::from(declared_limit),
            Cell::from(declared_compliant),
            Cell::from(declared_multiple),
            Cell::from(standard.id.clone()),
            Cell::from(standard.code.clone()),
            Cell::from(r.opt_text(11)),
            Cell::from(r.opt_text(12)),
            Cell::from(upper),
            Cell::from(lower),
            Cell::Bool(limit.map(|l| l.illustrative())),
            Cell::from(compliant),
            Cell::from(multiple),
            Cell::from(consistent),
        ],
        key,
    ))
}

fn check_vehicles(r: &Row<'_>, ctx: &Context<'_>, file: &str) -> Checked<(Vec<Cell>, String)> {
    let uscc = r.uscc(0)?;
    let sector = r.one_of(2, &SECTORS, "unknown_sector")?;
    if file.strip_suffix(".csv") != Some(sector) {
        return r.problem(
            2,
            "sector_mismatch",
            format!("a {file} file may only list that sector"),
        );
    }
    let vehicle = r.text(3)?;
    let fuel = r.one_of(4, &FUELS, "unknown_fuel")?;
    let Some(stage) = emission_stage(r.raw(5)) else {
        return r.problem(
            5,
            "unknown_emission_stage",
            "not an emission stage (国III … 国VIb, 不适用)",
        );
    };
    let electric = matches!(fuel, "bev" | "fcev");
    if electric != (stage == "not-applicable") {
        return r.problem(
            5,
            "stage_fuel_mismatch",
            "battery-electric and fuel-cell vehicles have no emission stage; others must have one",
        );
    }
    let date = r.date(6)?;
    let oldest = ctx
        .date
        .checked_sub_signed(chrono::Duration::days(3 * 366))
        .unwrap_or(chrono::NaiveDate::MIN);
    if date > ctx.date || date < oldest {
        return r.problem(
            6,
            "bad_date",
            "inspection date is in the future or more than three years old",
        );
    }
    let method = r.one_of(7, &METHODS, "unknown_method")?;
    let passed = match r.raw(8) {
        "合格" => true,
        "不合格" => false,
        _ => return r.problem(8, "bad_value", "must be 合格 or 不合格"),
    };
    Ok((
        vec![
            Cell::from(uscc),
            Cell::from(r.opt_text(1)),
            Cell::from(sector),
            Cell::from(vehicle.clone()),
            Cell::from(fuel),
            Cell::from(stage),
            Cell::from(date.to_string()),
            Cell::from(method),
            Cell::from(passed),
        ],
        vehicle,
    ))
}

fn check_sewage(r: &Row<'_>, ctx: &Context<'_>, _file: &str) -> Checked<(Vec<Cell>, String)> {
    let uscc = r.uscc(0)?;
    let name = r.text(1)?;
    let date = r.on_date(2, ctx.date)?;
    let standard = r.text(3)?;
    match ctx.curated.standards.get(&standard) {
        Some(s) if s.medium == "water" => {}
        _ => {
            return r.problem(
                3,
                "unknown_standard",
                "not a water standard id in data/standards.toml",
            );
        }
    }
    let flow = r.number(4, 0.0, 5.0e6)?;
    let mut cells = vec![
        Cell::from(uscc.clone()),
        Cell::from(name),
        Cell::from(date.clone()),
        Cell::from(standard),
        Cell::from(flow),
    ];
    for (i, code) in [
        (5, "w01018"),
        (6, "w01017"),
        (7, "w01012"),
        (8, "w21003"),
        (9, "w21001"),
        (10, "w21011"),
    ] {
        let Some(p) = ctx.curated.pollutants.get(code) else {
            return r.problem(
                i,
                "unknown_item",
                format!("{code} is missing from data/pollutants.toml"),
            );
        };
        cells.push(Cell::from(r.number(i, p.min, p.max)?));
    }
    Ok((cells, format!("{uscc}|{date}")))
}

fn check_msw(r: &Row<'_>, ctx: &Context<'_>, _file: &str) -> Checked<(Vec<Cell>, String)> {
    let uscc = r.uscc(0)?;
    let name = r.text(1)?;
    let date = r.on_date(2, ctx.date)?;
    let method = r.one_of(3, &MSW_METHODS, "unknown_method")?;
    let received = r.number(4, 0.0, 20_000.0)?;
    let harmless = r.number(5, 0.0, 20_000.0)?;
    if harmless > received {
        return r.problem(
            5,
            "treated_exceeds_received",
            "harmlessly treated tonnage exceeds tonnage received",
        );
    }
    let products = r.opt_number(6)?.unwrap_or(0.0);
    if products < 0.0 {
        return r.problem(6, "negative_value", "a quantity cannot be negative");
    }
    Ok((
        vec![
            Cell::from(uscc.clone()),
            Cell::from(name),
            Cell::from(date.clone()),
            Cell::from(method),
            Cell::from(received),
            Cell::from(harmless),
            Cell::from(products),
        ],
        format!("{uscc}|{date}|{method}"),
    ))
}

fn check_medical(r: &Row<'_>, ctx: &Context<'_>, _file: &str) -> Checked<(Vec<Cell>, String)> {
    let district = r.district(0)?;
    let date = r.on_date(1, ctx.date)?;
    let uscc = r.uscc(2)?;
    let collected = r.number(3, 0.0, 1000.0)?;
    let treated = r.number(4, 0.0, 1000.0)?;
    Ok((
        vec![
            Cell::from(district.clone()),
            Cell::from(date.clone()),
            Cell::from(uscc.clone()),
            Cell::from(collected),
            Cell::from(treated),
        ],
        format!("{district}|{date}|{uscc}"),
    ))
}

fn check_construction(r: &Row<'_>, ctx: &Context<'_>, _file: &str) -> Checked<(Vec<Cell>, String)> {
    let uscc = r.uscc(0)?;
    let name = r.text(1)?;
    let district = r.district(2)?;
    let date = r.on_date(3, ctx.date)?;
    let received = r.number(4, 0.0, 100_000.0)?;
    let products = r.number(5, 0.0, 100_000.0)?;
    if products > received {
        return r.problem(
            5,
            "products_exceed_received",
            "recycled products exceed the waste received",
        );
    }
    let product = r.one_of(6, &PRODUCT_TYPES, "unknown_product_type")?;
    Ok((
        vec![
            Cell::from(uscc.clone()),
            Cell::from(name),
            Cell::from(district),
            Cell::from(date.clone()),
            Cell::from(received),
            Cell::from(products),
            Cell::from(product),
        ],
        format!("{uscc}|{date}|{product}"),
    ))
}

fn check_livestock(r: &Row<'_>, ctx: &Context<'_>, _file: &str) -> Checked<(Vec<Cell>, String)> {
    let uscc = r.uscc(0)?;
    let name = r.text(1)?;
    let district = r.district(2)?;
    let species_zh = r.raw(3);
    let Some((species, _, factor)) = SPECIES.iter().find(|(_, zh, _)| *zh == species_zh) else {
        return r.problem(
            3,
            "unknown_species",
            "must be one of 生猪、奶牛、肉牛、蛋鸡、肉鸡",
        );
    };
    let herd = r.number(4, 0.0, 5.0e6)?;
    if herd.fract() != 0.0 {
        return r.problem(4, "bad_number", "a herd size is a whole number");
    }
    let equipped = r.yes_no(5)?;
    let operating = r.yes_no(6)?;
    let produced = r.number(7, 0.0, 1.0e6)?;
    let field = r.number(8, 0.0, 1.0e6)?;
    let fertiliser = r.number(9, 0.0, 1.0e6)?;
    let energy = r.number(10, 0.0, 1.0e6)?;
    let third_party = r.yes_no(11)?;
    let third = r.opt_number(12)?.unwrap_or(0.0);
    if third < 0.0 {
        return r.problem(12, "negative_value", "a quantity cannot be negative");
    }
    let utilised = field + fertiliser + energy + third;
    if utilised > produced * (1.0 + 1e-9) {
        return r.problem(
            7,
            "utilised_exceeds_produced",
            format!("utilised {utilised} t exceeds manure produced"),
        );
    }
    Ok((
        vec![
            Cell::from(uscc.clone()),
            Cell::from(name),
            Cell::from(district),
            Cell::from(ctx.date.to_string()),
            Cell::from(*species),
            Cell::from(herd as i64),
            Cell::from(round(herd * factor, 2)),
            Cell::from(equipped),
            Cell::from(operating),
            Cell::from(produced),
            Cell::from(field),
            Cell::from(fertiliser),
            Cell::from(energy),
            Cell::from(third_party),
            Cell::from(third),
            Cell::from(round(utilised, 6)),
        ],
        format!("{uscc}|{species}"),
    ))
}

fn row_check(source: Source) -> RowCheck {
    match source {
        Source::SelfMonitoring => check_self_monitoring,
        Source::Vehicles => check_vehicles,
        Source::Sewage => check_sewage,
        Source::Msw => check_msw,
        Source::MedicalWaste => check_medical,
        Source::ConstructionWaste => check_construction,
        Source::Livestock => check_livestock,
        Source::Enterprises | Source::Cems => unreachable!("{source} is not a CSV source"),
    }
}

/// Validates one CSV file of a source.
pub fn validate(source: Source, key: &str, bytes: &[u8], ctx: Context<'_>) -> FileResult {
    let spec = spec(source);
    let (text, encoding) = match super::common::decode_or_reject(key, bytes, spec.schema) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let file = key.rsplit('/').next().unwrap_or(key);
    let mut counts = FileCounts {
        encoding: encoding.as_str().into(),
        ..FileCounts::default()
    };
    let mut accepted = Table::new(spec.schema);
    let mut rejections = Vec::new();
    // Rows end at an unquoted LF (a CR before it is whitespace, trimmed with the cell): lines
    // are numbered as every other reader of the file numbers them; a lone CR ends no line.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(CappedRows::new(text.as_bytes()));
    let mut record = csv::StringRecord::new();
    let header = reader.read_record(&mut record);
    reader.get_mut().rows.pop_front();
    let header_ok = match header {
        Ok(true) => record
            .iter()
            .map(str::trim)
            .eq(spec.headers.iter().copied()),
        _ => false,
    };
    if !header_ok {
        let mut r = super::common::reject_whole_file(
            key,
            text.as_bytes(),
            spec.schema,
            format!(
                "header is not the {source} header: {}",
                spec.headers.join(",")
            ),
        );
        // The header line itself is not a record.
        r.counts.read = r.counts.read.saturating_sub(1);
        r.counts.rejected = r.counts.read;
        r.counts.encoding = encoding.as_str().into();
        for x in &mut r.rejections {
            x.reason_code = "bad_header";
        }
        return r;
    }
    let check = row_check(source);
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    loop {
        let result = reader.read_record(&mut record);
        if matches!(result, Ok(false)) {
            break;
        }
        // Where the row starts and how long it is, from the rows the reader was given.
        let span = reader.get_mut().rows.pop_front();
        let line = span.map_or_else(
            || record.position().map_or(0, csv::Position::line),
            |s| s.line,
        );
        let outcome = match result {
            Ok(_) if is_blank(&record) => continue,
            Ok(_) => {
                let bytes = span.map_or(0, |s| s.bytes);
                match check_record(&record, line, bytes, spec, check, &ctx, file, &mut seen) {
                    Ok(mut cells) => {
                        cells.push(Cell::from(key));
                        cells.push(Cell::from(i64::try_from(line).unwrap_or(i64::MAX)));
                        accepted.push(cells);
                        (line, Ok(()))
                    }
                    Err(refusal) => (line, Err(refusal)),
                }
            }
            Err(e) => {
                // Input is valid UTF-8 text, so the reader has no error to report in practice;
                // if it ever does, the record still counts, as rejected.
                (
                    line,
                    Err(("row", String::new(), "malformed_csv", e.to_string())),
                )
            }
        };
        counts.read += 1;
        match outcome {
            (_, Ok(())) => counts.accepted += 1,
            (line, Err((field, value, code, reason))) => {
                counts.rejected += 1;
                rejections.push(Rejection {
                    raw_key: key.to_string(),
                    line,
                    field: field.to_string(),
                    value,
                    reason_code: code,
                    reason,
                    scope: Scope::Record,
                });
            }
        }
    }
    FileResult {
        counts,
        accepted,
        rejections,
    }
}

/// A line with nothing but whitespace (`\r` of a blank CRLF line, spaces) is no row, as an
/// empty line is none.
fn is_blank(record: &csv::StringRecord) -> bool {
    record.len() == 1 && record.iter().all(|f| f.trim().is_empty())
}

/// Where a row of the file starts (its first line) and its length in bytes, line end included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowSpan {
    line: u64,
    bytes: u64,
}

/// Where the CSV reader is inside a row: the states of its own parser (csv-core with `,`,
/// `"` quoting, `""` for a quote inside quotes, and LF as the only line end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    StartRecord,
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// The text as the CSV reader sees it, and the record of where its rows are. It follows the
/// reader's rules (above) to number every row by its first line and measure it in bytes, and
/// passes at most [`super::common::MAX_LINE_BYTES`] bytes of any row (then its line end): one row of
/// millions of commas, or of thousands of quoted lines, never makes the reader hold more than
/// that. A row cut inside quotes gets a closing quote first, so the reader ends it where the
/// row ends. The rows are queued in order for the caller, one per record the reader returns.
struct CappedRows<'a> {
    rest: &'a [u8],
    /// The line of the next byte (1-based).
    line: u64,
    state: Quoting,
    /// The row being passed, if any.
    row: Option<RowSpan>,
    /// The rest of the current row is being skipped.
    skipping: bool,
    /// Rows whose end has been passed, in order.
    rows: std::collections::VecDeque<RowSpan>,
}

impl<'a> CappedRows<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            rest: text,
            line: 1,
            state: Quoting::StartRecord,
            row: None,
            skipping: false,
            rows: std::collections::VecDeque::new(),
        }
    }

    /// Advances the parser state over one byte; true when the byte ends a row.
    fn step(&mut self, b: u8) -> bool {
        use Quoting::*;
        let (next, ends) = match (self.state, b) {
            (StartRecord, b'\n') => (StartRecord, false),
            (StartRecord | StartField, b'"') => (InQuoted, false),
            (InQuoted, b'"') => (QuoteInQuoted, false),
            (InQuoted, _) => (InQuoted, false),
            (QuoteInQuoted, b'"') => (InQuoted, false),
            (_, b',') => (StartField, false),
            (_, b'\n') => (StartRecord, true),
            (_, _) => (InField, false),
        };
        self.state = next;
        ends
    }
}

impl std::io::Read for CappedRows<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            let Some((&b, rest)) = self.rest.split_first() else {
                // The end of the text ends a row without a final line end.
                if let Some(row) = self.row.take() {
                    self.rows.push_back(row);
                }
                break;
            };
            self.rest = rest;
            if self.state == Quoting::StartRecord && b != b'\n' {
                self.row = Some(RowSpan {
                    line: self.line,
                    bytes: 0,
                });
                self.skipping = false;
            }
            let before = self.state;
            let ends = self.step(b);
            if b == b'\n' {
                self.line += 1;
            }
            let mut pass = Some(b);
            if let Some(row) = &mut self.row {
                row.bytes += 1;
                if ends {
                    self.rows.push_back(*row);
                    self.row = None;
                } else if self.skipping {
                    pass = None;
                } else if row.bytes > super::common::MAX_LINE_BYTES as u64 {
                    self.skipping = true;
                    // Close an open quote, so that the reader ends this row at its line end.
                    pass = (before == Quoting::InQuoted).then_some(b'"');
                }
            }
            if let Some(byte) = pass
                && let Some(slot) = buf.get_mut(written)
            {
                *slot = byte;
                written += 1;
            }
        }
        Ok(written)
    }
}

/// A refused record: field (column name, `row` or `line`), value, reason code, reason.
type Refusal = (&'static str, String, &'static str, String);

/// Checks one data record: its size, its field count, its cells, and that it repeats no
/// earlier record (whose first line `seen` keeps by duplicate key). Returns the accepted
/// row's cells, without the origin columns.
#[allow(clippy::too_many_arguments)] // one row's context, passed once per row
fn check_record(
    record: &csv::StringRecord,
    line: u64,
    bytes: u64,
    spec: &Spec,
    check: RowCheck,
    ctx: &Context<'_>,
    file: &str,
    seen: &mut BTreeMap<String, u64>,
) -> Result<Vec<Cell>, Refusal> {
    let joined = || super::common::clip(&record.iter().collect::<Vec<_>>().join(","));
    if bytes > super::common::MAX_LINE_BYTES as u64 {
        return Err((
            "line",
            joined(),
            "line_too_long",
            format!(
                "row is {bytes} bytes; the limit is {} bytes",
                super::common::MAX_LINE_BYTES
            ),
        ));
    }
    if record.len() > super::common::MAX_FIELDS {
        return Err((
            "row",
            joined(),
            "too_many_fields",
            format!(
                "row has {} fields; the limit is {} (the header has {})",
                record.len(),
                super::common::MAX_FIELDS,
                spec.headers.len()
            ),
        ));
    }
    if record.len() != spec.headers.len() {
        return Err((
            "row",
            joined(),
            "ragged_row",
            format!(
                "expected {} fields, found {}",
                spec.headers.len(),
                record.len()
            ),
        ));
    }
    let row = Row { cells: record };
    match check(&row, ctx, file) {
        Ok((cells, dup_key)) => match seen.get(&dup_key) {
            Some(first) => Err((
                "row",
                super::common::clip(&dup_key),
                "duplicate",
                format!("same record as line {first}"),
            )),
            None => {
                seen.insert(dup_key, line);
                Ok(cells)
            }
        },
        Err(p) => Err((
            spec.headers.get(p.column).copied().unwrap_or("row"),
            super::common::clip(row.raw(p.column)),
            p.code,
            p.reason,
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn normalises_emission_stages_with_roman_numerals() {
        assert_eq!(emission_stage("国Ⅵb"), Some("china6b"));
        assert_eq!(emission_stage("国VIa"), Some("china6a"));
        assert_eq!(emission_stage("国V"), Some("china5"));
        assert_eq!(emission_stage("国Ⅲ"), Some("china3"));
        assert_eq!(emission_stage("不适用"), Some("not-applicable"));
        assert_eq!(emission_stage("欧VI"), None);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod file_tests {
    use super::*;
    use crate::validate::Registry;

    fn check(source: Source, name: &str, bytes: &[u8]) -> FileResult {
        let curated = envgov_curated::Curated::load().unwrap();
        let registry = Registry::default();
        let ctx = Context {
            curated: &curated,
            registry: &registry,
            date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        };
        validate(
            source,
            &format!("raw/{source}/2026-01-05/{name}"),
            bytes,
            ctx,
        )
    }

    const MEDICAL: &str = "区,日期,处置单位统一社会信用代码,收集量(t),处置量(t)\n";

    #[test]
    fn a_wrong_header_rejects_every_row_of_the_file() {
        let r = check(
            Source::MedicalWaste,
            "m.csv",
            "区,日期\n110105,2026-01-05\n110106,2026-01-05\n".as_bytes(),
        );
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (2, 0, 2)
        );
        assert_eq!(r.rejections[0].reason_code, "bad_header");
    }

    #[test]
    fn accepts_district_names_and_leading_dot_numbers() {
        let r = check(
            Source::MedicalWaste,
            "m.csv",
            format!("{MEDICAL}朝阳区,2026-01-05,91110105MA01ABCD5F,.75,.7\n").as_bytes(),
        );
        assert_eq!(r.counts.accepted, 1, "{:?}", r.rejections);
        assert_eq!(
            r.accepted.str_column("district"),
            &[Some("110105".to_string())]
        );
        assert_eq!(r.accepted.f64_column("collected_t"), &[Some(0.75)]);
    }

    #[test]
    fn rejects_nan_infinite_and_negative_numbers() {
        for (v, code) in [
            ("NaN", "bad_number"),
            ("inf", "bad_number"),
            ("-1", "negative_value"),
            ("1e9", "impossible_value"),
        ] {
            let r = check(
                Source::MedicalWaste,
                "m.csv",
                format!("{MEDICAL}110105,2026-01-05,91110105MA01ABCD5F,{v},1\n").as_bytes(),
            );
            assert_eq!(r.rejections[0].reason_code, code, "{v}");
            assert_eq!(
                (
                    r.rejections[0].field.as_str(),
                    r.rejections[0].value.as_str(),
                    r.rejections[0].line
                ),
                ("收集量(t)", v, 2)
            );
        }
    }

    #[test]
    fn caps_fields_per_row_and_bytes_per_row_and_still_counts_every_row() {
        // data/raw-formats.md: a row over 65536 bytes is `line_too_long`; a row with more
        // than 256 fields is `too_many_fields`; both are rejected whole and counted.
        let ok = "110105,2026-01-05,91110105MA01ABCD5F,1,1\n";
        let many = format!("{}\n", ",".repeat(9_999)); // 10,000 empty fields
        let long = format!(
            "110105,2026-01-05,91110105MA01ABCD5F,{},1\n",
            "7".repeat(70_000)
        ); // 37 + 70,000 + 2 + 1 bytes
        let last = "110106,2026-01-05,91110105MA01ABCD5F,1,1\n";
        let r = check(
            Source::MedicalWaste,
            "m.csv",
            format!("{MEDICAL}{ok}{many}{long}{last}").as_bytes(),
        );
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (4, 2, 2)
        );
        let x = &r.rejections[0];
        assert_eq!(
            (x.line, x.field.as_str(), x.reason_code),
            (3, "row", "too_many_fields")
        );
        assert_eq!(
            x.reason,
            "row has 10000 fields; the limit is 256 (the header has 5)"
        );
        assert_eq!(
            x.value.chars().count(),
            201,
            "clipped to 200 characters and …"
        );
        let x = &r.rejections[1];
        assert_eq!(
            (x.line, x.field.as_str(), x.reason_code),
            (4, "line", "line_too_long")
        );
        assert_eq!(x.reason, "row is 70040 bytes; the limit is 65536 bytes");
        assert_eq!(r.accepted.i64_column("raw_line"), &[Some(2), Some(5)]);
    }

    #[test]
    fn numbers_lines_by_line_feeds_with_or_without_carriage_returns() {
        // CRLF rows are read as LF rows; a lone CR ends no line, so the two rows of line 3
        // (joined by a CR) are one ragged row of 9 fields, and line 4 is still line 4.
        let rows = "110105,2026-01-05,91110105MA01ABCD5F,1,1\r\n\
                    110106,2026-01-05,91110105MA01ABCD5F,1,1\r110107,2026-01-05,x,1,1\n\
                    110108,2026-01-05,91110105MA01ABCD5F,-1,1\r\n";
        let r = check(
            Source::MedicalWaste,
            "m.csv",
            format!("{}{rows}", MEDICAL.replace('\n', "\r\n")).as_bytes(),
        );
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (3, 1, 2)
        );
        let got: Vec<_> = r
            .rejections
            .iter()
            .map(|x| (x.line, x.reason_code))
            .collect();
        assert_eq!(got, [(3, "ragged_row"), (4, "negative_value")]);
        assert_eq!(r.rejections[0].reason, "expected 5 fields, found 9");
    }

    #[test]
    fn the_reader_never_sees_more_than_the_limit_of_one_row() {
        // Line 2 is 200,000 commas: the reader gets its first 65,536 bytes and its line feed.
        let text = format!("a,b\n{}\nc\n", ",".repeat(200_000));
        let mut rows = CappedRows::new(text.as_bytes());
        let mut seen = Vec::new();
        std::io::Read::read_to_end(&mut rows, &mut seen).unwrap();
        assert_eq!(seen.len(), 4 + 65_536 + 1 + 2);
        let spans: Vec<_> = rows.rows.iter().map(|r| (r.line, r.bytes)).collect();
        assert_eq!(spans, [(1, 4), (2, 200_001), (3, 2)]);
        // As a row of a file: rejected with its full length, and the next row is line 3.
        let r = check(
            Source::MedicalWaste,
            "m.csv",
            format!(
                "{MEDICAL}{}\n110105,2026-01-05,91110105MA01ABCD5F,1,1\n",
                ",".repeat(2_000_000)
            )
            .as_bytes(),
        );
        assert_eq!((r.counts.read, r.counts.accepted), (2, 1));
        assert_eq!(
            r.rejections[0].reason,
            "row is 2000001 bytes; the limit is 65536 bytes"
        );
        assert_eq!(r.accepted.i64_column("raw_line"), &[Some(3)]);
    }

    #[test]
    fn a_quoted_row_over_many_lines_is_one_row_numbered_by_its_first_line() {
        // Line 2: a quoted USCC with a line break (lines 2-3). Lines 4-40,004: one row whose
        // first field is quoted over 40,001 lines: 1 + 80,000 + 9 + 1 = 80,011 bytes, over the
        // limit, cut inside its quotes. Line 40,005: a valid row.
        let quoted = format!("\"{}\",1,1,1,1\n", "x\n".repeat(40_000));
        let text = format!(
            "{MEDICAL}110105,2026-01-05,\"9111\n0105MA01ABCD5F\",1,1\n{quoted}\
             110105,2026-01-05,91110105MA01ABCD5F,1,1\n"
        );
        let r = check(Source::MedicalWaste, "m.csv", text.as_bytes());
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (3, 1, 2)
        );
        let got: Vec<_> = r
            .rejections
            .iter()
            .map(|x| (x.line, x.reason_code, x.reason.clone()))
            .collect();
        assert_eq!(got[0].0, 2);
        assert_eq!(got[0].1, "malformed_uscc");
        assert_eq!(
            (got[1].0, got[1].1, got[1].2.as_str()),
            (
                4,
                "line_too_long",
                "row is 80011 bytes; the limit is 65536 bytes"
            )
        );
        assert_eq!(r.accepted.i64_column("raw_line"), &[Some(40_005)]);
    }

    #[test]
    fn blank_lines_are_no_rows_and_rows_after_them_keep_their_line() {
        // CRLF file: line 2 blank, line 3 a bad row, line 4 blank (LF), line 5 a good row,
        // line 6 blank, then the end. A blank line is neither read nor rejected.
        let text = format!(
            "{}\r\n110105,2026-01-05,91110105MA01ABCD5F,-1,1\r\n\n\
             110105,2026-01-05,91110105MA01ABCD5F,1,1\r\n  \r\n",
            MEDICAL.replace('\n', "\r\n")
        );
        let r = check(Source::MedicalWaste, "m.csv", text.as_bytes());
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (2, 1, 1)
        );
        assert_eq!(
            (r.rejections[0].line, r.rejections[0].reason_code),
            (3, "negative_value")
        );
        assert_eq!(r.accepted.i64_column("raw_line"), &[Some(5)]);
    }

    #[test]
    fn a_ragged_row_below_the_cap_is_still_a_ragged_row() {
        let r = check(
            Source::MedicalWaste,
            "m.csv",
            format!("{MEDICAL}110105,2026-01-05\n").as_bytes(),
        );
        let x = &r.rejections[0];
        assert_eq!(
            (x.line, x.field.as_str(), x.value.as_str(), x.reason_code),
            (2, "row", "110105,2026-01-05", "ragged_row")
        );
        assert_eq!(x.reason, "expected 5 fields, found 2");
    }

    #[test]
    fn refuses_a_file_that_is_neither_utf8_nor_gb18030() {
        let mut bytes = MEDICAL.as_bytes().to_vec();
        bytes.extend_from_slice(b"110105,2026-01-05,\xFF\xFE,1,1\n110106,2026-01-05,x,1,1\n");
        let r = check(Source::MedicalWaste, "m.csv", &bytes);
        assert!(r.counts.file_error.is_some());
        assert_eq!(r.counts.read, r.counts.rejected);
        assert_eq!(r.rejections[0].reason_code, "undecodable_file");
    }

    #[test]
    fn vehicles_must_match_their_file_sector_and_fuel_stage_rules() {
        let head = "运营单位统一社会信用代码,运营单位名称,行业,车辆编号,燃料类型,排放阶段,检验日期,检验方法,检验结果\n";
        let rows = "91110105MA01ABCD5F,公交公司,公交,京A·1**23,纯电动,不适用,2025-06-01,不适用,合格\n\
                    91110105MA01ABCD5F,公交公司,出租,京B·2**34,汽油,国Ⅵb,2025-06-01,双怠速法,合格\n\
                    91110105MA01ABCD5F,公交公司,公交,京A·3**45,柴油,不适用,2025-06-01,自由加速法,合格\n\
                    91110105MA01ABCD5F,公交公司,公交,京A·4**56,柴油,国VIb,2027-06-01,自由加速法,合格\n";
        let r = check(
            Source::Vehicles,
            "bus.csv",
            format!("{head}{rows}").as_bytes(),
        );
        let codes: Vec<_> = r.rejections.iter().map(|x| x.reason_code).collect();
        assert_eq!(
            codes,
            ["sector_mismatch", "stage_fuel_mismatch", "bad_date"]
        );
        assert_eq!(r.counts.accepted, 1);
    }
}

/// `raw_line` is the line `sed -n Np` prints, for every line end and encoding a CSV may come
/// in (data/raw-formats.md: lines are numbered by LF, the header being line 1; a lone CR ends
/// no line; a row is numbered by its first line).
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod line_number_tests {
    use super::*;
    use crate::validate::Registry;

    /// The physical lines of the test file, in order (line 1 is the header). Counted by
    /// hand: 2 good, 3 negative amount, 4 blank, 5-6 one row whose quoted district holds a
    /// line break, 7 a quoted district holding a lone CR, 8 two rows joined by a lone CR
    /// (one line, one ragged row of 9 fields), 9 good.
    const LINES: [&str; 9] = [
        "区,日期,处置单位统一社会信用代码,收集量(t),处置量(t)",
        "朝阳区,2026-01-05,91110105MA01ABCD5F,1,1",
        "海淀区,2026-01-05,91110105MA01ABCD5F,-1,1",
        "",
        "\"东城",
        "区\",2026-01-05,91110105MA01ABCD5F,1,1",
        "\"西城\r区\",2026-01-05,91110105MA01ABCD5F,1,1",
        "丰台区,2026-01-05,91110105MA01ABCD5F,2,1\r石景山区,2026-01-05,x,1,1",
        "大兴区,2026-01-05,91110105MA01ABCD5F,3,1",
    ];

    #[derive(Debug, Clone, Copy)]
    enum Ends {
        Lf,
        CrLf,
        /// LF after odd lines, CRLF after even ones.
        Mixed,
    }

    #[derive(Debug, Clone, Copy)]
    enum Enc {
        Utf8,
        Utf8Bom,
        Gb18030,
        /// GB18030 with its byte order mark (84 31 95 33, U+FEFF in GB18030).
        Gb18030Bom,
    }

    fn file(ends: Ends, enc: Enc) -> Vec<u8> {
        let mut text = String::new();
        for (i, line) in LINES.iter().enumerate() {
            text.push_str(line);
            let crlf = match ends {
                Ends::Lf => false,
                Ends::CrLf => true,
                Ends::Mixed => i % 2 == 1,
            };
            text.push_str(if crlf { "\r\n" } else { "\n" });
        }
        let gb = |s: &str| encoding_rs::GB18030.encode(s).0.into_owned();
        match enc {
            Enc::Utf8 => text.into_bytes(),
            Enc::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            Enc::Gb18030 => gb(&text),
            Enc::Gb18030Bom => [b"\x84\x31\x95\x33".as_slice(), &gb(&text)].concat(),
        }
    }

    /// What `sed -n Np` prints: the bytes between the (N-1)th and Nth LF, here decoded from
    /// the file's encoding and without the CR of a CRLF.
    fn sed_n(bytes: &[u8], enc: Enc, n: u64) -> String {
        let line = bytes.split(|&b| b == b'\n').nth(n as usize - 1).unwrap();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match enc {
            Enc::Utf8 | Enc::Utf8Bom => String::from_utf8(line.to_vec()).unwrap(),
            Enc::Gb18030 | Enc::Gb18030Bom => encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(line)
                .unwrap()
                .into_owned(),
        }
    }

    fn check(bytes: &[u8]) -> FileResult {
        let curated = envgov_curated::Curated::load().unwrap();
        let registry = Registry::default();
        let ctx = Context {
            curated: &curated,
            registry: &registry,
            date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        };
        validate(
            Source::MedicalWaste,
            "raw/medical-waste/2026-01-05/medical-waste.csv",
            bytes,
            ctx,
        )
    }

    #[test]
    fn every_line_end_and_encoding_numbers_rows_as_sed_does() {
        let encodings = [Enc::Utf8, Enc::Utf8Bom, Enc::Gb18030, Enc::Gb18030Bom];
        for ends in [Ends::Lf, Ends::CrLf, Ends::Mixed] {
            for enc in encodings {
                let bytes = file(ends, enc);
                let r = check(&bytes);
                let case = format!("{ends:?} {enc:?}");
                assert_eq!(r.counts.file_error, None, "{case}");
                assert_eq!(
                    (r.counts.read, r.counts.accepted, r.counts.rejected),
                    (6, 2, 4),
                    "{case}: {:?}",
                    r.rejections
                );
                let rejected: Vec<_> = r
                    .rejections
                    .iter()
                    .map(|x| (x.line, x.field.as_str()))
                    .collect();
                assert_eq!(
                    rejected,
                    [(3, "收集量(t)"), (5, "区"), (7, "区"), (8, "row")],
                    "{case}"
                );
                assert_eq!(
                    r.accepted.i64_column("raw_line"),
                    &[Some(2), Some(9)],
                    "{case}"
                );
                // The cited line, cut from the same bytes as sed cuts it, is the record.
                let starts = [
                    (2, "朝阳区,"),
                    (3, "海淀区,"),
                    (5, "\"东城"),
                    (7, "\"西城\r区\","),
                    (8, "丰台区,"),
                    (9, "大兴区,"),
                ];
                for (n, start) in starts {
                    assert!(sed_n(&bytes, enc, n).starts_with(start), "{case}: line {n}");
                }
            }
        }
    }

    #[test]
    fn a_crlf_file_and_its_lf_twin_give_the_same_lines() {
        // The issue's report: a CRLF self-monitoring file had every line one too low.
        let lf = check(&file(Ends::Lf, Enc::Gb18030));
        let crlf = check(&file(Ends::CrLf, Enc::Gb18030));
        let lines = |r: &FileResult| r.rejections.iter().map(|x| x.line).collect::<Vec<_>>();
        assert_eq!(lines(&lf), lines(&crlf));
        assert_eq!(
            lf.accepted.i64_column("raw_line"),
            crlf.accepted.i64_column("raw_line")
        );
    }
}
