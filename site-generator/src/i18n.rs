//! The UI strings of the site, one table per language (`i18n/zh.toml`, `i18n/en.toml`).
//!
//! Tables are nested TOML tables of strings, addressed by dotted keys (`nav.home`). Loading
//! fails when a key exists in one language and not the other, and every lookup of a key that
//! no table has is an error naming the key: a missing translation fails the build, it never
//! renders as an empty string. Placeholders are written `{name}` and filled by [`I18n::format`].

use crate::error::SiteError;
use envgov_dataset::Lang;
use std::collections::BTreeMap;

const ZH: &str = include_str!("../i18n/zh.toml");
const EN: &str = include_str!("../i18n/en.toml");

/// Both languages' tables, checked for parity.
#[derive(Debug, Clone)]
pub struct I18n {
    zh: BTreeMap<String, String>,
    en: BTreeMap<String, String>,
}

impl I18n {
    /// The tables embedded from `i18n/`.
    pub fn embedded() -> Result<I18n, SiteError> {
        I18n::parse(ZH, EN)
    }

    /// Parses both tables and checks that they hold the same keys.
    pub fn parse(zh: &str, en: &str) -> Result<I18n, SiteError> {
        let zh = flatten(Lang::Zh, zh)?;
        let en = flatten(Lang::En, en)?;
        for (present, missing, a, b) in [
            (Lang::Zh, Lang::En, &zh, &en),
            (Lang::En, Lang::Zh, &en, &zh),
        ] {
            if let Some(key) = a.keys().find(|k| !b.contains_key(*k)) {
                return Err(SiteError::I18nParity {
                    key: key.clone(),
                    present,
                    missing,
                });
            }
        }
        Ok(I18n { zh, en })
    }

    fn table(&self, lang: Lang) -> &BTreeMap<String, String> {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.zh.contains_key(key)
    }

    /// The keys, in order.
    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.zh.keys().map(String::as_str)
    }

    /// The string for `key`, or an error naming the key and who asked for it.
    pub fn get(&self, lang: Lang, key: &str, used_by: &str) -> Result<&str, SiteError> {
        self.table(lang)
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| SiteError::UnknownKey {
                key: key.to_string(),
                used_by: used_by.to_string(),
            })
    }

    /// The string for `key` with each `{name}` replaced by its value.
    pub fn format(
        &self,
        lang: Lang,
        key: &str,
        args: &[(&str, &str)],
        used_by: &str,
    ) -> Result<String, SiteError> {
        Ok(fill(self.get(lang, key, used_by)?, args))
    }
}

/// Replaces `{name}` placeholders.
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn flatten(lang: Lang, text: &str) -> Result<BTreeMap<String, String>, SiteError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| SiteError::I18nTable {
        lang,
        message: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    walk(lang, "", &table, &mut out)?;
    Ok(out)
}

fn walk(
    lang: Lang,
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), SiteError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) if !s.trim().is_empty() => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => walk(lang, &key, t, out)?,
            _ => {
                return Err(SiteError::I18nTable {
                    lang,
                    message: format!("{key} must be a non-empty string or a table"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_have_the_same_keys() {
        let i = I18n::embedded().unwrap();
        for key in i.keys() {
            assert!(i.get(Lang::En, key, "test").is_ok(), "{key}");
        }
        assert!(i.has("nav.home"));
    }

    #[test]
    fn a_key_in_one_language_only_fails_naming_it() {
        let err = I18n::parse(
            "[nav]\nhome = \"首页\"\nplan = \"方案\"\n",
            "[nav]\nhome = \"Home\"\n",
        )
        .unwrap_err();
        assert!(matches!(
            &err,
            SiteError::I18nParity { key, present: Lang::Zh, missing: Lang::En } if key == "nav.plan"
        ));
        assert!(err.to_string().contains("nav.plan"));
        let err = I18n::parse("a = \"甲\"\n", "a = \"A\"\nb = \"B\"\n").unwrap_err();
        assert!(err.to_string().contains("\"b\""), "{err}");
    }

    #[test]
    fn empty_or_non_string_values_are_refused() {
        assert!(I18n::parse("a = \"\"\n", "a = \"A\"\n").is_err());
        assert!(I18n::parse("a = 1\n", "a = \"A\"\n").is_err());
    }

    #[test]
    fn unknown_key_names_the_key_and_placeholders_fill() {
        let i = I18n::parse("n = \"共{n}家\"\n", "n = \"{n} units\"\n").unwrap();
        let err = i.get(Lang::Zh, "no.such.key", "home.html").unwrap_err();
        assert!(err.to_string().contains("no.such.key"));
        assert!(err.to_string().contains("home.html"));
        assert_eq!(
            i.format(Lang::Zh, "n", &[("n", "300")], "t").unwrap(),
            "共300家"
        );
        assert_eq!(
            i.format(Lang::En, "n", &[("n", "300")], "t").unwrap(),
            "300 units"
        );
    }
}
