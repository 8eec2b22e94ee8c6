//! The contract between the envgov pipeline and the site generator.
//!
//! Light by design (serde only): what the pipeline publishes and the site reads — dataset
//! ids and manifests, languages, the storage-key layout, run reports — and the identifier
//! rules both halves need. No I/O, no polars, no AWS.

pub mod changelog;
pub mod ids;
pub mod lang;
pub mod layout;
pub mod manifest;
pub mod published;
pub mod raw_headers;
pub mod report;
pub mod source;
pub mod vocab;

pub use lang::{Lang, Localized};
pub use source::Source;
