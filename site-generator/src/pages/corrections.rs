//! Corrections as the pages and the feed show them, from the changelogs the publication
//! lists ([`crate::SiteInputs::changelogs`]): on a dataset's page its own, on a unit's page
//! the records of that unit, newest night first. Pure: views in, views out.

use crate::error::SiteError;
use crate::format;
use crate::pages::shared::{Site, pick};
use envgov_dataset::Lang;
use envgov_dataset::changelog::{Change, Changelog, Entry};
use serde::Serialize;

/// The corrections a page lists; the rest are in the changelog files it links.
pub const SHOWN: usize = 100;

/// One corrected record.
#[derive(Debug, Serialize)]
pub struct CorrectionView {
    /// The night that applied the revision.
    pub night: String,
    pub night_iso: String,
    /// The record's data date.
    pub date: String,
    pub date_iso: String,
    pub dataset: String,
    /// The unit the record belongs to (by its `uscc`), named and linked when registered.
    pub unit_name: Option<String>,
    pub unit_href: Option<String>,
    pub change: String,
    /// `added`, `changed` or `withdrawn` (a class for styling).
    pub change_code: &'static str,
    /// The record's primary key, `column=value` joined.
    pub record: String,
    /// Each changed field: `field: old → new` (an empty value shown as `—`).
    pub values: Vec<String>,
    /// Each revision: its raw key and sha256.
    pub revisions: Vec<RevisionView>,
}

#[derive(Debug, Serialize)]
pub struct RevisionView {
    pub key: String,
    pub sha256: String,
}

fn shown(v: &str) -> &str {
    if v.is_empty() { "—" } else { v }
}

fn date(lang: Lang, iso: &str) -> String {
    format::parse_date(iso).map_or_else(|| iso.to_string(), |d| format::date(lang, d))
}

/// The view of one entry of a changelog.
pub fn view(
    site: &Site<'_>,
    lang: Lang,
    log: &Changelog,
    e: &Entry,
) -> Result<CorrectionView, SiteError> {
    let dataset = site
        .inputs
        .catalogue
        .datasets
        .iter()
        .find(|d| d.id == log.dataset)
        .map_or_else(|| log.dataset.clone(), |d| d.title.get(lang).to_string());
    let uscc = [&e.new, &e.old]
        .into_iter()
        .flatten()
        .find_map(|r| r.get("uscc"))
        .unwrap_or("");
    let unit = site.registry.get(uscc);
    Ok(CorrectionView {
        unit_name: unit.map(|u| pick(lang, u.row.name_zh, u.row.name_en).to_string()),
        unit_href: site.unit_href(lang, uscc),
        night: date(lang, &log.night),
        night_iso: log.night.clone(),
        date: date(lang, &e.date),
        date_iso: e.date.clone(),
        dataset,
        change: site.t(lang, &format!("corrections.change_{}", e.change.as_str()))?,
        change_code: e.change.as_str(),
        record: log
            .primary_key
            .iter()
            .zip(&e.key)
            .map(|(c, v)| format!("{c}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        values: e
            .fields
            .iter()
            .map(|f| format!("{}: {} → {}", f.field, shown(&f.old), shown(&f.new)))
            .collect(),
        revisions: e
            .revisions
            .iter()
            .map(|r| RevisionView {
                key: r.key.clone(),
                sha256: r.sha256.clone(),
            })
            .collect(),
    })
}

/// The entries of `logs` that `keep` selects, newest night first, at most [`SHOWN`] of
/// them as views, and how many there are in all.
pub fn views(
    site: &Site<'_>,
    lang: Lang,
    keep: impl Fn(&Changelog, &Entry) -> bool,
) -> Result<(Vec<CorrectionView>, usize), SiteError> {
    let mut all: Vec<(&Changelog, &Entry)> = site
        .inputs
        .changelogs
        .iter()
        .rev()
        .flat_map(|(_, log)| log.entries.iter().map(move |e| (log, e)))
        .filter(|(log, e)| keep(log, e))
        .collect();
    let total = all.len();
    all.truncate(SHOWN);
    let views = all
        .into_iter()
        .map(|(log, e)| view(site, lang, log, e))
        .collect::<Result<_, _>>()?;
    Ok((views, total))
}

/// Whether an entry is about the unit with the credit code `uscc` (before or after).
pub fn of_unit(e: &Entry, uscc: &str) -> bool {
    [&e.old, &e.new]
        .into_iter()
        .flatten()
        .any(|r| r.get("uscc") == Some(uscc))
}

/// The counts of a changelog's entries on one date: added, changed, withdrawn.
pub fn counts(log: &Changelog, date: &str) -> [usize; 3] {
    let n = |c: Change| {
        log.entries
            .iter()
            .filter(|e| e.date == date && e.change == c)
            .count()
    };
    [n(Change::Added), n(Change::Changed), n(Change::Withdrawn)]
}

/// A dataset's corrections as its page shows them: the newest [`SHOWN`], a note on the
/// rest, and the changelog files of each night (newest first).
pub fn of_dataset(
    site: &Site<'_>,
    lang: Lang,
    id: &crate::urls::Slug,
) -> Result<DatasetCorrections, SiteError> {
    let (rows, total) = views(site, lang, |log, _| log.dataset == id.as_str())?;
    let more = more(site, lang, total, rows.len())?;
    let mut files = Vec::new();
    for (revision, log) in site.inputs.changelogs.iter().rev() {
        if log.dataset != id.as_str() {
            continue;
        }
        let Ok(night) = crate::urls::DateSlug::new(&log.night) else {
            continue;
        };
        files.push(ChangelogFiles {
            label: site.tf(
                lang,
                "corrections.files",
                &[("night", &date(lang, &log.night))],
            )?,
            json: crate::urls::changelog_file(id, &night, *revision, "json"),
            csv: crate::urls::changelog_file(id, &night, *revision, "csv"),
        });
    }
    Ok(DatasetCorrections { rows, more, files })
}

/// A unit's corrections (its records in any dataset), newest night first.
pub fn of_unit_page(
    site: &Site<'_>,
    lang: Lang,
    uscc: &str,
) -> Result<(Vec<CorrectionView>, Option<String>), SiteError> {
    let (rows, total) = views(site, lang, |_, e| of_unit(e, uscc))?;
    let more = more(site, lang, total, rows.len())?;
    Ok((rows, more))
}

fn more(
    site: &Site<'_>,
    lang: Lang,
    total: usize,
    shown: usize,
) -> Result<Option<String>, SiteError> {
    if total <= shown {
        return Ok(None);
    }
    let n = format::integer(lang, (total - shown) as i64);
    Ok(Some(site.tf(lang, "corrections.more", &[("n", &n)])?))
}

/// What a dataset page shows of its corrections.
#[derive(Debug, Serialize)]
pub struct DatasetCorrections {
    pub rows: Vec<CorrectionView>,
    pub more: Option<String>,
    pub files: Vec<ChangelogFiles>,
}

/// The two files of a night's changelog.
#[derive(Debug, Serialize)]
pub struct ChangelogFiles {
    pub label: String,
    pub json: String,
    pub csv: String,
}
