//! Dataset manifests: the Frictionless Data Package written beside each dataset, and the
//! catalogue of all datasets. The site generator reads these; the pipeline writes them.
//!
//! Frictionless core properties (`name`, `title`, `description`, `resources`, `schema`,
//! `fields`, `licenses`, `sources`, `hash`) hold the English text; the bilingual text is
//! kept in the `envgov:`-prefixed custom properties, which the specification allows.

use crate::Localized;
use serde::{Deserialize, Serialize};

/// A Frictionless Data Package (`datapackage.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPackage {
    pub profile: String,
    pub name: String,
    pub title: String,
    pub description: String,
    #[serde(rename = "envgov:title")]
    pub titles: Localized,
    #[serde(rename = "envgov:description")]
    pub descriptions: Localized,
    pub version: String,
    /// The data date this package describes (`YYYY-MM-DD`).
    #[serde(rename = "envgov:dataDate")]
    pub data_date: String,
    /// Next expected update, in words and as a date.
    #[serde(rename = "envgov:nextUpdate")]
    pub next_update: String,
    pub licenses: Vec<License>,
    pub sources: Vec<SourceRef>,
    pub keywords: Vec<String>,
    pub resources: Vec<Resource>,
    /// The dated archive snapshots of this dataset, oldest first.
    #[serde(rename = "envgov:archives")]
    pub archives: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct License {
    pub name: String,
    pub path: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub title: String,
    #[serde(rename = "envgov:title")]
    pub titles: Localized,
    /// Storage prefix of the raw data this dataset is derived from.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// `tabular-data-resource` for the CSV, `data-resource` for the other formats.
    #[serde(default = "data_resource")]
    pub profile: String,
    pub name: String,
    pub path: String,
    pub format: String,
    pub mediatype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `gz` for a gzip-compressed file (Frictionless `compression`: its `bytes` and `hash`
    /// are those of the compressed file); absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    pub bytes: u64,
    /// `sha256:<hex>` of the file's bytes.
    pub hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<TableSchema>,
    #[serde(rename = "envgov:rows")]
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    pub fields: Vec<Field>,
    #[serde(rename = "primaryKey", skip_serializing_if = "Vec::is_empty", default)]
    pub primary_key: Vec<String>,
}

/// A column of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    /// Frictionless type: string, integer, number, boolean, date, datetime.
    #[serde(rename = "type")]
    pub field_type: String,
    pub title: String,
    pub description: String,
    #[serde(rename = "envgov:title")]
    pub titles: Localized,
    #[serde(rename = "envgov:description")]
    pub descriptions: Localized,
    /// Unit of measurement, e.g. `mg/m3`, `t`, `%`; absent for dimensionless fields.
    #[serde(
        rename = "envgov:unit",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub unit: Option<String>,
}

/// `datasets/catalogue.json`: one entry per published dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    pub data_date: String,
    pub datasets: Vec<CatalogueEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub id: String,
    pub title: Localized,
    pub description: Localized,
    pub rows: u64,
    pub data_date: String,
}

fn data_resource() -> String {
    "data-resource".into()
}
