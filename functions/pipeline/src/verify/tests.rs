use super::*;
use crate::signing::minisign::{KeyId, SecretKey};

// sha256 of the contents, from `printf '…' | sha256sum`.
const A: &str = "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7"; // "a\n"
const B: &str = "0263829989b6fd954f72baaf2fc64bc2e2f01d692d4de72986ea808f6e99813f"; // "b\n"
const CSV: &str = "c15097c46e6dbfe67d8106c18b850ff4312898c146771669ae50324f910ed93c"; // "id,value\n1,2\n"
const CSV_FLIPPED: &str = "5dbeedc05ed8d939ff1470bb741c1b415006236c8038aa9c6d45c110dd9e8410"; // "id,value\n1,3\n"

fn key() -> SecretKey {
    SecretKey::from_seed(KeyId([1; 8]), [42; 32])
}

fn entry(sha256: &str, bytes: u64) -> ManifestEntry {
    ManifestEntry {
        sha256: sha256.into(),
        bytes,
    }
}

fn file(path: &str, sha256: &str, bytes: u64) -> FoundFile {
    FoundFile {
        path: path.into(),
        bytes,
        sha256: sha256.into(),
    }
}

/// A release of two files and one archive file, signed.
fn release() -> (Vec<u8>, String) {
    let mut m = SignedManifest::new("site release 2026-01-31-abc", "2026-01-31", &key(), true);
    m.files.insert("index.html".into(), entry(A, 2));
    m.files.insert("datasets/x/x.csv".into(), entry(CSV, 13));
    m.archives
        .insert("datasets/x/archive/2026-01-31/x.csv".into(), entry(CSV, 13));
    m.signed(&key())
}

fn whole() -> Vec<FoundFile> {
    vec![
        file("index.html", A, 2),
        file("datasets/x/x.csv", CSV, 13),
        file("manifest.json", B, 2),
        file("manifest.json.minisig", B, 2),
    ]
}

#[test]
fn a_fresh_release_verifies() {
    let (bytes, sig) = release();
    let out = verify(&bytes, Some(&sig), &key().public(), &Scope::Whole, &whole());
    assert_eq!(out.problems, vec![]);
    assert!(out.ok());
    assert_eq!(out.matched, vec!["datasets/x/x.csv", "index.html"]);
    assert!(out.development_key());
    assert_eq!(out.signature.unwrap().key, KeyId([1; 8]));
}

#[test]
fn one_flipped_byte_names_the_file_and_both_hashes() {
    let (bytes, sig) = release();
    let mut found = whole();
    found[1] = file("datasets/x/x.csv", CSV_FLIPPED, 13);
    let out = verify(&bytes, Some(&sig), &key().public(), &Scope::Whole, &found);
    assert!(!out.ok());
    assert_eq!(
        out.problems,
        vec![Problem::Changed {
            path: "datasets/x/x.csv".into(),
            expected_sha256: CSV.into(),
            actual_sha256: CSV_FLIPPED.into(),
            expected_bytes: 13,
            actual_bytes: 13,
        }]
    );
    assert_eq!(
        out.problems[0].to_string(),
        format!(
            "datasets/x/x.csv: changed: its sha256 is {CSV_FLIPPED} (13 bytes), the manifest says {CSV} (13 bytes)"
        )
    );
}

#[test]
fn a_removed_and_an_added_file_are_named() {
    let (bytes, sig) = release();
    let mut found = whole();
    found.remove(0);
    found.push(file("datasets/x/extra.csv", B, 2));
    let out = verify(&bytes, Some(&sig), &key().public(), &Scope::Whole, &found);
    assert_eq!(
        out.problems,
        vec![
            Problem::Missing("index.html".into()),
            Problem::Extra("datasets/x/extra.csv".into())
        ]
    );
    assert_eq!(
        out.problems[0].to_string(),
        "index.html: missing: the manifest lists it, it is not in what was checked"
    );
    assert_eq!(
        out.problems[1].to_string(),
        "datasets/x/extra.csv: extra: not in the manifest (a file that was not published with it)"
    );
}

#[test]
fn an_edited_manifest_fails_its_signature() {
    let (bytes, sig) = release();
    // Someone rewrites the listed hash to the one of their altered file.
    let edited = String::from_utf8(bytes)
        .unwrap()
        .replace(CSV, CSV_FLIPPED)
        .into_bytes();
    let mut found = whole();
    found[1] = file("datasets/x/x.csv", CSV_FLIPPED, 13);
    let out = verify(&edited, Some(&sig), &key().public(), &Scope::Whole, &found);
    assert!(!out.ok());
    assert_eq!(
        out.problems,
        vec![Problem::Signature(SignatureError::Mismatch {
            key: KeyId([1; 8])
        })]
    );
    assert!(
        out.problems[0]
            .to_string()
            .contains("the manifest was changed after it was signed")
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let other = SecretKey::from_seed(KeyId([2; 8]), [7; 32]);
    let (bytes, _) = release();
    let sig = crate::signing::sign(&bytes, &other);
    let out = verify(&bytes, Some(&sig), &key().public(), &Scope::Whole, &whole());
    assert!(!out.ok());
    assert_eq!(
        out.problems[0].to_string(),
        "signature: the manifest is signed by another key (key id 0202020202020202), not by the expected key 0101010101010101"
    );
    let none = verify(&bytes, None, &key().public(), &Scope::Whole, &whole());
    assert_eq!(none.problems, vec![Problem::NoSignature]);
    assert!(!none.ok());
}

#[test]
fn a_dataset_folder_an_archive_and_a_single_file_verify_apart() {
    let (bytes, sig) = release();
    let pk = key().public();
    // A folder of the release, by its path in the manifest: the archive is not expected.
    let out = verify(
        &bytes,
        Some(&sig),
        &pk,
        &Scope::Under("datasets/x/".into()),
        &[file("datasets/x/x.csv", CSV, 13)],
    );
    assert!(out.ok(), "{:?}", out.problems);
    // The same folder downloaded alone, found by its name.
    let named = Scope::Named {
        name: "x".into(),
        folder: true,
    };
    let out = verify(&bytes, Some(&sig), &pk, &named, &[file("x.csv", CSV, 13)]);
    assert!(out.ok(), "{:?}", out.problems);
    assert_eq!(out.scope, "datasets/x/");
    // The dated archive, downloaded alone.
    let archive = Scope::Named {
        name: "2026-01-31".into(),
        folder: true,
    };
    let out = verify(&bytes, Some(&sig), &pk, &archive, &[file("x.csv", CSV, 13)]);
    assert!(out.ok(), "{:?}", out.problems);
    assert_eq!(out.scope, "datasets/x/archive/2026-01-31/");
    // One file: genuine if it is one the manifest lists under that name.
    let single = Scope::Named {
        name: "x.csv".into(),
        folder: false,
    };
    let out = verify(&bytes, Some(&sig), &pk, &single, &[file("x.csv", CSV, 13)]);
    assert!(out.ok(), "{:?}", out.problems);
    let out = verify(
        &bytes,
        Some(&sig),
        &pk,
        &single,
        &[file("x.csv", CSV_FLIPPED, 13)],
    );
    // Compared with both files of that name.
    assert_eq!(out.problems.len(), 2);
    assert!(
        matches!(&out.problems[0], Problem::Changed { path, .. } if path == "datasets/x/archive/2026-01-31/x.csv")
    );
    let unknown = Scope::Named {
        name: "y.csv".into(),
        folder: false,
    };
    let out = verify(&bytes, Some(&sig), &pk, &unknown, &[file("y.csv", CSV, 13)]);
    assert_eq!(out.problems, vec![Problem::NotInManifest("y.csv".into())]);
}

#[test]
fn an_unreadable_manifest_or_an_unsafe_path_is_reported() {
    let k = key();
    let junk = b"not json".to_vec();
    let sig = crate::signing::sign(&junk, &k);
    let out = verify(&junk, Some(&sig), &k.public(), &Scope::Whole, &[]);
    assert!(matches!(&out.problems[..], [Problem::Unreadable(_)]));
    assert!(!out.ok());

    let mut m = SignedManifest::new("bundle", "2026-01-31", &k, false);
    m.files.insert("../outside.txt".into(), entry(A, 2));
    m.files.insert("ok.txt".into(), entry(A, 2));
    let (bytes, sig) = m.signed(&k);
    let out = verify(
        &bytes,
        Some(&sig),
        &k.public(),
        &Scope::Whole,
        &[file("ok.txt", A, 2)],
    );
    assert_eq!(
        out.problems,
        vec![Problem::UnsafePath("../outside.txt".into())]
    );
}
