//! The language-neutral pages: `/index.html`, which offers the choice of language (and is
//! the `x-default` alternate), and the bilingual `/404.html`. Both use absolute links so
//! they work wherever the server shows them.

use super::shared::Site;
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::urls::{self, Route};
use envgov_dataset::Lang;
use serde::Serialize;

#[derive(Serialize)]
struct NeutralPage {
    /// The language of the page's frame (`t()` falls back to it); the page is bilingual.
    lang: &'static str,
    lang_tag: &'static str,
    stylesheet: String,
    zh_href: String,
    en_href: String,
    zh_lang: &'static str,
    en_lang: &'static str,
    data_date_zh: String,
    data_date_en: String,
    data_date_iso: String,
    zh_licence: &'static str,
    en_licence: &'static str,
    sample: bool,
    development_key: bool,
    zh_verify: String,
    en_verify: String,
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let page = NeutralPage {
        lang: Lang::Zh.code(),
        lang_tag: Lang::Zh.bcp47(),
        stylesheet: urls::stylesheet(),
        zh_href: urls::page(Lang::Zh, &Route::Home),
        en_href: urls::page(Lang::En, &Route::Home),
        zh_lang: Lang::Zh.bcp47(),
        en_lang: Lang::En.bcp47(),
        data_date_zh: format::date(Lang::Zh, site.data_date),
        data_date_en: format::date(Lang::En, site.data_date),
        data_date_iso: site.data_date.format("%Y-%m-%d").to_string(),
        zh_licence: urls::licence(Lang::Zh),
        en_licence: urls::licence(Lang::En),
        sample: site.inputs.sample,
        development_key: site.development_key,
        zh_verify: urls::page(
            Lang::Zh,
            &Route::Content(super::shared::content_slug("verify")),
        ),
        en_verify: urls::page(
            Lang::En,
            &Route::Content(super::shared::content_slug("verify")),
        ),
    };
    for (url, template) in [
        (urls::language_choice(), "language.html"),
        (urls::not_found(), "404.html"),
    ] {
        let html = site.templates.render(template, &url, &page)?;
        out.add(&url, html.into_bytes())?;
    }
    Ok(())
}
