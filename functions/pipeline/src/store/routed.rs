//! A store that reads raw evidence from its own backend: every key under `raw/` goes to the
//! evidence store (the evidence bucket, under the very same key), every other key to the
//! main store.
//!
//! Stage: I/O edge, like [`crate::store`]. The deployment keeps raw deliveries in a bucket of
//! their own (versioning and object lock, see `infra/template.yaml`) and everything derived
//! in the store bucket; the pipeline still sees one store laid out as
//! `envgov_dataset::layout` describes. Routing is by key only: no key is rewritten.

use super::api::{
    Conditional, Copied, ObjectMeta, ObjectReader, Store, StoreError, Version, copy_by_reading,
};

/// The prefix of the keys that live in the evidence store.
pub const EVIDENCE_PREFIX: &str = "raw/";

/// One [`Store`] over two backends: `raw/...` in `evidence`, everything else in `main`.
pub struct RoutedStore {
    main: Box<dyn Store>,
    evidence: Box<dyn Store>,
}

impl RoutedStore {
    pub fn new(main: Box<dyn Store>, evidence: Box<dyn Store>) -> Self {
        Self { main, evidence }
    }

    /// The backend that holds a key.
    fn backend(&self, key: &str) -> &dyn Store {
        if key.starts_with(EVIDENCE_PREFIX) {
            self.evidence.as_ref()
        } else {
            self.main.as_ref()
        }
    }
}

impl Store for RoutedStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend(key).get(key)
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.backend(key).put(key, bytes)
    }

    /// The keys of [`Store::list_meta`]'s listing.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.list_meta(prefix)?.into_iter().map(|o| o.key).collect())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.backend(key).delete(key)
    }

    /// A prefix inside `raw/` lists the evidence store only; a prefix that `raw/` starts
    /// with (`""`, `"r"`, ...) merges the evidence store's `raw/` objects with the main
    /// store's other objects (a stray `raw/` object in the main store is not the evidence and
    /// is not shown); any other prefix lists the main store only.
    fn list_meta(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        if prefix.starts_with(EVIDENCE_PREFIX) {
            return self.evidence.list_meta(prefix);
        }
        if !EVIDENCE_PREFIX.starts_with(prefix) {
            return self.main.list_meta(prefix);
        }
        let mut objects: Vec<ObjectMeta> = self
            .evidence
            .list_meta(EVIDENCE_PREFIX)?
            .into_iter()
            .filter(|o| o.key.starts_with(prefix))
            .collect();
        objects.extend(
            self.main
                .list_meta(prefix)?
                .into_iter()
                .filter(|o| !o.key.starts_with(EVIDENCE_PREFIX)),
        );
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    fn open(&self, key: &str) -> Result<Option<ObjectReader<'_>>, StoreError> {
        self.backend(key).open(key)
    }

    fn describe(&self) -> String {
        format!(
            "{} ({EVIDENCE_PREFIX} from {})",
            self.main.describe(),
            self.evidence.describe()
        )
    }

    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        self.backend(key).put_with_hash(key, bytes, sha256_hex)
    }

    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.backend(key).stored_hash(key)
    }

    fn put_pending(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        self.backend(key).put_pending(key, bytes, sha256_hex)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.main.sync()?;
        self.evidence.sync()
    }

    /// By the backend when it holds both keys; across the two, read and written again.
    fn copy(&self, from: &str, to: &str, sha256_hex: &str) -> Result<Copied, StoreError> {
        if from.starts_with(EVIDENCE_PREFIX) == to.starts_with(EVIDENCE_PREFIX) {
            self.backend(to).copy(from, to, sha256_hex)
        } else if self.stored_hash(to)?.as_deref() == Some(sha256_hex) {
            Ok(Copied::Unchanged)
        } else {
            copy_by_reading(self, from, to, sha256_hex)
        }
    }

    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.backend(key).get_versioned(key)
    }

    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        self.backend(key).put_if_absent(key, bytes)
    }

    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        self.backend(key).put_if_match(key, bytes, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::sync::Arc;

    /// A handle on a shared memory store, so a test can look inside each backend.
    struct Shared(Arc<MemoryStore>);

    impl Store for Shared {
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
            self.0.describe()
        }
    }

    fn routed() -> (RoutedStore, Arc<MemoryStore>, Arc<MemoryStore>) {
        let main = Arc::new(MemoryStore::new());
        let evidence = Arc::new(MemoryStore::new());
        let store = RoutedStore::new(
            Box::new(Shared(main.clone())),
            Box::new(Shared(evidence.clone())),
        );
        (store, main, evidence)
    }

    #[test]
    fn raw_keys_are_read_from_the_evidence_store_under_the_same_key() {
        let (store, main, evidence) = routed();
        evidence
            .put("raw/msw/2026-01-31/msw.csv", b"evidence")
            .unwrap();
        main.put("raw/msw/2026-01-31/msw.csv", b"stray copy")
            .unwrap();
        assert_eq!(
            store.get("raw/msw/2026-01-31/msw.csv").unwrap().as_deref(),
            Some(&b"evidence"[..])
        );
        assert_eq!(store.get("raw/msw/2026-01-31/other.csv").unwrap(), None);
    }

    #[test]
    fn derived_keys_are_written_to_the_main_store_only() {
        let (store, main, evidence) = routed();
        store.put("runs/2026-01-31/report.json", b"{}").unwrap();
        store
            .put_with_hash("site/current", b"r1\n", &crate::ledger::sha256_hex(b"r1\n"))
            .unwrap();
        assert_eq!(
            main.get("runs/2026-01-31/report.json").unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        assert!(main.get("site/current").unwrap().is_some());
        assert!(evidence.list("").unwrap().is_empty());
        assert_eq!(
            store.stored_hash("site/current").unwrap(),
            Some(crate::ledger::sha256_hex(b"r1\n"))
        );
        store.delete("site/current").unwrap();
        assert_eq!(main.get("site/current").unwrap(), None);
    }

    #[test]
    fn raw_deliveries_go_to_the_evidence_store() {
        let (store, main, evidence) = routed();
        store.put("raw/cems/2026-01-31/a.hj212", b"##").unwrap();
        assert!(
            evidence
                .get("raw/cems/2026-01-31/a.hj212")
                .unwrap()
                .is_some()
        );
        assert!(main.list("").unwrap().is_empty());
    }

    #[test]
    fn listing_merges_raw_evidence_with_derived_keys_in_order() {
        let (store, main, evidence) = routed();
        evidence.put("raw/msw/2026-01-30/msw.csv", b"1").unwrap();
        evidence.put("raw/cems/2026-01-31/a.hj212", b"2").unwrap();
        main.put("rejects/msw/date=2026-01-30/rejects.csv", b"3")
            .unwrap();
        main.put("runs/raw-ledger.json", b"4").unwrap();
        main.put("raw/stray/2026-01-01/x.csv", b"5").unwrap();
        assert_eq!(
            store.list("raw/").unwrap(),
            vec!["raw/cems/2026-01-31/a.hj212", "raw/msw/2026-01-30/msw.csv"]
        );
        assert_eq!(
            store.list("raw/msw/").unwrap(),
            vec!["raw/msw/2026-01-30/msw.csv"]
        );
        assert_eq!(
            store.list("").unwrap(),
            vec![
                "raw/cems/2026-01-31/a.hj212",
                "raw/msw/2026-01-30/msw.csv",
                "rejects/msw/date=2026-01-30/rejects.csv",
                "runs/raw-ledger.json",
            ]
        );
        assert_eq!(
            store.list("r").unwrap(),
            store.list("").unwrap(),
            "every key here starts with r"
        );
        assert_eq!(store.list("ru").unwrap(), vec!["runs/raw-ledger.json"]);
        assert!(store.list("datasets/").unwrap().is_empty());
    }

    #[test]
    fn conditional_writes_reach_the_backend_that_holds_the_key() {
        let dir = std::env::temp_dir().join(format!("envgov-routed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The local store implements conditional writes; the `Shared` handle does not
        // forward them, so the trait's default answers `Unsupported` there.
        let store = RoutedStore::new(
            Box::new(crate::store::LocalStore::new(&dir)),
            Box::new(Shared(Arc::new(MemoryStore::new()))),
        );
        assert_eq!(
            store.put_if_absent("site/current", b"a\n").unwrap(),
            Conditional::Written
        );
        assert_eq!(
            store.put_if_absent("site/current", b"b\n").unwrap(),
            Conditional::Conflict
        );
        let (bytes, version) = store.get_versioned("site/current").unwrap().unwrap();
        assert_eq!(bytes, b"a\n");
        assert_eq!(
            store
                .put_if_match("site/current", b"c\n", &version)
                .unwrap(),
            Conditional::Written
        );
        assert_eq!(
            store
                .put_if_match("site/current", b"d\n", &version)
                .unwrap(),
            Conditional::Conflict
        );
        assert!(matches!(
            store.put_if_absent("raw/msw/2026-01-31/msw.csv", b"x"),
            Err(StoreError::Unsupported { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn describes_both_backends() {
        let (store, _, _) = routed();
        assert_eq!(store.describe(), "memory (raw/ from memory)");
    }
}
