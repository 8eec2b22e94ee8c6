//! The charts of a unit page: for each outlet and pollutant with daily online-monitoring
//! values, its daily means against the limit over the whole period the site shows, with the
//! valid hours of each day; and the unit's monthly masses emitted. Each chart is an SVG and
//! the CSV of exactly the rows it draws (written once for both languages, beside the page),
//! with a text summary in each language.
//!
//! The daily values are the unit's month files of `cems-daily` (what its page offers for
//! download), read through [`crate::inputs::MonthFiles`] for one unit at a time and dropped
//! once its charts are drawn; the monthly masses are its monthly rows of `emission-totals`.

use crate::downloads::UnitRows;
use crate::error::SiteError;
use crate::format;
use crate::inputs::MonthDownload;
use crate::output::Output;
use crate::pages::shared::Site;
use crate::registry::Unit;
use crate::rows::{CEMS_DAILY, EmissionTotal};
use crate::unit_chart::{self, DailyChart, MassPanel};
use crate::unit_series::{self, LimitStep, Period, Series, Stats};
use crate::urls::{self, Slug};
use chrono::{Datelike, NaiveDate};
use envgov_dataset::Lang;
use serde::Serialize;

/// Exceedance days listed one by one in a chart's summary (the rest are counted; the CSV and
/// the exceedance register hold them all).
const LISTED_EXCEEDANCES: usize = 10;

/// One drawn daily chart, before it is put into words.
pub struct Daily {
    outlet: String,
    pollutant: String,
    slug: Slug,
    unit: String,
    period: Period,
    stats: Stats,
    steps: Vec<LimitStep>,
    lower: Option<f64>,
    /// (date, daily mean, limit) of each day over the limit.
    exceeded: Vec<(NaiveDate, f64, f64)>,
}

/// A unit's drawn charts (their files written), for [`views`].
pub struct Drawn {
    daily: Vec<Daily>,
    mass: Option<Mass>,
}

/// The drawn monthly masses: (pollutant, months with kg) and the months covered.
struct Mass {
    pollutants: Vec<(String, Vec<(String, f64)>)>,
}

/// The period the daily charts cover: from the first day of the earliest month any unit has
/// a file of `cems-daily` for (at most [`unit_series::MONTHS_SHOWN`] calendar months), to
/// the data date (`None` when there is none).
pub fn period(site: &Site<'_>) -> Option<Period> {
    let earliest = (site.inputs.unit_months.get(CEMS_DAILY))?
        .values()
        .flatten()
        .map(|m| m.month.as_str())
        .min()?;
    Period::up_to(format::parse_month(earliest)?, site.data_date)
}

/// Reads the unit's daily values, draws its charts and writes their files.
pub fn draw(
    site: &Site<'_>,
    downloads: &UnitRows<'_>,
    out: &mut Output,
    u: &Unit<'_>,
    period: Option<Period>,
) -> Result<Drawn, SiteError> {
    let mut daily = Vec::new();
    if let (Some(period), Some(files)) = (period, site.month_files) {
        // Only the unit's files of the months the period covers are read.
        let months: Vec<MonthDownload> = (downloads.months(CEMS_DAILY, u.uscc.as_str()))
            .into_iter()
            .flatten()
            .filter(|m| period.has_month(&m.month))
            .cloned()
            .collect();
        let months = months.as_slice();
        let read_error = |source| SiteError::MonthRead {
            dataset: CEMS_DAILY.to_string(),
            uscc: u.uscc.to_string(),
            source,
        };
        let bytes = files
            .read(CEMS_DAILY, u.uscc.as_str(), months)
            .map_err(read_error)?;
        let named: Vec<(String, Vec<u8>)> =
            months.iter().map(|m| m.month.clone()).zip(bytes).collect();
        for series in unit_series::read(CEMS_DAILY, u.uscc.as_str(), &named)? {
            daily.push(draw_daily(site, out, u, period, &series)?);
        }
    }
    let mass = draw_mass(site, out, u)?;
    Ok(Drawn { daily, mass })
}

fn bad_id(field: &'static str, value: &str, reason: String) -> SiteError {
    SiteError::BadId {
        dataset: CEMS_DAILY.to_string(),
        field,
        value: value.to_string(),
        reason,
    }
}

fn draw_daily(
    site: &Site<'_>,
    out: &mut Output,
    u: &Unit<'_>,
    period: Period,
    series: &Series,
) -> Result<Daily, SiteError> {
    let name = format!("{}-{}", series.outlet, series.pollutant);
    let slug = Slug::new(&name).map_err(|e| bad_id("outlet and pollutant", &name, e))?;
    // The standard the rows were judged by (the latest row's), else the register's.
    let standard = (series.days.iter().rev())
        .map(|d| d.standard.as_str())
        .find(|s| !s.is_empty())
        .or_else(|| {
            (u.outlets.iter())
                .find(|o| o.outlet == series.outlet && o.pollutant == series.pollutant)
                .map(|o| o.standard)
        });
    let limit = (standard.and_then(|s| site.curated.standards.get(s)))
        .and_then(|s| s.limit(&series.pollutant, envgov_curated::Period::Daily));
    let steps = unit_series::limit_steps(series, period, |d| {
        limit.map(|l| l.upper_for_month(d.month()))
    });
    let lower = limit.and_then(|l| l.lower).filter(|_| !steps.is_empty());
    let unit = site.pollutant_unit(&series.pollutant);
    let svg = unit_chart::daily_svg(&DailyChart {
        id: format!("{} {name}", u.uscc),
        title: format!(
            "{} {} · {} ({unit})",
            u.uscc, series.outlet, series.pollutant
        ),
        series,
        period,
        unit: &unit,
        limit: &steps,
        lower,
    })?;
    out.add(&urls::unit_chart(&u.uscc, &slug, "svg"), svg.into_bytes())?;
    out.add(
        &urls::unit_chart(&u.uscc, &slug, "csv"),
        unit_series::csv(series),
    )?;
    let stats = unit_series::stats(series, period);
    let exceeded = (stats.exceeded.iter())
        .filter_map(|i| series.days.get(*i))
        .filter_map(|d| Some((d.date, d.mean?, d.limit?)))
        .collect();
    Ok(Daily {
        outlet: series.outlet.clone(),
        pollutant: series.pollutant.clone(),
        slug,
        unit,
        period,
        stats,
        steps,
        lower,
        exceeded,
    })
}

/// The mass of a month as the dataset's CSV writes it (`0`, else the shortest text that
/// reads back as the same number).
fn mass_cell(kg: f64) -> String {
    if kg == 0.0 {
        "0".to_string()
    } else {
        format!("{kg}")
    }
}

/// The unit's monthly masses of the pollutants that have one, from `emission-totals`.
fn draw_mass(site: &Site<'_>, out: &mut Output, u: &Unit<'_>) -> Result<Option<Mass>, SiteError> {
    let has_mass = |code: &str| {
        site.curated
            .pollutants
            .get(code)
            .is_some_and(|p| p.has_mass())
    };
    let mut rows: Vec<&EmissionTotal<'_>> = (u.emission_totals.iter().copied())
        .filter(|t| t.period_type == "month" && has_mass(t.pollutant))
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    rows.sort_by(|a, b| (a.pollutant, a.period).cmp(&(b.pollutant, b.period)));
    let mut pollutants: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    let mut csv = String::from("\u{feff}uscc,pollutant,period,mass_kg\r\n");
    for t in &rows {
        csv.push_str(&format!(
            "{},{},{},{}\r\n",
            t.uscc,
            t.pollutant,
            t.period,
            mass_cell(t.mass_kg)
        ));
        match pollutants.last_mut() {
            Some((p, months)) if p == t.pollutant => months.push((t.period.to_string(), t.mass_kg)),
            _ => pollutants.push((
                t.pollutant.to_string(),
                vec![(t.period.to_string(), t.mass_kg)],
            )),
        }
    }
    let panels: Vec<MassPanel> = (pollutants.iter())
        .map(|(p, months)| MassPanel {
            caption: format!(
                "{} {} ({p}, kg)",
                site.pollutant_name(Lang::Zh, p),
                site.pollutant_name(Lang::En, p)
            ),
            months: months.clone(),
        })
        .collect();
    let slug = mass_slug();
    let svg = unit_chart::monthly_svg(&format!("{} mass", u.uscc), u.uscc.as_str(), &panels)?;
    out.add(&urls::unit_chart(&u.uscc, &slug, "svg"), svg.into_bytes())?;
    out.add(&urls::unit_chart(&u.uscc, &slug, "csv"), csv.into_bytes())?;
    Ok(Some(Mass { pollutants }))
}

fn mass_slug() -> Slug {
    Slug::new("monthly-mass").expect("an ASCII slug")
}

/// A daily chart as a page shows it.
#[derive(Serialize)]
pub struct DailyView {
    /// The figure's HTML id.
    id: String,
    heading: String,
    svg_href: String,
    csv_href: String,
    width: u32,
    height: u32,
    alt: String,
    /// The text summary: period, lowest, highest and mean, the limit, valid hours, days
    /// over the limit.
    summary: String,
    /// "exceeded on 2026-01-14 (52.3 > 50 mg/m3)", one a day over the limit (the first
    /// [`LISTED_EXCEEDANCES`]), and how many more.
    exceeded: Vec<String>,
    exceeded_more: Option<String>,
}

/// The monthly masses chart as a page shows it.
#[derive(Serialize)]
pub struct MassView {
    svg_href: String,
    csv_href: String,
    width: u32,
    height: u32,
    alt: String,
    summary: Vec<String>,
}

/// The charts of a unit page in one language.
#[derive(Serialize)]
pub struct ChartsView {
    daily: Vec<DailyView>,
    mass: Option<MassView>,
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The limit in words: one value, a range (pH), or each value with its days.
fn limit_text(site: &Site<'_>, lang: Lang, c: &Daily) -> Result<String, SiteError> {
    let m = |v: f64| format::measurement(lang, v);
    if c.steps.is_empty() {
        return site.t(lang, "unit_charts.no_limit");
    }
    let mut values: Vec<String> = Vec::new();
    for s in &c.steps {
        let value = match c.lower {
            Some(lower) => format!("{}–{}", m(lower), m(s.value)),
            None => m(s.value),
        };
        values.push(site.tf(
            lang,
            "unit_charts.limit_from_to",
            &[
                ("value", &value),
                ("unit", &c.unit),
                ("from", &iso(c.period.day(s.from))),
                ("to", &iso(c.period.day(s.to))),
            ],
        )?);
    }
    let key = if c.lower.is_some() {
        "unit_charts.limit_range"
    } else {
        "unit_charts.limit"
    };
    site.tf(
        lang,
        key,
        &[(
            "values",
            &values.join(&site.t(lang, "common.list_separator")?),
        )],
    )
}

fn daily_view(
    site: &Site<'_>,
    lang: Lang,
    uscc: &urls::Uscc,
    c: &Daily,
) -> Result<DailyView, SiteError> {
    let name = site.pollutant_name(lang, &c.pollutant);
    let (first, last) = (iso(c.period.first), iso(c.period.last));
    let n = |v: usize| format::integer(lang, v as i64);
    let m = |v: f64| format::measurement(lang, v);
    let s = &c.stats;
    let mut summary = vec![site.tf(
        lang,
        "unit_charts.period",
        &[
            ("from", &first),
            ("to", &last),
            ("days", &n(c.period.days())),
            ("rows", &n(s.days_with_rows)),
            ("means", &n(s.days_with_mean)),
        ],
    )?];
    if let (Some((min_day, min)), Some((max_day, max))) = (s.min, s.max) {
        summary.push(site.tf(
            lang,
            "unit_charts.range",
            &[
                ("min", &m(min)),
                ("min_day", &iso(min_day)),
                ("max", &m(max)),
                ("max_day", &iso(max_day)),
                ("unit", &c.unit),
            ],
        )?);
    }
    if let Some(mean) = s.mean {
        summary.push(site.tf(
            lang,
            "unit_charts.mean",
            &[("mean", &m(mean)), ("unit", &c.unit)],
        )?);
    }
    summary.push(limit_text(site, lang, c)?);
    summary.push(site.tf(
        lang,
        "unit_charts.coverage",
        &[
            ("valid", &n(s.valid_hours as usize)),
            ("hours", &n(24 * c.period.days())),
            ("share", &format::percent(lang, s.coverage)),
        ],
    )?);
    summary.push(match (c.steps.is_empty(), c.exceeded.len()) {
        (true, _) => site.t(lang, "unit_charts.not_judged")?,
        (false, 0) => site.t(lang, "unit_charts.never_exceeded")?,
        (false, k) => site.tf(lang, "unit_charts.exceeded_days", &[("n", &n(k))])?,
    });
    let mut exceeded = Vec::new();
    for (day, mean, limit) in c.exceeded.iter().take(LISTED_EXCEEDANCES) {
        exceeded.push(site.tf(
            lang,
            "unit_charts.exceeded_on",
            &[
                ("date", &iso(*day)),
                ("mean", &m(*mean)),
                ("limit", &m(*limit)),
                ("unit", &c.unit),
            ],
        )?);
    }
    let more = c.exceeded.len().saturating_sub(LISTED_EXCEEDANCES);
    Ok(DailyView {
        id: format!("chart-{}", c.slug),
        heading: site.tf(
            lang,
            "unit_charts.heading",
            &[
                ("outlet", &c.outlet),
                ("pollutant", &name),
                ("unit", &c.unit),
            ],
        )?,
        svg_href: urls::unit_chart(uscc, &c.slug, "svg"),
        csv_href: urls::unit_chart(uscc, &c.slug, "csv"),
        width: unit_chart::WIDTH,
        height: unit_chart::DAILY_HEIGHT,
        alt: site.tf(
            lang,
            "unit_charts.alt",
            &[
                ("outlet", &c.outlet),
                ("pollutant", &name),
                ("from", &first),
                ("to", &last),
            ],
        )?,
        // Chinese sentences follow each other without a space.
        summary: summary.join(match lang {
            Lang::Zh => "",
            Lang::En => " ",
        }),
        exceeded,
        exceeded_more: (more > 0)
            .then(|| site.tf(lang, "unit_charts.exceeded_more", &[("n", &n(more))]))
            .transpose()?,
    })
}

fn mass_view(
    site: &Site<'_>,
    lang: Lang,
    uscc: &urls::Uscc,
    mass: &Mass,
) -> Result<MassView, SiteError> {
    let mut summary = Vec::new();
    for (p, months) in &mass.pollutants {
        let total: f64 = months.iter().map(|m| m.1).sum();
        let top = months.iter().reduce(|a, b| if b.1 > a.1 { b } else { a });
        let (top_month, top_kg) = top.map_or(("", 0.0), |(m, kg)| (m.as_str(), *kg));
        summary.push(site.tf(
            lang,
            "unit_charts.mass_line",
            &[
                ("pollutant", &site.pollutant_name(lang, p)),
                ("from", months.first().map_or("", |m| m.0.as_str())),
                ("to", months.last().map_or("", |m| m.0.as_str())),
                ("total", &format::decimal(lang, total, 1)),
                ("month", top_month),
                ("kg", &format::decimal(lang, top_kg, 1)),
            ],
        )?);
    }
    let slug = mass_slug();
    Ok(MassView {
        svg_href: urls::unit_chart(uscc, &slug, "svg"),
        csv_href: urls::unit_chart(uscc, &slug, "csv"),
        width: unit_chart::WIDTH,
        height: unit_chart::mass_height(mass.pollutants.len()),
        alt: site.t(lang, "unit_charts.mass_alt")?,
        summary,
    })
}

/// The unit's charts in words, in `lang`.
pub fn views(
    site: &Site<'_>,
    lang: Lang,
    uscc: &urls::Uscc,
    drawn: &Drawn,
) -> Result<ChartsView, SiteError> {
    Ok(ChartsView {
        daily: (drawn.daily.iter())
            .map(|c| daily_view(site, lang, uscc, c))
            .collect::<Result<_, _>>()?,
        mass: drawn
            .mass
            .as_ref()
            .map(|m| mass_view(site, lang, uscc, m))
            .transpose()?,
    })
}
