//! `data/datasets.toml`: the published datasets (titles, descriptions, sources, update
//! cadence) and the field dictionary (bilingual titles, descriptions and units of every
//! column). A published column without a dictionary entry fails the run.

use crate::error::{CuratedError, parse};
use envgov_dataset::Localized;
use envgov_dataset::published::DatasetId;
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
        d.check_contract()?;
        for (name, f) in &d.field {
            f.title.check(&format!("field {name} title")).map_err(tr)?;
            f.description
                .check(&format!("field {name} description"))
                .map_err(tr)?;
        }
        Ok(d)
    }

    /// The file describes exactly the published datasets of the contract
    /// ([`DatasetId::ALL`], in that order), each with its primary key among its columns, and
    /// every column of every published shape has a field entry.
    fn check_contract(&self) -> Result<(), CuratedError> {
        let invalid = |message: String| CuratedError::Invalid {
            file: FILE,
            message,
        };
        let ids: Vec<&str> = self.dataset.iter().map(|d| d.id.as_str()).collect();
        let contract: Vec<&str> = DatasetId::ALL.iter().map(|d| d.as_str()).collect();
        if ids != contract {
            return Err(invalid(format!(
                "the datasets are [{}], the published datasets of the contract (envgov_dataset::published) are [{}]",
                ids.join(", "),
                contract.join(", ")
            )));
        }
        for (def, id) in self.dataset.iter().zip(DatasetId::ALL) {
            let shape = id.shape();
            for column in &def.primary_key {
                if !shape.iter().any(|(name, _)| name == column) {
                    return Err(invalid(format!(
                        "dataset {id}: primary key column {column} is not one of its columns"
                    )));
                }
            }
            if let Some((name, _)) = shape
                .iter()
                .find(|(name, _)| !self.field.contains_key(*name))
            {
                return Err(invalid(format!(
                    "dataset {id}: column {name} has no [field.{name}] entry"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = include_str!("../../../data/datasets.toml");

    fn invalid(text: &str) -> String {
        match Datasets::parse(text) {
            Err(CuratedError::Invalid { message, .. }) => message,
            other => panic!("expected an invalid file, got {other:?}"),
        }
    }

    #[test]
    fn the_file_describes_exactly_the_published_datasets_and_their_columns() {
        let d = Datasets::parse(TEXT).unwrap();
        assert_eq!(d.dataset.len(), DatasetId::ALL.len());
        // A column of a published shape without its dictionary entry.
        let start = TEXT.find("[field.collected_t]").unwrap();
        let end = start + TEXT[start..].find("\n\n").unwrap();
        let message = invalid(&format!("{}{}", &TEXT[..start], &TEXT[end..]));
        assert!(message.contains("column collected_t"), "{message}");
        // A dataset of the contract left out.
        let start = TEXT.find("[[dataset]]\nid = \"plan-indicators\"").unwrap();
        let end = start + TEXT[start..].find("\n\n").unwrap();
        let message = invalid(&format!("{}{}", &TEXT[..start], &TEXT[end..]));
        assert!(message.contains("plan-indicators"), "{message}");
    }
}
