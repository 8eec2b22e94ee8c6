//! Atom 1.0 feeds of each language: dataset updates, and the exceedance register's newest
//! records. `updated` is the data date at midnight Beijing time (never the wall clock); ids
//! are `tag:` URIs on the site's host, stable across builds.

use crate::error::SiteError;
use crate::output::Output;
use crate::pages::corrections;
use crate::pages::shared::{Site, pick};
use crate::registry::sort_exceedances;
use crate::urls::{self, Feed, Route, Slug};
use crate::{format, xml};
use envgov_dataset::Lang;

/// The newest exceedances a feed carries.
pub const EXCEEDANCE_ENTRIES: usize = 100;

struct Entry {
    id: String,
    title: String,
    updated: String,
    href: String,
    summary: String,
}

/// `2026-01-31T00:00:00+08:00`.
pub fn midnight(date: &str) -> String {
    format!("{date}T00:00:00+08:00")
}

fn host(origin: &str) -> &str {
    origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// Percent-encodes what a `tag:` URI's specific part may not hold.
fn tag_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:+@/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn tag(origin: &str, date: &str, specific: &str) -> String {
    format!("tag:{},{date}:{}", host(origin), tag_part(specific))
}

#[allow(clippy::too_many_arguments)]
fn feed(
    site: &Site<'_>,
    lang: Lang,
    kind: Feed,
    title: &str,
    subtitle: &str,
    alternate: &str,
    updated: &str,
    entries: &[Entry],
) -> Vec<u8> {
    let self_url = urls::absolute(site.origin, &urls::feed(lang, kind));
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    s.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
        lang.bcp47()
    ));
    s.push_str(&format!("  <id>{}</id>\n", xml::escape(&self_url)));
    s.push_str(&format!("  <title>{}</title>\n", xml::escape(title)));
    s.push_str(&format!(
        "  <subtitle>{}</subtitle>\n",
        xml::escape(subtitle)
    ));
    s.push_str(&format!("  <updated>{updated}</updated>\n"));
    s.push_str("  <author><name>envgov</name></author>\n");
    s.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml::escape(&self_url)
    ));
    s.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml::escape(&urls::absolute(site.origin, alternate))
    ));
    s.push_str("  <rights>CC BY 4.0</rights>\n");
    for e in entries {
        s.push_str("  <entry>\n");
        s.push_str(&format!("    <id>{}</id>\n", xml::escape(&e.id)));
        s.push_str(&format!("    <title>{}</title>\n", xml::escape(&e.title)));
        s.push_str(&format!("    <updated>{}</updated>\n", e.updated));
        s.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml::escape(&urls::absolute(site.origin, &e.href))
        ));
        s.push_str(&format!(
            "    <summary>{}</summary>\n",
            xml::escape(&e.summary)
        ));
        s.push_str("  </entry>\n");
    }
    s.push_str("</feed>\n");
    s.into_bytes()
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let date_iso = site.data_date.format("%Y-%m-%d").to_string();
    let updated = midnight(&date_iso);
    // A withdrawn exceedance is in the corrections feed (and marked in the register).
    let mut exceedances: Vec<_> = site
        .rows
        .exceedances
        .iter()
        .filter(|r| !r.withdrawn())
        .collect();
    sort_exceedances(&mut exceedances);
    exceedances.truncate(EXCEEDANCE_ENTRIES);

    for lang in Lang::ALL {
        let mut entries = Vec::new();
        for d in &site.inputs.catalogue.datasets {
            let Ok(id) = Slug::new(&d.id) else { continue };
            let date = format::parse_date(&d.data_date)
                .map_or_else(|| d.data_date.clone(), |x| format::date(lang, x));
            entries.push(Entry {
                id: tag(site.origin, &d.data_date, &format!("datasets/{}", d.id)),
                title: site.tf(
                    lang,
                    "feeds.update_title",
                    &[("title", d.title.get(lang)), ("date", &date)],
                )?,
                updated: midnight(&d.data_date),
                href: urls::page(lang, &Route::Dataset(id)),
                summary: site.tf(
                    lang,
                    "feeds.update_summary",
                    &[
                        ("n", &format::integer(lang, d.rows as i64)),
                        ("description", d.description.get(lang)),
                    ],
                )?,
            });
        }
        out.add(
            &urls::feed(lang, Feed::Updates),
            feed(
                site,
                lang,
                Feed::Updates,
                &site.t(lang, "feeds.updates_title")?,
                &site.t(lang, "feeds.updates_subtitle")?,
                &urls::page(lang, &Route::Datasets),
                &updated,
                &entries,
            ),
        )?;

        let mut entries = Vec::new();
        for r in &exceedances {
            let v = site.exceedance_view(lang, r)?;
            let entry_updated = if format::parse_time(r.observed_at).is_some() {
                r.observed_at.to_string()
            } else {
                midnight(r.date)
            };
            entries.push(Entry {
                id: tag(
                    site.origin,
                    r.date,
                    &format!("exceedance:{}", r.exceedance_id),
                ),
                title: site.tf(
                    lang,
                    "feeds.exceedance_title",
                    &[
                        ("name", pick(lang, r.name_zh, r.name_en)),
                        ("pollutant", &v.pollutant),
                        ("value", &v.value),
                        ("limit", &v.limit),
                        ("unit", &v.unit),
                    ],
                )?,
                updated: entry_updated,
                href: v
                    .unit_href
                    .clone()
                    .unwrap_or_else(|| urls::page(lang, &Route::Exceedances)),
                summary: site.tf(
                    lang,
                    "feeds.exceedance_summary",
                    &[
                        ("when", &v.when),
                        ("district", &v.district),
                        ("outlet", &v.outlet),
                        ("period", &v.period),
                        ("multiple", &v.multiple),
                        ("standard", &v.standard),
                        ("source", &v.record_source),
                        (
                            "raw_key",
                            &match r.raw_line {
                                Some(line) => format!("{}:{line}", r.raw_key),
                                None => r.raw_key.to_string(),
                            },
                        ),
                    ],
                )?,
            });
        }
        corrections(site, lang, out)?;
        out.add(
            &urls::feed(lang, Feed::Exceedances),
            feed(
                site,
                lang,
                Feed::Exceedances,
                &site.t(lang, "feeds.exceedances_title")?,
                &site.t(lang, "feeds.exceedances_subtitle")?,
                &urls::page(lang, &Route::Exceedances),
                &updated,
                &entries,
            ),
        )?;
    }
    Ok(())
}

/// The corrections feed of a language: one entry per dataset, night and corrected date
/// (newest night first, at most [`EXCEEDANCE_ENTRIES`]), linking the dataset's page.
fn corrections(site: &Site<'_>, lang: Lang, out: &mut Output) -> Result<(), SiteError> {
    let mut entries = Vec::new();
    for (_, log) in site.inputs.changelogs.iter().rev() {
        let Ok(id) = Slug::new(&log.dataset) else {
            continue;
        };
        let title = site
            .inputs
            .catalogue
            .datasets
            .iter()
            .find(|d| d.id == log.dataset)
            .map_or_else(|| log.dataset.clone(), |d| d.title.get(lang).to_string());
        let mut dates: Vec<&str> = log.entries.iter().map(|e| e.date.as_str()).collect();
        dates.dedup();
        for date in dates {
            let [added, changed, withdrawn] = corrections::counts(log, date);
            let revisions: Vec<String> = log
                .entries
                .iter()
                .find(|e| e.date == date)
                .map(|e| {
                    e.revisions
                        .iter()
                        .map(|r| format!("{} (sha256 {})", r.key, r.sha256))
                        .collect()
                })
                .unwrap_or_default();
            let shown = |d: &str| {
                format::parse_date(d).map_or_else(|| d.to_string(), |x| format::date(lang, x))
            };
            entries.push(Entry {
                id: tag(
                    site.origin,
                    &log.night,
                    &format!("corrections/{}/{date}", log.dataset),
                ),
                title: site.tf(
                    lang,
                    "corrections.entry_title",
                    &[
                        ("dataset", &title),
                        ("date", &shown(date)),
                        ("night", &shown(&log.night)),
                    ],
                )?,
                updated: midnight(&log.night),
                href: urls::page(lang, &Route::Dataset(id.clone())),
                summary: site.tf(
                    lang,
                    "corrections.entry_summary",
                    &[
                        ("added", &format::integer(lang, added as i64)),
                        ("changed", &format::integer(lang, changed as i64)),
                        ("withdrawn", &format::integer(lang, withdrawn as i64)),
                        ("revisions", &revisions.join(", ")),
                    ],
                )?,
            });
        }
    }
    entries.truncate(EXCEEDANCE_ENTRIES);
    let updated = entries
        .first()
        .map_or_else(|| midnight(&site.inputs.data_date), |e| e.updated.clone());
    out.add(
        &urls::feed(lang, Feed::Corrections),
        feed(
            site,
            lang,
            Feed::Corrections,
            &site.t(lang, "corrections.feed_title")?,
            &site.t(lang, "corrections.feed_subtitle")?,
            &urls::page(lang, &Route::Datasets),
            &updated,
            &entries,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_ids_are_stable_and_encoded() {
        assert_eq!(
            tag(
                "https://envgov.example.org",
                "2026-01-31",
                "exceedance:a b+c"
            ),
            "tag:envgov.example.org,2026-01-31:exceedance:a%20b+c"
        );
    }
}
