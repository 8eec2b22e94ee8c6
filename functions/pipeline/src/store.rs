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
    /// The backend does not implement an operation (a wrapper that does not forward the
    /// conditional writes, say). Never emulated non-atomically behind the caller's back.
    #[error("{op} of {key} is not supported by this store ({store})")]
    Unsupported {
        key: String,
        op: &'static str,
        store: String,
    },
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
            StoreError::BadKey { .. }
            | StoreError::Config { .. }
            | StoreError::Unsupported { .. } => false,
            StoreError::S3 { retryable, .. } => *retryable,
        }
    }
}

/// The version of an object as a store reports it, for compare-and-swap with
/// [`Store::put_if_match`]: S3's `ETag`; the sha256 of the content on the local and memory
/// stores. Opaque: only compare it, or hand it back to the store that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn new(tag: impl Into<String>) -> Self {
        Self(tag.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome of a conditional write. A failed precondition (S3's `412 Precondition
/// Failed`) is an expected answer, not an error: the caller re-reads and decides.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    /// The condition held and the object was written.
    Written,
    /// The object exists (`put_if_absent`) or changed since the version was read
    /// (`put_if_match`); nothing was written.
    Conflict,
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

    /// The size and version tag of every object under a prefix, sorted by key, without
    /// reading any content (what lets a night trust its ledger instead of re-hashing the
    /// whole raw history). The default reads every object: fine for the memory store only.
    fn list_meta(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut out = Vec::new();
        for key in self.list(prefix)? {
            if let Some(bytes) = self.get(&key)? {
                out.push(ObjectMeta {
                    size: bytes.len() as u64,
                    tag: crate::ledger::sha256_hex(&bytes),
                    key,
                });
            }
        }
        Ok(out)
    }

    /// Opens an object for reading as a stream, so that a large object can be hashed or
    /// checked without holding it in memory; `Ok(None)` when it does not exist. The default
    /// reads it whole.
    fn open(&self, key: &str) -> Result<Option<ObjectReader<'_>>, StoreError> {
        Ok(self
            .get(key)?
            .map(|b| Box::new(std::io::Cursor::new(b)) as ObjectReader<'_>))
    }

    /// Reads an object with its [`Version`]; `Ok(None)` when it does not exist.
    ///
    /// This and the two conditional writes below have no default that would emulate them
    /// with a read then a write (that is exactly the race they exist to close): a store that
    /// does not implement them answers [`StoreError::Unsupported`].
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        Err(unsupported(self, key, "get_versioned"))
    }

    /// Creates an object only if no object exists under the key (S3 `If-None-Match: *`),
    /// atomically: of several concurrent writers exactly one gets [`Conditional::Written`].
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        let _ = bytes;
        Err(unsupported(self, key, "put_if_absent"))
    }

    /// Replaces an object only if its current version is `version` (S3 `If-Match`),
    /// atomically. A missing object is a [`Conditional::Conflict`].
    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        let _ = (bytes, version);
        Err(unsupported(self, key, "put_if_match"))
    }
}

/// An object's size and version tag as a listing reports them, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Changes whenever the object is rewritten: S3's `ETag`; on a local folder the file's
    /// modification time and inode; on the memory store the sha256 of the content.
    pub tag: String,
}

/// A streamed object.
pub type ObjectReader<'a> = Box<dyn std::io::Read + Send + 'a>;

fn unsupported<S: Store + ?Sized>(store: &S, key: &str, op: &'static str) -> StoreError {
    StoreError::Unsupported {
        key: key.to_string(),
        op,
        store: store.describe(),
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

    /// A sibling of `path` for the store's own use (`.{name}.{suffix}`); [`Store::list`]
    /// never shows these.
    fn sibling(path: &Path, suffix: &str) -> PathBuf {
        path.with_file_name(format!(
            ".{}.{suffix}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("object")
        ))
    }

    /// Writes `bytes` to a fresh temporary sibling of `path` (creating the folders), so that
    /// it can be moved into place in one step. Each writer gets its own temporary file.
    ///
    /// Durability: the file is fsynced before it is returned (so a rename or link publishes
    /// complete bytes even across a power cut), and every folder created on the way is
    /// made durable in its parent. The caller fsyncs the parent folder after the rename
    /// ([`sync_dir`]). Every write to the store, the pointer switch included, goes through
    /// here, so everything written before `site/current` is durable before it switches.
    fn write_temp(&self, key: &str, path: &Path, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        use std::io::Write;
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let io = |source| StoreError::Io {
            key: key.to_string(),
            source,
        };
        fault::before_write();
        if let Some(parent) = path.parent() {
            create_dirs_durably(parent).map_err(io)?;
        }
        let tmp = Self::sibling(
            path,
            &format!(
                "{}-{}.tmp",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ),
        );
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        fault::after_temp_write();
        Ok(tmp)
    }

    /// Holds an exclusive advisory lock (`flock`) on the key's lock file while `f` runs.
    /// The operating system releases it if the process dies, so a crash leaves no stale lock.
    fn with_lock<T>(
        &self,
        key: &str,
        path: &Path,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let io = |source| StoreError::Io {
            key: key.to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(Self::sibling(path, "lock"))
            .map_err(io)?;
        lock.lock().map_err(io)?;
        let result = f();
        drop(lock);
        result
    }

    fn read_versioned(
        &self,
        key: &str,
        path: &Path,
    ) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        match std::fs::read(path) {
            Ok(b) => {
                let version = Version(crate::ledger::sha256_hex(&b));
                Ok(Some((b, version)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                key: key.to_string(),
                source,
            }),
        }
    }
}

/// Makes a folder's entries (a rename, link or removal in it) durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// [`sync_dir`] of a file's folder.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}

/// `create_dir_all`, then fsyncs the parent of every folder it created, so that the new
/// folders survive a power cut along with the files put in them.
fn create_dirs_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor {
        if d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cursor = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    for d in missing.iter().rev() {
        if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Fault injection for the crash tests: with `ENVGOV_FAULT_ABORT_AT_WRITE=N` in the
/// environment, the process aborts (`SIGABRT`, no unwinding, no destructors: as if killed)
/// during the N-th write to a [`LocalStore`] (1-based), after that write's temporary file
/// is complete and before it is renamed into place. A removal counts as a write and aborts
/// before it happens. Unset (or 0), nothing happens beyond counting.
pub mod fault {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The environment variable that arms the fault.
    pub const ABORT_AT_WRITE: &str = "ENVGOV_FAULT_ABORT_AT_WRITE";

    static WRITES: AtomicU64 = AtomicU64::new(0);

    fn armed() -> u64 {
        static AT: OnceLock<u64> = OnceLock::new();
        *AT.get_or_init(|| {
            std::env::var(ABORT_AT_WRITE)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        })
    }

    /// Writes (and removals) to local stores by this process so far.
    pub fn writes() -> u64 {
        WRITES.load(Ordering::SeqCst)
    }

    pub(super) fn before_write() {
        WRITES.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn after_temp_write() {
        let at = armed();
        if at != 0 && WRITES.load(Ordering::SeqCst) == at {
            std::process::abort();
        }
    }

    pub(super) fn before_remove() {
        before_write();
        after_temp_write();
    }
}

/// Whether a file name is one of the local store's own (temporary or lock files), not an
/// object.
fn is_internal_name(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(".tmp") || name.ends_with(".lock"))
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
        // Write to a temporary sibling and rename, so a reader never sees half a file;
        // then make the rename durable.
        let tmp = self.write_temp(key, &path, bytes)?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })?;
        sync_parent(&path).map_err(io)
    }

    /// The version is the sha256 of the content.
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        let path = self.path(key)?;
        self.read_versioned(key, &path)
    }

    /// A complete temporary file hard-linked into place: `link` fails if the name exists,
    /// atomically, and the object appears with all its bytes at once.
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        let path = self.path(key)?;
        let tmp = self.write_temp(key, &path, bytes)?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_parent(&path).map_err(|source| StoreError::Io {
                    key: key.to_string(),
                    source,
                })?;
                Ok(Conditional::Written)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Conditional::Conflict),
            Err(source) => Err(StoreError::Io {
                key: key.to_string(),
                source,
            }),
        }
    }

    /// Compare and rename under the key's lock file. Writers of the same key serialise on
    /// the lock, across threads and processes; plain [`Store::put`] does not take it.
    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        let path = self.path(key)?;
        let tmp = self.write_temp(key, &path, bytes)?;
        let result = self.with_lock(key, &path, || {
            match self.read_versioned(key, &path)? {
                Some((_, current)) if &current == version => {}
                _ => return Ok(Conditional::Conflict),
            }
            std::fs::rename(&tmp, &path).map_err(|source| StoreError::Io {
                key: key.to_string(),
                source,
            })?;
            sync_parent(&path).map_err(|source| StoreError::Io {
                key: key.to_string(),
                source,
            })?;
            Ok(Conditional::Written)
        });
        let _ = std::fs::remove_file(&tmp);
        result
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
                } else if is_internal_name(&entry.file_name().to_string_lossy()) {
                    continue;
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
        fault::before_remove();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io {
                key: key.to_string(),
                source,
            }),
        }
    }

    /// Size from the file's metadata; the tag is its modification time, inode and size
    /// (every write is a rename of a new file, so a rewrite always changes it).
    fn list_meta(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let mut out = Vec::new();
        for key in self.list(prefix)? {
            let path = self.path(&key)?;
            match std::fs::metadata(&path) {
                Ok(m) => out.push(ObjectMeta {
                    size: m.len(),
                    tag: format!(
                        "{}.{:09}-{}-{}",
                        m.mtime(),
                        m.mtime_nsec(),
                        m.ino(),
                        m.len()
                    ),
                    key,
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { key, source }),
            }
        }
        Ok(out)
    }

    fn open(&self, key: &str) -> Result<Option<ObjectReader<'_>>, StoreError> {
        let path = self.path(key)?;
        match std::fs::File::open(&path) {
            Ok(f) => Ok(Some(Box::new(std::io::BufReader::with_capacity(
                1 << 16,
                f,
            )))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
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

    /// The version is the sha256 of the content.
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        check_key(key)?;
        Ok(self
            .objects
            .lock()
            .expect("store lock")
            .get(key)
            .map(|b| (b.clone(), Version(crate::ledger::sha256_hex(b)))))
    }

    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        check_key(key)?;
        let mut objects = self.objects.lock().expect("store lock");
        if objects.contains_key(key) {
            return Ok(Conditional::Conflict);
        }
        objects.insert(key.to_string(), bytes.to_vec());
        Ok(Conditional::Written)
    }

    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        check_key(key)?;
        let mut objects = self.objects.lock().expect("store lock");
        match objects.get(key) {
            Some(b) if crate::ledger::sha256_hex(b) == version.0 => {
                objects.insert(key.to_string(), bytes.to_vec());
                Ok(Conditional::Written)
            }
            _ => Ok(Conditional::Conflict),
        }
    }
}

/// What every [`Store`] must do, as checks that panic on the first difference: run on the
/// memory and local stores by their unit tests, and on S3 by the end-to-end tests against a
/// real server, so that all backends are held to one definition of "behaves like a bucket".
pub mod conformance {
    use super::*;

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
                .map(|i| {
                    s.spawn(move || store.put_if_absent(key, format!("{i}").as_bytes()).unwrap())
                })
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
}

#[cfg(test)]
mod tests {
    use super::conformance::{basic as exercise, conditional as exercise_conditional, race};
    use super::*;

    #[test]
    fn memory_store_behaves_like_a_bucket() {
        exercise(&MemoryStore::new());
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
