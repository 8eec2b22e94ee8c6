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
mod comparison;
pub mod content;
mod downloads;
mod error;
mod feeds;
mod format;
mod i18n;
mod ical;
mod inputs;
pub mod maps;
pub mod markdown;
mod output;
mod pages;
mod registry;
pub mod rows;
pub mod search_index;
mod sitemap;
mod templates;
mod unit_chart;
mod unit_series;
pub mod urls;
mod xml;

pub use content::{ContentPage, load_content};
pub use error::SiteError;
pub use inputs::{
    BundleLink, MonthDownload, MonthFiles, SiteInputs, SiteOptions, UNIT_DATASETS, UnitDownload,
    UnitDownloads, UnitMonths, YEAR_AGO_DATASETS, YEAR_AGO_SAME_DAY_DATASETS, YearAgo,
    YearAgoTable, year_to_date_a_year_before,
};
pub use pages::enterprises::RECENT_DAYS;

use envgov_curated::Curated;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The stylesheet.
const STYLESHEET: &str = include_str!("../assets/site.css");

/// The search page's script (progressive enhancement; see `pages::search`).
const SEARCH_SCRIPT: &str = include_str!("../assets/search.js");

/// The query pages' script (runs DuckDB-WASM; see `pages::query`).
const QUERY_SCRIPT: &str = include_str!("../assets/query.js");

/// Unit pages rendered by one job of [`render_pages`].
const UNITS_PER_JOB: usize = 100;

/// Renders every page, the jobs spread over the cores (each into its own [`output::Output`],
/// merged at the end: the files are keyed by path, so the result does not depend on which
/// thread rendered what).
fn render_pages(site: &pages::shared::Site<'_>) -> Result<output::Output, SiteError> {
    type Job<'j> = Box<dyn Fn(&mut output::Output) -> Result<(), SiteError> + Sync + 'j>;
    // In the order of a sequential build (the error of a failed build is that order's first).
    let mut jobs: Vec<Job<'_>> = vec![
        Box::new(|o| pages::special::render(site, o)),
        Box::new(|o| pages::home::render(site, o)),
        Box::new(|o| pages::enterprises::render_directories(site, o)),
    ];
    for units in site.registry.units.chunks(UNITS_PER_JOB) {
        jobs.push(Box::new(move |o| {
            pages::enterprises::render_units(site, o, units)
        }));
    }
    jobs.extend([
        Box::new(|o: &mut output::Output| pages::exceedances::render(site, o)) as Job<'_>,
        Box::new(|o| pages::open_days::render(site, o)),
        Box::new(|o| pages::plan::render(site, o)),
        Box::new(|o| pages::sectors::render(site, o)),
        Box::new(|o| pages::districts::render(site, o)),
        Box::new(|o| pages::map::render(site, o)),
        Box::new(|o| pages::datasets::render(site, o)),
        Box::new(|o| pages::content::render(site, o)),
        Box::new(|o| pages::search::render(site, o)),
        Box::new(|o| pages::query::render(site, o)),
    ]);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // A part: the output of the jobs a thread took, or the first job that failed (by index).
    let work = || -> Result<output::Output, (usize, SiteError)> {
        let mut out = output::Output::default();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            job(&mut out).map_err(|e| {
                failed.store(true, Ordering::Relaxed);
                (i, e)
            })?;
        }
        Ok(out)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, jobs.len());
    let parts: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut parts = vec![work()];
        for w in workers {
            parts.push(
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        parts
    });
    // Jobs are taken in order and stop at a failure, so the failed job of lowest index is the
    // first failure of a sequential build: the error does not depend on the threads either.
    let mut out = output::Output::default();
    let mut first_error: Option<(usize, SiteError)> = None;
    for part in parts {
        match part {
            Ok(part) => out.absorb(part)?,
            Err((i, e)) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    }
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(out),
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
    with_search_index(build_parts(inputs, None, curated, options, None)?)
}

/// [`build_with`] of inputs the caller gives up: the per-unit downloads are moved into the
/// site's files instead of copied (at a year of ~2,000 units they are hundreds of MB).
/// Same files, same bytes.
pub fn build_owned(
    mut inputs: SiteInputs,
    curated: &Curated,
    options: &SiteOptions,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let mut csv = downloads::take_csv(&mut inputs.unit_downloads);
    let files = build_parts(&inputs, Some(&mut csv), curated, options, None)?;
    // The search index needs the pages alone: the inputs go first.
    drop((inputs, csv));
    with_search_index(files)
}

/// [`build_owned`], each unit page with the charts of the unit's daily values over the whole
/// period, read from its month files through `month_files` one unit at a time (dropped once
/// its charts are drawn). Same files as [`build_owned`] otherwise.
pub fn build_owned_charting(
    inputs: SiteInputs,
    curated: &Curated,
    options: &SiteOptions,
    month_files: &dyn MonthFiles,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    with_search_index(pages_owned_charting(inputs, curated, options, month_files)?)
}

/// [`build_owned_charting`] without the search index: every file but `pagefind/`, in no
/// particular order. [`with_search_index`] of these is [`build_owned_charting`]; a caller
/// that times the two steps apart calls them one after the other.
pub fn pages_owned_charting(
    mut inputs: SiteInputs,
    curated: &Curated,
    options: &SiteOptions,
    month_files: &dyn MonthFiles,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let mut csv = downloads::take_csv(&mut inputs.unit_downloads);
    let files = build_parts(&inputs, Some(&mut csv), curated, options, Some(month_files))?;
    // The search index needs the pages alone: the inputs go first.
    drop((inputs, csv));
    Ok(files)
}

/// The build. With `taken`, the downloads' CSV bytes were taken out of `inputs` (which keep
/// their row counts) into `taken`, and are moved from there into the files.
fn build_parts(
    inputs: &SiteInputs,
    taken: Option<&mut downloads::TakenCsv>,
    curated: &Curated,
    options: &SiteOptions,
    month_files: Option<&dyn MonthFiles>,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let data_date = format::parse_date(&inputs.data_date).ok_or_else(|| SiteError::BadDate {
        what: "data date".into(),
        value: inputs.data_date.clone(),
    })?;
    let i18n = Arc::new(i18n::I18n::embedded()?);
    let templates = templates::Templates::new(i18n.clone())?;
    let rows = rows::Rows::parse(&inputs.tables)?;
    let registry = registry::Registry::new(&rows, &curated.open_days.list)?;
    let site = pages::shared::Site {
        inputs,
        curated,
        i18n: &i18n,
        templates: &templates,
        rows: &rows,
        registry: &registry,
        data_date,
        origin: &options.origin,
        development_key: options.development_key,
        month_files,
        query_engine: options.query_engine,
    };

    let mut out = render_pages(&site)?;
    downloads::UnitRows::new(inputs)?.place(&registry.units, taken, &mut out)?;

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
    out.add(&urls::query_script(), QUERY_SCRIPT.as_bytes().to_vec())?;
    Ok(out.into_files())
}

/// The site's files with the full-text index of every page (both languages) beside them,
/// sorted by path. Built once the rendering's rows, registry and templates are dropped, and by
/// [`build_owned`] and [`build_owned_charting`] once the inputs are too: at 2,000 units
/// Pagefind holds some 800 MB of words and positions while it builds (README, Search).
pub fn with_search_index(
    mut files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    files.extend(search_index::index(&files)?);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}
