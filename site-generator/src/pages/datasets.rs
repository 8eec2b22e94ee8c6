//! The dataset catalogue and one page per dataset: dictionary, downloads (CSV, Parquet,
//! JSON, `datapackage.json`, served from the store's `datasets/` beside the site), licence,
//! citation, sources, last and next update, and the dated archives.

use super::shared::{Link, Site};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::urls::{self, DateSlug, Route, Slug};
use chrono::Days;
use envgov_dataset::Lang;
use envgov_dataset::layout::Format;
use envgov_dataset::manifest::DataPackage;
use serde::Serialize;

#[derive(Serialize)]
struct FileLink {
    href: String,
    /// What the link says: a format (`CSV`), or the file's name for a dataset published
    /// a file a month (`cems-hourly-2026-01.csv.gz`).
    format: String,
    size: Option<String>,
    sha256: Option<String>,
}

#[derive(Serialize)]
struct Entry {
    href: String,
    id: String,
    title: String,
    description: String,
    rows: String,
    data_date: String,
    files: Vec<FileLink>,
}

#[derive(Serialize)]
struct CataloguePage {
    summary: String,
    entries: Vec<Entry>,
    catalogue_date: String,
}

#[derive(Serialize)]
struct FieldView {
    name: String,
    field_type: String,
    unit: String,
    title: String,
    description: String,
    primary_key: bool,
}

#[derive(Serialize)]
struct ArchiveView {
    date: String,
    date_iso: String,
    files: Vec<FileLink>,
}

#[derive(Serialize)]
struct SourceView {
    title: String,
    path: String,
}

#[derive(Serialize)]
struct DatasetPage {
    id: String,
    description: String,
    rows: String,
    files: Vec<FileLink>,
    fields: Vec<FieldView>,
    licences: Vec<Link>,
    citation: String,
    sources: Vec<SourceView>,
    last_updated: String,
    last_updated_iso: String,
    next_update: String,
    /// Set when the text is the package's own English words, not a translation.
    next_update_lang: Option<&'static str>,
    keywords: Vec<String>,
    archives: Vec<ArchiveView>,
    corrections: super::corrections::DatasetCorrections,
    /// The dataset's query page (SQL in the browser), when it has Parquet files.
    query: Option<String>,
}

fn slug(id: &str) -> Result<Slug, SiteError> {
    Slug::new(id).map_err(|reason| SiteError::BadId {
        dataset: id.to_string(),
        field: "dataset id",
        value: id.to_string(),
        reason,
    })
}

fn package<'a>(site: &Site<'a>, id: &str) -> Result<&'a DataPackage, SiteError> {
    site.inputs
        .packages
        .get(id)
        .ok_or_else(|| SiteError::MissingInput {
            dataset: id.to_string(),
            what: "datapackage.json",
        })
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Csv => "CSV",
        Format::Parquet => "Parquet",
        Format::Json => "JSON",
    }
}

fn size(lang: Lang, bytes: u64) -> String {
    format::file_size(lang, bytes)
}

/// The latest files of a dataset that its package lists, then its `datapackage.json`.
fn latest_files(lang: Lang, id: &Slug, p: &DataPackage) -> Vec<FileLink> {
    let mut files = Vec::new();
    for f in Format::ALL {
        let name = format!("{id}.{}", f.extension());
        if let Some(r) = p.resources.iter().find(|r| r.path == name) {
            files.push(FileLink {
                href: urls::dataset_file(id, f),
                format: format_label(f).to_string(),
                size: Some(size(lang, r.bytes)),
                sha256: Some(r.hash.trim_start_matches("sha256:").to_string()),
            });
        }
    }
    // A dataset published a file a month (cems-hourly): each file its package lists.
    for r in &p.resources {
        let single = Format::ALL
            .iter()
            .any(|f| r.path == format!("{id}.{}", f.extension()));
        if let (false, Some(href)) = (single, urls::dataset_resource(id, &r.path)) {
            files.push(FileLink {
                href,
                format: r.path.clone(),
                size: Some(size(lang, r.bytes)),
                sha256: Some(r.hash.trim_start_matches("sha256:").to_string()),
            });
        }
    }
    files.push(FileLink {
        href: urls::datapackage(id),
        format: "datapackage.json".to_string(),
        size: None,
        sha256: None,
    });
    files
}

fn next_update(site: &Site<'_>, lang: Lang, p: &DataPackage) -> Result<String, SiteError> {
    if p.next_update.trim_start().starts_with("nightly") {
        let next = site
            .data_date
            .checked_add_days(Days::new(1))
            .unwrap_or(site.data_date);
        site.tf(
            lang,
            "dataset.next_nightly",
            &[("date", &format::date(lang, next))],
        )
    } else {
        Ok(p.next_update.clone())
    }
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let catalogue = &site.inputs.catalogue;
    for lang in Lang::ALL {
        let mut entries = Vec::new();
        for e in &catalogue.datasets {
            let id = slug(&e.id)?;
            let p = package(site, &e.id)?;
            entries.push(Entry {
                href: urls::page(lang, &Route::Dataset(id.clone())),
                id: e.id.clone(),
                title: e.title.get(lang).to_string(),
                description: e.description.get(lang).to_string(),
                rows: format::integer(lang, e.rows as i64),
                data_date: format::parse_date(&e.data_date)
                    .map(|d| format::date(lang, d))
                    .unwrap_or_else(|| e.data_date.clone()),
                files: latest_files(lang, &id, p),
            });
        }
        let page = CataloguePage {
            summary: site.tf(
                lang,
                "datasets.summary",
                &[("n", &format::integer(lang, entries.len() as i64))],
            )?,
            entries,
            catalogue_date: format::parse_date(&catalogue.data_date)
                .map(|d| format::date(lang, d))
                .unwrap_or_else(|| catalogue.data_date.clone()),
        };
        site.render_page(
            out,
            lang,
            &Route::Datasets,
            "datasets.html",
            site.t(lang, "datasets.title")?,
            site.t(lang, "datasets.description")?,
            site.crumbs(lang, &[])?,
            &page,
        )?;
    }

    for e in &catalogue.datasets {
        let id = slug(&e.id)?;
        let p = package(site, &e.id)?;
        let schema = p.resources.iter().find_map(|r| r.schema.as_ref());
        let mut archive_dates: Vec<DateSlug> = Vec::new();
        for d in site.inputs.archives.get(&e.id).into_iter().flatten() {
            archive_dates.push(DateSlug::new(d).map_err(|reason| SiteError::BadId {
                dataset: e.id.clone(),
                field: "archive date",
                value: d.clone(),
                reason,
            })?);
        }
        archive_dates.sort();
        archive_dates.dedup();
        archive_dates.reverse();
        let data_date = format::parse_date(&p.data_date).ok_or_else(|| SiteError::BadDate {
            what: format!("datasets/{}/datapackage.json envgov:dataDate", e.id),
            value: p.data_date.clone(),
        })?;
        for lang in Lang::ALL {
            let title = p.titles.get(lang).to_string();
            let fields = schema
                .map(|s| {
                    s.fields
                        .iter()
                        .map(|f| FieldView {
                            name: f.name.clone(),
                            field_type: f.field_type.clone(),
                            unit: f.unit.clone().unwrap_or_else(|| "—".to_string()),
                            title: f.titles.get(lang).to_string(),
                            description: f.descriptions.get(lang).to_string(),
                            primary_key: s.primary_key.contains(&f.name),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let single_csv = p.resources.iter().any(|r| r.path == format!("{id}.csv"));
            let mut archives = Vec::new();
            for d in &archive_dates {
                let date = format::parse_date(d.as_str()).ok_or_else(|| SiteError::BadDate {
                    what: format!("archive of {}", e.id),
                    value: d.as_str().to_string(),
                })?;
                archives.push(ArchiveView {
                    date: format::date(lang, date),
                    date_iso: d.as_str().to_string(),
                    // A dataset published a file a month has no `{id}.csv` in its archives:
                    // their datapackage.json lists the months written that night.
                    files: single_csv
                        .then(|| FileLink {
                            href: urls::archive_file(&id, d, Format::Csv),
                            format: "CSV".to_string(),
                            size: None,
                            sha256: None,
                        })
                        .into_iter()
                        .chain([FileLink {
                            href: urls::archive_datapackage(&id, d),
                            format: "datapackage.json".to_string(),
                            size: None,
                            sha256: None,
                        }])
                        .collect(),
                });
            }
            let page = DatasetPage {
                id: e.id.clone(),
                description: p.descriptions.get(lang).to_string(),
                rows: format::integer(lang, e.rows as i64),
                files: latest_files(lang, &id, p),
                fields,
                licences: p
                    .licenses
                    .iter()
                    .filter(|l| l.path.starts_with("https://") || l.path.starts_with("http://"))
                    .map(|l| -> Result<Link, SiteError> {
                        // CC BY 4.0 is named in the page's language; others as published.
                        Ok(if l.name == "CC-BY-4.0" {
                            Link {
                                href: urls::licence(lang).to_string(),
                                text: site.t(lang, "footer.licence_name")?,
                            }
                        } else {
                            Link {
                                href: l.path.clone(),
                                text: format!("{} ({})", l.title, l.name),
                            }
                        })
                    })
                    .collect::<Result<_, _>>()?,
                citation: site.tf(
                    lang,
                    "dataset.citation_text",
                    &[
                        ("title", &title),
                        ("date", &format::date(lang, data_date)),
                        (
                            "url",
                            &urls::absolute(site.origin, &urls::dataset_folder(&id)),
                        ),
                    ],
                )?,
                sources: p
                    .sources
                    .iter()
                    .map(|s| SourceView {
                        title: s.titles.get(lang).to_string(),
                        path: s.path.clone(),
                    })
                    .collect(),
                last_updated: format::date(lang, data_date),
                last_updated_iso: p.data_date.clone(),
                next_update: next_update(site, lang, p)?,
                next_update_lang: (!p.next_update.trim_start().starts_with("nightly"))
                    .then_some(Lang::En.bcp47()),
                keywords: p.keywords.clone(),
                archives,
                corrections: super::corrections::of_dataset(site, lang, &id)?,
                query: p
                    .resources
                    .iter()
                    .any(|r| r.path.ends_with(".parquet"))
                    .then(|| urls::page(lang, &Route::DatasetQuery(id.clone()))),
            };
            site.render_page(
                out,
                lang,
                &Route::Dataset(id.clone()),
                "dataset.html",
                title,
                p.descriptions.get(lang).to_string(),
                site.crumbs(lang, &[(Route::Datasets, "nav.datasets")])?,
                &page,
            )?;
        }
    }
    Ok(())
}
