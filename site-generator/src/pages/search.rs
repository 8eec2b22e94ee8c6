//! The search page (`/{lang}/search/`): full-text search of every page of the site in the
//! page's language, with Pagefind (the index is built by [`crate::search_index`]).
//!
//! The page is a plain GET form (`?q=…&district=…&type=…&section=…`); `assets/search.js`
//! loads Pagefind's own script from `/pagefind/pagefind.js`, which fetches the index of the
//! page's `<html lang>` (Chinese pages are searched in Chinese, English pages in English;
//! the language select leads to the other language's search with the same query), fills the
//! filters from the index and lists the results with `textContent` only. Without JavaScript
//! the page says so and links the unit directory and the sitemap.
//!
//! [`SearchFilter`] is how any page adds itself to a filter: a page context with a
//! `search_filters` list gets them written by `base.html` as hidden `data-pagefind-filter`
//! elements (the unit pages set district and type).

use super::shared::{Site, other};
use crate::error::SiteError;
use crate::output::Output;
use crate::urls::{self, Route};
use envgov_dataset::Lang;
use serde::Serialize;

/// The filters of the search page, in the order shown: the unit's district, its type (the
/// unit's source type, a sector's name), and the site's section (set by `base.html` on
/// every page from the navigation).
pub const FILTERS: [&str; 3] = ["district", "type", "section"];

/// One value of a search filter on a page (`name` one of [`FILTERS`]).
#[derive(Debug, Serialize)]
pub struct SearchFilter {
    pub name: &'static str,
    pub value: String,
}

#[derive(Serialize)]
struct FilterSelect {
    name: &'static str,
    label: String,
}

#[derive(Serialize)]
struct LanguageOption {
    href: String,
    text: &'static str,
    lang: &'static str,
    current: bool,
}

#[derive(Serialize)]
struct SearchPage {
    action: String,
    bundle: String,
    script: String,
    directory: String,
    sitemap: String,
    filters: Vec<FilterSelect>,
    languages: Vec<LanguageOption>,
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    for lang in Lang::ALL {
        let filters = FILTERS
            .iter()
            .map(|name| {
                Ok(FilterSelect {
                    name,
                    label: site.t(lang, &format!("search.filter_{name}"))?,
                })
            })
            .collect::<Result<Vec<_>, SiteError>>()?;
        let languages = [lang, other(lang)]
            .into_iter()
            .map(|l| LanguageOption {
                href: urls::page(l, &Route::Search),
                text: match l {
                    Lang::Zh => "中文",
                    Lang::En => "English",
                },
                lang: l.bcp47(),
                current: l == lang,
            })
            .collect();
        let page = SearchPage {
            action: urls::page(lang, &Route::Search),
            bundle: urls::search_bundle(),
            script: urls::search_script(),
            directory: urls::page(lang, &Route::Enterprises),
            sitemap: urls::sitemap(),
            filters,
            languages,
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
