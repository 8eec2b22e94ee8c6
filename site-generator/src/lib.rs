//! The static bilingual (中文 / English) public site of envgov.
//!
//! Stage: rendering, and pure. [`build`] takes what the pipeline published (the catalogue,
//! each dataset's `datapackage.json` and rows, the dated archives, the run report), the
//! markdown of `content/` and the curated tables, and returns every file of the site as
//! (relative path, bytes), sorted by path. It reads no file, no clock and no environment;
//! the same inputs give byte-identical outputs. The caller (the `envgov` CLI) does the I/O.
//!
//! Pages exist in both languages at symmetric URLs (`/zh/...`, `/en/...`) built by
//! [`urls`]; UI strings come from `i18n/{zh,en}.toml`; templates are embedded from
//! `templates/` and rendered by minijinja in strict mode with HTML auto-escaping.

mod charts;
pub mod content;
mod downloads;
mod error;
mod feeds;
mod format;
mod i18n;
mod ical;
pub mod markdown;
mod output;
mod pages;
mod registry;
pub mod rows;
mod sitemap;
mod templates;
pub mod urls;
mod xml;

pub use content::{ContentPage, load_content};
pub use downloads::{UNIT_DATASETS, UnitDownload, UnitDownloads};
pub use error::SiteError;
pub use pages::enterprises::RECENT_DAYS;

use envgov_curated::Curated;
use envgov_dataset::manifest::{Catalogue, DataPackage};
use envgov_dataset::report::RunReport;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The stylesheet.
const STYLESHEET: &str = include_str!("../assets/site.css");

/// The search page's script (progressive enhancement; see `pages::search`).
const SEARCH_SCRIPT: &str = include_str!("../assets/search.js");

/// Everything the site is built from, besides the curated tables.
#[derive(Debug, Clone)]
pub struct SiteInputs {
    /// The data date the site shows (`YYYY-MM-DD`): the latest run's date.
    pub data_date: String,
    /// `datasets/catalogue.json`.
    pub catalogue: Catalogue,
    /// Dataset id → `datasets/{id}/datapackage.json`.
    pub packages: BTreeMap<String, DataPackage>,
    /// Dataset id → the rows of `datasets/{id}/{id}.json`, for the tables of
    /// [`rows::TABLES`]. Of `cems-daily` the pages show only the [`RECENT_DAYS`] days up to
    /// the data date, so a caller may pass just those rows (the pipeline does).
    pub tables: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Each unit's own rows of the datasets of [`UNIT_DATASETS`], as CSV cut from the
    /// published dataset by the pipeline.
    pub unit_downloads: UnitDownloads,
    /// Dataset id → the dates of its archive snapshots (`datasets/{id}/archive/{date}/`).
    pub archives: BTreeMap<String, Vec<String>>,
    /// The markdown pages of `content/`, from [`load_content`].
    pub content: Vec<ContentPage>,
    /// `runs/{date}/report.json` of the run that published the data, when there is one.
    pub report: Option<RunReport>,
    /// The data is the generated sample (the store holds the generator's ledger,
    /// `runs/sample-defects.json`): every page then says so.
    pub sample: bool,
}

/// How a build is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteOptions {
    /// The origin the site is served from (`https://envgov.example.org`), for the formats
    /// that need absolute URLs: sitemap, robots.txt, feed ids, iCalendar links, citations.
    pub origin: String,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            origin: urls::DEFAULT_ORIGIN.to_string(),
        }
    }
}

/// Renders the whole site with the default options. See [`build_with`].
pub fn build(inputs: &SiteInputs, curated: &Curated) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    build_with(inputs, curated, &SiteOptions::default())
}

/// Renders the whole site: every page in both languages, the per-unit downloads, the
/// iCalendar files, the feeds, the sitemap, robots.txt, 404 and the stylesheet.
///
/// Returns (path relative to the site root, bytes), sorted by path.
pub fn build_with(
    inputs: &SiteInputs,
    curated: &Curated,
    options: &SiteOptions,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let data_date = format::parse_date(&inputs.data_date).ok_or_else(|| SiteError::BadDate {
        what: "data date".into(),
        value: inputs.data_date.clone(),
    })?;
    let i18n = Arc::new(i18n::I18n::embedded()?);
    let templates = templates::Templates::new(i18n.clone())?;
    let rows = rows::Rows::parse(&inputs.tables)?;
    let registry = registry::Registry::new(&rows, &curated.open_days.list)?;
    let site = pages::Site {
        inputs,
        curated,
        i18n: &i18n,
        templates: &templates,
        rows: &rows,
        registry: &registry,
        data_date,
        origin: &options.origin,
    };

    let mut out = output::Output::default();
    pages::special::render(&site, &mut out)?;
    pages::home::render(&site, &mut out)?;
    pages::enterprises::render(&site, &mut out)?;
    pages::exceedances::render(&site, &mut out)?;
    pages::open_days::render(&site, &mut out)?;
    pages::plan::render(&site, &mut out)?;
    pages::sectors::render(&site, &mut out)?;
    pages::datasets::render(&site, &mut out)?;
    pages::content::render(&site, &mut out)?;
    pages::search::render(&site, &mut out)?;

    let events = curated
        .open_days
        .list
        .iter()
        .map(|e| pages::open_days::event_slug(e).map(|s| (e, s)))
        .collect::<Result<Vec<_>, _>>()?;
    for (e, slug) in &events {
        out.add(
            &urls::open_day_ics(slug),
            ical::calendar(
                &[(*e, slug.clone())],
                &curated.open_days,
                data_date,
                &options.origin,
            ),
        )?;
    }
    out.add(
        &urls::open_days_ics(),
        ical::calendar(&events, &curated.open_days, data_date, &options.origin),
    )?;
    feeds::render(&site, &mut out)?;
    sitemap::render(&mut out, &options.origin, &inputs.data_date)?;
    out.add(&urls::stylesheet(), STYLESHEET.as_bytes().to_vec())?;
    out.add(&urls::search_script(), SEARCH_SCRIPT.as_bytes().to_vec())?;
    Ok(out.into_files())
}
