//! Languages and bilingual text.

use serde::{Deserialize, Serialize};

/// A language the site and datasets are published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The BCP 47 tag for `lang` and `hreflang` attributes.
    pub fn bcp47(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans-CN",
            Lang::En => "en",
        }
    }
}

/// A text in both languages. Both must be non-empty: see [`Localized::check`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub zh: String,
    pub en: String,
}

impl Localized {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// Fails when either language is missing, naming what it belongs to.
    pub fn check(&self, what: &str) -> Result<(), MissingTranslation> {
        for lang in Lang::ALL {
            if self.get(lang).trim().is_empty() {
                return Err(MissingTranslation {
                    what: what.to_string(),
                    lang,
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing {} translation for {what}", lang.code())]
pub struct MissingTranslation {
    pub what: String,
    pub lang: Lang,
}
