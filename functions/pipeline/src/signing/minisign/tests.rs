use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// RFC 8032, section 7.1, TEST 1: the secret key (seed) and its public key.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn rfc_key() -> SecretKey {
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&hex::decode(RFC8032_SEED).unwrap());
    SecretKey::from_seed(KeyId(*b"\x01\x02\x03\x04\x05\x06\x07\x08"), seed)
}

fn other_key() -> SecretKey {
    SecretKey::from_seed(KeyId([9; 8]), [7; 32])
}

#[test]
fn a_key_id_is_shown_as_minisign_shows_it() {
    // The bytes 01..08 read as a little-endian u64 are 0x0807060504030201.
    assert_eq!(rfc_key().id().to_string(), "0807060504030201");
}

#[test]
fn the_public_key_of_a_seed_is_the_one_of_rfc_8032() {
    assert_eq!(hex::encode(rfc_key().public().key), RFC8032_PUBLIC);
}

#[test]
fn keys_survive_their_files() {
    let key = rfc_key();
    let again = SecretKey::parse(&key.file_text()).unwrap();
    assert_eq!(again.public(), key.public());
    assert_eq!(again.id(), key.id());
    let public = key.public();
    assert_eq!(PublicKey::parse(&public.file_text()).unwrap(), public);
    // The base64 line alone, as `minisign -P` takes it.
    assert_eq!(PublicKey::parse(&public.base64()).unwrap(), public);
    // "Ed", the key id, the key: 42 bytes, 56 characters of base64.
    assert_eq!(public.base64().len(), 56);
    assert!(
        public
            .file_text()
            .starts_with("untrusted comment: minisign public key 0807060504030201\n")
    );
}

#[test]
fn a_damaged_or_encrypted_secret_key_is_refused() {
    let text = rfc_key().file_text();
    let line = text.lines().nth(1).unwrap();
    let mut bytes = BASE64.decode(line).unwrap();
    bytes[KEY_ID_AT + 20] ^= 1;
    assert!(matches!(
        SecretKey::parse(&BASE64.encode(&bytes)),
        Err(KeyError::Checksum)
    ));
    let mut bytes = BASE64.decode(line).unwrap();
    bytes[2..4].copy_from_slice(b"Sc");
    assert!(matches!(
        SecretKey::parse(&BASE64.encode(&bytes)),
        Err(KeyError::Encrypted)
    ));
    assert!(matches!(
        SecretKey::parse("not base64!"),
        Err(KeyError::Format { .. })
    ));
    assert!(matches!(PublicKey::parse(""), Err(KeyError::Format { .. })));
}

#[test]
fn a_signature_is_deterministic_and_verifies() {
    let key = rfc_key();
    let message = b"{\"files\":{}}\n";
    let one = sign(message, &key);
    assert_eq!(one, sign(message, &key));
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines.len(), 4);
    // sha256 of the message, computed with `printf '{"files":{}}\n' | sha256sum`.
    assert_eq!(
        lines[2],
        "trusted comment: envgov manifest sha256:715669b6894789f736958ebc7cc70c9fe25b4ee509cccc38d0908dcd1c6268af"
    );
    // "ED", the key id, 64 bytes of signature.
    assert_eq!(BASE64.decode(lines[1]).unwrap()[..2], *b"ED");
    let verified = verify(message, &one, &key.public()).unwrap();
    assert_eq!(verified.key, key.id());
    assert_eq!(verified.trusted_comment, &lines[2][17..]);
}

#[test]
fn a_changed_message_comment_or_key_fails_with_its_reason() {
    let key = rfc_key();
    let message = b"datasets/a.csv 3\n".to_vec();
    let signature = sign(&message, &key);
    let mut flipped = message.clone();
    flipped[0] ^= 1;
    assert_eq!(
        verify(&flipped, &signature, &key.public()),
        Err(SignatureError::Mismatch { key: key.id() })
    );
    // The trusted comment is signed too.
    let edited = signature.replace("envgov manifest", "envgov manifesto");
    assert_eq!(
        verify(&message, &edited, &key.public()),
        Err(SignatureError::Mismatch { key: key.id() })
    );
    let other = other_key();
    assert_eq!(
        verify(&message, &sign(&message, &other), &key.public()),
        Err(SignatureError::OtherKey {
            signed_by: other.id(),
            expected: key.id()
        })
    );
    assert!(matches!(
        verify(&message, "garbage", &key.public()),
        Err(SignatureError::Format(_))
    ));
    assert!(matches!(
        sign_with_comment(&message, &key, "two\nlines"),
        Err(KeyError::Comment)
    ));
}

/// The stock `minisign` (Debian's package): `None` after saying so when it is missing,
/// a failure under `CI=true` (a missing tool is an error there, never a skip).
fn minisign() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("minisign"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg =
            "minisign is not installed (Debian package `minisign`; ./scripts/test installs it)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("\n*** SKIPPED ***\n*** {msg} ***\n");
    }
    found
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("minisign runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("envgov-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_stock_minisign_verifies_what_envgov_signs() {
    let Some(minisign) = minisign() else { return };
    let dir = temp_dir("minisign-verifies");
    let key = rfc_key();
    let message = b"{\"release\":\"2026-01-31-abc\"}\n";
    let file = write(&dir, "manifest.json", message);
    write(
        &dir,
        "manifest.json.minisig",
        sign(message, &key).as_bytes(),
    );
    let out = run(Command::new(&minisign)
        .arg("-Vm")
        .arg(&file)
        .arg("-P")
        .arg(key.public().base64()));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("Signature and comment signature verified"),
        "{said}"
    );
    // And with the public key file envgov writes.
    let public = write(&dir, "envgov.pub", key.public().file_text().as_bytes());
    run(Command::new(&minisign)
        .arg("-Vm")
        .arg(&file)
        .arg("-p")
        .arg(&public));
    // One flipped byte: minisign refuses it too.
    write(&dir, "manifest.json", b"{\"release\":\"2026-01-31-abd\"}\n");
    let out = Command::new(&minisign)
        .arg("-Vm")
        .arg(&file)
        .arg("-P")
        .arg(key.public().base64())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn envgov_reads_minisign_keys_and_signs_as_minisign_does() {
    let Some(minisign) = minisign() else { return };
    let dir = temp_dir("minisign-keys");
    let (public, secret) = (dir.join("k.pub"), dir.join("k.key"));
    run(Command::new(&minisign)
        .args(["-G", "-W", "-f", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret));
    let key = SecretKey::parse(&std::fs::read_to_string(&secret).unwrap()).unwrap();
    let their_public = PublicKey::parse(&std::fs::read_to_string(&public).unwrap()).unwrap();
    assert_eq!(key.public(), their_public);
    // minisign signs with libsodium's Ed25519, deterministic as well: the same message,
    // key and trusted comment give the same signature lines.
    let message = b"one line\r\nand CJK \xe5\x8c\x97\xe4\xba\xac\n";
    let file = write(&dir, "m.txt", message);
    run(Command::new(&minisign)
        .arg("-S")
        .arg("-s")
        .arg(&secret)
        .arg("-m")
        .arg(&file)
        .args(["-t", "envgov test"]));
    let theirs = std::fs::read_to_string(dir.join("m.txt.minisig")).unwrap();
    let ours = sign_with_comment(message, &key, "envgov test").unwrap();
    let tail = |s: &str| s.lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(tail(&ours), tail(&theirs));
    assert_eq!(
        verify(message, &theirs, &their_public)
            .unwrap()
            .trusted_comment,
        "envgov test"
    );
    // minisign signs with a secret key file envgov wrote.
    let ours_key = write(&dir, "ours.key", rfc_key().file_text().as_bytes());
    run(Command::new(&minisign)
        .arg("-S")
        .arg("-s")
        .arg(&ours_key)
        .arg("-m")
        .arg(&file)
        .args(["-t", "envgov test"]));
    let theirs = std::fs::read_to_string(dir.join("m.txt.minisig")).unwrap();
    let ours = sign_with_comment(message, &rfc_key(), "envgov test").unwrap();
    assert_eq!(tail(&ours), tail(&theirs));
    let _ = std::fs::remove_dir_all(&dir);
}
