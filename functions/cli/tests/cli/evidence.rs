//! `envgov rebuild` and a unit's evidence bundle as a user handles them: a night rebuilt
//! into a new folder equals its archive (and a folder in use is refused); a bundle downloaded
//! from the release verifies with `envgov verify`, and one flipped byte names its file.

use super::{Dir, envgov};
use std::path::Path;
use std::process::Output;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(args: &[&str]) -> Output {
    envgov().args(args).output().unwrap()
}

/// Flips one byte of the compressed data of `name` in a zip (found by its local header:
/// the signature, then the name at offset 30, after the name and extra-field lengths).
fn flip_in_entry(zip: &mut [u8], name: &str) {
    let at = zip
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .expect("the entry's local header");
    assert_eq!(&zip[at - 30..at - 26], b"PK\x03\x04");
    let extra = u16::from_le_bytes([zip[at - 2], zip[at - 1]]) as usize;
    zip[at + name.len() + extra + 5] ^= 1;
}

#[test]
fn a_night_rebuilds_as_archived_and_a_bundle_verifies_until_a_byte_is_flipped() {
    let dir = Dir::new("evidence");
    let store = dir.0.join("store");
    let store = store.to_str().unwrap();
    let out = run(&["generate", "--store", store, "--units", "12", "--days", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["nightly", "--store", store, "--max-reject-rate", "1"]);
    assert!(out.status.success(), "{}", text(&out));

    let rebuilt = dir.0.join("rebuilt");
    let rebuilt = rebuilt.to_str().unwrap();
    let args = [
        "rebuild",
        "--store",
        store,
        "--date",
        "2026-01-31",
        "--out",
        rebuilt,
    ];
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("every file identical to the archive"));
    let again = run(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("is not empty"), "{}", text(&again));

    let live = std::fs::read_to_string(Path::new(store).join("site/current")).unwrap();
    let release = Path::new(store).join("site/releases").join(live.trim());
    let units = release.join("downloads/enterprises");
    // Each unit's month bundles: `evidence-bundle-{YYYY-MM}.zip`.
    let bundle = std::fs::read_dir(&units)
        .unwrap()
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("evidence-bundle-2026-01") && name.ends_with(".zip")
        })
        .find(|z| {
            let bytes = std::fs::read(z).unwrap();
            bytes.windows(19).any(|w| w == b"data/cems-daily.csv")
        })
        .expect("a unit with online monitoring");
    let pubkey = release.join("minisign.pub");
    let verify = |zip: &Path| {
        run(&[
            "verify",
            zip.to_str().unwrap(),
            "--pubkey",
            pubkey.to_str().unwrap(),
        ])
    };
    let out = verify(&bundle);
    assert!(out.status.success(), "{}", text(&out));

    let mut bytes = std::fs::read(&bundle).unwrap();
    flip_in_entry(&mut bytes, "data/cems-daily.csv");
    let flipped = dir.0.join("flipped.zip");
    std::fs::write(&flipped, &bytes).unwrap();
    let out = verify(&flipped);
    assert!(!out.status.success());
    assert!(text(&out).contains("data/cems-daily.csv"), "{}", text(&out));
}
