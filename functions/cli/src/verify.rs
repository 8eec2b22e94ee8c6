//! `envgov verify PATH`: the reading and printing edge of `envgov_pipeline::verify`, fully
//! offline. It finds the signed manifest (in PATH, in a folder above it, in the zip, or
//! given with `--manifest`), hashes every file found (streamed, one at a time), and prints
//! what the library found, in plain words. Exit code 0 only when everything holds.

use anyhow::{Context as _, Result, bail};
use envgov_pipeline::ledger::fingerprint;
use envgov_pipeline::signing::{MANIFEST_NAME, PublicKey, SIGNATURE_NAME};
use envgov_pipeline::verify::{FoundFile, Outcome, Scope, verify};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// envgov's production public key (`keys/envgov.pub`), trusted when `--pubkey` is not given.
pub const PRODUCTION_KEY: &str = include_str!("../../../keys/envgov.pub");

#[derive(clap::Args, Debug, Clone)]
pub struct VerifyArgs {
    /// What to check: a downloaded site release, a dataset folder, a dated archive folder,
    /// one file, or an evidence bundle (.zip with manifest.json at its root).
    pub path: PathBuf,
    /// The signed manifest (`manifest.json` from the site's root) when PATH and the folders
    /// above it hold none.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The manifest's signature (default: the manifest's path followed by `.minisig`).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// The public key to trust: a minisign `.pub` file or its base64 line (default:
    /// envgov's production key, `keys/envgov.pub`, built into this program). A download's
    /// own `minisign.pub` proves nothing: pass it only for a store's development key.
    #[arg(long)]
    pub pubkey: Option<String>,
}

/// The manifest, its signature and what to compare them with.
struct Checked {
    manifest: Vec<u8>,
    signature: Option<String>,
    scope: Scope,
    found: Vec<FoundFile>,
    /// Where the manifest was read from, for the report.
    from: String,
}

pub fn run(args: &VerifyArgs) -> Result<ExitCode> {
    let key = trusted_key(args.pubkey.as_deref())?;
    let checked = gather(args)?;
    let outcome = verify(
        &checked.manifest,
        checked.signature.as_deref(),
        &key,
        &checked.scope,
        &checked.found,
    );
    print(&outcome, &checked, &key);
    Ok(if outcome.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn trusted_key(given: Option<&str>) -> Result<PublicKey> {
    let text = match given {
        None => PRODUCTION_KEY.to_string(),
        Some(g) if Path::new(g).is_file() => {
            std::fs::read_to_string(g).with_context(|| format!("reading the public key {g}"))?
        }
        Some(g) => g.to_string(),
    };
    PublicKey::parse(&text).context("the public key (--pubkey)")
}

fn gather(args: &VerifyArgs) -> Result<Checked> {
    // Absolute, so that `.` and `..` have a name.
    let path =
        &std::fs::canonicalize(&args.path).with_context(|| format!("{}", args.path.display()))?;
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_file() && is_zip(path)? {
        return zip_bundle(path);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("PATH has no file or folder name")?
        .to_string();
    if let Some(manifest) = &args.manifest {
        let (bytes, signature) = read_manifest(manifest, args.signature.as_deref())?;
        return Ok(Checked {
            manifest: bytes,
            signature,
            scope: Scope::Named {
                name,
                folder: meta.is_dir(),
            },
            found: found_files(path, "")?,
            from: manifest.display().to_string(),
        });
    }
    let Some((root, relative)) = manifest_folder(path)? else {
        bail!(
            "no {MANIFEST_NAME} in {} or any folder above it: download the release's {MANIFEST_NAME} and {SIGNATURE_NAME} (at the site's root) and pass --manifest",
            path.display()
        )
    };
    let manifest = root.join(MANIFEST_NAME);
    let (bytes, signature) = read_manifest(&manifest, args.signature.as_deref())?;
    let scope = match (&relative, meta.is_dir()) {
        (None, _) => Scope::Whole,
        (Some(rel), true) => Scope::Under(format!("{rel}/")),
        (Some(rel), false) => Scope::Under(rel.clone()),
    };
    let prefix = relative.map(|r| format!("{r}/")).unwrap_or_default();
    let found = if meta.is_dir() {
        found_files(path, &prefix)?
    } else {
        found_files(path, prefix.trim_end_matches('/'))?
    };
    Ok(Checked {
        manifest: bytes,
        signature,
        scope,
        found,
        from: manifest.display().to_string(),
    })
}

fn read_manifest(manifest: &Path, signature: Option<&Path>) -> Result<(Vec<u8>, Option<String>)> {
    let bytes = std::fs::read(manifest).with_context(|| format!("{}", manifest.display()))?;
    let signature_path = match signature {
        Some(s) => s.to_path_buf(),
        None => PathBuf::from(format!("{}.minisig", manifest.display())),
    };
    let signature = match std::fs::read_to_string(&signature_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("{}", signature_path.display())),
    };
    Ok((bytes, signature))
}

/// The folder holding `manifest.json`: PATH itself (a folder) or the nearest folder above
/// it, with PATH's path relative to it (`None` for PATH itself).
fn manifest_folder(path: &Path) -> Result<Option<(PathBuf, Option<String>)>> {
    let absolute = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
    if absolute.is_dir() && absolute.join(MANIFEST_NAME).is_file() {
        return Ok(Some((absolute, None)));
    }
    for folder in absolute.ancestors().skip(1) {
        if folder.join(MANIFEST_NAME).is_file() {
            let rel = absolute
                .strip_prefix(folder)
                .expect("an ancestor")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            return Ok(Some((folder.to_path_buf(), Some(rel))));
        }
    }
    Ok(None)
}

/// Every file under `path` (or `path` itself), hashed, named `{prefix}{relative path}`
/// (a single file is named `prefix`, or its own name when `prefix` is empty).
fn found_files(path: &Path, prefix: &str) -> Result<Vec<FoundFile>> {
    if path.is_file() {
        let name = if prefix.is_empty() {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            prefix.to_string()
        };
        return Ok(vec![hash_file(path, name)?]);
    }
    let mut out = Vec::new();
    let mut stack = vec![(path.to_path_buf(), prefix.to_string())];
    while let Some((dir, at)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("{}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = entry.path();
            if child.is_dir() {
                stack.push((child, format!("{at}{name}/")));
            } else {
                out.push(hash_file(&child, format!("{at}{name}"))?);
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn hash_file(path: &Path, name: String) -> Result<FoundFile> {
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let print = fingerprint(file).with_context(|| format!("reading {}", path.display()))?;
    Ok(FoundFile {
        path: name,
        bytes: print.bytes,
        sha256: print.sha256,
    })
}

fn is_zip(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let n = file.read(&mut magic)?;
    Ok(n == 4 && &magic == b"PK\x03\x04")
}

/// An evidence bundle: `manifest.json` and its signature at the zip's root, every other
/// entry hashed (streamed) and compared.
fn zip_bundle(path: &Path) -> Result<Checked> {
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{}: not a readable zip", path.display()))?;
    let (mut manifest, mut signature, mut found) = (None, None, Vec::new());
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("{}: entry {i}", path.display()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .with_context(|| format!("{}: entry {i} has no readable name", path.display()))?
            .into_owned();
        let context = || format!("{}: {name}", path.display());
        match name.as_str() {
            MANIFEST_NAME | SIGNATURE_NAME => {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).with_context(context)?;
                if name == MANIFEST_NAME {
                    manifest = Some(bytes);
                } else {
                    signature = Some(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            _ => {
                let print = fingerprint(&mut entry).with_context(context)?;
                found.push(FoundFile {
                    path: name,
                    bytes: print.bytes,
                    sha256: print.sha256,
                });
            }
        }
    }
    let Some(manifest) = manifest else {
        bail!(
            "{}: the zip has no {MANIFEST_NAME} at its root (an envgov evidence bundle has one)",
            path.display()
        )
    };
    Ok(Checked {
        manifest,
        signature,
        scope: Scope::Whole,
        found,
        from: format!("{} ({MANIFEST_NAME} inside)", path.display()),
    })
}

fn print(outcome: &Outcome, checked: &Checked, key: &PublicKey) {
    println!("manifest: {}", checked.from);
    if let Some(m) = &outcome.manifest {
        println!("  {} (data date {})", m.subject, m.data_date);
    }
    println!("trusted key: {}", key.id);
    if let Some(v) = &outcome.signature {
        println!("signature: good, by key {} ({})", v.key, v.trusted_comment);
    }
    if outcome.development_key() {
        println!(
            "note: the manifest says it is signed with a development key: fit for testing, not evidence"
        );
        if outcome.signature.is_none() {
            println!(
                "note: a development key is each store's own; its public key is minisign.pub at the release's root (--pubkey), if you trust where it came from"
            );
        }
    }
    println!(
        "checked: {} ({} files match)",
        outcome.scope,
        outcome.matched.len()
    );
    for problem in &outcome.problems {
        println!("FAIL {problem}");
    }
    if outcome.ok() {
        println!("OK: the signature holds and every file is as published");
    } else {
        println!(
            "NOT VERIFIED: {} problem(s) above",
            outcome.problems.len().max(1)
        );
    }
}

/// `envgov keygen`: a new signing key pair in minisign's format, unencrypted (the nightly
/// signs unattended): `{out}/envgov.key` (mode 0600; put it in SSM Parameter Store or a
/// file named by `ENVGOV_SIGNING_KEY_FILE`, never in the repository) and `{out}/envgov.pub`.
pub fn keygen(out: &Path) -> Result<ExitCode> {
    use envgov_pipeline::signing::SecretKey;
    let key = SecretKey::generate()?;
    std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
    let (secret, public) = (out.join("envgov.key"), out.join("envgov.pub"));
    for path in [&secret, &public] {
        if path.exists() {
            bail!("{} exists: not overwritten", path.display());
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&secret)
        .with_context(|| format!("{}", secret.display()))?;
    std::io::Write::write_all(&mut file, key.file_text().as_bytes())?;
    std::fs::write(&public, key.public().file_text())?;
    println!(
        "key id {}: secret key {} (keep it secret), public key {}",
        key.id(),
        secret.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}
