//! Search of the key polluting units by name (Chinese or English), unified social credit
//! code or discharge permit number.
//!
//! The page is a plain form that works as a link to the directory without JavaScript; with
//! it, `assets/search.js` loads the language's index (`/{lang}/search/index.json`, one
//! entry per unit, written here) and matches substrings after Unicode NFKC normalisation
//! and case folding. Substring matching suits both scripts: Chinese names are not
//! space-delimited, so a word index would need a segmenter, while a fragment such as
//! `热电` or a full 18-character credit code is found directly. A few thousand units make
//! an index of a few hundred kilobytes, fetched once.

use super::shared::{Site, pick};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::urls::{self, Route};
use envgov_dataset::Lang;
use serde::Serialize;

#[derive(Serialize)]
struct SearchPage {
    action: String,
    directory: String,
    index: String,
    script: String,
    units: String,
}

/// One unit in a language's index. Short keys: the file is fetched by every visitor who
/// searches.
#[derive(Serialize)]
struct Entry<'a> {
    /// Page URL.
    u: String,
    /// Name in the page's language, then in the other.
    n: &'a str,
    a: &'a str,
    /// Credit code and permit number.
    c: &'a str,
    p: &'a str,
    /// District and industry in the page's language.
    d: String,
    i: &'a str,
}

#[derive(Serialize)]
struct Index<'a> {
    lang: &'static str,
    data_date: String,
    units: Vec<Entry<'a>>,
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    for lang in Lang::ALL {
        let units = site
            .registry
            .units
            .iter()
            .map(|u| Entry {
                u: urls::page(lang, &Route::Enterprise(u.uscc.clone())),
                n: pick(lang, u.row.name_zh, u.row.name_en),
                a: pick(lang, u.row.name_en, u.row.name_zh),
                c: u.uscc.as_str(),
                p: u.row.permit_no,
                d: site.district_name(lang, u.row.district),
                i: pick(lang, u.row.industry_zh, u.row.industry_en),
            })
            .collect::<Vec<_>>();
        let count = units.len();
        let index = Index {
            lang: lang.code(),
            data_date: site.data_date.format("%Y-%m-%d").to_string(),
            units,
        };
        let mut json = json_for_html(&serde_json::to_string(&index).expect("serialises"));
        json.push(b'\n');
        out.add(&urls::search_index(lang), json)?;

        let page = SearchPage {
            action: urls::page(lang, &Route::Search),
            directory: urls::page(lang, &Route::Enterprises),
            index: urls::search_index(lang),
            script: urls::search_script(),
            units: format::integer(lang, count as i64),
        };
        let crumbs = site.crumbs(lang, &[])?;
        site.render_page(
            out,
            lang,
            &Route::Search,
            "search.html",
            site.t(lang, "search.title")?,
            site.t(lang, "search.description")?,
            crumbs,
            &page,
        )?;
    }
    Ok(())
}

/// JSON with `<`, `>` and `&` written as `\u003c`, `\u003e`, `\u0026` (the same strings to
/// a JSON parser), so that no byte sequence of the index can read as markup to anything
/// that sniffs it. Outside strings JSON has none of these characters.
fn json_for_html(json: &str) -> Vec<u8> {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_characters_are_escaped_and_parse_back() {
        let original = serde_json::json!({"n": "\"><img src=x onerror=alert(1)> & <script>"});
        let escaped = super::json_for_html(&original.to_string());
        let text = std::str::from_utf8(&escaped).unwrap();
        assert!(
            !text.contains('<') && !text.contains('>') && !text.contains('&'),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_slice(&escaped).unwrap();
        assert_eq!(back, original);
    }
}
