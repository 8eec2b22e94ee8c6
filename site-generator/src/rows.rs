//! Typed rows of the published datasets the site reads, deserialised with serde from the
//! rows of `{id}.json`.
//!
//! Every column a struct names must be present in every row, nullable ones included
//! ([`nullable`] refuses a missing key instead of reading it as null), so a renamed or
//! retyped column fails the build naming the dataset, the row and the column. Columns the
//! site does not read are ignored. Strings are borrowed from the input rows, not copied.

use crate::error::SiteError;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const ENTERPRISES: &str = "enterprises";
pub const OUTLETS: &str = "outlets";
pub const TREATMENT_FACILITIES: &str = "treatment-facilities";
pub const CEMS_DAILY: &str = "cems-daily";
pub const EXCEEDANCES: &str = "exceedances";
pub const EMISSION_TOTALS: &str = "emission-totals";
pub const SELF_MONITORING: &str = "self-monitoring";
pub const PLAN_INDICATORS: &str = "plan-indicators";
pub const VEHICLE_FLEETS: &str = "vehicle-fleets";
pub const SEWAGE_COMPLIANCE: &str = "sewage-compliance";
pub const MSW_TREATMENT: &str = "msw-treatment";
pub const MEDICAL_WASTE: &str = "medical-waste";
pub const CONSTRUCTION_WASTE: &str = "construction-waste";
pub const LIVESTOCK_MANURE: &str = "livestock-manure";

/// Every table whose rows [`crate::inputs::SiteInputs::tables`] must hold (the site reads no
/// other rows; dataset pages need only the packages, per-unit downloads come ready-made).
pub const TABLES: [&str; 13] = [
    ENTERPRISES,
    OUTLETS,
    TREATMENT_FACILITIES,
    CEMS_DAILY,
    EXCEEDANCES,
    EMISSION_TOTALS,
    PLAN_INDICATORS,
    VEHICLE_FLEETS,
    SEWAGE_COMPLIANCE,
    MSW_TREATMENT,
    MEDICAL_WASTE,
    CONSTRUCTION_WASTE,
    LIVESTOCK_MANURE,
];

/// One raw row of a published table, as the pipeline wrote it.
pub type RawRow = Map<String, Value>;

/// Reads a column that must be present and may be null.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// Just the unit a row belongs to (for grouping rows into per-unit downloads).
#[derive(Debug, Deserialize)]
pub struct UnitKey<'a> {
    pub uscc: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct Enterprise<'a> {
    pub uscc: &'a str,
    pub permit_no: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub district: &'a str,
    pub district_zh: &'a str,
    pub district_en: &'a str,
    pub industry_code: &'a str,
    pub industry_zh: &'a str,
    pub industry_en: &'a str,
    pub source_type: &'a str,
    pub address_zh: &'a str,
    pub address_en: &'a str,
    #[serde(deserialize_with = "nullable")]
    pub lon: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub lat: Option<f64>,
    #[serde(borrow, deserialize_with = "nullable")]
    pub disclosure_url: Option<&'a str>,
    pub outlets: u64,
    pub cems_outlets: u64,
    pub facilities: u64,
    pub facilities_operating: u64,
    pub raw_key: &'a str,
    #[serde(deserialize_with = "nullable")]
    pub raw_line: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Outlet<'a> {
    pub uscc: &'a str,
    pub outlet: &'a str,
    pub outlet_name_zh: &'a str,
    pub outlet_name_en: &'a str,
    pub medium: &'a str,
    pub cems: bool,
    pub discharge_method_zh: &'a str,
    pub discharge_method_en: &'a str,
    pub destination_zh: &'a str,
    pub destination_en: &'a str,
    pub standard: &'a str,
    pub standard_code: &'a str,
    pub pollutant: &'a str,
    pub pollutant_zh: &'a str,
    pub pollutant_en: &'a str,
    pub unit: &'a str,
    #[serde(deserialize_with = "nullable")]
    pub hourly_limit: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub daily_limit: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub daily_limit_winter: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub sample_limit: Option<f64>,
    pub limit_illustrative: bool,
}

#[derive(Debug, Deserialize)]
pub struct Facility<'a> {
    pub uscc: &'a str,
    pub facility: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub outlet: &'a str,
    pub status: &'a str,
    #[serde(borrow, deserialize_with = "nullable")]
    pub commissioned: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct CemsDaily<'a> {
    pub date: &'a str,
    pub uscc: &'a str,
    pub outlet: &'a str,
    pub pollutant: &'a str,
    pub hours_reported: u64,
    pub valid_hours: u64,
    pub flagged_hours: u64,
    pub missing_hours: u64,
    #[serde(deserialize_with = "nullable")]
    pub daily_mean: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub hourly_limit: Option<f64>,
    pub hourly_exceedances: u64,
    #[serde(deserialize_with = "nullable")]
    pub daily_limit: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub daily_compliant: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    pub daily_limit_illustrative: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Exceedance<'a> {
    pub exceedance_id: &'a str,
    pub record_source: &'a str,
    pub uscc: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub district: &'a str,
    pub outlet: &'a str,
    pub pollutant: &'a str,
    pub period: &'a str,
    pub observed_at: &'a str,
    pub date: &'a str,
    pub value: f64,
    pub limit: f64,
    pub exceedance_multiple: f64,
    pub standard: &'a str,
    pub limit_illustrative: bool,
    pub raw_key: &'a str,
    #[serde(deserialize_with = "nullable")]
    pub raw_line: Option<u64>,
    /// `in-force`, or `withdrawn` by a correction (absent in registers published before
    /// corrections existed).
    #[serde(default)]
    pub record_status: Option<&'a str>,
    /// The revision(s) that withdrew it and the night that applied them.
    #[serde(default)]
    pub withdrawn_by: Option<&'a str>,
    #[serde(default)]
    pub withdrawn_night: Option<&'a str>,
}

impl Exceedance<'_> {
    /// Withdrawn by a correction: kept in the register, marked, never silently gone.
    pub fn withdrawn(&self) -> bool {
        self.record_status == Some("withdrawn")
    }
}

#[derive(Debug, Deserialize)]
pub struct EmissionTotal<'a> {
    pub uscc: &'a str,
    pub district: &'a str,
    pub industry_code: &'a str,
    pub pollutant: &'a str,
    pub period: &'a str,
    pub period_type: &'a str,
    pub mass_kg: f64,
    pub valid_hours: u64,
    pub days_with_data: u64,
    pub hourly_exceedances: u64,
    pub daily_exceedances: u64,
    /// Valid hours with an hourly limit, and outlet-days with a daily mean and a daily limit:
    /// the denominators of a compliance rate.
    pub hours_checked: u64,
    pub days_checked: u64,
    #[serde(deserialize_with = "nullable")]
    pub mean_concentration: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct IndicatorValue<'a> {
    pub indicator: &'a str,
    pub period: &'a str,
    #[serde(deserialize_with = "nullable")]
    pub value: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub numerator: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub denominator: Option<f64>,
    /// `ratio`, `count` or `t`.
    pub unit: &'a str,
    pub source_dataset: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct VehicleFleet<'a> {
    /// `sector` (a sector's total) or `operator`.
    pub level: &'a str,
    pub sector: &'a str,
    #[serde(borrow, deserialize_with = "nullable")]
    pub operator_uscc: Option<&'a str>,
    #[serde(borrow, deserialize_with = "nullable")]
    pub operator_name: Option<&'a str>,
    pub vehicles: u64,
    pub bev: u64,
    pub fcev: u64,
    pub phev: u64,
    pub china6: u64,
    pub with_emission_stage: u64,
    pub inspections_passed: u64,
    #[serde(deserialize_with = "nullable")]
    pub electrification_share: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub china6_share: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub inspection_pass_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct SewageCompliance<'a> {
    pub uscc: &'a str,
    pub plant_name: &'a str,
    pub standard: &'a str,
    pub month: &'a str,
    pub days: u64,
    pub checks: u64,
    pub exceedances: u64,
    pub nh3n_exceedances: u64,
    #[serde(deserialize_with = "nullable")]
    pub compliance_rate: Option<f64>,
    pub flow_m3: f64,
}

#[derive(Debug, Deserialize)]
pub struct MswTreatment<'a> {
    pub month: &'a str,
    pub method: &'a str,
    pub uscc: &'a str,
    pub facility_name: &'a str,
    pub received_t: f64,
    pub harmless_t: f64,
    pub products_t: f64,
    pub days: u64,
    #[serde(deserialize_with = "nullable")]
    pub harmless_treatment_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct MedicalWaste<'a> {
    pub month: &'a str,
    pub district: &'a str,
    pub collected_t: f64,
    pub treated_t: f64,
    pub days: u64,
    #[serde(deserialize_with = "nullable")]
    pub treated_share: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct ConstructionWaste<'a> {
    pub month: &'a str,
    pub district: &'a str,
    pub uscc: &'a str,
    pub facility_name: &'a str,
    pub product_type: &'a str,
    pub received_t: f64,
    pub recycled_products_t: f64,
    pub days: u64,
    #[serde(deserialize_with = "nullable")]
    pub recycling_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct LivestockManure<'a> {
    pub district: &'a str,
    pub farms: u64,
    pub pig_equivalents: f64,
    pub farms_equipped: u64,
    pub farms_operating: u64,
    pub farms_third_party: u64,
    pub manure_produced_t: f64,
    pub manure_utilised_t: f64,
    #[serde(deserialize_with = "nullable")]
    pub equipping_rate: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub utilisation_rate: Option<f64>,
}

/// Every table the site reads, typed.
#[derive(Debug)]
pub struct Rows<'a> {
    pub enterprises: Vec<Enterprise<'a>>,
    pub outlets: Vec<Outlet<'a>>,
    pub facilities: Vec<Facility<'a>>,
    pub cems_daily: Vec<CemsDaily<'a>>,
    pub exceedances: Vec<Exceedance<'a>>,
    pub emission_totals: Vec<EmissionTotal<'a>>,
    pub indicators: Vec<IndicatorValue<'a>>,
    pub vehicle_fleets: Vec<VehicleFleet<'a>>,
    pub sewage: Vec<SewageCompliance<'a>>,
    pub msw: Vec<MswTreatment<'a>>,
    pub medical_waste: Vec<MedicalWaste<'a>>,
    pub construction_waste: Vec<ConstructionWaste<'a>>,
    pub livestock: Vec<LivestockManure<'a>>,
}

impl<'a> Rows<'a> {
    /// Types every table the site reads; fails on the first row that does not fit.
    pub fn parse(tables: &'a BTreeMap<String, Vec<RawRow>>) -> Result<Rows<'a>, SiteError> {
        Ok(Rows {
            enterprises: parse(tables, ENTERPRISES)?,
            outlets: parse(tables, OUTLETS)?,
            facilities: parse(tables, TREATMENT_FACILITIES)?,
            cems_daily: parse(tables, CEMS_DAILY)?,
            exceedances: parse(tables, EXCEEDANCES)?,
            emission_totals: parse(tables, EMISSION_TOTALS)?,
            indicators: parse(tables, PLAN_INDICATORS)?,
            vehicle_fleets: parse(tables, VEHICLE_FLEETS)?,
            sewage: parse(tables, SEWAGE_COMPLIANCE)?,
            msw: parse(tables, MSW_TREATMENT)?,
            medical_waste: parse(tables, MEDICAL_WASTE)?,
            construction_waste: parse(tables, CONSTRUCTION_WASTE)?,
            livestock: parse(tables, LIVESTOCK_MANURE)?,
        })
    }
}

/// The raw rows of a table, or an error naming it.
pub fn table<'a>(
    tables: &'a BTreeMap<String, Vec<RawRow>>,
    dataset: &str,
) -> Result<&'a [RawRow], SiteError> {
    tables
        .get(dataset)
        .map(Vec::as_slice)
        .ok_or_else(|| SiteError::MissingInput {
            dataset: dataset.to_string(),
            what: "table ({id}.json rows)",
        })
}

/// Types the rows of one table.
pub fn parse<'a, T: Deserialize<'a>>(
    tables: &'a BTreeMap<String, Vec<RawRow>>,
    dataset: &str,
) -> Result<Vec<T>, SiteError> {
    table(tables, dataset)?
        .iter()
        .enumerate()
        .map(|(i, row)| {
            T::deserialize(row).map_err(|e| SiteError::Row {
                dataset: dataset.to_string(),
                row: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tables(rows: Value) -> BTreeMap<String, Vec<RawRow>> {
        let rows = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect();
        BTreeMap::from([(FACILITY_TEST.to_string(), rows)])
    }

    const FACILITY_TEST: &str = "medical-waste";

    fn row() -> Value {
        json!({"month": "2026-01", "district": "110101", "collected_t": 1.5, "treated_t": 1,
               "days": 30, "treated_share": null, "extra_column": "ignored"})
    }

    #[test]
    fn reads_rows_with_nulls_and_extra_columns() {
        let t = tables(json!([row()]));
        let rows: Vec<MedicalWaste> = parse(&t, FACILITY_TEST).unwrap();
        assert_eq!(rows[0].treated_t, 1.0);
        assert_eq!(rows[0].treated_share, None);
    }

    #[test]
    fn a_renamed_nullable_column_fails_naming_it() {
        let mut r = row();
        let o = r.as_object_mut().unwrap();
        let v = o.remove("treated_share").unwrap();
        o.insert("share_treated".into(), v);
        let t = tables(json!([row(), r]));
        let err = parse::<MedicalWaste>(&t, FACILITY_TEST).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("medical-waste") && msg.contains("row 2"),
            "{msg}"
        );
        assert!(msg.contains("treated_share"), "{msg}");
    }

    #[test]
    fn a_retyped_column_fails() {
        let mut r = row();
        r["days"] = json!("thirty");
        let t = tables(json!([r]));
        assert!(parse::<MedicalWaste>(&t, FACILITY_TEST).is_err());
    }

    #[test]
    fn a_missing_table_is_named() {
        let t = BTreeMap::new();
        let err = parse::<MedicalWaste>(&t, MEDICAL_WASTE).unwrap_err();
        assert!(err.to_string().contains("medical-waste"));
    }
}
