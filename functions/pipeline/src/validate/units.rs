//! The validated registry's types: key polluting units, their outlets and facilities, and
//! the [`Registry`] the other validators look units, outlets and devices up in.
//!
//! Stage: validate (pure values). Rebuilt from a validated partition; validated by
//! [`super::registry`]. Imports no validator.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::table::Table;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A key polluting unit as delivered and, once validated, as used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub uscc: String,
    pub permit_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub district: String,
    pub industry_code: String,
    pub industry_zh: String,
    pub industry_en: String,
    pub source_type: String,
    pub address_zh: String,
    pub address_en: String,
    pub lon: f64,
    pub lat: f64,
    pub disclosure_url: String,
    pub outlets: Vec<Outlet>,
    pub facilities: Vec<Facility>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outlet {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub medium: String,
    #[serde(default)]
    pub mn: Option<String>,
    pub standard: String,
    pub discharge_method_zh: String,
    pub discharge_method_en: String,
    pub destination_zh: String,
    pub destination_en: String,
    pub pollutants: Vec<String>,
    pub cems: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facility {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub outlet: String,
    pub status: String,
    #[serde(default)]
    pub commissioned: Option<String>,
}

/// The validated registry: units by USCC and devices by MN.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub units: BTreeMap<String, Unit>,
    /// MN → (USCC, outlet code).
    pub devices: BTreeMap<String, (String, String)>,
    /// Where each unit's record came from (raw key, line).
    pub origins: BTreeMap<String, (String, i64)>,
}

impl Registry {
    /// Rebuilds the registry from a validated partition.
    pub fn from_table(table: &Table) -> Result<Self, serde_json::Error> {
        let mut reg = Registry::default();
        let json = table.str_column("unit_json");
        let keys = table.str_column("raw_key");
        let lines = table.i64_column("raw_line");
        for ((json, key), line) in json.iter().zip(keys).zip(lines) {
            let unit: Unit = serde_json::from_str(json.as_deref().unwrap_or("null"))?;
            reg.origins.insert(
                unit.uscc.clone(),
                (key.clone().unwrap_or_default(), line.unwrap_or(0)),
            );
            reg.insert(unit);
        }
        Ok(reg)
    }

    pub(super) fn insert(&mut self, unit: Unit) {
        for o in &unit.outlets {
            if let Some(mn) = &o.mn {
                self.devices
                    .insert(mn.clone(), (unit.uscc.clone(), o.code.clone()));
            }
        }
        self.units.insert(unit.uscc.clone(), unit);
    }

    pub fn unit(&self, uscc: &str) -> Option<&Unit> {
        self.units.get(uscc)
    }

    pub fn device(&self, mn: &str) -> Option<(&Unit, &Outlet)> {
        let (uscc, code) = self.devices.get(mn)?;
        let unit = self.units.get(uscc)?;
        let outlet = unit.outlets.iter().find(|o| &o.code == code)?;
        Some((unit, outlet))
    }
}
