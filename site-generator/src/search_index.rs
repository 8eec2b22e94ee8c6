//! The full-text search index of the site: Pagefind, run in process over the rendered pages.
//!
//! Stage: rendering, and pure: it takes the pages' bytes and returns the index's files under
//! `/pagefind/` (Pagefind's own search script `pagefind.js`, its WebAssembly, one index a
//! language, fragments and filters). It reads and writes nothing.
//!
//! Every page of both languages is indexed except the language choice, 404 and the search
//! pages themselves; a page's text is its `<main data-pagefind-body>` (not the header, menu
//! or footer), its filters come from the `data-pagefind-filter` elements `base.html` writes
//! from the page's `search_filters`. Pagefind keeps one index per `<html lang>`: `zh-Hans-CN`
//! (segmented into words by the extended build's ICU dictionary segmenter, the same segmenter
//! the browser's `Intl.Segmenter` uses on a query) and `en`.
//!
//! Pagefind's API is async (tokio); it runs here on a thread of its own with a
//! current-thread runtime, so that a caller inside another runtime (the Lambda functions)
//! can call [`index`] like any other function.

use crate::error::SiteError;

/// Where the index is served: `/pagefind/pagefind.js` and its files.
pub const BUNDLE_DIR: &str = "pagefind";

/// Whether a page of the site is indexed (`path` relative to the site root).
pub fn is_indexed(path: &str) -> bool {
    let in_language = path.starts_with("zh/") || path.starts_with("en/");
    in_language
        && path.ends_with(".html")
        && !path.ends_with("/404.html")
        && !path[3..].starts_with("search/")
}

/// The language folders of the site, indexed one after the other (Pagefind keeps one index per
/// language anyway; their files are named by language, and the few files both write are the
/// same bytes but `pagefind-entry.json`, which lists each language). One at a time, so that
/// only one language's words and positions are held at once: at 2,000 units the two at once
/// took the sum of their peaks (see README, Search).
const LANGUAGE_FOLDERS: [&str; 2] = ["zh/", "en/"];

/// The file that lists the languages' indexes.
const ENTRY: &str = "pagefind/pagefind-entry.json";

/// The index's files, relative to the site root (`pagefind/…`), sorted by path, of the pages
/// among `files` that [`is_indexed`] (relative path and bytes, each page UTF-8).
pub fn index(files: &[(String, Vec<u8>)]) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let parts = std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| fail(format!("starting its runtime: {e}")))?;
            // Each language's Pagefind index is dropped before the next is built.
            LANGUAGE_FOLDERS
                .iter()
                .map(|folder| runtime.block_on(build(files, folder)))
                .collect::<Result<Vec<_>, SiteError>>()
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    merge(parts)
}

/// The files of the languages' indexes as one folder: a path both wrote must hold the same
/// bytes, but the entry file, whose `languages` are joined.
fn merge(parts: Vec<Vec<(String, Vec<u8>)>>) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let mut out: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    for (path, bytes) in parts.into_iter().flatten() {
        match out.get_mut(&path) {
            None => {
                out.insert(path, bytes);
            }
            Some(kept) if *kept == bytes => {}
            Some(kept) if path == ENTRY => *kept = merge_entries(kept, &bytes)?,
            Some(_) => {
                return Err(fail(format!(
                    "two languages' indexes wrote {path} with different bytes"
                )));
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Two `pagefind-entry.json` files of the same Pagefind as one: the languages of both.
fn merge_entries(a: &[u8], b: &[u8]) -> Result<Vec<u8>, SiteError> {
    let parse = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .map_err(|e| fail(format!("{ENTRY} is not JSON: {e}")))
    };
    let (mut a, b) = (parse(a)?, parse(b)?);
    if a.get("version") != b.get("version") {
        return Err(fail(format!("{ENTRY}: two versions of Pagefind")));
    }
    let (Some(into), Some(from)) = (
        a.get_mut("languages").and_then(|l| l.as_object_mut()),
        b.get("languages").and_then(|l| l.as_object()),
    ) else {
        return Err(fail(format!("{ENTRY} has no languages object")));
    };
    for (lang, meta) in from {
        into.insert(lang.clone(), meta.clone());
    }
    serde_json::to_vec(&a).map_err(|e| fail(format!("{ENTRY}: {e}")))
}

/// The index of the indexed pages under one language folder (`zh/`).
async fn build(
    files: &[(String, Vec<u8>)],
    folder: &str,
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let config = pagefind::options::PagefindServiceConfig::builder()
        .keep_index_url(true)
        .build();
    let mut index = pagefind::api::PagefindIndex::new(Some(config))
        .map_err(|e| fail(format!("configuring it: {e:#}")))?;
    let pages = files
        .iter()
        .filter(|(p, _)| p.starts_with(folder) && is_indexed(p));
    for (path, bytes) in pages {
        let html = std::str::from_utf8(bytes)
            .map_err(|e| fail(format!("page {path} is not UTF-8: {e}")))?;
        index
            .add_html_file(None, Some(format!("/{path}")), spaced(html))
            .await
            .map_err(|e| fail(format!("indexing {path}: {e:#}")))?;
    }
    Ok(index
        .get_files()
        .await
        .map_err(|e| fail(format!("building it: {e:#}")))?
        .into_iter()
        .map(|f| (f.filename.to_string_lossy().replace('\\', "/"), f.contents))
        .filter(|(name, _)| !is_unused_ui(name))
        .map(|(name, bytes)| (format!("{BUNDLE_DIR}/{name}"), bytes))
        .collect())
}

/// The closing tags after which a space is added before indexing: Pagefind joins the text of
/// adjacent elements it does not know as blocks, so `<dt>Unified social credit code</dt>
/// <dd><code>9111…</code></dd>` written without white space between them would index
/// `code9111…` as one word, and the credit code would not be found.
const SPACED_AFTER: [&str; 6] = ["</dt>", "</dd>", "</th>", "</td>", "</li>", "</caption>"];

/// The page as Pagefind reads it: a space after each of [`SPACED_AFTER`] (which changes no
/// word of the page, and the published page not at all).
fn spaced(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 32);
    let mut rest = html;
    while let Some(i) = rest.find("</") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match SPACED_AFTER.iter().find(|tag| {
            rest.get(..tag.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(tag))
        }) {
            Some(tag) => {
                out.push_str(&rest[..tag.len()]);
                out.push(' ');
                rest = &rest[tag.len()..];
            }
            None => {
                out.push_str("</");
                rest = &rest[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Pagefind's ready-made interfaces (and its result highlighter), which the site does not
/// use: its own page (`assets/search.js`) runs on `pagefind.js`, Pagefind's search API.
fn is_unused_ui(name: &str) -> bool {
    [
        "pagefind-ui.",
        "pagefind-component-ui.",
        "pagefind-modular-ui.",
        "pagefind-highlight.",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

fn fail(message: String) -> SiteError {
    SiteError::SearchIndex { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_languages_entries_are_joined_and_shared_files_must_agree() {
        let zh = br#"{"version":"1.6.0","languages":{"zh-hans-cn":{"page_count":2}},"include_characters":["_"]}"#;
        let en = br#"{"version":"1.6.0","languages":{"en":{"page_count":3}},"include_characters":["_"]}"#;
        let files = |entry: &[u8], js: &[u8]| {
            vec![
                (ENTRY.to_string(), entry.to_vec()),
                ("pagefind/pagefind.js".to_string(), js.to_vec()),
            ]
        };
        let merged = merge(vec![files(zh, b"js"), files(en, b"js")]).unwrap();
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].0, ENTRY);
        assert_eq!(
            std::str::from_utf8(&merged[0].1).unwrap(),
            r#"{"include_characters":["_"],"languages":{"en":{"page_count":3},"zh-hans-cn":{"page_count":2}},"version":"1.6.0"}"#
        );
        let err = merge(vec![files(zh, b"js"), files(en, b"other js")]).unwrap_err();
        assert!(err.to_string().contains("pagefind/pagefind.js"), "{err}");
    }

    #[test]
    fn adjacent_cells_and_terms_are_spaced_apart_for_the_indexer() {
        assert_eq!(
            spaced("<dl><dt>Code</dt><dd><code>91110105MA01ABCD1X</code></dd></dl>"),
            "<dl><dt>Code</dt> <dd><code>91110105MA01ABCD1X</code></dd> </dl>"
        );
        assert_eq!(
            spaced("<tr><TH>a</TH><td>b</td></tr><li>c</li></ul></p>"),
            "<tr><TH>a</TH> <td>b</td> </tr><li>c</li> </ul></p>"
        );
        assert_eq!(spaced("a </b> < /dt> 氨氮</"), "a </b> < /dt> 氨氮</");
    }

    #[test]
    fn pages_of_both_languages_are_indexed_but_not_search_404_or_the_language_choice() {
        assert!(is_indexed("zh/enterprises/91110105MA01ABCD1X.html"));
        assert!(is_indexed("en/index.html"));
        assert!(!is_indexed("index.html"));
        assert!(!is_indexed("404.html"));
        assert!(!is_indexed("zh/404.html"));
        assert!(!is_indexed("en/search/index.html"));
        assert!(!is_indexed("zh/charts/x.csv"));
        assert!(!is_indexed("pagefind/pagefind.js"));
    }
}
