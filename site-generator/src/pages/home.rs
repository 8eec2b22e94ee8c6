//! The home page of each language: headline indicators, what the latest run changed, how
//! fresh each source is, and the way into every section.

use super::open_days::{OpenDayItem, open_day_item};
use super::shared::{ExceedanceView, IndicatorView, Link, Site};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::registry::sort_exceedances;
use crate::urls::{self, Route};
use envgov_dataset::Lang;
use envgov_dataset::layout::parse_raw_key;
use serde::Serialize;

/// The indicators shown on the home page, in order.
pub const HEADLINE_INDICATORS: [&str; 8] = [
    "cems_hourly_compliance_rate",
    "exceedance_count",
    "permit_coverage",
    "self_monitoring_completeness",
    "sewage_effluent_compliance_rate",
    "msw_harmless_treatment_rate",
    "vehicle_electrification_share",
    "livestock_manure_utilisation_rate",
];

const LATEST_EXCEEDANCES: usize = 10;
const UPCOMING_OPEN_DAYS: usize = 3;

#[derive(Serialize)]
struct HomePage {
    units: String,
    datasets: String,
    indicators: Vec<IndicatorView>,
    /// Each headline indicator this month against the same month last year.
    year_on_year: Vec<super::figures::YoyView>,
    year_on_year_caption: String,
    districts_href: String,
    plan_href: String,
    exceedances: Vec<ExceedanceView>,
    exceedances_on_data_date: String,
    exceedances_href: String,
    freshness: Option<Freshness>,
    open_days: Vec<OpenDayItem>,
    open_days_href: String,
    sections: Vec<Card>,
}

#[derive(Serialize)]
struct Card {
    link: Link,
    text: String,
}

#[derive(Serialize)]
struct Freshness {
    run_date: String,
    validated: String,
    reject_rate: String,
    reject_rate_limit: String,
    sources: Vec<SourceFreshness>,
}

#[derive(Serialize)]
struct SourceFreshness {
    name: String,
    latest_delivery: String,
    files: String,
    read: String,
    accepted: String,
    rejected: String,
    reject_rate: String,
}

fn freshness(site: &Site<'_>, lang: Lang) -> Result<Option<Freshness>, SiteError> {
    let Some(report) = &site.inputs.report else {
        return Ok(None);
    };
    let date_text = |s: &str| -> Result<String, SiteError> {
        format::parse_date(s)
            .map(|d| format::date(lang, d))
            .ok_or_else(|| SiteError::BadDate {
                what: "run report".into(),
                value: s.to_string(),
            })
    };
    let validated = match (report.new_data_dates.first(), report.new_data_dates.last()) {
        (Some(a), Some(b)) if a == b => date_text(a)?,
        (Some(a), Some(b)) => site.tf(
            lang,
            "home.validated_range",
            &[
                ("from", &date_text(a)?),
                ("to", &date_text(b)?),
                (
                    "n",
                    &format::integer(lang, report.new_data_dates.len() as i64),
                ),
            ],
        )?,
        _ => site.t(lang, "home.validated_none")?,
    };
    let mut sources = Vec::new();
    for (id, counts) in &report.sources {
        let latest = counts
            .files
            .iter()
            .filter_map(|f| parse_raw_key(&f.key).ok().map(|(_, date, _)| date))
            .max();
        let rate = if counts.read > 0 {
            counts.rejected as f64 / counts.read as f64
        } else {
            0.0
        };
        sources.push(SourceFreshness {
            name: site.t(lang, &format!("source.{id}"))?,
            latest_delivery: match latest {
                Some(d) => date_text(&d)?,
                None => site.t(lang, "common.no_data")?,
            },
            files: format::integer(lang, counts.files.len() as i64),
            read: format::integer(lang, counts.read as i64),
            accepted: format::integer(lang, counts.accepted as i64),
            rejected: format::integer(lang, counts.rejected as i64),
            reject_rate: format::percent(lang, rate),
        });
    }
    Ok(Some(Freshness {
        run_date: date_text(&report.run_date)?,
        validated,
        reject_rate: format::percent(lang, report.reject_rate),
        reject_rate_limit: format::percent(lang, report.reject_rate_limit),
        sources,
    }))
}

/// Each headline indicator this month against the same month last year, where the
/// indicator has a monthly figure (the others say they have none).
fn year_on_year(
    site: &Site<'_>,
    lang: Lang,
    months: &(super::figures::MonthFigures, super::figures::MonthFigures),
) -> Result<Vec<super::figures::YoyView>, SiteError> {
    use super::figures::{self as f, Kind};
    let (this, last) = months;
    let mut v = Vec::new();
    for id in HEADLINE_INDICATORS {
        let name = site
            .curated
            .plan
            .indicator(id)
            .map_or_else(|| id.to_string(), |d| d.name.get(lang).to_string());
        let (kind, pick): (Kind, fn(&f::MonthFigures) -> Option<f64>) = match id {
            "cems_hourly_compliance_rate" => (Kind::Rate, f::hourly_rate),
            "exceedance_count" => (Kind::Count, |m| m.register.map(|n| n as f64)),
            "sewage_effluent_compliance_rate" => (Kind::Rate, f::sewage_rate),
            "msw_harmless_treatment_rate" => (Kind::Rate, f::msw_rate),
            _ => {
                // Of the year to date only (plan-indicators): against the same period last
                // year, named so.
                if let Some(p) = f::same_period_last_year(site, id)? {
                    let name = site.tf(
                        lang,
                        "comparisons.year_to_date_name",
                        &[
                            ("name", &name),
                            ("date", &format::date(lang, site.data_date)),
                        ],
                    )?;
                    let no_data = site.t(lang, "comparisons.no_data_same_period")?;
                    v.push(f::yoy_view_with(site, lang, name, p.kind, p.yoy, no_data)?);
                    continue;
                }
                v.push(f::YoyView {
                    name,
                    this: site.t(lang, "comparisons.not_monthly")?,
                    last: String::new(),
                    change: String::new(),
                    no_data_last_year: false,
                });
                continue;
            }
        };
        let yoy = crate::comparison::YearOnYear {
            this: pick(this),
            last: pick(last),
        };
        v.push(f::yoy_view(site, lang, name, kind, yoy)?);
    }
    Ok(v)
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let months = super::figures::city_months(site)?;
    let this_month = format::parse_month(&super::figures::this_month(site));
    // The latest exceedances in force (a withdrawn one stays in the register, marked).
    let mut latest: Vec<_> = site
        .rows
        .exceedances
        .iter()
        .filter(|r| !r.withdrawn())
        .collect();
    sort_exceedances(&mut latest);
    let data_date = site.data_date.format("%Y-%m-%d").to_string();
    let on_data_date = latest.iter().filter(|r| r.date == data_date).count();
    latest.truncate(LATEST_EXCEEDANCES);
    let upcoming = site
        .curated
        .open_days
        .upcoming(&data_date)
        .map_err(|e| SiteError::BadDate {
            what: "data date".into(),
            value: e.0,
        })?;

    for lang in Lang::ALL {
        let mut indicators = Vec::new();
        for id in HEADLINE_INDICATORS {
            indicators.push(site.indicator_view(lang, id)?);
        }
        let mut sections = Vec::new();
        for (route, title, text) in [
            (
                Route::Enterprises,
                "nav.enterprises",
                "home.card_enterprises",
            ),
            (Route::Map, "map.nav", "map.card"),
            (
                Route::Exceedances,
                "nav.exceedances",
                "home.card_exceedances",
            ),
            (Route::OpenDays, "nav.open_days", "home.card_open_days"),
            (Route::Plan, "nav.plan", "home.card_plan"),
            (Route::Sectors, "nav.sectors", "home.card_sectors"),
            (Route::Datasets, "nav.datasets", "home.card_datasets"),
        ] {
            sections.push(Card {
                link: site.link(lang, &route, title)?,
                text: site.t(lang, text)?,
            });
        }
        let mut open_days = Vec::new();
        for e in upcoming.iter().take(UPCOMING_OPEN_DAYS) {
            open_days.push(open_day_item(site, lang, e)?);
        }
        let page = HomePage {
            units: format::integer(lang, site.registry.units.len() as i64),
            datasets: format::integer(lang, site.inputs.catalogue.datasets.len() as i64),
            indicators,
            year_on_year: year_on_year(site, lang, &months)?,
            year_on_year_caption: site.tf(
                lang,
                "comparisons.yoy_caption",
                &[
                    (
                        "month",
                        &this_month
                            .map(|d| format::month(lang, d))
                            .unwrap_or_default(),
                    ),
                    ("date", &format::date(lang, site.data_date)),
                ],
            )?,
            districts_href: urls::page(lang, &Route::Districts),
            plan_href: urls::page(lang, &Route::Plan),
            exceedances: site.exceedance_views(lang, &latest)?,
            exceedances_on_data_date: site.tf(
                lang,
                "home.exceedances_on_date",
                &[
                    ("n", &format::integer(lang, on_data_date as i64)),
                    ("date", &format::date(lang, site.data_date)),
                ],
            )?,
            exceedances_href: urls::page(lang, &Route::Exceedances),
            freshness: freshness(site, lang)?,
            open_days,
            open_days_href: urls::page(lang, &Route::OpenDays),
            sections,
        };
        site.render_page(
            out,
            lang,
            &Route::Home,
            "home.html",
            site.t(lang, "home.title")?,
            site.t(lang, "home.description")?,
            Vec::new(),
            &page,
        )?;
    }
    Ok(())
}
