//! The pages written in markdown under `content/` (methodology, about, contact, and any
//! other page given in both languages), rendered at `/{lang}/{slug}.html`.

use super::shared::Site;
use crate::content::ContentPage;
use crate::error::SiteError;
use crate::markdown;
use crate::output::Output;
use crate::urls::{Route, Slug};
use envgov_dataset::Lang;
use serde::Serialize;

#[derive(Serialize)]
struct ContentView {
    /// HTML from [`markdown::render`]: the only content the templates mark safe.
    body_html: String,
}

fn find<'a>(
    pages: &'a [ContentPage],
    slug: &str,
    lang: Lang,
) -> Result<&'a ContentPage, SiteError> {
    pages
        .iter()
        .find(|p| p.slug == slug && p.lang == lang)
        .ok_or_else(|| SiteError::MissingContent {
            slug: slug.to_string(),
            lang,
        })
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let pages = &site.inputs.content;
    crate::content::check_parity(pages)?;
    let mut slugs: Vec<&str> = pages.iter().map(|p| p.slug.as_str()).collect();
    slugs.dedup();
    for slug in slugs {
        let route = Route::Content(Slug::new(slug).map_err(|reason| SiteError::Content {
            file: format!("{slug}.md"),
            message: reason,
        })?);
        for lang in Lang::ALL {
            let page = find(pages, slug, lang)?;
            let file = format!("{slug}.{}.md", lang.code());
            let body_html = markdown::render(&page.markdown)
                .map_err(|message| SiteError::Content { file, message })?;
            site.render_page(
                out,
                lang,
                &route,
                "content.html",
                page.title.clone(),
                page.description
                    .clone()
                    .unwrap_or_else(|| page.title.clone()),
                site.crumbs(lang, &[])?,
                &ContentView { body_html },
            )?;
        }
    }
    Ok(())
}
