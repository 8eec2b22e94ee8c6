//! The local-folder backend: a folder laid out exactly like the bucket, with durable
//! (fsynced) writes and conditional writes under a lock file; writes made durable in bulk
//! ([`Store::put_pending`], [`Store::copy`], then one [`Store::sync`]).
//!
//! Stage: I/O edge. Depends only on the storage contract ([`super::api`]) and the fault
//! injection of the crash tests ([`super::fault`]).

use super::api::{
    Conditional, Copied, ObjectMeta, ObjectReader, Store, StoreError, Version, check_key,
    copy_by_reading,
};
use super::fault;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A local folder laid out exactly like the bucket.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// The folders of objects written by `put_pending` or `copy` and not yet made durable
    /// by `sync` (shared by the clones of a store).
    pending: Arc<Mutex<BTreeSet<PathBuf>>>,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            pending: Arc::default(),
        }
    }

    /// How many folders hold writes not yet made durable (for tests).
    pub fn pending_folders(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Notes that `path` was moved into place without being made durable.
    fn note_pending(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if !pending.contains(dir) {
                pending.insert(dir.to_path_buf());
            }
        }
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

    /// Renames a complete temporary file into place and notes it pending (see
    /// [`Store::put_pending`]).
    fn move_pending(&self, tmp: &Path, path: &Path) -> std::io::Result<()> {
        std::fs::rename(tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(tmp);
        })?;
        self.note_pending(path);
        Ok(())
    }

    /// A temporary sibling of `path` of its own (the process and a sequence number).
    fn temp_sibling(path: &Path) -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        Self::sibling(path, &format!("{}-{n}.tmp", std::process::id()))
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
        let io = |source| StoreError::Io {
            key: key.to_string(),
            source,
        };
        fault::before_write();
        if let Some(parent) = path.parent() {
            create_dirs_durably(parent).map_err(io)?;
        }
        let tmp = Self::temp_sibling(path);
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

    /// A hard link, not a copy: every write to this store is a new file renamed into place
    /// (never a change in place), so the linked object keeps its bytes whatever later
    /// happens at either key. Linked under a temporary name and renamed over `to`, like a
    /// put. Not hashed again (the bytes are the source's, which were hashed when written:
    /// a release's manifest states that hash and `envgov verify` checks it). `to` is
    /// unchanged when it already is the source's file (the same inode: linked before),
    /// without reading it; another file at `to` is read and hashed. Where no link can be
    /// made (another file system, a file system without links), the default copy.
    fn copy(&self, from: &str, to: &str, sha256_hex: &str) -> Result<Copied, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let source = self.path(from)?;
        let path = self.path(to)?;
        let io = |source| StoreError::Io {
            key: to.to_string(),
            source,
        };
        if let Ok(there) = std::fs::metadata(&path) {
            let linked = std::fs::metadata(&source)
                .is_ok_and(|s| (s.dev(), s.ino()) == (there.dev(), there.ino()));
            if linked || self.stored_hash(to)?.as_deref() == Some(sha256_hex) {
                return Ok(Copied::Unchanged);
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = Self::temp_sibling(&path);
        fault::before_write();
        if let Err(e) = std::fs::hard_link(&source, &tmp) {
            if e.kind() == std::io::ErrorKind::NotFound && !source.exists() {
                return Ok(Copied::NoSource);
            }
            return copy_by_reading(self, from, to, sha256_hex);
        }
        fault::after_temp_write();
        self.move_pending(&tmp, &path).map_err(io)?;
        Ok(Copied::Written)
    }

    /// A temporary file renamed into place, neither fsynced: durable at the next
    /// [`Store::sync`].
    fn put_pending(&self, key: &str, bytes: &[u8], _sha256_hex: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let io = |source| StoreError::Io {
            key: key.to_string(),
            source,
        };
        fault::before_write();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = Self::temp_sibling(&path);
        std::fs::write(&tmp, bytes).map_err(io)?;
        fault::after_temp_write();
        self.move_pending(&tmp, &path).map_err(io)
    }

    /// One `syncfs` per file system holding a pending write (one in all, unless the store
    /// spans mounts): the kernel writes every dirty file and folder out at once, much
    /// faster than an fsync of each file and folder in turn.
    fn sync(&self) -> Result<(), StoreError> {
        let dirs =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut synced = BTreeSet::new();
        for dir in dirs {
            let io = |source| StoreError::Io {
                key: dir
                    .strip_prefix(&self.root)
                    .unwrap_or(&dir)
                    .display()
                    .to_string(),
                source,
            };
            let folder = std::fs::File::open(&dir).map_err(io)?;
            let device = std::os::unix::fs::MetadataExt::dev(&folder.metadata().map_err(io)?);
            if synced.insert(device) {
                rustix::fs::syncfs(&folder).map_err(|e| io(e.into()))?;
            }
        }
        Ok(())
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
