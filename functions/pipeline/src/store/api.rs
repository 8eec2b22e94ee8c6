//! The storage contract: the [`Store`] trait, its errors, versions and conditional writes,
//! and the key rules every backend applies.
//!
//! Stage: I/O edge (the bottom of the pipeline). Keys are `/`-separated and relative
//! (`raw/cems/...`); the layout is in `envgov_dataset::layout`. A missing object is
//! `Ok(None)`, not an error. It names no backend and no other module of the pipeline but
//! the ledger's hash.

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
    /// An object's bytes are not those its manifest describes (a copy found the source
    /// changed or damaged since it was hashed).
    #[error("{key}: sha256 {actual}, expected {expected}")]
    HashMismatch {
        key: String,
        expected: String,
        actual: String,
    },
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
            | StoreError::HashMismatch { .. }
            | StoreError::Unsupported { .. } => false,
            StoreError::S3 { retryable, .. } => *retryable,
        }
    }
}

/// The version of an object as a store reports it, for compare-and-swap with
/// [`Store::put_if_match`]: S3's `ETag`; the sha256 of the content on the local and memory
/// stores. Opaque: only compare it, or hand it back to the store that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub(super) String);

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

    /// [`Store::put_with_hash`], except that the object may become durable (survive a
    /// power cut) only at the next [`Store::sync`] rather than when this returns; readers
    /// see it, whole, at once either way. For many objects that must all be durable before
    /// one later write (a release's files before its manifest): one sync instead of one per
    /// object. The default is [`Store::put_with_hash`] (durable at once).
    fn put_pending(&self, key: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), StoreError> {
        self.put_with_hash(key, bytes, sha256_hex)
    }

    /// Makes durable every object written by [`Store::put_pending`] and [`Store::copy`]
    /// before it was called. The default has nothing to do (its writes are durable when
    /// they return).
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Makes the object at `to` the object stored at `from`, whose sha256 (lowercase hex)
    /// the caller knows from a manifest: [`Copied::Unchanged`] when `to` already holds an
    /// object of that hash (nothing written), [`Copied::NoSource`] when `from` does not
    /// exist, else [`Copied::Written`] (replacing any object at `to`, `sha256_hex` recorded
    /// as [`Store::put_with_hash`] does). Like [`Store::put_pending`], a copy may become
    /// durable only at the next [`Store::sync`].
    ///
    /// Backends copy without passing the bytes through the caller: a hard link on a local
    /// folder (its objects are never changed in place: every write is a new file renamed
    /// over the old), `CopyObject` on S3 (which checks the copy's sha256 against
    /// `sha256_hex`). The default reads the object and writes it again, after checking its
    /// sha256 against `sha256_hex` ([`StoreError::HashMismatch`] when it differs).
    fn copy(&self, from: &str, to: &str, sha256_hex: &str) -> Result<Copied, StoreError> {
        if self.stored_hash(to)?.as_deref() == Some(sha256_hex) {
            return Ok(Copied::Unchanged);
        }
        copy_by_reading(self, from, to, sha256_hex)
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

/// What [`Store::copy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// The object was written at the new key.
    Written,
    /// The new key already held an object of that sha256: nothing was written.
    Unchanged,
    /// There is no object to copy: nothing was written.
    NoSource,
}

/// [`Store::copy`] through the caller: reads `from`, checks its sha256, writes it at `to`.
pub(crate) fn copy_by_reading<S: Store + ?Sized>(
    store: &S,
    from: &str,
    to: &str,
    sha256_hex: &str,
) -> Result<Copied, StoreError> {
    let Some(bytes) = store.get(from)? else {
        return Ok(Copied::NoSource);
    };
    let actual = crate::ledger::sha256_hex(&bytes);
    if actual != sha256_hex {
        return Err(StoreError::HashMismatch {
            key: from.to_string(),
            expected: sha256_hex.to_string(),
            actual,
        });
    }
    store.put_with_hash(to, &bytes, sha256_hex)?;
    Ok(Copied::Written)
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

pub(super) fn unsupported<S: Store + ?Sized>(store: &S, key: &str, op: &'static str) -> StoreError {
    StoreError::Unsupported {
        key: key.to_string(),
        op,
        store: store.describe(),
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
