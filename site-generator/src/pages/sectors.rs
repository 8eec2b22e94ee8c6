//! Sector pages: vehicles (six fleet sectors), waste treatment (sewage effluent, municipal
//! solid waste, medical waste, construction waste) and livestock manure, each with its plan
//! indicators and tables from the datasets; and an index of the three.

use super::shared::{IndicatorView, Link, PageLink, Pager, Site};
use crate::charts::{self, BarChart, ChartView};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::rows;
use crate::urls::{self, Route, Sector, Slug};
use envgov_dataset::Lang;
use serde::Serialize;

/// A column of a data table.
#[derive(Debug, Serialize)]
pub struct Column {
    pub label: String,
    pub numeric: bool,
}

/// A cell, optionally a link.
#[derive(Debug, Serialize)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

/// A table of published rows with its caption and the dataset it comes from.
#[derive(Debug, Serialize)]
pub struct TableView {
    pub id: String,
    pub caption: String,
    pub note: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub dataset: Link,
}

#[derive(Serialize)]
struct SectorPage {
    intro: String,
    charts: Vec<ChartView>,
    indicators: Vec<IndicatorView>,
    tables: Vec<TableView>,
    others: Vec<Link>,
    /// The links between the months of a page split by month (the waste page).
    pager: Option<Pager>,
}

/// One month's page of a sector page split by month.
struct MonthPage {
    /// 1-based; 1 is the latest month, shown at the sector's own route.
    number: usize,
    month: String,
    pager: Pager,
}

/// The months of the waste datasets' rows, the latest first.
fn waste_months(site: &Site<'_>) -> Vec<String> {
    let r = site.rows;
    let months: std::collections::BTreeSet<&str> = (r.sewage.iter().map(|x| x.month))
        .chain(r.msw.iter().map(|x| x.month))
        .chain(r.medical_waste.iter().map(|x| x.month))
        .chain(r.construction_waste.iter().map(|x| x.month))
        .collect();
    months.into_iter().rev().map(str::to_string).collect()
}

#[derive(Serialize)]
struct SectorCard {
    link: Link,
    intro: String,
    indicators: Vec<IndicatorView>,
}

#[derive(Serialize)]
struct SectorsPage {
    sectors: Vec<SectorCard>,
    /// The industries of the key polluting units, each with its ranking page.
    industries: Vec<super::industries::IndustryCard>,
    districts: Link,
}

fn indicator_ids(sector: Sector) -> &'static [&'static str] {
    match sector {
        Sector::Vehicles => &[
            "vehicle_electrification_share",
            "vehicle_china6_share",
            "vehicle_inspection_pass_rate",
        ],
        Sector::Waste => &[
            "sewage_effluent_compliance_rate",
            "msw_harmless_treatment_rate",
            "kitchen_waste_compost_t",
            "medical_waste_treated_share",
            "construction_waste_recycled_products_t",
        ],
        Sector::Livestock => &[
            "livestock_facility_equipping_rate",
            "livestock_manure_utilisation_rate",
        ],
    }
}

fn key(sector: Sector) -> &'static str {
    match sector {
        Sector::Vehicles => "sectors.vehicles",
        Sector::Waste => "sectors.waste",
        Sector::Livestock => "sectors.livestock",
    }
}

fn intro_key(sector: Sector) -> &'static str {
    match sector {
        Sector::Vehicles => "sectors.vehicles_intro",
        Sector::Waste => "sectors.waste_intro",
        Sector::Livestock => "sectors.livestock_intro",
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        href: None,
    }
}

fn rate(lang: Lang, r: Option<f64>) -> Cell {
    text(r.map_or_else(|| "—".to_string(), |r| format::percent(lang, r)))
}

fn int(lang: Lang, n: u64) -> Cell {
    text(format::integer(lang, n as i64))
}

fn tonnes(lang: Lang, t: f64) -> Cell {
    text(format::decimal(lang, t, 1))
}

struct Builder<'s, 'a> {
    site: &'s Site<'a>,
    lang: Lang,
}

impl Builder<'_, '_> {
    fn columns(&self, cols: &[(&str, bool)]) -> Result<Vec<Column>, SiteError> {
        cols.iter()
            .map(|(key, numeric)| {
                Ok(Column {
                    label: self.site.t(self.lang, key)?,
                    numeric: *numeric,
                })
            })
            .collect()
    }

    fn dataset(&self, id: &str) -> Link {
        let slug = Slug::new(id).expect("dataset ids are slugs");
        let title = self
            .site
            .inputs
            .packages
            .get(id)
            .map(|p| p.titles.get(self.lang).to_string())
            .unwrap_or_else(|| id.to_string());
        Link {
            href: urls::page(self.lang, &Route::Dataset(slug)),
            text: title,
        }
    }

    /// A facility or operator named in the data, linked when it is a registered unit.
    fn named(&self, name: &str, uscc: Option<&str>) -> Cell {
        Cell {
            text: name.to_string(),
            href: uscc.and_then(|u| self.site.unit_href(self.lang, u)),
        }
    }

    fn month(&self, m: &str) -> Cell {
        text(
            format::parse_month(m)
                .map(|d| format::month(self.lang, d))
                .unwrap_or_else(|| m.to_string()),
        )
    }

    fn label(&self, prefix: &str, value: &str) -> Result<Cell, SiteError> {
        Ok(text(self.site.t(self.lang, &format!("{prefix}.{value}"))?))
    }

    fn table(
        &self,
        id: &str,
        caption: &str,
        note: Option<&str>,
        cols: &[(&str, bool)],
        rows: Vec<Vec<Cell>>,
        dataset: &str,
    ) -> Result<TableView, SiteError> {
        Ok(TableView {
            id: id.to_string(),
            caption: self.site.t(self.lang, caption)?,
            note: note.map(|k| self.site.t(self.lang, k)).transpose()?,
            columns: self.columns(cols)?,
            rows,
            dataset: self.dataset(dataset),
        })
    }

    /// The electrified share of each fleet sector (sector totals), in percent.
    fn fleet_chart(&self) -> Result<Option<BarChart>, SiteError> {
        let l = self.lang;
        let mut totals: Vec<_> = self
            .site
            .rows
            .vehicle_fleets
            .iter()
            .filter(|r| r.level == "sector")
            .collect();
        totals.sort_by(|a, b| a.sector.cmp(b.sector));
        let mut bars = Vec::new();
        for r in totals {
            if let Some(share) = r.electrification_share {
                bars.push((
                    self.label("vehicle_sector", r.sector)?.text,
                    share * 100.0,
                    format::percent(l, share),
                ));
            }
        }
        let Some(summary) = self
            .site
            .extremes_summary(l, "chart.fleets_summary", &bars)?
        else {
            return Ok(None);
        };
        Ok(Some(BarChart {
            id: "fleet-electrification",
            title: self.site.t(l, "chart.fleets_title")?,
            summary,
            category_axis: self.site.t(l, "chart.sector")?,
            value_axis: self.site.t(l, "chart.share_axis")?,
            category_column: self.site.t(l, "chart.sector")?,
            value_column: self.site.t(l, "chart.share_axis")?,
            bars,
            horizontal: true,
            min_top: 100.0,
            label_every: 1,
            axis_labels: None,
        }))
    }

    fn vehicles(&self) -> Result<Vec<TableView>, SiteError> {
        let l = self.lang;
        let mut sectors = Vec::new();
        let mut operators = Vec::new();
        let mut fleets: Vec<_> = self.site.rows.vehicle_fleets.iter().collect();
        fleets.sort_by(|a, b| {
            (a.sector, a.operator_uscc.unwrap_or(""))
                .cmp(&(b.sector, b.operator_uscc.unwrap_or("")))
        });
        for r in fleets {
            let sector = self.label("vehicle_sector", r.sector)?;
            let mut row = vec![
                sector,
                int(l, r.vehicles),
                int(l, r.bev),
                int(l, r.fcev),
                int(l, r.phev),
                rate(l, r.electrification_share),
                rate(l, r.china6_share),
                rate(l, r.inspection_pass_rate),
            ];
            if r.level == "sector" {
                sectors.push(row);
            } else {
                row.insert(
                    0,
                    self.named(r.operator_name.unwrap_or("—"), r.operator_uscc),
                );
                operators.push(row);
            }
        }
        let cols = [
            ("vehicles.vehicles", true),
            ("vehicles.bev", true),
            ("vehicles.fcev", true),
            ("vehicles.phev", true),
            ("vehicles.electrification_share", true),
            ("vehicles.china6_share", true),
            ("vehicles.inspection_pass_rate", true),
        ];
        let mut sector_cols = vec![("vehicles.sector", false)];
        sector_cols.extend(cols);
        let mut operator_cols = vec![("vehicles.operator", false), ("vehicles.sector", false)];
        operator_cols.extend(cols);
        Ok(vec![
            self.table(
                "fleet-sectors",
                "vehicles.by_sector",
                Some("vehicles.note"),
                &sector_cols,
                sectors,
                rows::VEHICLE_FLEETS,
            )?,
            self.table(
                "fleet-operators",
                "vehicles.by_operator",
                None,
                &operator_cols,
                operators,
                rows::VEHICLE_FLEETS,
            )?,
        ])
    }

    /// The waste tables, of `month`'s rows only (`None`: every row).
    fn waste(&self, month: Option<&str>) -> Result<Vec<TableView>, SiteError> {
        let l = self.lang;
        let site = self.site;
        let of_month = |m: &str| month.is_none_or(|month| m == month);
        let mut sewage: Vec<_> = site
            .rows
            .sewage
            .iter()
            .filter(|r| of_month(r.month))
            .collect();
        sewage.sort_by(|a, b| (a.month, a.uscc).cmp(&(b.month, b.uscc)));
        let sewage_rows = sewage
            .into_iter()
            .map(|r| {
                vec![
                    self.named(r.plant_name, Some(r.uscc)),
                    self.month(r.month),
                    text(site.standard_code(r.standard)),
                    int(l, r.days),
                    int(l, r.checks),
                    int(l, r.exceedances),
                    int(l, r.nh3n_exceedances),
                    rate(l, r.compliance_rate),
                    text(format::decimal(l, r.flow_m3, 0)),
                ]
            })
            .collect();
        let mut msw: Vec<_> = site.rows.msw.iter().filter(|r| of_month(r.month)).collect();
        msw.sort_by(|a, b| (a.month, a.method, a.uscc).cmp(&(b.month, b.method, b.uscc)));
        let mut msw_rows = Vec::new();
        for r in msw {
            msw_rows.push(vec![
                self.named(r.facility_name, Some(r.uscc)),
                self.label("msw_method", r.method)?,
                self.month(r.month),
                tonnes(l, r.received_t),
                tonnes(l, r.harmless_t),
                tonnes(l, r.products_t),
                rate(l, r.harmless_treatment_rate),
            ]);
        }
        let mut medical: Vec<_> = (site.rows.medical_waste.iter())
            .filter(|r| of_month(r.month))
            .collect();
        medical.sort_by(|a, b| {
            (a.month, crate::registry::district_rank(a.district))
                .cmp(&(b.month, crate::registry::district_rank(b.district)))
        });
        let medical_rows = medical
            .into_iter()
            .map(|r| {
                vec![
                    text(site.district_name(l, r.district)),
                    self.month(r.month),
                    int(l, r.days),
                    tonnes(l, r.collected_t),
                    tonnes(l, r.treated_t),
                    rate(l, r.treated_share),
                ]
            })
            .collect();
        let mut construction: Vec<_> = (site.rows.construction_waste.iter())
            .filter(|r| of_month(r.month))
            .collect();
        construction.sort_by(|a, b| {
            (a.month, a.uscc, a.product_type).cmp(&(b.month, b.uscc, b.product_type))
        });
        let mut construction_rows = Vec::new();
        for r in construction {
            construction_rows.push(vec![
                self.named(r.facility_name, Some(r.uscc)),
                text(site.district_name(l, r.district)),
                self.label("product_type", r.product_type)?,
                self.month(r.month),
                tonnes(l, r.received_t),
                tonnes(l, r.recycled_products_t),
                rate(l, r.recycling_rate),
            ]);
        }
        Ok(vec![
            self.table(
                "sewage",
                "waste.sewage",
                Some("waste.sewage_note"),
                &[
                    ("waste.plant", false),
                    ("common.month", false),
                    ("waste.standard", false),
                    ("waste.days", true),
                    ("waste.checks", true),
                    ("waste.exceedances", true),
                    ("waste.nh3n_exceedances", true),
                    ("waste.compliance_rate", true),
                    ("waste.flow_m3", true),
                ],
                sewage_rows,
                rows::SEWAGE_COMPLIANCE,
            )?,
            self.table(
                "msw",
                "waste.msw",
                None,
                &[
                    ("waste.facility", false),
                    ("waste.method", false),
                    ("common.month", false),
                    ("waste.received_t", true),
                    ("waste.harmless_t", true),
                    ("waste.products_t", true),
                    ("waste.harmless_rate", true),
                ],
                msw_rows,
                rows::MSW_TREATMENT,
            )?,
            self.table(
                "medical-waste",
                "waste.medical",
                None,
                &[
                    ("common.district", false),
                    ("common.month", false),
                    ("waste.days", true),
                    ("waste.collected_t", true),
                    ("waste.treated_t", true),
                    ("waste.treated_share", true),
                ],
                medical_rows,
                rows::MEDICAL_WASTE,
            )?,
            self.table(
                "construction-waste",
                "waste.construction",
                None,
                &[
                    ("waste.facility", false),
                    ("common.district", false),
                    ("waste.product_type", false),
                    ("common.month", false),
                    ("waste.received_t", true),
                    ("waste.recycled_t", true),
                    ("waste.recycling_rate", true),
                ],
                construction_rows,
                rows::CONSTRUCTION_WASTE,
            )?,
        ])
    }

    /// The waste page split by month, so that no page grows with the year: page 1 shows the
    /// latest month of data, page `k` the `k`-th latest; the pager names the months. Data of
    /// one month (or none) makes one page without a pager.
    fn render_waste(&self, out: &mut Output) -> Result<(), SiteError> {
        let route = Route::Sector(Sector::Waste);
        let months = waste_months(self.site);
        if months.len() <= 1 {
            return self.render(out, Sector::Waste, self.waste(None)?, None);
        }
        let href = |k: usize| urls::page(self.lang, &urls::nth_page(&route, k));
        let pages: Vec<PageLink> = (months.iter().enumerate())
            .map(|(i, m)| PageLink {
                href: href(i + 1),
                text: self.month(m).text,
                current: false,
            })
            .collect();
        for (i, m) in months.iter().enumerate() {
            let n = |v: usize| format::integer(self.lang, v as i64);
            let pager = Pager {
                status: self.site.tf(
                    self.lang,
                    "sectors.month_status",
                    &[
                        ("month", &self.month(m).text),
                        ("page", &n(i + 1)),
                        ("pages", &n(months.len())),
                    ],
                )?,
                pages: (pages.iter().enumerate())
                    .map(|(k, p)| PageLink {
                        current: k == i,
                        ..p.clone()
                    })
                    .collect(),
                previous: (i > 0).then(|| href(i)),
                next: (i + 1 < months.len()).then(|| href(i + 2)),
            };
            let page = MonthPage {
                number: i + 1,
                month: self.month(m).text,
                pager,
            };
            self.render(out, Sector::Waste, self.waste(Some(m))?, Some(page))?;
        }
        Ok(())
    }

    /// Renders the page of `sector` (or one month's page of it) with `tables`.
    fn render(
        &self,
        out: &mut Output,
        sector: Sector,
        tables: Vec<TableView>,
        month: Option<MonthPage>,
    ) -> Result<(), SiteError> {
        let (site, lang) = (self.site, self.lang);
        let mut others = Vec::new();
        for s in Sector::ALL.into_iter().filter(|s| *s != sector) {
            others.push(site.link(lang, &Route::Sector(s), key(s))?);
        }
        let intro = site.t(lang, intro_key(sector))?;
        let charts = match sector {
            Sector::Vehicles => self
                .fleet_chart()?
                .map(|c| charts::render(out, lang, &c))
                .transpose()?
                .into_iter()
                .collect(),
            Sector::Waste | Sector::Livestock => Vec::new(),
        };
        let mut title = site.t(lang, key(sector))?;
        let mut route = Route::Sector(sector);
        if let Some(m) = month.as_ref().filter(|m| m.number > 1) {
            title = site.tf(
                lang,
                "sectors.month_title",
                &[("title", &title), ("month", &m.month)],
            )?;
            route = urls::nth_page(&route, m.number);
        }
        let page = SectorPage {
            charts,
            intro: intro.clone(),
            indicators: indicators(site, lang, sector)?,
            tables,
            others,
            pager: month.map(|m| m.pager),
        };
        site.render_page(
            out,
            lang,
            &route,
            "sector.html",
            title,
            intro,
            site.crumbs(lang, &[(Route::Sectors, "nav.sectors")])?,
            &page,
        )
    }

    fn livestock(&self) -> Result<Vec<TableView>, SiteError> {
        let l = self.lang;
        let mut rows: Vec<_> = self.site.rows.livestock.iter().collect();
        rows.sort_by_key(|r| crate::registry::district_rank(r.district));
        let table_rows = rows
            .into_iter()
            .map(|r| {
                vec![
                    text(self.site.district_name(l, r.district)),
                    int(l, r.farms),
                    text(format::decimal(l, r.pig_equivalents, 0)),
                    int(l, r.farms_equipped),
                    int(l, r.farms_operating),
                    int(l, r.farms_third_party),
                    tonnes(l, r.manure_produced_t),
                    tonnes(l, r.manure_utilised_t),
                    rate(l, r.equipping_rate),
                    rate(l, r.utilisation_rate),
                ]
            })
            .collect();
        Ok(vec![self.table(
            "livestock-districts",
            "livestock.by_district",
            Some("livestock.note"),
            &[
                ("common.district", false),
                ("livestock.farms", true),
                ("livestock.pig_equivalents", true),
                ("livestock.equipped", true),
                ("livestock.operating", true),
                ("livestock.third_party", true),
                ("livestock.produced_t", true),
                ("livestock.utilised_t", true),
                ("livestock.equipping_rate", true),
                ("livestock.utilisation_rate", true),
            ],
            table_rows,
            rows::LIVESTOCK_MANURE,
        )?])
    }
}

fn indicators(
    site: &Site<'_>,
    lang: Lang,
    sector: Sector,
) -> Result<Vec<IndicatorView>, SiteError> {
    indicator_ids(sector)
        .iter()
        .map(|id| site.indicator_view(lang, id))
        .collect()
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    for lang in Lang::ALL {
        let mut cards = Vec::new();
        for s in Sector::ALL {
            cards.push(SectorCard {
                link: site.link(lang, &Route::Sector(s), key(s))?,
                intro: site.t(lang, intro_key(s))?,
                indicators: indicators(site, lang, s)?,
            });
        }
        site.render_page(
            out,
            lang,
            &Route::Sectors,
            "sectors.html",
            site.t(lang, "sectors.title")?,
            site.t(lang, "sectors.description")?,
            site.crumbs(lang, &[])?,
            &SectorsPage {
                sectors: cards,
                industries: super::industries::cards(site, lang)?,
                districts: site.link(lang, &Route::Districts, "comparisons.districts_title")?,
            },
        )?;
    }
    super::industries::render(site, out)?;
    for sector in Sector::ALL {
        for lang in Lang::ALL {
            let b = Builder { site, lang };
            match sector {
                Sector::Vehicles => b.render(out, sector, b.vehicles()?, None)?,
                Sector::Livestock => b.render(out, sector, b.livestock()?, None)?,
                Sector::Waste => b.render_waste(out)?,
            }
        }
    }
    Ok(())
}
