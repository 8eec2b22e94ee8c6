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

/// The index's files, relative to the site root (`pagefind/…`), sorted by path, of the pages
/// among `files` that [`is_indexed`] (relative path and bytes, each page UTF-8).
pub fn index(files: &[(String, Vec<u8>)]) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| fail(format!("starting its runtime: {e}")))?;
            runtime.block_on(build(files))
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

async fn build(files: &[(String, Vec<u8>)]) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let config = pagefind::options::PagefindServiceConfig::builder()
        .keep_index_url(true)
        .build();
    let mut index = pagefind::api::PagefindIndex::new(Some(config))
        .map_err(|e| fail(format!("configuring it: {e:#}")))?;
    for (path, bytes) in files.iter().filter(|(p, _)| is_indexed(p)) {
        let html = std::str::from_utf8(bytes)
            .map_err(|e| fail(format!("page {path} is not UTF-8: {e}")))?;
        index
            .add_html_file(None, Some(format!("/{path}")), spaced(html))
            .await
            .map_err(|e| fail(format!("indexing {path}: {e:#}")))?;
    }
    let mut out = index
        .get_files()
        .await
        .map_err(|e| fail(format!("building it: {e:#}")))?
        .into_iter()
        .map(|f| (f.filename.to_string_lossy().replace('\\', "/"), f.contents))
        .filter(|(name, _)| !is_unused_ui(name))
        .map(|(name, bytes)| (format!("{BUNDLE_DIR}/{name}"), bytes))
        .collect::<Vec<_>>();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
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

