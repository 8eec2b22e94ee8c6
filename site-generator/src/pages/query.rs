//! The query page of each dataset (`/{lang}/datasets/{id}/query/`): SQL over the dataset's
//! published Parquet files of this release, run in the reader's browser by DuckDB-WASM
//! (served with the site from `envgov_dataset::layout::QUERY_ENGINE_DIR`; nothing leaves
//! the browser), with the example queries of `queries/examples.toml`, the result as a table
//! and as CSV. The page lists the Parquet files it reads and says plainly when the release
//! has no query engine. The script is `assets/query.js`; every value it shows is set as text.

use super::shared::{Link, Site, pick};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::urls::{self, Route, Slug};
use envgov_dataset::Lang;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::manifest::DataPackage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The example queries, embedded.
const EXAMPLES: &str = include_str!("../../queries/examples.toml");

/// Rows of a result shown on the page (the CSV export has them all).
pub const ROW_LIMIT: usize = 1000;

/// The fewest example queries a dataset's page offers.
const MIN_EXAMPLES: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    dataset: Vec<DatasetExamples>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetExamples {
    id: String,
    example: Vec<Example>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Example {
    zh: String,
    en: String,
    sql: String,
}

/// Dataset id → its example queries, checked: at least [`MIN_EXAMPLES`] each, titled in both
/// languages, with SQL.
fn examples() -> Result<BTreeMap<String, Vec<Example>>, SiteError> {
    let bad = |dataset: String, reason: String| SiteError::QueryExamples { dataset, reason };
    let file: ExampleFile =
        toml::from_str(EXAMPLES).map_err(|e| bad(String::new(), e.to_string()))?;
    let mut by_id = BTreeMap::new();
    for d in file.dataset {
        if d.example.len() < MIN_EXAMPLES {
            return Err(bad(
                d.id,
                format!(
                    "{} example queries, at least {MIN_EXAMPLES} needed",
                    d.example.len()
                ),
            ));
        }
        if let Some(e) = d
            .example
            .iter()
            .find(|e| e.zh.trim().is_empty() || e.en.trim().is_empty() || e.sql.trim().is_empty())
        {
            return Err(bad(
                d.id,
                format!("an example without a zh or en title or SQL ({:?})", e.en),
            ));
        }
        if by_id.insert(d.id.clone(), d.example).is_some() {
            return Err(bad(d.id, "listed twice".into()));
        }
    }
    Ok(by_id)
}

/// The table a dataset is queried as: its id with `_` for `-` (`cems-daily` → `cems_daily`).
pub fn table_name(id: &str) -> String {
    id.replace('-', "_")
}

#[derive(Serialize)]
struct ParquetFile {
    href: String,
    name: String,
    size: String,
}

#[derive(Serialize)]
struct ExampleView {
    id: String,
    title: String,
    sql: String,
}

#[derive(Serialize)]
struct Engine {
    module: String,
    worker: String,
    wasm: String,
    version: &'static str,
}

#[derive(Serialize)]
struct QueryPage {
    id: String,
    table: String,
    dataset: String,
    dataset_title: String,
    files: Vec<ParquetFile>,
    examples: Vec<ExampleView>,
    sql: String,
    engine: Option<Engine>,
    script: String,
    row_limit: usize,
    row_limit_text: String,
    version: &'static str,
}

/// The Parquet files of a dataset's package: `{id}.parquet`, or one a month.
fn parquet_files(lang: Lang, id: &Slug, p: &DataPackage) -> Vec<ParquetFile> {
    let single = format!("{id}.{}", Format::Parquet.extension());
    p.resources
        .iter()
        .filter(|r| r.path.ends_with(".parquet"))
        .filter_map(|r| {
            let href = if r.path == single {
                urls::dataset_file(id, Format::Parquet)
            } else {
                urls::dataset_resource(id, &r.path)?
            };
            Some(ParquetFile {
                href,
                name: r.path.clone(),
                size: format::file_size(lang, r.bytes),
            })
        })
        .collect()
}

/// Home › Datasets › the dataset (by its title).
fn crumbs(site: &Site<'_>, lang: Lang, id: &Slug, title: String) -> Result<Vec<Link>, SiteError> {
    let mut crumbs = site.crumbs(lang, &[(Route::Datasets, "nav.datasets")])?;
    crumbs.push(Link {
        href: urls::page(lang, &Route::Dataset(id.clone())),
        text: title,
    });
    Ok(crumbs)
}

/// Renders the query page of every dataset of the catalogue that has Parquet files.
pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let examples = examples()?;
    let engine = site.query_engine.then(|| Engine {
        module: urls::query_engine_file("duckdb-browser.mjs"),
        worker: urls::query_engine_file("duckdb-browser-eh.worker.js"),
        wasm: urls::query_engine_file("duckdb-eh.wasm"),
        version: layout::QUERY_ENGINE_VERSION,
    });
    for e in &site.inputs.catalogue.datasets {
        let id = Slug::new(&e.id).map_err(|reason| SiteError::BadId {
            dataset: e.id.clone(),
            field: "dataset id",
            value: e.id.clone(),
            reason,
        })?;
        let Some(p) = site.inputs.packages.get(&e.id) else {
            continue;
        };
        let list = examples
            .get(&e.id)
            .ok_or_else(|| SiteError::QueryExamples {
                dataset: e.id.clone(),
                reason: "no example queries for this dataset of the catalogue".into(),
            })?;
        for lang in Lang::ALL {
            let files = parquet_files(lang, &id, p);
            if files.is_empty() {
                continue;
            }
            let dataset_title = p.titles.get(lang).to_string();
            let page = QueryPage {
                id: e.id.clone(),
                table: table_name(&e.id),
                dataset: urls::page(lang, &Route::Dataset(id.clone())),
                dataset_title: dataset_title.clone(),
                files,
                examples: list
                    .iter()
                    .enumerate()
                    .map(|(i, x)| ExampleView {
                        id: format!("example-{}", i + 1),
                        title: pick(lang, &x.zh, &x.en).to_string(),
                        sql: x.sql.trim().to_string(),
                    })
                    .collect(),
                sql: list[0].sql.trim().to_string(),
                engine: engine.as_ref().map(|e| Engine {
                    module: e.module.clone(),
                    worker: e.worker.clone(),
                    wasm: e.wasm.clone(),
                    version: e.version,
                }),
                script: urls::query_script(),
                row_limit: ROW_LIMIT,
                row_limit_text: format::integer(lang, ROW_LIMIT as i64),
                version: layout::QUERY_ENGINE_VERSION,
            };
            site.render_page(
                out,
                lang,
                &Route::DatasetQuery(id.clone()),
                "query.html",
                site.tf(lang, "query.title", &[("dataset", &dataset_title)])?,
                site.tf(lang, "query.description", &[("dataset", &dataset_title)])?,
                crumbs(site, lang, &id, dataset_title)?,
                &page,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_file_entry_has_three_queries_in_both_languages() {
        let all = examples().unwrap();
        // The datasets of data/datasets.toml, by hand.
        for id in [
            "enterprises",
            "outlets",
            "treatment-facilities",
            "cems-daily",
            "cems-hourly",
            "exceedances",
            "emission-totals",
            "district-summary",
            "industry-summary",
            "self-monitoring",
            "vehicle-fleets",
            "sewage-compliance",
            "msw-treatment",
            "medical-waste",
            "construction-waste",
            "livestock-manure",
            "plan-indicators",
        ] {
            let list = all
                .get(id)
                .unwrap_or_else(|| panic!("no examples for {id}"));
            assert!((3..=5).contains(&list.len()), "{id}: {}", list.len());
            for x in list {
                // Each names its dataset's table.
                assert!(x.sql.contains(&table_name(id)), "{id}: {}", x.sql);
            }
        }
        assert_eq!(table_name("cems-daily"), "cems_daily");
    }
}
