//! The envgov nightly pipeline: raw → validated → aggregated → published.
//!
//! Modules are named for their stage. `validate`, `aggregate` and `publish` are pure:
//! values in, values out. Only `jobs` and `store` do I/O. polars is named only in `frame`
//! and `aggregate`.

pub mod aggregate;
pub mod datasets;
pub mod decode;
pub mod frame;
pub mod jobs;
pub mod kvs;
pub mod ledger;
pub mod publication;
pub mod publish;
pub mod release;
pub mod routed;
pub mod s3;
pub mod site_inputs;
pub mod store;
pub mod table;
pub mod validate;
