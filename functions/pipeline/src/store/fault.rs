//! Fault injection for the crash tests: with `ENVGOV_FAULT_ABORT_AT_WRITE=N` in the
//! environment, the process aborts (`SIGABRT`, no unwinding, no destructors: as if killed)
//! during the N-th write to a [`LocalStore`] (1-based), after that write's temporary file
//! is complete and before it is renamed into place. A removal counts as a write and aborts
//! before it happens. Unset (or 0), nothing happens beyond counting.
//!
//! Stage: I/O edge (test support of [`super::local`]); depends on nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms the fault.
pub const ABORT_AT_WRITE: &str = "ENVGOV_FAULT_ABORT_AT_WRITE";

static WRITES: AtomicU64 = AtomicU64::new(0);

fn armed() -> u64 {
    static AT: OnceLock<u64> = OnceLock::new();
    *AT.get_or_init(|| {
        std::env::var(ABORT_AT_WRITE)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    })
}

/// Writes (and removals) to local stores by this process so far.
pub fn writes() -> u64 {
    WRITES.load(Ordering::SeqCst)
}

pub(super) fn before_write() {
    WRITES.fetch_add(1, Ordering::SeqCst);
}

pub(super) fn after_temp_write() {
    let at = armed();
    // At or past: writes in parallel threads (a release's upload) may both have counted
    // before either gets here; one after another, the N-th write is the one that aborts.
    if at != 0 && WRITES.load(Ordering::SeqCst) >= at {
        std::process::abort();
    }
}

pub(super) fn before_remove() {
    before_write();
    after_temp_write();
}
