//! Progress reporting of long stages, shared by every stage (the CLI shows bars, the Lambda
//! function logs). Imports nothing from the pipeline.

/// Progress reporting for long stages (the CLI shows bars; Lambda logs).
pub trait Progress {
    fn stage(&self, name: &str, total: u64);
    fn advance(&self, n: u64);
    fn done(&self);
}
