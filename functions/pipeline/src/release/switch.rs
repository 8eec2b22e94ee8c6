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
use super::prune::prune;
use super::render::{Plan, copy_datasets, plan, upload_site};
use super::signed::{SIGNED_NAMES, signed_files};
use super::stored::*;
use crate::error::{JobError, ReleaseError};
use crate::publication::{Publication, data_date_of};
use crate::store::{Conditional, Store};
use envgov_curated::Curated;
use envgov_dataset::layout;
use std::collections::BTreeMap;

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
        site_sha256,
        datasets,
        signer,
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
    // The datasets (copied from the publication by the store) and the site, uploaded side
    // by side (both are mostly waiting on the store), all before the manifest.
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
    }
    for (path, _) in &files {
        if path.split('/').any(|s| layout::check_segment(s).is_err())
            || path == MANIFEST_NAME
            || SIGNED_NAMES.contains(&path.as_str())
        {
            return Err(JobError::Definition(format!(
                "rendered path {path:?} is not a safe key"
            )));
        }
    }
    let uploading = std::time::Instant::now();
    let (copied, puts) = std::thread::scope(|s| {
        let copy = s.spawn(|| copy_datasets(store, &prefix, &datasets));
        let puts = upload_site(store, &prefix, &files, &site_sha256);
        (copy.join(), puts)
    });
    let copied = copied.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let puts = puts?;
    let upload_ms = uploading.elapsed().as_millis();
    // Every file above durable at once, before the manifests that say they are in place.
    store.sync()?;
    let sync_ms = uploading.elapsed().as_millis() - upload_ms;
    tracing::info!(release = %id, upload_ms, sync_ms, "release files in place");
    for ((_, file), written) in datasets.iter().zip(copied) {
        if written {
            uploaded += 1;
            uploaded_bytes += file.bytes;
        } else {
            skipped += 1;
        }
    }
    for (((path, content), sha), put) in files.iter().zip(site_sha256).zip(puts) {
        bytes += content.len() as u64;
        manifest.files.insert(
            path.clone(),
            ManifestFile {
                sha256: sha,
                bytes: content.len() as u64,
            },
        );
        if put.written {
            uploaded += 1;
            uploaded_bytes += content.len() as u64;
        } else {
            skipped += 1;
        }
    }
    // The signed manifest of the night (not part of the release id), then the release
    // manifest last: its presence says every file above is in place.
    let manifest_bytes = to_json(&manifest);
    let signing = std::time::Instant::now();
    let signed = signed_files(store, &manifest, &manifest_bytes, &publication, &signer)?;
    let signed_bytes: usize = signed.iter().map(|(_, c)| c.len()).sum();
    let built_ms = signing.elapsed().as_millis();
    for (name, content) in signed {
        if put_if_changed(store, &format!("{prefix}{name}"), &content)? {
            uploaded += 1;
            uploaded_bytes += content.len() as u64;
        } else {
            skipped += 1;
        }
    }
    tracing::info!(release = %id, key_id = %signer.key.id(), development_key = signer.development, files = manifest.files.len(), signed_bytes, built_ms, total_ms = signing.elapsed().as_millis(), "release manifest signed");
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
