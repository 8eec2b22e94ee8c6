//! What every [`Store`] must do, as checks that panic on the first difference: run on the
//! memory and local stores by their unit tests, and on S3 by the end-to-end tests against a
//! real server, so that all backends are held to one definition of "behaves like a bucket".
//!
//! Stage: test support; depends only on the storage contract ([`super::api`]).

use super::api::*;

/// Get, put, list, delete, key checks and content hashes, on an empty store.
pub fn basic(store: &dyn Store) {
    assert_eq!(store.get("raw/a/2026-01-01/x.csv").unwrap(), None);
    store.put("raw/a/2026-01-01/x.csv", b"1").unwrap();
    store.put("raw/a/2026-01-02/y.csv", b"2").unwrap();
    store.put("rejects/a/z.csv", b"3").unwrap();
    assert_eq!(
        store.get("raw/a/2026-01-01/x.csv").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        store.list("raw/a/").unwrap(),
        vec!["raw/a/2026-01-01/x.csv", "raw/a/2026-01-02/y.csv"]
    );
    assert_eq!(store.list("raw/a/2026-01-0").unwrap().len(), 2);
    store.delete("raw/a/2026-01-01/x.csv").unwrap();
    store.delete("raw/a/2026-01-01/x.csv").unwrap();
    assert_eq!(store.list("raw/").unwrap(), vec!["raw/a/2026-01-02/y.csv"]);
    assert!(store.put("../escape", b"x").is_err());
    assert!(store.get("raw//x").is_err());
    assert_eq!(store.stored_hash("raw/a/2026-01-01/x.csv").unwrap(), None);
    let hash = crate::ledger::sha256_hex(b"2");
    assert_eq!(
        store.stored_hash("raw/a/2026-01-02/y.csv").unwrap(),
        Some(hash.clone())
    );
    store.put_with_hash("site/current", b"2", &hash).unwrap();
    assert_eq!(store.stored_hash("site/current").unwrap(), Some(hash));
}

/// Conditional writes: create-if-absent and compare-and-swap on the version.
pub fn conditional(store: &dyn Store) {
    let key = "site/current";
    assert_eq!(store.get_versioned(key).unwrap(), None);
    assert_eq!(
        store.put_if_absent(key, b"a").unwrap(),
        Conditional::Written
    );
    assert_eq!(
        store.put_if_absent(key, b"b").unwrap(),
        Conditional::Conflict
    );
    let (bytes, v1) = store.get_versioned(key).unwrap().unwrap();
    assert_eq!(bytes, b"a");
    assert_eq!(
        store.put_if_match(key, b"c", &v1).unwrap(),
        Conditional::Written
    );
    // v1 is stale now: the write loses and the content stays "c".
    assert_eq!(
        store.put_if_match(key, b"d", &v1).unwrap(),
        Conditional::Conflict
    );
    let (bytes, v2) = store.get_versioned(key).unwrap().unwrap();
    assert_eq!(bytes, b"c");
    assert_ne!(v1, v2);
    // A missing object never matches a version.
    assert_eq!(
        store.put_if_match("site/other", b"x", &v2).unwrap(),
        Conditional::Conflict
    );
    assert_eq!(store.get("site/other").unwrap(), None);
    assert_eq!(store.list("site/").unwrap(), vec!["site/current"]);
}

/// Threads racing to create one key, then to swap it from one version: one winner each.
pub fn race(store: &dyn Store, threads: usize) {
    let key = "race/key";
    let created: Vec<Conditional> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| s.spawn(move || store.put_if_absent(key, format!("{i}").as_bytes()).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..threads)
        .filter(|&i| created[i] == Conditional::Written)
        .collect();
    assert_eq!(winners.len(), 1, "{created:?}");
    assert_eq!(
        store.get(key).unwrap().unwrap(),
        format!("{}", winners[0]).into_bytes()
    );
    let (_, version) = store.get_versioned(key).unwrap().unwrap();
    let swapped: Vec<Conditional> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let version = version.clone();
                s.spawn(move || {
                    store
                        .put_if_match(key, format!("swap {i}").as_bytes(), &version)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..threads)
        .filter(|&i| swapped[i] == Conditional::Written)
        .collect();
    assert_eq!(winners.len(), 1, "{swapped:?}");
    assert_eq!(
        store.get(key).unwrap().unwrap(),
        format!("swap {}", winners[0]).into_bytes()
    );
}

/// Copies and pending writes: the object at the new key has the source's bytes and the
/// given hash, replaces what was there, and stays as it was when either key is written
/// again or deleted; a missing source copies nothing; key names with characters a URL
/// escapes are copied too. A pending write reads back at once; syncs succeed.
pub fn copy(store: &dyn Store) {
    let from = "datasets/x/archive/2026-01-02/x +1%.csv";
    let to = "site/releases/r1/datasets/x/x.csv";
    let hash = crate::ledger::sha256_hex(b"old");
    store.put_with_hash(from, b"old", &hash).unwrap();
    store.put(to, b"stale").unwrap();
    assert_eq!(store.copy(from, to, &hash).unwrap(), Copied::Written);
    assert_eq!(store.get(to).unwrap().as_deref(), Some(&b"old"[..]));
    assert_eq!(store.stored_hash(to).unwrap(), Some(hash.clone()));
    // Writing either key again leaves the other as it was.
    store.put(from, b"new").unwrap();
    assert_eq!(store.get(to).unwrap().as_deref(), Some(&b"old"[..]));
    store
        .put("site/releases/r1/datasets/x/x.csv", b"other")
        .unwrap();
    assert_eq!(store.get(from).unwrap().as_deref(), Some(&b"new"[..]));
    let new = crate::ledger::sha256_hex(b"new");
    assert_eq!(store.copy(from, to, &new).unwrap(), Copied::Written);
    // Copied again: already there, nothing written.
    assert_eq!(store.copy(from, to, &new).unwrap(), Copied::Unchanged);
    store.delete(from).unwrap();
    assert_eq!(store.get(to).unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(
        store
            .copy(from, "site/releases/r1/none.csv", &hash)
            .unwrap(),
        Copied::NoSource
    );
    assert_eq!(store.get("site/releases/r1/none.csv").unwrap(), None);
    assert_eq!(
        store.list("site/releases/r1/").unwrap(),
        vec!["site/releases/r1/datasets/x/x.csv"]
    );
    // A pending write is read, listed and hashed like any other, before and after a sync.
    let page = crate::ledger::sha256_hex(b"<p>");
    store
        .put_pending("site/releases/r1/en/index.html", b"<p>", &page)
        .unwrap();
    assert_eq!(
        store
            .get("site/releases/r1/en/index.html")
            .unwrap()
            .as_deref(),
        Some(&b"<p>"[..])
    );
    store.sync().unwrap();
    store.sync().unwrap();
    assert_eq!(
        store.list("site/releases/r1/").unwrap(),
        vec![
            "site/releases/r1/datasets/x/x.csv",
            "site/releases/r1/en/index.html"
        ]
    );
    assert_eq!(
        store.stored_hash("site/releases/r1/en/index.html").unwrap(),
        Some(page)
    );
}
