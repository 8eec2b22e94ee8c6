//! `data/datasets.toml`: the published datasets (titles, descriptions, sources, update
//! cadence) and the field dictionary (bilingual titles, descriptions and units of every
//! column). A published column without a dictionary entry fails the run.

use crate::error::{CuratedError, parse};
use envgov_dataset::Localized;
use serde::Deserialize;
use std::collections::BTreeMap;

const FILE: &str = "datasets.toml";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSource {
    pub zh: String,
    pub en: String,
    /// Storage prefix of the raw data (`raw/cems/`).
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetDef {
    pub id: String,
    pub title: Localized,
    pub description: Localized,
    pub sources: Vec<DatasetSource>,
    #[serde(default)]
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// When the next update is expected, in words (`nightly, around 02:00 Asia/Shanghai`).
    pub update: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub title: Localized,
    pub description: Localized,
    #[serde(default)]
    pub unit: Option<String>,
}

pub type Fields = BTreeMap<String, FieldDef>;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datasets {
    pub dataset: Vec<DatasetDef>,
    pub field: Fields,
}

impl Datasets {
    pub fn parse(text: &str) -> Result<Self, CuratedError> {
        let d: Datasets = parse(FILE, text)?;
        let tr = |source| CuratedError::Translation { file: FILE, source };
        for (i, ds) in d.dataset.iter().enumerate() {
            ds.title
                .check(&format!("dataset {} title", ds.id))
                .map_err(tr)?;
            ds.description
                .check(&format!("dataset {} description", ds.id))
                .map_err(tr)?;
            for s in &ds.sources {
                Localized::new(s.zh.clone(), s.en.clone())
                    .check(&format!("dataset {} source", ds.id))
                    .map_err(tr)?;
            }
            if envgov_dataset::layout::check_segment(&ds.id).is_err()
                || d.dataset[..i].iter().any(|o| o.id == ds.id)
            {
                return Err(CuratedError::Invalid {
                    file: FILE,
                    message: format!("bad or duplicate dataset id {}", ds.id),
                });
            }
        }
        for (name, f) in &d.field {
            f.title.check(&format!("field {name} title")).map_err(tr)?;
            f.description
                .check(&format!("field {name} description"))
                .map_err(tr)?;
        }
        Ok(d)
    }
}
