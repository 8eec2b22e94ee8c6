//! The catalogue of injected defects: their ledger keys, default rates, what a rate is a
//! probability of, and the ledger that counts what was injected.
//!
//! Ledger keys are `{source}/{kind}` (`cems/bad_crc`, `self-monitoring/ragged_row`). Every
//! kind with a rate above zero is also forced to occur at least once, at the earliest place
//! it fits (normally the first day of the window), so even a small configuration exercises
//! every rule of the validator. In the CSV sources a forced occurrence takes the place of
//! the kind's first random one (a later random draw of it is skipped), so forcing does not
//! raise the reject rate of small sources. Pure data: no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One kind of defect the generator can inject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefectKind {
    /// Ledger key, `{source}/{kind}`.
    pub key: &'static str,
    /// Default probability.
    pub default_rate: f64,
    /// What the probability applies to (one draw per ...).
    pub per: &'static str,
}

const fn kind(key: &'static str, default_rate: f64, per: &'static str) -> DefectKind {
    DefectKind {
        key,
        default_rate,
        per,
    }
}

pub(crate) const CEMS_TRUE_EXCEEDANCE: &str = "cems/true_exceedance";
pub(crate) const CEMS_FLAG_F: &str = "cems/flag_F";
pub(crate) const CEMS_FLAG_M: &str = "cems/flag_M";
pub(crate) const CEMS_FLAG_D: &str = "cems/flag_D";
pub(crate) const CEMS_FLAG_C: &str = "cems/flag_C";
pub(crate) const CEMS_FLAG_T: &str = "cems/flag_T";
pub(crate) const CEMS_FLAG_B: &str = "cems/flag_B";
pub(crate) const CEMS_SENTINEL: &str = "cems/sentinel_999";
pub(crate) const CEMS_GAP: &str = "cems/gap";
pub(crate) const CEMS_DUPLICATE: &str = "cems/duplicate_packet";
pub(crate) const CEMS_BAD_CRC: &str = "cems/bad_crc";
pub(crate) const CEMS_TRUNCATED: &str = "cems/truncated_packet";
pub(crate) const CEMS_BAD_LENGTH: &str = "cems/bad_length";
pub(crate) const CEMS_IMPOSSIBLE: &str = "cems/impossible_value";
pub(crate) const CEMS_UNKNOWN_DEVICE: &str = "cems/unknown_device";
pub(crate) const CEMS_WHITESPACE: &str = "cems/whitespace_in_field";

pub(crate) const SM_RAGGED_ROW: &str = "self-monitoring/ragged_row";
pub(crate) const SM_MALFORMED_USCC: &str = "self-monitoring/malformed_uscc";
pub(crate) const SM_BAD_TIMESTAMP: &str = "self-monitoring/bad_timestamp";
pub(crate) const SM_IMPOSSIBLE: &str = "self-monitoring/impossible_value";
pub(crate) const SM_UNKNOWN_ITEM: &str = "self-monitoring/unknown_item";
pub(crate) const SM_TRUE_EXCEEDANCE: &str = "self-monitoring/true_exceedance";

pub(crate) const VEH_MALFORMED_USCC: &str = "vehicles/malformed_uscc";
pub(crate) const VEH_UNKNOWN_FUEL: &str = "vehicles/unknown_fuel";
pub(crate) const VEH_SECTOR_MISMATCH: &str = "vehicles/sector_mismatch";
pub(crate) const VEH_BAD_DATE: &str = "vehicles/bad_date";

pub(crate) const SEWAGE_IMPOSSIBLE: &str = "sewage/impossible_value";
pub(crate) const SEWAGE_MISSING: &str = "sewage/missing_value";
pub(crate) const SEWAGE_TRUE_EXCEEDANCE: &str = "sewage/true_exceedance";

pub(crate) const MSW_TREATED_EXCEEDS: &str = "msw/treated_exceeds_received";
pub(crate) const MEDICAL_NEGATIVE: &str = "medical-waste/negative_value";
pub(crate) const CONSTRUCTION_BAD_DISTRICT: &str = "construction-waste/bad_district";
pub(crate) const LIVESTOCK_UTILISED_EXCEEDS: &str = "livestock/utilised_exceeds_produced";
pub(crate) const LIVESTOCK_UNKNOWN_SPECIES: &str = "livestock/unknown_species";

/// Every defect kind, in a stable order.
pub const DEFECT_KINDS: &[DefectKind] = &[
    kind(
        CEMS_TRUE_EXCEEDANCE,
        0.01,
        "monitored outlet and day (one hour over an hourly limit, or a run of hours over a daily limit)",
    ),
    kind(CEMS_FLAG_F, 0.0008, "hourly packet"),
    kind(CEMS_FLAG_M, 0.0004, "hourly packet (starts a 2-4 hour run)"),
    kind(CEMS_FLAG_D, 0.0008, "hourly packet"),
    kind(CEMS_FLAG_C, 0.0004, "hourly packet (starts a 2-4 hour run)"),
    kind(CEMS_FLAG_T, 0.0005, "hourly packet"),
    kind(CEMS_FLAG_B, 0.0008, "hourly packet"),
    kind(CEMS_SENTINEL, 0.0008, "hourly packet"),
    kind(CEMS_GAP, 0.002, "hourly packet"),
    kind(CEMS_DUPLICATE, 0.001, "hourly packet"),
    kind(CEMS_BAD_CRC, 0.0005, "hourly packet"),
    kind(CEMS_TRUNCATED, 0.0005, "hourly packet"),
    kind(CEMS_BAD_LENGTH, 0.0003, "hourly packet"),
    kind(CEMS_IMPOSSIBLE, 0.0005, "hourly packet"),
    kind(CEMS_UNKNOWN_DEVICE, 0.05, "district file"),
    kind(CEMS_WHITESPACE, 0.001, "hourly packet"),
    kind(SM_RAGGED_ROW, 0.003, "row"),
    kind(SM_MALFORMED_USCC, 0.003, "row"),
    kind(SM_BAD_TIMESTAMP, 0.003, "row"),
    kind(SM_IMPOSSIBLE, 0.003, "row"),
    kind(SM_UNKNOWN_ITEM, 0.003, "row"),
    kind(SM_TRUE_EXCEEDANCE, 0.01, "row"),
    kind(VEH_MALFORMED_USCC, 0.001, "row"),
    kind(VEH_UNKNOWN_FUEL, 0.001, "row"),
    kind(VEH_SECTOR_MISMATCH, 0.001, "row"),
    kind(VEH_BAD_DATE, 0.001, "row"),
    kind(SEWAGE_IMPOSSIBLE, 0.005, "row"),
    kind(SEWAGE_MISSING, 0.005, "row"),
    kind(SEWAGE_TRUE_EXCEEDANCE, 0.01, "row"),
    kind(MSW_TREATED_EXCEEDS, 0.005, "row"),
    kind(MEDICAL_NEGATIVE, 0.005, "row"),
    kind(CONSTRUCTION_BAD_DISTRICT, 0.005, "row"),
    kind(LIVESTOCK_UTILISED_EXCEEDS, 0.01, "row"),
    kind(LIVESTOCK_UNKNOWN_SPECIES, 0.01, "row"),
];

/// Probability of each defect kind, by ledger key. Keys not present count as zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefectRates {
    pub rates: BTreeMap<String, f64>,
}

impl Default for DefectRates {
    /// Small rates; every kind occurs at least once in the default configuration.
    fn default() -> Self {
        Self {
            rates: DEFECT_KINDS
                .iter()
                .map(|k| (k.key.to_string(), k.default_rate))
                .collect(),
        }
    }
}

impl DefectRates {
    /// No defects at all: clean data that validation accepts entirely.
    pub fn none() -> Self {
        Self {
            rates: DEFECT_KINDS
                .iter()
                .map(|k| (k.key.to_string(), 0.0))
                .collect(),
        }
    }

    /// The rate for a ledger key (zero when absent).
    pub fn rate(&self, key: &str) -> f64 {
        self.rates.get(key).copied().unwrap_or(0.0).clamp(0.0, 1.0)
    }

    /// Sets one rate (builder style).
    pub fn with(mut self, key: &str, rate: f64) -> Self {
        self.rates.insert(key.to_string(), rate);
        self
    }

    /// Every rate multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            rates: self
                .rates
                .iter()
                .map(|(k, v)| (k.clone(), v * factor))
                .collect(),
        }
    }
}

/// How many defects of each kind were injected, by ledger key `{source}/{kind}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectLedger {
    pub counts: BTreeMap<String, u64>,
}

impl DefectLedger {
    /// A ledger with every known kind at zero.
    pub fn zeroed() -> Self {
        Self {
            counts: DEFECT_KINDS
                .iter()
                .map(|k| (k.key.to_string(), 0))
                .collect(),
        }
    }

    pub(crate) fn add(&mut self, key: &str, n: u64) {
        *self.counts.entry(key.to_string()).or_insert(0) += n;
    }

    /// The count for a key (zero when absent).
    pub fn get(&self, key: &str) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }

    /// Total number of injected defects.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// Kinds of one source that still have to be forced to occur once, and the forced
/// occurrences that later random draws of the same kind give back (so that forcing moves
/// the first occurrence earlier instead of adding one: small sources keep their rates).
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    kinds: Vec<&'static str>,
    credit: Vec<&'static str>,
}

impl Pending {
    /// All kinds of `source` with a rate above zero.
    pub(crate) fn new(rates: &DefectRates, source: &str) -> Self {
        let kinds = DEFECT_KINDS
            .iter()
            .filter(|k| k.key.split('/').next() == Some(source) && rates.rate(k.key) > 0.0)
            .map(|k| k.key)
            .collect();
        Self {
            kinds,
            credit: Vec::new(),
        }
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.kinds.contains(&key)
    }

    pub(crate) fn kinds(&self) -> &[&'static str] {
        &self.kinds
    }

    /// Marks a kind as placed.
    pub(crate) fn done(&mut self, key: &str) {
        self.kinds.retain(|k| *k != key);
    }
}

/// Draws at most one kind for a row or packet from `kinds` (a single draw: the rates are
/// small, so their sum is the chance that any defect occurs).
pub(crate) fn draw_one(
    rng: &mut crate::streams::Stream,
    rates: &DefectRates,
    kinds: &[&'static str],
) -> Option<&'static str> {
    use rand::Rng;
    let total: f64 = kinds.iter().map(|k| rates.rate(k)).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x: f64 = rng.random();
    for k in kinds {
        let r = rates.rate(k);
        if x < r {
            return Some(k);
        }
        x -= r;
    }
    None
}

/// Plans the defects of a file's rows: at most one per row, drawn at the rates (only kinds
/// `eligible` for the row count). Kinds still pending are forced with as little extra
/// damage as possible: a kind that was drawn anyway counts as placed; otherwise it takes
/// over a row whose drawn kind occurs more than once in the file, else a clean row.
pub(crate) fn plan_rows(
    rng: &mut crate::streams::Stream,
    rates: &DefectRates,
    kinds: &[&'static str],
    rows: usize,
    pending: &mut Pending,
    eligible: impl Fn(usize, &str) -> bool,
) -> Vec<Option<&'static str>> {
    let mut plan: Vec<Option<&'static str>> = (0..rows)
        .map(|i| draw_one(rng, rates, kinds).filter(|k| eligible(i, k)))
        .collect();
    for slot in plan.iter_mut() {
        if let Some(k) = *slot
            && let Some(c) = pending.credit.iter().position(|x| *x == k)
        {
            pending.credit.remove(c);
            *slot = None;
        }
    }
    let wanted: Vec<&'static str> = pending
        .kinds()
        .iter()
        .copied()
        .filter(|k| kinds.contains(k))
        .collect();
    for kind in &wanted {
        if plan.contains(&Some(*kind)) {
            pending.done(kind);
        }
    }
    for kind in wanted {
        if !pending.contains(kind) {
            continue;
        }
        let surplus = (0..rows).find(|&i| {
            plan[i].is_some_and(|d| d != kind && plan.iter().filter(|x| **x == Some(d)).count() > 1)
                && eligible(i, kind)
        });
        let clean = || (0..rows).find(|&i| plan[i].is_none() && eligible(i, kind));
        let slot = match surplus {
            Some(i) => Some(i),
            None => clean().inspect(|_| pending.credit.push(kind)),
        };
        if let Some(i) = slot {
            plan[i] = Some(kind);
            pending.done(kind);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_kinds_reuse_drawn_defects_before_damaging_clean_rows() {
        let rates = DefectRates::none().with("msw/treated_exceeds_received", 1.0);
        let mut pending = Pending::new(&rates, "msw");
        let mut rng = crate::streams::stream(1, "t", &[]);
        let plan = plan_rows(
            &mut rng,
            &rates,
            &[MSW_TREATED_EXCEEDS],
            3,
            &mut pending,
            |_, _| true,
        );
        assert!(plan.iter().all(|d| *d == Some(MSW_TREATED_EXCEEDS)));
        assert!(pending.kinds().is_empty());

        let rates = DefectRates::none()
            .with(VEH_BAD_DATE, 1.0)
            .with(VEH_UNKNOWN_FUEL, 1e-9);
        let mut pending = Pending::new(&rates, "vehicles");
        let plan = plan_rows(
            &mut rng,
            &rates,
            &[VEH_BAD_DATE, VEH_UNKNOWN_FUEL],
            4,
            &mut pending,
            |_, _| true,
        );
        assert_eq!(
            plan.iter().filter(|d| d.is_some()).count(),
            4,
            "no clean row was damaged"
        );
        assert_eq!(
            plan.iter()
                .filter(|d| **d == Some(VEH_UNKNOWN_FUEL))
                .count(),
            1
        );
        assert!(pending.kinds().is_empty());
    }

    #[test]
    fn keys_are_unique_and_prefixed_with_a_known_source() {
        for (i, k) in DEFECT_KINDS.iter().enumerate() {
            assert!(
                DEFECT_KINDS[..i].iter().all(|o| o.key != k.key),
                "{}",
                k.key
            );
            let source = k.key.split('/').next().unwrap();
            assert!(envgov_dataset::Source::parse(source).is_some(), "{}", k.key);
        }
    }

    #[test]
    fn none_has_every_key_at_zero_and_no_pending_kinds() {
        let none = DefectRates::none();
        assert!(DEFECT_KINDS.iter().all(|k| none.rate(k.key) == 0.0));
        assert!(Pending::new(&none, "cems").kinds().is_empty());
        assert_eq!(
            Pending::new(&DefectRates::default(), "cems").kinds().len(),
            16
        );
    }
}
