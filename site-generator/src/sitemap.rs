//! `sitemap.xml` (every page of both languages, each with its `xhtml:link` alternates and
//! the language choice as `x-default`) and `robots.txt`.

use crate::error::SiteError;
use crate::output::Output;
use crate::urls::{self, Route};
use crate::xml;
use envgov_dataset::Lang;

pub fn sitemap(origin: &str, routes: &[Route], lastmod: &str) -> Vec<u8> {
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    s.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n");
    let abs = |path: &str| xml::escape(&urls::absolute(origin, path));
    let mut alternates = String::new();
    s.push_str(&format!(
        "  <url>\n    <loc>{}</loc>\n    <lastmod>{lastmod}</lastmod>\n  </url>\n",
        abs(&urls::language_choice())
    ));
    for route in routes {
        alternates.clear();
        for lang in Lang::ALL {
            alternates.push_str(&format!(
                "    <xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{}\"/>\n",
                lang.bcp47(),
                abs(&urls::page(lang, route))
            ));
        }
        alternates.push_str(&format!(
            "    <xhtml:link rel=\"alternate\" hreflang=\"x-default\" href=\"{}\"/>\n",
            abs(&urls::language_choice())
        ));
        for lang in Lang::ALL {
            s.push_str(&format!(
                "  <url>\n    <loc>{}</loc>\n    <lastmod>{lastmod}</lastmod>\n{alternates}  </url>\n",
                abs(&urls::page(lang, route))
            ));
        }
    }
    s.push_str("</urlset>\n");
    s.into_bytes()
}

pub fn robots(origin: &str) -> Vec<u8> {
    format!(
        "User-agent: *\nAllow: /\n\nSitemap: {}\n",
        urls::absolute(origin, &urls::sitemap())
    )
    .into_bytes()
}

/// Writes both, from the routes rendered so far.
pub fn render(out: &mut Output, origin: &str, lastmod: &str) -> Result<(), SiteError> {
    let routes: Vec<Route> = out.routes().cloned().collect();
    out.add(&urls::sitemap(), sitemap(origin, &routes, lastmod))?;
    out.add(&urls::robots(), robots(origin))
}
