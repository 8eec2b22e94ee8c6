//! Render tests over the generator's outputs, from the small fixture in `tests/fixtures/`
//! (derived from a sample-data run: a few rows per dataset, including units named with XSS
//! payloads) and the real `content/` pages.

use envgov_curated::Curated;
use envgov_dataset::manifest::{Catalogue, DataPackage};
use envgov_dataset::report::RunReport;
use envgov_site::{SiteError, SiteInputs, SiteOptions, build, build_owned, load_content};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[path = "site/comparisons.rs"]
mod comparisons;
#[path = "site/maps.rs"]
mod maps;
#[path = "site/query.rs"]
mod query;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn content() -> Vec<envgov_site::ContentPage> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    files.sort();
    load_content(files).unwrap()
}

/// Reads the fixture the way the CLI reads a store.
fn inputs() -> SiteInputs {
    load_store(&fixtures())
}

/// Reads a published store folder (`datasets/`, `runs/{date}/report.json`).
fn load_store(root: &Path) -> SiteInputs {
    let catalogue: Catalogue = read_json(&root.join("datasets/catalogue.json"));
    let mut packages = BTreeMap::new();
    let mut tables = BTreeMap::new();
    let mut archives = BTreeMap::new();
    let mut unit_downloads = BTreeMap::new();
    let mut unit_months = BTreeMap::new();
    for entry in &catalogue.datasets {
        let dir = root.join("datasets").join(&entry.id);
        let package: DataPackage = read_json(&dir.join("datapackage.json"));
        archives.insert(entry.id.clone(), package.archives.clone());
        packages.insert(entry.id.clone(), package);
        let rows = dir.join(format!("{}.json", entry.id));
        if envgov_site::rows::TABLES.contains(&entry.id.as_str()) {
            tables.insert(entry.id.clone(), read_json(&rows));
        }
        if envgov_site::UNIT_DATASETS.contains(&entry.id.as_str()) {
            let rows: Vec<serde_json::Map<String, serde_json::Value>> = read_json(&rows);
            if MONTHLY.contains(&entry.id.as_str()) {
                unit_months.insert(entry.id.clone(), test_months(&rows));
            } else {
                unit_downloads.insert(entry.id.clone(), test_downloads(&entry.id, &rows));
            }
        }
    }
    let report_path = root.join(format!("runs/{}/report.json", catalogue.data_date));
    let report: Option<RunReport> = report_path.exists().then(|| read_json(&report_path));
    SiteInputs {
        data_date: catalogue.data_date.clone(),
        catalogue,
        packages,
        tables,
        archives,
        content: content(),
        report,
        sample: true,
        unit_downloads,
        unit_months,
        unit_bundles: BTreeMap::new(),
        changelogs: Vec::new(),
        year_ago: envgov_site::YearAgo::default(),
    }
}

/// Stand-ins for the per-unit CSV files the pipeline cuts (their format is the pipeline's
/// and is tested there): recognisable bytes per dataset and unit, and the row count.
fn test_downloads(
    dataset: &str,
    rows: &[serde_json::Map<String, serde_json::Value>],
) -> BTreeMap<String, envgov_site::UnitDownload> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows {
        *counts
            .entry(row["uscc"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(uscc, rows)| {
            let csv = format!("\u{feff}stand-in,{dataset},{uscc},{rows}\r\n").into_bytes();
            (uscc, envgov_site::UnitDownload { rows, csv })
        })
        .collect()
}

/// The per-unit datasets published a file a month (`DatasetId::monthly`): their downloads are
/// a file a unit a month, placed by the release.
const MONTHLY: [&str; 2] = ["cems-daily", "self-monitoring"];

/// Stand-ins for the per-unit month files the pipeline stores: each unit's rows counted by
/// the month of their `date`, a size of 100 bytes a row and a made-up sha256.
fn test_months(
    rows: &[serde_json::Map<String, serde_json::Value>],
) -> BTreeMap<String, Vec<envgov_site::MonthDownload>> {
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for row in rows {
        let uscc = row["uscc"].as_str().unwrap().to_string();
        let month = row["date"].as_str().unwrap()[..7].to_string();
        *counts.entry((uscc, month)).or_default() += 1;
    }
    let mut out: BTreeMap<String, Vec<envgov_site::MonthDownload>> = BTreeMap::new();
    for ((uscc, month), rows) in counts {
        out.entry(uscc)
            .or_default()
            .push(envgov_site::MonthDownload {
                month,
                rows,
                bytes: 100 * rows,
                sha256: "ef".repeat(32),
            });
    }
    out
}

fn curated() -> &'static Curated {
    static C: OnceLock<Curated> = OnceLock::new();
    C.get_or_init(|| Curated::load().unwrap())
}

/// The site built once from the fixture.
fn site() -> &'static BTreeMap<String, Vec<u8>> {
    static SITE: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    SITE.get_or_init(|| {
        let files = build(&inputs(), curated()).unwrap_or_else(|e| panic!("build failed: {e}"));
        let paths: Vec<&String> = files.iter().map(|(p, _)| p).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted, "outputs are sorted by path");
        keep(&files);
        files.into_iter().collect()
    })
}

/// `ENVGOV_SITE_OUT=DIR` keeps a rendered site for inspection (and for the HTML checker
/// and browser tests of later stages).
fn keep(files: &[(String, Vec<u8>)]) {
    if let Some(dir) = std::env::var_os("ENVGOV_SITE_OUT") {
        for (path, bytes) in files {
            let target = Path::new(&dir).join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    }
}

fn text(path: &str) -> &'static str {
    std::str::from_utf8(site().get(path).unwrap_or_else(|| panic!("no {path}"))).unwrap()
}

fn pages() -> impl Iterator<Item = (&'static String, &'static str)> {
    site()
        .iter()
        .filter(|(p, _)| p.ends_with(".html"))
        .map(|(p, b)| (p, std::str::from_utf8(b).unwrap()))
}

/// The values of every `name="..."` attribute, HTML entities for quotes and `&` decoded.
fn attrs(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        let end = rest.find('"').expect("attribute closes");
        out.push(
            rest[..end]
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#39;", "'"),
        );
        rest = &rest[end..];
    }
    out
}

/// The published dataset files the fixture's packages and archives list.
fn published_files() -> BTreeSet<String> {
    let inputs = inputs();
    let mut files = BTreeSet::new();
    for (id, p) in &inputs.packages {
        files.insert(format!("datasets/{id}/datapackage.json"));
        for r in &p.resources {
            files.insert(format!("datasets/{id}/{}", r.path));
        }
        for date in inputs.archives.get(id).into_iter().flatten() {
            files.insert(format!("datasets/{id}/archive/{date}/datapackage.json"));
            for r in &p.resources {
                files.insert(format!("datasets/{id}/archive/{date}/{}", r.path));
            }
        }
    }
    // The units' month downloads, which the release places beside the site.
    for (id, units) in &inputs.unit_months {
        for (uscc, months) in units {
            for m in months {
                let path = envgov_dataset::layout::unit_month_download_path(uscc, id, &m.month);
                files.insert(path.unwrap());
            }
        }
    }
    files
}

#[test]
fn both_languages_have_the_same_pages() {
    let zh: BTreeSet<&str> = site()
        .keys()
        .filter_map(|p| p.strip_prefix("zh/"))
        .collect();
    let en: BTreeSet<&str> = site()
        .keys()
        .filter_map(|p| p.strip_prefix("en/"))
        .collect();
    assert_eq!(zh, en);
    for required in [
        "index.html",
        "enterprises/index.html",
        "open-days/index.html",
        "plan/index.html",
        "plan/m01.html",
        "plan/m11.html",
        "sectors/vehicles.html",
        "sectors/waste.html",
        "sectors/livestock.html",
        "exceedances/index.html",
        "exceedances/period/hourly.html",
        "exceedances/period/daily.html",
        "exceedances/period/sample.html",
        "exceedances/district/BDA.html",
        "datasets/index.html",
        "datasets/cems-daily.html",
        "methodology.html",
        "about.html",
        "contact.html",
        "feeds/updates.xml",
        "feeds/exceedances.xml",
        "enterprises/12110000180648321X.html",
        "enterprises/district/110114.html",
        "enterprises/type/hospital.html",
        "open-days/2026-01-changping-sewage-plant.html",
    ] {
        assert!(zh.contains(required), "missing {required}");
    }
    for neutral in [
        "index.html",
        "404.html",
        "sitemap.xml",
        "robots.txt",
        "assets/site.css",
        "open-days/open-days.ics",
        "open-days/2026-01-changping-sewage-plant.ics",
        "downloads/enterprises/12110000180648321X/exceedances.csv",
    ] {
        assert!(site().contains_key(neutral), "missing {neutral}");
    }
    let html_pages = pages().count();
    let enterprises = inputs().tables["enterprises"].len();
    assert!(
        html_pages > 2 * (enterprises + 40),
        "{html_pages} pages for {enterprises} units"
    );
    eprintln!(
        "fixture site: {} files, {html_pages} HTML pages",
        site().len()
    );
}

#[test]
fn every_internal_link_resolves() {
    let published = published_files();
    let mut checked = 0;
    for (path, html) in pages() {
        for value in attrs(html, "href").into_iter().chain(attrs(html, "src")) {
            // External links, and data: URLs (the site icon is inline), point at no file.
            if value.starts_with("https://")
                || value.starts_with("http://")
                || value.starts_with("data:")
            {
                continue;
            }
            let target = value.split('#').next().unwrap();
            if target.is_empty() {
                // A fragment on the same page: the id must exist.
                let id = &value[1..];
                assert!(
                    html.contains(&format!(" id=\"{id}\"")),
                    "{path}: no element with id {id:?}"
                );
                continue;
            }
            assert!(
                target.starts_with('/'),
                "{path}: link {value:?} is not an absolute path"
            );
            let file = &target[1..];
            assert!(
                site().contains_key(file) || published.contains(file),
                "{path}: link {value:?} resolves to nothing"
            );
            if let Some((_, frag)) = value.split_once('#') {
                let page = text(file);
                assert!(
                    page.contains(&format!(" id=\"{frag}\"")),
                    "{path}: {value:?} names a missing fragment"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} links checked");
}

#[test]
fn download_links_point_at_published_files() {
    let published = published_files();
    let html = text("en/datasets/cems-daily.html");
    let downloads: Vec<String> = attrs(html, "href")
        .into_iter()
        .filter(|h| h.starts_with("/datasets/"))
        .collect();
    for needed in [
        "/datasets/cems-daily/cems-daily.csv",
        "/datasets/cems-daily/cems-daily.parquet",
        "/datasets/cems-daily/cems-daily.json",
        "/datasets/cems-daily/datapackage.json",
        "/datasets/cems-daily/archive/2026-01-31/cems-daily.csv",
    ] {
        assert!(downloads.iter().any(|d| d == needed), "missing {needed}");
    }
    for d in downloads {
        assert!(published.contains(&d[1..]), "{d} is not a published file");
    }
    // Two dated archives, newest first.
    let html = text("zh/datasets/enterprises.html");
    let a = html.find("archive/2026-01-31/").unwrap();
    let b = html.find("archive/2026-01-30/").unwrap();
    assert!(a < b);
}

#[test]
fn every_page_has_lang_one_h1_a_language_switch_to_its_twin_and_alternates() {
    for (path, html) in pages() {
        assert_eq!(html.matches("<h1").count(), 1, "{path}: not exactly one h1");
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\""), "{path}");
        let (lang, other, tag, other_tag) = if let Some(rest) = path.strip_prefix("zh/") {
            ("zh", format!("/en/{rest}"), "zh-Hans-CN", "en")
        } else if let Some(rest) = path.strip_prefix("en/") {
            ("en", format!("/zh/{rest}"), "en", "zh-Hans-CN")
        } else {
            // The language choice and the 404 page are bilingual.
            assert!(
                ["index.html", "404.html"].contains(&path.as_str()),
                "{path}"
            );
            assert!(html.contains("href=\"/zh/index.html\""), "{path}");
            assert!(html.contains("href=\"/en/index.html\""), "{path}");
            continue;
        };
        assert!(
            html.contains(&format!("<html lang=\"{tag}\">")),
            "{path}: lang attribute"
        );
        let own = format!("/{path}");
        for (hreflang, href) in [
            (tag, own.as_str()),
            (other_tag, other.as_str()),
            ("x-default", "/index.html"),
        ] {
            let link = format!("<link rel=\"alternate\" hreflang=\"{hreflang}\" href=\"{href}\">");
            assert!(html.contains(&link), "{path}: missing {link}");
        }
        let switch = format!("<a class=\"lang-switch\" href=\"{other}\" hreflang=\"{other_tag}\"");
        assert!(html.contains(&switch), "{path}: no switch to {other}");
        assert!(
            html.contains("<a class=\"skip-link\" href=\"#main\">"),
            "{path}"
        );
        assert!(html.contains("<main id=\"main\""), "{path}");
        assert!(html.contains("rel=\"license\""), "{path}: licence");
        let date = if lang == "zh" {
            "2026年1月31日"
        } else {
            "31 January 2026"
        };
        assert!(html.contains(date), "{path}: data date {date}");
    }
}

#[test]
fn numbers_and_dates_follow_each_language() {
    let zh = text("zh/index.html");
    let en = text("en/index.html");
    // cems_hourly_compliance_rate = 430648 / 430704 = 0.99987.
    assert!(zh.contains("99.99%") && en.contains("99.99%"));
    assert!(zh.contains("430,648 / 430,704"), "zh fraction");
    assert!(en.contains("430,648 of 430,704"), "en fraction");
    assert!(zh.contains("统计期：2026年1月1日至2026年1月31日"));
    assert!(en.contains("Period: 1 January 2026 to 31 January 2026"));
    let od = text("en/open-days/2026-01-changping-sewage-plant.html");
    assert!(od.contains("24 January 2026, 09:30–11:30"), "event time");
    let od = text("zh/open-days/2026-01-changping-sewage-plant.html");
    assert!(od.contains("2026年1月24日 09:30–11:30"), "event time");
}

#[test]
fn enterprise_page_shows_its_published_information() {
    let html = text("en/enterprises/91110106177886783N.html");
    // Seven days of daily means per outlet and pollutant, not eight.
    assert!(html.contains("datetime=\"2026-01-25\""));
    assert!(
        !html.contains("datetime=\"2026-01-24\""),
        "older than 7 days"
    );
    // The day with 19 valid hours has no daily mean and is not judged.
    assert!(html.contains("Not judged: too few valid hours"));
    assert!(html.contains("19 of"));
    for section in [
        "id=\"outlets\"",
        "id=\"recent\"",
        "id=\"totals\"",
        "id=\"facilities\"",
        "id=\"exceedances\"",
        "id=\"downloads\"",
        "Discharge permit number",
        "/downloads/enterprises/91110106177886783N/exceedances.csv",
        "/downloads/enterprises/91110106177886783N/cems-daily-2026-01.csv",
    ] {
        assert!(html.contains(section), "missing {section}");
    }
    // Each limit names the standard's clause (DB11/501-2017's table, from general
    // knowledge in data/standards.toml: marked illustrative).
    assert!(html.contains("<th scope=\"col\">Clause</th>"));
    assert!(html.contains(
        "<td>Table 1<abbr class=\"flag\" title=\"Illustrative clause: the table number is not yet checked against the standard&#39;s text\">*</abbr></td>"
    ), "the clause of the outlet's limits");
    let zh = text("zh/enterprises/91110106177886783N.html");
    assert!(zh.contains("<th scope=\"col\">标准条款</th>"));
    assert!(zh.contains("<td>表 1<abbr class=\"flag\""));
    // The open day host links to its unit page, and the unit lists the event.
    let host = text("zh/enterprises/91110114MA0EX10K62.html");
    assert!(host.contains("/zh/open-days/2026-01-changping-sewage-plant.html"));
    let event = text("zh/open-days/2026-01-changping-sewage-plant.html");
    assert!(event.contains("href=\"/zh/enterprises/91110114MA0EX10K62.html\""));
    // Exceedance rows show their record source.
    let register = text("zh/exceedances/index.html");
    assert!(register.contains("raw/self-monitoring/2026-01-"));
    assert!(register.contains("第 "));
}

/// A dataset published a file a month has no file, so no resource with a schema, until a
/// month has a row: the site then places no download of it (its files are a unit's months,
/// placed by the release), and each unit page says it has no rows of it.
#[test]
fn a_monthly_dataset_with_no_file_yet_has_no_downloads_and_no_rows() {
    let mut inputs = inputs();
    let id = "self-monitoring";
    inputs.packages.get_mut(id).unwrap().resources.clear();
    inputs.unit_months.remove(id);
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    assert!(
        !files
            .keys()
            .any(|p| p.starts_with("downloads/enterprises/") && p.contains("/self-monitoring")),
        "no self-monitoring download is placed by the site"
    );
    let page = String::from_utf8(files["en/enterprises/91110106177886783N.html"].clone()).unwrap();
    assert!(!page.contains("/downloads/enterprises/91110106177886783N/self-monitoring"));
    assert!(
        page.contains("(CSV, one file a month, newest first) — 0 rows"),
        "{page}"
    );
}

#[test]
fn unit_downloads_are_placed_as_given_or_header_only() {
    let inputs = inputs();
    let mut given = 0;
    let mut header_only = 0;
    for (path, bytes) in site().iter().filter(|(p, _)| p.starts_with("downloads/")) {
        // downloads/enterprises/{uscc}/{dataset}.csv, of the datasets not published monthly
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts.len(), 4, "{path}");
        let (uscc, dataset) = (parts[2], parts[3].strip_suffix(".csv").unwrap());
        assert!(!MONTHLY.contains(&dataset), "{path}");
        match inputs.unit_downloads.get(dataset).and_then(|m| m.get(uscc)) {
            Some(d) => {
                assert_eq!(bytes, &d.csv, "{path}");
                given += 1;
            }
            None => {
                let package = &inputs.packages[dataset];
                let fields = &package.resources[0].schema.as_ref().unwrap().fields;
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                let expected = format!("\u{feff}{}\r\n", names.join(","));
                assert_eq!(std::str::from_utf8(bytes).unwrap(), expected, "{path}");
                header_only += 1;
            }
        }
    }
    let pages = site()
        .keys()
        .filter(|p| p.starts_with("en/enterprises/") && p.matches('/').count() == 2)
        .filter(|p| !p.ends_with("index.html"))
        .count();
    assert_eq!(
        given + header_only,
        pages * (envgov_site::UNIT_DATASETS.len() - MONTHLY.len())
    );
    assert!(
        given > 0 && header_only > 0,
        "{given} given, {header_only} header-only"
    );
}

#[test]
fn calendars_are_well_formed_rfc5545() {
    let mut calendars = 0;
    for (path, bytes) in site() {
        if !path.ends_with(".ics") {
            continue;
        }
        calendars += 1;
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(text.ends_with("\r\n"), "{path}");
        let lines: Vec<&str> = text.strip_suffix("\r\n").unwrap().split("\r\n").collect();
        for l in &lines {
            assert!(
                !l.contains('\n') && !l.contains('\r'),
                "{path}: bare line end"
            );
            assert!(l.len() <= 75, "{path}: {} octets: {l}", l.len());
        }
        // Unfold, then check BEGIN/END nesting.
        let mut logical: Vec<String> = Vec::new();
        for l in lines {
            if let Some(cont) = l.strip_prefix(' ') {
                logical
                    .last_mut()
                    .expect("continuation follows a line")
                    .push_str(cont);
            } else {
                logical.push(l.to_string());
            }
        }
        let mut stack = Vec::new();
        for l in &logical {
            assert!(l.contains(':'), "{path}: {l}");
            if let Some(c) = l.strip_prefix("BEGIN:") {
                stack.push(c.to_string());
            } else if let Some(c) = l.strip_prefix("END:") {
                assert_eq!(stack.pop().as_deref(), Some(c), "{path}");
            }
        }
        assert!(stack.is_empty(), "{path}: unclosed {stack:?}");
        assert_eq!(logical.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert!(logical.iter().any(|l| l == "VERSION:2.0"));
        assert!(logical.iter().any(|l| l.starts_with("PRODID:")));
        let events = logical.iter().filter(|l| *l == "BEGIN:VEVENT").count();
        for key in ["UID:", "DTSTAMP:", "DTSTART:", "DTEND:", "SUMMARY:"] {
            assert_eq!(
                logical.iter().filter(|l| l.starts_with(key)).count(),
                events,
                "{path}: one {key} per event"
            );
        }
        assert!(logical.iter().any(|l| l == "DTSTAMP:20260130T160000Z"));
    }
    let all = text("open-days/open-days.ics");
    assert_eq!(
        all.matches("BEGIN:VEVENT").count(),
        curated().open_days.list.len()
    );
    let one = text("open-days/2026-01-changping-sewage-plant.ics").replace("\r\n ", "");
    assert!(one.contains("UID:2026-01-changping-sewage-plant@envgov"));
    // 09:30 Beijing time is 01:30 UTC.
    assert!(one.contains("DTSTART:20260124T013000Z"));
    assert!(one.contains("DTEND:20260124T033000Z"));
    assert!(one.contains("\\,") || one.contains("\\;"), "TEXT escaping");
    assert_eq!(calendars, curated().open_days.list.len() + 1);
}

#[test]
fn feeds_and_sitemap_are_well_formed() {
    for lang in ["zh", "en"] {
        for feed in ["updates", "exceedances"] {
            let xml = text(&format!("{lang}/feeds/{feed}.xml"));
            assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""));
            assert!(xml.contains("<updated>2026-01-31T00:00:00+08:00</updated>"));
            let entries = xml.matches("<entry>").count();
            assert!(entries > 0, "{lang} {feed}");
            assert_eq!(xml.matches("</entry>").count(), entries);
            for tag in ["<id>", "<title>", "<updated>", "<link rel=\"alternate\""] {
                assert_eq!(xml.matches(tag).count(), entries + 1, "{lang} {feed} {tag}");
            }
            assert!(!xml.contains("<script"), "{lang} {feed}");
        }
    }
    let sitemap = text("sitemap.xml");
    let mut locs = 0;
    for part in sitemap.split("<loc>").skip(1) {
        let url = &part[..part.find("</loc>").unwrap()];
        let path = url.strip_prefix("https://envgov.example.org/").unwrap();
        assert!(site().contains_key(path), "sitemap lists missing {path}");
        locs += 1;
    }
    let html_pages = pages().filter(|(p, _)| p.as_str() != "404.html").count();
    assert_eq!(locs, html_pages);
    assert!(sitemap.contains("hreflang=\"x-default\""));
    assert!(text("robots.txt").contains("Sitemap: https://envgov.example.org/sitemap.xml"));
}

#[test]
fn xss_payloads_render_as_text() {
    let unit = text("en/enterprises/91110115MA016NC935.html");
    assert!(unit.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    let unit = text("zh/enterprises/91110115MA016NC935.html");
    assert!(unit.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Every rendered page, feed, calendar and sitemap; the CSV downloads keep the data as
    // published (a spreadsheet does not run markup).
    // The search pages load the site's one script, by that exact tag; no other script.
    let search_tag = r#"<script src="/assets/search.js" defer></script>"#;
    // Pagefind's own files (its script, WebAssembly and compressed index of the pages'
    // text, which the pages above already hold) are not pages.
    for (path, bytes) in site()
        .iter()
        .filter(|(p, _)| !p.ends_with(".csv") && !p.starts_with("pagefind/"))
    {
        let text = String::from_utf8_lossy(bytes);
        let text = if path.ends_with("/search/index.html") {
            assert_eq!(text.matches(search_tag).count(), 1, "{path}");
            text.replace(search_tag, "")
        } else {
            text.into_owned()
        };
        assert!(!text.contains("<script"), "{path}: <script");
        assert!(!text.contains("<img src=x"), "{path}: <img src=x");
        assert!(
            !text.contains("onerror=alert(1)>"),
            "{path}: unescaped attribute"
        );
    }
}

#[test]
fn chinese_soft_breaks_add_no_spaces() {
    let is_cjk = envgov_site::markdown::is_cjk;
    let mut joins = 0;
    for page in inputs()
        .content
        .iter()
        .filter(|p| p.lang == envgov_dataset::Lang::Zh)
    {
        let html = text(&format!("zh/{}.html", page.slug));
        let lines: Vec<&str> = page.markdown.lines().collect();
        for w in lines.windows(2) {
            let (Some(a), Some(b)) = (
                w[0].trim_end().chars().last(),
                w[1].trim_start().chars().next(),
            ) else {
                continue;
            };
            if is_cjk(a) && is_cjk(b) {
                let joined: String = [a, b].iter().collect();
                let spaced = format!("{a} {b}");
                assert!(html.contains(&joined), "{}: {joined} not joined", page.slug);
                assert!(!html.contains(&spaced), "{}: {spaced}", page.slug);
                joins += 1;
            }
        }
    }
    assert!(
        joins >= 5,
        "the Chinese content has only {joins} CJK line joins"
    );
}

#[test]
fn same_inputs_give_identical_bytes() {
    let again = build(&inputs(), curated()).unwrap();
    assert_eq!(again.len(), site().len());
    for (path, bytes) in &again {
        assert!(site().get(path) == Some(bytes), "{path} differs");
    }
}

/// The build that takes its inputs (moving the downloads) makes the same files as the one
/// that borrows them.
#[test]
fn a_build_of_owned_inputs_gives_identical_bytes() {
    let owned = build_owned(inputs(), curated(), &SiteOptions::default()).unwrap();
    assert_eq!(owned.len(), site().len());
    for (path, bytes) in &owned {
        assert!(site().get(path) == Some(bytes), "{path} differs");
    }
}

#[test]
fn a_renamed_column_fails_naming_dataset_row_and_column() {
    let mut inputs = inputs();
    let row = &mut inputs.tables.get_mut("exceedances").unwrap()[0];
    let v = row.remove("raw_line").unwrap();
    row.insert("source_line".into(), v);
    let err = build(&inputs, curated()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SiteError::Row { .. }), "{msg}");
    assert!(
        msg.contains("exceedances") && msg.contains("row 1") && msg.contains("raw_line"),
        "{msg}"
    );
}

#[test]
fn an_invalid_credit_code_never_becomes_a_path() {
    let mut inputs = inputs();
    inputs.tables.get_mut("enterprises").unwrap()[0]
        .insert("uscc".into(), "../../etc/passwd".into());
    let err = build(&inputs, curated()).unwrap_err();
    assert!(
        matches!(err, SiteError::BadId { field: "uscc", .. }),
        "{err}"
    );
}

#[test]
fn a_content_page_in_one_language_fails_the_build() {
    let mut inputs = inputs();
    inputs
        .content
        .retain(|p| !(p.slug == "contact" && p.lang == envgov_dataset::Lang::En));
    let err = build(&inputs, curated()).unwrap_err();
    assert!(err.to_string().contains("contact.en.md"), "{err}");
}

/// The pages Pagefind indexes in a language: every page of it but the search page and 404.
fn searchable_pages(lang: &str) -> Vec<String> {
    site()
        .keys()
        .filter(|p| {
            p.starts_with(&format!("{lang}/"))
                && p.ends_with(".html")
                && !p.starts_with(&format!("{lang}/search/"))
                && !p.ends_with("/404.html")
        })
        .cloned()
        .collect()
}

#[test]
fn the_search_index_holds_every_page_of_each_language_in_its_own_index() {
    let entry: serde_json::Value =
        serde_json::from_str(text("pagefind/pagefind-entry.json")).unwrap();
    let languages = entry["languages"].as_object().unwrap();
    // Pagefind names an index by the pages' <html lang>, lower-cased.
    let mut names: Vec<&String> = languages.keys().collect();
    names.sort();
    assert_eq!(names, ["en", "zh-hans-cn"]);
    for (lang, name) in [("zh", "zh-hans-cn"), ("en", "en")] {
        let pages = searchable_pages(lang);
        assert!(pages.len() > 100, "{lang}: {} pages", pages.len());
        assert_eq!(
            languages[name]["page_count"].as_u64(),
            Some(pages.len() as u64),
            "{lang}"
        );
        // Its metadata file, and fragments (one a page) and filters exist.
        let hash = languages[name]["hash"].as_str().unwrap();
        assert!(site().contains_key(&format!("pagefind/pagefind.{hash}.pf_meta")));
        let fragments = site()
            .keys()
            .filter(|p| p.starts_with(&format!("pagefind/fragment/{name}_")))
            .count();
        assert_eq!(fragments, pages.len(), "{lang}: one fragment a page");
        assert!(
            site()
                .keys()
                .any(|p| p.starts_with(&format!("pagefind/filter/{name}_")))
        );
    }
    // The search API and its worker are served; Pagefind's ready-made interfaces are not.
    for file in ["pagefind.js", "pagefind-worker.js", "wasm.en.pagefind"] {
        assert!(site().contains_key(&format!("pagefind/{file}")), "{file}");
    }
    assert!(!site().keys().any(|p| p.starts_with("pagefind/pagefind-ui")));
}

#[test]
fn pages_carry_their_search_text_and_filters() {
    let inputs = inputs();
    for (lang, district_col) in [("zh", "district_zh"), ("en", "district_en")] {
        // Every page has the header's search box, aimed at the search page.
        for page in searchable_pages(lang) {
            let html = text(&page);
            assert!(
                html.contains(&format!(r#"<form class="site-search" role="search" action="/{lang}/search/index.html" method="get">"#)),
                "{page}"
            );
            assert_eq!(html.matches("data-pagefind-body").count(), 1, "{page}");
        }
        // A unit page is filtered by its district and its source type, written from the
        // registry row.
        let row = &inputs.tables["enterprises"][0];
        let uscc = row["uscc"].as_str().unwrap();
        let html = text(&format!("{lang}/enterprises/{uscc}.html"));
        let district = row[district_col].as_str().unwrap();
        let filters: Vec<&str> = html
            .match_indices(r#"data-pagefind-filter=""#)
            .map(|(i, _)| &html[i..html[i..].find("</span>").unwrap() + i])
            .collect();
        assert_eq!(filters.len(), 3, "{lang} {uscc}: {filters:?}");
        assert!(filters[0].starts_with(r#"data-pagefind-filter="section">"#));
        assert!(filters[1].starts_with(r#"data-pagefind-filter="district">"#));
        assert_eq!(
            filters[1],
            format!(r#"data-pagefind-filter="district">{district}"#)
        );
        assert!(filters[2].starts_with(r#"data-pagefind-filter="type">"#));
        // The search page: the form of the contract, the index's folder, the no-JS fallback.
        let html = text(&format!("{lang}/search/index.html"));
        assert!(html.contains(r#"<input id="search-q" name="q" type="search""#));
        assert!(html.contains(r#"data-bundle="/pagefind/""#));
        assert!(html.contains(r#"<a href="/sitemap.xml">"#), "{lang}");
    }
}

#[test]
fn charts_have_text_alternatives_and_the_csv_of_exactly_the_data_drawn() {
    let inputs = inputs();
    // Exceedances per day, counted here from the published register rows.
    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    for row in &inputs.tables["exceedances"] {
        *per_day
            .entry(row["date"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let year = &inputs.data_date[..4];
    let csv = text("en/charts/exceedances-by-day.csv");
    let mut lines = csv.trim_start_matches('\u{feff}').split("\r\n");
    assert_eq!(lines.next(), Some("Date,Exceedances (count)"));
    let drawn: Vec<(&str, u64)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (d, n) = l.split_once(',').unwrap();
            (d, n.parse().unwrap())
        })
        .collect();
    // One bar per day from 1 January to the data date, zero days included.
    assert_eq!(drawn.first().unwrap().0, format!("{year}-01-01"));
    assert_eq!(drawn.last().unwrap().0, inputs.data_date);
    for (day, n) in &drawn {
        assert_eq!(*n, per_day.get(*day).copied().unwrap_or(0), "{day}");
    }
    assert_eq!(
        drawn.iter().map(|d| d.1).sum::<u64>(),
        inputs.tables["exceedances"].len() as u64
    );

    for (page, chart) in [
        ("exceedances/index.html", "exceedances-by-day"),
        ("plan/index.html", "plan-rate-indicators"),
        ("sectors/vehicles.html", "fleet-electrification"),
    ] {
        for lang in ["zh", "en"] {
            let html = text(&format!("{lang}/{page}"));
            let svg_href = format!("/{lang}/charts/{chart}.svg");
            let csv_href = format!("/{lang}/charts/{chart}.csv");
            assert!(
                html.contains(&format!("<img src=\"{svg_href}\"")),
                "{lang}/{page}"
            );
            assert!(
                html.contains(&format!("<a href=\"{csv_href}\"")),
                "{lang}/{page}"
            );
            // The figure carries a non-empty alt and the data as a table.
            let figure = html.split("<figure class=\"chart\"").nth(1).unwrap();
            let alt = figure
                .split("alt=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert!(alt.chars().count() > 10, "{lang}/{page}: alt {alt:?}");
            assert!(figure.contains("<table>"));
            let svg = text(&svg_href[1..]);
            assert!(svg.contains("<title id=\"chart-title\">") && svg.contains("<desc"));
            // As many table rows as CSV rows.
            let csv_rows = text(&csv_href[1..]).trim_end().split("\r\n").count() - 1;
            let table = figure
                .split("<tbody>")
                .nth(1)
                .unwrap()
                .split("</tbody>")
                .next()
                .unwrap();
            assert_eq!(table.matches("<tr>").count(), csv_rows, "{lang}/{page}");
        }
    }
}

#[test]
fn the_sample_notice_follows_the_inputs() {
    let banner = "class=\"sample-banner\"";
    assert!(text("zh/index.html").contains(banner));
    assert!(text("en/enterprises/index.html").contains(banner));
    assert!(text("index.html").contains("sample-footer"));
    let mut real = inputs();
    real.sample = false;
    let files = build(&real, curated()).unwrap();
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".html")) {
        let html = String::from_utf8_lossy(bytes);
        assert!(
            !html.contains("sample-banner") && !html.contains("sample-footer"),
            "{path}"
        );
    }
}

#[test]
fn a_long_period_is_charted_by_month() {
    // The same rows with a data date of 31 March: 90 days, so one bar per month.
    let mut inputs = inputs();
    inputs.data_date = "2026-03-31".to_string();
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    let csv = std::str::from_utf8(&files["en/charts/exceedances-by-day.csv"]).unwrap();
    let mut by_month: BTreeMap<String, u64> = BTreeMap::new();
    for row in &inputs.tables["exceedances"] {
        *by_month
            .entry(row["date"].as_str().unwrap()[..7].to_string())
            .or_default() += 1;
    }
    let expected: String = ["2026-01", "2026-02", "2026-03"]
        .iter()
        .map(|m| format!("{m},{}\r\n", by_month.get(*m).copied().unwrap_or(0)))
        .collect();
    assert_eq!(
        csv,
        format!("\u{feff}Month,Exceedances (count)\r\n{expected}")
    );
}

/// The register and the directory split into pages: 230 exceedances make 3 register pages
/// (100, 100 and 30 rows; computed from the page size of 100), each row on exactly one page,
/// the pages linked to each other, and no HTML page over 500 KB.
#[test]
fn long_lists_are_split_into_linked_pages_under_500_kb() {
    let mut inputs = inputs();
    let rows = inputs.tables.get_mut("exceedances").unwrap();
    let template = rows[0].clone();
    rows.clear();
    for i in 0..230 {
        let mut r = template.clone();
        let id = format!("test:{i:03}");
        r.insert("exceedance_id".into(), serde_json::Value::String(id));
        // Distinct values (shown with one decimal from 100 up), so each row is found once.
        r.insert(
            "value".into(),
            serde_json::json!(100.0 + f64::from(i) + 0.5),
        );
        rows.push(r);
    }
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    for lang in ["zh", "en"] {
        let first = format!("{lang}/exceedances/index.html");
        let pages = [
            first.clone(),
            format!("{lang}/exceedances/page-2.html"),
            format!("{lang}/exceedances/page-3.html"),
        ];
        assert!(
            !files.contains_key(&format!("{lang}/exceedances/page-4.html")),
            "230 rows make 3 pages"
        );
        let mut seen = Vec::new();
        for (k, path) in pages.iter().enumerate() {
            let html = String::from_utf8(
                files
                    .get(path.as_str())
                    .unwrap_or_else(|| panic!("{path} rendered"))
                    .clone(),
            )
            .unwrap();
            for p in 1..=3 {
                let href = if p == 1 {
                    format!("/{first}")
                } else {
                    format!("/{lang}/exceedances/page-{p}.html")
                };
                assert!(
                    html.contains(&format!("href=\"{href}\"")),
                    "{path} links page {p}"
                );
            }
            assert!(html.contains("class=\"pager\""), "{path}");
            let on_page: Vec<u32> = (0..230u32)
                .filter(|i| html.contains(&format!("\"num\">{}.5 ", 100 + i)))
                .collect();
            assert_eq!(
                on_page.len(),
                [100, 100, 30][k],
                "{path} holds its share of the rows"
            );
            seen.extend(on_page);
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..230).collect::<Vec<u32>>(),
            "every row on exactly one page"
        );
    }
    for (path, bytes) in &files {
        if path.ends_with(".html") {
            assert!(bytes.len() < 500 * 1024, "{path} is {} bytes", bytes.len());
        }
    }
    // Both languages have the same pages (symmetric URLs), and the sitemap lists them.
    let sitemap = String::from_utf8(files["sitemap.xml"].clone()).unwrap();
    assert!(sitemap.contains("/en/exceedances/page-3.html"));
    assert!(sitemap.contains("/zh/exceedances/page-3.html"));
}

/// The waste page grows with the months of data (every facility has a row a month), so it is
/// split by month: 12 months of 300 sewage plants (3,600 rows, over 500 KB on one page) make
/// 12 pages, the latest month first at the sector's own URL, each holding exactly its month's
/// rows, all linked to each other, none over 500 KB.
#[test]
fn the_waste_page_is_split_by_month_under_500_kb() {
    let mut inputs = inputs();
    // Only sewage rows, so that the months are exactly those below.
    for other in ["msw-treatment", "medical-waste", "construction-waste"] {
        inputs.tables.get_mut(other).unwrap().clear();
    }
    let rows = inputs.tables.get_mut("sewage-compliance").unwrap();
    let template = rows[0].clone();
    rows.clear();
    let months: Vec<String> = (1..=12).map(|m| format!("2025-{m:02}")).collect();
    for (m, month) in months.iter().enumerate() {
        for i in 0..300 {
            let mut r = template.clone();
            r.insert("month".into(), serde_json::json!(month));
            r.insert(
                "plant_name".into(),
                serde_json::json!(format!("plant-{m}-{i}")),
            );
            rows.push(r);
        }
    }
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    for lang in ["zh", "en"] {
        let first = format!("{lang}/sectors/waste.html");
        // Page k (1-based) is the k-th latest month: 2025-12, 2025-11, ..., 2025-01.
        let page = |k: usize| {
            if k == 1 {
                first.clone()
            } else {
                format!("{lang}/sectors/waste/page-{k}.html")
            }
        };
        assert!(!files.contains_key(&page(13)), "12 months make 12 pages");
        for k in 1..=12 {
            let path = page(k);
            let html = std::str::from_utf8(
                files
                    .get(&path)
                    .unwrap_or_else(|| panic!("{path} rendered")),
            )
            .unwrap();
            for other in 1..=12 {
                assert!(
                    html.contains(&format!("href=\"/{}\"", page(other))),
                    "{path} links page {other}"
                );
            }
            // The plants shown (`>plant-{m}-{i}<`), each once, are all and only month m's.
            let mut shown: Vec<&str> = html
                .split(">plant-")
                .skip(1)
                .filter_map(|rest| rest.split_once('<').map(|(name, _)| name))
                .collect();
            shown.sort_unstable();
            let month = 12 - k;
            let mut expected: Vec<String> = (0..300).map(|i| format!("{month}-{i}")).collect();
            expected.sort_unstable();
            assert_eq!(shown, expected, "{path} holds month {month}'s rows");
        }
    }
    for (path, bytes) in &files {
        if path.ends_with(".html") {
            assert!(bytes.len() < 500 * 1024, "{path} is {} bytes", bytes.len());
        }
    }
    let sitemap = String::from_utf8(files["sitemap.xml"].clone()).unwrap();
    assert!(sitemap.contains("/en/sectors/waste/page-12.html"));
    assert!(sitemap.contains("/zh/sectors/waste/page-12.html"));
}

/// A night's correction: the dataset page and the unit page list it (old → new, the
/// revision's key and sha256, escaped), the corrections feed carries it, and an exceedance
/// the correction withdrew stays in the register marked as withdrawn.
#[test]
fn corrections_show_on_the_dataset_and_unit_pages_and_in_a_feed() {
    use envgov_dataset::changelog::{Change, Changelog, Entry, FieldChange, Record};
    use envgov_dataset::report::AppliedRevision;
    let mut inputs = inputs();
    let uscc = "91110108MA0JNQU36F";
    let revision = AppliedRevision {
        key: "raw/self-monitoring/2026-01-30/sm-110108.r2.csv".into(),
        revision: 2,
        replaces: "raw/self-monitoring/2026-01-30/sm-110108.csv".into(),
        sha256: "ab".repeat(32),
        first_seen_run: "2026-01-31".into(),
    };
    let record = |v: &str| {
        Record(vec![
            ("uscc".into(), uscc.into()),
            ("result".into(), v.into()),
        ])
    };
    inputs.changelogs.push((
        1,
        Changelog {
            dataset: "self-monitoring".into(),
            night: "2026-01-31".into(),
            primary_key: vec!["uscc".into(), "outlet".into()],
            previous_archive: None,
            entries: vec![Entry {
                change: Change::Changed,
                date: "2026-01-30".into(),
                key: vec![uscc.into(), "DW001".into()],
                fields: vec![FieldChange {
                    field: "result".into(),
                    old: "62.5".into(),
                    new: "<b>26.5</b>".into(),
                }],
                old: Some(record("62.5")),
                new: Some(record("<b>26.5</b>")),
                revisions: vec![revision.clone()],
            }],
        },
    ));
    let register = inputs.tables.get_mut("exceedances").unwrap();
    let withdrawn_id = register[0]["exceedance_id"].as_str().unwrap().to_string();
    register[0].insert("record_status".into(), "withdrawn".into());
    register[0].insert("withdrawn_by".into(), revision.key.clone().into());
    register[0].insert("withdrawn_night".into(), "2026-01-31".into());
    assert_eq!(register[0]["uscc"], uscc);
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    let text = |p: &str| String::from_utf8(files[p].clone()).unwrap();

    for lang in ["en", "zh"] {
        for page in [
            format!("{lang}/datasets/self-monitoring.html"),
            format!("{lang}/enterprises/{uscc}.html"),
        ] {
            let html = text(&page);
            assert!(
                html.contains("result: 62.5 → &lt;b&gt;26.5&lt;&#x2f;b&gt;")
                    || html.contains("result: 62.5 → &lt;b&gt;26.5&lt;/b&gt;"),
                "{page}"
            );
            assert!(!html.contains("<b>26.5"), "{page}: escaped");
            assert!(html.contains(&revision.key), "{page}");
            assert!(html.contains(&revision.sha256), "{page}");
        }
        let dataset = text(&format!("{lang}/datasets/self-monitoring.html"));
        assert!(dataset.contains("/datasets/self-monitoring/changes/2026-01-31.json"));
        assert!(dataset.contains("/datasets/self-monitoring/changes/2026-01-31.csv"));
        // The withdrawn exceedance: still on the unit's page, marked, with its revision.
        let unit = text(&format!("{lang}/enterprises/{uscc}.html"));
        let row = unit.find("class=\"withdrawn\"").expect("a withdrawn row");
        let marked = &unit[row..row + 2000];
        assert!(marked.contains("status-withdrawn"), "{lang}");
        assert!(marked.contains(&revision.key), "{lang}");
        // The feed: one entry for the corrected date, linking the dataset page.
        let feed = text(&format!("{lang}/feeds/corrections.xml"));
        assert_eq!(feed.matches("<entry>").count(), 1, "{feed}");
        assert!(feed.contains(&format!("/{lang}/datasets/self-monitoring.html")));
        assert!(feed.contains(&revision.sha256));
        assert!(feed.contains("corrections/self-monitoring/2026-01-30"));
        // The exceedances feed leaves the withdrawn exceedance out.
        let exceedances = text(&format!("{lang}/feeds/exceedances.xml"));
        assert!(
            !exceedances.contains(&withdrawn_id.replace(' ', "%20")),
            "{lang}"
        );
    }
    let en = text("en/datasets/self-monitoring.html");
    assert!(en.contains("Changed") && en.contains("Corrections"));
    let zh = text("zh/datasets/self-monitoring.html");
    assert!(zh.contains("修改") && zh.contains("更正记录"));
}

/// Of a dataset published a file a month, a unit page lists the unit's month files newest
/// first, each with its rows and size, in both languages, and the dataset's total rows.
#[test]
fn a_unit_page_lists_its_month_downloads_newest_first() {
    let uscc = "91110106177886783N";
    let mut inputs = inputs();
    let month = |month: &str, rows: u64, bytes: u64| envgov_site::MonthDownload {
        month: month.into(),
        rows,
        bytes,
        sha256: "12".repeat(32),
    };
    // Given oldest first: the page turns them round.
    inputs.unit_months.get_mut("cems-daily").unwrap().insert(
        uscc.to_string(),
        vec![month("2026-01", 31, 4_500), month("2026-02", 28, 12_345)],
    );
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    assert!(
        !files
            .keys()
            .any(|p| p.starts_with("downloads/") && p.contains("/cems-daily")),
        "placed by the release"
    );
    let href = |m: &str| format!("href=\"/downloads/enterprises/{uscc}/cems-daily-{m}.csv\"");
    // Written by hand: 31 + 28 = 59 rows; 12,345 bytes is 12.3 kB, 4,500 is 4.5 kB.
    for (lang, needles) in [
        (
            "en",
            [
                "59 rows",
                "28 rows",
                "12.3 kB",
                "4.5 kB",
                "one file a month, newest first",
            ],
        ),
        (
            "zh",
            [
                "59 行",
                "28 行",
                "12.3 kB",
                "4.5 kB",
                "每月一个文件，最新在前",
            ],
        ),
    ] {
        let html =
            String::from_utf8(files[&format!("{lang}/enterprises/{uscc}.html")].clone()).unwrap();
        for needle in needles {
            assert!(html.contains(needle), "{lang}: {needle}");
        }
        let (feb, jan) = (html.find(&href("2026-02")), html.find(&href("2026-01")));
        assert!(feb.is_some() && jan.is_some(), "{lang}: both months linked");
        assert!(feb < jan, "{lang}: newest first");
    }
}

/// A unit with evidence bundles lists them, one a month, newest first (both languages, each
/// with its size and sha256); a unit without one shows no link.
#[test]
fn a_unit_page_lists_its_month_evidence_bundles_newest_first() {
    let with = "91110106177886783N";
    let without = "91110114MA0EX10K62";
    let mut inputs = inputs();
    let (jan, feb) = ("ab".repeat(32), "cd".repeat(32));
    // Given oldest first: the page turns them round.
    inputs.unit_bundles.insert(
        with.to_string(),
        vec![
            envgov_site::BundleLink {
                month: "2026-01".into(),
                bytes: 12_345,
                sha256: jan.clone(),
            },
            envgov_site::BundleLink {
                month: "2026-02".into(),
                bytes: 2_000,
                sha256: feb.clone(),
            },
        ],
    );
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    let page = |lang: &str, uscc: &str| {
        String::from_utf8(files[&format!("{lang}/enterprises/{uscc}.html")].clone()).unwrap()
    };
    let href = |m: &str| format!("href=\"/downloads/enterprises/{with}/evidence-bundle-{m}.zip\"");
    for (lang, label) in [
        ("en", "Evidence bundle of 2026-02"),
        ("zh", "证据包 2026-02"),
    ] {
        let html = page(lang, with);
        for needle in [
            href("2026-01").as_str(),
            href("2026-02").as_str(),
            "12.3 kB",
            "2.0 kB",
            label,
            jan.as_str(),
            feb.as_str(),
        ] {
            assert!(html.contains(needle), "{lang}: {needle}");
        }
        let at = |needle: &str| html.find(needle).unwrap();
        assert!(
            at(&href("2026-02")) < at(&href("2026-01")),
            "{lang}: newest first"
        );
        assert!(!page(lang, without).contains("evidence-bundle"), "{lang}");
    }
}

/// A unit's month files of `cems-daily` as the release places them, written by hand: one
/// unit's COD at outlet DW001 (DB11/890 class A: daily limit 20 mg/L, no winter value), over
/// the limit on 14 January, too few valid hours for a mean on 15 January. Every other unit's
/// month file has the header only.
#[derive(Debug)]
struct HandWrittenMonths;

const CHARTED: &str = "91110108MA0JNQU36F";
const CHARTED_HEADER: &str = "date,month,year,uscc,outlet,standard,pollutant,valid_hours,value_sum,daily_mean,daily_limit,daily_compliant,mass_kg";
const CHARTED_ROWS: [&str; 3] = [
    "2026-01-13,2026-01,2026,91110108MA0JNQU36F,DW001,DB11-890-2012-new-A,w01018,24,360,15,20,true,1.2",
    "2026-01-14,2026-01,2026,91110108MA0JNQU36F,DW001,DB11-890-2012-new-A,w01018,24,552,23,20,false,1.8",
    "2026-01-15,2026-01,2026,91110108MA0JNQU36F,DW001,DB11-890-2012-new-A,w01018,10,120,,20,,0.4",
];

/// A day of pH at a sewer outlet (DB11/307: 6.5 to 9, `data/standards.toml`).
const PH_UNIT: &str = "12110000180648321X";
const PH_ROW: &str = "2026-01-20,2026-01,2026,12110000180648321X,DW001,DB11-307-2013-sewer,w01001,24,180,7.5,9,true,0";

impl envgov_site::MonthFiles for HandWrittenMonths {
    fn read(
        &self,
        dataset: &str,
        uscc: &str,
        months: &[envgov_site::MonthDownload],
    ) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
        assert_eq!(dataset, "cems-daily");
        Ok(months
            .iter()
            .map(|m| {
                let mut csv = format!("\u{feff}{CHARTED_HEADER}\r\n");
                if uscc == CHARTED && m.month == "2026-01" {
                    for row in CHARTED_ROWS {
                        csv.push_str(row);
                        csv.push_str("\r\n");
                    }
                }
                if uscc == PH_UNIT && m.month == "2026-01" {
                    csv.push_str(PH_ROW);
                    csv.push_str("\r\n");
                }
                csv.into_bytes()
            })
            .collect())
    }
}

fn charted_site() -> BTreeMap<String, Vec<u8>> {
    let files = envgov_site::build_owned_charting(
        inputs(),
        curated(),
        &SiteOptions::default(),
        &HandWrittenMonths,
    )
    .unwrap_or_else(|e| panic!("build failed: {e}"));
    files.into_iter().collect()
}

#[test]
fn a_unit_page_charts_its_daily_means_against_the_limit_with_the_rows_as_csv() {
    let site = charted_site();
    let page = |lang: &str| {
        let path = format!("{lang}/enterprises/{CHARTED}.html");
        String::from_utf8(site[&path].clone()).unwrap()
    };
    let en = page("en");
    let svg = format!("/charts/enterprises/{CHARTED}/DW001-w01018.svg");
    let csv = format!("/charts/enterprises/{CHARTED}/DW001-w01018.csv");
    assert!(
        en.contains(&format!("<img src=\"{svg}\"")),
        "no chart image"
    );
    assert!(en.contains(&format!("href=\"{csv}\"")), "no chart CSV link");
    assert!(en.contains("aria-describedby=\"chart-DW001-w01018-summary\""));
    // The summary, worked out by hand from the three rows: means 15 and 23; the mean of all
    // valid hours (360 + 552 + 120) / (24 + 24 + 10) = 1032 / 58 = 17.79; 58 valid hours
    // of 31 x 24 = 744 (7.8%); the limit 20 all month (the rows', and the standard's on
    // days without a row).
    for sentence in [
        "From 2026-01-01 to 2026-01-31 (31 days): a row on 3 days, a daily mean on 2.",
        "Daily means from 15 (2026-01-13) to 23 (2026-01-14) mg/L.",
        "Mean of all valid hourly values: 17.79 mg/L.",
        "Daily limit in force: 20 mg/L from 2026-01-01 to 2026-01-31.",
        "Valid hours: 58 of 744 (7.8%).",
        "Days over the daily limit: 1.",
        "<li>exceeded on 2026-01-14 (23 &gt; 20 mg/L)</li>",
    ] {
        assert!(en.contains(sentence), "missing {sentence:?}");
    }
    let zh = page("zh");
    assert!(
        zh.contains("<li>2026-01-14超标（23 &gt; 20 mg/L）</li>"),
        "zh summary"
    );
    assert!(zh.contains("有效小时：58/744（7.8%）。"), "zh coverage");
    // The CSV: the drawn columns of exactly the three rows, cell for cell.
    let expected = "\u{feff}date,uscc,outlet,pollutant,valid_hours,value_sum,daily_mean,daily_limit,daily_compliant\r\n\
        2026-01-13,91110108MA0JNQU36F,DW001,w01018,24,360,15,20,true\r\n\
        2026-01-14,91110108MA0JNQU36F,DW001,w01018,24,552,23,20,false\r\n\
        2026-01-15,91110108MA0JNQU36F,DW001,w01018,10,120,,20,\r\n";
    assert_eq!(
        String::from_utf8(site[&csv[1..]].clone()).unwrap(),
        expected
    );
    // The SVG: an image with a title, the limit dashed, one exceedance triangle.
    let svg = String::from_utf8(site[&svg[1..]].clone()).unwrap();
    assert!(
        svg.contains("role=\"img\"") && svg.contains("<title"),
        "svg title"
    );
    assert_eq!(svg.matches("stroke-dasharray").count(), 1);
    assert_eq!(svg.matches("fill=\"#C0392B\"").count(), 1);
    // One file for both languages, the same bytes from the same inputs.
    assert!(!site.keys().any(|p| p.starts_with("zh/charts/enterprises")));
    assert_eq!(charted_site(), site);
}

#[test]
fn ph_is_charted_against_its_range_with_no_mass() {
    let site = charted_site();
    let page = |lang: &str| {
        let path = format!("{lang}/enterprises/{PH_UNIT}.html");
        String::from_utf8(site[&path].clone()).unwrap()
    };
    let (en, zh) = (page("en"), page("zh"));
    // The limit is a range: DB11/307's 6.5 (lower) to 9, all January (the row's 9, and the
    // standard's on the days without a row), drawn as two dashed lines.
    assert!(
        en.contains("Daily limit in force (a range): 6.5–9 pH from 2026-01-01 to 2026-01-31."),
        "en pH range"
    );
    assert!(
        zh.contains("执行的日均限值（范围）：2026-01-01至2026-01-31为6.5–9 pH。"),
        "zh pH range"
    );
    assert!(en.contains("No day over the daily limit."));
    let svg = format!("charts/enterprises/{PH_UNIT}/DW001-w01001.svg");
    let svg = String::from_utf8(site[&svg].clone()).unwrap();
    assert_eq!(
        svg.matches("stroke-dasharray").count(),
        2,
        "upper and lower bound"
    );
    // pH has no mass: not among the monthly masses.
    let masses = format!("charts/enterprises/{PH_UNIT}/monthly-mass.csv");
    assert!(
        !std::str::from_utf8(&site[&masses])
            .unwrap()
            .contains("w01001")
    );
}

#[test]
fn ph_has_no_mass_and_monthly_masses_are_the_datasets_rows() {
    // Unit 12110000180648321X reports pH (w01001), whose emission totals carry mass_kg 0.
    let en = text("en/enterprises/12110000180648321X.html");
    let zh = text("zh/enterprises/12110000180648321X.html");
    let totals = |html: &'static str| &html[html.find("id=\"totals\"").unwrap()..];
    assert!(totals(en).contains("<td class=\"num\">Not applicable</td>"));
    assert!(totals(zh).contains("<td class=\"num\">不适用</td>"));
    // The monthly masses chart: the unit's monthly rows of emission-totals of the
    // pollutants with a mass (not pH), their mass_kg as the dataset writes it.
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        read_json(&fixtures().join("datasets/emission-totals/emission-totals.json"));
    let mut expected = String::from("\u{feff}uscc,pollutant,period,mass_kg\r\n");
    let mut mine: Vec<&serde_json::Map<String, serde_json::Value>> = (rows.iter())
        .filter(|r| r["uscc"] == "12110000180648321X" && r["period_type"] == "month")
        .filter(|r| r["pollutant"] != "w01001")
        .collect();
    assert!(!mine.is_empty());
    mine.sort_by_key(|r| (r["pollutant"].to_string(), r["period"].to_string()));
    for r in mine {
        let kg = r["mass_kg"].as_f64().unwrap();
        let kg = if kg == 0.0 {
            "0".to_string()
        } else {
            kg.to_string()
        };
        let (p, m) = (
            r["pollutant"].as_str().unwrap(),
            r["period"].as_str().unwrap(),
        );
        expected.push_str(&format!("12110000180648321X,{p},{m},{kg}\r\n"));
    }
    let csv = "charts/enterprises/12110000180648321X/monthly-mass.csv";
    assert_eq!(std::str::from_utf8(&site()[csv]).unwrap(), expected);
    assert!(en.contains("/charts/enterprises/12110000180648321X/monthly-mass.svg"));
}
