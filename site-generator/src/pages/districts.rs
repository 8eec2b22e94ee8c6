//! District pages: every district against the city (`/{lang}/districts/`, with the CSV of
//! its figures beside it), and one page per district (`/{lang}/districts/{code}/`): the
//! district against the city for the headline figures of the year to the data date, this
//! month against the same month last year, and its units (a page of [`UNITS_PER_PAGE`]).
//!
//! Districts are Beijing's 16 (GB/T 2260) and the Yizhuang development area
//! ([`envgov_dataset::ids::DISTRICTS`]), named in both languages. Stage: rendering; the
//! numbers are [`crate::comparison`]'s sums of `emission-totals` rows and registry counts.

use super::figures::{self, Kind, MonthFigures, YoyView, csv, csv_rate};
use super::map::MapModel;
use super::shared::{Link, Site, list_pages, pick};
use crate::comparison::{AreaFigures, share};
use crate::error::SiteError;
use crate::format;
use crate::maps::{self, Choropleth, DistrictClass};
use crate::output::Output;
use crate::registry::Unit;
use crate::urls::{self, Route, Slug};
use envgov_dataset::Lang;
use envgov_dataset::ids::{DISTRICTS, District};
use serde::Serialize;

/// Units listed on one page of a district.
pub const UNITS_PER_PAGE: usize = 100;

/// A district's (or the city's) figures of the year to the data date.
struct Figures {
    units: usize,
    year: AreaFigures,
}

fn figures_of(site: &Site<'_>, district: Option<&str>) -> Figures {
    let year = figures::year(site);
    let in_area = |d: &str| district.is_none_or(|x| x == d);
    Figures {
        units: (site.registry.units.iter())
            .filter(|u| in_area(u.district.code))
            .count(),
        year: AreaFigures::of(figures::period_rows(site, &year).filter(|r| in_area(r.district))),
    }
}

/// One line of the district-against-city table.
#[derive(Serialize)]
struct VersusRow {
    name: String,
    district: String,
    city: String,
    share: String,
}

#[derive(Serialize)]
struct UnitRow {
    unit: Link,
    industry: String,
    exceedances: String,
    rate: String,
}

/// The district on the choropleth of the map page (its district outlined), and the link to
/// that page, whose table and method the colours follow.
#[derive(Serialize)]
struct DistrictMap {
    /// Inline SVG (`role="img"`, named by its title), escaped by [`crate::maps`].
    svg: String,
    caption: String,
    map: Link,
}

#[derive(Serialize)]
struct DistrictPage {
    lead: String,
    /// Page 1 only.
    comparisons: Option<Comparisons>,
    yoy_caption: String,
    units: Vec<UnitRow>,
    units_caption: String,
    pager: Option<super::shared::Pager>,
    directory: Option<Link>,
    exceedances: Link,
    index: Link,
    method: Vec<String>,
}

#[derive(Serialize)]
struct IndexRow {
    link: Link,
    units: String,
    monitored: String,
    exceedances: String,
    per_unit: String,
    rate: String,
    share: String,
}

#[derive(Serialize)]
struct DistrictsPage {
    lead: String,
    rows: Vec<IndexRow>,
    city: IndexRow,
    csv: String,
    method: Vec<String>,
}

fn name(lang: Lang, d: &District) -> String {
    pick(lang, d.zh, d.en).to_string()
}

fn district_slug(d: &District) -> Slug {
    Slug::new(d.code).expect("district codes are ASCII")
}

fn opt(site: &Site<'_>, lang: Lang, kind: Kind, v: Option<f64>) -> Result<String, SiteError> {
    match v {
        Some(v) => Ok(figures::value(lang, kind, v)),
        None => site.t(lang, "common.no_data"),
    }
}

fn percent(lang: Lang, v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format::percent(lang, v))
}

/// The district against the city: units, units monitored, exceedances, exceedances per
/// monitored unit, compliance rate, then mass per pollutant, each with the district's
/// share of the city where a share means something.
fn versus(
    site: &Site<'_>,
    lang: Lang,
    d: &Figures,
    city: &Figures,
) -> Result<Vec<VersusRow>, SiteError> {
    let row = |key: &str, kind: Kind, a: Option<f64>, b: Option<f64>, shared: bool| {
        Ok::<_, SiteError>(VersusRow {
            name: site.t(lang, key)?,
            district: opt(site, lang, kind, a)?,
            city: opt(site, lang, kind, b)?,
            share: if shared {
                percent(lang, a.zip(b).and_then(|(a, b)| share(a, b)))
            } else {
                String::new()
            },
        })
    };
    let (dy, cy) = (&d.year, &city.year);
    let mut v = vec![
        row(
            "comparisons.units",
            Kind::Count,
            Some(d.units as f64),
            Some(city.units as f64),
            true,
        )?,
        row(
            "comparisons.monitored",
            Kind::Count,
            Some(dy.monitored as f64),
            Some(cy.monitored as f64),
            true,
        )?,
        row(
            "comparisons.exceedances",
            Kind::Count,
            Some(dy.checks.exceedances() as f64),
            Some(cy.checks.exceedances() as f64),
            true,
        )?,
        row(
            "comparisons.per_unit",
            Kind::Average,
            dy.exceedances_per_unit(),
            cy.exceedances_per_unit(),
            false,
        )?,
        row(
            "comparisons.compliance_rate",
            Kind::Rate,
            dy.checks.rate(),
            cy.checks.rate(),
            false,
        )?,
    ];
    v.extend(mass_rows(site, lang, dy, cy)?);
    Ok(v)
}

/// The mass of each pollutant with a mass, the district's against the city's.
fn mass_rows(
    site: &Site<'_>,
    lang: Lang,
    dy: &AreaFigures,
    cy: &AreaFigures,
) -> Result<Vec<VersusRow>, SiteError> {
    let mut v = Vec::new();
    for (p, city_kg) in cy
        .mass_kg
        .iter()
        .filter(|(p, _)| figures::has_mass(site, p))
    {
        // A district without a row of the pollutant has no data of it (not a zero).
        let mine = dy.mass_kg.get(p).copied();
        v.push(VersusRow {
            name: figures::mass_name(site, lang, p)?,
            district: opt(site, lang, Kind::Mass, mine)?,
            city: format::decimal(lang, *city_kg, 1),
            share: percent(lang, mine.and_then(|m| share(m, *city_kg))),
        });
    }
    Ok(v)
}

/// The district's month figures, this year and last (`None`: no archive of last year).
fn district_months(
    site: &Site<'_>,
    code: &str,
) -> Result<(MonthFigures, Option<MonthFigures>), SiteError> {
    let month = figures::this_month(site);
    let rows: Vec<_> = figures::period_rows(site, &month)
        .filter(|r| r.district == code)
        .collect();
    let this = MonthFigures {
        checks_known: true,
        area: AreaFigures::of(rows),
        ..Default::default()
    };
    let last = figures::year_ago_totals(site)?.map(|(rows, known)| MonthFigures {
        checks_known: known,
        area: AreaFigures::of(rows.iter().filter(|r| r.district == code)),
        ..Default::default()
    });
    Ok((this, last))
}

fn unit_row(site: &Site<'_>, lang: Lang, u: &Unit<'_>, year: &str) -> Result<UnitRow, SiteError> {
    let rows = u
        .emission_totals
        .iter()
        .copied()
        .filter(|r| r.period_type == "year" && r.period == year);
    let a = AreaFigures::of(rows);
    let monitored = a.monitored > 0;
    Ok(UnitRow {
        unit: Link {
            href: urls::page(lang, &Route::Enterprise(u.uscc.clone())),
            text: pick(lang, u.row.name_zh, u.row.name_en).to_string(),
        },
        industry: pick(lang, u.row.industry_zh, u.row.industry_en).to_string(),
        exceedances: if monitored {
            format::integer(lang, a.checks.exceedances() as i64)
        } else {
            site.t(lang, "common.no_data")?
        },
        rate: opt(site, lang, Kind::Rate, a.checks.rate())?,
    })
}

/// The choropleth of exceedance records per unit (the map page's, [`super::map::class_of`])
/// with `d` outlined; `None` for an area without a boundary of its own (Yizhuang).
fn district_map(
    site: &Site<'_>,
    lang: Lang,
    d: &District,
    model: &MapModel<'_>,
) -> Result<Option<DistrictMap>, SiteError> {
    if !d.statutory {
        return Ok(None);
    }
    let classes: Vec<DistrictClass<'_>> = (model.areas.iter())
        .map(|a| DistrictClass {
            code: a.code,
            class: super::map::class_of(a, &model.city),
        })
        .collect();
    let labels: Vec<(&str, &str)> = (DISTRICTS.iter())
        .filter(|x| x.statutory)
        .map(|x| (x.code, pick(lang, x.zh, x.en)))
        .collect();
    let title = site.tf(
        lang,
        "comparisons.map_title",
        &[("district", &name(lang, d))],
    )?;
    let svg = maps::district_choropleth_svg(
        super::map::boundaries()?,
        &Choropleth {
            id: "district-map",
            title: &title,
            description: "",
            classes: &classes,
            labels: &labels,
            highlight: Some(d.code),
        },
    );
    Ok(Some(DistrictMap {
        svg,
        caption: site.tf(
            lang,
            "comparisons.map_caption",
            &[("district", &name(lang, d))],
        )?,
        map: site.link(lang, &Route::Map, "comparisons.map_link")?,
    }))
}

fn method(site: &Site<'_>, lang: Lang) -> Result<Vec<String>, SiteError> {
    let year = figures::year(site);
    [
        "comparisons.district_method",
        "comparisons.method_compliance_area",
        "comparisons.yoy_method",
    ]
    .iter()
    .map(|k| site.tf(lang, k, &[("year", &year)]))
    .collect()
}

fn yoy_caption(site: &Site<'_>, lang: Lang) -> Result<String, SiteError> {
    let this = format::parse_month(&figures::this_month(site))
        .map(|d| format::month(lang, d))
        .unwrap_or_default();
    site.tf(
        lang,
        "comparisons.yoy_caption",
        &[
            ("month", &this),
            ("date", &format::date(lang, site.data_date)),
        ],
    )
}

/// What only the first page of a district shows: the map and the comparisons.
#[derive(Serialize)]
struct Comparisons {
    /// A district with a boundary only.
    map: Option<DistrictMap>,
    versus: Vec<VersusRow>,
    yoy: Vec<YoyView>,
}

fn comparisons(
    site: &Site<'_>,
    lang: Lang,
    d: &District,
    city: &Figures,
    model: &MapModel<'_>,
) -> Result<Comparisons, SiteError> {
    let (this, last) = district_months(site, d.code)?;
    Ok(Comparisons {
        map: district_map(site, lang, d, model)?,
        versus: versus(site, lang, &figures_of(site, Some(d.code)), city)?,
        yoy: figures::area_yoy(site, lang, &this, last.as_ref())?,
    })
}

/// The links below the list: the directory's page of the district (only when it has
/// units: the directory has no page of an empty district), its exceedance register, the
/// index.
fn links(
    site: &Site<'_>,
    lang: Lang,
    slug: &Slug,
    has_units: bool,
) -> Result<(Option<Link>, Link, Link), SiteError> {
    let directory = if has_units {
        Some(Link {
            href: urls::page(lang, &Route::EnterprisesByDistrict(slug.clone())),
            text: site.t(lang, "comparisons.directory_link")?,
        })
    } else {
        None
    };
    let register = Link {
        href: urls::page(lang, &Route::ExceedancesByDistrict(slug.clone())),
        text: site.t(lang, "comparisons.register_link")?,
    };
    let index = site.link(lang, &Route::Districts, "comparisons.districts_title")?;
    Ok((directory, register, index))
}

/// One district's pages in one language.
fn render_district(
    site: &Site<'_>,
    out: &mut Output,
    lang: Lang,
    d: &District,
    city: &Figures,
    model: &MapModel<'_>,
) -> Result<(), SiteError> {
    let slug = district_slug(d);
    let route = Route::District(slug.clone());
    let units: Vec<&Unit<'_>> = (site.registry.units.iter())
        .filter(|u| u.district.code == d.code)
        .collect();
    let year = figures::year(site);
    let district_name = name(lang, d);
    let named = [("district", district_name.as_str())];
    let title = site.tf(lang, "comparisons.district_title", &named)?;
    let (directory, exceedances, index) = links(site, lang, &slug, !units.is_empty())?;
    let n = format::integer(lang, units.len() as i64);
    for page in list_pages(&units, UNITS_PER_PAGE) {
        let (pager, titled) = site.pager(lang, &route, &page, title.clone())?;
        let first = page.number == 1;
        let date = format::date(lang, site.data_date);
        let view = DistrictPage {
            lead: site.tf(
                lang,
                "comparisons.district_lead",
                &[named[0], ("date", &date)],
            )?,
            comparisons: first
                .then(|| comparisons(site, lang, d, city, model))
                .transpose()?,
            yoy_caption: yoy_caption(site, lang)?,
            units: (page.items.iter())
                .map(|u| unit_row(site, lang, u, &year))
                .collect::<Result<_, _>>()?,
            units_caption: site.tf(lang, "comparisons.district_units", &[("n", &n)])?,
            pager,
            directory: directory.clone(),
            exceedances: exceedances.clone(),
            index: index.clone(),
            method: method(site, lang)?,
        };
        site.render_page(
            out,
            lang,
            &urls::nth_page(&route, page.number),
            "district.html",
            titled,
            site.tf(lang, "comparisons.district_description", &named)?,
            site.crumbs(lang, &[(Route::Districts, "comparisons.districts_title")])?,
            &view,
        )?;
    }
    Ok(())
}

fn index_row(
    site: &Site<'_>,
    lang: Lang,
    link: Link,
    f: &Figures,
    city: &Figures,
) -> Result<IndexRow, SiteError> {
    let y = &f.year;
    Ok(IndexRow {
        link,
        units: format::integer(lang, f.units as i64),
        monitored: format::integer(lang, y.monitored as i64),
        exceedances: format::integer(lang, y.checks.exceedances() as i64),
        per_unit: opt(site, lang, Kind::Average, y.exceedances_per_unit())?,
        rate: opt(site, lang, Kind::Rate, y.checks.rate())?,
        share: percent(
            lang,
            share(
                y.checks.exceedances() as f64,
                city.year.checks.exceedances() as f64,
            ),
        ),
    })
}

/// The CSV beside the index: each district's figures and the city's, as summed.
fn index_csv(all: &[(&District, Figures)], city: &Figures) -> Vec<u8> {
    let line = |code: &str, zh: &str, en: &str, f: &Figures| {
        let y = &f.year;
        vec![
            code.to_string(),
            zh.to_string(),
            en.to_string(),
            f.units.to_string(),
            y.monitored.to_string(),
            y.checks.hours_checked.to_string(),
            y.checks.hourly_exceedances.to_string(),
            y.checks.days_checked.to_string(),
            y.checks.daily_exceedances.to_string(),
            y.checks.exceedances().to_string(),
            csv_rate(y.checks.rate()),
        ]
    };
    let mut rows: Vec<Vec<String>> = all
        .iter()
        .map(|(d, f)| line(d.code, d.zh, d.en, f))
        .collect();
    rows.push(line("city", "北京市", "Beijing", city));
    csv(
        &[
            "district",
            "district_zh",
            "district_en",
            "units",
            "units_monitored",
            "hours_checked",
            "hourly_exceedances",
            "days_checked",
            "daily_exceedances",
            "exceedances",
            "compliance_rate",
        ],
        &rows,
    )
}

/// Every district's pages and the index, in both languages.
pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let city = figures_of(site, None);
    let model = MapModel::new(&site.registry.units);
    let all: Vec<(&District, Figures)> = DISTRICTS
        .iter()
        .map(|d| (d, figures_of(site, Some(d.code))))
        .collect();
    let csv_name = Slug::new("districts").expect("ASCII");
    for lang in Lang::ALL {
        for (d, _) in &all {
            render_district(site, out, lang, d, &city, &model)?;
        }
        let csv_href = urls::beside(lang, &Route::Districts, &csv_name, "csv").unwrap_or_default();
        out.add(&csv_href, index_csv(&all, &city))?;
        let mut rows = Vec::new();
        for (d, f) in &all {
            let link = Link {
                href: urls::page(lang, &Route::District(district_slug(d))),
                text: name(lang, d),
            };
            rows.push(index_row(site, lang, link, f, &city)?);
        }
        let city_link = Link {
            href: urls::page(lang, &Route::Enterprises),
            text: site.t(lang, "comparisons.city")?,
        };
        let page = DistrictsPage {
            lead: site.tf(
                lang,
                "comparisons.districts_lead",
                &[("date", &format::date(lang, site.data_date))],
            )?,
            rows,
            city: index_row(site, lang, city_link, &city, &city)?,
            csv: csv_href,
            method: method(site, lang)?,
        };
        site.render_page(
            out,
            lang,
            &Route::Districts,
            "districts.html",
            site.t(lang, "comparisons.districts_title")?,
            site.t(lang, "comparisons.districts_description")?,
            site.crumbs(lang, &[])?,
            &page,
        )?;
    }
    Ok(())
}
