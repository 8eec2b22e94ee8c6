//! The minijinja environment: built once per build from the templates embedded from
//! `templates/`, in strict undefined mode, HTML auto-escaping every `.html` template.
//!
//! - `t(key, name=value…)` translates `key` into the page's language (the context's `lang`),
//!   filling `{name}` placeholders; `tl(lang, key)` names the language explicitly (for the
//!   bilingual pages). An unknown key is an error naming the key.
//! - Every literal key a template passes to `t`/`tl` is checked against the tables when the
//!   environment is built, so a key missing from a table fails the build even on a branch
//!   no page takes.
//! - Printing `none` is an error (an absent value must be handled by the template), and
//!   escaping covers `& < > " '` (not `/`, so URLs stay readable).

use crate::error::SiteError;
use crate::i18n::{I18n, fill};
use envgov_dataset::Lang;
use minijinja::value::{Kwargs, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use serde::Serialize;
use std::sync::Arc;

/// The embedded templates, by name.
pub const TEMPLATES: [(&str, &str); 30] = [
    ("base.html", include_str!("../templates/base.html")),
    ("language.html", include_str!("../templates/language.html")),
    ("404.html", include_str!("../templates/404.html")),
    ("home.html", include_str!("../templates/home.html")),
    (
        "enterprises.html",
        include_str!("../templates/enterprises.html"),
    ),
    (
        "enterprise.html",
        include_str!("../templates/enterprise.html"),
    ),
    (
        "open_days.html",
        include_str!("../templates/open_days.html"),
    ),
    ("open_day.html", include_str!("../templates/open_day.html")),
    ("plan.html", include_str!("../templates/plan.html")),
    ("measure.html", include_str!("../templates/measure.html")),
    ("sectors.html", include_str!("../templates/sectors.html")),
    ("sector.html", include_str!("../templates/sector.html")),
    ("industry.html", include_str!("../templates/industry.html")),
    ("district.html", include_str!("../templates/district.html")),
    (
        "districts.html",
        include_str!("../templates/districts.html"),
    ),
    (
        "yoy_table.html",
        include_str!("../templates/yoy_table.html"),
    ),
    ("search.html", include_str!("../templates/search.html")),
    ("query.html", include_str!("../templates/query.html")),
    ("chart.html", include_str!("../templates/chart.html")),
    (
        "exceedances.html",
        include_str!("../templates/exceedances.html"),
    ),
    ("datasets.html", include_str!("../templates/datasets.html")),
    ("dataset.html", include_str!("../templates/dataset.html")),
    ("content.html", include_str!("../templates/content.html")),
    (
        "exceedance_table.html",
        include_str!("../templates/exceedance_table.html"),
    ),
    (
        "corrections_table.html",
        include_str!("../templates/corrections_table.html"),
    ),
    (
        "indicator_list.html",
        include_str!("../templates/indicator_list.html"),
    ),
    (
        "data_table.html",
        include_str!("../templates/data_table.html"),
    ),
    ("pager.html", include_str!("../templates/pager.html")),
    ("map.html", include_str!("../templates/map.html")),
    ("locator.html", include_str!("../templates/locator.html")),
];

pub struct Templates {
    env: Environment<'static>,
}

fn lang_of(code: &str) -> Option<Lang> {
    match code {
        "zh" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

fn translate(i18n: &I18n, lang: Lang, key: &str, kwargs: &Kwargs) -> Result<String, Error> {
    let text = i18n.get(lang, key, "template").map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("unknown i18n key {key:?}"),
        )
    })?;
    let mut args: Vec<(String, String)> = Vec::new();
    for name in kwargs.args() {
        let v: Value = kwargs.get(name)?;
        if v.is_none() || v.is_undefined() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("i18n key {key:?}: argument {name} is none or undefined"),
            ));
        }
        args.push((name.to_string(), v.to_string()));
    }
    kwargs.assert_all_used()?;
    let args: Vec<(&str, &str)> = args.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    Ok(fill(text, &args))
}

fn escape_html(out: &mut Output, s: &str) -> std::fmt::Result {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&s[last..i])?;
        out.write_str(rep)?;
        last = i + 1;
    }
    out.write_str(&s[last..])
}

fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "template printed a none value",
        ));
    }
    let escape = matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe();
    let result = match value.as_str() {
        Some(s) if escape => escape_html(out, s),
        Some(s) => out.write_str(s),
        None if escape => escape_html(out, &value.to_string()),
        None => write!(out, "{value}"),
    };
    result.map_err(|_| Error::new(ErrorKind::WriteFailure, "could not write output"))
}

/// Literal keys passed to `t(...)` / `tl(..., ...)` in a template source.
pub fn literal_keys(source: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let bytes = source.as_bytes();
    for (name, skip_args) in [("t(", 0usize), ("tl(", 1usize)] {
        let mut from = 0;
        while let Some(pos) = source[from..].find(name) {
            let start = from + pos;
            from = start + name.len();
            let ident_before = start > 0 && {
                let c = bytes[start - 1];
                c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
            };
            if ident_before {
                continue;
            }
            let mut rest = &source[from..];
            for _ in 0..skip_args {
                match rest.find(',') {
                    Some(i) => rest = &rest[i + 1..],
                    None => break,
                }
            }
            let rest = rest.trim_start();
            let quote = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => continue,
            };
            // Only a whole literal argument counts (not `'a.' ~ x`).
            if let Some(end) = rest[1..].find(quote) {
                let after = rest[2 + end..].trim_start();
                if after.starts_with(')') || after.starts_with(',') {
                    keys.push(rest[1..1 + end].to_string());
                }
            }
        }
    }
    keys
}

/// A minijinja error with its causes, on one line.
pub fn error_chain(err: &Error) -> String {
    let mut msg = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

impl Templates {
    /// Builds the environment over the embedded templates.
    pub fn new(i18n: Arc<I18n>) -> Result<Templates, SiteError> {
        Templates::with_templates(i18n, &TEMPLATES)
    }

    /// Builds the environment over the given templates (the embedded ones in a build).
    pub fn with_templates(
        i18n: Arc<I18n>,
        templates: &[(&'static str, &'static str)],
    ) -> Result<Templates, SiteError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(format_value);
        let tables = i18n.clone();
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().and_then(lang_of))
                    .ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, "t(): no lang in the context")
                    })?;
                translate(&tables, lang, key, &kwargs)
            },
        );
        let tables = i18n.clone();
        env.add_function(
            "tl",
            move |lang: &str, key: &str, kwargs: Kwargs| -> Result<String, Error> {
                let lang = lang_of(lang).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("tl(): unknown language {lang:?}"),
                    )
                })?;
                translate(&tables, lang, key, &kwargs)
            },
        );
        for (name, source) in templates {
            for key in literal_keys(source) {
                if !i18n.has(&key) {
                    return Err(SiteError::UnknownKey {
                        key,
                        used_by: format!("template {name}"),
                    });
                }
            }
            env.add_template(name, source)
                .map_err(|e| SiteError::Template {
                    template: name.to_string(),
                    message: error_chain(&e),
                })?;
        }
        Ok(Templates { env })
    }

    /// Renders `template` for the page at `page` with a typed context.
    pub fn render<T: Serialize>(
        &self,
        template: &str,
        page: &str,
        ctx: &T,
    ) -> Result<String, SiteError> {
        let err = |e: Error| SiteError::Render {
            page: page.to_string(),
            template: template.to_string(),
            message: error_chain(&e),
        };
        let tmpl = self.env.get_template(template).map_err(err)?;
        tmpl.render(Value::from(minijinja::value::Serde(ctx)))
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i18n() -> Arc<I18n> {
        Arc::new(I18n::parse("[a]\nb = \"甲{n}\"\n", "[a]\nb = \"A{n}\"\n").unwrap())
    }

    #[derive(Serialize)]
    struct Ctx {
        lang: &'static str,
        name: &'static str,
        missing: Option<&'static str>,
    }

    const CTX: Ctx = Ctx {
        lang: "en",
        name: "<script>alert(1)</script>",
        missing: None,
    };

    #[test]
    fn translates_and_escapes() {
        let t = Templates::with_templates(
            i18n(),
            &[(
                "x.html",
                "{{ t('a.b', n=name) }}|{{ tl('zh', 'a.b', n='1') }}|{{ name }}",
            )],
        )
        .unwrap();
        let out = t.render("x.html", "/en/x.html", &CTX).unwrap();
        assert_eq!(
            out,
            "A&lt;script&gt;alert(1)&lt;/script&gt;|甲1|&lt;script&gt;alert(1)&lt;/script&gt;"
        );
    }

    #[test]
    fn a_literal_unknown_key_fails_when_the_environment_is_built() {
        let err = match Templates::with_templates(i18n(), &[("x.html", "{{ t(\"no.such.key\") }}")])
        {
            Err(e) => e,
            Ok(_) => panic!("built with an unknown key"),
        };
        assert!(
            matches!(&err, SiteError::UnknownKey { key, .. } if key == "no.such.key"),
            "{err}"
        );
    }

    #[test]
    fn a_computed_unknown_key_fails_rendering_naming_it() {
        let t =
            Templates::with_templates(i18n(), &[("x.html", "{{ t('no.' ~ 'such') }}")]).unwrap();
        let err = t.render("x.html", "/en/x.html", &CTX).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("no.such") && msg.contains("/en/x.html"),
            "{msg}"
        );
    }

    #[test]
    fn undefined_and_none_values_fail() {
        let t = Templates::with_templates(
            i18n(),
            &[("u.html", "{{ nothing }}"), ("n.html", "{{ missing }}")],
        )
        .unwrap();
        assert!(t.render("u.html", "/u", &CTX).is_err());
        assert!(t.render("n.html", "/n", &CTX).is_err());
    }

    #[test]
    fn finds_literal_keys() {
        assert_eq!(
            literal_keys(
                "{{ t('a.b') }} {{ tl(\"zh\", \"c.d\") }} {{ x.t('no') }} {{ format(1) }} {{ t('e.' ~ f) }} {{ t('g', n=1) }}"
            ),
            ["a.b", "g", "c.d"]
        );
    }
}
