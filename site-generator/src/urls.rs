//! Every URL of the site, and the only place paths are put together.
//!
//! Pages are addressed by a language-independent [`Route`]; [`page`] turns a route and a
//! language into its path, so a page's twin in the other language is always the same route.
//! Data-derived parts enter a path only as a [`Slug`] (checked with
//! [`envgov_dataset::layout::check_segment`]) or a [`Uscc`] (checked with
//! [`envgov_dataset::ids::check_uscc`]). Every URL is an absolute path from the site root
//! (`/zh/index.html`); the file written for it is the same path without the leading `/`.
//! Published dataset files live beside the site under `/datasets/`.

use envgov_dataset::Lang;
use envgov_dataset::ids::check_uscc;
use envgov_dataset::layout::{Format, check_date, check_segment};
use serde::Serialize;
use std::fmt;

/// The origin the site is published at, used where a format demands absolute URLs
/// (`sitemap.xml`, `robots.txt`, Atom ids, iCalendar URLs).
pub const DEFAULT_ORIGIN: &str = "https://envgov.example.org";

/// A path segment that passed [`check_segment`]: ASCII letters, digits, `-`, `_`, `.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Slug(String);

impl Slug {
    pub fn new(s: &str) -> Result<Slug, String> {
        check_segment(s)
            .map(|s| Slug(s.to_string()))
            .map_err(|e| e.reason.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Unified Social Credit Code that passed [`check_uscc`] and is in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Uscc(String);

impl Uscc {
    pub fn new(s: &str) -> Result<Uscc, String> {
        match check_uscc(s) {
            Ok(canonical) if canonical == s => Ok(Uscc(canonical)),
            Ok(_) => Err("not in canonical upper-case form".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `YYYY-MM-DD` date that passed [`check_date`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DateSlug(String);

impl DateSlug {
    pub fn new(s: &str) -> Result<DateSlug, String> {
        check_date(s)
            .map(|s| DateSlug(s.to_string()))
            .map_err(|e| e.reason.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The three sector pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sector {
    Vehicles,
    Waste,
    Livestock,
}

impl Sector {
    pub const ALL: [Sector; 3] = [Sector::Vehicles, Sector::Waste, Sector::Livestock];

    pub fn slug(self) -> &'static str {
        match self {
            Sector::Vehicles => "vehicles",
            Sector::Waste => "waste",
            Sector::Livestock => "livestock",
        }
    }
}

/// The averaging periods of the exceedance register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordPeriod {
    Hourly,
    Daily,
    Sample,
}

impl RecordPeriod {
    pub const ALL: [RecordPeriod; 3] = [
        RecordPeriod::Hourly,
        RecordPeriod::Daily,
        RecordPeriod::Sample,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordPeriod::Hourly => "hourly",
            RecordPeriod::Daily => "daily",
            RecordPeriod::Sample => "sample",
        }
    }

    pub fn parse(s: &str) -> Option<RecordPeriod> {
        RecordPeriod::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A page that exists in both languages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    Home,
    Enterprises,
    EnterprisesByDistrict(Slug),
    EnterprisesByIndustry(Slug),
    EnterprisesByType(Slug),
    Enterprise(Uscc),
    OpenDays,
    OpenDay(Slug),
    Plan,
    Measure(Slug),
    Sectors,
    Sector(Sector),
    /// The units of one industry (a registry industry code) ranked by compliance and mass.
    Industry(Slug),
    /// Every district against the city.
    Districts,
    /// One district (a GB/T 2260 code, or `BDA`) against the city, with its units.
    District(Slug),
    Exceedances,
    ExceedancesByDistrict(Slug),
    ExceedancesByPollutant(Slug),
    ExceedancesByPeriod(RecordPeriod),
    Datasets,
    Dataset(Slug),
    /// SQL over a dataset's published Parquet files in the browser (DuckDB-WASM).
    DatasetQuery(Slug),
    /// A markdown page from `content/` (`methodology`, `about`, `contact`).
    Content(Slug),
    /// Search of the units by name, credit code or permit number.
    Search,
    /// Every unit on a map of the districts, and exceedances per unit by district.
    Map,
    /// Page `n` (2 or more) of a list split across pages; page 1 is the list's own route.
    Page(Box<Route>, u32),
}

/// The route of page `n` (1-based) of the list at `route`.
pub fn nth_page(route: &Route, n: usize) -> Route {
    if n <= 1 {
        route.clone()
    } else {
        Route::Page(
            Box::new(route.clone()),
            u32::try_from(n).unwrap_or(u32::MAX),
        )
    }
}

/// The path of a page in a language.
pub fn page(lang: Lang, route: &Route) -> String {
    let l = lang.code();
    match route {
        Route::Home => format!("/{l}/index.html"),
        Route::Enterprises => format!("/{l}/enterprises/index.html"),
        Route::EnterprisesByDistrict(code) => format!("/{l}/enterprises/district/{code}.html"),
        Route::EnterprisesByIndustry(code) => format!("/{l}/enterprises/industry/{code}.html"),
        Route::EnterprisesByType(t) => format!("/{l}/enterprises/type/{t}.html"),
        Route::Enterprise(uscc) => format!("/{l}/enterprises/{uscc}.html"),
        Route::OpenDays => format!("/{l}/open-days/index.html"),
        Route::OpenDay(id) => format!("/{l}/open-days/{id}.html"),
        Route::Plan => format!("/{l}/plan/index.html"),
        Route::Measure(id) => format!("/{l}/plan/{id}.html"),
        Route::Sectors => format!("/{l}/sectors/index.html"),
        Route::Sector(s) => format!("/{l}/sectors/{}.html", s.slug()),
        Route::Industry(code) => format!("/{l}/sectors/industry/{code}/index.html"),
        Route::Districts => format!("/{l}/districts/index.html"),
        Route::District(code) => format!("/{l}/districts/{code}/index.html"),
        Route::Exceedances => format!("/{l}/exceedances/index.html"),
        Route::ExceedancesByDistrict(code) => {
            format!("/{l}/exceedances/district/{code}.html")
        }
        Route::ExceedancesByPollutant(code) => {
            format!("/{l}/exceedances/pollutant/{code}.html")
        }
        Route::ExceedancesByPeriod(p) => format!("/{l}/exceedances/period/{}.html", p.as_str()),
        Route::Datasets => format!("/{l}/datasets/index.html"),
        Route::Dataset(id) => format!("/{l}/datasets/{id}.html"),
        Route::DatasetQuery(id) => format!("/{l}/datasets/{id}/query/index.html"),
        Route::Content(slug) => format!("/{l}/{slug}.html"),
        Route::Search => format!("/{l}/search/index.html"),
        Route::Map => format!("/{l}/map/index.html"),
        // `/x/index.html` → `/x/page-2.html`; `/x/y.html` → `/x/y/page-2.html`.
        Route::Page(of, n) => {
            let first = page(lang, of);
            match first.strip_suffix("/index.html") {
                Some(dir) => format!("{dir}/page-{n}.html"),
                None => format!(
                    "{}/page-{n}.html",
                    first.strip_suffix(".html").unwrap_or(&first)
                ),
            }
        }
    }
}

/// The element id of a system's section on the plan page.
pub fn plan_system_id(system: &Slug) -> String {
    format!("system-{system}")
}

/// A system's section on the plan page.
pub fn plan_system(lang: Lang, system: &Slug) -> String {
    format!("{}#{}", page(lang, &Route::Plan), plan_system_id(system))
}

/// The data behind a ranking or comparison of the page at `route` (`{name}.csv` beside the
/// page's `index.html`): exactly the numbers the page shows. `None` for a route that is not
/// a folder's index page.
pub fn beside(lang: Lang, route: &Route, name: &Slug, extension: &str) -> Option<String> {
    page(lang, route)
        .strip_suffix("/index.html")
        .map(|dir| format!("{dir}/{name}.{extension}"))
}

/// The page that offers the choice of language; also the `x-default` alternate.
pub fn language_choice() -> String {
    "/index.html".to_string()
}

pub fn not_found() -> String {
    "/404.html".to_string()
}

pub fn sitemap() -> String {
    "/sitemap.xml".to_string()
}

pub fn robots() -> String {
    "/robots.txt".to_string()
}

pub fn stylesheet() -> String {
    "/assets/site.css".to_string()
}

/// A chart's files (`svg`, `csv`) in a language.
pub fn chart(lang: Lang, id: &str, extension: &str) -> String {
    format!("/{}/charts/{id}.{extension}", lang.code())
}

/// The query page's script (`pages::query`).
pub fn query_script() -> String {
    "/assets/query.js".to_string()
}

/// A file of the in-browser query engine, in the release at
/// [`envgov_dataset::layout::QUERY_ENGINE_DIR`] (`duckdb-eh.wasm`, ...).
pub fn query_engine_file(name: &str) -> String {
    format!("/{}/{name}", envgov_dataset::layout::QUERY_ENGINE_DIR)
}

/// A file the map page shows (`districts.svg`, `exceedances-per-unit.svg`), in a language.
pub fn map_file(lang: Lang, name: &str) -> String {
    format!("/{}/map/{name}", lang.code())
}

/// The search page's script (the page itself works without it).
pub fn search_script() -> String {
    "/assets/search.js".to_string()
}

/// The folder of the full-text search index (Pagefind's `pagefind.js` and its files, one
/// index per language), served from the site's root.
pub fn search_bundle() -> String {
    format!("/{}/", crate::search_index::BUNDLE_DIR)
}

/// The Atom feeds of a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Updates,
    Exceedances,
    /// Corrections of delivered data (see `envgov_dataset::changelog`).
    Corrections,
}

impl Feed {
    pub const ALL: [Feed; 3] = [Feed::Updates, Feed::Exceedances, Feed::Corrections];
}

pub fn feed(lang: Lang, feed: Feed) -> String {
    let name = match feed {
        Feed::Updates => "updates",
        Feed::Exceedances => "exceedances",
        Feed::Corrections => "corrections",
    };
    format!("/{}/feeds/{name}.xml", lang.code())
}

/// The iCalendar file of one open day.
pub fn open_day_ics(id: &Slug) -> String {
    format!("/open-days/{id}.ics")
}

/// The calendar of every open day.
pub fn open_days_ics() -> String {
    "/open-days/open-days.ics".to_string()
}

/// One unit's own records of a dataset, as CSV.
pub fn unit_download(uscc: &Uscc, dataset: &Slug) -> String {
    format!("/downloads/enterprises/{uscc}/{dataset}.csv")
}

/// A chart of a unit's page (`{name}.svg`) or its data (`{name}.csv`): one file for both
/// languages (the charts carry no words).
pub fn unit_chart(uscc: &Uscc, name: &Slug, extension: &str) -> String {
    format!("/charts/enterprises/{uscc}/{name}.{extension}")
}

/// One unit's records of one month of a dataset published a file a month, as CSV. The path
/// is the contract's (`envgov_dataset::layout::unit_month_download_path`), where the release
/// puts it; `None` for a month that is not `YYYY-MM`.
pub fn unit_month_download(uscc: &Uscc, dataset: &str, month: &str) -> Option<String> {
    envgov_dataset::layout::unit_month_download_path(&uscc.to_string(), dataset, month)
        .ok()
        .map(|path| format!("/{path}"))
}

/// One unit's evidence bundle of a month (a zip: its records, raw lines and calculations,
/// signed). The path is the contract's (`envgov_dataset::layout::unit_bundle_path`), where
/// the release puts it; `None` for a month that is not `YYYY-MM`.
pub fn unit_bundle(uscc: &Uscc, month: &str) -> Option<String> {
    envgov_dataset::layout::unit_bundle_path(&uscc.to_string(), month)
        .ok()
        .map(|path| format!("/{path}"))
}

/// A published dataset file (served from the store's `datasets/` beside the site).
pub fn dataset_file(id: &Slug, format: Format) -> String {
    format!("/datasets/{id}/{id}.{}", format.extension())
}

/// A file of a dataset published a file a month (`cems-hourly-2026-01.csv.gz`), beside its
/// datapackage; `None` for a name that is not a plain file name.
pub fn dataset_resource(id: &Slug, name: &str) -> Option<String> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| format!("/datasets/{id}/{name}"))
}

pub fn datapackage(id: &Slug) -> String {
    format!("/datasets/{id}/datapackage.json")
}

/// The folder of a dataset, as cited.
pub fn dataset_folder(id: &Slug) -> String {
    format!("/datasets/{id}/")
}

/// A night's changelog of a dataset's corrections (`ext`: `json` or `csv`), as the release
/// serves it beside the dataset (see `envgov_dataset::changelog::changelog_path`).
pub fn changelog_file(id: &Slug, night: &DateSlug, revision: u32, ext: &str) -> String {
    match envgov_dataset::changelog::changelog_path(id.as_str(), night.as_str(), revision, ext) {
        Ok(path) => format!("/datasets/{path}"),
        // A slug and a date slug are safe segments already: not reached.
        Err(_) => format!("/datasets/{id}/changes/"),
    }
}

/// A file of a dated archive snapshot.
pub fn archive_file(id: &Slug, date: &DateSlug, format: Format) -> String {
    format!(
        "/datasets/{id}/archive/{}/{id}.{}",
        date.as_str(),
        format.extension()
    )
}

pub fn archive_datapackage(id: &Slug, date: &DateSlug) -> String {
    format!("/datasets/{id}/archive/{}/datapackage.json", date.as_str())
}

/// The CC BY 4.0 licence deed in a language (an external page).
pub fn licence(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "https://creativecommons.org/licenses/by/4.0/deed.zh-hans",
        Lang::En => "https://creativecommons.org/licenses/by/4.0/",
    }
}

/// An absolute URL on the published origin (for formats that require one).
pub fn absolute(origin: &str, path: &str) -> String {
    format!("{}{path}", origin.trim_end_matches('/'))
}

/// The file an URL is written to: the path without its leading `/`.
pub fn file_path(url: &str) -> &str {
    url.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twins_differ_only_in_the_language_prefix() {
        let uscc = Uscc::new("91110105MA01ABCD5F").unwrap();
        let r = Route::Enterprise(uscc);
        assert_eq!(
            page(Lang::Zh, &r),
            "/zh/enterprises/91110105MA01ABCD5F.html"
        );
        assert_eq!(
            page(Lang::En, &r),
            "/en/enterprises/91110105MA01ABCD5F.html"
        );
    }

    #[test]
    fn later_pages_of_a_list_sit_beside_or_below_its_first_page() {
        assert_eq!(
            page(Lang::En, &nth_page(&Route::Exceedances, 1)),
            "/en/exceedances/index.html"
        );
        assert_eq!(
            page(Lang::En, &nth_page(&Route::Exceedances, 2)),
            "/en/exceedances/page-2.html"
        );
        let district = Route::EnterprisesByDistrict(Slug::new("110105").unwrap());
        assert_eq!(
            page(Lang::Zh, &nth_page(&district, 12)),
            "/zh/enterprises/district/110105/page-12.html"
        );
    }

    #[test]
    fn districts_and_industries_are_folders_with_their_data_beside() {
        let d = Route::District(Slug::new("110105").unwrap());
        assert_eq!(page(Lang::Zh, &d), "/zh/districts/110105/index.html");
        assert_eq!(
            page(Lang::En, &nth_page(&d, 2)),
            "/en/districts/110105/page-2.html"
        );
        let i = Route::Industry(Slug::new("4430").unwrap());
        assert_eq!(page(Lang::En, &i), "/en/sectors/industry/4430/index.html");
        let csv = Slug::new("compliance").unwrap();
        assert_eq!(
            beside(Lang::En, &i, &csv, "csv").as_deref(),
            Some("/en/sectors/industry/4430/compliance.csv")
        );
        // A page that is not a folder's index has nothing beside it.
        let dataset = Route::Dataset(Slug::new("exceedances").unwrap());
        assert_eq!(beside(Lang::En, &dataset, &csv, "csv"), None);
        assert_eq!(
            page(Lang::En, &Route::Districts),
            "/en/districts/index.html"
        );
    }

    #[test]
    fn refuses_unchecked_parts() {
        assert!(Slug::new("../etc").is_err());
        assert!(Slug::new("a/b").is_err());
        assert!(Uscc::new("<script>").is_err());
        assert!(Uscc::new("91110105ma01abcd5f").is_err());
        assert!(DateSlug::new("2026-1-1").is_err());
    }

    #[test]
    fn dataset_files_sit_beside_the_site() {
        let id = Slug::new("cems-daily").unwrap();
        assert_eq!(
            dataset_file(&id, Format::Parquet),
            "/datasets/cems-daily/cems-daily.parquet"
        );
        let d = DateSlug::new("2026-01-31").unwrap();
        assert_eq!(
            archive_file(&id, &d, Format::Csv),
            "/datasets/cems-daily/archive/2026-01-31/cems-daily.csv"
        );
    }

    #[test]
    fn a_monthly_file_sits_beside_its_datapackage_and_no_path_escapes() {
        let id = Slug::new("cems-hourly").unwrap();
        assert_eq!(
            dataset_resource(&id, "cems-hourly-2026-01.csv.gz").as_deref(),
            Some("/datasets/cems-hourly/cems-hourly-2026-01.csv.gz")
        );
        for bad in ["", "../x.csv", ".hidden", "a/b.csv", "a b.csv", "<x>.csv"] {
            assert_eq!(dataset_resource(&id, bad), None, "{bad}");
        }
    }
}
