//! The exceedance register: every value over its limit, newest first, each linked to its
//! unit and showing the raw record it comes from; with static filtered lists by district,
//! pollutant and period.

use super::shared::{ExceedanceView, FilterLink, Pager, Site, list_pages};
use crate::charts::{self, BarChart, ChartView};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::registry::sort_exceedances;
use crate::rows::{EXCEEDANCES, Exceedance};
use crate::urls::{self, Feed, RecordPeriod, Route, Slug};
use envgov_dataset::Lang;
use envgov_dataset::ids::DISTRICTS;
use serde::Serialize;

#[derive(Serialize, Clone)]
struct Filters {
    districts: Vec<FilterLink>,
    pollutants: Vec<FilterLink>,
    periods: Vec<FilterLink>,
}

#[derive(Serialize)]
struct RegisterPage {
    summary: String,
    filtered: bool,
    all_href: String,
    filters: Filters,
    rows: Vec<ExceedanceView>,
    /// Links to the register's other pages (the register is split into pages of
    /// [`REGISTER_PAGE_ROWS`] rows, newest first, so that no page grows with the year).
    pager: Option<Pager>,
    feed_href: String,
    dataset_href: String,
    /// Exceedances by day (by month over long periods), on the unfiltered register.
    chart: Option<ChartView>,
}

enum Filter<'s> {
    All,
    District(&'s str),
    Pollutant(&'s str),
    Period(RecordPeriod),
}

fn bad_id(field: &'static str, value: &str, reason: String) -> SiteError {
    SiteError::BadId {
        dataset: EXCEEDANCES.into(),
        field,
        value: value.to_string(),
        reason,
    }
}

/// The pollutant codes present, checked for use in paths, in code order.
fn pollutants(site: &Site<'_>) -> Result<Vec<Slug>, SiteError> {
    let mut codes: Vec<&str> = site.rows.exceedances.iter().map(|r| r.pollutant).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .into_iter()
        .map(|c| Slug::new(c).map_err(|r| bad_id("pollutant", c, r)))
        .collect()
}

fn filters(
    site: &Site<'_>,
    lang: Lang,
    pollutant_slugs: &[Slug],
    current: &Filter<'_>,
) -> Result<Filters, SiteError> {
    let rows = &site.rows.exceedances;
    let count = |f: &dyn Fn(&Exceedance<'_>) -> bool| {
        format::integer(lang, rows.iter().filter(|r| f(r)).count() as i64)
    };
    let mut districts = Vec::new();
    for d in DISTRICTS {
        let slug = Slug::new(d.code).map_err(|r| bad_id("district", d.code, r))?;
        districts.push(FilterLink {
            href: urls::page(lang, &Route::ExceedancesByDistrict(slug)),
            text: super::shared::pick(lang, d.zh, d.en).to_string(),
            count: count(&|r| r.district == d.code),
            current: matches!(current, Filter::District(c) if *c == d.code),
        });
    }
    let mut pollutants = Vec::new();
    for p in pollutant_slugs {
        pollutants.push(FilterLink {
            href: urls::page(lang, &Route::ExceedancesByPollutant(p.clone())),
            text: site.pollutant_name(lang, p.as_str()),
            count: count(&|r| r.pollutant == p.as_str()),
            current: matches!(current, Filter::Pollutant(c) if *c == p.as_str()),
        });
    }
    let mut periods = Vec::new();
    for p in RecordPeriod::ALL {
        periods.push(FilterLink {
            href: urls::page(lang, &Route::ExceedancesByPeriod(p)),
            text: site.t(lang, &format!("period.{}", p.as_str()))?,
            count: count(&|r| r.period == p.as_str()),
            current: matches!(current, Filter::Period(c) if *c == p),
        });
    }
    Ok(Filters {
        districts,
        pollutants,
        periods,
    })
}

/// Rows on one page of the register: an HTML page stays well under 500 KB however many
/// exceedances a year brings.
pub const REGISTER_PAGE_ROWS: usize = 100;

fn register(
    site: &Site<'_>,
    out: &mut Output,
    pollutant_slugs: &[Slug],
    route: Route,
    filter: Filter<'_>,
) -> Result<(), SiteError> {
    let mut rows: Vec<&Exceedance<'_>> = site
        .rows
        .exceedances
        .iter()
        .filter(|r| match &filter {
            Filter::All => true,
            Filter::District(d) => r.district == *d,
            Filter::Pollutant(p) => r.pollutant == *p,
            Filter::Period(p) => r.period == p.as_str(),
        })
        .collect();
    sort_exceedances(&mut rows);
    for lang in Lang::ALL {
        let n = format::integer(lang, rows.len() as i64);
        let what = match &filter {
            Filter::All => None,
            Filter::District(d) => Some(site.district_name(lang, d)),
            Filter::Pollutant(p) => Some(site.pollutant_name(lang, p)),
            Filter::Period(p) => Some(site.t(lang, &format!("period.{}", p.as_str()))?),
        };
        let (title, summary, crumbs) = match &what {
            Some(what) => (
                site.tf(lang, "exceedances.filtered_title", &[("what", what)])?,
                site.tf(
                    lang,
                    "exceedances.filtered_summary",
                    &[("n", &n), ("what", what)],
                )?,
                site.crumbs(lang, &[(Route::Exceedances, "nav.exceedances")])?,
            ),
            None => (
                site.t(lang, "exceedances.title")?,
                site.tf(lang, "exceedances.summary", &[("n", &n)])?,
                site.crumbs(lang, &[])?,
            ),
        };
        let filters_view = filters(site, lang, pollutant_slugs, &filter)?;
        for list_page in list_pages(&rows, REGISTER_PAGE_ROWS) {
            // The chart of the whole register, on its first page.
            let chart = match filter {
                Filter::All if list_page.number == 1 => Some(charts::render(
                    out,
                    lang,
                    &by_day_chart(site, lang, &rows)?,
                )?),
                _ => None,
            };
            let (pager, page_title) = site.pager(lang, &route, &list_page, title.clone())?;
            let page = RegisterPage {
                chart,
                summary: summary.clone(),
                filtered: what.is_some(),
                all_href: urls::page(lang, &Route::Exceedances),
                filters: filters_view.clone(),
                rows: site.exceedance_views(lang, list_page.items)?,
                pager,
                feed_href: urls::feed(lang, Feed::Exceedances),
                dataset_href: urls::page(
                    lang,
                    &Route::Dataset(Slug::new(EXCEEDANCES).expect("dataset id is a slug")),
                ),
            };
            site.render_page(
                out,
                lang,
                &urls::nth_page(&route, list_page.number),
                "exceedances.html",
                page_title,
                summary.clone(),
                crumbs.clone(),
                &page,
            )?;
        }
    }
    Ok(())
}

/// Longest period drawn day by day; longer ones are drawn by month.
const MAX_DAYS_BY_DAY: i64 = 62;

/// Exceedances per day (or month) of the data year up to the data date, zeros included.
fn by_day_chart(
    site: &Site<'_>,
    lang: Lang,
    rows: &[&Exceedance<'_>],
) -> Result<BarChart, SiteError> {
    use chrono::Datelike;
    let to = site.data_date;
    let from = to.with_ordinal(1).expect("1 January exists");
    let by_month = (to - from).num_days() + 1 > MAX_DAYS_BY_DAY;
    let key = |d: chrono::NaiveDate| -> chrono::NaiveDate {
        if by_month {
            d.with_day(1).expect("day 1 exists")
        } else {
            d
        }
    };
    let mut counts: std::collections::BTreeMap<chrono::NaiveDate, u64> = Default::default();
    let mut d = from;
    while d <= to {
        counts.entry(key(d)).or_insert(0);
        d = d.succ_opt().expect("dates go on");
    }
    for r in rows {
        let date = format::parse_date(r.date).ok_or_else(|| SiteError::BadDate {
            what: "exceedance date".into(),
            value: r.date.to_string(),
        })?;
        if let Some(c) = counts.get_mut(&key(date)) {
            *c += 1;
        }
    }
    let label = |d: chrono::NaiveDate| {
        if by_month {
            d.format("%Y-%m").to_string()
        } else {
            d.format("%m-%d").to_string()
        }
    };
    let total: u64 = counts.values().sum();
    let (max_day, max) = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(d, c)| (*d, *c))
        .unwrap_or((to, 0));
    let from_s = format::date(lang, from);
    let to_s = format::date(lang, to);
    let summary = if total == 0 {
        site.tf(
            lang,
            "chart.exceedances_none",
            &[("from", &from_s), ("to", &to_s)],
        )?
    } else {
        let max_day = if by_month {
            format::month(lang, max_day)
        } else {
            format::date(lang, max_day)
        };
        site.tf(
            lang,
            "chart.exceedances_summary",
            &[
                ("n", &format::integer(lang, total as i64)),
                ("from", &from_s),
                ("to", &to_s),
                ("max", &format::integer(lang, max as i64)),
                ("max_day", &max_day),
            ],
        )?
    };
    let bars: Vec<(String, f64, String)> = counts
        .iter()
        .map(|(d, c)| {
            (
                if by_month {
                    label(*d)
                } else {
                    d.format("%Y-%m-%d").to_string()
                },
                *c as f64,
                format::integer(lang, *c as i64),
            )
        })
        .collect();
    let every = (bars.len() / 10).max(1);
    // The axis shows month-day; the CSV and the table the full date.
    let mut chart = BarChart {
        id: "exceedances-by-day",
        title: site.t(
            lang,
            if by_month {
                "chart.exceedances_month_title"
            } else {
                "chart.exceedances_title"
            },
        )?,
        summary,
        category_axis: site.t(lang, if by_month { "chart.month" } else { "chart.day" })?,
        value_axis: site.t(lang, "chart.exceedances_axis")?,
        category_column: site.t(lang, if by_month { "chart.month" } else { "chart.day" })?,
        value_column: site.t(lang, "chart.exceedances_axis")?,
        bars,
        horizontal: false,
        min_top: 0.0,
        label_every: every,
        axis_labels: None,
    };
    chart.axis_labels = Some(counts.keys().map(|d| label(*d)).collect());
    Ok(chart)
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let pollutant_slugs = pollutants(site)?;
    register(site, out, &pollutant_slugs, Route::Exceedances, Filter::All)?;
    for d in DISTRICTS {
        let slug = Slug::new(d.code).map_err(|r| bad_id("district", d.code, r))?;
        register(
            site,
            out,
            &pollutant_slugs,
            Route::ExceedancesByDistrict(slug),
            Filter::District(d.code),
        )?;
    }
    for p in &pollutant_slugs {
        register(
            site,
            out,
            &pollutant_slugs,
            Route::ExceedancesByPollutant(p.clone()),
            Filter::Pollutant(p.as_str()),
        )?;
    }
    for p in RecordPeriod::ALL {
        register(
            site,
            out,
            &pollutant_slugs,
            Route::ExceedancesByPeriod(p),
            Filter::Period(p),
        )?;
    }
    Ok(())
}
