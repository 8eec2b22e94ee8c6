//! The process's memory, as the system reports it (Linux `/proc/self/status`), for the
//! night's logs (`rss_mib`, `peak_rss_mib` per stage).
//!
//! Stage: any (reads `/proc` only). Imports nothing of the crate.

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
