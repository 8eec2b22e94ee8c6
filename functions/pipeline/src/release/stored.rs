//! What a release is in the store: its manifest, the history of switches, the live pointer
//! `site/current`, the `.reviving` marks of whoever makes a release live, and the listing of
//! stored releases with their completeness.
//!
//! Stage: release (reads and small writes of the release's own records). It never renders,
//! switches or prunes: [`super::switch`] and [`super::prune`] build on it.

use crate::error::{JobError, ReleaseError};
use crate::publication::data_date_of;
use crate::store::{Conditional, Store, StoreError, Version};
use envgov_dataset::layout;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The name of a release's manifest, at the root of its folder. The site generator never
/// renders a file of that name (checked at publish).
pub const MANIFEST_NAME: &str = "release-manifest.json";
/// The history of switches, in the order releases went live.
pub const HISTORY_KEY: &str = "site/releases.json";
/// CloudFront's error page: a copy of the live release's `404.html`.
pub const ERROR_PAGE_KEY: &str = "site/errors/404.html";
/// The error page inside a release.
pub const RELEASE_ERROR_PAGE: &str = "404.html";
pub(super) const RELEASES_PREFIX: &str = "site/releases/";
/// How many switches the history keeps (the oldest are dropped).
pub(super) const HISTORY_LIMIT: usize = 1000;
/// Attempts of a conditional write that keeps losing to concurrent writers.
pub(super) const CAS_ATTEMPTS: usize = 5;

/// What a release is made of: written after every file, before the switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub release: String,
    pub data_date: String,
    /// Relative path → its sha256 and size (the datasets under `datasets/`).
    pub files: BTreeMap<String, ManifestFile>,
    /// The dataset publication the release was rendered from and serves under `datasets/`
    /// (absent in releases made before publications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub sha256: String,
    pub bytes: u64,
}

/// `site/releases.json`: every switch of `site/current`, oldest first. Deterministic (no
/// clock): the same switches give the same bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub switches: Vec<Switch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub release: String,
    pub data_date: String,
    /// `publish` (a night or `envgov site`) or `rollback`.
    pub by: SwitchKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SwitchKind {
    Publish,
    Rollback,
}

/// An announcement that a release is about to be made live: `site/releases/{id}.reviving.
/// {nonce}`, written before the prune marker is checked and deleted when dropped (best
/// effort: a crash leaves it, which only keeps the release from being pruned).
pub(super) struct Reviving<'a> {
    pub(super) store: &'a dyn Store,
    pub(super) key: String,
    pub(super) release: String,
}

impl<'a> Reviving<'a> {
    pub(super) fn announce(store: &'a dyn Store, release: &str) -> Result<Self, JobError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let key = format!(
            "{}{}-{}-{}",
            layout::site_release_reviving_prefix(release)
                .map_err(|e| JobError::Definition(e.to_string()))?,
            std::process::id(),
            nanos,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        store.put(&key, b"reviving\n")?;
        Ok(Reviving {
            store,
            key,
            release: release.to_string(),
        })
    }

    /// Fails if a prune has marked the release (it may be deleting it now).
    pub(super) fn check_not_pruned(&self) -> Result<(), JobError> {
        let marker = layout::site_release_pruning_key(&self.release)
            .map_err(|e| JobError::Definition(e.to_string()))?;
        if self.store.get(&marker)?.is_some() {
            return Err(ReleaseError::BeingPruned {
                release: self.release.clone(),
                marker,
            }
            .into());
        }
        Ok(())
    }
}

impl Drop for Reviving<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.delete(&self.key) {
            tracing::warn!(key = %self.key, error = %e, "could not remove the reviving mark (it only keeps the release from pruning)");
        }
    }
}

pub(super) fn corrupt(key: &str, e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    }
}

pub(super) fn release_prefix(id: &str) -> Result<String, JobError> {
    layout::site_release_prefix(id).map_err(|e| JobError::Definition(e.to_string()))
}

/// The manifest key of a release.
pub fn manifest_key(id: &str) -> Result<String, JobError> {
    Ok(format!("{}{MANIFEST_NAME}", release_prefix(id)?))
}

/// Pretty JSON with a final newline: the same value, the same bytes.
pub(super) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    bytes
}

/// Uploads `bytes` unless the stored object already has their sha256. Returns whether it
/// uploaded.
pub(super) fn put_if_changed(
    store: &dyn Store,
    key: &str,
    bytes: &[u8],
) -> Result<bool, StoreError> {
    let sha = crate::ledger::sha256_hex(bytes);
    if store.stored_hash(key)?.as_deref() == Some(sha.as_str()) {
        return Ok(false);
    }
    store.put_with_hash(key, bytes, &sha)?;
    Ok(true)
}

/// The live pointer as read, with the version to switch it from.
#[derive(Debug, Clone)]
pub(super) struct Pointer {
    /// `None` when `site/current` does not exist.
    pub(super) read: Option<(String, Version)>,
}

impl Pointer {
    pub(super) fn read(store: &dyn Store) -> Result<Self, StoreError> {
        Ok(Pointer {
            read: store
                .get_versioned(layout::SITE_CURRENT_KEY)?
                .map(|(b, v)| (String::from_utf8_lossy(&b).trim().to_string(), v)),
        })
    }

    pub(super) fn id(&self) -> Option<&str> {
        self.read.as_ref().map(|(id, _)| id.as_str())
    }

    pub(super) fn shown(&self) -> String {
        self.id().unwrap_or("(none)").to_string()
    }

    /// Writes `id` if the pointer is still what was read.
    pub(super) fn swap(&self, store: &dyn Store, id: &str) -> Result<Conditional, StoreError> {
        let bytes = format!("{id}\n");
        match &self.read {
            None => store.put_if_absent(layout::SITE_CURRENT_KEY, bytes.as_bytes()),
            Some((_, version)) => {
                store.put_if_match(layout::SITE_CURRENT_KEY, bytes.as_bytes(), version)
            }
        }
    }
}

/// Reads the history; a missing history is empty.
pub fn history(store: &dyn Store) -> Result<History, JobError> {
    Ok(read_history(store)?.0)
}

pub(super) fn read_history(store: &dyn Store) -> Result<(History, Option<Version>), JobError> {
    match store.get_versioned(HISTORY_KEY)? {
        None => Ok((History::default(), None)),
        Some((bytes, version)) => {
            let history = serde_json::from_slice(&bytes).map_err(|e| corrupt(HISTORY_KEY, e))?;
            Ok((history, Some(version)))
        }
    }
}

/// Appends a switch to the history unless it is already the last entry (a re-run),
/// conditionally on the version read, so concurrent appends do not lose each other.
pub(super) fn record_switch(store: &dyn Store, switch: Switch) -> Result<(), JobError> {
    for _ in 0..CAS_ATTEMPTS {
        let (mut history, version) = read_history(store)?;
        if history.switches.last().map(|s| &s.release) == Some(&switch.release) {
            return Ok(());
        }
        history.switches.push(switch.clone());
        let excess = history.switches.len().saturating_sub(HISTORY_LIMIT);
        history.switches.drain(..excess);
        let bytes = to_json(&history);
        let written = match &version {
            None => store.put_if_absent(HISTORY_KEY, &bytes)?,
            Some(v) => store.put_if_match(HISTORY_KEY, &bytes, v)?,
        };
        if written == Conditional::Written {
            return Ok(());
        }
    }
    Err(ReleaseError::Contended {
        release: switch.release,
        now: "(the history kept changing)".into(),
    }
    .into())
}

/// Reads a release's manifest; `None` when it has none (incomplete, pruned or unknown).
pub fn manifest(store: &dyn Store, id: &str) -> Result<Option<Manifest>, JobError> {
    let key = manifest_key(id)?;
    match store.get(&key)? {
        None => Ok(None),
        Some(bytes) => {
            let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| corrupt(&key, e))?;
            if m.release != id {
                return Err(corrupt(&key, format!("names release {}", m.release)).into());
            }
            Ok(Some(m))
        }
    }
}

/// Checks that a release is complete: it has a manifest, and every file the manifest lists
/// is stored with the listed sha256.
pub fn verify(store: &dyn Store, id: &str) -> Result<Manifest, JobError> {
    let incomplete = |problem: String| ReleaseError::Incomplete {
        release: id.to_string(),
        problem,
    };
    let m = manifest(store, id)?.ok_or_else(|| {
        incomplete(format!(
            "no {MANIFEST_NAME} (never completed, pruned, or not a release)"
        ))
    })?;
    let prefix = release_prefix(id)?;
    for (path, file) in &m.files {
        match store.stored_hash(&format!("{prefix}{path}"))? {
            Some(h) if h == file.sha256 => {}
            Some(h) => {
                return Err(incomplete(format!(
                    "{path} has sha256 {h}, the manifest says {}",
                    file.sha256
                ))
                .into());
            }
            None => return Err(incomplete(format!("{path} is missing")).into()),
        }
    }
    Ok(m)
}

/// One release in the store, for `envgov releases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseInfo {
    pub id: String,
    pub data_date: Option<String>,
    pub live: bool,
    /// Has a manifest and every file it lists is present (by listing; [`verify`] also
    /// checks the hashes).
    pub complete: bool,
    /// Objects stored under the release's folder.
    pub objects: usize,
    /// When it last went live: its index in the history (0 = oldest), `None` if never.
    pub last_live: Option<usize>,
}

/// The ids of the releases stored under `site/releases/`, with their keys.
pub(super) fn stored_releases(
    store: &dyn Store,
) -> Result<BTreeMap<String, Vec<String>>, JobError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in store.list(RELEASES_PREFIX)? {
        if let Some((id, _)) = key[RELEASES_PREFIX.len()..].split_once('/') {
            out.entry(id.to_string()).or_default().push(key.clone());
        }
    }
    Ok(out)
}

/// Every stored release, oldest data date first, with the live one marked.
pub fn list(store: &dyn Store) -> Result<Vec<ReleaseInfo>, JobError> {
    let live = current(store)?;
    let history = history(store)?;
    let mut out = Vec::new();
    for (id, keys) in stored_releases(store)? {
        let prefix = release_prefix(&id)?;
        let listed: BTreeSet<&str> = keys.iter().map(|k| &k[prefix.len()..]).collect();
        let complete = match manifest(store, &id)? {
            Some(m) => m.files.keys().all(|p| listed.contains(p.as_str())),
            None => false,
        };
        out.push(ReleaseInfo {
            data_date: data_date_of(&id).map(str::to_string),
            live: live.as_deref() == Some(id.as_str()),
            complete,
            objects: keys.len(),
            last_live: history.switches.iter().rposition(|s| s.release == id),
            id,
        });
    }
    out.sort_by(|a, b| (&a.data_date, a.last_live, &a.id).cmp(&(&b.data_date, b.last_live, &b.id)));
    Ok(out)
}

/// The live release id, if any.
pub fn current(store: &dyn Store) -> Result<Option<String>, JobError> {
    Ok(store
        .get(layout::SITE_CURRENT_KEY)?
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| layout::check_segment(s).is_ok()))
}

/// How long a `.reviving` mark counts as a reviver at work. A publish or rollback takes
/// minutes (a Lambda function at most 15); a mark older than this was left by a process
/// that died, and is removed, so that a crash does not keep its release forever. Generous,
/// since the clocks of the machines involved (Lambda, an operator's) may differ.
pub(super) const REVIVING_STALE_AFTER: std::time::Duration =
    std::time::Duration::from_secs(6 * 3600);

/// Counts the live `.reviving` marks under `prefix`, removing stale ones (see
/// [`REVIVING_STALE_AFTER`]). A mark whose time cannot be read counts as live.
pub(super) fn active_revivers(store: &dyn Store, prefix: &str) -> Result<usize, JobError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut active = 0;
    for key in store.list(prefix)? {
        // `{pid}-{nanos since the epoch}-{sequence}`, see `Reviving::announce`.
        let written = key[prefix.len()..]
            .split('-')
            .nth(1)
            .and_then(|n| n.parse::<u128>().ok());
        match written {
            Some(t) if now.saturating_sub(t) > REVIVING_STALE_AFTER.as_nanos() => {
                tracing::warn!(key = %key, "a stale reviving mark (its process died): removed");
                store.delete(&key)?;
            }
            _ => active += 1,
        }
    }
    Ok(active)
}
