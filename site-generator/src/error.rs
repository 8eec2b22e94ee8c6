//! Why a site could not be built. Every variant names what failed: the page, template,
//! i18n key, content file, dataset and row, so that a broken input is found without a
//! debugger.

use envgov_dataset::Lang;

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// A content file (`content/{slug}.{lang}.md`) is malformed.
    #[error("content/{file}: {message}")]
    Content { file: String, message: String },

    /// A content page exists in one language only, or a required page is missing.
    #[error("content/{slug}.{}.md is missing", lang.code())]
    MissingContent { slug: String, lang: Lang },

    /// An i18n table could not be parsed or holds something other than strings.
    #[error("i18n/{}.toml: {message}", lang.code())]
    I18nTable { lang: Lang, message: String },

    /// A key is in one language's table and not the other's.
    #[error("i18n key {key:?} is in i18n/{}.toml but missing from i18n/{}.toml", present.code(), missing.code())]
    I18nParity {
        key: String,
        present: Lang,
        missing: Lang,
    },

    /// Code or a template asked for a key no table has.
    #[error("unknown i18n key {key:?} (used by {used_by})")]
    UnknownKey { key: String, used_by: String },

    /// A template does not compile.
    #[error("template {template}: {message}")]
    Template { template: String, message: String },

    /// A page failed to render.
    #[error("page {page} (template {template}): {message}")]
    Render {
        page: String,
        template: String,
        message: String,
    },

    /// The example queries of the query pages are missing or malformed.
    #[error("queries/examples.toml, dataset {dataset:?}: {reason}")]
    QueryExamples { dataset: String, reason: String },

    /// A dataset the site reads is not among the inputs.
    #[error("dataset {dataset}: {what} missing from the inputs")]
    MissingInput { dataset: String, what: &'static str },

    /// A published row does not have the shape the site expects (a renamed or retyped column).
    #[error("dataset {dataset}, row {row}: {message}")]
    Row {
        dataset: String,
        row: usize,
        message: String,
    },

    /// A value from the data that would become part of a path failed its check.
    #[error("dataset {dataset}: {field} {value:?} cannot be used in a URL: {reason}")]
    BadId {
        dataset: String,
        field: &'static str,
        value: String,
        reason: String,
    },

    /// The embedded district boundaries (`data/boundaries/`) could not be loaded.
    #[error("district boundaries (data/boundaries/)")]
    Boundaries(#[source] envgov_curated::CuratedError),

    /// A date or time in the inputs is not in the expected shape.
    #[error("{what}: bad date or time {value:?}")]
    BadDate { what: String, value: String },

    /// Pagefind could not index the rendered pages.
    #[error("search index (Pagefind): {message}")]
    SearchIndex { message: String },

    /// A unit's month file of a dataset published a file a month (as the release places it)
    /// has a cell the site cannot read.
    #[error(transparent)]
    MonthFile(Box<BadCell>),

    /// A unit's month files could not be read.
    #[error("{dataset} of {uscc}: reading its month files: {source}")]
    MonthRead {
        dataset: String,
        uscc: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Two outputs would be written to the same path.
    #[error("chart {chart}: {message}")]
    Chart { chart: String, message: String },
    #[error("two outputs would be written to {0}")]
    DuplicatePath(String),
}

/// A cell of a unit's month file that the site cannot read (boxed in [`SiteError::MonthFile`]).
#[derive(Debug, thiserror::Error)]
#[error(
    "{dataset} of {uscc}, month {month} ({dataset}-{month}.csv), line {line}, field {field:?}, value {value:?}: {reason}"
)]
pub struct BadCell {
    pub dataset: String,
    pub uscc: String,
    pub month: String,
    pub line: u64,
    pub field: String,
    pub value: String,
    pub reason: String,
}
