//! Pruning old releases, against a concurrent rollback or revival (see [`prune`]).
//!
//! Stage: release (deletes releases that are neither live nor being revived). Depends on
//! [`super::stored`] only; it never switches.

use super::stored::*;
use crate::error::JobError;
use crate::publication::data_date_of;
use crate::store::{Conditional, Store};
use envgov_dataset::layout;
use std::collections::BTreeSet;

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
