//! What the comparison pages (industries, districts, the home page's year-on-year) share:
//! the rows of `emission-totals` a period is made of, this month and the same month last
//! year, the CSV beside a ranking, and figures formatted for people.
//!
//! Stage: rendering. The numbers come from [`crate::comparison`]; this module picks the rows
//! and formats the results.

use super::shared::Site;
use crate::comparison::{AreaFigures, Checks, YearOnYear};
use crate::error::SiteError;
use crate::format;
use crate::rows::{self, EmissionTotal, MswTreatment, RawRow, SewageCompliance};
use envgov_dataset::Lang;
use serde::{Deserialize, Serialize};

/// The data year (`2026`): the figures of a ranking or a district are the year to the data
/// date, the rows of `emission-totals` whose `period_type` is `year` and `period` this.
pub fn year(site: &Site<'_>) -> String {
    site.data_date.format("%Y").to_string()
}

/// The data date's month (`2026-01`): "this month" of a year-on-year comparison.
pub fn this_month(site: &Site<'_>) -> String {
    site.data_date.format("%Y-%m").to_string()
}

/// The rows of `emission-totals` of one period (`2026` or `2026-01`).
pub fn period_rows<'r, 'a>(
    site: &'r Site<'a>,
    period: &'r str,
) -> impl Iterator<Item = &'r EmissionTotal<'a>> + 'r {
    site.rows
        .emission_totals
        .iter()
        .filter(move |r| r.period == period && r.period_type == period_type(period))
}

fn period_type(period: &str) -> &'static str {
    if period.len() == 4 { "year" } else { "month" }
}

/// Whether a pollutant has a mass emitted (a concentration, so that concentration × flow is
/// a mass; `envgov_curated::Pollutant::has_mass`): pH, temperature, oxygen and flow do not.
pub fn has_mass(site: &Site<'_>, pollutant: &str) -> bool {
    site.curated
        .pollutants
        .get(pollutant)
        .is_some_and(|p| p.has_mass())
}

/// A month's figures of an area: its `emission-totals` rows of the month, and for the city
/// the register and the waste datasets' rows of the month.
#[derive(Debug, Clone, Default)]
pub struct MonthFigures {
    pub area: AreaFigures,
    /// The rows carried `hours_checked` and `days_checked` (archives written before those
    /// columns existed did not: their compliance rates are unknown).
    pub checks_known: bool,
    /// Rows of the exceedance register dated in the month (the indicator
    /// `exceedance_count` counts every row of the register).
    pub register: Option<u64>,
    pub sewage: Option<Checks>,
    /// Harmless treatment, received (t).
    pub msw: Option<(f64, f64)>,
}

/// An `emission-totals` row of an archive, whatever columns it had then.
#[derive(Deserialize)]
struct ArchivedTotal<'a> {
    uscc: &'a str,
    district: &'a str,
    industry_code: &'a str,
    pollutant: &'a str,
    period: &'a str,
    period_type: &'a str,
    mass_kg: f64,
    valid_hours: u64,
    days_with_data: u64,
    hourly_exceedances: u64,
    daily_exceedances: u64,
    hours_checked: Option<u64>,
    days_checked: Option<u64>,
}

/// Last year's `emission-totals` rows of the month (`None`: no archive of last year), and
/// whether they carried the checks.
pub fn year_ago_totals<'a>(
    site: &Site<'a>,
) -> Result<Option<(Vec<EmissionTotal<'a>>, bool)>, SiteError> {
    let Some(t) = site.inputs.year_ago.tables.get(rows::EMISSION_TOTALS) else {
        return Ok(None);
    };
    let mut known = true;
    let mut out = Vec::with_capacity(t.rows.len());
    for (i, row) in t.rows.iter().enumerate() {
        let r = archived::<ArchivedTotal<'a>>(row, rows::EMISSION_TOTALS, i)?;
        known &= r.hours_checked.is_some() && r.days_checked.is_some();
        out.push(EmissionTotal {
            uscc: r.uscc,
            district: r.district,
            industry_code: r.industry_code,
            pollutant: r.pollutant,
            period: r.period,
            period_type: r.period_type,
            mass_kg: r.mass_kg,
            valid_hours: r.valid_hours,
            days_with_data: r.days_with_data,
            hourly_exceedances: r.hourly_exceedances,
            daily_exceedances: r.daily_exceedances,
            hours_checked: r.hours_checked.unwrap_or(0),
            days_checked: r.days_checked.unwrap_or(0),
            mean_concentration: None,
        });
    }
    let known = known && !out.is_empty();
    Ok(Some((out, known)))
}

fn archived<'a, T: Deserialize<'a>>(
    row: &'a RawRow,
    dataset: &str,
    i: usize,
) -> Result<T, SiteError> {
    T::deserialize(row).map_err(|e| SiteError::Row {
        dataset: format!("{dataset} (archive of last year)"),
        row: i + 1,
        message: e.to_string(),
    })
}

fn year_ago_rows<'a, T: Deserialize<'a>>(
    site: &Site<'a>,
    dataset: &str,
) -> Result<Option<Vec<T>>, SiteError> {
    let Some(t) = site.inputs.year_ago.tables.get(dataset) else {
        return Ok(None);
    };
    let rows = t.rows.iter().enumerate();
    rows.map(|(i, r)| archived(r, dataset, i))
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
}

fn sewage_checks<'x>(rows: impl Iterator<Item = &'x SewageCompliance<'x>>) -> Option<Checks> {
    let mut c = Checks::default();
    let mut any = false;
    for r in rows {
        any = true;
        c.days_checked += r.checks;
        c.daily_exceedances += r.exceedances;
    }
    any.then_some(c)
}

fn msw_sums<'x>(rows: impl Iterator<Item = &'x MswTreatment<'x>>) -> Option<(f64, f64)> {
    let mut sums: Option<(f64, f64)> = None;
    for r in rows {
        let s = sums.get_or_insert((0.0, 0.0));
        s.0 += r.harmless_t;
        s.1 += r.received_t;
    }
    sums
}

fn in_month(value: &str, month: &str) -> bool {
    value == month
        || value
            .strip_prefix(month)
            .is_some_and(|r| r.starts_with('-'))
}

/// The city's figures this month, and in the same month last year (`None` for a dataset
/// without last year's rows).
pub fn city_months(site: &Site<'_>) -> Result<(MonthFigures, MonthFigures), SiteError> {
    let month = this_month(site);
    let r = site.rows;
    let this_rows: Vec<&EmissionTotal<'_>> = period_rows(site, &month).collect();
    let this = MonthFigures {
        checks_known: !this_rows.is_empty(),
        area: AreaFigures::of(this_rows),
        register: Some(
            r.exceedances
                .iter()
                .filter(|x| in_month(x.date, &month))
                .count() as u64,
        ),
        sewage: sewage_checks(r.sewage.iter().filter(|x| x.month == month)),
        msw: msw_sums(r.msw.iter().filter(|x| x.month == month)),
    };
    let mut last = MonthFigures::default();
    if let Some((rows, known)) = year_ago_totals(site)? {
        last.area = AreaFigures::of(rows.iter());
        last.checks_known = known;
    }
    // Last year's register counts only where last year's month has online-monitoring rows
    // (an archive from later in the year would otherwise give an invented zero).
    last.register = (site.inputs.year_ago.tables.get(rows::EXCEEDANCES))
        .filter(|_| last.area.monitored > 0)
        .map(|t| t.rows.len() as u64);
    last.sewage = year_ago_rows::<SewageCompliance<'_>>(site, rows::SEWAGE_COMPLIANCE)?
        .and_then(|rows| sewage_checks(rows.iter()));
    last.msw = year_ago_rows::<MswTreatment<'_>>(site, rows::MSW_TREATMENT)?
        .and_then(|rows| msw_sums(rows.iter()));
    Ok((this, last))
}

/// How a figure is shown and how its change is put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A ratio, shown as a percentage; its change in percentage points.
    Rate,
    /// A count; its change as a number and relative to last year.
    Count,
    /// A mass in kg (one decimal); its change as a mass and relative to last year.
    Mass,
    /// A count that need not be whole (exceedances per unit), two decimals.
    Average,
}

/// A figure formatted in a language.
pub fn value(lang: Lang, kind: Kind, v: f64) -> String {
    match kind {
        Kind::Rate => format::percent(lang, v),
        Kind::Count => format::count(lang, v),
        Kind::Mass => format::decimal(lang, v, 1),
        Kind::Average => format::decimal(lang, v, 2),
    }
}

/// One line of a year-on-year table, formatted.
#[derive(Debug, Serialize)]
pub struct YoyView {
    pub name: String,
    pub this: String,
    pub last: String,
    pub change: String,
    /// Last year had no data for the month: `last` says so and `change` is empty.
    pub no_data_last_year: bool,
}

/// Formats a year-on-year figure: "no data for {month} last year" where last year has
/// none, never a zero.
pub fn yoy_view(
    site: &Site<'_>,
    lang: Lang,
    name: String,
    kind: Kind,
    yoy: YearOnYear,
) -> Result<YoyView, SiteError> {
    let last_month = format::parse_month(&this_month(site))
        .map(|d| month_name(lang, d))
        .unwrap_or_default();
    let no_data_last = site.tf(
        lang,
        "comparisons.no_data_last_year",
        &[("month", &last_month)],
    )?;
    yoy_view_with(site, lang, name, kind, yoy, no_data_last)
}

/// [`yoy_view`] with what to say where last year has no data.
pub fn yoy_view_with(
    site: &Site<'_>,
    lang: Lang,
    name: String,
    kind: Kind,
    yoy: YearOnYear,
    no_data_last: String,
) -> Result<YoyView, SiteError> {
    let no_data = site.t(lang, "common.no_data")?;
    let last = match yoy.last {
        Some(v) => value(lang, kind, v),
        None => no_data_last,
    };
    Ok(YoyView {
        name,
        this: yoy.this.map_or(no_data, |v| value(lang, kind, v)),
        last,
        change: change_text(site, lang, kind, yoy)?,
        no_data_last_year: yoy.last.is_none(),
    })
}

/// A year-on-year change as the tables put it: percentage points for a rate, else the
/// difference and its share of last year's value (`+4 (+200.0%)`); empty without both.
pub fn change_text(
    site: &Site<'_>,
    lang: Lang,
    kind: Kind,
    yoy: YearOnYear,
) -> Result<String, SiteError> {
    Ok(match (yoy.change(), kind) {
        (None, _) => String::new(),
        (Some(c), Kind::Rate) => site.tf(
            lang,
            "comparisons.change_points",
            &[("n", &signed(lang, c * 100.0, 2))],
        )?,
        (Some(c), _) => {
            let abs = match kind {
                Kind::Count => signed(lang, c, 0),
                Kind::Mass => signed(lang, c, 1),
                _ => signed(lang, c, 2),
            };
            match yoy.relative() {
                Some(r) => site.tf(
                    lang,
                    "comparisons.change_relative",
                    &[("n", &abs), ("pct", &signed(lang, r * 100.0, 1))],
                )?,
                None => abs,
            }
        }
    })
}

/// A plan indicator's published value (of the year to the data date) against the value
/// `plan-indicators` published for the year to the same day last year.
#[derive(Debug, Clone, Copy)]
pub struct SamePeriod {
    pub kind: Kind,
    pub yoy: YearOnYear,
    /// The year to this day last year: 1 January to `to`.
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
}

/// [`SamePeriod`] of indicator `id`: `None` without a value this year, or on 29 February
/// (last year has no such day). A rate is a [`Kind::Rate`], tonnes a [`Kind::Mass`], else
/// a [`Kind::Count`].
pub fn same_period_last_year(site: &Site<'_>, id: &str) -> Result<Option<SamePeriod>, SiteError> {
    use chrono::Datelike;
    let Some(row) = site.indicator_value(id) else {
        return Ok(None);
    };
    let Some(this) = row.value else {
        return Ok(None);
    };
    let data_date = site.data_date.format("%Y-%m-%d").to_string();
    let Some((day, period)) = crate::inputs::year_to_date_a_year_before(&data_date) else {
        return Ok(None);
    };
    let Some(to) = format::parse_date(&day) else {
        return Ok(None);
    };
    let kind = match row.unit {
        "ratio" => Kind::Rate,
        "t" => Kind::Mass,
        _ => Kind::Count,
    };
    Ok(Some(SamePeriod {
        kind,
        yoy: YearOnYear {
            this: Some(this),
            last: year_ago_indicator(site, id, &period)?,
        },
        from: to.with_ordinal(1).unwrap_or(to),
        to,
    }))
}

/// A `plan-indicators` row of last year's archive, whatever columns it had then.
#[derive(Deserialize)]
struct ArchivedIndicator<'a> {
    indicator: &'a str,
    period: &'a str,
    value: Option<f64>,
}

/// The value `plan-indicators` published for indicator `id` over the year to the same day
/// last year (`period`, from [`crate::inputs::year_to_date_a_year_before`]), read from that day's
/// archive; `None` where there is no archive of that day, no row of that period, or no
/// value (never a zero in its place).
pub fn year_ago_indicator(
    site: &Site<'_>,
    id: &str,
    period: &str,
) -> Result<Option<f64>, SiteError> {
    let Some(t) = site.inputs.year_ago.tables.get(rows::PLAN_INDICATORS) else {
        return Ok(None);
    };
    for (i, row) in t.rows.iter().enumerate() {
        let r = archived::<ArchivedIndicator<'_>>(row, rows::PLAN_INDICATORS, i)?;
        if r.indicator == id && r.period == period {
            return Ok(r.value);
        }
    }
    Ok(None)
}

/// The name of a date's month without its year (`January`, `1月`).
fn month_name(lang: Lang, d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    match lang {
        Lang::Zh => format!("{}月", d.month()),
        Lang::En => d.format("%B").to_string(),
    }
}

/// A change with its sign (`+1.5`, `−2`, `0`).
fn signed(lang: Lang, v: f64, decimals: usize) -> String {
    let s = format::decimal(lang, v, decimals);
    if v > 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("+{s}")
    } else {
        s
    }
}

/// The year-on-year lines of an area's online monitoring: units monitored, exceedances,
/// compliance rate, then the mass of each pollutant with a mass (of either year).
pub fn area_yoy(
    site: &Site<'_>,
    lang: Lang,
    this: &MonthFigures,
    last: Option<&MonthFigures>,
) -> Result<Vec<YoyView>, SiteError> {
    let has = |m: &MonthFigures| m.area.monitored > 0;
    let pick = |f: &dyn Fn(&MonthFigures) -> Option<f64>| YearOnYear {
        this: Some(this).filter(|m| has(m)).and_then(f),
        last: last.filter(|m| has(m)).and_then(f),
    };
    let mut v = vec![
        yoy_view(
            site,
            lang,
            site.t(lang, "comparisons.monitored")?,
            Kind::Count,
            pick(&|m| Some(m.area.monitored as f64)),
        )?,
        yoy_view(
            site,
            lang,
            site.t(lang, "comparisons.exceedances")?,
            Kind::Count,
            pick(&|m| Some(m.area.checks.exceedances() as f64)),
        )?,
        yoy_view(
            site,
            lang,
            site.t(lang, "comparisons.compliance_rate")?,
            Kind::Rate,
            pick(&|m| m.checks_known.then(|| m.area.checks.rate()).flatten()),
        )?,
    ];
    let mut pollutants: Vec<&String> = this.area.mass_kg.keys().collect();
    if let Some(l) = last {
        pollutants.extend(l.area.mass_kg.keys());
    }
    pollutants.sort();
    pollutants.dedup();
    for p in pollutants.into_iter().filter(|p| has_mass(site, p)) {
        v.push(yoy_view(
            site,
            lang,
            mass_name(site, lang, p)?,
            Kind::Mass,
            // A pollutant without a row in a month has no data then (never a zero).
            pick(&|m| m.area.mass_kg.get(p).copied()),
        )?);
    }
    Ok(v)
}

/// "Mass emitted, nitrogen oxides (kg)".
pub fn mass_name(site: &Site<'_>, lang: Lang, pollutant: &str) -> Result<String, SiteError> {
    site.tf(
        lang,
        "comparisons.mass_of",
        &[("pollutant", &site.pollutant_name(lang, pollutant))],
    )
}

/// The hourly compliance rate of the city's month (the plan indicator's formula).
pub fn hourly_rate(m: &MonthFigures) -> Option<f64> {
    if !m.checks_known {
        return None;
    }
    m.area.checks.hourly_rate()
}

/// The sewage plants' compliance rate of a month: (checks − exceedances) / checks.
pub fn sewage_rate(m: &MonthFigures) -> Option<f64> {
    m.sewage.and_then(|c| c.daily_rate())
}

/// The harmless treatment rate of a month: harmless / received.
pub fn msw_rate(m: &MonthFigures) -> Option<f64> {
    m.msw.and_then(|(h, r)| crate::comparison::share(h, r))
}

/// A CSV of `header` and `rows`: UTF-8 with a byte-order mark, CRLF, fields quoted where
/// needed; a text cell that a spreadsheet would take for a formula is prefixed with `'`.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let cell = |s: &str| -> String {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::from("\u{feff}");
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let v: Vec<String> = cells.map(cell).collect();
        v.join(",") + "\r\n"
    };
    out.push_str(&line(&mut header.iter().copied()));
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    out.into_bytes()
}

/// A rate as the CSV has it: 6 decimals, empty without one.
pub fn csv_rate(r: Option<f64>) -> String {
    r.map_or_else(String::new, |r| format!("{r:.6}"))
}

#[cfg(test)]
mod tests {
    use super::csv;

    #[test]
    fn a_ranking_csv_quotes_and_neutralises_formulas_but_keeps_numbers() {
        let rows = vec![
            vec!["=HYPERLINK(\"x\")".to_string(), "-0.5".to_string()],
            vec!["a, \"b\"".to_string(), "@x".to_string()],
        ];
        let got = String::from_utf8(csv(&["name", "value"], &rows)).unwrap();
        // Written by hand: BOM, CRLF, a formula prefixed with ' then quoted for its quotes,
        // a negative number as it is, a comma and quotes quoted, @ prefixed.
        assert_eq!(
            got,
            "\u{feff}name,value\r\n\"'=HYPERLINK(\"\"x\"\")\",-0.5\r\n\"a, \"\"b\"\"\",'@x\r\n"
        );
    }
}
