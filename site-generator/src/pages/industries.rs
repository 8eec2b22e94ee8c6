//! Industry pages (`/{lang}/sectors/industry/{code}/`): the key polluting units of one
//! industry ranked by compliance and by mass emitted per pollutant, over the year to the
//! data date, each ranking with its method and the CSV of exactly the numbers ranked
//! beside the page (`compliance.csv`, `mass.csv`), reproducible from `emission-totals`.
//!
//! Stage: rendering. The ranking rules are [`crate::comparison`]'s.

use super::figures::{self, csv, csv_rate, has_mass};
use super::shared::{Link, Site, pick};
use crate::comparison::{Checks, Ranked, UnitChecks, UnitMass, rank_by_compliance, rank_by_mass};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::registry::{Industry, Unit};
use crate::rows;
use crate::urls::{self, Route, Slug};
use envgov_dataset::Lang;
use serde::Serialize;
use std::collections::BTreeMap;

/// Units shown of each pollutant's mass ranking (the CSV has them all).
pub const MASS_SHOWN: usize = 10;

/// One industry's units and their year rows, by credit code.
struct IndustryUnits<'s, 'a> {
    units: Vec<&'s Unit<'a>>,
}

impl<'s, 'a> IndustryUnits<'s, 'a> {
    fn year_rows<'u>(
        u: &'u Unit<'a>,
        year: &'u str,
    ) -> impl Iterator<Item = &'u rows::EmissionTotal<'a>> + 'u {
        u.emission_totals
            .iter()
            .copied()
            .filter(move |r| r.period_type == "year" && r.period == year)
    }

    fn compliance(&self, year: &str) -> Vec<Ranked<UnitChecks<'s>>> {
        rank_by_compliance(
            self.units
                .iter()
                .map(|u| {
                    let mut checks = Checks::default();
                    for r in Self::year_rows(u, year) {
                        checks.add(r);
                    }
                    UnitChecks {
                        uscc: u.uscc.as_str(),
                        checks,
                    }
                })
                .collect(),
        )
    }

    /// Of each pollutant with a mass that a unit of the industry has a row of, the ranking.
    fn mass(&self, site: &Site<'_>, year: &str) -> Vec<(String, Vec<Ranked<UnitMass<'s>>>)> {
        let mut by: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
        for u in &self.units {
            for r in Self::year_rows(u, year).filter(|r| has_mass(site, r.pollutant)) {
                by.entry(r.pollutant)
                    .or_default()
                    .insert(u.uscc.as_str(), r.mass_kg);
            }
        }
        by.into_iter()
            .map(|(p, masses)| {
                let units = self.units.iter().map(|u| UnitMass {
                    uscc: u.uscc.as_str(),
                    mass_kg: masses.get(u.uscc.as_str()).copied(),
                });
                (p.to_string(), rank_by_mass(units.collect()))
            })
            .collect()
    }
}

#[derive(Serialize)]
struct RankRow {
    rank: String,
    unit: Link,
    /// The unit's district (the compliance ranking), a text cell.
    district: Option<String>,
    /// The numbers ranked.
    cells: Vec<String>,
    no_data: bool,
}

#[derive(Serialize)]
struct ColumnView {
    label: String,
    numeric: bool,
}

#[derive(Serialize)]
struct RankingView {
    id: String,
    caption: String,
    columns: Vec<ColumnView>,
    rows: Vec<RankRow>,
    /// "10 of 45 units shown; the CSV has every unit."
    more: Option<String>,
}

#[derive(Serialize)]
struct IndustryPage {
    lead: String,
    compliance: RankingView,
    mass: Vec<RankingView>,
    compliance_csv: String,
    mass_csv: String,
    method: Vec<String>,
    sectors: Link,
}

/// A card of the sectors index.
#[derive(Serialize)]
pub struct IndustryCard {
    pub link: Link,
    pub code: String,
    pub units: String,
    pub monitored: String,
    pub rate: String,
}

fn no_data(site: &Site<'_>, lang: Lang) -> Result<String, SiteError> {
    site.t(lang, "common.no_data")
}

fn unit_link(lang: Lang, u: &Unit<'_>) -> Link {
    Link {
        href: urls::page(lang, &Route::Enterprise(u.uscc.clone())),
        text: pick(lang, u.row.name_zh, u.row.name_en).to_string(),
    }
}

fn rank_text(lang: Lang, rank: Option<usize>) -> String {
    rank.map_or_else(|| "—".to_string(), |r| format::integer(lang, r as i64))
}

struct Builder<'s, 'a> {
    site: &'s Site<'a>,
    lang: Lang,
    units: BTreeMap<&'s str, &'s Unit<'a>>,
}

impl Builder<'_, '_> {
    fn unit(&self, uscc: &str) -> Result<&Unit<'_>, SiteError> {
        self.units
            .get(uscc)
            .copied()
            .ok_or_else(|| SiteError::MissingInput {
                dataset: rows::ENTERPRISES.to_string(),
                what: "a ranked unit in the registry",
            })
    }

    fn compliance_view(&self, ranked: &[Ranked<UnitChecks<'_>>]) -> Result<RankingView, SiteError> {
        let (site, l) = (self.site, self.lang);
        let year = figures::year(site);
        let mut rows = Vec::new();
        for r in ranked {
            let u = self.unit(r.item.uscc)?;
            let c = &r.item.checks;
            let n = |v: u64| format::integer(l, v as i64);
            let mut cells = if r.rank.is_some() {
                vec![
                    n(c.hours_checked),
                    n(c.hourly_exceedances),
                    n(c.days_checked),
                    n(c.daily_exceedances),
                ]
            } else {
                vec![String::new(); 4]
            };
            cells.push(n(sample_exceedances(u, &year)));
            cells.push(
                c.rate()
                    .map_or(no_data(site, l)?, |x| format::percent(l, x)),
            );
            rows.push(RankRow {
                rank: rank_text(l, r.rank),
                unit: unit_link(l, u),
                district: Some(pick(l, u.district.zh, u.district.en).to_string()),
                cells,
                no_data: r.rank.is_none(),
            });
        }
        let mut columns = Vec::new();
        for (k, numeric) in [
            ("comparisons.rank", true),
            ("comparisons.unit", false),
            ("common.district", false),
            ("comparisons.hours_checked", true),
            ("comparisons.hourly_exceedances", true),
            ("comparisons.days_checked", true),
            ("comparisons.daily_exceedances", true),
            ("comparisons.sample_exceedances", true),
            ("comparisons.compliance_rate", true),
        ] {
            columns.push(ColumnView {
                label: site.t(l, k)?,
                numeric,
            });
        }
        Ok(RankingView {
            id: "ranking-compliance".into(),
            caption: site.t(l, "comparisons.by_compliance")?,
            columns,
            rows,
            more: None,
        })
    }

    fn mass_view(
        &self,
        pollutant: &str,
        ranked: &[Ranked<UnitMass<'_>>],
    ) -> Result<RankingView, SiteError> {
        let (site, l) = (self.site, self.lang);
        let mut rows = Vec::new();
        for r in ranked.iter().filter(|r| r.rank.is_some()).take(MASS_SHOWN) {
            let u = self.unit(r.item.uscc)?;
            rows.push(RankRow {
                rank: rank_text(l, r.rank),
                unit: unit_link(l, u),
                district: None,
                cells: vec![
                    r.item
                        .mass_kg
                        .map_or(String::new(), |m| format::decimal(l, m, 1)),
                ],
                no_data: false,
            });
        }
        let ranked_n = ranked.iter().filter(|r| r.rank.is_some()).count();
        let without = ranked.len() - ranked_n;
        let n = |v: usize| format::integer(l, v as i64);
        let more = (ranked_n > MASS_SHOWN || without > 0)
            .then(|| {
                site.tf(
                    l,
                    "comparisons.mass_more",
                    &[
                        ("shown", &n(ranked_n.min(MASS_SHOWN))),
                        ("ranked", &n(ranked_n)),
                        ("without", &n(without)),
                    ],
                )
            })
            .transpose()?;
        Ok(RankingView {
            id: format!("ranking-mass-{pollutant}"),
            caption: site.tf(
                l,
                "comparisons.by_mass",
                &[("pollutant", &site.pollutant_name(l, pollutant))],
            )?,
            columns: vec![
                ColumnView {
                    label: site.t(l, "comparisons.rank")?,
                    numeric: true,
                },
                ColumnView {
                    label: site.t(l, "comparisons.unit")?,
                    numeric: false,
                },
                ColumnView {
                    label: site.t(l, "comparisons.mass_kg")?,
                    numeric: true,
                },
            ],
            rows,
            more,
        })
    }
}

/// The CSV behind the compliance ranking.
fn compliance_csv(
    units: &BTreeMap<&str, &Unit<'_>>,
    ranked: &[Ranked<UnitChecks<'_>>],
    year: &str,
) -> Vec<u8> {
    let rows: Vec<Vec<String>> = ranked
        .iter()
        .map(|r| {
            let c = &r.item.checks;
            let unit = units.get(r.item.uscc);
            let (zh, en) = unit.map_or(("", ""), |u| (u.row.name_zh, u.row.name_en));
            let samples = unit.map_or(0, |u| sample_exceedances(u, year));
            let data = r.rank.is_some();
            let n = |v: u64| if data { v.to_string() } else { String::new() };
            vec![
                r.rank.map_or_else(String::new, |k| k.to_string()),
                r.item.uscc.to_string(),
                zh.to_string(),
                en.to_string(),
                n(c.hours_checked),
                n(c.hourly_exceedances),
                n(c.days_checked),
                n(c.daily_exceedances),
                n(c.checks()),
                n(c.exceedances()),
                csv_rate(c.rate()),
                samples.to_string(),
            ]
        })
        .collect();
    csv(
        &[
            "rank",
            "uscc",
            "name_zh",
            "name_en",
            "hours_checked",
            "hourly_exceedances",
            "days_checked",
            "daily_exceedances",
            "checks",
            "exceedances",
            "compliance_rate",
            "sample_exceedances",
        ],
        &rows,
    )
}

/// A unit's self-monitoring sample exceedances in force in `year` (rows of the register
/// with `record_source` self-monitoring, not withdrawn, `date` in the year): shown beside
/// the compliance rate, not part of it.
fn sample_exceedances(u: &Unit<'_>, year: &str) -> u64 {
    (u.exceedances.iter())
        .filter(|e| e.record_source == "self-monitoring" && !e.withdrawn())
        .filter(|e| e.date.get(..4) == Some(year) && e.date.get(4..5) == Some("-"))
        .count() as u64
}

/// The CSV behind the mass rankings: every unit of each pollutant, ranked or not.
fn mass_csv(
    units: &BTreeMap<&str, &Unit<'_>>,
    rankings: &[(String, Vec<Ranked<UnitMass<'_>>>)],
) -> Vec<u8> {
    let mut rows = Vec::new();
    for (p, ranked) in rankings {
        for r in ranked {
            let (zh, en) = units
                .get(r.item.uscc)
                .map_or(("", ""), |u| (u.row.name_zh, u.row.name_en));
            rows.push(vec![
                p.clone(),
                r.rank.map_or_else(String::new, |k| k.to_string()),
                r.item.uscc.to_string(),
                zh.to_string(),
                en.to_string(),
                r.item.mass_kg.map_or_else(String::new, |m| m.to_string()),
            ]);
        }
    }
    csv(
        &["pollutant", "rank", "uscc", "name_zh", "name_en", "mass_kg"],
        &rows,
    )
}

fn csv_slug(name: &str) -> Slug {
    Slug::new(name).expect("CSV names are ASCII")
}

/// The method, paragraph by paragraph, with the data year and the industry code filled.
fn method(site: &Site<'_>, lang: Lang, year: &str, code: &str) -> Result<Vec<String>, SiteError> {
    [
        "comparisons.method_compliance",
        "comparisons.method_ties",
        "comparisons.method_no_data",
        "comparisons.method_samples",
        "comparisons.method_mass",
        "comparisons.method_reproduce",
    ]
    .iter()
    .map(|k| site.tf(lang, k, &[("year", year), ("code", code)]))
    .collect()
}

/// Renders one industry's page in both languages and its two CSVs (the same bytes in both
/// languages' folders).
fn render_industry(
    site: &Site<'_>,
    out: &mut Output,
    code: &str,
    industry: &Industry<'_>,
) -> Result<(), SiteError> {
    let members: Vec<&Unit<'_>> = (site.registry.units.iter())
        .filter(|u| u.row.industry_code == code)
        .collect();
    let by_uscc: BTreeMap<&str, &Unit<'_>> =
        members.iter().map(|u| (u.uscc.as_str(), *u)).collect();
    let iu = IndustryUnits { units: members };
    let year = figures::year(site);
    let compliance = iu.compliance(&year);
    let mass = iu.mass(site, &year);
    let route = Route::Industry(industry.slug.clone());
    for lang in Lang::ALL {
        let b = Builder {
            site,
            lang,
            units: by_uscc.clone(),
        };
        let compliance_href =
            urls::beside(lang, &route, &csv_slug("compliance"), "csv").unwrap_or_default();
        let mass_href = urls::beside(lang, &route, &csv_slug("mass"), "csv").unwrap_or_default();
        out.add(
            &compliance_href,
            compliance_csv(&by_uscc, &compliance, &year),
        )?;
        out.add(&mass_href, mass_csv(&by_uscc, &mass))?;
        let name = pick(lang, industry.zh, industry.en).to_string();
        let page = IndustryPage {
            lead: site.tf(
                lang,
                "comparisons.industry_lead",
                &[
                    ("industry", &name),
                    ("units", &format::integer(lang, iu.units.len() as i64)),
                    ("date", &format::date(lang, site.data_date)),
                ],
            )?,
            compliance: b.compliance_view(&compliance)?,
            mass: mass
                .iter()
                .map(|(p, r)| b.mass_view(p, r))
                .collect::<Result<_, _>>()?,
            compliance_csv: compliance_href,
            mass_csv: mass_href,
            method: method(site, lang, &year, code)?,
            sectors: site.link(lang, &Route::Sectors, "nav.sectors")?,
        };
        site.render_page(
            out,
            lang,
            &route,
            "industry.html",
            site.tf(lang, "comparisons.industry_title", &[("industry", &name)])?,
            site.tf(
                lang,
                "comparisons.industry_description",
                &[("industry", &name)],
            )?,
            site.crumbs(lang, &[(Route::Sectors, "nav.sectors")])?,
            &page,
        )?;
    }
    Ok(())
}

/// Every industry's page.
pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    for (code, industry) in &site.registry.industries {
        render_industry(site, out, code, industry)?;
    }
    Ok(())
}

/// The industries as the sectors index lists them: units, units with online monitoring
/// and the industry's compliance rate over the year.
pub fn cards(site: &Site<'_>, lang: Lang) -> Result<Vec<IndustryCard>, SiteError> {
    let year = figures::year(site);
    let mut cards = Vec::new();
    for (code, ind) in &site.registry.industries {
        let units = (site.registry.units.iter()).filter(|u| u.row.industry_code == *code);
        let rows = figures::period_rows(site, &year).filter(|r| r.industry_code == *code);
        let area = crate::comparison::AreaFigures::of(rows);
        cards.push(IndustryCard {
            link: Link {
                href: urls::page(lang, &Route::Industry(ind.slug.clone())),
                text: pick(lang, ind.zh, ind.en).to_string(),
            },
            code: code.to_string(),
            units: format::integer(lang, units.count() as i64),
            monitored: format::integer(lang, area.monitored as i64),
            rate: area
                .checks
                .rate()
                .map_or(no_data(site, lang)?, |r| format::percent(lang, r)),
        });
    }
    Ok(cards)
}
