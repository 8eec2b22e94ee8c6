//! The night's signed manifest: at the root of each release, `manifest.json` lists every
//! file of the release (the rendered site, the publication's datasets under `datasets/`,
//! `release-manifest.json`, the public key `minisign.pub`, `SHA256SUMS` and its signature)
//! and, under `archives`, the dated archive files the publication's datasets were written to
//! (with each archive's `datapackage.json`), each with its sha256 and size; beside it
//! `manifest.json.minisig`, and the same list for `sha256sum -c` in `SHA256SUMS` with
//! `SHA256SUMS.minisig`.
//!
//! Stage: release (reads the archives' small `datapackage.json`; builds bytes, writes
//! nothing: [`super::switch`] uploads them before the release manifest).
//!
//! The signed files are not part of the release id (a hash of the content: the same inputs
//! give the same release whatever key signs it); the development-key notice on every page
//! is (it is content). Ed25519 is deterministic: the same release and key give the same
//! signature bytes, and a night that changes nothing uploads none of these again.

use super::stored::{MANIFEST_NAME as RELEASE_MANIFEST_NAME, Manifest};
use crate::error::JobError;
use crate::publication::Publication;
use crate::signing::manifest::{
    MANIFEST_NAME, ManifestEntry, PUBLIC_KEY_NAME, SHA256SUMS_NAME, SIGNATURE_NAME, SignedManifest,
};
use crate::signing::{Signer, sign};
use crate::store::Store;
use std::collections::BTreeSet;

/// The names of the files [`signed_files`] adds at a release's root (the rendered site may
/// not have them).
pub const SIGNED_NAMES: [&str; 5] = [
    MANIFEST_NAME,
    SIGNATURE_NAME,
    PUBLIC_KEY_NAME,
    SHA256SUMS_NAME,
    "SHA256SUMS.minisig",
];

/// The files the release gains: (name at the release's root, bytes), `manifest.json` last.
pub(super) fn signed_files(
    store: &dyn Store,
    release: &Manifest,
    release_manifest: &[u8],
    publication: &Publication,
    signer: &Signer,
) -> Result<Vec<(String, Vec<u8>)>, JobError> {
    let subject = format!(
        "site release {} (datasets: publication {})",
        release.release,
        publication.id()
    );
    let mut manifest = SignedManifest::new(
        &subject,
        &release.data_date,
        &signer.key,
        signer.development,
    );
    for (path, file) in &release.files {
        manifest
            .files
            .insert(path.clone(), entry(&file.sha256, file.bytes));
    }
    // The release manifest is listed; the caller writes it, last.
    manifest.files.insert(
        RELEASE_MANIFEST_NAME.to_string(),
        bytes_entry(release_manifest),
    );
    let public = signer.key.public().file_text().into_bytes();
    manifest
        .files
        .insert(PUBLIC_KEY_NAME.to_string(), bytes_entry(&public));
    let mut out = vec![(PUBLIC_KEY_NAME.to_string(), public)];
    archives(store, publication, &mut manifest)?;
    let sums = manifest.sha256sums().into_bytes();
    let sums_signature = sign(&sums, &signer.key).into_bytes();
    for (name, bytes) in [
        (SHA256SUMS_NAME.to_string(), sums),
        (format!("{SHA256SUMS_NAME}.minisig"), sums_signature),
    ] {
        manifest.files.insert(name.clone(), bytes_entry(&bytes));
        out.push((name, bytes));
    }
    let (bytes, signature) = manifest.signed(&signer.key);
    out.push((SIGNATURE_NAME.to_string(), signature.into_bytes()));
    out.push((MANIFEST_NAME.to_string(), bytes));
    Ok(out)
}

fn entry(sha256: &str, bytes: u64) -> ManifestEntry {
    ManifestEntry {
        sha256: sha256.to_string(),
        bytes,
    }
}

fn bytes_entry(bytes: &[u8]) -> ManifestEntry {
    entry(&crate::ledger::sha256_hex(bytes), bytes.len() as u64)
}

/// The archive files of the publication's datasets (the keys its manifest names under
/// `datasets/{id}/archive/`), with each archive folder's `datapackage.json` where it has one.
fn archives(
    store: &dyn Store,
    publication: &Publication,
    manifest: &mut SignedManifest,
) -> Result<(), JobError> {
    let mut folders = BTreeSet::new();
    for file in publication.manifest.files.values() {
        if let Some(at) = file.key.find("/archive/")
            && file.key.starts_with("datasets/")
        {
            manifest
                .archives
                .insert(file.key.clone(), entry(&file.sha256, file.bytes));
            if let Some(slash) = file.key.rfind('/').filter(|s| *s > at) {
                folders.insert(file.key[..=slash].to_string());
            }
        }
    }
    // A dataset published in monthly files (cems-hourly) keeps no datapackage.json in its
    // archive folders.
    for folder in folders {
        let key = format!("{folder}datapackage.json");
        if let Some(bytes) = store.get(&key)? {
            manifest.archives.insert(key, bytes_entry(&bytes));
        }
    }
    Ok(())
}
