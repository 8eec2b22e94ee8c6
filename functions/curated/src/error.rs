//! Why a curated table could not be loaded, and the TOML parsing every table shares.

use envgov_dataset::lang::MissingTranslation;

/// Why a curated table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CuratedError {
    #[error("data/{file}: {source}")]
    Parse {
        file: &'static str,
        #[source]
        source: toml::de::Error,
    },
    #[error("data/{file}: {source}")]
    Json {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("data/{file}: {message}")]
    Invalid { file: &'static str, message: String },
    #[error("data/{file}: {source}")]
    Translation {
        file: &'static str,
        #[source]
        source: MissingTranslation,
    },
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, CuratedError> {
    toml::from_str(text).map_err(|source| CuratedError::Parse { file, source })
}
