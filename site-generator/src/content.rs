//! The markdown pages of `content/`: `{slug}.{lang}.md` with TOML front matter between
//! `+++` lines.
//!
//! ```text
//! +++
//! title = "Methodology"
//! description = "How envgov validates and aggregates the data."
//! +++
//! Body in markdown…
//! ```
//!
//! Pure: takes file names and texts (the caller reads the folder), returns checked pages.

use crate::error::SiteError;
use crate::markdown;
use envgov_dataset::Lang;
use serde::Deserialize;

/// The pages every build needs, in both languages.
pub const REQUIRED: [&str; 4] = ["methodology", "about", "contact", "verify"];

/// Slugs a content page may not take because a generated page has them.
const RESERVED: [&str; 2] = ["index", "404"];

/// One markdown page in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPage {
    /// ASCII slug shared by both languages (`methodology`).
    pub slug: String,
    pub lang: Lang,
    pub title: String,
    /// A one-sentence summary for `<meta name="description">`.
    pub description: Option<String>,
    /// The markdown body, front matter removed.
    pub markdown: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    description: Option<String>,
}

/// Parses `content/` files given as (file name, text), sorted by slug then language.
///
/// Fails on a file name not of the form `{slug}.{zh|en}.md`, missing or unknown front
/// matter, markdown the renderer refuses, or the same page twice.
pub fn load_content(files: Vec<(String, String)>) -> Result<Vec<ContentPage>, SiteError> {
    let mut pages = Vec::with_capacity(files.len());
    for (file, text) in files {
        let err = |message: String| SiteError::Content {
            file: file.clone(),
            message,
        };
        let stem = file
            .strip_suffix(".md")
            .ok_or_else(|| err("not a .md file".into()))?;
        let (slug, lang) = stem
            .rsplit_once('.')
            .ok_or_else(|| err("file name must be {slug}.{zh|en}.md".into()))?;
        let lang = match lang {
            "zh" => Lang::Zh,
            "en" => Lang::En,
            other => return Err(err(format!("unknown language {other:?}"))),
        };
        let slug_ok = !slug.is_empty()
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-');
        if !slug_ok || RESERVED.contains(&slug) {
            return Err(err(format!(
                "slug {slug:?} must be lower-case ASCII letters, digits and '-', and not {RESERVED:?}"
            )));
        }
        let (front, body) = split_front_matter(&text).ok_or_else(|| {
            err("missing front matter: the file must start with a +++ line and close it".into())
        })?;
        let front: FrontMatter =
            toml::from_str(front).map_err(|e| err(format!("front matter: {e}")))?;
        if front.title.trim().is_empty() {
            return Err(err("front matter: empty title".into()));
        }
        markdown::render(body).map_err(err)?;
        pages.push(ContentPage {
            slug: slug.to_string(),
            lang,
            title: front.title.trim().to_string(),
            description: front.description.map(|d| d.trim().to_string()),
            markdown: body.to_string(),
        });
    }
    pages.sort_by(|a, b| (&a.slug, a.lang).cmp(&(&b.slug, b.lang)));
    if let Some(w) = pages
        .windows(2)
        .find(|w| w[0].slug == w[1].slug && w[0].lang == w[1].lang)
    {
        return Err(SiteError::Content {
            file: format!("{}.{}.md", w[0].slug, w[0].lang.code()),
            message: "given twice".into(),
        });
    }
    Ok(pages)
}

/// Splits `+++\n{toml}\n+++\n{body}`; tolerates a byte-order mark and CRLF line ends.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// Checks that every slug exists in both languages and that the required pages exist.
pub fn check_parity(pages: &[ContentPage]) -> Result<(), SiteError> {
    let has = |slug: &str, lang: Lang| pages.iter().any(|p| p.slug == slug && p.lang == lang);
    for slug in REQUIRED
        .iter()
        .copied()
        .chain(pages.iter().map(|p| p.slug.as_str()))
    {
        for lang in Lang::ALL {
            if !has(slug, lang) {
                return Err(SiteError::MissingContent {
                    slug: slug.to_string(),
                    lang,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (String, String) {
        (name.to_string(), text.to_string())
    }

    #[test]
    fn parses_front_matter_and_sorts() {
        let pages = load_content(vec![
            file("about.zh.md", "+++\ntitle = \"关于\"\n+++\n正文\n"),
            file(
                "about.en.md",
                "+++\r\ntitle = \"About\"\r\ndescription = \"What it is\"\r\n+++\r\nBody\r\n",
            ),
        ])
        .unwrap();
        assert_eq!(pages[0].lang, Lang::Zh);
        assert_eq!(pages[1].title, "About");
        assert_eq!(pages[1].description.as_deref(), Some("What it is"));
        assert_eq!(pages[1].markdown, "Body\r\n");
    }

    #[test]
    fn refuses_bad_names_and_front_matter() {
        for (name, text) in [
            ("about.fr.md", "+++\ntitle = \"x\"\n+++\n"),
            ("About.en.md", "+++\ntitle = \"x\"\n+++\n"),
            ("index.en.md", "+++\ntitle = \"x\"\n+++\n"),
            ("about.en.txt", "+++\ntitle = \"x\"\n+++\n"),
            ("about.en.md", "no front matter"),
            ("about.en.md", "+++\ntitle = \"x\"\nauthor = \"y\"\n+++\n"),
            ("about.en.md", "+++\ntitle = \"x\"\n+++\n# Second title\n"),
        ] {
            let err = load_content(vec![file(name, text)]).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn a_page_in_one_language_only_fails_parity() {
        let pages = load_content(vec![file("extra.en.md", "+++\ntitle = \"x\"\n+++\n")]).unwrap();
        assert!(matches!(
            check_parity(&pages),
            Err(SiteError::MissingContent { .. })
        ));
    }
}
