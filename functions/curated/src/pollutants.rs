//! `data/pollutants.toml`: pollutant and parameter codes, names, units, plausibility bounds.

use crate::error::{CuratedError, parse};
use envgov_dataset::Localized;
use serde::Deserialize;

const FILE: &str = "pollutants.toml";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pollutant {
    pub code: String,
    /// `air` or `water`.
    pub medium: String,
    pub name: Localized,
    /// Names used for this item in self-monitoring files (监测项目).
    pub item_zh: Vec<String>,
    pub unit: String,
    /// Physically possible range; outside it a value is impossible.
    pub min: f64,
    pub max: f64,
    /// A process parameter (O2, temperature, flow), not a pollutant with limits.
    #[serde(default)]
    pub parameter: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pollutants {
    #[serde(rename = "pollutant")]
    pub list: Vec<Pollutant>,
}

impl Pollutants {
    pub fn parse(text: &str) -> Result<Self, CuratedError> {
        let p: Pollutants = parse(FILE, text)?;
        for (i, x) in p.list.iter().enumerate() {
            x.name
                .check(&format!("pollutant {}", x.code))
                .map_err(|source| CuratedError::Translation { file: FILE, source })?;
            if p.list[..i].iter().any(|y| y.code == x.code) {
                return Err(CuratedError::Invalid {
                    file: FILE,
                    message: format!("duplicate code {}", x.code),
                });
            }
            if x.min.is_nan()
                || x.max.is_nan()
                || x.min >= x.max
                || !matches!(x.medium.as_str(), "air" | "water")
            {
                return Err(CuratedError::Invalid {
                    file: FILE,
                    message: format!("bad range or medium for {}", x.code),
                });
            }
        }
        Ok(p)
    }

    pub fn get(&self, code: &str) -> Option<&Pollutant> {
        self.list.iter().find(|p| p.code == code)
    }

    /// Finds a pollutant by its self-monitoring item name (监测项目).
    pub fn by_item(&self, item: &str) -> Option<&Pollutant> {
        let item = item.trim();
        self.list
            .iter()
            .find(|p| p.item_zh.iter().any(|n| n == item))
    }
}
