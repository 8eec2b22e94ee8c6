//! The facilities behind the waste files: sewage plants, MSW sites and construction-waste
//! recyclers, drawn once per sample from the registry (see `world`).

use crate::geography::AREAS;
use crate::identity::{NameBook, Registrant, UsccBook};
use crate::registry::{SourceType, Unit};
use crate::streams::{log_uniform, pick, pick_weighted, stream, uniform, weighted};
use envgov_dataset::vocab::{MswMethod, ProductType};

/// The pollutants of `sewage.csv`, in column order.
pub(crate) const SEWAGE_POLLUTANTS: [&str; 6] =
    ["w01018", "w01017", "w01012", "w21003", "w21001", "w21011"];

/// A plant of `sewage.csv`.
pub(crate) struct SewageSite {
    pub(crate) uscc: String,
    pub(crate) name: String,
    /// Standard id in `data/standards.toml`.
    pub(crate) standard: String,
    /// Operating point per [`SEWAGE_POLLUTANTS`] column.
    pub(crate) levels: [f64; 6],
    /// Typical flow, m3/d.
    pub(crate) flow: f64,
}

/// The registry's sewage plants (the key units, with the levels of their outlet) and, as
/// in the municipal statistics, smaller town plants that are not key units: at least 20
/// plants, plus one per 25 registered units.
pub(crate) fn sewage_sites(seed: u64, units: &[Unit], usccs: &mut UsccBook) -> Vec<SewageSite> {
    let mut sites: Vec<SewageSite> = units
        .iter()
        .filter(|u| u.source_type == SourceType::SewagePlant)
        .map(|u| {
            let outlet = &u.outlets[0];
            let levels = SEWAGE_POLLUTANTS.map(|p| {
                outlet
                    .pollutants
                    .iter()
                    .position(|x| x == p)
                    .map_or(0.5, |i| outlet.levels[i])
            });
            SewageSite {
                uscc: u.uscc.clone(),
                name: u.name_zh.clone(),
                standard: outlet.standard.clone(),
                levels,
                flow: outlet.flow,
            }
        })
        .collect();
    let mut rng = stream(seed, "sewage-sites", &[units.len() as u64]);
    let mut names = NameBook::default();
    let outer: Vec<f64> = AREAS.iter().map(|a| a.farm_weight).collect();
    let extra = 20usize.saturating_sub(sites.len()) + units.len() / 25;
    for _ in 0..extra {
        let area = &AREAS[weighted(&mut rng, &outer)];
        let standard = pick_weighted(
            &mut rng,
            &[
                ("DB11-890-2012-existing-B", 0.5),
                ("DB11-890-2012-new-B", 0.35),
                ("DB11-890-2012-new-A", 0.15),
            ],
        );
        sites.push(SewageSite {
            uscc: usccs.issue(&mut rng, area.region, Registrant::Enterprise),
            name: names
                .plant(&mut rng, "污水处理厂", "Sewage Treatment Plant")
                .0,
            standard: standard.to_string(),
            levels: [0.0; 6].map(|_| uniform(&mut rng, 0.15, 0.85)),
            flow: log_uniform(&mut rng, 10_000.0, 100_000.0),
        });
    }
    sites
}

/// A facility of `msw.csv`.
pub(crate) struct MswSite {
    pub(crate) uscc: String,
    pub(crate) name: String,
    pub(crate) method: MswMethod,
    /// Typical daily intake, t.
    pub(crate) capacity: f64,
}

/// A facility of `construction-waste.csv`.
pub(crate) struct ConstructionSite {
    pub(crate) uscc: String,
    pub(crate) name: String,
    pub(crate) district: &'static str,
    pub(crate) capacity: f64,
    pub(crate) product: ProductType,
}

/// The products, in the order the generator draws them from.
pub(crate) const PRODUCTS: &[ProductType] = ProductType::ALL;

/// The registry's incinerators plus landfills and kitchen-waste plants.
pub(crate) fn msw_sites(seed: u64, units: &[Unit], usccs: &mut UsccBook) -> Vec<MswSite> {
    let mut rng = stream(seed, "msw-sites", &[units.len() as u64]);
    let mut sites: Vec<MswSite> = units
        .iter()
        .filter(|u| u.source_type == SourceType::MswIncinerator)
        .map(|u| MswSite {
            uscc: u.uscc.clone(),
            name: u.name_zh.clone(),
            method: MswMethod::Incineration,
            capacity: uniform(&mut rng, 1000.0, 3000.0).round(),
        })
        .collect();
    let mut names = NameBook::default();
    let outer: Vec<f64> = AREAS.iter().map(|a| a.farm_weight).collect();
    let landfills = (3 + units.len() / 300).min(6);
    let kitchens = (6 + units.len() / 100).min(15);
    for i in 0..landfills + kitchens {
        let area = &AREAS[weighted(&mut rng, &outer)];
        let (method, word_zh, word_en, cap) = if i < landfills {
            (
                MswMethod::Landfill,
                "垃圾卫生填埋场",
                "Sanitary Landfill",
                (200.0, 1500.0),
            )
        } else if (i - landfills) % 3 != 2 {
            (
                MswMethod::KitchenCompost,
                "厨余垃圾处理厂",
                "Kitchen Waste Plant",
                (100.0, 500.0),
            )
        } else {
            (
                MswMethod::KitchenAnaerobic,
                "厨余垃圾处理厂",
                "Kitchen Waste Plant",
                (200.0, 800.0),
            )
        };
        sites.push(MswSite {
            uscc: usccs.issue(&mut rng, area.region, Registrant::Enterprise),
            name: names.plant(&mut rng, word_zh, word_en).0,
            method,
            capacity: uniform(&mut rng, cap.0, cap.1).round(),
        });
    }
    sites
}

/// 12-30 construction-waste recycling facilities.
pub(crate) fn construction_sites(
    seed: u64,
    units: usize,
    usccs: &mut UsccBook,
) -> Vec<ConstructionSite> {
    let mut rng = stream(seed, "construction-sites", &[units as u64]);
    let mut names = NameBook::default();
    let weights: Vec<f64> = AREAS
        .iter()
        .map(|a| {
            if a.farm_weight > 0.0 {
                a.unit_weight
            } else {
                0.0
            }
        })
        .collect();
    (0..(12 + units / 50).min(30))
        .map(|_| {
            let area = &AREAS[weighted(&mut rng, &weights)];
            ConstructionSite {
                uscc: usccs.issue(&mut rng, area.region, Registrant::Enterprise),
                name: names
                    .company(&mut rng, "建筑垃圾资源化", "Construction Waste Recycling")
                    .0,
                district: area.district.code,
                capacity: log_uniform(&mut rng, 700.0, 5000.0),
                product: pick(&mut rng, PRODUCTS),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_counts_scale_with_units_within_bounds() {
        let mut book = UsccBook::default();
        assert_eq!(construction_sites(1, 300, &mut book).len(), 18);
        assert_eq!(construction_sites(1, 5000, &mut book).len(), 30);
    }
}
