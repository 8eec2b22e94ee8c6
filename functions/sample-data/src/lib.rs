//! Deterministic, realistic sample raw data for envgov, with defects injected at known rates.
//!
//! Stage: sample data (pure). [`generate`] produces every raw delivery described in
//! `data/raw-formats.md` for a window of days — the registry of key polluting units, HJ 212
//! online-monitoring archives, self-monitoring CSVs, fleet snapshots, sewage, municipal solid
//! waste, medical and construction waste, and livestock farms — and hands each file to a
//! sink as soon as it is complete, under its storage key `raw/{source}/{YYYY-MM-DD}/{file}`.
//! It does no I/O itself, reads no clock, and returns a [`DefectLedger`] that counts every
//! defect it injected, so tests can check that validation catches each one.
//!
//! Output depends only on the [`SampleConfig`]: the same seed gives the same bytes. Every
//! file (and every outlet-day in a CEMS file) draws from its own random stream, derived from
//! the seed and the date, so memory stays bounded by one file.

mod cems;
mod defects;
mod geography;
mod identity;
mod levels;
mod livestock;
mod registry;
mod self_monitoring;
mod streams;
mod table;
mod vehicles;
mod waste;
mod waste_sites;
mod world;

pub use defects::{DEFECT_KINDS, DefectKind, DefectLedger, DefectRates};

use chrono::{Datelike, Days, NaiveDate};
use defects::Pending;
use envgov_dataset::Source;
use envgov_dataset::layout::raw_key;
use world::World;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    /// Number of key polluting units in the registry (default 300).
    pub units: usize,
    /// Number of days in the window (default 31).
    pub days: u32,
    /// Seed of all random streams (default 2021).
    pub seed: u64,
    /// Last day of the window (default 2026-01-31); the window is the `days` days ending here.
    pub end_date: NaiveDate,
    /// Probability of each defect kind; [`DefectRates::none`] gives clean data.
    pub defects: DefectRates,
    /// Put two XSS probes into the registry's unit names (default true).
    pub xss_probes: bool,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            units: 300,
            days: 31,
            seed: 2021,
            end_date: NaiveDate::from_ymd_opt(2026, 1, 31).expect("valid date"),
            defects: DefectRates::default(),
            xss_probes: true,
        }
    }
}

impl SampleConfig {
    /// The first day of the window.
    pub fn start_date(&self) -> NaiveDate {
        self.end_date
            .checked_sub_days(Days::new(u64::from(self.days.max(1) - 1)))
            .expect("date in range")
    }

    /// Whether snapshot sources (registry, fleets, farms) deliver on `date`: the first day
    /// of the window and the first day of every later calendar month.
    pub fn is_snapshot_day(&self, date: NaiveDate) -> bool {
        date == self.start_date() || date.day() == 1
    }
}

/// The XSS probe written as a unit's English name when [`SampleConfig::xss_probes`] is set.
pub const XSS_PROBE_NAME_EN: &str = registry::XSS_NAME_EN;
/// The XSS probe written as another unit's Chinese name.
pub const XSS_PROBE_NAME_ZH: &str = registry::XSS_NAME_ZH;

/// Forced-occurrence bookkeeping, one per source.
struct PendingKinds {
    cems: Pending,
    self_monitoring: Pending,
    vehicles: Pending,
    sewage: Pending,
    msw: Pending,
    medical: Pending,
    construction: Pending,
    livestock: Pending,
}

/// A sink for one source and day that turns file names into storage keys.
fn keyed<'a>(
    sink: &'a mut dyn FnMut(String, Vec<u8>),
    source: Source,
    day: &'a str,
) -> impl FnMut(String, Vec<u8>) + 'a {
    move |file, bytes| {
        sink(
            raw_key(source, day, &file).expect("generated file names are valid key segments"),
            bytes,
        )
    }
}

/// Generates the sample raw data and hands every file to `sink` as `(storage key, bytes)`,
/// day by day in date order, as soon as each file is complete. Returns the defect ledger.
pub fn generate(config: &SampleConfig, sink: &mut dyn FnMut(String, Vec<u8>)) -> DefectLedger {
    let mut ledger = DefectLedger::zeroed();
    if config.days == 0 || config.units == 0 {
        return ledger;
    }
    let world = World::build(config.seed, config.units, config.xss_probes);
    let registry_bytes = registry::render(&world.units);
    let rates = &config.defects;
    let mut pending = PendingKinds {
        cems: Pending::new(rates, "cems"),
        self_monitoring: Pending::new(rates, "self-monitoring"),
        vehicles: Pending::new(rates, "vehicles"),
        sewage: Pending::new(rates, "sewage"),
        msw: Pending::new(rates, "msw"),
        medical: Pending::new(rates, "medical-waste"),
        construction: Pending::new(rates, "construction-waste"),
        livestock: Pending::new(rates, "livestock"),
    };
    let start = config.start_date();
    for offset in 0..config.days {
        let date = start
            .checked_add_days(Days::new(u64::from(offset)))
            .expect("date in range");
        let day = date.format("%Y-%m-%d").to_string();
        let snapshot = config.is_snapshot_day(date);
        if snapshot {
            keyed(sink, Source::Enterprises, &day)(
                "registry.jsonl".to_string(),
                registry_bytes.clone(),
            );
        }
        cems::day(
            &world,
            date,
            rates,
            &mut ledger,
            &mut pending.cems,
            &mut keyed(sink, Source::Cems, &day),
        );
        self_monitoring::day(
            &world,
            date,
            rates,
            &mut ledger,
            &mut pending.self_monitoring,
            &mut keyed(sink, Source::SelfMonitoring, &day),
        );
        if snapshot {
            vehicles::snapshot(
                world.seed,
                &world.fleet,
                date,
                rates,
                &mut ledger,
                &mut pending.vehicles,
                &mut keyed(sink, Source::Vehicles, &day),
            );
        }
        waste::sewage(
            &world,
            date,
            rates,
            &mut ledger,
            &mut pending.sewage,
            &mut keyed(sink, Source::Sewage, &day),
        );
        waste::msw(
            &world,
            date,
            rates,
            &mut ledger,
            &mut pending.msw,
            &mut keyed(sink, Source::Msw, &day),
        );
        waste::medical(
            &world,
            date,
            rates,
            &mut ledger,
            &mut pending.medical,
            &mut keyed(sink, Source::MedicalWaste, &day),
        );
        waste::construction(
            &world,
            date,
            rates,
            &mut ledger,
            &mut pending.construction,
            &mut keyed(sink, Source::ConstructionWaste, &day),
        );
        if snapshot {
            livestock::snapshot(
                world.seed,
                &world.farms,
                date,
                rates,
                &mut ledger,
                &mut pending.livestock,
                &mut keyed(sink, Source::Livestock, &day),
            );
        }
    }
    ledger
}

#[cfg(test)]
mod tests;
