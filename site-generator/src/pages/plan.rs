//! Plan progress: the 2021 plan's nine systems, its measures (一)…(十一) with responsible
//! bodies, milestones and status, and the indicators that show progress, with their current
//! values from the `plan-indicators` dataset. Illustrative statuses and milestones are
//! labelled as such.

use super::figures::{self, Kind};
use super::shared::{IndicatorView, IndicatorYearAgo, Link, Site};
use crate::charts::{self, BarChart, ChartView};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::urls::{self, Route, Slug};
use envgov_curated::plan::{Measure, System};
use envgov_dataset::Lang;
use serde::Serialize;

#[derive(Serialize)]
struct MeasureSummary {
    href: String,
    numeral: String,
    title: String,
    summary: String,
    status: String,
    status_class: &'static str,
    responsible: Vec<String>,
    milestones: Vec<MilestoneView>,
    indicators: Vec<IndicatorView>,
}

#[derive(Serialize)]
struct SystemView {
    anchor: String,
    href: String,
    name: String,
    heading: Option<String>,
    measures_in_text: bool,
    measures: Vec<MeasureSummary>,
}

#[derive(Serialize)]
struct PlanPage {
    plan_title: String,
    issued: String,
    issued_iso: String,
    issuers: Vec<String>,
    goal_year: String,
    source: String,
    coverage_note: String,
    responsible_note: String,
    status_note: String,
    statuses_illustrative: bool,
    systems: Vec<SystemView>,
    indicators: Vec<IndicatorView>,
    dataset_href: String,
    /// The rate indicators with values, as a bar chart.
    chart: Option<ChartView>,
}

#[derive(Serialize)]
struct MilestoneView {
    date: String,
    date_iso: String,
    text: String,
    illustrative: bool,
}

#[derive(Serialize)]
struct MeasurePage {
    numeral: String,
    title_zh: String,
    system: Link,
    summary: String,
    responsible: Vec<String>,
    responsible_note: String,
    milestones: Vec<MilestoneView>,
    status: String,
    status_class: &'static str,
    statuses_illustrative: bool,
    status_note: String,
    indicators: Vec<IndicatorView>,
    previous: Option<Link>,
    next: Option<Link>,
}

/// The plan's rate indicators that have a published value, in percent, in plan order.
fn rates_chart(site: &Site<'_>, lang: Lang, ids: &[String]) -> Result<Option<BarChart>, SiteError> {
    let mut bars = Vec::new();
    let mut period = None;
    for id in ids {
        let Some(row) = site.indicator_value(id) else {
            continue;
        };
        let (Some(v), "ratio") = (row.value, row.unit) else {
            continue;
        };
        let view = site.indicator_view(lang, id)?;
        period = period.or(view.period.clone());
        bars.push((view.name, v * 100.0, format::percent(lang, v)));
    }
    let Some(summary) = site.extremes_summary(lang, "chart.rates_summary", &bars)? else {
        return Ok(None);
    };
    Ok(Some(BarChart {
        id: "plan-rate-indicators",
        title: site.tf(
            lang,
            "chart.rates_title",
            &[("period", period.as_deref().unwrap_or(""))],
        )?,
        summary,
        category_axis: site.t(lang, "chart.indicator")?,
        value_axis: site.t(lang, "chart.share_axis")?,
        category_column: site.t(lang, "chart.indicator")?,
        value_column: site.t(lang, "chart.share_axis")?,
        bars,
        horizontal: true,
        min_top: 100.0,
        label_every: 1,
        axis_labels: None,
    }))
}

fn numeral(lang: Lang, m: &Measure, index: usize) -> String {
    match lang {
        Lang::Zh => format!("（{}）", m.numeral),
        Lang::En => format!("({})", index + 1),
    }
}

fn measure_slug(m: &Measure) -> Result<Slug, SiteError> {
    Slug::new(&m.id).map_err(|reason| SiteError::BadId {
        dataset: "data/plan.toml".into(),
        field: "measure id",
        value: m.id.clone(),
        reason,
    })
}

fn system_slug(s: &System) -> Result<Slug, SiteError> {
    Slug::new(&s.id).map_err(|reason| SiteError::BadId {
        dataset: "data/plan.toml".into(),
        field: "system id",
        value: s.id.clone(),
        reason,
    })
}

fn date(what: &str, s: &str) -> Result<chrono::NaiveDate, SiteError> {
    format::parse_date(s).ok_or_else(|| SiteError::BadDate {
        what: what.to_string(),
        value: s.to_string(),
    })
}

fn milestones(lang: Lang, m: &Measure) -> Result<Vec<MilestoneView>, SiteError> {
    m.milestones
        .iter()
        .map(|ms| {
            Ok(MilestoneView {
                date: format::date(
                    lang,
                    date(&format!("measure {} milestone", m.id), &ms.date)?,
                ),
                date_iso: ms.date.clone(),
                text: ms.text.get(lang).to_string(),
                illustrative: ms.illustrative,
            })
        })
        .collect()
}

/// The indicators of `ids`, each with a value against the same period last year.
fn indicators(
    site: &Site<'_>,
    lang: Lang,
    ids: &[String],
) -> Result<Vec<IndicatorView>, SiteError> {
    ids.iter()
        .map(|id| {
            let mut v = site.indicator_view(lang, id)?;
            v.year_ago = year_ago(site, lang, id)?;
            Ok(v)
        })
        .collect()
}

/// An indicator with a value this year against the value `plan-indicators` published for
/// the year to the same day last year (its archive of that day): percentage points for a
/// rate, the difference and its share of last year's value for a count or a mass. `None`
/// for an indicator without a value, or on 29 February (last year has no such day).
fn year_ago(site: &Site<'_>, lang: Lang, id: &str) -> Result<Option<IndicatorYearAgo>, SiteError> {
    let Some(p) = figures::same_period_last_year(site, id)? else {
        return Ok(None);
    };
    let (from, to) = (format::date(lang, p.from), format::date(lang, p.to));
    let Some(last) = p.yoy.last else {
        return Ok(Some(IndicatorYearAgo {
            text: site.tf(
                lang,
                "indicator.year_ago_no_data",
                &[("from", &from), ("to", &to)],
            )?,
            no_data: true,
        }));
    };
    let value = match p.kind {
        Kind::Mass => site.tf(
            lang,
            "unit.tonnes",
            &[("n", &format::decimal(lang, last, 1))],
        )?,
        kind => figures::value(lang, kind, last),
    };
    let change = figures::change_text(site, lang, p.kind, p.yoy)?;
    Ok(Some(IndicatorYearAgo {
        text: site.tf(
            lang,
            "indicator.year_ago",
            &[
                ("from", &from),
                ("to", &to),
                ("value", &value),
                ("change", &change),
            ],
        )?,
        no_data: false,
    }))
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let plan = &site.curated.plan;
    let info = &plan.info;
    let issued = date("plan issued", &info.issued)?;

    for lang in Lang::ALL {
        let mut systems = Vec::new();
        for s in &plan.systems {
            let mut measures = Vec::new();
            for m in plan.measures_of(&s.id) {
                let index = plan
                    .measures
                    .iter()
                    .position(|x| x.id == m.id)
                    .expect("measure is in the plan");
                measures.push(MeasureSummary {
                    href: urls::page(lang, &Route::Measure(measure_slug(m)?)),
                    numeral: numeral(lang, m, index),
                    title: m.title.get(lang).to_string(),
                    summary: m.summary.get(lang).to_string(),
                    status: m.status.label(lang).to_string(),
                    status_class: m.status.as_str(),
                    responsible: m
                        .responsible
                        .iter()
                        .map(|r| r.get(lang).to_string())
                        .collect(),
                    milestones: milestones(lang, m)?,
                    indicators: indicators(site, lang, &m.indicators)?,
                });
            }
            systems.push(SystemView {
                anchor: urls::plan_system_id(&system_slug(s)?),
                href: urls::plan_system(lang, &system_slug(s)?),
                name: s.name.get(lang).to_string(),
                heading: s.heading.as_ref().map(|h| h.get(lang).to_string()),
                measures_in_text: s.measures_in_text,
                measures,
            });
        }
        let all_ids: Vec<String> = plan.indicators.iter().map(|i| i.id.clone()).collect();
        let page = PlanPage {
            plan_title: info.title.get(lang).to_string(),
            issued: format::date(lang, issued),
            issued_iso: info.issued.clone(),
            issuers: info
                .issuers
                .iter()
                .map(|i| i.get(lang).to_string())
                .collect(),
            goal_year: info.goal_year.to_string(),
            source: info.source.get(lang).to_string(),
            coverage_note: info.coverage_note.get(lang).to_string(),
            responsible_note: info.responsible_note.get(lang).to_string(),
            status_note: info.status_note.get(lang).to_string(),
            statuses_illustrative: info.statuses_illustrative,
            systems,
            chart: rates_chart(site, lang, &all_ids)?
                .map(|c| charts::render(out, lang, &c))
                .transpose()?,
            indicators: indicators(site, lang, &all_ids)?,
            dataset_href: urls::page(
                lang,
                &Route::Dataset(Slug::new(crate::rows::PLAN_INDICATORS).expect("slug")),
            ),
        };
        site.render_page(
            out,
            lang,
            &Route::Plan,
            "plan.html",
            site.t(lang, "plan.title")?,
            site.t(lang, "plan.description")?,
            site.crumbs(lang, &[])?,
            &page,
        )?;
    }

    for (index, m) in plan.measures.iter().enumerate() {
        let route = Route::Measure(measure_slug(m)?);
        let system = plan.system(&m.system);
        for lang in Lang::ALL {
            let milestones = milestones(lang, m)?;
            let neighbour = |i: usize| -> Result<Link, SiteError> {
                let n = &plan.measures[i];
                Ok(Link {
                    href: urls::page(lang, &Route::Measure(measure_slug(n)?)),
                    text: format!("{} {}", numeral(lang, n, i), n.title.get(lang)),
                })
            };
            let system_link = match system {
                Some(s) => Link {
                    href: urls::plan_system(lang, &system_slug(s)?),
                    text: s.name.get(lang).to_string(),
                },
                None => Link {
                    href: urls::page(lang, &Route::Plan),
                    text: m.system.clone(),
                },
            };
            let page = MeasurePage {
                numeral: numeral(lang, m, index),
                title_zh: m.title.zh.clone(),
                system: system_link,
                summary: m.summary.get(lang).to_string(),
                responsible: m
                    .responsible
                    .iter()
                    .map(|r| r.get(lang).to_string())
                    .collect(),
                responsible_note: info.responsible_note.get(lang).to_string(),
                milestones,
                status: m.status.label(lang).to_string(),
                status_class: m.status.as_str(),
                statuses_illustrative: info.statuses_illustrative,
                status_note: info.status_note.get(lang).to_string(),
                indicators: indicators(site, lang, &m.indicators)?,
                previous: index.checked_sub(1).map(neighbour).transpose()?,
                next: (index + 1 < plan.measures.len())
                    .then(|| neighbour(index + 1))
                    .transpose()?,
            };
            site.render_page(
                out,
                lang,
                &route,
                "measure.html",
                format!("{} {}", numeral(lang, m, index), m.title.get(lang)),
                m.summary.get(lang).to_string(),
                site.crumbs(lang, &[(Route::Plan, "nav.plan")])?,
                &page,
            )?;
        }
    }
    Ok(())
}
