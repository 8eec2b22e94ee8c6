//! Site releases: render the site from one dataset publication, upload it completely
//! under `site/releases/{release-id}/` together with that publication's files (under
//! `datasets/`, the stable dataset URLs), then make it live with one write to
//! `site/current`.
//!
//! Stage: publish (the I/O edge around the pure `envgov_site::build`). The release id is the
//! data date plus a hash of every rendered file, so the same inputs give the same release,
//! and a retried night rewrites identical bytes.
//!
//! # The switch, in order
//!
//! 1. `site/current` is read with its version *before* anything is uploaded.
//! 2. Every file is uploaded under `site/releases/{id}/` (skipping objects whose stored
//!    sha256 already matches), the publication's files under `site/releases/{id}/datasets/`
//!    (copied from the keys its manifest names, hashes checked), then the release manifest
//!    `site/releases/{id}/release-manifest.json` (every file and its sha256): a release
//!    with a manifest is complete, and [`verify`] checks it file by file.
//! 3. `site/current` is written *conditionally* on the version read in step 1
//!    (`If-Match`, or `If-None-Match: *` when there was none). Only that write makes the
//!    release live.
//! 4. The CloudFront KeyValueStore key `site/current` follows the store's `site/current`
//!    when a [`LiveMirror`] is configured (`ReleaseOptions::kvs_arn`): compare-and-set on
//!    the KeyValueStore's ETag, re-reading `site/current` after every conflict and after
//!    the write, so the last writer always leaves the mirror equal to the pointer
//!    ([`mirror_live`]).
//! 5. The release's `404.html` is copied to `site/errors/404.html` (CloudFront's error
//!    page, fetched without the router).
//! 6. The switch is appended to the history `site/releases.json`.
//! 7. Releases beyond `ReleaseOptions::releases_to_keep` are pruned ([`prune`]).
//!
//! A crash anywhere before step 3 leaves the previous release live and complete; a crash
//! after it leaves the new one live, and the re-run (same inputs, same id) uploads nothing,
//! finds the release already live and redoes steps 4 to 7, which are idempotent.
//!
//! # Which release may replace which
//!
//! Nights can overlap (a slow night and its Lambda retry, an operator re-running a night by
//! hand while the schedule fires) and finish in any order. The rule: **a publish never
//! replaces a live release of a later data date.** Releases of the same date replace each
//! other (a re-render with new templates goes live). Going back to older data is what
//! [`rollback`] is for, an explicit act. The conditional write enforces the rule against
//! a concurrent switch: a run that loses the race re-reads the pointer and applies the
//! rule to what is live now. A publish that the rule stops is *not an error*: its release
//! is uploaded and complete (available to `rollback`), its datasets are published, and the
//! newer release simply stays live; failing the run would make Lambda retry it and alarm
//! over a situation that is correct. It is logged, and [`Release::live`] says so.
//!
//! # Pruning against a rollback
//!
//! See [`prune`]: a release is marked `site/releases/{id}.pruning` before it is deleted, and
//! whoever makes a release live (a rollback, or a publish of an id that exists already)
//! first announces itself with `site/releases/{id}.reviving.{nonce}`. Each side writes its
//! mark *before* reading the other's, so at least one of them sees the other and backs off:
//! the live release is never deleted.
//!
//! The conditional writes are enforced by AWS S3, the local folder and the memory store;
//! Garage accepts and ignores them, so on Garage the rule holds only for runs that do not
//! overlap (see `../../shared/reference/s3-test-servers.md`).

use super::kvs;
use super::mirror::LiveMirror;
use super::options::ReleaseOptions;
use super::render::{Plan, plan};
use crate::error::{JobError, ReleaseError};
use crate::publication::{Publication, data_date_of};
use crate::store::{Conditional, Store, StoreError, Version};
use envgov_curated::Curated;
use envgov_dataset::layout;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a render produced.
#[derive(Debug, Clone)]
pub struct Release {
    pub id: String,
    pub pages: usize,
    pub files: usize,
    pub bytes: u64,
    /// Objects written because their content was new or changed, and their bytes.
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    /// Objects already stored with the same content hash (not uploaded again).
    pub skipped: usize,
    /// Whether this release is live after the publish (`false` when a release of a later
    /// data date was live and stays live; see the module docs).
    pub live: bool,
    /// Releases pruned after the switch.
    pub pruned: Vec<String>,
}

/// The name of a release's manifest, at the root of its folder. The site generator never
/// renders a file of that name (checked at publish).
pub const MANIFEST_NAME: &str = "release-manifest.json";
/// The history of switches, in the order releases went live.
pub const HISTORY_KEY: &str = "site/releases.json";
/// CloudFront's error page: a copy of the live release's `404.html`.
pub const ERROR_PAGE_KEY: &str = "site/errors/404.html";
/// The error page inside a release.
pub const RELEASE_ERROR_PAGE: &str = "404.html";
const RELEASES_PREFIX: &str = "site/releases/";
/// How many switches the history keeps (the oldest are dropped).
const HISTORY_LIMIT: usize = 1000;
/// Attempts of a conditional write that keeps losing to concurrent writers.
const CAS_ATTEMPTS: usize = 5;

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

/// Makes the mirror follow `site/current`: reads the mirror's version, then the pointer,
/// and sets the mirror conditionally on that version. A conflict (another writer between
/// the two) starts again from a fresh read of `site/current`; so does a pointer that moved
/// while the mirror was set. Whoever writes last has read the pointer after its write, so
/// the mirror ends equal to `site/current` however switches and mirrors interleave.
/// Returns the release mirrored (`None` when no release is live).
pub fn mirror_live(store: &dyn Store, mirror: &dyn LiveMirror) -> Result<Option<String>, JobError> {
    let mut last = "(none)".to_string();
    for _ in 0..CAS_ATTEMPTS * 2 {
        let version = mirror.version()?;
        let Some(live) = current(store)? else {
            return Ok(None);
        };
        match mirror.set_live_if_match(&live, &version)? {
            Conditional::Conflict => {
                tracing::info!(release = %live, mirror = %mirror.describe(), "the mirror changed meanwhile: reading site/current again");
            }
            Conditional::Written => {
                if current(store)?.as_deref() == Some(live.as_str()) {
                    tracing::info!(release = %live, mirror = %mirror.describe(), "live release mirrored");
                    return Ok(Some(live));
                }
                tracing::info!(release = %live, "site/current moved on while mirroring: mirroring it again");
            }
        }
        last = live;
    }
    Err(ReleaseError::Contended {
        release: last,
        now: "(the mirror or site/current kept changing)".into(),
    }
    .into())
}

/// An announcement that a release is about to be made live: `site/releases/{id}.reviving.
/// {nonce}`, written before the prune marker is checked and deleted when dropped (best
/// effort: a crash leaves it, which only keeps the release from being pruned).
struct Reviving<'a> {
    store: &'a dyn Store,
    key: String,
    release: String,
}

impl<'a> Reviving<'a> {
    fn announce(store: &'a dyn Store, release: &str) -> Result<Self, JobError> {
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
    fn check_not_pruned(&self) -> Result<(), JobError> {
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

fn corrupt(key: &str, e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    }
}

fn release_prefix(id: &str) -> Result<String, JobError> {
    layout::site_release_prefix(id).map_err(|e| JobError::Definition(e.to_string()))
}

/// The manifest key of a release.
pub fn manifest_key(id: &str) -> Result<String, JobError> {
    Ok(format!("{}{MANIFEST_NAME}", release_prefix(id)?))
}

/// Pretty JSON with a final newline: the same value, the same bytes.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    bytes
}

/// Uploads `bytes` unless the stored object already has their sha256. Returns whether it
/// uploaded.
fn put_if_changed(store: &dyn Store, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
    let sha = crate::ledger::sha256_hex(bytes);
    if store.stored_hash(key)?.as_deref() == Some(sha.as_str()) {
        return Ok(false);
    }
    store.put_with_hash(key, bytes, &sha)?;
    Ok(true)
}

/// The live pointer as read, with the version to switch it from.
#[derive(Debug, Clone)]
struct Pointer {
    /// `None` when `site/current` does not exist.
    read: Option<(String, Version)>,
}

impl Pointer {
    fn read(store: &dyn Store) -> Result<Self, StoreError> {
        Ok(Pointer {
            read: store
                .get_versioned(layout::SITE_CURRENT_KEY)?
                .map(|(b, v)| (String::from_utf8_lossy(&b).trim().to_string(), v)),
        })
    }

    fn id(&self) -> Option<&str> {
        self.read.as_ref().map(|(id, _)| id.as_str())
    }

    fn shown(&self) -> String {
        self.id().unwrap_or("(none)").to_string()
    }

    /// Writes `id` if the pointer is still what was read.
    fn swap(&self, store: &dyn Store, id: &str) -> Result<Conditional, StoreError> {
        let bytes = format!("{id}\n");
        match &self.read {
            None => store.put_if_absent(layout::SITE_CURRENT_KEY, bytes.as_bytes()),
            Some((_, version)) => {
                store.put_if_match(layout::SITE_CURRENT_KEY, bytes.as_bytes(), version)
            }
        }
    }
}

/// How a switch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Switched {
    /// This call wrote the pointer; it was the given release before.
    Now(Option<String>),
    /// The release was live already (a re-run, or a concurrent run of the same inputs).
    Already,
    /// A release of a later data date is live and stays live.
    KeptNewer(String),
}

/// The publish rule: switch unless a release of a later data date is live. `before` is the
/// pointer read before the upload began; a lost race re-reads it and decides again.
fn switch_forward(store: &dyn Store, id: &str, before: Pointer) -> Result<Switched, JobError> {
    let date = data_date_of(id);
    let mut pointer = before;
    for _ in 0..CAS_ATTEMPTS {
        match pointer.id() {
            Some(live) if live == id => return Ok(Switched::Already),
            Some(live) if data_date_of(live).is_some() && data_date_of(live) > date => {
                return Ok(Switched::KeptNewer(live.to_string()));
            }
            _ => {}
        }
        match pointer.swap(store, id)? {
            Conditional::Written => return Ok(Switched::Now(pointer.id().map(str::to_string))),
            Conditional::Conflict => {
                tracing::info!(release = %id, was = %pointer.shown(), "site/current changed during the publish: reading it again");
                pointer = Pointer::read(store)?;
            }
        }
    }
    Err(ReleaseError::Contended {
        release: id.to_string(),
        now: pointer.shown(),
    }
    .into())
}

/// Renders the site from the staged publication (`datasets/staged`), uploads the release
/// completely, then switches `site/current` to it (see the module docs), mirroring to the
/// KeyValueStore of `options.kvs_arn` if set.
pub fn publish(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
) -> Result<Release, JobError> {
    let mirror = kvs::mirror_from_options(options)?;
    publish_with(store, curated, options, mirror.as_deref())
}

/// [`publish`] of a named publication (a night publishes the one it just wrote, whatever
/// another run staged meanwhile).
pub fn publish_publication(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
    publication: &str,
) -> Result<Release, JobError> {
    let mirror = kvs::mirror_from_options(options)?;
    let publication = Publication::open(store, publication)?;
    publish_plan(
        store,
        plan(store, curated, options, publication)?,
        options,
        mirror.as_deref(),
    )
}

/// [`publish`] with an explicit mirror of the live pointer (or none).
pub fn publish_with(
    store: &dyn Store,
    curated: &Curated,
    options: &ReleaseOptions,
    mirror: Option<&dyn LiveMirror>,
) -> Result<Release, JobError> {
    let plan = plan(store, curated, options, Publication::staged(store)?)?;
    publish_plan(store, plan, options, mirror)
}

fn publish_plan(
    store: &dyn Store,
    plan: Plan,
    options: &ReleaseOptions,
    mirror: Option<&dyn LiveMirror>,
) -> Result<Release, JobError> {
    let Plan {
        id,
        data_date,
        publication,
        site: files,
        datasets,
    } = plan;
    let prefix = release_prefix(&id)?;
    if data_date_of(&id).is_none() {
        return Err(JobError::Definition(format!(
            "release id {id:?} has no data date"
        )));
    }
    // Announced before anything is uploaded: a concurrent prune of this id (a re-run of
    // inputs already published) then backs off, or this publish sees its mark.
    let reviving = Reviving::announce(store, &id)?;
    // Read before anything is uploaded: the switch is conditional on this version.
    let before = Pointer::read(store)?;
    let (mut bytes, mut uploaded, mut uploaded_bytes, mut skipped) = (0u64, 0usize, 0u64, 0usize);
    let mut manifest = Manifest {
        release: id.clone(),
        data_date: data_date.clone(),
        files: BTreeMap::new(),
        publication: Some(publication.id().to_string()),
    };
    // The datasets first (copied from the publication, hashes checked), then the site.
    for (path, file) in &datasets {
        if path.split('/').any(|s| layout::check_segment(s).is_err()) {
            return Err(JobError::Definition(format!(
                "dataset path {path:?} is not a safe key"
            )));
        }
        bytes += file.bytes;
        manifest.files.insert(
            path.clone(),
            ManifestFile {
                sha256: file.sha256.clone(),
                bytes: file.bytes,
            },
        );
        let key = format!("{prefix}{path}");
        if store.stored_hash(&key)?.as_deref() == Some(file.sha256.as_str()) {
            skipped += 1;
            continue;
        }
        let inner = &path[layout::RELEASE_DATASETS_DIR.len() + 1..];
        let content = publication.read(store, inner)?;
        store.put_with_hash(&key, &content, &file.sha256)?;
        uploaded += 1;
        uploaded_bytes += file.bytes;
    }
    for (path, content) in &files {
        if path.split('/').any(|s| layout::check_segment(s).is_err()) || path == MANIFEST_NAME {
            return Err(JobError::Definition(format!(
                "rendered path {path:?} is not a safe key"
            )));
        }
        bytes += content.len() as u64;
        // Content hashes, not timestamps or sizes, decide what is uploaded again.
        let key = format!("{prefix}{path}");
        let sha = crate::ledger::sha256_hex(content);
        let stored = store.stored_hash(&key)?;
        manifest.files.insert(
            path.clone(),
            ManifestFile {
                sha256: sha.clone(),
                bytes: content.len() as u64,
            },
        );
        if stored.as_deref() == Some(sha.as_str()) {
            skipped += 1;
            continue;
        }
        store.put_with_hash(&key, content, &sha)?;
        uploaded += 1;
        uploaded_bytes += content.len() as u64;
    }
    // The manifest last: its presence says every file above is in place.
    let manifest_bytes = to_json(&manifest);
    if put_if_changed(store, &manifest_key(&id)?, &manifest_bytes)? {
        uploaded += 1;
        uploaded_bytes += manifest_bytes.len() as u64;
    } else {
        skipped += 1;
    }
    // Only now, with every file in place, may the release go live (unless a prune has
    // marked it meanwhile: then some of its files may be gone).
    reviving.check_not_pruned()?;
    let switched = switch_forward(store, &id, before)?;
    let live = !matches!(switched, Switched::KeptNewer(_));
    let mut pruned = Vec::new();
    match &switched {
        Switched::KeptNewer(newer) => {
            tracing::warn!(release = %id, live = %newer, "a release of a later data date is live: it stays live; this release is uploaded and complete (`envgov rollback --to {id}` makes it live)");
        }
        Switched::Now(_) | Switched::Already => {
            after_switch(store, &id, &data_date, SwitchKind::Publish, mirror)?;
            if let Some(keep) = options.releases_to_keep {
                pruned = prune(store, keep, &id)?;
            }
        }
    }
    drop(reviving);
    let pages = files.iter().filter(|(p, _)| p.ends_with(".html")).count();
    let files_total = files.len() + datasets.len();
    let from = match &switched {
        Switched::Now(from) => from.clone().unwrap_or_else(|| "(none)".into()),
        Switched::Already => id.clone(),
        Switched::KeptNewer(newer) => newer.clone(),
    };
    tracing::info!(release = %id, publication = %publication.id(), live, previous = %from, pages, files = files_total, bytes, uploaded, uploaded_bytes, skipped, pruned = pruned.len(), "site release published");
    Ok(Release {
        id,
        pages,
        files: files_total,
        bytes,
        uploaded,
        uploaded_bytes,
        skipped,
        live,
        pruned,
    })
}

/// Steps 4 to 6 of the module docs, idempotent: the KeyValueStore (which follows
/// `site/current`, whatever it is now), the error page, the history.
fn after_switch(
    store: &dyn Store,
    id: &str,
    data_date: &str,
    by: SwitchKind,
    mirror: Option<&dyn LiveMirror>,
) -> Result<(), JobError> {
    if let Some(mirror) = mirror {
        mirror_live(store, mirror)?;
    }
    let page_key = format!("{}{RELEASE_ERROR_PAGE}", release_prefix(id)?);
    match store.get(&page_key)? {
        Some(page) => {
            put_if_changed(store, ERROR_PAGE_KEY, &page)?;
        }
        None => {
            tracing::warn!(release = %id, "the release has no {RELEASE_ERROR_PAGE}: {ERROR_PAGE_KEY} left as it was")
        }
    }
    record_switch(
        store,
        Switch {
            release: id.to_string(),
            data_date: data_date.to_string(),
            by,
        },
    )
}

/// Reads the history; a missing history is empty.
pub fn history(store: &dyn Store) -> Result<History, JobError> {
    Ok(read_history(store)?.0)
}

fn read_history(store: &dyn Store) -> Result<(History, Option<Version>), JobError> {
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
fn record_switch(store: &dyn Store, switch: Switch) -> Result<(), JobError> {
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
fn stored_releases(store: &dyn Store) -> Result<BTreeMap<String, Vec<String>>, JobError> {
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

/// Deletes the releases beyond the newest `keep` (by when they were last live, the live
/// one counted), after a switch. Never deleted: the live release, `just_published`, and
/// releases that never went live unless their data date is older than the live one's (a
/// release that never went live may belong to a run still uploading). Only objects under
/// `site/releases/{old}/` are deleted, the manifest first, so a half-deleted release is
/// never taken for complete. Returns the pruned ids.
///
/// # Never the live release, even against a concurrent rollback
///
/// The live pointer read at the start may be stale by the time the delete runs: a rollback
/// to the very release being pruned can land in between. So each candidate goes through
/// a two-mark handshake (Dekker's), relying only on the store's read-after-write
/// consistency (S3 is strongly consistent, and so is a local folder):
///
/// 1. prune creates `site/releases/{id}.pruning` (a conditional create: a second prune of
///    the same release backs off);
/// 2. prune then lists `site/releases/{id}.reviving.*` and reads `site/current`: if anyone
///    is reviving the release, or it is live, the mark is removed and the release kept;
/// 3. otherwise it deletes the release (manifest first), then its mark.
///
/// Whoever makes a release live ([`rollback`], or a publish whose id exists already) first
/// creates its `.reviving.{nonce}` mark, *then* checks for `.pruning`, and only then
/// verifies and switches; its mark is removed after the switch. Each side writes its own
/// mark before reading the other's, so in every interleaving at least one sees the other:
/// either the prune sees the reviver (or the switch it made) and keeps the release, or the
/// reviver sees the prune mark and switches nothing ([`ReleaseError::BeingPruned`]). A
/// crash leaves a mark behind; a stale `.reviving` mark only keeps its release until it is
/// older than [`REVIVING_STALE_AFTER`] (then a prune removes it), a stale `.pruning` mark
/// is finished by the next prune.
pub fn prune(
    store: &dyn Store,
    keep: usize,
    just_published: &str,
) -> Result<Vec<String>, JobError> {
    let live = current(store)?;
    let history = history(store)?;
    // Most recently live first, each id once.
    let mut recent: Vec<&str> = Vec::new();
    for s in history.switches.iter().rev() {
        if !recent.contains(&s.release.as_str()) {
            recent.push(&s.release);
        }
    }
    let mut kept: BTreeSet<&str> = recent.iter().take(keep).copied().collect();
    kept.insert(just_published);
    if let Some(live) = &live {
        kept.insert(live);
    }
    let live_date = live.as_deref().and_then(data_date_of);
    let mut pruned = Vec::new();
    for (id, keys) in stored_releases(store)? {
        if kept.contains(id.as_str()) {
            continue;
        }
        let went_live = recent.contains(&id.as_str());
        let older_than_live = data_date_of(&id).is_some() && data_date_of(&id) < live_date;
        if !(went_live || older_than_live) {
            continue;
        }
        let marker = layout::site_release_pruning_key(&id)
            .map_err(|e| JobError::Definition(e.to_string()))?;
        let reviving = layout::site_release_reviving_prefix(&id)
            .map_err(|e| JobError::Definition(e.to_string()))?;
        if store.put_if_absent(&marker, b"pruning\n")? == Conditional::Conflict
            && !stored_releases(store)?.contains_key(&id)
        {
            // A mark left by an earlier prune whose release is gone already.
            store.delete(&marker)?;
            continue;
        }
        // The mark is in place: now look for revivers, then at the pointer (in this order:
        // a reviver removes its mark only after its switch).
        if active_revivers(store, &reviving)? > 0 || current(store)?.as_deref() == Some(id.as_str())
        {
            tracing::info!(release = %id, "being made live meanwhile: not pruned");
            store.delete(&marker)?;
            continue;
        }
        let manifest = manifest_key(&id)?;
        store.delete(&manifest)?;
        // Listed again: a re-run may have added files since the first listing.
        let keys = stored_releases(store)?.remove(&id).unwrap_or(keys);
        for key in keys.iter().filter(|k| **k != manifest) {
            store.delete(key)?;
        }
        store.delete(&marker)?;
        tracing::info!(release = %id, objects = keys.len(), "release pruned");
        pruned.push(id);
    }
    Ok(pruned)
}

/// How long a `.reviving` mark counts as a reviver at work. A publish or rollback takes
/// minutes (a Lambda function at most 15); a mark older than this was left by a process
/// that died, and is removed, so that a crash does not keep its release forever. Generous,
/// since the clocks of the machines involved (Lambda, an operator's) may differ.
const REVIVING_STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Counts the live `.reviving` marks under `prefix`, removing stale ones (see
/// [`REVIVING_STALE_AFTER`]). A mark whose time cannot be read counts as live.
fn active_revivers(store: &dyn Store, prefix: &str) -> Result<usize, JobError> {
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

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub from: Option<String>,
    pub to: String,
    /// Files verified against the manifest.
    pub files: usize,
}

/// Makes an earlier release live again: `to`, or by default the release that was live
/// before the current one (the latest history entry that is not the live release and
/// still has its manifest). The target is verified complete first. The switch is
/// conditional on the pointer read at the start: if a night switched meanwhile, nothing
/// is switched and the error says what is live now.
pub fn rollback(
    store: &dyn Store,
    to: Option<&str>,
    options: &ReleaseOptions,
) -> Result<Rollback, JobError> {
    let mirror = kvs::mirror_from_options(options)?;
    rollback_with(store, to, mirror.as_deref())
}

/// [`rollback`] with an explicit mirror of the live pointer (or none).
pub fn rollback_with(
    store: &dyn Store,
    to: Option<&str>,
    mirror: Option<&dyn LiveMirror>,
) -> Result<Rollback, JobError> {
    let pointer = Pointer::read(store)?;
    let live = pointer.id().map(str::to_string);
    let target = match to {
        Some(id) => {
            layout::check_segment(id).map_err(|e| JobError::Definition(e.to_string()))?;
            id.to_string()
        }
        None => {
            let history = history(store)?;
            let mut found = None;
            for s in history.switches.iter().rev() {
                if Some(&s.release) == live.as_ref() {
                    continue;
                }
                if manifest(store, &s.release)?.is_some() {
                    found = Some(s.release.clone());
                    break;
                }
            }
            found.ok_or_else(|| {
                ReleaseError::NoRollbackTarget(format!(
                    "{HISTORY_KEY} names no earlier release that is still stored; give --to"
                ))
            })?
        }
    };
    // Announce, then look for a prune (see `prune`); verify only after that.
    let reviving = Reviving::announce(store, &target)?;
    reviving.check_not_pruned()?;
    let m = verify(store, &target)?;
    if live.as_deref() != Some(target.as_str()) {
        match pointer.swap(store, &target)? {
            Conditional::Written => {}
            Conditional::Conflict => {
                return Err(ReleaseError::Contended {
                    release: target,
                    now: Pointer::read(store)?.shown(),
                }
                .into());
            }
        }
    }
    drop(reviving);
    after_switch(store, &target, &m.data_date, SwitchKind::Rollback, mirror)?;
    tracing::info!(from = %pointer.shown(), to = %target, files = m.files.len(), "rolled back");
    Ok(Rollback {
        from: live,
        to: target,
        files: m.files.len(),
    })
}

/// The live release id, if any.
pub fn current(store: &dyn Store) -> Result<Option<String>, JobError> {
    Ok(store
        .get(layout::SITE_CURRENT_KEY)?
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| layout::check_segment(s).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::sync::Mutex;

    /// A mirror with a version that changes on every write; `interfere` runs once, after
    /// the version is read and before the write is attempted: another run switching the
    /// pointer and mirroring it in between.
    type Interference<'a> = Box<dyn FnOnce(&Edge<'_>) + Send + 'a>;

    struct Edge<'a> {
        state: Mutex<(String, u64)>,
        interfere: Mutex<Option<Interference<'a>>>,
        puts: Mutex<Vec<(String, Conditional)>>,
    }

    impl LiveMirror for Edge<'_> {
        fn version(&self) -> Result<String, ReleaseError> {
            Ok(self.state.lock().unwrap().1.to_string())
        }
        fn set_live_if_match(
            &self,
            release_id: &str,
            version: &str,
        ) -> Result<Conditional, ReleaseError> {
            let hook = self.interfere.lock().unwrap().take();
            if let Some(hook) = hook {
                hook(self);
            }
            let mut state = self.state.lock().unwrap();
            let outcome = if state.1.to_string() == version {
                *state = (release_id.to_string(), state.1 + 1);
                Conditional::Written
            } else {
                Conditional::Conflict
            };
            self.puts
                .lock()
                .unwrap()
                .push((release_id.to_string(), outcome));
            Ok(outcome)
        }
        fn describe(&self) -> String {
            "edge".into()
        }
    }

    #[test]
    fn the_mirror_ends_on_site_current_when_a_switch_lands_mid_mirror() {
        // This run read the mirror's version and site/current = "old"; before its write,
        // another run switches to "new" and mirrors it. This run's write then conflicts,
        // it reads site/current again, and mirrors "new", never "old" over it.
        let store = MemoryStore::new();
        store
            .put(layout::SITE_CURRENT_KEY, b"2026-01-30-old\n")
            .unwrap();
        let edge = Edge {
            state: Mutex::new(("(none)".into(), 0)),
            interfere: Mutex::new(None),
            puts: Mutex::new(Vec::new()),
        };
        let store_ref = &store;
        *edge.interfere.lock().unwrap() = Some(Box::new(move |edge: &Edge<'_>| {
            store_ref
                .put(layout::SITE_CURRENT_KEY, b"2026-01-31-new\n")
                .unwrap();
            let mut state = edge.state.lock().unwrap();
            *state = ("2026-01-31-new".into(), state.1 + 1);
        }));
        let mirrored = mirror_live(&store, &edge).unwrap();
        assert_eq!(mirrored.as_deref(), Some("2026-01-31-new"));
        assert_eq!(edge.state.lock().unwrap().0, "2026-01-31-new");
        assert_eq!(
            *edge.puts.lock().unwrap(),
            vec![
                ("2026-01-30-old".to_string(), Conditional::Conflict),
                ("2026-01-31-new".to_string(), Conditional::Written),
            ]
        );
    }

    #[test]
    fn the_mirror_is_corrected_when_site_current_moves_after_its_write() {
        // The write succeeds with "old", but site/current moved on meanwhile (its run's
        // mirror came first): the check after the write sees it and mirrors "new".
        let store = MemoryStore::new();
        store
            .put(layout::SITE_CURRENT_KEY, b"2026-01-30-old\n")
            .unwrap();
        let edge = Edge {
            state: Mutex::new(("(none)".into(), 0)),
            interfere: Mutex::new(None),
            puts: Mutex::new(Vec::new()),
        };
        let store_ref = &store;
        *edge.interfere.lock().unwrap() = Some(Box::new(move |_: &Edge<'_>| {
            store_ref
                .put(layout::SITE_CURRENT_KEY, b"2026-01-31-new\n")
                .unwrap();
        }));
        mirror_live(&store, &edge).unwrap();
        assert_eq!(edge.state.lock().unwrap().0, "2026-01-31-new");
        assert_eq!(
            *edge.puts.lock().unwrap(),
            vec![
                ("2026-01-30-old".to_string(), Conditional::Written),
                ("2026-01-31-new".to_string(), Conditional::Written),
            ]
        );
    }

    #[test]
    fn a_reviving_mark_left_by_a_dead_process_stops_counting_and_is_removed() {
        let store = MemoryStore::new();
        let prefix = layout::site_release_reviving_prefix("2026-01-31-aaaaaaaaaaaa").unwrap();
        // A mark from 1970 (its process is long gone) and one of a reviver at work now.
        store.put(&format!("{prefix}7-1-0"), b"reviving\n").unwrap();
        let live = Reviving::announce(&store, "2026-01-31-aaaaaaaaaaaa").unwrap();
        assert_eq!(active_revivers(&store, &prefix).unwrap(), 1);
        assert_eq!(store.list(&prefix).unwrap(), vec![live.key.clone()]);
        drop(live);
        assert_eq!(active_revivers(&store, &prefix).unwrap(), 0);
        assert!(store.list(&prefix).unwrap().is_empty());
    }

    #[test]
    fn every_content_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../content");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = super::super::site_inputs::CONTENT
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(on_disk, embedded);
    }
}
