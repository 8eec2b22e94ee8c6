//! The envgov nightly pipeline: raw → validated → aggregated → published → released.
//!
//! Modules are named for their stage, and dependencies point one way, down this list
//! (checked by `scripts/check-module-cycles`):
//! - `ledger`, `table`, `decode`, `progress`: the leaves;
//! - `store` (the trait and its backends), then `error` (the stages' errors, over the
//!   store's), which no stage imports `jobs` for;
//! - `frame`, `validate`, `aggregate`, `publish`: the pure stages, values in, values out;
//! - `revisions`: which raw files (and revisions of them) are in force on a night;
//! - `partition`, `registry`: validated partitions written through the store (and the raw
//!   ledger), the registry in force;
//! - `provenance`: the raw ledger's sha256 of each raw key, joined to published rows;
//! - `memory`: the process's resident set, for the logs;
//! - `month_files`: a month's files encoded by streaming its days (pure);
//! - `monthly`: the datasets that grow with time, written a month a file, only the months
//!   that changed, into the dated archives (their states, the publication's list);
//! - `hourly` (cems-hourly), `day_datasets` (cems-daily, self-monitoring): what each
//!   monthly dataset's months are made from;
//! - `datasets`, `publication`: the datasets built from validated partitions and published;
//! - `changelog`: what tonight's corrections changed in the day-level datasets, and the
//!   withdrawn exceedances kept in the register;
//! - `release`: the site release rendered from a publication, switched, mirrored, pruned;
//! - `jobs`: the nightly orchestration only, calling the stages in order;
//! - `fanout`: the same night fanned out over partitions (plan, tasks, reduce), over `jobs`;
//! - `rebuild`: a night recomputed from the raw archive into another store and compared with
//!   its dated archives, over `jobs`.
//!
//! Only `jobs`, `datasets`, `monthly`, `hourly`, `day_datasets`, `provenance` (it reads the
//! ledger), `publication`, `release` and `store` do I/O. polars does the work only in
//! `frame`, `aggregate`, `month_files`, `hourly`, `day_datasets` and `provenance` (the
//! others name its error type).

pub mod aggregate;
pub mod changelog;
pub mod datasets;
pub mod day_datasets;
pub mod decode;
pub mod error;
pub mod evidence;
pub mod fanout;
pub mod frame;
pub mod hourly;
pub mod ingest;
pub mod inputs;
pub mod jobs;
pub mod ledger;
pub mod memory;
pub mod month_files;
pub mod monthly;
pub mod partials;
pub mod partition;
pub mod progress;
pub mod provenance;
pub mod publication;
pub mod publish;
pub mod rebuild;
pub mod registry;
pub mod release;
pub mod revisions;
pub mod signing;
pub mod store;
pub mod table;
pub mod validate;
pub mod verify;
