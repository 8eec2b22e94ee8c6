//! The process's memory, as the system reports it (Linux `/proc/self/status`), for the
//! night's logs (`rss_mib`, `peak_rss_mib` per stage).
//!
//! Stage: any (reads `/proc`; [`limit_arenas`] sets a malloc parameter at start-up).
//! Imports nothing of the crate.

/// The most malloc arenas the process uses ([`limit_arenas`]).
pub const MALLOC_ARENAS: i32 = 2;

/// Limits glibc's malloc to [`MALLOC_ARENAS`] arenas (what `MALLOC_ARENA_MAX=2` does), for
/// the whole process: call it first thing in `main`, before any thread starts. By default
/// glibc gives each thread that allocates at once an arena of its own (up to 8 per core),
/// and memory freed in one is not reused by another: at 2,000 units × 365 days `envgov
/// site` peaked at 3,469 MiB with the default and 2,530 MiB with two arenas, in the same time
/// (bench/results/2026-12-03-2000x365-run2.md). A no-op where the C library is not glibc.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// The process's peak resident set so far, in MiB, where the system tells it (Linux).
pub fn peak_rss_mib() -> Option<u64> {
    status_mib("VmHWM:")
}

/// The process's resident set now, in MiB (Linux).
pub fn rss_mib() -> Option<u64> {
    status_mib("VmRSS:")
}

fn status_mib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
