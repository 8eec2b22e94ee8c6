//! `envgov verify` on what a night really publishes (a 12-unit, 3-day sample): a fresh
//! release, a part of it, a dataset folder, a dated archive and a single file downloaded with
//! the manifest, a zip with the manifest at its root; and each tampering refused with its
//! message. The stock `minisign -V` and `sha256sum -c` accept the same manifest.

use super::{Dir, envgov};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// envgov's production public key, and its key id as minisign prints it.
const PRODUCTION_PUB: &str = include_str!("../../../../keys/envgov.pub");
const PRODUCTION_ID: &str = "82B879A5121029BC";

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

fn failed(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("NOT VERIFIED"), "{text}");
    text
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A store with one night published: (the temp dir, the store, the live release's folder).
fn published(name: &str) -> (Dir, PathBuf, PathBuf) {
    let dir = Dir::new(name);
    let store = dir.0.join("store");
    let s = store.to_str().unwrap();
    ok(&envgov()
        .args(["generate", "--store", s, "--units", "12", "--days", "3"])
        .output()
        .unwrap());
    ok(&envgov()
        .args(["nightly", "--store", s, "--max-reject-rate", "1"])
        .env_remove("ENVGOV_SIGNING_KEY")
        .env_remove("ENVGOV_SIGNING_KEY_FILE")
        .output()
        .unwrap());
    let live = std::fs::read_to_string(store.join("site/current")).unwrap();
    let release = store.join("site/releases").join(live.trim());
    (dir, store, release)
}

fn verify(args: &[&str]) -> Output {
    envgov().arg("verify").args(args).output().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_production_key_is_the_one_the_verify_pages_show() {
    let line = PRODUCTION_PUB.lines().nth(1).unwrap().trim();
    assert!(PRODUCTION_PUB.contains(PRODUCTION_ID));
    for lang in ["zh", "en"] {
        let page = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../content/verify.{lang}.md")),
        )
        .unwrap();
        assert!(page.contains(line), "verify.{lang}.md lacks the key");
        assert!(
            page.contains(PRODUCTION_ID),
            "verify.{lang}.md lacks the key id"
        );
    }
}

#[test]
fn a_fresh_release_and_its_parts_verify_and_the_development_key_is_said() {
    let (dir, store, release) = published("verify-fresh");
    let pubkey = release.join("minisign.pub");
    let key = s(&pubkey);
    let out = ok(&verify(&[s(&release), "--pubkey", key]));
    assert!(out.contains("OK: the signature holds"), "{out}");
    assert!(out.contains("development key"), "{out}");

    // The key is the store's, outside the release, and every page says so.
    let dev = std::fs::read_to_string(store.join("private/signing/development.key")).unwrap();
    assert!(dev.starts_with("untrusted comment: "));
    let mut pages = 0;
    let mut stack = vec![release.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                pages += 1;
                let html = std::fs::read_to_string(&p).unwrap();
                assert!(
                    html.contains("signing-banner"),
                    "{} has no notice",
                    p.display()
                );
            } else {
                assert_ne!(
                    std::fs::read(&p).unwrap(),
                    dev.as_bytes(),
                    "{}",
                    p.display()
                );
            }
        }
    }
    assert!(pages > 50, "{pages} pages");

    // Without --pubkey the production key is expected: the development key is named.
    let out = failed(&verify(&[s(&release)]));
    let dev_id = std::fs::read_to_string(&pubkey).unwrap();
    let dev_id = dev_id.lines().next().unwrap().rsplit(' ').next().unwrap();
    assert!(
        out.contains(&format!(
            "FAIL signature: the manifest is signed by another key (key id {dev_id}), not by the expected key {PRODUCTION_ID}"
        )),
        "{out}"
    );

    // A part of the release: found through the manifest above it.
    let dataset = release.join("datasets/enterprises");
    ok(&verify(&[s(&dataset), "--pubkey", key]));
    ok(&verify(&[
        s(&dataset.join("enterprises.csv")),
        "--pubkey",
        key,
    ]));

    // Downloaded apart: a dataset folder, a dated archive, one file, with --manifest.
    let download = dir.0.join("download");
    copy_dir(&dataset, &download.join("enterprises"));
    let archive = store.join("datasets/enterprises/archive/2026-01-31");
    copy_dir(&archive, &download.join("2026-01-31"));
    let manifest = download.join("manifest.json");
    std::fs::copy(release.join("manifest.json"), &manifest).unwrap();
    std::fs::copy(
        release.join("manifest.json.minisig"),
        download.join("manifest.json.minisig"),
    )
    .unwrap();
    for part in ["enterprises", "2026-01-31", "enterprises/enterprises.csv"] {
        let out = ok(&verify(&[
            s(&download.join(part)),
            "--manifest",
            s(&manifest),
            "--pubkey",
            key,
        ]));
        assert!(out.contains("OK"), "{part}: {out}");
    }
    let out = ok(&verify(&[
        s(&download.join("2026-01-31")),
        "--manifest",
        s(&manifest),
        "--pubkey",
        key,
    ]));
    assert!(
        out.contains("checked: datasets/enterprises/archive/2026-01-31/"),
        "{out}"
    );
}

#[test]
fn each_tampering_is_refused_with_its_reason() {
    let (dir, _store, release) = published("verify-tamper");
    let pubkey = dir.0.join("dev.pub");
    std::fs::copy(release.join("minisign.pub"), &pubkey).unwrap();
    let key = s(&pubkey);
    let fresh = |name: &str| {
        let copy = dir.0.join(name);
        copy_dir(&release, &copy);
        copy
    };

    // One flipped byte: the file, the hash it should have and the one it has.
    let copy = fresh("flipped");
    let csv = copy.join("datasets/enterprises/enterprises.csv");
    let mut bytes = std::fs::read(&csv).unwrap();
    let expected = sha256(&bytes);
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&csv, &bytes).unwrap();
    let out = failed(&verify(&[s(&copy), "--pubkey", key]));
    assert!(
        out.contains(&format!(
            "FAIL datasets/enterprises/enterprises.csv: changed: its sha256 is {} ({} bytes), the manifest says {expected} ({} bytes)",
            sha256(&bytes),
            bytes.len(),
            bytes.len()
        )),
        "{out}"
    );

    // A removed file and an added one.
    let copy = fresh("removed");
    std::fs::remove_file(copy.join("robots.txt")).unwrap();
    std::fs::write(copy.join("datasets/enterprises/extra.csv"), b"a,b\n").unwrap();
    let out = failed(&verify(&[s(&copy), "--pubkey", key]));
    assert!(
        out.contains(
            "FAIL robots.txt: missing: the manifest lists it, it is not in what was checked"
        ),
        "{out}"
    );
    assert!(
        out.contains("FAIL datasets/enterprises/extra.csv: extra: not in the manifest"),
        "{out}"
    );

    // An edited manifest: a listed hash rewritten to match an altered file.
    let copy = fresh("edited");
    let manifest = copy.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let robots = std::fs::read(copy.join("robots.txt")).unwrap();
    let altered = [robots.as_slice(), b"Disallow: /\n"].concat();
    std::fs::write(copy.join("robots.txt"), &altered).unwrap();
    let edited = text.replace(&sha256(&robots), &sha256(&altered)).replace(
        &format!("\"bytes\": {}\n", robots.len()),
        &format!("\"bytes\": {}\n", altered.len()),
    );
    assert_ne!(edited, text);
    std::fs::write(&manifest, edited).unwrap();
    let out = failed(&verify(&[s(&copy), "--pubkey", key]));
    assert!(
        out.contains("the signature does not match the manifest")
            && out.contains("the manifest was changed after it was signed"),
        "{out}"
    );

    // A signature by another key: the release re-signed with a configured key.
    let keys = dir.0.join("keys");
    ok(&envgov()
        .args(["keygen", "--out", s(&keys)])
        .output()
        .unwrap());
    let other = std::fs::read_to_string(keys.join("envgov.pub")).unwrap();
    let other_id = other.lines().next().unwrap().rsplit(' ').next().unwrap();
    let store = dir.0.join("store");
    ok(&envgov()
        .args(["site", "--store", s(&store)])
        .env("ENVGOV_SIGNING_KEY_FILE", keys.join("envgov.key"))
        .output()
        .unwrap());
    let live = std::fs::read_to_string(store.join("site/current")).unwrap();
    let signed = store.join("site/releases").join(live.trim());
    assert_ne!(
        signed, release,
        "without the notice the pages differ: a new release"
    );
    let out = failed(&verify(&[s(&signed), "--pubkey", key]));
    assert!(
        out.contains(&format!(
            "FAIL signature: the manifest is signed by another key (key id {other_id}), not by the expected key"
        )),
        "{out}"
    );
    // With its own key it verifies, and no page carries the notice.
    let out = ok(&verify(&[
        s(&signed),
        "--pubkey",
        s(&keys.join("envgov.pub")),
    ]));
    assert!(!out.contains("development key"), "{out}");
    let home = std::fs::read_to_string(signed.join("en/index.html")).unwrap();
    assert!(!home.contains("signing-banner"));
    // No signature at all.
    let copy = fresh("unsigned");
    std::fs::remove_file(copy.join("manifest.json.minisig")).unwrap();
    let out = failed(&verify(&[s(&copy), "--pubkey", key]));
    assert!(
        out.contains("FAIL manifest.json.minisig is missing"),
        "{out}"
    );
}

/// A zip of the release with `manifest.json` at its root, as an evidence bundle has it;
/// `flip` changes the last byte of that entry.
fn zip_release(release: &Path, out: &Path, flip: Option<&str>) {
    let file = std::fs::File::create(out).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    let mut stack = vec![(release.to_path_buf(), String::new())];
    while let Some((d, at)) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let name = format!("{at}{}", e.file_name().to_string_lossy());
            if e.path().is_dir() {
                stack.push((e.path(), format!("{name}/")));
            } else {
                let mut bytes = std::fs::read(e.path()).unwrap();
                if flip == Some(name.as_str()) {
                    let last = bytes.len() - 1;
                    bytes[last] ^= 1;
                }
                zip.start_file(name, options).unwrap();
                zip.write_all(&bytes).unwrap();
            }
        }
    }
    zip.finish().unwrap();
}

#[test]
fn a_zip_with_its_manifest_at_the_root_verifies_and_a_flipped_byte_is_named() {
    let (dir, _store, release) = published("verify-zip");
    let key = release.join("minisign.pub");
    let good = dir.0.join("bundle.zip");
    zip_release(&release, &good, None);
    let out = ok(&verify(&[s(&good), "--pubkey", s(&key)]));
    assert!(out.contains("OK"), "{out}");
    let bad = dir.0.join("bad.zip");
    zip_release(
        &release,
        &bad,
        Some("datasets/enterprises/enterprises.json"),
    );
    let out = failed(&verify(&[s(&bad), "--pubkey", s(&key)]));
    assert!(
        out.contains("FAIL datasets/enterprises/enterprises.json: changed: its sha256 is"),
        "{out}"
    );
    // The evidence bundles the release links verify on their own; one flipped byte in a
    // bundle's entry is named.
    // One a month: `downloads/enterprises/{uscc}/evidence-bundle-{YYYY-MM}.zip`.
    let bundles: Vec<PathBuf> = std::fs::read_dir(release.join("downloads/enterprises"))
        .unwrap()
        .flatten()
        .flat_map(|e| std::fs::read_dir(e.path()).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("evidence-bundle-") && name.ends_with(".zip")
        })
        .collect();
    assert!(!bundles.is_empty(), "the release links evidence bundles");
    for bundle in bundles.iter().take(3) {
        let out = ok(&verify(&[s(bundle), "--pubkey", s(&key)]));
        assert!(out.contains("OK"), "{out}");
    }
    let tampered = dir.0.join("tampered-bundle.zip");
    let entry = rezip_flipped(&bundles[0], &tampered);
    let out = failed(&verify(&[s(&tampered), "--pubkey", s(&key)]));
    assert!(
        out.contains(&format!("FAIL {entry}: changed: its sha256 is")),
        "{out}"
    );
}

/// Copies the zip `from` to `to` with the last byte of its first data entry (not the
/// manifest or its signature) flipped; returns that entry's name.
fn rezip_flipped(from: &Path, to: &Path) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let mut flipped = None;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if flipped.is_none() && !name.starts_with("manifest.json") && !bytes.is_empty() {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            flipped = Some(name.clone());
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
    flipped.expect("a data entry")
}

/// The stock `minisign` (Debian's package): `None` after saying so when it is missing, a
/// failure under `CI=true`.
fn minisign() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("minisign"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg =
            "minisign is not installed (Debian package `minisign`; ./scripts/test installs it)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("\n*** SKIPPED ***\n*** {msg} ***\n");
    }
    found
}

#[test]
fn the_stock_minisign_and_sha256sum_accept_the_release() {
    let Some(minisign) = minisign() else { return };
    let (_dir, _store, release) = published("verify-minisign");
    for file in ["manifest.json", "SHA256SUMS"] {
        let out = ok(&Command::new(&minisign)
            .current_dir(&release)
            .args(["-Vm", file, "-p", "minisign.pub"])
            .output()
            .unwrap());
        assert!(
            out.contains("Signature and comment signature verified"),
            "{out}"
        );
    }
    // Every file of the release folder, by its listed path (archives are outside it).
    let out = ok(&Command::new("sha256sum")
        .current_dir(&release)
        .args(["-c", "--ignore-missing", "SHA256SUMS"])
        .output()
        .unwrap());
    assert!(
        out.contains("datasets/enterprises/enterprises.csv: OK"),
        "{out}"
    );
    // And the production key refuses it (another key).
    let refused = Command::new(&minisign)
        .current_dir(&release)
        .args(["-Vm", "manifest.json", "-P"])
        .arg(PRODUCTION_PUB.lines().nth(1).unwrap())
        .output()
        .unwrap();
    assert!(!refused.status.success());
}
