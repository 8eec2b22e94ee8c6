//! Expected values computed by hand from the rows written here.

use super::*;

#[allow(clippy::too_many_arguments)]
fn row<'a>(
    uscc: &'a str,
    pollutant: &'a str,
    period: &'a str,
    mass_kg: f64,
    hours_checked: u64,
    hourly_exceedances: u64,
    days_checked: u64,
    daily_exceedances: u64,
) -> EmissionTotal<'a> {
    EmissionTotal {
        uscc,
        district: "110105",
        industry_code: "4430",
        pollutant,
        period,
        period_type: if period.len() == 4 { "year" } else { "month" },
        mass_kg,
        valid_hours: hours_checked,
        days_with_data: days_checked,
        hourly_exceedances,
        daily_exceedances,
        hours_checked,
        days_checked,
        mean_concentration: None,
    }
}

fn checks(hc: u64, he: u64, dc: u64, de: u64) -> Checks {
    Checks {
        hours_checked: hc,
        hourly_exceedances: he,
        days_checked: dc,
        daily_exceedances: de,
    }
}

#[test]
fn a_rate_is_checks_passed_over_checks() {
    // 700 hours with 7 over + 30 days with 3 over: (737 − 10) / 737.
    let c = checks(700, 7, 30, 3);
    assert_eq!(c.checks(), 730);
    assert_eq!(c.exceedances(), 10);
    assert_eq!(c.rate(), Some(720.0 / 730.0));
    assert_eq!(c.hourly_rate(), Some(693.0 / 700.0));
    assert_eq!(c.daily_rate(), Some(27.0 / 30.0));
    assert_eq!(Checks::default().rate(), None);
    assert_eq!(checks(0, 0, 10, 1).hourly_rate(), None);
}

#[test]
fn compliance_ranks_the_lowest_rate_first_and_ties_share_a_rank() {
    let units = vec![
        // 99/100 = 0.99
        UnitChecks {
            uscc: "D",
            checks: checks(100, 1, 0, 0),
        },
        // 198/200 = 0.99, the same rate as D exactly, more checks: listed before D.
        UnitChecks {
            uscc: "C",
            checks: checks(0, 0, 200, 2),
        },
        // 1.0
        UnitChecks {
            uscc: "A",
            checks: checks(50, 0, 0, 0),
        },
        // 27/30 = 0.9: the lowest, rank 1.
        UnitChecks {
            uscc: "E",
            checks: checks(0, 0, 30, 3),
        },
        // No check at all: no data, unranked, last.
        UnitChecks {
            uscc: "B",
            checks: Checks::default(),
        },
        // 1.0 as well, fewer checks than A: after A, sharing its rank.
        UnitChecks {
            uscc: "F",
            checks: checks(10, 0, 0, 0),
        },
    ];
    let ranked = rank_by_compliance(units);
    let got: Vec<(Option<usize>, &str)> = ranked.iter().map(|r| (r.rank, r.item.uscc)).collect();
    assert_eq!(
        got,
        [
            (Some(1), "E"),
            (Some(2), "C"),
            (Some(2), "D"),
            (Some(4), "A"),
            (Some(4), "F"),
            (None, "B"),
        ]
    );
}

#[test]
fn equal_rates_in_other_terms_are_ties_without_floating_point_error() {
    // 1/3 over: (3 − 1)/3 and (300 − 100)/300 are the same fraction.
    let a = UnitChecks {
        uscc: "X",
        checks: checks(3, 1, 0, 0),
    };
    let b = UnitChecks {
        uscc: "Y",
        checks: checks(0, 0, 300, 100),
    };
    let ranked = rank_by_compliance(vec![a, b]);
    assert_eq!(ranked[0].item.uscc, "Y");
    assert_eq!(ranked[0].rank, Some(1));
    assert_eq!(ranked[1].rank, Some(1));
}

#[test]
fn mass_ranks_the_largest_first_and_units_without_a_row_are_no_data() {
    let units = vec![
        UnitMass {
            uscc: "B",
            mass_kg: Some(12.5),
        },
        UnitMass {
            uscc: "C",
            mass_kg: None,
        },
        UnitMass {
            uscc: "A",
            mass_kg: Some(12.5),
        },
        UnitMass {
            uscc: "D",
            mass_kg: Some(100.0),
        },
        UnitMass {
            uscc: "E",
            mass_kg: Some(0.0),
        },
    ];
    let got: Vec<(Option<usize>, &str)> = rank_by_mass(units)
        .iter()
        .map(|r| (r.rank, r.item.uscc))
        .collect();
    assert_eq!(
        got,
        [
            (Some(1), "D"),
            (Some(2), "A"),
            (Some(2), "B"),
            (Some(4), "E"),
            (None, "C")
        ]
    );
}

#[test]
fn a_district_against_the_city_adds_the_rows_up() {
    let rows = [
        row("U1", "a21002", "2026", 10.0, 700, 7, 0, 0),
        row("U1", "a21026", "2026", 2.5, 700, 0, 0, 0),
        row("U2", "w01018", "2026", 40.0, 0, 0, 31, 1),
        row("U3", "a21002", "2026", 30.0, 100, 2, 0, 0),
    ];
    let district = AreaFigures::of(rows.iter().take(3));
    let city = AreaFigures::of(rows.iter());
    assert_eq!(district.monitored, 2);
    assert_eq!(city.monitored, 3);
    // District: 1,400 + 31 checks, 8 over; city adds 100 checks, 2 over.
    assert_eq!(district.checks, checks(1400, 7, 31, 1));
    assert_eq!(district.checks.rate(), Some(1423.0 / 1431.0));
    assert_eq!(city.checks.rate(), Some(1521.0 / 1531.0));
    // 8 exceedances over 2 units; 10 over 3.
    assert_eq!(district.exceedances_per_unit(), Some(4.0));
    assert_eq!(city.exceedances_per_unit(), Some(10.0 / 3.0));
    // NOx: 10 of the city's 40 kg is the district's, a quarter.
    assert_eq!(district.mass_kg["a21002"], 10.0);
    assert_eq!(city.mass_kg["a21002"], 40.0);
    assert_eq!(
        share(district.mass_kg["a21002"], city.mass_kg["a21002"]),
        Some(0.25)
    );
    assert_eq!(share(8.0, 10.0), Some(0.8));
    assert_eq!(share(1.0, 0.0), None);
    assert_eq!(AreaFigures::of([].iter()).exceedances_per_unit(), None);
}

#[test]
fn year_on_year_with_and_without_last_year() {
    let both = YearOnYear {
        this: Some(12.0),
        last: Some(8.0),
    };
    assert_eq!(both.change(), Some(4.0));
    assert_eq!(both.relative(), Some(0.5));
    let none_last_year = YearOnYear {
        this: Some(12.0),
        last: None,
    };
    assert_eq!(none_last_year.change(), None);
    assert_eq!(none_last_year.relative(), None);
    let zero_last_year = YearOnYear {
        this: Some(3.0),
        last: Some(0.0),
    };
    assert_eq!(zero_last_year.change(), Some(3.0));
    assert_eq!(zero_last_year.relative(), None);
}
