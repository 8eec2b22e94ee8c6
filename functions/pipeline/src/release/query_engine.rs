//! The in-browser query engine (DuckDB-WASM, `envgov_dataset::layout::QUERY_ENGINE_FILES`)
//! in the store and in every release.
//!
//! Stage: release (reads the store, and a local folder when one is given). The engine's
//! files are kept once in the store under `site-assets/duckdb-wasm-{version}/`
//! ([`layout::query_engine_key`]) with an index of their sha256 and size, and every release
//! copies them (a hard link on a local store, `CopyObject` on S3) like the datasets: a night
//! uploads them only when they are new or changed. A run given the folder that
//! `scripts/duckdb-wasm-assets` prints (the CLI's `--query-engine`) puts what the store lacks;
//! a run without it (the Lambda functions) uses what the store holds. With neither, the
//! release has no engine and its query pages say so.

use crate::error::{JobError, ReleaseError};
use crate::publication::PublishedFile;
use crate::store::Store;
use envgov_dataset::layout;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The index of the engine's files in the store, beside them.
pub const INDEX_NAME: &str = "index.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    version: String,
    /// File name → its sha256 (hex) and size.
    files: BTreeMap<String, IndexEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexEntry {
    sha256: String,
    bytes: u64,
}

fn index_key() -> String {
    layout::query_engine_key(INDEX_NAME)
}

/// Puts the engine's files of `dir` into the store where it does not hold the same bytes,
/// then their index. Each file is read whole once (the largest, the wasm, is 34 MB).
pub fn install(store: &dyn Store, dir: &Path) -> Result<(), JobError> {
    let mut files = BTreeMap::new();
    for name in layout::QUERY_ENGINE_FILES {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|source| ReleaseError::QueryEngine {
            path: path.display().to_string(),
            source,
        })?;
        let sha256 = crate::ledger::sha256_hex(&bytes);
        let key = layout::query_engine_key(name);
        if store.stored_hash(&key)?.as_deref() != Some(sha256.as_str()) {
            store.put_with_hash(&key, &bytes, &sha256)?;
            tracing::info!(%key, bytes = bytes.len(), "query engine file stored");
        }
        let bytes = bytes.len() as u64;
        files.insert(name.to_string(), IndexEntry { sha256, bytes });
    }
    let index = Index {
        version: layout::QUERY_ENGINE_VERSION.to_string(),
        files,
    };
    let text = serde_json::to_vec_pretty(&index).expect("an index serialises");
    if store.get(&index_key())?.as_deref() != Some(text.as_slice()) {
        store.put(&index_key(), &text)?;
    }
    Ok(())
}

/// The engine's files the store holds, by their path in a release
/// (`assets/duckdb-wasm-{version}/{file}`); `None` when the store has no complete set.
pub fn stored(store: &dyn Store) -> Result<Option<BTreeMap<String, PublishedFile>>, JobError> {
    let Some(text) = store.get(&index_key())? else {
        return Ok(None);
    };
    let index: Index = serde_json::from_slice(&text).map_err(|e| JobError::Corrupt {
        key: index_key(),
        message: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    for name in layout::QUERY_ENGINE_FILES {
        let Some(entry) = index.files.get(name) else {
            return Ok(None);
        };
        out.insert(
            format!("{}/{name}", layout::QUERY_ENGINE_DIR),
            PublishedFile {
                sha256: entry.sha256.clone(),
                bytes: entry.bytes,
                key: layout::query_engine_key(name),
            },
        );
    }
    Ok(Some(out))
}

/// The engine's files for a release: installed from `dir` first when one is given.
pub fn for_release(
    store: &dyn Store,
    dir: Option<&Path>,
) -> Result<Option<BTreeMap<String, PublishedFile>>, JobError> {
    if let Some(dir) = dir {
        install(store, dir)?;
    }
    stored(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn installs_once_and_lists_the_files_by_their_release_path() {
        let dir = std::env::temp_dir().join(format!("envgov-query-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in layout::QUERY_ENGINE_FILES {
            std::fs::write(dir.join(name), name.as_bytes()).unwrap();
        }
        let store = MemoryStore::default();
        assert_eq!(for_release(&store, None).unwrap(), None);
        let files = for_release(&store, Some(&dir)).unwrap().unwrap();
        // Each file's bytes are its name: "duckdb-eh.wasm" is 14 bytes, and its sha256 is
        // that of the name (sha256sum of the text, by hand: see below).
        let wasm = &files["assets/duckdb-wasm-1.28.0/duckdb-eh.wasm"];
        assert_eq!(wasm.bytes, 14);
        assert_eq!(wasm.key, "site-assets/duckdb-wasm-1.28.0/duckdb-eh.wasm");
        assert_eq!(
            store.get(&wasm.key).unwrap().as_deref(),
            Some(&b"duckdb-eh.wasm"[..])
        );
        assert_eq!(files.len(), layout::QUERY_ENGINE_FILES.len());
        // Without the folder (the Lambda functions), the store's copy is used.
        assert_eq!(for_release(&store, None).unwrap(), Some(files));
        // A folder missing a file is an error naming it.
        std::fs::remove_file(dir.join("duckdb-eh.wasm")).unwrap();
        let err = for_release(&store, Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("duckdb-eh.wasm"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
