//! Times the full-text search index of a rendered site release and prints a digest of its
//! files, to measure the site stage's indexing cost and check that it is deterministic:
//!
//! ```text
//! cargo run --release -p envgov-site --example search_index_time -- store/site/releases/{id}
//! ```
//!
//! Reads every file of the release (the pages as the site build returned them), indexes
//! them as [`envgov_site::search_index::index`] does in the build, and prints the pages
//! indexed, the index's files and bytes, the seconds it took, and an FNV-1a digest of every
//! index file's path and bytes (the same release gives the same digest).

use std::path::{Path, PathBuf};

fn files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.is_dir() {
            files(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "html") {
            let rel = path.strip_prefix(root).expect("under root");
            out.push((rel.to_string_lossy().into_owned(), std::fs::read(&path)?));
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: search_index_time RELEASE_DIR [zh|en]")?,
    );
    let mut pages = Vec::new();
    files(&root, &root, &mut pages)?;
    pages.sort();
    // An optional second argument keeps the pages under one language folder (`zh`, `en`).
    if let Some(lang) = std::env::args().nth(2) {
        pages.retain(|(p, _)| p.starts_with(&format!("{lang}/")));
    }
    let indexed = pages
        .iter()
        .filter(|(p, _)| envgov_site::search_index::is_indexed(p))
        .count();
    let started = std::time::Instant::now();
    let index = envgov_site::search_index::index(&pages)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for (path, bytes) in &index {
        for b in path.bytes().chain([0]).chain(bytes.iter().copied()) {
            digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let bytes: usize = index.iter().map(|(_, b)| b.len()).sum();
    println!(
        "pages indexed {indexed}, index files {}, bytes {bytes}, seconds {seconds:.2}, digest {digest:016x}",
        index.len()
    );
    Ok(())
}
