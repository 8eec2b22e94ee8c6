//! Verifying a download against its signed manifest: the signature (minisign, the key the
//! caller trusts), the manifest, and every file's sha256 and size, with every problem said in
//! plain words (which file, expected and actual hash, missing or extra files, a signature by
//! another key, an edited manifest).
//!
//! Stage: none (pure: the manifest's bytes, its signature and the list of files found, each
//! already hashed, in; an [`Outcome`] out). `envgov verify` reads folders and zips, hashes
//! (streamed) and prints; nothing here reads a file, and no path named by a manifest is ever
//! opened: only the files found are compared with it.
//!
//! What is checked ([`Scope`]):
//! - a whole signed folder or zip (a site release, an evidence bundle): every file of the
//!   manifest's `files` present with its hash and size, and no other file;
//! - a part of one (a dataset folder or a single file inside a downloaded release): the
//!   manifest's files under that part (or, for a folder with none, its archives);
//! - a folder or file downloaded apart from its manifest (`--manifest`): found in the manifest
//!   by its name ([`Scope::Named`]): a file is genuine if it equals one the manifest lists
//!   under that name; a folder is the one whose listed files it matches best.

use crate::signing::manifest::{
    MANIFEST_NAME, ManifestEntry, SIGNATURE_NAME, SignedManifest, is_safe_path,
};
use crate::signing::minisign::{PublicKey, SignatureError, Verified, verify as check_signature};
use std::collections::BTreeMap;
use std::fmt;

/// A file found in what is checked, hashed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// `/`-separated: relative to the manifest's folder ([`Scope::Whole`], [`Scope::Under`]),
    /// or to the folder checked ([`Scope::Named`]).
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Which part of the manifest the files found are compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole folder whose root holds the manifest: its `files`, nothing else (the
    /// manifest and its signature aside).
    Whole,
    /// The files listed under a folder (`datasets/cems-daily/`, with the final `/`) or one
    /// file (`datasets/cems-daily/cems-daily.csv`).
    Under(String),
    /// A folder or file downloaded apart from its manifest, known by its name.
    Named { name: String, folder: bool },
}

/// One thing wrong, in words ([`fmt::Display`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NoSignature,
    Signature(SignatureError),
    Unreadable(String),
    UnsafePath(String),
    NotInManifest(String),
    Changed {
        path: String,
        expected_sha256: String,
        actual_sha256: String,
        expected_bytes: u64,
        actual_bytes: u64,
    },
    Missing(String),
    Extra(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoSignature => write!(
                f,
                "{SIGNATURE_NAME} is missing: without the signature nothing shows who published the manifest"
            ),
            Problem::Signature(e) => write!(f, "signature: {e}"),
            Problem::Unreadable(e) => {
                write!(
                    f,
                    "{MANIFEST_NAME} cannot be read as an envgov manifest: {e}"
                )
            }
            Problem::UnsafePath(p) => write!(
                f,
                "the manifest names {p:?}, which is not a plain relative path: not checked"
            ),
            Problem::NotInManifest(name) => {
                write!(
                    f,
                    "{name}: the manifest lists no file or folder of that name"
                )
            }
            Problem::Changed {
                path,
                expected_sha256,
                actual_sha256,
                expected_bytes,
                actual_bytes,
            } => write!(
                f,
                "{path}: changed: its sha256 is {actual_sha256} ({actual_bytes} bytes), the manifest says {expected_sha256} ({expected_bytes} bytes)"
            ),
            Problem::Missing(path) => write!(
                f,
                "{path}: missing: the manifest lists it, it is not in what was checked"
            ),
            Problem::Extra(path) => write!(
                f,
                "{path}: extra: not in the manifest (a file that was not published with it)"
            ),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The signature, when it holds.
    pub signature: Option<Verified>,
    /// The manifest, when it could be read (even if its signature does not hold).
    pub manifest: Option<SignedManifest>,
    /// What of the manifest was compared: `the whole manifest`, a folder or a file path.
    pub scope: String,
    /// Files whose sha256 and size match the manifest.
    pub matched: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Outcome {
    /// Everything holds: the signature, the manifest, every file, nothing missing or extra.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.signature.is_some() && !self.matched.is_empty()
    }

    /// The manifest says it was signed with a development key.
    pub fn development_key(&self) -> bool {
        self.manifest.as_ref().is_some_and(|m| m.development_key)
    }
}

/// Verifies the files `found` against the manifest `manifest_bytes`, its signature text
/// `signature` (absent when the download has none) and the trusted `key`.
pub fn verify(
    manifest_bytes: &[u8],
    signature: Option<&str>,
    key: &PublicKey,
    scope: &Scope,
    found: &[FoundFile],
) -> Outcome {
    let mut problems = Vec::new();
    let verified = match signature {
        None => {
            problems.push(Problem::NoSignature);
            None
        }
        Some(text) => match check_signature(manifest_bytes, text, key) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(Problem::Signature(e));
                None
            }
        },
    };
    let manifest = match SignedManifest::parse(manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            problems.push(Problem::Unreadable(e.to_string()));
            return Outcome {
                signature: verified,
                manifest: None,
                scope: describe(scope),
                matched: Vec::new(),
                problems,
            };
        }
    };
    let entries = Entries::new(&manifest, scope, &mut problems);
    let (scope_text, expected, found) = resolve(scope, &entries, found);
    let matched = match expected {
        Some(expected) => compare(&expected, &found, &mut problems),
        None => {
            problems.push(Problem::NotInManifest(scope_text.clone()));
            Vec::new()
        }
    };
    Outcome {
        signature: verified,
        manifest: Some(manifest),
        scope: scope_text,
        matched,
        problems,
    }
}

fn describe(scope: &Scope) -> String {
    match scope {
        Scope::Whole => "the whole manifest".into(),
        Scope::Under(p) => p.clone(),
        Scope::Named { name, .. } => name.clone(),
    }
}

type Listed<'a> = BTreeMap<&'a str, &'a ManifestEntry>;

/// The manifest's entries with safe paths: its `files`, and its `archives` (left out for the
/// whole folder: they are published beside it); unsafe paths are reported.
struct Entries<'a> {
    files: Listed<'a>,
    archives: Listed<'a>,
}

impl<'a> Entries<'a> {
    fn new(manifest: &'a SignedManifest, scope: &Scope, problems: &mut Vec<Problem>) -> Self {
        let mut safe = |map: &'a BTreeMap<String, ManifestEntry>| -> Listed<'a> {
            let mut out = BTreeMap::new();
            for (path, entry) in map {
                if is_safe_path(path) {
                    out.insert(path.as_str(), entry);
                } else {
                    problems.push(Problem::UnsafePath(path.clone()));
                }
            }
            out
        };
        let files = safe(&manifest.files);
        let archives = match scope {
            Scope::Whole => BTreeMap::new(),
            _ => safe(&manifest.archives),
        };
        Entries { files, archives }
    }

    fn all(&self) -> impl Iterator<Item = (&'a str, &'a ManifestEntry)> + '_ {
        self.files
            .iter()
            .chain(&self.archives)
            .map(|(p, e)| (*p, *e))
    }

    fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path) || self.archives.contains_key(path)
    }

    /// The entries under a folder prefix (ending in `/`) or of one path: the folder's files,
    /// or, when it has none, its archives (a release folder holds no archive).
    fn under(&self, prefix: &str) -> Option<Listed<'a>> {
        let pick = |map: &Listed<'a>| -> Listed<'a> {
            map.iter()
                .filter(|(p, _)| {
                    if prefix.ends_with('/') {
                        p.starts_with(prefix)
                    } else {
                        **p == prefix
                    }
                })
                .map(|(p, e)| (*p, *e))
                .collect()
        };
        let files = pick(&self.files);
        let picked = if files.is_empty() {
            pick(&self.archives)
        } else {
            files
        };
        (!picked.is_empty()).then_some(picked)
    }
}

/// The scope in words, the entries expected (path → entry; `None`: nothing of that name),
/// and the files found with paths in the manifest's terms.
fn resolve<'a>(
    scope: &Scope,
    entries: &Entries<'a>,
    found: &[FoundFile],
) -> (String, Option<Listed<'a>>, Vec<FoundFile>) {
    match scope {
        Scope::Whole => {
            let found = found
                .iter()
                .filter(|f| f.path != MANIFEST_NAME && f.path != SIGNATURE_NAME)
                .cloned()
                .collect();
            (describe(scope), Some(entries.files.clone()), found)
        }
        Scope::Under(prefix) => (prefix.clone(), entries.under(prefix), found.to_vec()),
        Scope::Named {
            name,
            folder: false,
        } => {
            let (expected, found) = named_file(entries, name, found.first());
            (name.clone(), expected, found)
        }
        Scope::Named { name, folder: true } => match locate_folder(entries, name, found) {
            Some(prefix) => {
                let found = found
                    .iter()
                    .map(|f| FoundFile {
                        path: format!("{prefix}{}", f.path),
                        ..f.clone()
                    })
                    .collect();
                (prefix.clone(), entries.under(&prefix), found)
            }
            None => (name.clone(), None, found.to_vec()),
        },
    }
}

/// A single file known by its name: the listed file of that name it equals, else every
/// listed file of that name (it differs from each).
fn named_file<'a>(
    entries: &Entries<'a>,
    name: &str,
    file: Option<&FoundFile>,
) -> (Option<Listed<'a>>, Vec<FoundFile>) {
    let candidates: Listed<'a> = entries
        .all()
        .filter(|(p, _)| p.rsplit('/').next() == Some(name))
        .collect();
    let same = candidates
        .iter()
        .find(|(_, e)| file.is_some_and(|f| e.sha256 == f.sha256 && e.bytes == f.bytes));
    let expected: Listed<'a> = match same {
        Some((p, e)) => BTreeMap::from([(*p, *e)]),
        None => candidates.clone(),
    };
    let found = expected
        .keys()
        .filter_map(|p| {
            file.map(|f| FoundFile {
                path: p.to_string(),
                ..f.clone()
            })
        })
        .collect();
    ((!expected.is_empty()).then_some(expected), found)
}

/// The listed folder (`…/{name}/`) that the files found (relative to the folder) match best:
/// the most of them listed under it, then the shortest path.
fn locate_folder(entries: &Entries<'_>, name: &str, found: &[FoundFile]) -> Option<String> {
    let marker = format!("{name}/");
    let mut candidates: Vec<String> = Vec::new();
    for (path, _) in entries.all() {
        let mut at = 0;
        while let Some(i) = path[at..].find(&marker) {
            let start = at + i;
            if start == 0 || path.as_bytes()[start - 1] == b'/' {
                let prefix = path[..start + marker.len()].to_string();
                if !candidates.contains(&prefix) {
                    candidates.push(prefix);
                }
            }
            at = start + 1;
        }
    }
    let score = |p: &str| {
        found
            .iter()
            .filter(|f| entries.contains(&format!("{p}{}", f.path)))
            .count()
    };
    candidates.into_iter().max_by(|a, b| {
        score(a)
            .cmp(&score(b))
            .then_with(|| b.len().cmp(&a.len()))
            .then_with(|| b.cmp(a))
    })
}

/// Compares the files found with the entries expected: returns the paths that match, and
/// reports each changed, missing and extra file.
fn compare(expected: &Listed<'_>, found: &[FoundFile], problems: &mut Vec<Problem>) -> Vec<String> {
    let by_path: BTreeMap<&str, &FoundFile> = found.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut matched = Vec::new();
    for (path, entry) in expected {
        match by_path.get(path) {
            None => problems.push(Problem::Missing(path.to_string())),
            Some(f) if f.sha256 == entry.sha256 && f.bytes == entry.bytes => {
                matched.push(path.to_string())
            }
            Some(f) => problems.push(Problem::Changed {
                path: path.to_string(),
                expected_sha256: entry.sha256.clone(),
                actual_sha256: f.sha256.clone(),
                expected_bytes: entry.bytes,
                actual_bytes: f.bytes,
            }),
        }
    }
    for path in by_path.keys() {
        if !expected.contains_key(path) {
            problems.push(Problem::Extra(path.to_string()));
        }
    }
    matched
}

#[cfg(test)]
mod tests;
