//! Comparisons: the units of an industry ranked by compliance and by mass emitted per
//! pollutant, a district against the city, a month against the same month last year.
//!
//! Stage: rendering, and pure: numbers in, numbers out (the pages format them). Every
//! figure is a sum of published columns over rows, and every rate a sum over a sum, never
//! an average of rates; rates are compared exactly (as fractions of integers), so an order
//! never depends on floating-point rounding.

use crate::rows::EmissionTotal;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The counts a compliance rate is made of: sums of the `emission-totals` columns
/// `hours_checked`, `hourly_exceedances`, `days_checked` and `daily_exceedances`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checks {
    pub hours_checked: u64,
    pub hourly_exceedances: u64,
    pub days_checked: u64,
    pub daily_exceedances: u64,
}

impl Checks {
    pub fn add(&mut self, r: &EmissionTotal<'_>) {
        self.hours_checked += r.hours_checked;
        self.hourly_exceedances += r.hourly_exceedances;
        self.days_checked += r.days_checked;
        self.daily_exceedances += r.daily_exceedances;
    }

    /// Comparisons of a value with a limit: valid hourly means with an hourly limit plus
    /// outlet-days with a daily mean and a daily limit.
    pub fn checks(&self) -> u64 {
        self.hours_checked + self.days_checked
    }

    /// Comparisons over the limit: hourly plus daily exceedances.
    pub fn exceedances(&self) -> u64 {
        self.hourly_exceedances + self.daily_exceedances
    }

    /// The compliance rate, (checks − exceedances) / checks; `None` without checks.
    pub fn rate(&self) -> Option<f64> {
        fraction(
            self.checks() - self.exceedances().min(self.checks()),
            self.checks(),
        )
    }

    /// The hourly compliance rate, (hours checked − hourly exceedances) / hours checked
    /// (the plan indicator `cems_hourly_compliance_rate`'s formula); `None` without hours.
    pub fn hourly_rate(&self) -> Option<f64> {
        let h = self.hours_checked;
        fraction(h - self.hourly_exceedances.min(h), h)
    }

    /// The daily compliance rate, (days checked − daily exceedances) / days checked.
    pub fn daily_rate(&self) -> Option<f64> {
        let d = self.days_checked;
        fraction(d - self.daily_exceedances.min(d), d)
    }

    /// Orders by compliance rate, exactly: (c₁ − e₁) / c₁ against (c₂ − e₂) / c₂ by cross
    /// multiplication. Both must have checks.
    fn cmp_rate(&self, other: &Checks) -> Ordering {
        let passed = |c: &Checks| u128::from(c.checks() - c.exceedances().min(c.checks()));
        (passed(self) * u128::from(other.checks()))
            .cmp(&(passed(other) * u128::from(self.checks())))
    }
}

/// `n / d`, `None` when `d` is 0.
pub fn fraction(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// `part / whole` of two sums, `None` when the whole is 0.
pub fn share(part: f64, whole: f64) -> Option<f64> {
    (whole != 0.0).then(|| part / whole)
}

/// One item of a ranking: its rank, shared by items that tie (1, 2, 2, 4), or `None` for an
/// item without data, listed after the ranked ones and never ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked<T> {
    pub rank: Option<usize>,
    pub item: T,
}

/// Standard competition ranking of `items` sorted so that `tie` is true exactly between
/// neighbours of equal value: the first of a run of ties gets its position, the others
/// share it.
fn competition<T>(sorted: Vec<T>, tie: impl Fn(&T, &T) -> bool) -> Vec<Ranked<T>> {
    let mut out: Vec<Ranked<T>> = Vec::with_capacity(sorted.len());
    for (i, item) in sorted.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if tie(&prev.item, &item) => prev.rank,
            _ => Some(i + 1),
        };
        out.push(Ranked { rank, item });
    }
    out
}

/// A unit's compliance over a period, by credit code.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitChecks<'a> {
    pub uscc: &'a str,
    pub checks: Checks,
}

/// The units ranked by compliance, lowest rate first: rank 1 is the unit with the largest
/// share of its checks over a limit. Units whose rates are equal (exactly, as fractions)
/// share a rank and are listed by most checks, then by credit code. Units without a check
/// follow, unranked ("no data"), by credit code.
pub fn rank_by_compliance(units: Vec<UnitChecks<'_>>) -> Vec<Ranked<UnitChecks<'_>>> {
    let (mut with, mut without): (Vec<_>, Vec<_>) =
        units.into_iter().partition(|u| u.checks.checks() > 0);
    with.sort_by(|a, b| {
        a.checks
            .cmp_rate(&b.checks)
            .then(b.checks.checks().cmp(&a.checks.checks()))
            .then(a.uscc.cmp(b.uscc))
    });
    without.sort_by(|a, b| a.uscc.cmp(b.uscc));
    let mut ranked = competition(with, |a, b| a.checks.cmp_rate(&b.checks).is_eq());
    ranked.extend(without.into_iter().map(|item| Ranked { rank: None, item }));
    ranked
}

/// A unit's mass of one pollutant over a period (`None`: no row of it).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitMass<'a> {
    pub uscc: &'a str,
    pub mass_kg: Option<f64>,
}

/// The units ranked by mass emitted, largest first; equal masses share a rank and are
/// listed by credit code. Units without a row of the pollutant follow, unranked.
pub fn rank_by_mass(units: Vec<UnitMass<'_>>) -> Vec<Ranked<UnitMass<'_>>> {
    let (mut with, mut without): (Vec<_>, Vec<_>) =
        units.into_iter().partition(|u| u.mass_kg.is_some());
    let mass = |u: &UnitMass<'_>| u.mass_kg.unwrap_or(0.0);
    with.sort_by(|a, b| mass(b).total_cmp(&mass(a)).then(a.uscc.cmp(b.uscc)));
    without.sort_by(|a, b| a.uscc.cmp(b.uscc));
    let mut ranked = competition(with, |a, b| mass(a) == mass(b));
    ranked.extend(without.into_iter().map(|item| Ranked { rank: None, item }));
    ranked
}

/// What an area (a district, or the city) adds up to over a set of `emission-totals` rows
/// of one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaFigures {
    /// Distinct units with a row (units with online monitoring in the period).
    pub monitored: usize,
    pub checks: Checks,
    /// Pollutant → kg, summed in the order of the rows.
    pub mass_kg: BTreeMap<String, f64>,
}

impl AreaFigures {
    pub fn of<'r, 'a: 'r>(rows: impl IntoIterator<Item = &'r EmissionTotal<'a>>) -> AreaFigures {
        let mut units = std::collections::BTreeSet::new();
        let mut f = AreaFigures::default();
        for r in rows {
            units.insert(r.uscc);
            f.checks.add(r);
            *f.mass_kg.entry(r.pollutant.to_string()).or_default() += r.mass_kg;
        }
        f.monitored = units.len();
        f
    }

    /// Exceedances per unit with online monitoring; `None` without one.
    pub fn exceedances_per_unit(&self) -> Option<f64> {
        (self.monitored > 0).then(|| self.checks.exceedances() as f64 / self.monitored as f64)
    }
}

/// A figure this month and in the same month last year (`None`: no data for that month).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearOnYear {
    pub this: Option<f64>,
    pub last: Option<f64>,
}

impl YearOnYear {
    /// This month minus the same month last year, when both exist.
    pub fn change(&self) -> Option<f64> {
        Some(self.this? - self.last?)
    }

    /// The change relative to last year's value, when both exist and last year's is not 0.
    pub fn relative(&self) -> Option<f64> {
        share(self.change()?, self.last?)
    }
}

#[cfg(test)]
mod tests;
