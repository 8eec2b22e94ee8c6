//! The directory of key polluting units, its pre-rendered filtered lists (by district,
//! industry and source type: they work without JavaScript), and one page per unit with its
//! published environmental information and downloads of its own records.

mod charts;

use super::open_days::{OpenDayItem, open_day_item};
use super::search::SearchFilter;
use super::shared::{ExceedanceView, FilterLink, Link, Pager, Site, list_pages, pick};
use crate::downloads::{UnitRows, dataset_slug};
use crate::error::SiteError;
use crate::format;
use crate::inputs::UNIT_DATASETS;
use crate::output::Output;
use crate::registry::{Unit, district_rank};
use crate::rows::{CemsDaily, EmissionTotal};
use crate::urls::{self, Route, Slug};
use envgov_dataset::Lang;
use serde::Serialize;
use std::collections::BTreeMap;

/// Days of daily values shown per outlet and pollutant: the calendar days up to and
/// including the data date (a day without a row is simply absent).
pub const RECENT_DAYS: usize = 7;

#[derive(Serialize, Clone)]
struct Filters {
    districts: Vec<FilterLink>,
    industries: Vec<FilterLink>,
    types: Vec<FilterLink>,
}

#[derive(Serialize)]
struct UnitItem {
    href: String,
    name: String,
    uscc: String,
    district: String,
    industry: String,
    source_type: String,
    exceedances: String,
}

#[derive(Serialize)]
struct DirectoryPage<'a> {
    summary: String,
    filtered: bool,
    all_href: String,
    filters: Filters,
    units: &'a [UnitItem],
    /// Links to the directory's other pages ([`DIRECTORY_PAGE_ROWS`] units a page).
    pager: Option<Pager>,
}

#[derive(Serialize)]
struct OutletPollutant {
    name: String,
    code: String,
    unit: String,
    hourly: String,
    daily: String,
    daily_winter: String,
    sample: String,
    illustrative: bool,
    /// The standard's clauses (tables) that set the limits, and whether any is illustrative.
    clause: String,
    clause_illustrative: bool,
}

#[derive(Serialize)]
struct OutletView {
    code: String,
    name: String,
    medium: String,
    cems: bool,
    method: String,
    destination: String,
    standard: String,
    pollutants: Vec<OutletPollutant>,
}

#[derive(Serialize)]
struct DailyRow {
    outlet: String,
    pollutant: String,
    date: String,
    date_iso: String,
    valid_hours: String,
    mean: Option<String>,
    unit: String,
    limit: String,
    illustrative: bool,
    /// `compliant`, `exceeded` or `not-judged`.
    verdict: &'static str,
    verdict_text: String,
}

#[derive(Serialize)]
struct TotalRow {
    pollutant: String,
    period: String,
    mass_kg: String,
    valid_hours: String,
    days_with_data: String,
    mean: String,
    unit: String,
    hourly_exceedances: String,
    daily_exceedances: String,
}

#[derive(Serialize)]
struct FacilityView {
    code: String,
    name: String,
    outlet: String,
    status: String,
    status_class: String,
    commissioned: String,
    commissioned_iso: Option<String>,
}

/// A dataset's downloads of the unit: one file (`href`), or, of a dataset published a file a
/// month, one file a month (`months`, newest first; no `href`).
#[derive(Serialize)]
struct Download {
    href: Option<String>,
    title: String,
    rows: String,
    dataset_href: String,
    months: Vec<MonthView>,
}

/// A unit's file of one month of a dataset published a file a month.
#[derive(Serialize)]
struct MonthView {
    month: String,
    href: String,
    rows: String,
    size: String,
}

/// The unit's files of a monthly dataset, newest month first (`None` for a dataset that is
/// not published a file a month).
fn month_views(
    site: &Site<'_>,
    downloads: &UnitRows<'_>,
    lang: Lang,
    dataset: &str,
    uscc: &urls::Uscc,
) -> Result<Option<Vec<MonthView>>, SiteError> {
    let Some(months) = downloads.months(dataset, uscc.as_str()) else {
        return Ok(None);
    };
    let mut views = Vec::with_capacity(months.len());
    for m in months {
        let Some(href) = urls::unit_month_download(uscc, dataset, &m.month) else {
            continue;
        };
        let n = format::integer(lang, m.rows as i64);
        views.push(MonthView {
            month: m.month.clone(),
            href,
            rows: site.tf(lang, "enterprise.download_rows", &[("n", &n)])?,
            size: format::file_size(lang, m.bytes),
        });
    }
    views.sort_by(|a, b| b.month.cmp(&a.month));
    Ok(Some(views))
}

/// One of the unit's evidence bundles (a month's), as the release built it.
#[derive(Serialize)]
struct BundleView {
    month: String,
    href: String,
    size: String,
    sha256: String,
}

/// The unit's evidence bundles, newest month first (none when the release built none).
fn bundle_views(site: &Site<'_>, lang: Lang, uscc: &urls::Uscc) -> Vec<BundleView> {
    let mut views: Vec<BundleView> = site
        .inputs
        .unit_bundles
        .get(uscc.to_string().as_str())
        .into_iter()
        .flatten()
        .filter_map(|b| {
            Some(BundleView {
                month: b.month.clone(),
                href: urls::unit_bundle(uscc, &b.month)?,
                size: format::file_size(lang, b.bytes),
                sha256: b.sha256.clone(),
            })
        })
        .collect();
    views.sort_by(|a, b| b.month.cmp(&a.month));
    views
}

#[derive(Serialize)]
struct UnitPage {
    name_other: String,
    other_lang: &'static str,
    uscc: String,
    permit_no: String,
    district: Link,
    industry: Link,
    source_type: Link,
    address: String,
    coordinates: Option<String>,
    disclosure_url: Option<String>,
    disclosure_text: Option<String>,
    record_source: String,
    outlets: Vec<OutletView>,
    charts: charts::ChartsView,
    recent: Vec<DailyRow>,
    recent_note: String,
    totals_year: Vec<TotalRow>,
    totals_month: Vec<TotalRow>,
    facilities: Vec<FacilityView>,
    facilities_summary: String,
    exceedances: Vec<ExceedanceView>,
    corrections: Vec<super::corrections::CorrectionView>,
    corrections_more: Option<String>,
    open_days: Vec<OpenDayItem>,
    downloads: Vec<Download>,
    bundles: Vec<BundleView>,
    /// The unit's district and source type, as filters of the full-text search.
    search_filters: Vec<SearchFilter>,
    /// The unit's credit code and permit number, weighted as a title is by the full-text
    /// search, so that a search for either lists the unit's own page first.
    search_keywords: String,
    /// The locator map (`templates/locator.html`; see `pages::map::locator`).
    locator: Option<super::map::LocatorView>,
}

/// A limit, or a dash when the standard sets none.
fn limit(lang: Lang, v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format::measurement(lang, v))
}

fn source_type_name(site: &Site<'_>, lang: Lang, t: &str) -> Result<String, SiteError> {
    site.t(lang, &format!("source_type.{t}"))
}

fn unit_item(site: &Site<'_>, lang: Lang, u: &Unit<'_>) -> Result<UnitItem, SiteError> {
    Ok(UnitItem {
        href: urls::page(lang, &Route::Enterprise(u.uscc.clone())),
        name: pick(lang, u.row.name_zh, u.row.name_en).to_string(),
        uscc: u.uscc.to_string(),
        district: pick(lang, u.district.zh, u.district.en).to_string(),
        industry: pick(lang, u.row.industry_zh, u.row.industry_en).to_string(),
        source_type: source_type_name(site, lang, u.row.source_type)?,
        exceedances: format::integer(lang, u.exceedances.len() as i64),
    })
}

/// Which filtered list a directory page shows.
enum Filter<'s> {
    All,
    District(&'s Slug),
    Industry(&'s Slug),
    Type(&'s Slug),
}

fn filters(site: &Site<'_>, lang: Lang, current: &Filter<'_>) -> Result<Filters, SiteError> {
    let units = &site.registry.units;
    let mut district_counts: BTreeMap<(usize, &Slug), (usize, String)> = BTreeMap::new();
    for u in units {
        let e = district_counts
            .entry((district_rank(u.district.code), &u.district_slug))
            .or_insert((0, pick(lang, u.district.zh, u.district.en).to_string()));
        e.0 += 1;
    }
    let districts = district_counts
        .into_iter()
        .map(|((_, slug), (n, text))| FilterLink {
            href: urls::page(lang, &Route::EnterprisesByDistrict(slug.clone())),
            text,
            count: format::integer(lang, n as i64),
            current: matches!(current, Filter::District(s) if *s == slug),
        })
        .collect();
    let mut industries = Vec::new();
    for (code, ind) in &site.registry.industries {
        let n = units
            .iter()
            .filter(|u| u.row.industry_code == *code)
            .count();
        industries.push(FilterLink {
            href: urls::page(lang, &Route::EnterprisesByIndustry(ind.slug.clone())),
            text: format!("{} ({code})", pick(lang, ind.zh, ind.en)),
            count: format::integer(lang, n as i64),
            current: matches!(current, Filter::Industry(s) if **s == ind.slug),
        });
    }
    let mut types = Vec::new();
    for t in &site.registry.source_types {
        let n = units.iter().filter(|u| u.source_type_slug == *t).count();
        types.push(FilterLink {
            href: urls::page(lang, &Route::EnterprisesByType(t.clone())),
            text: source_type_name(site, lang, t.as_str())?,
            count: format::integer(lang, n as i64),
            current: matches!(current, Filter::Type(s) if *s == t),
        });
    }
    Ok(Filters {
        districts,
        industries,
        types,
    })
}

/// Units on one page of the directory (2,000 units make 8 pages, none over 500 KB).
pub const DIRECTORY_PAGE_ROWS: usize = 250;

fn directory(
    site: &Site<'_>,
    out: &mut Output,
    route: &Route,
    filter: Filter<'_>,
    keep: impl Fn(&Unit<'_>) -> bool,
    name: impl Fn(Lang) -> Result<String, SiteError>,
) -> Result<(), SiteError> {
    let selected: Vec<&Unit<'_>> = site.registry.units.iter().filter(|u| keep(u)).collect();
    for lang in Lang::ALL {
        let mut units = Vec::with_capacity(selected.len());
        for u in &selected {
            units.push(unit_item(site, lang, u)?);
        }
        let n = format::integer(lang, units.len() as i64);
        let filtered = !matches!(filter, Filter::All);
        let (title, summary, crumbs) = if filtered {
            let what = name(lang)?;
            (
                site.tf(lang, "enterprises.filtered_title", &[("what", &what)])?,
                site.tf(
                    lang,
                    "enterprises.filtered_summary",
                    &[("n", &n), ("what", &what)],
                )?,
                site.crumbs(lang, &[(Route::Enterprises, "nav.enterprises")])?,
            )
        } else {
            (
                site.t(lang, "enterprises.title")?,
                site.tf(lang, "enterprises.summary", &[("n", &n)])?,
                site.crumbs(lang, &[])?,
            )
        };
        let filters_view = filters(site, lang, &filter)?;
        for list_page in list_pages(&units, DIRECTORY_PAGE_ROWS) {
            let (pager, page_title) = site.pager(lang, route, &list_page, title.clone())?;
            let page = DirectoryPage {
                summary: summary.clone(),
                filtered,
                all_href: urls::page(lang, &Route::Enterprises),
                filters: filters_view.clone(),
                units: list_page.items,
                pager,
            };
            site.render_page(
                out,
                lang,
                &urls::nth_page(route, list_page.number),
                "enterprises.html",
                page_title,
                summary.clone(),
                crumbs.clone(),
                &page,
            )?;
        }
    }
    Ok(())
}

fn outlet_views(site: &Site<'_>, lang: Lang, u: &Unit<'_>) -> Result<Vec<OutletView>, SiteError> {
    let mut views: Vec<OutletView> = Vec::new();
    for o in &u.outlets {
        if views.last().is_none_or(|v| v.code != o.outlet) {
            views.push(OutletView {
                code: o.outlet.to_string(),
                name: pick(lang, o.outlet_name_zh, o.outlet_name_en).to_string(),
                medium: site.t(lang, &format!("medium.{}", o.medium))?,
                cems: o.cems,
                method: pick(lang, o.discharge_method_zh, o.discharge_method_en).to_string(),
                destination: pick(lang, o.destination_zh, o.destination_en).to_string(),
                standard: o.standard_code.to_string(),
                pollutants: Vec::new(),
            });
        }
        let name = site
            .curated
            .pollutants
            .get(o.pollutant)
            .map(|p| p.name.get(lang).to_string())
            .unwrap_or_else(|| pick(lang, o.pollutant_zh, o.pollutant_en).to_string());
        let clauses: Vec<(String, bool)> = ["hourly", "daily", "sample"]
            .into_iter()
            .filter_map(|period| site.clause(lang, o.standard, o.pollutant, period))
            .collect();
        let mut texts: Vec<&str> = clauses.iter().map(|c| c.0.as_str()).collect();
        texts.dedup();
        views
            .last_mut()
            .expect("an outlet view was pushed")
            .pollutants
            .push(OutletPollutant {
                name,
                code: o.pollutant.to_string(),
                unit: o.unit.to_string(),
                hourly: limit(lang, o.hourly_limit),
                daily: limit(lang, o.daily_limit),
                daily_winter: limit(lang, o.daily_limit_winter),
                sample: limit(lang, o.sample_limit),
                illustrative: o.limit_illustrative,
                clause: texts.join(site.t(lang, "common.list_separator")?.as_str()),
                clause_illustrative: clauses.iter().any(|c| c.1),
            });
    }
    Ok(views)
}

fn recent_rows(
    site: &Site<'_>,
    lang: Lang,
    rows: &[&CemsDaily<'_>],
) -> Result<Vec<DailyRow>, SiteError> {
    let data_date = site.data_date.format("%Y-%m-%d").to_string();
    let first = (site.data_date - chrono::Days::new(RECENT_DAYS as u64 - 1))
        .format("%Y-%m-%d")
        .to_string();
    let mut out = Vec::new();
    // Rows are sorted by outlet, pollutant, date.
    let mut start = 0;
    while start < rows.len() {
        let (o, p) = (rows[start].outlet, rows[start].pollutant);
        let end = rows[start..]
            .iter()
            .position(|r| (r.outlet, r.pollutant) != (o, p))
            .map_or(rows.len(), |i| start + i);
        let group: Vec<&CemsDaily<'_>> = rows[start..end]
            .iter()
            .copied()
            .filter(|r| first.as_str() <= r.date && r.date <= data_date.as_str())
            .collect();
        for r in &group {
            let date = format::parse_date(r.date).ok_or_else(|| SiteError::BadDate {
                what: format!("cems-daily {} {}", r.uscc, r.outlet),
                value: r.date.to_string(),
            })?;
            let verdict = match (r.daily_mean, r.daily_compliant) {
                (Some(_), Some(true)) => "compliant",
                (Some(_), Some(false)) => "exceeded",
                _ => "not-judged",
            };
            let verdict_text = match (r.daily_mean, r.daily_limit) {
                (None, _) => site.t(lang, "enterprise.verdict_no_mean")?,
                (Some(_), None) => site.t(lang, "enterprise.verdict_no_limit")?,
                _ => site.t(
                    lang,
                    &format!("enterprise.verdict_{}", verdict.replace('-', "_")),
                )?,
            };
            out.push(DailyRow {
                outlet: r.outlet.to_string(),
                pollutant: site.pollutant_name(lang, r.pollutant),
                date: format::date(lang, date),
                date_iso: r.date.to_string(),
                valid_hours: site.tf(
                    lang,
                    "enterprise.valid_hours_of",
                    &[
                        ("n", &r.valid_hours.to_string()),
                        ("of", &r.hours_reported.to_string()),
                    ],
                )?,
                mean: r.daily_mean.map(|m| format::measurement(lang, m)),
                unit: site.pollutant_unit(r.pollutant),
                limit: limit(lang, r.daily_limit),
                illustrative: r.daily_limit_illustrative.unwrap_or(false),
                verdict,
                verdict_text,
            });
        }
        start = end;
    }
    Ok(out)
}

fn total_row(site: &Site<'_>, lang: Lang, r: &EmissionTotal<'_>) -> Result<TotalRow, SiteError> {
    let period = if r.period_type == "month" {
        format::parse_month(r.period)
            .map(|d| format::month(lang, d))
            .ok_or_else(|| SiteError::BadDate {
                what: format!("emission-totals {} period", r.uscc),
                value: r.period.to_string(),
            })?
    } else {
        site.tf(lang, "enterprise.year", &[("year", r.period)])?
    };
    let has_mass = (site.curated.pollutants.get(r.pollutant)).is_none_or(|p| p.has_mass());
    Ok(TotalRow {
        pollutant: site.pollutant_name(lang, r.pollutant),
        period,
        // pH has no mass (nor has a parameter): the dataset's 0 is not a mass emitted.
        mass_kg: if has_mass {
            format::decimal(lang, r.mass_kg, 1)
        } else {
            site.t(lang, "unit_charts.not_applicable")?
        },
        valid_hours: format::integer(lang, r.valid_hours as i64),
        days_with_data: format::integer(lang, r.days_with_data as i64),
        mean: r
            .mean_concentration
            .map_or_else(|| "—".to_string(), |m| format::measurement(lang, m)),
        unit: site.pollutant_unit(r.pollutant),
        hourly_exceedances: format::integer(lang, r.hourly_exceedances as i64),
        daily_exceedances: format::integer(lang, r.daily_exceedances as i64),
    })
}

fn dataset_title(site: &Site<'_>, lang: Lang, id: &str) -> String {
    site.inputs
        .packages
        .get(id)
        .map(|p| p.titles.get(lang).to_string())
        .unwrap_or_else(|| id.to_string())
}

fn unit_page(
    site: &Site<'_>,
    downloads: &UnitRows<'_>,
    out: &mut Output,
    u: &Unit<'_>,
    period: Option<crate::unit_series::Period>,
) -> Result<(), SiteError> {
    let route = Route::Enterprise(u.uscc.clone());
    let drawn = charts::draw(site, downloads, out, u, period)?;
    for lang in Lang::ALL {
        let other = super::shared::other(lang);
        let r = u.row;
        let name = pick(lang, r.name_zh, r.name_en).to_string();
        let disclosure_url = r
            .disclosure_url
            .filter(|s| s.starts_with("https://") || s.starts_with("http://"));
        let mut facilities = Vec::new();
        for f in &u.facilities {
            facilities.push(FacilityView {
                code: f.facility.to_string(),
                name: pick(lang, f.name_zh, f.name_en).to_string(),
                outlet: f.outlet.to_string(),
                status: site.t(lang, &format!("facility_status.{}", f.status))?,
                status_class: Slug::new(f.status)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                commissioned: match f.commissioned {
                    Some(c) => format::parse_date(c)
                        .map(|d| format::date(lang, d))
                        .unwrap_or_else(|| c.to_string()),
                    None => "—".to_string(),
                },
                commissioned_iso: f.commissioned.map(str::to_string),
            });
        }
        let mut totals_year = Vec::new();
        let mut totals_month = Vec::new();
        for t in &u.emission_totals {
            let row = total_row(site, lang, t)?;
            if t.period_type == "year" {
                totals_year.push(row);
            } else {
                totals_month.push(row);
            }
        }
        let mut open_days = Vec::new();
        for e in &u.open_days {
            open_days.push(open_day_item(site, lang, e)?);
        }
        let mut dl = Vec::new();
        for dataset in UNIT_DATASETS {
            let slug = dataset_slug(dataset);
            let months = month_views(site, downloads, lang, dataset, &u.uscc)?;
            dl.push(Download {
                href: match months {
                    Some(_) => None,
                    None => Some(urls::unit_download(&u.uscc, &slug)),
                },
                months: months.unwrap_or_default(),
                title: dataset_title(site, lang, dataset),
                rows: site.tf(
                    lang,
                    "enterprise.download_rows",
                    &[(
                        "n",
                        &format::integer(lang, downloads.count(dataset, u.uscc.as_str()) as i64),
                    )],
                )?,
                dataset_href: urls::page(lang, &Route::Dataset(slug)),
            });
        }
        let bundles = bundle_views(site, lang, &u.uscc);
        let operating = u
            .facilities
            .iter()
            .filter(|f| f.status == "operating")
            .count();
        let (corrections, corrections_more) =
            super::corrections::of_unit_page(site, lang, u.uscc.as_str())?;
        let page = UnitPage {
            name_other: pick(other, r.name_zh, r.name_en).to_string(),
            other_lang: other.bcp47(),
            uscc: u.uscc.to_string(),
            permit_no: r.permit_no.to_string(),
            district: Link {
                href: urls::page(lang, &Route::EnterprisesByDistrict(u.district_slug.clone())),
                text: pick(lang, u.district.zh, u.district.en).to_string(),
            },
            industry: Link {
                href: urls::page(lang, &Route::EnterprisesByIndustry(u.industry_slug.clone())),
                text: format!(
                    "{} ({})",
                    pick(lang, r.industry_zh, r.industry_en),
                    r.industry_code
                ),
            },
            source_type: Link {
                href: urls::page(lang, &Route::EnterprisesByType(u.source_type_slug.clone())),
                text: source_type_name(site, lang, r.source_type)?,
            },
            search_keywords: format!("{} {}", u.uscc, r.permit_no),
            search_filters: vec![
                SearchFilter {
                    name: "district",
                    value: pick(lang, u.district.zh, u.district.en).to_string(),
                },
                SearchFilter {
                    name: "type",
                    value: source_type_name(site, lang, r.source_type)?,
                },
            ],
            locator: super::map::locator(site, lang, u)?,
            address: pick(lang, r.address_zh, r.address_en).to_string(),
            coordinates: r
                .lon
                .zip(r.lat)
                .map(|(lon, lat)| format!("{lat:.5}, {lon:.5}")),
            disclosure_url: disclosure_url.map(str::to_string),
            disclosure_text: r
                .disclosure_url
                .filter(|_| disclosure_url.is_none())
                .map(str::to_string),
            record_source: match r.raw_line {
                Some(line) => format!("{}:{line}", r.raw_key),
                None => r.raw_key.to_string(),
            },
            outlets: outlet_views(site, lang, u)?,
            charts: charts::views(site, lang, &u.uscc, &drawn)?,
            recent: recent_rows(site, lang, &u.cems_daily)?,
            recent_note: site.tf(
                lang,
                "enterprise.recent_note",
                &[("n", &RECENT_DAYS.to_string())],
            )?,
            totals_year,
            totals_month,
            facilities,
            facilities_summary: site.tf(
                lang,
                "enterprise.facilities_summary",
                &[
                    ("n", &format::integer(lang, operating as i64)),
                    ("of", &format::integer(lang, u.facilities.len() as i64)),
                ],
            )?,
            exceedances: site.exceedance_views(lang, &u.exceedances)?,
            corrections,
            corrections_more,
            open_days,
            downloads: dl,
            bundles,
        };
        site.render_page(
            out,
            lang,
            &route,
            "enterprise.html",
            name.clone(),
            site.tf(
                lang,
                "enterprise.description",
                &[
                    ("name", &name),
                    ("district", pick(lang, u.district.zh, u.district.en)),
                ],
            )?,
            site.crumbs(lang, &[(Route::Enterprises, "nav.enterprises")])?,
            &page,
        )?;
    }
    Ok(())
}

/// The directory of units and its filtered lists (the unit pages are [`render_units`]).
pub fn render_directories(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    directory(
        site,
        out,
        &Route::Enterprises,
        Filter::All,
        |_| true,
        |_| Ok(String::new()),
    )?;

    let mut districts: Vec<(&Slug, &'static envgov_dataset::ids::District)> = Vec::new();
    for u in &site.registry.units {
        if !districts.iter().any(|(s, _)| **s == u.district_slug) {
            districts.push((&u.district_slug, u.district));
        }
    }
    for (slug, d) in districts {
        directory(
            site,
            out,
            &Route::EnterprisesByDistrict(slug.clone()),
            Filter::District(slug),
            |u| u.district_slug == *slug,
            |lang| Ok(pick(lang, d.zh, d.en).to_string()),
        )?;
    }
    for (code, ind) in &site.registry.industries {
        directory(
            site,
            out,
            &Route::EnterprisesByIndustry(ind.slug.clone()),
            Filter::Industry(&ind.slug),
            |u| u.row.industry_code == *code,
            |lang| Ok(pick(lang, ind.zh, ind.en).to_string()),
        )?;
    }
    for t in &site.registry.source_types {
        directory(
            site,
            out,
            &Route::EnterprisesByType(t.clone()),
            Filter::Type(t),
            |u| u.source_type_slug == *t,
            |lang| source_type_name(site, lang, t.as_str()),
        )?;
    }

    Ok(())
}

/// The pages and downloads of `units` (a part of the registry's: a build renders them in
/// parts, in parallel).
pub fn render_units(
    site: &Site<'_>,
    out: &mut Output,
    units: &[Unit<'_>],
) -> Result<(), SiteError> {
    let downloads = UnitRows::new(site.inputs)?;
    let period = charts::period(site);
    for u in units {
        unit_page(site, &downloads, out, u, period)?;
    }
    Ok(())
}
