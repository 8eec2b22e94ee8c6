//! The raw data sources delivered to `raw/{source}/`.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Key polluting units registry (JSON Lines).
    Enterprises,
    /// HJ 212-2017 online-monitoring packet archives.
    Cems,
    /// Manual self-monitoring results (CSV as on Beijing's disclosure platform).
    SelfMonitoring,
    /// Fleet vehicle inspection records (CSV).
    Vehicles,
    /// Sewage plant daily effluent (CSV).
    Sewage,
    /// Municipal solid waste daily throughput by method (CSV).
    Msw,
    /// Medical waste collected and treated (CSV).
    MedicalWaste,
    /// Construction waste received and recycled (CSV).
    ConstructionWaste,
    /// Large-scale livestock and poultry farms (CSV).
    Livestock,
}

impl Source {
    pub const ALL: [Source; 9] = [
        Source::Enterprises,
        Source::Cems,
        Source::SelfMonitoring,
        Source::Vehicles,
        Source::Sewage,
        Source::Msw,
        Source::MedicalWaste,
        Source::ConstructionWaste,
        Source::Livestock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Enterprises => "enterprises",
            Source::Cems => "cems",
            Source::SelfMonitoring => "self-monitoring",
            Source::Vehicles => "vehicles",
            Source::Sewage => "sewage",
            Source::Msw => "msw",
            Source::MedicalWaste => "medical-waste",
            Source::ConstructionWaste => "construction-waste",
            Source::Livestock => "livestock",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
