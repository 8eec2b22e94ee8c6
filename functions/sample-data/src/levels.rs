//! Realistic concentration bands per standard and pollutant (domain-data §11), chosen so
//! that clean values always stay below the applicable limits, and the mapping from a unit's
//! stable operating point to a concrete value. Pure: no I/O.

use envgov_curated::Standard;

/// Whether `month` (1-12) is in the winter period of DB11/890 (1 December to 31 March).
pub(crate) fn is_winter(month: u32) -> bool {
    matches!(month, 12 | 1 | 2 | 3)
}

/// The realistic band `(lo, hi)` of a pollutant under a standard in a month, in the
/// pollutant's unit (air: at the standard's reference O2). `hi` stays below every limit.
pub(crate) fn band(standard: &Standard, pollutant: &str, month: u32) -> (f64, f64) {
    let fixed = match (standard.id.as_str(), pollutant) {
        ("GB18485-2014", "a34013") => Some((1.0, 10.0)),
        ("GB18485-2014", "a21002") => Some((80.0, 220.0)),
        ("GB18485-2014", "a21026") => Some((5.0, 60.0)),
        ("GB18485-2014", "a21024") => Some((2.0, 30.0)),
        ("GB18485-2014", "a21005") => Some((2.0, 40.0)),
        ("GB18485-2014", "dioxins") => Some((0.005, 0.08)),
        ("GB18485-2014", "a20057") => Some((0.001, 0.02)),
        ("DB11-139-2015", "a34013") => Some((0.5, 3.5)),
        ("DB11-139-2015", "a21026") => Some((1.0, 7.0)),
        ("DB11-139-2015", "a21002") => Some((8.0, 26.0)),
        ("DB11-501-2017", "a34013") => Some((0.8, 7.0)),
        ("DB11-501-2017", "a21026") => Some((1.0, 12.0)),
        ("DB11-501-2017", "a21002") => Some((10.0, 70.0)),
        ("DB11-307-2013-sewer", "w01018") => Some((30.0, 300.0)),
        ("DB11-307-2013-sewer", "w21003") => Some((0.2, 20.0)),
        ("DB11-307-2013-sewer", "w21011") => Some((0.3, 5.0)),
        ("DB11-307-2013-sewer", "w01001") => Some((6.8, 8.4)),
        ("GB18596-2001", "w01018") => Some((100.0, 380.0)),
        ("GB18596-2001", "w01017") => Some((40.0, 140.0)),
        ("GB18596-2001", "w01012") => Some((50.0, 180.0)),
        ("GB18596-2001", "w21003") => Some((20.0, 75.0)),
        ("GB18596-2001", "w21011") => Some((2.0, 7.5)),
        _ => None,
    };
    if let Some(b) = fixed {
        return b;
    }
    let limit = standard
        .sample_limit(pollutant)
        .map(|l| l.upper_for_month(month))
        .unwrap_or(1.0);
    let (lo, hi) = if standard.id.starts_with("DB11-890") {
        match pollutant {
            "w01018" => (0.35, 0.85),
            "w01017" => (0.25, 0.8),
            "w01012" => (0.3, 0.8),
            // The winter limit is higher, so absolute winter values are too.
            "w21003" => (0.1, 0.6),
            "w21001" => (0.4, 0.85),
            "w21011" => (0.2, 0.8),
            _ => (0.2, 0.8),
        }
    } else {
        (0.2, 0.8)
    };
    (lo * limit, hi * limit)
}

/// A value in `band` for an operating point `u` (0..1) moved by `shift`, clamped to the band.
pub(crate) fn in_band((lo, hi): (f64, f64), u: f64, shift: f64) -> f64 {
    lo + (hi - lo) * (u + shift).clamp(0.0, 1.0)
}

/// The decimals a concentration is reported with.
pub(crate) fn decimals_for(v: f64) -> usize {
    let a = v.abs();
    if a >= 10.0 {
        1
    } else if a >= 0.1 {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envgov_curated::Curated;

    #[test]
    fn bands_stay_below_every_limit_in_every_month() {
        let c = Curated::load().unwrap();
        for st in &c.standards.list {
            for l in &st.limits {
                for month in 1..=12 {
                    let (lo, hi) = band(st, &l.pollutant, month);
                    let limit = l.upper_for_month(month);
                    assert!(
                        lo < hi && hi < 0.96 * limit,
                        "{} {} {month}: {hi} vs {limit}",
                        st.id,
                        l.pollutant
                    );
                    if let Some(lower) = l.lower {
                        assert!(lo > lower, "{} {}", st.id, l.pollutant);
                    }
                }
            }
        }
    }
}
