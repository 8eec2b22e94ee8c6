//! The key polluting units and everything published about each, indexed by credit code.
//!
//! Every identifier that later becomes part of a URL is checked here, once: the unit's
//! USCC ([`Uscc`]), district code (a known Beijing district), industry code and source
//! type ([`Slug`]). A unit that fails a check fails the build naming the value; other
//! tables' rows that name a unit not in the registry are shown without a link.

use crate::error::SiteError;
use crate::rows::{CemsDaily, EmissionTotal, Enterprise, Exceedance, Facility, Outlet, Rows};
use crate::urls::{Slug, Uscc};
use envgov_curated::OpenDay;
use envgov_dataset::ids::{District, district};
use std::collections::BTreeMap;

/// One key polluting unit and its records.
#[derive(Debug)]
pub struct Unit<'a> {
    pub uscc: Uscc,
    pub row: &'a Enterprise<'a>,
    pub district: &'static District,
    pub district_slug: Slug,
    pub industry_slug: Slug,
    pub source_type_slug: Slug,
    pub outlets: Vec<&'a Outlet<'a>>,
    pub facilities: Vec<&'a Facility<'a>>,
    pub cems_daily: Vec<&'a CemsDaily<'a>>,
    pub exceedances: Vec<&'a Exceedance<'a>>,
    pub emission_totals: Vec<&'a EmissionTotal<'a>>,
    pub open_days: Vec<&'a OpenDay>,
}

/// An industry as the registry names it.
#[derive(Debug, Clone)]
pub struct Industry<'a> {
    pub slug: Slug,
    pub zh: &'a str,
    pub en: &'a str,
}

#[derive(Debug)]
pub struct Registry<'a> {
    /// Sorted by district (in the order of [`envgov_dataset::ids::DISTRICTS`]), then USCC.
    pub units: Vec<Unit<'a>>,
    by_uscc: BTreeMap<&'a str, usize>,
    /// Industries present, by code.
    pub industries: BTreeMap<&'a str, Industry<'a>>,
    /// Source types present.
    pub source_types: Vec<Slug>,
}

fn bad_id(dataset: &str, field: &'static str, value: &str, reason: String) -> SiteError {
    SiteError::BadId {
        dataset: dataset.to_string(),
        field,
        value: value.to_string(),
        reason,
    }
}

fn group<'a, T>(rows: &'a [T], key: impl Fn(&T) -> &'a str) -> BTreeMap<&'a str, Vec<&'a T>> {
    let mut m: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    for r in rows {
        m.entry(key(r)).or_default().push(r);
    }
    m
}

/// The position of a district in the official order, for sorting.
pub fn district_rank(code: &str) -> usize {
    envgov_dataset::ids::DISTRICTS
        .iter()
        .position(|d| d.code == code)
        .unwrap_or(usize::MAX)
}

impl<'a> Registry<'a> {
    pub fn new(rows: &'a Rows<'a>, open_days: &'a [OpenDay]) -> Result<Registry<'a>, SiteError> {
        const DS: &str = crate::rows::ENTERPRISES;
        let mut outlets = group(&rows.outlets, |r| r.uscc);
        let mut facilities = group(&rows.facilities, |r| r.uscc);
        let mut cems = group(&rows.cems_daily, |r| r.uscc);
        let mut exceedances = group(&rows.exceedances, |r| r.uscc);
        let mut totals = group(&rows.emission_totals, |r| r.uscc);

        let mut units = Vec::with_capacity(rows.enterprises.len());
        let mut industries = BTreeMap::new();
        let mut source_types = Vec::new();
        for row in &rows.enterprises {
            let uscc = Uscc::new(row.uscc).map_err(|r| bad_id(DS, "uscc", row.uscc, r))?;
            let district = district(row.district).ok_or_else(|| {
                bad_id(
                    DS,
                    "district",
                    row.district,
                    "not a Beijing district code".into(),
                )
            })?;
            let district_slug =
                Slug::new(district.code).map_err(|r| bad_id(DS, "district", row.district, r))?;
            let industry_slug = Slug::new(row.industry_code)
                .map_err(|r| bad_id(DS, "industry_code", row.industry_code, r))?;
            let source_type_slug = Slug::new(row.source_type)
                .map_err(|r| bad_id(DS, "source_type", row.source_type, r))?;
            industries
                .entry(row.industry_code)
                .or_insert_with(|| Industry {
                    slug: industry_slug.clone(),
                    zh: row.industry_zh,
                    en: row.industry_en,
                });
            if !source_types.contains(&source_type_slug) {
                source_types.push(source_type_slug.clone());
            }
            let mut unit_cems = cems.remove(row.uscc).unwrap_or_default();
            unit_cems.sort_by(|a, b| {
                (a.outlet, a.pollutant, a.date).cmp(&(b.outlet, b.pollutant, b.date))
            });
            let mut unit_exceedances = exceedances.remove(row.uscc).unwrap_or_default();
            sort_exceedances(&mut unit_exceedances);
            let mut unit_outlets = outlets.remove(row.uscc).unwrap_or_default();
            unit_outlets.sort_by(|a, b| (a.outlet, a.pollutant).cmp(&(b.outlet, b.pollutant)));
            let mut unit_facilities = facilities.remove(row.uscc).unwrap_or_default();
            unit_facilities.sort_by(|a, b| a.facility.cmp(b.facility));
            let mut unit_totals = totals.remove(row.uscc).unwrap_or_default();
            unit_totals.sort_by(|a, b| {
                (a.pollutant, a.period_type != "year", a.period).cmp(&(
                    b.pollutant,
                    b.period_type != "year",
                    b.period,
                ))
            });
            let hosted = open_days
                .iter()
                .filter(|e| e.host_uscc.as_deref() == Some(row.uscc))
                .collect();
            units.push(Unit {
                uscc,
                row,
                district,
                district_slug,
                industry_slug,
                source_type_slug,
                outlets: unit_outlets,
                facilities: unit_facilities,
                cems_daily: unit_cems,
                exceedances: unit_exceedances,
                emission_totals: unit_totals,
                open_days: hosted,
            });
        }
        units.sort_by(|a, b| {
            (district_rank(a.district.code), a.uscc.as_str())
                .cmp(&(district_rank(b.district.code), b.uscc.as_str()))
        });
        let mut by_uscc = BTreeMap::new();
        for (i, u) in units.iter().enumerate() {
            if by_uscc.insert(u.row.uscc, i).is_some() {
                return Err(bad_id(DS, "uscc", u.row.uscc, "listed twice".into()));
            }
        }
        source_types.sort();
        Ok(Registry {
            units,
            by_uscc,
            industries,
            source_types,
        })
    }

    pub fn get(&self, uscc: &str) -> Option<&Unit<'a>> {
        self.by_uscc.get(uscc).map(|&i| &self.units[i])
    }
}

/// Newest first, then by id: the order of every exceedance list.
pub fn sort_exceedances(rows: &mut [&Exceedance<'_>]) {
    rows.sort_by(|a, b| {
        (b.date, b.observed_at, a.exceedance_id).cmp(&(a.date, a.observed_at, b.exceedance_id))
    });
}
