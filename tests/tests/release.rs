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
use envgov_e2e::TempDir;
use envgov_pipeline::jobs::{self, JobError, NightlyOptions};
use envgov_pipeline::kvs::{KvsMirror, KvsOptions};
use envgov_pipeline::ledger::sha256_hex;
use envgov_pipeline::release::{
    self, ERROR_PAGE_KEY, HISTORY_KEY, MANIFEST_NAME, ReleaseError, ReleaseOptions, SwitchKind,
};
use envgov_pipeline::s3::{S3Options, S3Store, StaticCredentials};
use envgov_pipeline::store::{Conditional, LocalStore, MemoryStore, Store, StoreError, Version};
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

/// The datasets of one night (the site is published separately).
fn night(store: &dyn Store, curated: &Curated, date: &str) {
    let opts = NightlyOptions {
        date: Some(date.parse().unwrap()),
        max_reject_rate: 1.0,
        render_site: false,
        ..NightlyOptions::default()
    };
    jobs::nightly(store, curated, &opts).expect("nightly");
}

fn keep(n: usize) -> ReleaseOptions {
    ReleaseOptions {
        releases_to_keep: Some(n),
        ..ReleaseOptions::default()
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
        .filter(|p| p != MANIFEST_NAME)
        .collect();
    stored.sort();
    let listed: Vec<String> = files.keys().cloned().collect();
    assert_eq!(stored, listed, "{id}");
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
    assert_eq!(r1.uploaded, r1.files + 1, "every file and the manifest");
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
    // uploaded and complete, the live one stays. (Its id differs from r1's: the datasets
    // now list D2's archive too.)
    night(store, &curated, D1);
    let again = release::publish(store, &curated, &keep(2)).unwrap();
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
            ..ReleaseOptions::default()
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
    let back = release::rollback(store, None, &ReleaseOptions::default()).unwrap();
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
    let err = release::rollback(store, Some(&r1.id), &ReleaseOptions::default()).unwrap_err();
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
    let err = release::rollback(store, Some(&r3.id), &ReleaseOptions::default()).unwrap_err();
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

    // 1. A crash after 7 uploads: the new release has no manifest, the old one is live.
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
        7
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
    assert_eq!((r2.uploaded, r2.skipped), (0, files.len() + 1));
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
    assert_eq!(same.skipped, files.len() + 1);
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
    let (d1_id, _) = release::render(&store, &curated, &ReleaseOptions::default()).unwrap();

    // While this D1 release uploads, a run of a later date switches the site.
    let newer = "2026-02-01-0123456789ab".to_string();
    let racing = Interloper {
        inner: &store,
        at: 3,
        pointer: newer.clone(),
        writes: AtomicUsize::new(0),
    };
    let r = release::publish(&racing, &curated, &ReleaseOptions::default()).unwrap();
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
    let r = release::publish(&racing, &curated, &ReleaseOptions::default()).unwrap();
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
    let r1 = release::publish(&store, &curated, &ReleaseOptions::default()).unwrap();
    night(&store, &curated, D2);
    let r2 = release::publish(&store, &curated, &ReleaseOptions::default()).unwrap();
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
        &ReleaseOptions::default(),
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
    let r =
        release::publish_with(&store, &curated, &ReleaseOptions::default(), Some(&mirror)).unwrap();
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
        release::publish(&store, &curated, &ReleaseOptions::default()).unwrap();
        night(&store, &curated, D2);
        release::publish(&store, &curated, &ReleaseOptions::default()).unwrap();
        release::rollback(&store, None, &ReleaseOptions::default()).unwrap();
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
