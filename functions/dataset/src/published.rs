//! The published datasets: their ids and the shape of their rows (column names and types,
//! in order), defined once. The pipeline checks every table against its shape when it is
//! published (`envgov_pipeline::publish`), and `data/datasets.toml` must describe exactly
//! these ids and every column (checked by the curated tables' tests).
//!
//! Stage: contract (pure values).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The type of a published column, as Frictionless Table Schema names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Str,
    Number,
    Integer,
    Boolean,
}

impl ColumnType {
    /// The Frictionless field type.
    pub fn frictionless(self) -> &'static str {
        match self {
            ColumnType::Str => "string",
            ColumnType::Number => "number",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
        }
    }
}

/// One column of a published table.
pub type Column = (&'static str, ColumnType);

/// A published dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetId {
    Enterprises,
    Outlets,
    TreatmentFacilities,
    CemsDaily,
    CemsHourly,
    Exceedances,
    EmissionTotals,
    DistrictSummary,
    IndustrySummary,
    SelfMonitoring,
    VehicleFleets,
    SewageCompliance,
    MswTreatment,
    MedicalWaste,
    ConstructionWaste,
    LivestockManure,
    PlanIndicators,
}

impl DatasetId {
    /// Every dataset, in catalogue order.
    pub const ALL: [DatasetId; 17] = [
        DatasetId::Enterprises,
        DatasetId::Outlets,
        DatasetId::TreatmentFacilities,
        DatasetId::CemsDaily,
        DatasetId::CemsHourly,
        DatasetId::Exceedances,
        DatasetId::EmissionTotals,
        DatasetId::DistrictSummary,
        DatasetId::IndustrySummary,
        DatasetId::SelfMonitoring,
        DatasetId::VehicleFleets,
        DatasetId::SewageCompliance,
        DatasetId::MswTreatment,
        DatasetId::MedicalWaste,
        DatasetId::ConstructionWaste,
        DatasetId::LivestockManure,
        DatasetId::PlanIndicators,
    ];

    /// The id as it appears in paths and URLs (`cems-daily`).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetId::Enterprises => "enterprises",
            DatasetId::Outlets => "outlets",
            DatasetId::TreatmentFacilities => "treatment-facilities",
            DatasetId::CemsDaily => "cems-daily",
            DatasetId::CemsHourly => "cems-hourly",
            DatasetId::Exceedances => "exceedances",
            DatasetId::EmissionTotals => "emission-totals",
            DatasetId::DistrictSummary => "district-summary",
            DatasetId::IndustrySummary => "industry-summary",
            DatasetId::SelfMonitoring => "self-monitoring",
            DatasetId::VehicleFleets => "vehicle-fleets",
            DatasetId::SewageCompliance => "sewage-compliance",
            DatasetId::MswTreatment => "msw-treatment",
            DatasetId::MedicalWaste => "medical-waste",
            DatasetId::ConstructionWaste => "construction-waste",
            DatasetId::LivestockManure => "livestock-manure",
            DatasetId::PlanIndicators => "plan-indicators",
        }
    }

    /// Whether the dataset grows with time and is published a file a month
    /// (`{id}-{YYYY-MM}.…`, see `layout::monthly_file_name`), each month rewritten only when
    /// its inputs change.
    pub fn monthly(self) -> bool {
        matches!(
            self,
            DatasetId::CemsDaily | DatasetId::CemsHourly | DatasetId::SelfMonitoring
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The columns of the published table, in order.
    pub fn shape(self) -> &'static [Column] {
        match self {
            DatasetId::Enterprises => ENTERPRISES,
            DatasetId::Outlets => OUTLETS,
            DatasetId::TreatmentFacilities => TREATMENT_FACILITIES,
            DatasetId::CemsDaily => CEMS_DAILY,
            DatasetId::CemsHourly => CEMS_HOURLY,
            DatasetId::Exceedances => EXCEEDANCES,
            DatasetId::EmissionTotals => EMISSION_TOTALS,
            DatasetId::DistrictSummary => DISTRICT_SUMMARY,
            DatasetId::IndustrySummary => INDUSTRY_SUMMARY,
            DatasetId::SelfMonitoring => SELF_MONITORING,
            DatasetId::VehicleFleets => VEHICLE_FLEETS,
            DatasetId::SewageCompliance => SEWAGE_COMPLIANCE,
            DatasetId::MswTreatment => MSW_TREATMENT,
            DatasetId::MedicalWaste => MEDICAL_WASTE,
            DatasetId::ConstructionWaste => CONSTRUCTION_WASTE,
            DatasetId::LivestockManure => LIVESTOCK_MANURE,
            DatasetId::PlanIndicators => PLAN_INDICATORS,
        }
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use ColumnType::{Boolean, Integer, Number, Str};

const ENTERPRISES: &[Column] = &[
    ("uscc", Str),
    ("permit_no", Str),
    ("name_zh", Str),
    ("name_en", Str),
    ("district", Str),
    ("district_zh", Str),
    ("district_en", Str),
    ("industry_code", Str),
    ("industry_zh", Str),
    ("industry_en", Str),
    ("source_type", Str),
    ("address_zh", Str),
    ("address_en", Str),
    ("lon", Number),
    ("lat", Number),
    ("disclosure_url", Str),
    ("outlets", Integer),
    ("cems_outlets", Integer),
    ("facilities", Integer),
    ("facilities_operating", Integer),
    ("raw_key", Str),
    ("raw_line", Integer),
    ("raw_sha256", Str),
];
const OUTLETS: &[Column] = &[
    ("uscc", Str),
    ("permit_no", Str),
    ("outlet", Str),
    ("outlet_id", Str),
    ("outlet_name_zh", Str),
    ("outlet_name_en", Str),
    ("medium", Str),
    ("mn", Str),
    ("cems", Boolean),
    ("discharge_method_zh", Str),
    ("discharge_method_en", Str),
    ("destination_zh", Str),
    ("destination_en", Str),
    ("standard", Str),
    ("standard_code", Str),
    ("pollutant", Str),
    ("pollutant_zh", Str),
    ("pollutant_en", Str),
    ("unit", Str),
    ("hourly_limit", Number),
    ("daily_limit", Number),
    ("daily_limit_winter", Number),
    ("sample_limit", Number),
    ("limit_illustrative", Boolean),
];
const TREATMENT_FACILITIES: &[Column] = &[
    ("uscc", Str),
    ("facility", Str),
    ("name_zh", Str),
    ("name_en", Str),
    ("outlet", Str),
    ("status", Str),
    ("commissioned", Str),
];
const CEMS_DAILY: &[Column] = &[
    ("date", Str),
    ("month", Str),
    ("year", Str),
    ("uscc", Str),
    ("permit_no", Str),
    ("district", Str),
    ("industry_code", Str),
    ("outlet", Str),
    ("outlet_id", Str),
    ("standard", Str),
    ("pollutant", Str),
    ("hours_reported", Integer),
    ("valid_hours", Integer),
    ("flagged_hours", Integer),
    ("excluded_values", Integer),
    ("missing_hours", Integer),
    ("value_sum", Number),
    ("daily_mean", Number),
    ("device_daily_avg", Number),
    ("hourly_limit", Number),
    ("hourly_exceedances", Integer),
    ("daily_limit", Number),
    ("daily_compliant", Boolean),
    ("daily_exceedance_multiple", Number),
    ("daily_limit_illustrative", Boolean),
    ("mass_kg", Number),
    ("raw_key", Str),
    ("raw_sha256", Str),
];
/// Every accepted hourly value (HJ 212 `CN=2061`), one row per outlet, pollutant and hour,
/// published a month a file.
const CEMS_HOURLY: &[Column] = &[
    ("date", Str),
    ("month", Str),
    ("observed_at", Str),
    ("hour", Integer),
    ("uscc", Str),
    ("permit_no", Str),
    ("district", Str),
    ("industry_code", Str),
    ("outlet", Str),
    ("outlet_id", Str),
    ("mn", Str),
    ("standard", Str),
    ("pollutant", Str),
    ("avg", Number),
    ("zs_avg", Number),
    ("min", Number),
    ("max", Number),
    ("cou", Number),
    ("flag", Str),
    ("valid", Boolean),
    ("excluded_reason", Str),
    ("value", Number),
    ("hourly_limit", Number),
    ("limit_illustrative", Boolean),
    ("exceeds_hourly_limit", Boolean),
    ("raw_key", Str),
    ("raw_line", Integer),
    ("raw_sha256", Str),
];
/// The exceedance register's order: rows sorted by these columns (empty for NULL), one
/// after the other. A night builds the register in this order and a correction night puts
/// withdrawn rows back in their place by it.
pub const EXCEEDANCE_ORDER: [&str; 7] = [
    "date",
    "observed_at",
    "uscc",
    "outlet",
    "pollutant",
    "period",
    "record_source",
];

const EXCEEDANCES: &[Column] = &[
    ("exceedance_id", Str),
    ("record_source", Str),
    ("uscc", Str),
    ("name_zh", Str),
    ("name_en", Str),
    ("district", Str),
    ("outlet", Str),
    ("pollutant", Str),
    ("period", Str),
    ("observed_at", Str),
    ("date", Str),
    ("value", Number),
    ("limit", Number),
    ("exceedance_multiple", Number),
    ("standard", Str),
    ("limit_illustrative", Boolean),
    ("raw_key", Str),
    ("raw_line", Integer),
    ("raw_sha256", Str),
    ("record_status", Str),
    ("withdrawn_by", Str),
    ("withdrawn_sha256", Str),
    ("withdrawn_night", Str),
];
const EMISSION_TOTALS: &[Column] = &[
    ("uscc", Str),
    ("name_zh", Str),
    ("name_en", Str),
    ("permit_no", Str),
    ("district", Str),
    ("industry_code", Str),
    ("pollutant", Str),
    ("period", Str),
    ("period_type", Str),
    ("mass_kg", Number),
    ("valid_hours", Integer),
    ("value_sum", Number),
    ("days_with_data", Integer),
    ("hourly_exceedances", Integer),
    ("daily_exceedances", Integer),
    ("hours_checked", Integer),
    ("days_checked", Integer),
    ("mean_concentration", Number),
];
const DISTRICT_SUMMARY: &[Column] = &[
    ("district", Str),
    ("district_zh", Str),
    ("district_en", Str),
    ("pollutant", Str),
    ("year", Str),
    ("units", Integer),
    ("outlets", Integer),
    ("valid_hours", Integer),
    ("hours_checked", Integer),
    ("hourly_exceedances", Integer),
    ("days_checked", Integer),
    ("daily_exceedances", Integer),
    ("mass_kg", Number),
    ("hourly_compliance_rate", Number),
    ("daily_compliance_rate", Number),
];
const INDUSTRY_SUMMARY: &[Column] = &[
    ("industry_code", Str),
    ("industry_zh", Str),
    ("industry_en", Str),
    ("pollutant", Str),
    ("year", Str),
    ("units", Integer),
    ("outlets", Integer),
    ("valid_hours", Integer),
    ("hours_checked", Integer),
    ("hourly_exceedances", Integer),
    ("days_checked", Integer),
    ("daily_exceedances", Integer),
    ("mass_kg", Number),
    ("hourly_compliance_rate", Number),
    ("daily_compliance_rate", Number),
];
const SELF_MONITORING: &[Column] = &[
    ("uscc", Str),
    ("enterprise_name", Str),
    ("district", Str),
    ("outlet", Str),
    ("sampled_at", Str),
    ("date", Str),
    ("pollutant", Str),
    ("item_zh", Str),
    ("result", Number),
    ("detected", Boolean),
    ("not_monitored_reason", Str),
    ("unit", Str),
    ("declared_limit", Number),
    ("declared_compliant", Boolean),
    ("declared_multiple", Number),
    ("standard", Str),
    ("standard_code", Str),
    ("destination", Str),
    ("discharge_method", Str),
    ("limit", Number),
    ("limit_lower", Number),
    ("limit_illustrative", Boolean),
    ("compliant", Boolean),
    ("exceedance_multiple", Number),
    ("declaration_consistent", Boolean),
    ("raw_key", Str),
    ("raw_line", Integer),
    ("raw_sha256", Str),
    ("month", Str),
];
const VEHICLE_FLEETS: &[Column] = &[
    ("level", Str),
    ("sector", Str),
    ("operator_uscc", Str),
    ("operator_name", Str),
    ("vehicles", Integer),
    ("bev", Integer),
    ("fcev", Integer),
    ("phev", Integer),
    ("with_emission_stage", Integer),
    ("china6", Integer),
    ("inspections_passed", Integer),
    ("electrification_share", Number),
    ("china6_share", Number),
    ("inspection_pass_rate", Number),
];
const SEWAGE_COMPLIANCE: &[Column] = &[
    ("uscc", Str),
    ("plant_name", Str),
    ("standard", Str),
    ("month", Str),
    ("days", Integer),
    ("checks", Integer),
    ("exceedances", Integer),
    ("nh3n_exceedances", Integer),
    ("compliance_rate", Number),
    ("flow_m3", Number),
];
const MSW_TREATMENT: &[Column] = &[
    ("month", Str),
    ("method", Str),
    ("uscc", Str),
    ("facility_name", Str),
    ("received_t", Number),
    ("harmless_t", Number),
    ("products_t", Number),
    ("days", Integer),
    ("harmless_treatment_rate", Number),
];
const MEDICAL_WASTE: &[Column] = &[
    ("month", Str),
    ("district", Str),
    ("district_zh", Str),
    ("district_en", Str),
    ("collected_t", Number),
    ("treated_t", Number),
    ("days", Integer),
    ("treated_share", Number),
];
const CONSTRUCTION_WASTE: &[Column] = &[
    ("month", Str),
    ("district", Str),
    ("uscc", Str),
    ("facility_name", Str),
    ("product_type", Str),
    ("received_t", Number),
    ("recycled_products_t", Number),
    ("days", Integer),
    ("recycling_rate", Number),
];
const LIVESTOCK_MANURE: &[Column] = &[
    ("district", Str),
    ("district_zh", Str),
    ("district_en", Str),
    ("farms", Integer),
    ("pig_equivalents", Number),
    ("farms_equipped", Integer),
    ("farms_operating", Integer),
    ("farms_third_party", Integer),
    ("manure_produced_t", Number),
    ("manure_utilised_t", Number),
    ("third_party_t", Number),
    ("equipping_rate", Number),
    ("utilisation_rate", Number),
];
const PLAN_INDICATORS: &[Column] = &[
    ("indicator", Str),
    ("period", Str),
    ("value", Number),
    ("numerator", Number),
    ("denominator", Number),
    ("unit", Str),
    ("source_dataset", Str),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_columns_are_unique() {
        for id in DatasetId::ALL {
            assert_eq!(DatasetId::parse(id.as_str()), Some(id));
            let mut names: Vec<&str> = id.shape().iter().map(|(n, _)| *n).collect();
            let all = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), all, "{id}: a column named twice");
        }
        assert_eq!(DatasetId::parse("cems_daily"), None);
    }

    #[test]
    fn every_row_carries_its_provenance_or_is_derived_from_rows_that_do() {
        // Rows read from raw files name them (raw_key) and the bytes they were read from
        // (raw_sha256, as in the raw ledger); the register, the hourly and the daily values
        // are evidence, so they must keep both.
        for id in [
            DatasetId::Enterprises,
            DatasetId::CemsDaily,
            DatasetId::CemsHourly,
            DatasetId::Exceedances,
            DatasetId::SelfMonitoring,
        ] {
            for column in ["raw_key", "raw_sha256"] {
                assert!(
                    id.shape().iter().any(|(n, _)| *n == column),
                    "{id}: {column}"
                );
            }
        }
        // Rows read from one line of a raw file also name the line.
        for id in [
            DatasetId::Enterprises,
            DatasetId::CemsHourly,
            DatasetId::Exceedances,
            DatasetId::SelfMonitoring,
        ] {
            assert!(id.shape().iter().any(|(n, _)| *n == "raw_line"), "{id}");
        }
    }
}
