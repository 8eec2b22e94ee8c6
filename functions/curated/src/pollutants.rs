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
    /// Whether a mass is emitted (`false` for pH: its value is not a concentration). See
    /// [`Pollutant::has_mass`].
    #[serde(default = "mass_by_default")]
    pub mass: bool,
}

fn mass_by_default() -> bool {
    true
}

impl Pollutant {
    /// A mass emitted (kg) means something for it: a pollutant measured as a
    /// concentration. Not for pH (`mass = false`) nor for a parameter.
    pub fn has_mass(&self) -> bool {
        self.mass && !self.parameter
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[[pollutant]]
code = "w01001"
medium = "water"
name = { zh = "pH值", en = "pH" }
item_zh = ["pH值"]
unit = "pH"
min = 0.0
max = 14.0
mass = false

[[pollutant]]
code = "w01018"
medium = "water"
name = { zh = "化学需氧量", en = "COD" }
item_zh = ["化学需氧量"]
unit = "mg/L"
min = 0.0
max = 100000.0
"#;

    #[test]
    fn ph_and_parameters_have_no_mass_concentrations_do() {
        let p = Pollutants::parse(TWO).unwrap();
        assert!(!p.get("w01001").unwrap().has_mass());
        assert!(p.get("w01018").unwrap().has_mass());
        let embedded = Pollutants::parse(include_str!("../../../data/pollutants.toml")).unwrap();
        let without: Vec<&str> = (embedded.list.iter())
            .filter(|p| !p.has_mass())
            .map(|p| p.code.as_str())
            .collect();
        // pH, and the parameters O2, flue gas temperature and wastewater flow.
        assert_eq!(without, ["a19001", "a01012", "w00000", "w01001"]);
    }
}
