//! The map page of each language (`/{lang}/map/`): every key polluting unit on a map of
//! Beijing's districts (coloured by type, a triangle when it had an exceedance), the same
//! units as a list, a choropleth of exceedances per unit by district with its table and
//! method, and the boundaries' source, licence and CRS. Also the two map files it shows
//! (`districts.svg`, `exceedances-per-unit.svg`).
//!
//! Stage: rendering (pure). What is drawn and what is listed come from one [`MapModel`], so
//! the list holds exactly the map's units with the map's marks.

use super::shared::{Link, Site};
use crate::error::SiteError;
use crate::format;
use crate::maps::{self, CLASS_COLOURS, Choropleth, DistrictClass, MapPoint, NO_CLASS_COLOUR};
use crate::output::Output;
use crate::registry::Unit;
use crate::urls::{self, Route};
use envgov_curated::boundaries::Boundaries;
use envgov_dataset::Lang;
use envgov_dataset::ids::DISTRICTS;
use serde::Serialize;
use std::sync::OnceLock;

/// The embedded district boundaries, parsed once per process.
pub fn boundaries() -> Result<&'static Boundaries, SiteError> {
    static PARSED: OnceLock<Boundaries> = OnceLock::new();
    if let Some(b) = PARSED.get() {
        return Ok(b);
    }
    let parsed = Boundaries::beijing().map_err(SiteError::Boundaries)?;
    Ok(PARSED.get_or_init(|| parsed))
}

/// The locator maps' common part, built once per process.
fn locator_base() -> Result<&'static maps::LocatorBase, SiteError> {
    static BASE: OnceLock<maps::LocatorBase> = OnceLock::new();
    if let Some(b) = BASE.get() {
        return Ok(b);
    }
    let base = maps::LocatorBase::new(boundaries()?);
    Ok(BASE.get_or_init(|| base))
}

/// A point's colour by source type (Okabe–Ito, distinguishable with the common colour
/// vision deficiencies; every point has a dark outline for contrast); grey for a type
/// this table does not know.
pub fn type_colour(source_type: &str) -> &'static str {
    match source_type {
        "boiler" => "#e69f00",
        "industrial" => "#0072b2",
        "sewage-plant" => "#56b4e9",
        "msw-incinerator" => "#d55e00",
        "hospital" => "#cc79a7",
        "hazardous-waste" => "#000000",
        "livestock-farm" => "#009e73",
        _ => "#8c8c8c",
    }
}

/// Exceedance records of a unit in force (a withdrawn record stays in the register, and
/// does not count).
fn in_force(unit: &Unit<'_>) -> usize {
    unit.exceedances.iter().filter(|e| !e.withdrawn()).count()
}

/// A unit drawn on the map and listed beside it.
#[derive(Debug)]
pub struct Placed<'r> {
    pub unit: &'r Unit<'r>,
    pub lon: f64,
    pub lat: f64,
    /// Exceedance records in force: marked on the map when more than 0.
    pub exceedances: usize,
}

/// One area's counts for the choropleth.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaCounts {
    pub code: &'static str,
    pub units: usize,
    pub units_exceeded: usize,
    pub exceedances: usize,
}

impl AreaCounts {
    /// Exceedances per unit; `None` without units.
    pub fn per_unit(&self) -> Option<f64> {
        (self.units > 0).then(|| self.exceedances as f64 / self.units as f64)
    }
}

/// What the map page shows, computed once from the registry.
#[derive(Debug)]
pub struct MapModel<'r> {
    /// Units with coordinates, in registry order (district, then USCC).
    pub placed: Vec<Placed<'r>>,
    /// Units without coordinates: listed, not drawn.
    pub unplaced: Vec<&'r Unit<'r>>,
    /// Every area of [`DISTRICTS`] (16 districts and Yizhuang), in that order.
    pub areas: Vec<AreaCounts>,
    pub city: AreaCounts,
    /// First and last date of the exceedances in force, if any.
    pub period: Option<(&'r str, &'r str)>,
}

impl<'r> MapModel<'r> {
    pub fn new(units: &'r [Unit<'r>]) -> MapModel<'r> {
        let mut placed = Vec::new();
        let mut unplaced = Vec::new();
        for unit in units {
            match (unit.row.lon, unit.row.lat) {
                (Some(lon), Some(lat)) if lon.is_finite() && lat.is_finite() => {
                    placed.push(Placed {
                        unit,
                        lon,
                        lat,
                        exceedances: in_force(unit),
                    })
                }
                _ => unplaced.push(unit),
            }
        }
        let areas: Vec<AreaCounts> = DISTRICTS
            .iter()
            .map(|d| {
                let mine = units.iter().filter(|u| u.district.code == d.code);
                let counts: Vec<usize> = mine.map(in_force).collect();
                AreaCounts {
                    code: d.code,
                    units: counts.len(),
                    units_exceeded: counts.iter().filter(|&&n| n > 0).count(),
                    exceedances: counts.iter().sum(),
                }
            })
            .collect();
        let city = AreaCounts {
            code: "110000",
            units: areas.iter().map(|a| a.units).sum(),
            units_exceeded: areas.iter().map(|a| a.units_exceeded).sum(),
            exceedances: areas.iter().map(|a| a.exceedances).sum(),
        };
        let dates = units
            .iter()
            .flat_map(|u| u.exceedances.iter())
            .filter(|e| !e.withdrawn())
            .map(|e| e.date);
        let period = dates.clone().min().zip(dates.max());
        MapModel {
            placed,
            unplaced,
            areas,
            city,
            period,
        }
    }
}

/// The choropleth class of an area: its exceedances per unit against the city's, below
/// half (0), half to equal (1), up to 1.5 times (2), up to twice (3), twice or more (4);
/// `None` without units. When the city has none, every area with units is class 0.
pub fn class_of(area: &AreaCounts, city: &AreaCounts) -> Option<usize> {
    let rate = area.per_unit()?;
    let city_rate = city.per_unit().unwrap_or(0.0);
    if city_rate == 0.0 {
        return Some(0);
    }
    let ratio = rate / city_rate;
    Some(match ratio {
        r if r < 0.5 => 0,
        r if r < 1.0 => 1,
        r if r < 1.5 => 2,
        r if r < 2.0 => 3,
        _ => 4,
    })
}

#[derive(Serialize)]
struct MapPage {
    lead: String,
    base_src: String,
    width: String,
    height: String,
    points_svg: String,
    types: Vec<LegendItem>,
    caption: String,
    choropleth_src: String,
    choropleth_alt: String,
    method: String,
    classes: Vec<LegendItem>,
    districts: Vec<DistrictRow>,
    city: DistrictRow,
    list_lead: String,
    groups: Vec<UnitGroup>,
    unplaced: Vec<Link>,
}

#[derive(Serialize)]
struct LegendItem {
    colour: &'static str,
    text: String,
}

#[derive(Serialize)]
struct DistrictRow {
    name: String,
    href: Option<String>,
    units: String,
    units_exceeded: String,
    exceedances: String,
    per_unit: String,
    class: String,
    colour: &'static str,
}

/// A district's units in the list, by type; its heading links the district's page in the
/// directory, which lists the same units with a link to each.
#[derive(Serialize)]
struct UnitGroup {
    id: String,
    heading: String,
    href: Option<String>,
    kinds: Vec<KindGroup>,
}

/// The units of one type in a district (a list headed by the type: the entries do not
/// repeat it).
#[derive(Serialize)]
struct KindGroup {
    heading: String,
    rows: Vec<UnitRow>,
}

/// A unit in the list: its name (with the word for a mark), which also names its point on
/// the map (`aria-labelledby`), the point being the link to the unit's page. The list holds
/// no second link a unit: 2,000 units' links twice were a third of the page's weight.
#[derive(Serialize)]
struct UnitRow {
    id: String,
    name: String,
    exceeded: bool,
}

fn name_id(index: usize) -> String {
    format!("u{index}")
}

fn district_name(lang: Lang, code: &str) -> &'static str {
    DISTRICTS
        .iter()
        .find(|d| d.code == code)
        .map_or("", |d| match lang {
            Lang::Zh => d.zh,
            Lang::En => d.en,
        })
}

fn labels(lang: Lang) -> Vec<(&'static str, &'static str)> {
    DISTRICTS
        .iter()
        .filter(|d| d.statutory)
        .map(|d| (d.code, district_name(lang, d.code)))
        .collect()
}

fn period_text(site: &Site<'_>, lang: Lang, model: &MapModel<'_>) -> Result<String, SiteError> {
    let Some((from, to)) = model.period else {
        return site.t(lang, "map.period_none");
    };
    let date = |s: &str| {
        format::parse_date(s)
            .map(|d| format::date(lang, d))
            .ok_or_else(|| SiteError::BadDate {
                what: "exceedance register".into(),
                value: s.to_string(),
            })
    };
    site.tf(
        lang,
        "map.period",
        &[("from", &date(from)?), ("to", &date(to)?)],
    )
}

fn per_unit_text(lang: Lang, a: &AreaCounts) -> String {
    a.per_unit()
        .map_or_else(|| "–".to_string(), |v| format::decimal(lang, v, 2))
}

fn district_row(
    site: &Site<'_>,
    lang: Lang,
    a: &AreaCounts,
    city: &AreaCounts,
    name: String,
    href: Option<String>,
) -> Result<DistrictRow, SiteError> {
    let class = class_of(a, city);
    let n = |v: usize| format::integer(lang, v as i64);
    Ok(DistrictRow {
        name,
        href,
        units: n(a.units),
        units_exceeded: n(a.units_exceeded),
        exceedances: n(a.exceedances),
        per_unit: per_unit_text(lang, a),
        class: match class {
            Some(c) => site.t(lang, &format!("map.class_{c}"))?,
            None => site.t(lang, "map.class_none")?,
        },
        colour: class
            .and_then(|c| CLASS_COLOURS.get(c))
            .copied()
            .unwrap_or(NO_CLASS_COLOUR),
    })
}

fn district_rows(
    site: &Site<'_>,
    lang: Lang,
    model: &MapModel<'_>,
) -> Result<Vec<DistrictRow>, SiteError> {
    let mut rows = Vec::new();
    for a in &model.areas {
        let href = site
            .registry
            .units
            .iter()
            .find(|u| u.district.code == a.code)
            .map(|u| urls::page(lang, &Route::EnterprisesByDistrict(u.district_slug.clone())));
        let mut name = district_name(lang, a.code).to_string();
        if !DISTRICTS.iter().any(|d| d.code == a.code && d.statutory) {
            name = site.tf(lang, "map.no_boundary", &[("name", &name)])?;
        }
        rows.push(district_row(site, lang, a, &model.city, name, href)?);
    }
    Ok(rows)
}

fn unit_groups(
    site: &Site<'_>,
    lang: Lang,
    model: &MapModel<'_>,
) -> Result<Vec<UnitGroup>, SiteError> {
    let n = |v: usize| format::integer(lang, v as i64);
    let mut groups: Vec<UnitGroup> = Vec::new();
    for area in DISTRICTS.iter() {
        let mine: Vec<(usize, &Placed<'_>)> = model
            .placed
            .iter()
            .enumerate()
            .filter(|(_, p)| p.unit.district.code == area.code)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut kinds = Vec::new();
        for kind in &site.registry.source_types {
            let rows: Vec<UnitRow> = mine
                .iter()
                .filter(|(_, p)| &p.unit.source_type_slug == kind)
                .map(|(i, p)| UnitRow {
                    id: name_id(*i),
                    name: super::shared::pick(lang, p.unit.row.name_zh, p.unit.row.name_en)
                        .to_string(),
                    exceeded: p.exceedances > 0,
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            kinds.push(KindGroup {
                heading: site.tf(
                    lang,
                    "map.group",
                    &[
                        ("name", &site.t(lang, &format!("source_type.{kind}"))?),
                        ("n", &n(rows.len())),
                    ],
                )?,
                rows,
            });
        }
        groups.push(UnitGroup {
            id: format!("d-{}", area.code),
            href: mine.first().map(|(_, p)| {
                urls::page(
                    lang,
                    &Route::EnterprisesByDistrict(p.unit.district_slug.clone()),
                )
            }),
            heading: site.tf(
                lang,
                "map.group",
                &[
                    ("name", district_name(lang, area.code)),
                    ("n", &n(mine.len())),
                ],
            )?,
            kinds,
        });
    }
    Ok(groups)
}

/// The choropleth's text alternative: every area's exceedances per unit, and the city's.
fn choropleth_alt(site: &Site<'_>, lang: Lang, model: &MapModel<'_>) -> Result<String, SiteError> {
    let mut parts = Vec::new();
    for a in model.areas.iter().filter(|a| a.units > 0) {
        parts.push(site.tf(
            lang,
            "map.alt_item",
            &[
                ("name", district_name(lang, a.code)),
                ("value", &per_unit_text(lang, a)),
            ],
        )?);
    }
    site.tf(
        lang,
        "map.choropleth_alt",
        &[
            (
                "items",
                &parts.join(site.t(lang, "map.alt_separator")?.as_str()),
            ),
            ("city", &per_unit_text(lang, &model.city)),
        ],
    )
}

fn points(site: &Site<'_>, lang: Lang, model: &MapModel<'_>) -> Result<String, SiteError> {
    let kinds = &site.registry.source_types;
    let colours: Vec<&str> = kinds.iter().map(|k| type_colour(k.as_str())).collect();
    let hrefs: Vec<String> = model
        .placed
        .iter()
        .map(|p| urls::page(lang, &Route::Enterprise(p.unit.uscc.clone())))
        .collect();
    let ids: Vec<String> = (0..model.placed.len()).map(name_id).collect();
    let points: Vec<MapPoint<'_>> = model
        .placed
        .iter()
        .enumerate()
        .map(|(i, p)| MapPoint {
            lon: p.lon,
            lat: p.lat,
            href: &hrefs[i],
            name_id: &ids[i],
            kind: kinds
                .iter()
                .position(|k| k == &p.unit.source_type_slug)
                .unwrap_or(usize::MAX),
            marked: p.exceedances > 0,
        })
        .collect();
    Ok(maps::points_overlay_svg(
        boundaries()?,
        "map-points",
        &site.t(lang, "map.points_title")?,
        &colours,
        &points,
    ))
}

fn page(site: &Site<'_>, lang: Lang, model: &MapModel<'_>) -> Result<MapPage, SiteError> {
    let b = boundaries()?;
    let proj = maps::Projection::fit(&b.bbox, maps::MAP_WIDTH, 8.0);
    let period = period_text(site, lang, model)?;
    let mut types = Vec::new();
    for k in &site.registry.source_types {
        types.push(LegendItem {
            colour: type_colour(k.as_str()),
            text: site.t(lang, &format!("source_type.{k}"))?,
        });
    }
    let mut classes = Vec::new();
    for (c, colour) in CLASS_COLOURS.iter().enumerate() {
        classes.push(LegendItem {
            colour,
            text: site.t(lang, &format!("map.class_{c}"))?,
        });
    }
    classes.push(LegendItem {
        colour: NO_CLASS_COLOUR,
        text: site.t(lang, "map.class_none")?,
    });
    let n = |v: usize| format::integer(lang, v as i64);
    Ok(MapPage {
        lead: site.tf(lang, "map.lead", &[("period", &period)])?,
        base_src: urls::map_file(lang, "districts.svg"),
        // Whole pixels (HTML's width and height are integers); the aspect ratio is the SVG's.
        width: format!("{}", maps::MAP_WIDTH.round() as i64),
        height: format!("{}", proj.height.round() as i64),
        points_svg: points(site, lang, model)?,
        types,
        caption: site.t(lang, "map.caption")?,
        choropleth_src: urls::map_file(lang, "exceedances-per-unit.svg"),
        choropleth_alt: choropleth_alt(site, lang, model)?,
        method: site.tf(
            lang,
            "map.method",
            &[
                ("period", &period),
                ("city", &per_unit_text(lang, &model.city)),
            ],
        )?,
        classes,
        districts: district_rows(site, lang, model)?,
        city: district_row(
            site,
            lang,
            &model.city,
            &model.city,
            site.t(lang, "map.city")?,
            None,
        )?,
        list_lead: site.tf(
            lang,
            "map.list_lead",
            &[
                ("n", &n(model.placed.len())),
                (
                    "marked",
                    &n(model.placed.iter().filter(|p| p.exceedances > 0).count()),
                ),
            ],
        )?,
        groups: unit_groups(site, lang, model)?,
        unplaced: model
            .unplaced
            .iter()
            .map(|u| Link {
                href: urls::page(lang, &Route::Enterprise(u.uscc.clone())),
                text: super::shared::pick(lang, u.row.name_zh, u.row.name_en).to_string(),
            })
            .collect(),
    })
}

/// The two map files of a language: the labelled districts under the points, and the
/// choropleth.
fn files(
    site: &Site<'_>,
    lang: Lang,
    model: &MapModel<'_>,
    out: &mut Output,
) -> Result<(), SiteError> {
    let b = boundaries()?;
    let names = labels(lang);
    let base = maps::base_map_svg(b, "districts", &site.t(lang, "map.base_title")?, &names);
    out.add(&urls::map_file(lang, "districts.svg"), base.into_bytes())?;
    let classes: Vec<DistrictClass<'_>> = model
        .areas
        .iter()
        .map(|a| DistrictClass {
            code: a.code,
            class: class_of(a, &model.city),
        })
        .collect();
    let title = site.t(lang, "map.choropleth_heading")?;
    let alt = choropleth_alt(site, lang, model)?;
    let svg = maps::district_choropleth_svg(
        b,
        &Choropleth {
            id: "choropleth",
            title: &title,
            description: &alt,
            classes: &classes,
            labels: &names,
            highlight: None,
        },
    );
    out.add(
        &urls::map_file(lang, "exceedances-per-unit.svg"),
        svg.into_bytes(),
    )?;
    Ok(())
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let model = MapModel::new(&site.registry.units);
    for lang in Lang::ALL {
        files(site, lang, &model, out)?;
        let page = page(site, lang, &model)?;
        site.render_page(
            out,
            lang,
            &Route::Map,
            "map.html",
            site.t(lang, "map.title")?,
            site.t(lang, "map.description")?,
            site.crumbs(lang, &[])?,
            &page,
        )?;
    }
    Ok(())
}

/// The small locator map of a unit page (`templates/locator.html`, included by
/// `enterprise.html` as `page.locator`).
#[derive(Debug, Serialize)]
pub struct LocatorView {
    /// Inline SVG, `role="img"`, named by its title (the text alternative).
    pub svg: String,
    /// The map page, and the link's text.
    pub map: Link,
}

/// The locator of a unit: Beijing's districts, the unit's district filled, its point; `None`
/// for a unit without coordinates. The text alternative says the district and the
/// coordinates (WGS 84 as published).
pub fn locator(
    site: &Site<'_>,
    lang: Lang,
    unit: &Unit<'_>,
) -> Result<Option<LocatorView>, SiteError> {
    let (Some(lon), Some(lat)) = (unit.row.lon, unit.row.lat) else {
        return Ok(None);
    };
    if !(lon.is_finite() && lat.is_finite()) {
        return Ok(None);
    }
    let district = super::shared::pick(lang, unit.district.zh, unit.district.en);
    let title = site.tf(
        lang,
        "map.locator_title",
        &[
            ("district", district),
            ("lat", &format!("{lat:.5}")),
            ("lon", &format!("{lon:.5}")),
        ],
    )?;
    // A unit of the Yizhuang area (no boundary of its own) shows Daxing, where it lies.
    let host = if unit.district.statutory {
        unit.district.code
    } else {
        "110115"
    };
    Ok(Some(LocatorView {
        svg: locator_base()?.svg("locator", Some(host), lon, lat, &title),
        map: site.link(lang, &Route::Map, "map.locator_link")?,
    }))
}
