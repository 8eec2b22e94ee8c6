//! The curated inputs kept in `data/`, embedded into the binaries and checked strictly.
//!
//! Stage: reference data (pure). Every table is parsed with `deny_unknown_fields`, so a typo
//! fails loudly, and [`Curated::load`] cross-checks the tables (a limit must name a known
//! pollutant, every text must exist in both languages).

pub mod boundaries;
pub mod datasets;
pub mod error;
pub mod open_days;
pub mod plan;
pub mod pollutants;
pub mod standards;

pub use error::CuratedError;
pub use open_days::{OpenDay, OpenDays};
pub use plan::{Indicator, Measure, Plan};
pub use pollutants::{Pollutant, Pollutants};
pub use standards::{Limit, Period, Standard, Standards};

/// All curated tables, loaded and cross-checked.
#[derive(Debug, Clone)]
pub struct Curated {
    pub pollutants: Pollutants,
    pub standards: Standards,
    pub plan: Plan,
    pub open_days: OpenDays,
    pub datasets: datasets::Datasets,
}

impl Curated {
    /// Loads the tables embedded at build time from `data/`.
    pub fn load() -> Result<Self, CuratedError> {
        let pollutants = Pollutants::parse(include_str!("../../../data/pollutants.toml"))?;
        let standards =
            Standards::parse(include_str!("../../../data/standards.toml"), &pollutants)?;
        let plan = Plan::parse(include_str!("../../../data/plan.toml"))?;
        let open_days = OpenDays::parse(include_str!("../../../data/open-days.toml"))?;
        let datasets = datasets::Datasets::parse(include_str!("../../../data/datasets.toml"))?;
        Ok(Self {
            datasets,
            pollutants,
            standards,
            plan,
            open_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_load_and_cross_check() {
        let c = Curated::load().unwrap();
        assert!(c.pollutants.get("w01018").is_some());
        assert!(c.standards.get("GB18485-2014").is_some());
    }
}
