//! The sample world: everything that stays the same from day to day (the registry's units,
//! the waste facilities, farms and fleets), built once per configuration from the seed.
//! Pure: no I/O.

use crate::identity::UsccBook;
use crate::livestock::Farm;
use crate::registry::{self, Unit};
use crate::vehicles::Fleet;
use crate::waste_sites::{ConstructionSite, MswSite, SewageSite};
use envgov_curated::Curated;
use std::collections::BTreeSet;

pub(crate) struct World {
    pub seed: u64,
    pub curated: Curated,
    pub units: Vec<Unit>,
    /// Every registered device id (`mn`).
    pub mns: BTreeSet<String>,
    pub sewage_sites: Vec<SewageSite>,
    pub msw_sites: Vec<MswSite>,
    pub construction_sites: Vec<ConstructionSite>,
    pub farms: Vec<Farm>,
    pub fleet: Fleet,
}

impl World {
    pub(crate) fn build(seed: u64, units: usize, xss_probes: bool) -> Self {
        let curated = Curated::load().expect("the embedded curated tables are valid");
        let mut usccs = UsccBook::default();
        let units = registry::units(seed, units, xss_probes, &mut usccs);
        let mns = units
            .iter()
            .flat_map(|u| u.outlets.iter().filter_map(|o| o.mn.clone()))
            .collect();
        let sewage_sites = crate::waste_sites::sewage_sites(seed, &units, &mut usccs);
        let msw_sites = crate::waste_sites::msw_sites(seed, &units, &mut usccs);
        let construction_sites =
            crate::waste_sites::construction_sites(seed, units.len(), &mut usccs);
        let farms = crate::livestock::farms(seed, &units, &mut usccs);
        let fleet = crate::vehicles::fleet(seed, units.len(), &mut usccs);
        Self {
            seed,
            curated,
            units,
            mns,
            sewage_sites,
            msw_sites,
            construction_sites,
            farms,
            fleet,
        }
    }
}
