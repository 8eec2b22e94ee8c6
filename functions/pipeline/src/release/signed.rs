//! The night's signed manifest: at the root of each release, `manifest.json` lists every
//! file of the release (the rendered site, the publication's datasets under `datasets/`,
//! `release-manifest.json`, the public key `minisign.pub`, `SHA256SUMS` and its signature)
//! and, under `archives`, the dated archive files the publication's datasets were written to
//! (with each archive's `datapackage.json`), each with its sha256 and size; beside it
//! `manifest.json.minisig`, and the same list for `sha256sum -c` in `SHA256SUMS` with
//! `SHA256SUMS.minisig`.
//!
//! Every night also signs its dataset publication, whatever the site step does (a
//! `--no-site` night too): `datasets/publications/{id}/manifest.json` (every file of the
//! publication by its path in it, the path it has under a release's `datasets/`, and the
//! same `archives`) and `manifest.json.minisig` ([`sign_publication`]), written only when
//! their bytes change.
//!
//! Stage: release (reads the archives' small `datapackage.json`; builds bytes, writes
//! nothing: [`super::switch`] uploads them before the release manifest), and publish for
//! [`sign_publication`], which `jobs` calls once the publication is complete.
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
use envgov_dataset::layout;
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
    archive_entries(store, publication, &mut manifest)?;
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

/// Where a publication's signed manifest and its signature are stored.
pub fn publication_keys(publication_id: &str) -> Result<(String, String), JobError> {
    let prefix = layout::publication_prefix(publication_id)
        .map_err(|e| JobError::Definition(e.to_string()))?;
    Ok((
        format!("{prefix}{MANIFEST_NAME}"),
        format!("{prefix}{SIGNATURE_NAME}"),
    ))
}

/// The signed manifest of a publication (not yet signed): its files and archives.
pub fn publication_manifest(
    store: &dyn Store,
    publication: &Publication,
    signer: &Signer,
) -> Result<SignedManifest, JobError> {
    let subject = format!("dataset publication {}", publication.id());
    let mut manifest = SignedManifest::new(
        &subject,
        &publication.manifest.data_date,
        &signer.key,
        signer.development,
    );
    for (path, file) in &publication.manifest.files {
        manifest
            .files
            .insert(path.clone(), entry(&file.sha256, file.bytes));
    }
    archive_entries(store, publication, &mut manifest)?;
    Ok(manifest)
}

/// Signs a publication and stores `manifest.json` and its signature in its folder where they
/// differ from what is stored. Returns how many of the two were written.
pub fn sign_publication(
    store: &dyn Store,
    publication: &Publication,
    signer: &Signer,
) -> Result<usize, JobError> {
    let (bytes, signature) = publication_manifest(store, publication, signer)?.signed(&signer.key);
    let (manifest_key, signature_key) = publication_keys(publication.id())?;
    let mut written = 0;
    // The signature first: a manifest beside a stale signature would not verify.
    for (key, content) in [
        (signature_key, signature.into_bytes()),
        (manifest_key, bytes),
    ] {
        if store.get(&key)?.as_deref() != Some(content.as_slice()) {
            store.put(&key, &content)?;
            written += 1;
        }
    }
    tracing::info!(publication = %publication.id(), key_id = %signer.key.id(), development_key = signer.development, written, "publication manifest signed");
    Ok(written)
}

/// Adds to `manifest`'s archives the archive files of the publication's datasets (the keys
/// its manifest names under `datasets/{id}/archive/`), with each archive folder's
/// `datapackage.json` where it has one.
pub fn archive_entries(
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
    // A dataset published in monthly files keeps no datapackage.json in some archive folders.
    for folder in folders {
        let key = format!("{folder}datapackage.json");
        if let Some(bytes) = store.get(&key)? {
            let sha = crate::ledger::sha256_hex(&bytes);
            manifest
                .archives
                .insert(key, entry(&sha, bytes.len() as u64));
        }
    }
    Ok(())
}
