//! Site releases end to end: the pointer switch and its rule, the manifest, the history,
//! pruning, rollback, crash injection, the conditional writes they rest on, and the
//! CloudFront KeyValueStore mirror.
//!
//! Servers (started by `scripts/test`, found through the variables it exports; without them
//! a test says so loudly and passes, except under `CI=true`, where it fails):
//! - Garage (`scripts/s3-server`: `AWS_ENDPOINT_URL`, ..., `ENVGOV_TEST_BUCKET`), a real
//!   S3-compatible store, for the crash-injection and lifecycle runs over S3. Garage ignores
//!   `If-None-Match` / `If-Match`, so nothing here tests conditional writes on it.
//! - moto server (`ENVGOV_MOTO_ENDPOINT`), which enforces conditional writes atomically as
//!   AWS S3 does and refuses uploads without a checksum into an Object Lock bucket: the
//!   conditional-write and checksum tests.
//!
//! The KeyValueStore test uses a small HTTP endpoint on loopback standing in for the
//! CloudFront KeyValueStore API (there is no AWS here): the one mock of these tests.

use envgov_curated::Curated;
use envgov_dataset::report::RunReport;
use envgov_e2e::TempDir;
use envgov_pipeline::error::JobError;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::ledger::sha256_hex;
use envgov_pipeline::release::kvs::{KvsMirror, KvsOptions};
use envgov_pipeline::release::signed::SIGNED_NAMES;
use envgov_pipeline::release::{
    self, ERROR_PAGE_KEY, HISTORY_KEY, MANIFEST_NAME, ReleaseError, ReleaseOptions, SwitchKind,
};
use envgov_pipeline::signing::PublicKey;
use envgov_pipeline::store::s3::{S3Options, S3Store, StaticCredentials};
use envgov_pipeline::store::{Conditional, LocalStore, MemoryStore, Store, StoreError, Version};
use envgov_pipeline::verify::{FoundFile, Scope, verify};
use envgov_sample_data::{SampleConfig, generate};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

const D1: &str = "2026-01-30";
const D2: &str = "2026-01-31";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Skips loudly, or fails under `CI=true`.
fn missing(what: &str) {
    envgov_e2e::skip_or_fail(what);
}

/// A fresh prefix of the Garage test bucket, or `None` (skipped).
fn garage(test: &str) -> Option<S3Store> {
    let server = envgov_e2e::S3TestServer::from_env("the release tests on Garage")?;
    let location = server.location(&format!("release-{test}"));
    Some(S3Store::open(&location).expect("open the Garage store"))
}

/// The moto server's endpoint, or `None` (skipped).
fn moto() -> Option<String> {
    let endpoint = var("ENVGOV_MOTO_ENDPOINT");
    if endpoint.is_none() {
        missing("ENVGOV_MOTO_ENDPOINT is not set (moto server)");
    }
    endpoint
}

fn moto_store(endpoint: &str, bucket: &str) -> S3Store {
    S3Store::open_with(
        &format!("s3://{bucket}"),
        S3Options {
            endpoint_url: Some(endpoint.to_string()),
            force_path_style: Some(true),
            credentials: Some(StaticCredentials {
                access_key_id: "testing".into(),
                secret_access_key: "testing".into(),
            }),
            ..S3Options::default()
        },
    )
    .expect("open the moto store")
}

/// One HTTP/1.1 request on a fresh connection; returns the status, the head and the body.
fn http(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let host = endpoint
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/');
    let mut conn = TcpStream::connect(host).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).unwrap();
    let split = find(&response, b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, response[split..].to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A bucket on moto, unique to this test process. moto checks no signatures, so plain
/// HTTP requests create it.
fn moto_bucket(endpoint: &str, name: &str, object_lock: bool) -> String {
    let bucket = format!("{name}-{}", std::process::id());
    let headers: &[(&str, &str)] = if object_lock {
        &[("x-amz-bucket-object-lock-enabled", "true")]
    } else {
        &[]
    };
    let (status, head, _) = http(endpoint, "PUT", &format!("/{bucket}"), headers, b"");
    assert_eq!(status, 200, "{head}");
    if object_lock {
        // A default retention, as the evidence bucket has.
        let config = b"<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
            <ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>\
            <Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>";
        let (status, head, body) = http(
            endpoint,
            "PUT",
            &format!("/{bucket}?object-lock"),
            &[],
            config,
        );
        assert_eq!(status, 200, "{head}{}", String::from_utf8_lossy(&body));
    }
    bucket
}

// ---------------------------------------------------------------------------------------
// Conditional writes on moto.

/// `threads` stores (one client each), released together by a barrier, all creating `key`.
fn race_put_if_absent(endpoint: &str, bucket: &str, key: &str, threads: usize) -> Vec<Conditional> {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (endpoint, bucket, key, barrier) = (
                endpoint.to_string(),
                bucket.to_string(),
                key.to_string(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                let store = moto_store(&endpoint, &bucket);
                barrier.wait();
                store
                    .put_if_absent(&key, format!("writer {i}").as_bytes())
                    .unwrap()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn moto_put_if_absent_has_exactly_one_winner_among_racing_threads() {
    let Some(endpoint) = moto() else { return };
    let bucket = moto_bucket(&endpoint, "race", false);
    let outcomes = race_put_if_absent(&endpoint, &bucket, "site/current", 24);
    let winners: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i] == Conditional::Written)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Conditional::Conflict)
            .count(),
        23
    );
    // The stored object is the winner's.
    let store = moto_store(&endpoint, &bucket);
    assert_eq!(
        store.get("site/current").unwrap().unwrap(),
        format!("writer {}", winners[0]).into_bytes()
    );
}

#[test]
fn moto_stale_if_match_loses_and_changes_nothing() {
    let Some(endpoint) = moto() else { return };
    let bucket = moto_bucket(&endpoint, "cas", false);
    let store = moto_store(&endpoint, &bucket);
    assert_eq!(store.get_versioned("site/current").unwrap(), None);
    assert_eq!(
        store.put_if_absent("site/current", b"a\n").unwrap(),
        Conditional::Written
    );
    assert_eq!(
        store.put_if_absent("site/current", b"x\n").unwrap(),
        Conditional::Conflict
    );
    let (bytes, v1) = store.get_versioned("site/current").unwrap().unwrap();
    assert_eq!(bytes, b"a\n");
    // S3's ETag of a single PUT is the MD5 of the content, quoted.
    assert_eq!(v1.as_str(), format!("\"{}\"", md5_hex(b"a\n")));
    assert_eq!(
        store.put_if_match("site/current", b"b\n", &v1).unwrap(),
        Conditional::Written
    );
    // v1 is stale now.
    assert_eq!(
        store.put_if_match("site/current", b"c\n", &v1).unwrap(),
        Conditional::Conflict
    );
    assert_eq!(store.get("site/current").unwrap().unwrap(), b"b\n");
    // A made-up version and a missing key lose too.
    let bogus = Version::new("\"00000000000000000000000000000000\"");
    assert_eq!(
        store.put_if_match("site/current", b"d\n", &bogus).unwrap(),
        Conditional::Conflict
    );
    assert_eq!(
        store.put_if_match("site/none", b"d\n", &bogus).unwrap(),
        Conditional::Conflict
    );
    assert_eq!(store.get("site/none").unwrap(), None);
    assert_eq!(store.get("site/current").unwrap().unwrap(), b"b\n");
}

/// MD5 (RFC 1321), only to compute the ETag S3 gives a single PUT independently of the store.
fn md5_hex(input: &[u8]) -> String {
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32)
        .collect();
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i {
                0..=15 => ((b & c) | (!b & d), i),
                16..=31 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                32..=47 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    [a0, b0, c0, d0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn md5_matches_rfc_1321_vectors() {
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        md5_hex(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        ),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
}

#[test]
fn moto_object_lock_bucket_accepts_the_store_s_checksummed_uploads_only() {
    let Some(endpoint) = moto() else { return };
    let bucket = moto_bucket(&endpoint, "evidence", true);
    // Without Content-MD5 or a checksum, the Object Lock bucket refuses the upload...
    let (status, head, body) = http(
        &endpoint,
        "PUT",
        &format!("/{bucket}/raw/cems/2026-01-31/plain.txt"),
        &[],
        b"no checksum",
    );
    assert_eq!(status, 400, "{head}{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("Content-MD5"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // ... and accepts the store's, which carry x-amz-checksum-sha256.
    let store = moto_store(&endpoint, &bucket);
    let bytes = "监测数据 2026-01-31\n".as_bytes();
    store.put("raw/cems/2026-01-31/file.txt", bytes).unwrap();
    store
        .put_with_hash("raw/cems/2026-01-31/hashed.txt", bytes, &sha256_hex(bytes))
        .unwrap();
    assert_eq!(
        store.get("raw/cems/2026-01-31/file.txt").unwrap().unwrap(),
        bytes
    );
    assert_eq!(
        store.stored_hash("raw/cems/2026-01-31/hashed.txt").unwrap(),
        Some(sha256_hex(bytes))
    );
    // The server recorded the checksum the store sent (HEAD with checksum mode; moto wants
    // an Authorization header but checks no signature). moto does not verify the value
    // against the body; AWS S3 does.
    let (status, head, _) = http(
        &endpoint,
        "HEAD",
        &format!("/{bucket}/raw/cems/2026-01-31/file.txt"),
        &[
            ("x-amz-checksum-mode", "ENABLED"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ],
        b"",
    );
    assert_eq!(status, 200, "{head}");
    let expected = b64(&hex_bytes(&sha256_hex(bytes)));
    assert!(
        head.to_ascii_lowercase().contains(&format!(
            "x-amz-checksum-sha256: {}",
            expected.to_ascii_lowercase()
        )),
        "{head}"
    );
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    // Independent of the store's encoder: bit by bit.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".as_bytes();
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    let mut out: String = bits
        .chunks(6)
        .map(|c| {
            let v = (0..6).fold(0usize, |v, i| (v << 1) | *c.get(i).unwrap_or(&0) as usize);
            alphabet[v] as char
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Release scenarios: a small sample, nights of two dates.

fn curated() -> Curated {
    Curated::load().unwrap()
}

fn sample(store: &dyn Store) {
    let config = SampleConfig {
        units: 12,
        days: 2,
        ..SampleConfig::default()
    };
    generate(&config, &mut |key, bytes| store.put(&key, &bytes).unwrap());
}

/// The datasets of one night (the site is published separately); returns the id of the
/// publication it wrote.
fn night(store: &dyn Store, curated: &Curated, date: &str) -> String {
    let opts = NightlyOptions {
        date: Some(date.parse().unwrap()),
        max_reject_rate: 1.0,
        render_site: false,
        ..NightlyOptions::default()
    };
    let report = jobs::nightly(store, curated, &opts).expect("nightly");
    report.publication.expect("a publication")
}

fn keep(n: usize) -> ReleaseOptions {
    ReleaseOptions {
        releases_to_keep: Some(n),
        ..envgov_e2e::same_signing_key()
    }
}

fn live(store: &dyn Store) -> Option<String> {
    store
        .get("site/current")
        .unwrap()
        .map(|b| String::from_utf8(b).unwrap().trim().to_string())
}

/// Checks a release independently of `release::verify`: every file of its manifest is
/// stored with the listed sha256, and the manifest lists every stored object of it.
fn assert_complete(store: &dyn Store, id: &str) {
    let prefix = format!("site/releases/{id}/");
    let manifest: serde_json::Value = serde_json::from_slice(
        &store
            .get(&format!("{prefix}{MANIFEST_NAME}"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["release"], id);
    let files = manifest["files"].as_object().unwrap();
    assert!(files.contains_key("index.html") && files.contains_key("404.html"));
    for (path, entry) in files {
        let bytes = store
            .get(&format!("{prefix}{path}"))
            .unwrap()
            .unwrap_or_else(|| panic!("{id}: {path} missing"));
        assert_eq!(entry["sha256"], sha256_hex(&bytes), "{id}: {path}");
        assert_eq!(entry["bytes"], bytes.len() as u64, "{id}: {path}");
    }
    let mut stored: Vec<String> = store
        .list(&prefix)
        .unwrap()
        .into_iter()
        .map(|k| k[prefix.len()..].to_string())
        .filter(|p| p != MANIFEST_NAME && !SIGNED_NAMES.contains(&p.as_str()))
        .collect();
    stored.sort();
    let listed: Vec<String> = files.keys().cloned().collect();
    assert_eq!(stored, listed, "{id}");
    // Beside them, the signed manifest of every stored file (its own key's signature), in
    // every release published since releases are signed (not in the synthetic ones).
    if store
        .get(&format!("{prefix}manifest.json"))
        .unwrap()
        .is_none()
    {
        return;
    }
    let found: Vec<FoundFile> = store
        .list(&prefix)
        .unwrap()
        .into_iter()
        .map(|k| {
            let bytes = store.get(&k).unwrap().unwrap();
            FoundFile {
                path: k[prefix.len()..].to_string(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            }
        })
        .collect();
    let get = |name: &str| store.get(&format!("{prefix}{name}")).unwrap().unwrap();
    let key = PublicKey::parse(&String::from_utf8(get("minisign.pub")).unwrap()).unwrap();
    let signature = String::from_utf8(get("manifest.json.minisig")).unwrap();
    let outcome = verify(
        &get("manifest.json"),
        Some(&signature),
        &key,
        &Scope::Whole,
        &found,
    );
    assert!(outcome.ok(), "{id}: {:?}", outcome.problems);
    // Every stored file but manifest.json and its signature is listed.
    assert_eq!(outcome.matched.len(), found.len() - 2, "{id}");
}

fn history(store: &dyn Store) -> Vec<(String, String)> {
    let h: serde_json::Value =
        serde_json::from_slice(&store.get(HISTORY_KEY).unwrap().unwrap()).unwrap();
    h["switches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["release"].as_str().unwrap().to_string(),
                s["by"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Publish, the rule against going backwards, same-date replacement, pruning, rollback.
fn lifecycle(store: &dyn Store) {
    let curated = curated();
    sample(store);
    night(store, &curated, D1);
    let r1 = release::publish(store, &curated, &keep(2)).unwrap();
    assert!(r1.live && r1.id.starts_with(&format!("{D1}-")), "{r1:?}");
    assert_eq!(live(store).as_deref(), Some(r1.id.as_str()));
    assert_eq!(
        r1.uploaded,
        r1.files + 1 + SIGNED_NAMES.len(),
        "every file, the manifest and the signed files"
    );
    assert_complete(store, &r1.id);
    // The error page is the live release's.
    assert_eq!(
        store.get(ERROR_PAGE_KEY).unwrap(),
        store
            .get(&format!("site/releases/{}/404.html", r1.id))
            .unwrap()
    );
    assert_eq!(history(store), vec![(r1.id.clone(), "publish".into())]);

    night(store, &curated, D2);
    let r2 = release::publish(store, &curated, &keep(2)).unwrap();
    assert!(r2.live && r2.id.starts_with(&format!("{D2}-")), "{r2:?}");
    assert_eq!(live(store).as_deref(), Some(r2.id.as_str()));

    // An older night re-run does not switch the site back over newer data: its release is
    // uploaded and complete, the live one stays. (`datasets/staged` stays on D2's
    // publication, so the re-run's own publication is published by name, as a night does.)
    let d1 = night(store, &curated, D1);
    let again = release::publish_publication(store, &curated, &keep(2), &d1).unwrap();
    assert!(
        again.id.starts_with(&format!("{D1}-")) && again.id != r2.id,
        "{again:?}"
    );
    assert!(!again.live);
    assert_complete(store, &again.id);
    assert_eq!(live(store).as_deref(), Some(r2.id.as_str()));
    assert_eq!(history(store).len(), 2, "not a switch");
    assert_eq!(
        store.get(ERROR_PAGE_KEY).unwrap(),
        store
            .get(&format!("site/releases/{}/404.html", r2.id))
            .unwrap()
    );

    // A release of the same date with other content replaces the live one; with two kept,
    // the oldest (r1) is pruned: only its objects.
    night(store, &curated, D2);
    let r3 = release::publish(
        store,
        &curated,
        &ReleaseOptions {
            site_origin: Some("https://other.example.org".into()),
            releases_to_keep: Some(2),
            ..envgov_e2e::same_signing_key()
        },
    )
    .unwrap();
    assert!(
        r3.live && r3.id.starts_with(&format!("{D2}-")) && r3.id != r2.id,
        "{r3:?}"
    );
    // Pruned: r1 (went live, beyond the two most recent) and the re-run's release (never
    // live, older data than the live release); in id order.
    let mut expected = vec![r1.id.clone(), again.id.clone()];
    expected.sort();
    expected.dedup();
    assert_eq!(r3.pruned, expected);
    for id in &expected {
        assert!(
            store
                .list(&format!("site/releases/{id}/"))
                .unwrap()
                .is_empty()
        );
    }
    assert_complete(store, &r2.id);
    assert_complete(store, &r3.id);
    assert_eq!(
        history(store),
        vec![
            (r1.id.clone(), "publish".into()),
            (r2.id.clone(), "publish".into()),
            (r3.id.clone(), "publish".into()),
        ]
    );

    // Rollback without a target: the release live before the current one.
    let back = release::rollback(store, None, &envgov_e2e::same_signing_key()).unwrap();
    assert_eq!(
        (back.from.as_deref(), back.to.as_str()),
        (Some(r3.id.as_str()), r2.id.as_str())
    );
    assert_eq!(live(store).as_deref(), Some(r2.id.as_str()));
    assert_eq!(
        history(store).last().unwrap(),
        &(r2.id.clone(), "rollback".to_string())
    );
    assert_eq!(
        store.get(ERROR_PAGE_KEY).unwrap(),
        store
            .get(&format!("site/releases/{}/404.html", r2.id))
            .unwrap()
    );

    // A pruned release cannot be rolled back to; nothing changes.
    let err = release::rollback(store, Some(&r1.id), &envgov_e2e::same_signing_key()).unwrap_err();
    assert!(
        matches!(&err, JobError::Release(ReleaseError::Incomplete { release, .. }) if *release == r1.id),
        "{err}"
    );
    assert_eq!(live(store).as_deref(), Some(r2.id.as_str()));

    // The listing: both kept releases, complete, r2 live.
    let mut listed: Vec<(String, bool, bool)> = release::list(store)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.live, r.complete))
        .collect();
    listed.sort();
    let mut expected = vec![(r2.id.clone(), true, true), (r3.id.clone(), false, true)];
    expected.sort();
    assert_eq!(listed, expected);

    // A release with a file missing fails verification and is never switched to.
    let victim = format!("site/releases/{}/en/index.html", r3.id);
    assert!(store.get(&victim).unwrap().is_some());
    store.delete(&victim).unwrap();
    let err = release::rollback(store, Some(&r3.id), &envgov_e2e::same_signing_key()).unwrap_err();
    assert!(
        err.to_string().contains("en/index.html is missing"),
        "{err}"
    );
    assert_eq!(live(store).as_deref(), Some(r2.id.as_str()));
    assert!(
        !release::list(store)
            .unwrap()
            .iter()
            .any(|r| r.id == r3.id && r.complete)
    );
}

#[test]
fn local_release_lifecycle_switches_prunes_and_rolls_back() {
    let dir = TempDir::new("release-lifecycle");
    lifecycle(&LocalStore::new(&dir.0));
}

#[test]
fn garage_release_lifecycle_switches_prunes_and_rolls_back() {
    let Some(store) = garage("lifecycle") else {
        return;
    };
    lifecycle(&store);
}

// ---------------------------------------------------------------------------------------
// Crash injection.

/// A store that fails like a crashed process: after `fail_after` successful writes, or on
/// the first write of `fail_on`; every write after the crash fails too. Reads pass through.
struct Crashing<'a> {
    inner: &'a dyn Store,
    fail_after: Option<usize>,
    fail_on: Option<&'static str>,
    writes: AtomicUsize,
    crashed: Mutex<bool>,
}

impl<'a> Crashing<'a> {
    fn after(inner: &'a dyn Store, writes: usize) -> Self {
        Self::new(inner, Some(writes), None)
    }

    fn on(inner: &'a dyn Store, key: &'static str) -> Self {
        Self::new(inner, None, Some(key))
    }

    fn new(inner: &'a dyn Store, fail_after: Option<usize>, fail_on: Option<&'static str>) -> Self {
        Crashing {
            inner,
            fail_after,
            fail_on,
            writes: AtomicUsize::new(0),
            crashed: Mutex::new(false),
        }
    }

    fn write(&self, key: &str) -> Result<(), StoreError> {
        let mut crashed = self.crashed.lock().unwrap();
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        if *crashed || self.fail_after.is_some_and(|limit| n >= limit) || self.fail_on == Some(key)
        {
            *crashed = true;
            return Err(StoreError::Io {
                key: key.to_string(),
                source: std::io::Error::other("injected crash"),
            });
        }
        Ok(())
    }
}

impl Store for Crashing<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(key)?;
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.write(key)?;
        self.inner.delete(key)
    }
    fn describe(&self) -> String {
        format!("crashing {}", self.inner.describe())
    }
    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        self.write(key)?;
        self.inner.put_with_hash(key, bytes, sha256_hex)
    }
    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.stored_hash(key)
    }
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.inner.get_versioned(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        self.write(key)?;
        self.inner.put_if_absent(key, bytes)
    }
    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        self.write(key)?;
        self.inner.put_if_match(key, bytes, version)
    }
}

/// Crashes mid-upload and exactly on the pointer write leave the previous release live and
/// complete; the re-run completes the same release; a night without new data uploads 0.
fn crash_and_rerun(store: &dyn Store) {
    let curated = curated();
    sample(store);
    night(store, &curated, D1);
    let r1 = release::publish(store, &curated, &keep(3)).unwrap();
    let before = |store: &dyn Store| {
        (
            store.get("site/current").unwrap(),
            store.get(ERROR_PAGE_KEY).unwrap(),
            store.get(HISTORY_KEY).unwrap(),
        )
    };
    let pointer = before(store);

    night(store, &curated, D2);
    let (r2_id, files) = release::render(store, &curated, &keep(3)).unwrap();
    assert_ne!(r2_id, r1.id);

    // 1. A crash after 7 writes (the release's `.reviving` mark, then 6 uploads): the new
    //    release has no manifest, the old one is live.
    let err = release::publish(&Crashing::after(store, 7), &curated, &keep(3)).unwrap_err();
    assert!(format!("{err}").contains("injected crash"), "{err}");
    assert_eq!(before(store), pointer);
    assert_complete(store, &r1.id);
    assert_eq!(
        store
            .get(&format!("site/releases/{r2_id}/{MANIFEST_NAME}"))
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .list(&format!("site/releases/{r2_id}/"))
            .unwrap()
            .len(),
        6
    );
    assert!(release::verify(store, &r2_id).is_err());

    // 2. A crash exactly on the site/current write: the new release is complete but not
    //    live; nothing else changed.
    let err =
        release::publish(&Crashing::on(store, "site/current"), &curated, &keep(3)).unwrap_err();
    assert!(format!("{err:?}").contains("site/current"), "{err:?}");
    assert_eq!(before(store), pointer);
    assert_complete(store, &r1.id);
    assert_complete(store, &r2_id);

    // 3. The re-run: the same release, nothing left to upload, now live.
    let r2 = release::publish(store, &curated, &keep(3)).unwrap();
    assert_eq!(r2.id, r2_id);
    assert!(r2.live);
    assert_eq!(
        (r2.uploaded, r2.skipped),
        (0, files.len() + 1 + SIGNED_NAMES.len())
    );
    assert_eq!(live(store).as_deref(), Some(r2_id.as_str()));
    assert_eq!(
        history(store),
        vec![
            (r1.id.clone(), "publish".into()),
            (r2_id.clone(), "publish".into())
        ]
    );

    // 4. A second night with no new data: the same release, 0 objects uploaded.
    night(store, &curated, D2);
    let same = release::publish(store, &curated, &keep(3)).unwrap();
    assert_eq!(same.id, r2_id);
    assert_eq!((same.uploaded, same.uploaded_bytes), (0, 0));
    assert_eq!(same.skipped, files.len() + 1 + SIGNED_NAMES.len());
    assert_eq!(history(store).len(), 2, "a re-run is not a new switch");
}

#[test]
fn local_crash_before_the_switch_keeps_the_previous_release_live() {
    let dir = TempDir::new("release-crash");
    crash_and_rerun(&LocalStore::new(&dir.0));
}

#[test]
fn garage_crash_before_the_switch_keeps_the_previous_release_live() {
    let Some(store) = garage("crash") else { return };
    crash_and_rerun(&store);
}

// ---------------------------------------------------------------------------------------
// The switch against a concurrent one.

/// Writes `site/current` behind the publisher's back once, on its `at`-th upload: another
/// run switching while this one uploads.
struct Interloper<'a> {
    inner: &'a dyn Store,
    at: usize,
    pointer: String,
    writes: AtomicUsize,
}

impl Store for Interloper<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        if self.writes.fetch_add(1, Ordering::SeqCst) == self.at {
            self.inner
                .put("site/current", format!("{}\n", self.pointer).as_bytes())?;
        }
        self.inner.put_with_hash(key, bytes, sha256_hex)
    }
    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.stored_hash(key)
    }
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.inner.get_versioned(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        self.inner.put_if_absent(key, bytes)
    }
    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        self.inner.put_if_match(key, bytes, version)
    }
}

#[test]
fn a_switch_made_during_the_upload_is_never_overwritten_by_older_data() {
    let curated = curated();
    let store = MemoryStore::new();
    sample(&store);
    night(&store, &curated, D1);
    let (d1_id, _) = release::render(&store, &curated, &envgov_e2e::same_signing_key()).unwrap();

    // While this D1 release uploads, a run of a later date switches the site.
    let newer = "2026-02-01-0123456789ab".to_string();
    let racing = Interloper {
        inner: &store,
        at: 3,
        pointer: newer.clone(),
        writes: AtomicUsize::new(0),
    };
    let r = release::publish(&racing, &curated, &envgov_e2e::same_signing_key()).unwrap();
    assert_eq!(r.id, d1_id);
    assert!(!r.live);
    assert_eq!(live(&store).as_deref(), Some(newer.as_str()));
    assert_eq!(
        store.get(HISTORY_KEY).unwrap(),
        None,
        "no switch was recorded"
    );

    // A concurrent switch to an OLDER date is replaced: the conditional write failed, the
    // pointer was read again, and the rule allowed the switch.
    let store = MemoryStore::new();
    sample(&store);
    night(&store, &curated, D1);
    let older = "2026-01-01-0123456789ab".to_string();
    let racing = Interloper {
        inner: &store,
        at: 3,
        pointer: older,
        writes: AtomicUsize::new(0),
    };
    let r = release::publish(&racing, &curated, &envgov_e2e::same_signing_key()).unwrap();
    assert!(r.live);
    assert_eq!(live(&store).as_deref(), Some(d1_id.as_str()));
    assert_eq!(
        history(&store),
        vec![(d1_id.clone(), "publish".to_string())]
    );
}

#[test]
fn rollback_refuses_when_a_night_switched_meanwhile() {
    // The operator's rollback reads the pointer, a night switches, the rollback's
    // conditional write fails: nothing is switched, and the error says what is live.
    let curated = curated();
    let store = MemoryStore::new();
    sample(&store);
    night(&store, &curated, D1);
    let r1 = release::publish(&store, &curated, &envgov_e2e::same_signing_key()).unwrap();
    night(&store, &curated, D2);
    let r2 = release::publish(&store, &curated, &envgov_e2e::same_signing_key()).unwrap();
    assert!(r1.live && r2.live);
    // A store whose read of site/current returns the version it had while r1 was live:
    // exactly what the rollback sees if a night switched to r2 between its read and its
    // write.
    struct Stale<'a>(&'a MemoryStore, Version);
    impl Store for Stale<'_> {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.get(key)
        }
        fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
            self.0.put(key, bytes)
        }
        fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
            self.0.list(prefix)
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.0.delete(key)
        }
        fn describe(&self) -> String {
            "stale".into()
        }
        fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
            Ok(self.0.get_versioned(key)?.map(|(b, v)| {
                if key == "site/current" {
                    (b, self.1.clone())
                } else {
                    (b, v)
                }
            }))
        }
        fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
            self.0.put_if_absent(key, bytes)
        }
        fn put_if_match(
            &self,
            key: &str,
            bytes: &[u8],
            version: &Version,
        ) -> Result<Conditional, StoreError> {
            self.0.put_if_match(key, bytes, version)
        }
    }
    // The version of "r1 live", which is no longer current.
    let stale = Version::new(sha256_hex(format!("{}\n", r1.id).as_bytes()));
    let err = release::rollback(
        &Stale(&store, stale),
        Some(&r1.id),
        &envgov_e2e::same_signing_key(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, JobError::Release(ReleaseError::Contended { now, .. }) if *now == r2.id),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(live(&store).as_deref(), Some(r2.id.as_str()));
}

// ---------------------------------------------------------------------------------------
// The KeyValueStore mirror.

/// One request as the stand-in KeyValueStore endpoint saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Serves `answers` in order (status, ETag header, JSON body, error type), one request per
/// connection, recording what it saw.
fn kvs_endpoint(
    answers: Vec<(u16, &'static str, String, Option<&'static str>)>,
) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for (answer, conn) in answers.into_iter().zip(listener.incoming()) {
            let mut conn = conn.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let head_end = loop {
                if let Some(i) = find(&buf, b"\r\n\r\n") {
                    break i + 4;
                }
                let n = conn.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let request_line: Vec<&str> = lines.next().unwrap().split(' ').collect();
            let headers: BTreeMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let length: usize = headers
                .get("content-length")
                .map_or(0, |v| v.parse().unwrap());
            while buf.len() < head_end + length {
                let n = conn.read(&mut chunk).unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            record.lock().unwrap().push(Seen {
                method: request_line[0].to_string(),
                path: request_line[1].to_string(),
                headers,
                body: String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
            });
            let (status, etag, body, error) = answer;
            let mut response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if let Some(e) = error {
                response.push_str(&format!("x-amzn-ErrorType: {e}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(&body);
            conn.write_all(response.as_bytes()).unwrap();
        }
    });
    (port, seen)
}

#[test]
fn kvs_mirror_describes_then_puts_the_live_release_with_if_match() {
    // The endpoint rules put the ARN's account id in front of the endpoint's host
    // ({account}.{host}); account "127" and host "0.0.1" make that 127.0.0.1.
    let arn = "arn:aws:cloudfront::127:key-value-store/envgov-test-kvs";
    let describe = |etag: &str| {
        format!(
            r#"{{"KvsARN":"{arn}","ItemCount":1,"TotalSizeInBytes":40,"Created":1767225600,"ETag":"{etag}"}}"#
        )
    };
    let put_ok = r#"{"ItemCount":1,"TotalSizeInBytes":40}"#.to_string();
    let conflict = r#"{"Message":"The ETag does not match"}"#.to_string();
    // Describe, a PutKey that loses to another writer (409), Describe again, PutKey.
    let (port, seen) = kvs_endpoint(vec![
        (200, "etag-1", describe("etag-1"), None),
        (409, "etag-1", conflict, Some("ConflictException")),
        (200, "etag-2", describe("etag-2"), None),
        (200, "etag-3", put_ok, None),
    ]);
    let mirror = KvsMirror::open_with(
        arn,
        KvsOptions {
            endpoint_url: Some(format!("http://0.0.1:{port}")),
            credentials: Some(StaticCredentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            }),
        },
    )
    .unwrap();

    let curated = curated();
    let store = MemoryStore::new();
    sample(&store);
    night(&store, &curated, D2);
    let r = release::publish_with(
        &store,
        &curated,
        &envgov_e2e::same_signing_key(),
        Some(&mirror),
    )
    .unwrap();
    assert!(r.live);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    for (s, method) in seen.iter().zip(["GET", "PUT", "GET", "PUT"]) {
        assert_eq!(s.method, method, "{s:#?}");
        // Signed with SigV4A (ECDSA P-256), for every region.
        let auth = s
            .headers
            .get("authorization")
            .expect("an Authorization header");
        assert!(
            auth.starts_with("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert_eq!(
            s.headers.get("x-amz-region-set").map(String::as_str),
            Some("*")
        );
    }
    assert_eq!(
        percent_decode(&seen[0].path),
        format!("/key-value-stores/{arn}")
    );
    assert_eq!(
        percent_decode(&seen[1].path),
        format!("/key-value-stores/{arn}/keys/site/current")
    );
    assert_eq!(
        seen[1].headers.get("if-match").map(String::as_str),
        Some("etag-1")
    );
    assert_eq!(
        seen[3].headers.get("if-match").map(String::as_str),
        Some("etag-2")
    );
    let body: serde_json::Value = serde_json::from_str(&seen[3].body).unwrap();
    assert_eq!(body, serde_json::json!({ "Value": r.id }));
}

#[test]
fn history_records_switches_in_order_deterministically() {
    // Two stores, the same switches: byte-identical histories.
    let curated = curated();
    let run = || {
        let store = MemoryStore::new();
        sample(&store);
        night(&store, &curated, D1);
        release::publish(&store, &curated, &envgov_e2e::same_signing_key()).unwrap();
        night(&store, &curated, D2);
        release::publish(&store, &curated, &envgov_e2e::same_signing_key()).unwrap();
        release::rollback(&store, None, &envgov_e2e::same_signing_key()).unwrap();
        store.get(HISTORY_KEY).unwrap().unwrap()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let h: release::History = serde_json::from_slice(&a).unwrap();
    let by: Vec<SwitchKind> = h.switches.iter().map(|s| s.by).collect();
    assert_eq!(
        by,
        vec![
            SwitchKind::Publish,
            SwitchKind::Publish,
            SwitchKind::Rollback
        ]
    );
    assert_eq!(h.switches[0].release, h.switches[2].release);
    assert_eq!(h.switches[0].data_date, D1);
    assert_eq!(h.switches[1].data_date, D2);
}

// ---------------------------------------------------------------------------------------
// 403 AccessDenied as "missing", through a proxy in front of Garage.

/// What the proxy answers instead of Garage.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Iam {
    /// AWS under the template's prefix-scoped `s3:ListBucket`: a GET or HEAD of a missing
    /// key answers 403 instead of 404; listings pass.
    PrefixScopedList,
    /// No read permission at all on objects: every GET or HEAD answers 403; listings pass.
    NoRead,
    /// Like `PrefixScopedList`, and listings are denied too.
    NoList,
}

/// An HTTP/1.1 proxy on 127.0.0.1 that forwards to Garage and rewrites answers as `iam`
/// says, the way AWS S3 answers a role without the permission to learn that a key is
/// missing. One request per connection.
fn iam_proxy(upstream: &str, iam: Iam) -> String {
    let upstream = upstream
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                let head_end = loop {
                    if let Some(i) = find(&buf, b"\r\n\r\n") {
                        break i + 4;
                    }
                    let Ok(n) = conn.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.trim().parse().unwrap());
                while buf.len() < head_end + length {
                    let n = conn.read(&mut chunk).unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let request_line = head.lines().next().unwrap().to_string();
                let method = request_line.split(' ').next().unwrap().to_string();
                let is_list = request_line.contains("list-type=2");
                // Forward, one request per connection.
                let mut forwarded = String::new();
                for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                    if !line.to_ascii_lowercase().starts_with("connection:") {
                        forwarded.push_str(line);
                        forwarded.push_str("\r\n");
                    }
                }
                forwarded.push_str("Connection: close\r\n\r\n");
                let mut up = TcpStream::connect(&upstream).unwrap();
                up.write_all(forwarded.as_bytes()).unwrap();
                up.write_all(&buf[head_end..]).unwrap();
                let mut response = Vec::new();
                up.read_to_end(&mut response).unwrap();
                let status: u16 = String::from_utf8_lossy(&response[..12])
                    .split(' ')
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap();
                let deny = match iam {
                    _ if is_list => iam == Iam::NoList,
                    Iam::NoRead => method == "GET" || method == "HEAD",
                    Iam::PrefixScopedList | Iam::NoList => {
                        (method == "GET" || method == "HEAD") && status == 404
                    }
                };
                if deny {
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                                <Message>Access Denied</Message></Error>";
                    let shown = if method == "HEAD" { "" } else { body };
                    let _ = write!(
                        conn,
                        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{shown}",
                        shown.len()
                    );
                } else {
                    let _ = conn.write_all(&response);
                }
                let _ = conn.flush();
            });
        }
    });
    url
}

#[test]
fn garage_403_on_a_missing_key_is_missing_only_when_the_listing_says_so() {
    let Some(direct) = garage("denied") else {
        return;
    };
    let location = direct.describe();
    direct
        .put("site/current", b"2026-01-31-0123456789ab\n")
        .unwrap();
    let through = |iam| {
        S3Store::open_with(
            &location,
            S3Options {
                endpoint_url: Some(iam_proxy(&var("AWS_ENDPOINT_URL").unwrap(), iam)),
                ..S3Options::default()
            },
        )
        .unwrap()
    };

    // The template's IAM: a missing key answers 403, the listing tells it is missing.
    let store = through(Iam::PrefixScopedList);
    assert_eq!(store.get("site/releases.json").unwrap(), None);
    assert_eq!(store.stored_hash("site/errors/404.html").unwrap(), None);
    assert_eq!(store.get_versioned("site/nothing").unwrap(), None);
    assert_eq!(
        store.get("site/current").unwrap().unwrap(),
        b"2026-01-31-0123456789ab\n"
    );
    // A key that only shares a prefix with an existing one is still missing.
    assert_eq!(store.get("site/curr").unwrap(), None);

    // The object exists but reading it is denied: a real permission error, naming the key.
    let store = through(Iam::NoRead);
    let err = store.get("site/current").unwrap_err();
    assert!(
        matches!(&err, StoreError::S3 { key, op: "GetObject", retryable: false, message } if key == "site/current" && message.contains("403")),
        "{err}"
    );
    assert!(matches!(
        store.stored_hash("site/current").unwrap_err(),
        StoreError::S3 {
            op: "HeadObject",
            ..
        }
    ));

    // The listing is denied too: nothing tells missing from forbidden, so it is an error.
    let store = through(Iam::NoList);
    let err = store.get("site/releases.json").unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::S3 {
                op: "GetObject",
                ..
            }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// Dataset publication: stable URLs through the live release, archives written once.

/// A night with the site: datasets, publication, release, switch.
fn night_with_site(store: &dyn Store, curated: &Curated, date: &str) -> RunReport {
    let opts = NightlyOptions {
        date: Some(date.parse().unwrap()),
        max_reject_rate: 1.0,
        render_site: true,
        release: keep(3),
        ..NightlyOptions::default()
    };
    jobs::nightly(store, curated, &opts).expect("nightly")
}

/// The stable dataset files: what `/datasets/...` serves, the live release's `datasets/`.
fn stable_files(store: &dyn Store) -> BTreeMap<String, Vec<u8>> {
    let live = live(store).expect("a live release");
    let prefix = format!("site/releases/{live}/datasets/");
    store
        .list(&prefix)
        .unwrap()
        .into_iter()
        .map(|k| {
            (
                k[prefix.len()..].to_string(),
                store.get(&k).unwrap().unwrap(),
            )
        })
        .collect()
}

/// Every object of every dated archive, by key.
fn archive_files(store: &dyn Store) -> BTreeMap<String, Vec<u8>> {
    store
        .list("datasets/")
        .unwrap()
        .into_iter()
        .filter(|k| k.split('/').nth(2) == Some("archive"))
        .map(|k| {
            let bytes = store.get(&k).unwrap().unwrap();
            (k, bytes)
        })
        .collect()
}

/// The resources of a datapackage: file name → sha256 (without the `sha256:` prefix).
fn resources(package: &[u8]) -> BTreeMap<String, String> {
    let p: serde_json::Value = serde_json::from_slice(package).unwrap();
    p["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["hash"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("sha256:")
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// The stable files are one night's, whole: the catalogue names every dataset of
/// `data/datasets.toml` with `data_date`; each dataset has its three formats (cems-hourly:
/// its months' CSV and Parquet files) and its datapackage (of that date), and each file's
/// sha256 is the one its datapackage lists.
fn assert_stable_files_of_one_night(stable: &BTreeMap<String, Vec<u8>>, data_date: &str) {
    let curated = curated();
    let catalogue: serde_json::Value =
        serde_json::from_slice(stable.get("catalogue.json").expect("catalogue.json")).unwrap();
    assert_eq!(catalogue["data_date"], data_date);
    let mut expected: Vec<String> = vec!["catalogue.json".into()];
    for def in &curated.datasets.dataset {
        let id = &def.id;
        let package = stable
            .get(&format!("{id}/datapackage.json"))
            .unwrap_or_else(|| panic!("{id}/datapackage.json is not served"));
        let p: serde_json::Value = serde_json::from_slice(package).unwrap();
        assert_eq!(p["envgov:dataDate"], data_date, "{id}");
        let listed = resources(package);
        let names: Vec<String> = listed.keys().cloned().collect();
        if id == "cems-hourly" {
            // A file a month in two formats: cems-hourly-YYYY-MM.csv.gz and .parquet.
            assert!(!names.is_empty(), "{id}");
            for pair in names.chunks(2) {
                let month = pair[0]
                    .strip_prefix("cems-hourly-")
                    .and_then(|n| n.strip_suffix(".csv.gz"))
                    .unwrap_or_else(|| panic!("{id}: {pair:?}"));
                assert_eq!(pair[1], format!("cems-hourly-{month}.parquet"), "{id}");
            }
        } else if id == "cems-daily" || id == "self-monitoring" {
            // A file a month in three formats: {id}-YYYY-MM.csv, .json and .parquet.
            assert!(!names.is_empty(), "{id}");
            for triple in names.chunks(3) {
                let month = triple[0]
                    .strip_prefix(&format!("{id}-"))
                    .and_then(|n| n.strip_suffix(".csv"))
                    .unwrap_or_else(|| panic!("{id}: {triple:?}"));
                assert_eq!(
                    triple[1..],
                    [
                        format!("{id}-{month}.json"),
                        format!("{id}-{month}.parquet")
                    ],
                    "{id}"
                );
            }
        } else {
            assert_eq!(
                names,
                vec![
                    format!("{id}.csv"),
                    format!("{id}.json"),
                    format!("{id}.parquet")
                ],
                "{id}"
            );
        }
        for (name, sha) in &listed {
            let bytes = stable
                .get(&format!("{id}/{name}"))
                .unwrap_or_else(|| panic!("{id}/{name} is not served"));
            assert_eq!(
                &sha256_hex(bytes),
                sha,
                "{id}/{name}: not the datapackage's file"
            );
            expected.push(format!("{id}/{name}"));
        }
        expected.push(format!("{id}/datapackage.json"));
    }
    expected.sort();
    assert_eq!(stable.keys().cloned().collect::<Vec<_>>(), expected);
}

/// Every archive folder with a datapackage: each data file present is the one it lists.
fn assert_archives_consistent(archives: &BTreeMap<String, Vec<u8>>) {
    for (key, bytes) in archives {
        let Some(folder) = key.strip_suffix("datapackage.json") else {
            continue;
        };
        for (name, sha) in resources(bytes) {
            if let Some(file) = archives.get(&format!("{folder}{name}")) {
                assert_eq!(&sha256_hex(file), &sha, "{folder}{name}");
            }
        }
    }
}

#[test]
fn rerunning_an_older_night_changes_no_stable_file_and_rewrites_no_archive() {
    let dir = TempDir::new("release-rerun-older");
    let store = LocalStore::new(&dir.0);
    let curated = curated();
    sample(&store);
    night_with_site(&store, &curated, D1);
    let d2 = night_with_site(&store, &curated, D2);
    let live_before = live(&store).unwrap();
    assert_eq!(Some(&live_before), d2.site_release.as_ref());
    let stable_before = stable_files(&store);
    assert_stable_files_of_one_night(&stable_before, D2);
    let archives_before = archive_files(&store);
    assert_archives_consistent(&archives_before);
    for def in &curated.datasets.dataset {
        for date in [D1, D2] {
            let folder = format!("datasets/{}/archive/{date}/", def.id);
            assert!(
                archives_before.contains_key(&format!("{folder}datapackage.json")),
                "{folder}"
            );
        }
    }

    // The older night again, same inputs: nothing served or archived changes.
    let again = night_with_site(&store, &curated, D1);
    assert!(
        again.archive_revisions.is_empty(),
        "{:?}",
        again.archive_revisions
    );
    assert_eq!(live(&store).unwrap(), live_before);
    assert_eq!(stable_files(&store), stable_before);
    assert_eq!(archive_files(&store), archives_before);

    // The older night with changed inputs (a delivery withdrawn): the datasets whose files
    // differ from D1's archive get a new revision r2; the first archive stays byte for byte.
    // (One file of a source that delivered several on D1, so that its partition is
    // validated again without it.)
    let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in store.list("raw/").unwrap() {
        if key.split('/').nth(2) == Some(D1) {
            let source = key.split('/').nth(1).unwrap().to_string();
            by_source.entry(source).or_default().push(key);
        }
    }
    let withdrawn = by_source
        .values()
        .find(|keys| keys.len() >= 2)
        .map(|keys| keys[0].clone())
        .expect("a source with several D1 deliveries");
    store.delete(&withdrawn).unwrap();
    let changed = night_with_site(&store, &curated, D1);
    assert_eq!(live(&store).unwrap(), live_before, "D2 stays live");
    assert_eq!(stable_files(&store), stable_before);
    let archives_after = archive_files(&store);
    for (key, bytes) in &archives_before {
        assert_eq!(archives_after.get(key), Some(bytes), "{key} was rewritten");
    }
    assert_archives_consistent(&archives_after);
    // Which datasets must have a revision: those whose new files (in the run's
    // publication) differ from the archived D1 files.
    let publication: serde_json::Value = serde_json::from_slice(
        &store
            .get(&format!(
                "datasets/publications/{}/publication-manifest.json",
                changed.publication.as_ref().unwrap()
            ))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let mut expected = BTreeMap::new();
    for def in &curated.datasets.dataset {
        let id = &def.id;
        let first = format!("datasets/{id}/archive/{D1}/");
        let archived = resources(&archives_before[&format!("{first}datapackage.json")]);
        let now: BTreeMap<String, String> = archived
            .keys()
            .map(|name| {
                let f = &publication["files"][format!("{id}/{name}")];
                (name.clone(), f["sha256"].as_str().unwrap().to_string())
            })
            .collect();
        if now != archived {
            let r2 = format!("{first}r2/");
            expected.insert(id.clone(), r2.clone());
            for (name, sha) in &now {
                let bytes = &archives_after[&format!("{r2}{name}")];
                assert_eq!(&sha256_hex(bytes), sha, "{r2}{name}");
            }
        }
    }
    assert!(
        !expected.is_empty(),
        "withdrawing {withdrawn} changed no dataset"
    );
    assert_eq!(changed.archive_revisions, expected);

    // The same changed inputs once more: r2 matches, nothing new.
    let once_more = night_with_site(&store, &curated, D1);
    assert!(once_more.archive_revisions.is_empty());
    assert_eq!(archive_files(&store), archives_after);
}

#[test]
fn moto_overlapping_nights_publish_the_files_of_one_run_never_a_mix() {
    let Some(endpoint) = moto() else { return };
    let bucket = moto_bucket(&endpoint, "overlap", false);
    let curated = curated();
    {
        let store = moto_store(&endpoint, &bucket);
        sample(&store);
        // Validated partitions in place: the racing runs aggregate and publish.
        night(&store, &curated, D1);
        night(&store, &curated, D2);
    }
    for round in 0..2 {
        let barrier = Arc::new(Barrier::new(2));
        let runs: Vec<_> = [D1, D2]
            .into_iter()
            .map(|date| {
                let (endpoint, bucket, barrier) =
                    (endpoint.clone(), bucket.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let store = moto_store(&endpoint, &bucket);
                    let curated = Curated::load().unwrap();
                    barrier.wait();
                    night_with_site(&store, &curated, date)
                })
            })
            .collect();
        let reports: Vec<RunReport> = runs.into_iter().map(|h| h.join().unwrap()).collect();
        let store = moto_store(&endpoint, &bucket);
        // The rule: the later data date is live, whichever run finished first.
        let live = live(&store).unwrap();
        assert_eq!(
            Some(&live),
            reports[1].site_release.as_ref(),
            "round {round}"
        );
        assert_complete(&store, &live);
        let stable = stable_files(&store);
        assert_stable_files_of_one_night(&stable, D2);
        // Every stable file is the D2 run's, as its publication lists it.
        let publication: serde_json::Value = serde_json::from_slice(
            &store
                .get(&format!(
                    "datasets/publications/{}/publication-manifest.json",
                    reports[1].publication.as_ref().unwrap()
                ))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let files = publication["files"].as_object().unwrap();
        assert_eq!(
            files.keys().cloned().collect::<Vec<_>>(),
            stable.keys().cloned().collect::<Vec<_>>()
        );
        for (path, f) in files {
            assert_eq!(sha256_hex(&stable[path]), f["sha256"], "{path}");
        }
        assert_archives_consistent(&archive_files(&store));
    }
}

// ---------------------------------------------------------------------------------------
// A kill at a random point of the publish, 50 times, on a local folder.

/// Set in the child process of the kill test: the store folder it runs the night on.
const KILL_CHILD_STORE: &str = "ENVGOV_E2E_KILL_CHILD_STORE";

/// The child of [`kill_at_a_random_write_leaves_the_previous_or_the_new_release_whole`]:
/// does nothing unless [`KILL_CHILD_STORE`] is set (so it passes as an ordinary test).
#[test]
fn kill_child_runs_one_night_when_asked() {
    let Some(dir) = var(KILL_CHILD_STORE) else {
        return;
    };
    let store = LocalStore::new(&dir);
    let report = night_with_site(&store, &curated(), D2);
    println!(
        "ENVGOV-KILL-CHILD writes={} release={}",
        envgov_pipeline::store::fault::writes(),
        report.site_release.unwrap()
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the child night on `dir`, aborting at write `abort_at` (0: never). Returns its exit
/// status and its stdout.
fn child_night(dir: &std::path::Path, abort_at: u64) -> (std::process::ExitStatus, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_child_runs_one_night_when_asked",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_CHILD_STORE, dir)
        .env(
            envgov_pipeline::store::fault::ABORT_AT_WRITE,
            abort_at.to_string(),
        )
        .env("RUST_LOG", "off")
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn kill_at_a_random_write_leaves_the_previous_or_the_new_release_whole() {
    use std::os::unix::process::ExitStatusExt;
    const KILLS: usize = 50;
    let started = std::time::Instant::now();
    let base = TempDir::new("release-kill");
    let curated = curated();
    // The template: D1 published and live; D2's partitions validated (copied from a run
    // of D2 without the site), so each killed run only aggregates and publishes.
    let template = base.0.join("template");
    let store = LocalStore::new(&template);
    sample(&store);
    let r1 = night_with_site(&store, &curated, D1).site_release.unwrap();
    let scratch = base.0.join("scratch");
    copy_dir(&template, &scratch);
    night(&LocalStore::new(&scratch), &curated, D2);
    for folder in ["validated", "rejects"] {
        copy_dir(&scratch.join(folder), &template.join(folder));
    }
    std::fs::copy(
        scratch.join("runs/raw-ledger.json"),
        template.join("runs/raw-ledger.json"),
    )
    .unwrap();
    let archives_before = archive_files(&store);
    assert!(!archives_before.is_empty());

    // The reference: the whole run, unharmed. Its writes bound the random kill point.
    let reference = base.0.join("reference");
    copy_dir(&template, &reference);
    let (status, out) = child_night(&reference, 0);
    assert!(status.success(), "{out}");
    let line = out
        .lines()
        .find_map(|l| l.split_once("ENVGOV-KILL-CHILD ").map(|(_, r)| r.trim()))
        .unwrap_or_else(|| panic!("no child report in {out}"));
    let (writes, r2) = line.split_once(' ').unwrap();
    let writes: u64 = writes.strip_prefix("writes=").unwrap().parse().unwrap();
    let r2 = r2.strip_prefix("release=").unwrap().to_string();
    assert_ne!(r2, r1);
    assert!(writes > 10, "{writes}");

    // A seeded xorshift: the seed is printed so that a failure can be replayed.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    if let Some(s) = var("ENVGOV_E2E_KILL_SEED") {
        seed = s.parse().unwrap();
    }
    eprintln!("kill test: seed {seed}, {writes} writes in a whole run");
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut previous, mut new) = (0, 0);
    for i in 0..KILLS {
        // Even kills anywhere in the run; odd ones among its last 8 writes, around the
        // switch of site/current (the release manifest, the pointer, the error page, the
        // history, the run report), where a kill is most likely to tear something.
        let at = if i % 2 == 0 {
            1 + next() % writes
        } else {
            writes - next() % 8
        };
        let dir = base.0.join(format!("kill-{i}"));
        copy_dir(&template, &dir);
        let (status, out) = child_night(&dir, at);
        assert_eq!(
            status.signal(),
            Some(6),
            "kill {i} at write {at}: the child must die (SIGABRT), got {status:?}: {out}"
        );
        let store = LocalStore::new(&dir);
        let now = live(&store).unwrap();
        if now == r1 {
            previous += 1;
        } else {
            assert_eq!(now, r2, "kill {i} at write {at}");
            new += 1;
        }
        // The live release whole, and the stable datasets one night's, whole.
        assert_complete(&store, &now);
        let data_date = if now == r1 { D1 } else { D2 };
        assert_stable_files_of_one_night(&stable_files(&store), data_date);
        // Archives that existed are unchanged byte for byte; new ones hold their own files.
        let archives = archive_files(&store);
        for (key, bytes) in &archives_before {
            assert_eq!(archives.get(key), Some(bytes), "kill {i} at {at}: {key}");
        }
        assert_archives_consistent(&archives);
        // Every 10th: the night run again completes the new release, with no revision.
        if i % 10 == 9 {
            let report = night_with_site(&store, &curated, D2);
            assert_eq!(report.site_release.as_deref(), Some(r2.as_str()));
            assert!(
                report.archive_revisions.is_empty(),
                "{:?}",
                report.archive_revisions
            );
            assert_eq!(live(&store).as_deref(), Some(r2.as_str()));
            assert_complete(&store, &r2);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "kill test: {KILLS} kills, previous release live after {previous}, new after {new}, in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(previous > 0 && new > 0, "both outcomes must occur");
}

// ---------------------------------------------------------------------------------------
// A rollback racing a prune.

/// A small synthetic release: `files` files and its manifest (the shape `release` writes).
fn synthetic_release(store: &dyn Store, id: &str, files: usize) {
    let mut listed = BTreeMap::new();
    for i in 0..files {
        let path = if i == 0 {
            "index.html".to_string()
        } else if i == 1 {
            "404.html".to_string()
        } else {
            format!("en/page-{i}.html")
        };
        let bytes = format!("{id} {path}").into_bytes();
        store
            .put(&format!("site/releases/{id}/{path}"), &bytes)
            .unwrap();
        listed.insert(
            path,
            release::ManifestFile {
                sha256: sha256_hex(&bytes),
                bytes: bytes.len() as u64,
            },
        );
    }
    let manifest = release::Manifest {
        release: id.to_string(),
        data_date: id[..10].to_string(),
        files: listed,
        publication: None,
    };
    store
        .put(
            &format!("site/releases/{id}/{MANIFEST_NAME}"),
            &serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
}

#[test]
fn a_rollback_racing_a_prune_never_leaves_a_deleted_release_live() {
    const ROUNDS: usize = 150;
    let dir = TempDir::new("release-rollback-prune");
    let (a, b, c) = (
        "2026-01-29-aaaaaaaaaaaa",
        "2026-01-30-bbbbbbbbbbbb",
        "2026-01-31-cccccccccccc",
    );
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..ROUNDS {
        let root = dir.0.join(format!("r{round}"));
        let store = LocalStore::new(&root);
        for id in [a, b, c] {
            synthetic_release(&store, id, 8);
        }
        let history = release::History {
            switches: [a, b, c]
                .iter()
                .map(|id| release::Switch {
                    release: id.to_string(),
                    data_date: id[..10].to_string(),
                    by: SwitchKind::Publish,
                })
                .collect(),
        };
        store
            .put(HISTORY_KEY, &serde_json::to_vec(&history).unwrap())
            .unwrap();
        store
            .put("site/current", format!("{c}\n").as_bytes())
            .unwrap();
        // Staggered starts, so that every interleaving gets its turn.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (delay_rollback, delay_prune) = (seed % 400, (seed >> 20) % 400);
        let barrier = Barrier::new(2);
        let (rolled, pruned) = std::thread::scope(|s| {
            let rollback = s.spawn(|| {
                barrier.wait();
                std::thread::sleep(std::time::Duration::from_micros(delay_rollback));
                release::rollback(&store, Some(a), &envgov_e2e::same_signing_key())
            });
            let prune = s.spawn(|| {
                barrier.wait();
                std::thread::sleep(std::time::Duration::from_micros(delay_prune));
                release::prune(&store, 1, c)
            });
            (rollback.join().unwrap(), prune.join().unwrap().unwrap())
        });
        let now = live(&store).unwrap();
        // Whatever happened, the live release is whole.
        assert_complete(&store, &now);
        match &rolled {
            Ok(r) => {
                assert_eq!((r.to.as_str(), now.as_str()), (a, a), "round {round}");
                assert!(
                    !pruned.contains(&a.to_string()),
                    "round {round}: {pruned:?}"
                );
                *outcomes.entry("rollback won, release kept").or_default() += 1;
            }
            Err(e) => {
                assert_eq!(now, c, "round {round}: {e}");
                assert!(
                    matches!(
                        e,
                        JobError::Release(
                            ReleaseError::BeingPruned { .. } | ReleaseError::Incomplete { .. }
                        )
                    ),
                    "round {round}: {e}"
                );
                *outcomes.entry("prune won, rollback refused").or_default() += 1;
            }
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
    eprintln!("rollback vs prune, {ROUNDS} rounds: {outcomes:?}");
    assert_eq!(outcomes.values().sum::<usize>(), ROUNDS);
}
