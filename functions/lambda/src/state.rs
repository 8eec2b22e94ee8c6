//! What every invocation of a function's execution environment shares: the configuration,
//! the store (opened once) and the curated tables.
//!
//! Stage: the Lambda edge; imports no other module of the crate but `config`.

use crate::config::Config;
use envgov_curated::Curated;
use envgov_pipeline::store::Store;

/// What every invocation of an execution environment shares.
pub struct State {
    pub config: Config,
    pub store: Box<dyn Store>,
    pub curated: Curated,
}
