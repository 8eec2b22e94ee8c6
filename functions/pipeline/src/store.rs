//! Storage: one trait over the bucket layout, with a local-folder and an in-memory backend
//! here and the S3 backend in [`crate::s3`]; [`open_store`] picks one from a location.
//!
//! Stage: I/O edge. Everything else in the pipeline takes and returns values; only the job
//! runner talks to a [`Store`]. Keys are `/`-separated and relative (`raw/cems/...`); the
//! layout is in `envgov_dataset::layout`. A missing object is `Ok(None)`, not an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A storage failure, naming the key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage I/O on {key}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid storage key {key:?}: {reason}")]
    BadKey { key: String, reason: &'static str },
    /// An S3 operation failed after the SDK's own retries.
    #[error("S3 {op} of {key} failed ({}): {message}", if *retryable { "retryable" } else { "not retryable" })]
    S3 {
        key: String,
        /// The S3 operation (`GetObject`, `PutObject`, ...).
        op: &'static str,
        /// Throttling, a server error, a timeout or a connection failure: trying again later
        /// may succeed. Access denied, a missing bucket or a bad request will not.
        retryable: bool,
        message: String,
    },
    /// A store location that cannot be opened (malformed `s3://` URL, no region, ...).
    #[error("cannot open the store {location}: {message}")]
    Config { location: String, message: String },
}

impl StoreError {
    /// Whether retrying the same operation may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            StoreError::BadKey { .. } | StoreError::Config { .. } => false,
            StoreError::S3 { retryable, .. } => *retryable,
        }
    }
}

/// Object storage laid out like the S3 bucket.
pub trait Store: Send + Sync {
    /// Reads an object; `Ok(None)` when it does not exist.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes an object, replacing any previous content.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Lists the keys under a prefix, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Deletes an object; deleting a missing object is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// A human-readable description (`/path/to/store`, `memory`, `s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// Writes an object whose sha256 (lowercase hex) the caller has already computed, so
    /// that [`Store::stored_hash`] can later tell whether the content changed without reading
    /// it back. S3 keeps the hash in user metadata (`x-amz-meta-sha256`).
    fn put_with_hash(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        let _ = sha256_hex;
        self.put(key, bytes)
    }

    /// The sha256 (lowercase hex) of an object's content, `Ok(None)` when it does not exist
    /// or (S3) was written without a recorded hash. The default reads and hashes the object.
    fn stored_hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(key)?
            .map(|bytes| crate::ledger::sha256_hex(&bytes)))
    }
}

/// Opens a store from a location: `s3://BUCKET[/PREFIX]` is an [`crate::s3::S3Store`] (see
/// its blocking rules), anything else a [`LocalStore`] rooted at that folder.
pub fn open_store(location: &str) -> Result<Box<dyn Store>, StoreError> {
    if location.starts_with("s3://") {
        Ok(Box::new(crate::s3::S3Store::open(location)?))
    } else {
        Ok(Box::new(LocalStore::new(location)))
    }
}

pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::BadKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() || key.starts_with('/') || key.contains('\\') {
        return bad("must be a relative key with '/' separators");
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("must not contain empty, '.' or '..' segments");
    }
    Ok(())
}

/// A local folder laid out exactly like the bucket.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

impl Store for LocalStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                key: key.to_string(),
                source,
            }),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let io = |source| StoreError::Io {
            key: key.to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Write to a temporary sibling and rename, so a reader never sees half a file.
        let tmp = path.with_file_name(format!(
            ".{}.tmp",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("object")
        ));
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Walk from the deepest existing folder of the prefix.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path(dir_part)?
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(StoreError::Io {
                        key: prefix.to_string(),
                        source,
                    });
                }
            };
            for entry in entries {
                let entry = entry.map_err(|source| StoreError::Io {
                    key: prefix.to_string(),
                    source,
                })?;
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let ft = entry.file_type().map_err(|source| StoreError::Io {
                    key: prefix.to_string(),
                    source,
                })?;
                if ft.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&self.root) {
                    let key = rel.to_string_lossy().replace('\\', "/");
                    if key.starts_with(prefix) {
                        out.push(key);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io {
                key: key.to_string(),
                source,
            }),
        }
    }

    fn describe(&self) -> String {
        std::fs::canonicalize(&self.root)
            .unwrap_or_else(|_| self.root.clone())
            .display()
            .to_string()
    }
}

/// An in-memory store for unit tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(self.objects.lock().expect("store lock").get(key).cloned())
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        self.objects
            .lock()
            .expect("store lock")
            .insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        Ok(objects
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.objects.lock().expect("store lock").remove(key);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn Store) {
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

    #[test]
    fn memory_store_behaves_like_a_bucket() {
        exercise(&MemoryStore::new());
    }

    #[test]
    fn local_store_behaves_like_a_bucket() {
        let dir = std::env::temp_dir().join(format!("envgov-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        exercise(&LocalStore::new(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
