//! Storage: one trait over the bucket layout ([`api`]), with a local-folder ([`local`]), an
//! in-memory ([`memory`]), an S3 ([`s3`]) and a routed ([`routed`]) backend;
//! [`open_store`] picks one from a location.
//!
//! Stage: I/O edge. Everything else in the pipeline takes and returns values; only the job
//! runner talks to a [`Store`]. Keys are `/`-separated and relative (`raw/cems/...`); the
//! layout is in `envgov_dataset::layout`. A missing object is `Ok(None)`, not an error.
//! The backends depend on [`api`] only, never on this facade or on each other; no module of
//! the store imports a pipeline stage.

mod api;
pub mod conformance;
pub mod fault;
mod local;
mod memory;
pub mod routed;
pub mod s3;

pub use api::{Conditional, Copied, ObjectMeta, ObjectReader, Store, StoreError, Version};
pub use local::LocalStore;
pub use memory::MemoryStore;

/// Opens a store from a location: `s3://BUCKET[/PREFIX]` is an [`s3::S3Store`] (see
/// its blocking rules), anything else a [`LocalStore`] rooted at that folder.
pub fn open_store(location: &str) -> Result<Box<dyn Store>, StoreError> {
    if location.starts_with("s3://") {
        Ok(Box::new(s3::S3Store::open(location)?))
    } else {
        Ok(Box::new(LocalStore::new(location)))
    }
}

#[cfg(test)]
mod tests {
    use super::conformance::{
        basic as exercise, conditional as exercise_conditional, copy as exercise_copy, race,
    };
    use super::*;

    #[test]
    fn memory_store_behaves_like_a_bucket() {
        exercise(&MemoryStore::new());
        exercise_copy(&MemoryStore::new());
        exercise_conditional(&MemoryStore::new());
        race(&MemoryStore::new(), 16);
    }

    #[test]
    fn local_store_conditional_writes_are_atomic() {
        let dir = std::env::temp_dir().join(format!("envgov-store-cond-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        exercise_conditional(&LocalStore::new(&dir));
        race(&LocalStore::new(dir.join("race")), 32);
        // No temporary or lock file is listed, and none of the temporary files is left.
        let store = LocalStore::new(&dir);
        assert_eq!(
            store.list("").unwrap(),
            vec!["race/race/key", "site/current"]
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("race/race"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn local_store_behaves_like_a_bucket() {
        let dir = std::env::temp_dir().join(format!("envgov-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        exercise(&LocalStore::new(&dir));
        exercise_copy(&LocalStore::new(dir.join("copy")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The default copy (the memory store's) reads the source and refuses bytes that are
    /// not those of the hash it was given, writing nothing.
    #[test]
    fn a_copy_through_the_caller_checks_the_hash() {
        let store = MemoryStore::new();
        store.put("a/x", b"bytes").unwrap();
        let claimed = crate::ledger::sha256_hex(b"other bytes");
        let err = store.copy("a/x", "b/x", &claimed).unwrap_err();
        match err {
            StoreError::HashMismatch {
                key,
                expected,
                actual,
            } => {
                assert_eq!(key, "a/x");
                assert_eq!(expected, claimed);
                assert_eq!(actual, crate::ledger::sha256_hex(b"bytes"));
            }
            other => panic!("{other}"),
        }
        assert_eq!(store.get("b/x").unwrap(), None);
    }

    /// On a local folder a copy is a hard link: the same file, not a second one.
    #[test]
    fn a_local_copy_is_a_hard_link() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("envgov-store-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = LocalStore::new(&dir);
        let hash = crate::ledger::sha256_hex(b"abc");
        store.put("a/x", b"abc").unwrap();
        assert_eq!(store.copy("a/x", "b/c/x", &hash).unwrap(), Copied::Written);
        let (a, b) = (
            std::fs::metadata(dir.join("a/x")).unwrap(),
            std::fs::metadata(dir.join("b/c/x")).unwrap(),
        );
        assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("b/c"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(leftovers, ["x"]);
        // The link's folder waits for the sync, which empties the pending list.
        assert_eq!(store.pending_folders(), 1);
        store.sync().unwrap();
        assert_eq!(store.pending_folders(), 0);
        // Linked again: the same file, nothing done. Another file of the same bytes (a
        // copy written whole) is read, found equal and left as it is.
        assert_eq!(
            store.copy("a/x", "b/c/x", &hash).unwrap(),
            Copied::Unchanged
        );
        store.put("b/c/x", b"abc").unwrap();
        let before = std::fs::metadata(dir.join("b/c/x")).unwrap().ino();
        assert_eq!(
            store.copy("a/x", "b/c/x", &hash).unwrap(),
            Copied::Unchanged
        );
        assert_eq!(std::fs::metadata(dir.join("b/c/x")).unwrap().ino(), before);
        assert_eq!(store.pending_folders(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
