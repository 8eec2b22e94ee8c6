//! Ed25519 keys and signatures in the minisign format, so that the stock `minisign -V`
//! verifies what envgov signs and envgov reads keys that `minisign -G -W` writes.
//!
//! Stage: none (pure values: bytes in, text out; no I/O, no clock). Imports nothing from the
//! pipeline.
//!
//! # The format (minisign's documentation, "Signature format" and "Key format")
//!
//! - Public key file: `untrusted comment: minisign public key {KEY ID}` then
//!   `base64("Ed" ‖ key id (8 bytes) ‖ Ed25519 public key (32 bytes))`.
//! - Secret key file (unencrypted, as `minisign -G -W` writes it): a comment line then
//!   `base64("Ed" ‖ kdf "\0\0" ‖ "B2" ‖ salt (32) ‖ opslimit (8) ‖ memlimit (8) ‖ key id (8)
//!   ‖ seed ‖ public key (64) ‖ checksum (32))`, the checksum being BLAKE2b-256 of
//!   `"Ed" ‖ key id ‖ seed ‖ public key` (minisign 0.11 leaves it zero in an unencrypted
//!   key; envgov writes it and checks it when it is not zero). A password-protected key
//!   (kdf `Sc`) is refused.
//! - Signature file (`.minisig`), the prehashed `ED` form every minisign since 0.8 verifies
//!   (0.11, Debian's, refuses nothing else by default):
//!   `untrusted comment: …`, `base64("ED" ‖ key id ‖ Ed25519(BLAKE2b-512(message)))`,
//!   `trusted comment: {text}`, `base64(Ed25519(signature ‖ text))`.
//!
//! Ed25519 (RFC 8032) is deterministic: the same message and key give the same signature
//! file, byte for byte. Signatures are checked with jedisct1's `minisign-verify`, an
//! implementation independent of the one that signs here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use ed25519_dalek::{Signer, SigningKey};
use std::fmt;

const KEY_ALG: &[u8; 2] = b"Ed";
const PREHASHED_ALG: &[u8; 2] = b"ED";
const CHECKSUM_ALG: &[u8; 2] = b"B2";
const NO_KDF: &[u8; 2] = &[0, 0];
const UNTRUSTED: &str = "untrusted comment: ";
const TRUSTED: &str = "trusted comment: ";
/// Bytes of a decoded secret key: algorithms (6), salt (32), limits (16), key id (8),
/// secret key (64), checksum (32).
const SECRET_KEY_BYTES: usize = 158;
const KEY_ID_AT: usize = 54;

/// Why a key or signature could not be read, or a key not made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the {what} is not in the minisign format: {reason}")]
    Format { what: &'static str, reason: String },
    #[error(
        "the secret key is protected by a password; envgov signs unattended, so give it a key without one (`minisign -G -W`, or `envgov keygen`)"
    )]
    Encrypted,
    #[error("the secret key is damaged: its checksum does not match its key")]
    Checksum,
    #[error("the trusted comment must be one line without control characters")]
    Comment,
    #[error("no randomness for a new key: {0}")]
    Random(#[source] getrandom::Error),
}

/// Why a signature does not verify, in words a reader of the report understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature file is not a minisign signature: {0}")]
    Format(String),
    #[error(
        "the manifest is signed by another key (key id {signed_by}), not by the expected key {expected}"
    )]
    OtherKey { signed_by: KeyId, expected: KeyId },
    #[error(
        "the signature does not match the manifest (key id {key}): the manifest was changed after it was signed, or the signature is not genuine"
    )]
    Mismatch { key: KeyId },
    #[error("the signature uses minisign's legacy (not prehashed) form, which envgov never writes")]
    Legacy,
}

/// A minisign key id: 8 bytes, shown as minisign shows it (16 upper-case hex digits of the
/// bytes read as a little-endian number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// An Ed25519 public key with its minisign key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub id: KeyId,
    pub key: [u8; 32],
}

/// An Ed25519 secret key with its minisign key id. Its `Debug` shows the key id only.
#[derive(Clone)]
pub struct SecretKey {
    id: KeyId,
    signing: SigningKey,
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.signing == other.signing
    }
}

impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

/// The base64 line of a key or signature file: the line after the comment, or the only line.
fn payload_line<'a>(text: &'a str, what: &'static str) -> Result<&'a str, KeyError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or(KeyError::Format {
        what,
        reason: "it is empty".into(),
    })?;
    if first.starts_with(UNTRUSTED) {
        lines.next().ok_or(KeyError::Format {
            what,
            reason: "it has a comment line but no key line".into(),
        })
    } else {
        Ok(first)
    }
}

fn decode(line: &str, what: &'static str) -> Result<Vec<u8>, KeyError> {
    BASE64.decode(line).map_err(|e| KeyError::Format {
        what,
        reason: format!("the key line is not base64 ({e})"),
    })
}

fn key_id(bytes: &[u8]) -> KeyId {
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[..8]);
    KeyId(id)
}

impl PublicKey {
    /// Reads a public key: a `.pub` file's text, or its base64 line alone.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        let bytes = decode(payload_line(text, WHAT)?, WHAT)?;
        if bytes.len() != 42 || &bytes[..2] != KEY_ALG {
            return Err(KeyError::Format {
                what: WHAT,
                reason: format!("{} bytes, expected 42 starting with \"Ed\"", bytes.len()),
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[10..]);
        Ok(PublicKey {
            id: key_id(&bytes[2..]),
            key,
        })
    }

    /// The base64 line (what `minisign -P` takes).
    pub fn base64(&self) -> String {
        let mut bytes = KEY_ALG.to_vec();
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&self.key);
        BASE64.encode(bytes)
    }

    /// The `.pub` file minisign writes.
    pub fn file_text(&self) -> String {
        format!(
            "{UNTRUSTED}minisign public key {}\n{}\n",
            self.id,
            self.base64()
        )
    }
}

impl SecretKey {
    /// A new key: a random Ed25519 seed and key id.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        let mut id = [0u8; 8];
        getrandom::fill(&mut seed).map_err(KeyError::Random)?;
        getrandom::fill(&mut id).map_err(KeyError::Random)?;
        Ok(Self::from_seed(KeyId(id), seed))
    }

    /// The key of an Ed25519 seed (RFC 8032's 32-byte secret key).
    pub fn from_seed(id: KeyId, seed: [u8; 32]) -> Self {
        SecretKey {
            id,
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// Reads an unencrypted minisign secret key: a `.key` file's text or its base64 line.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "secret key";
        let bytes = decode(payload_line(text, WHAT)?, WHAT)?;
        if bytes.len() != SECRET_KEY_BYTES || &bytes[..2] != KEY_ALG {
            return Err(KeyError::Format {
                what: WHAT,
                reason: format!(
                    "{} bytes, expected {SECRET_KEY_BYTES} starting with \"Ed\"",
                    bytes.len()
                ),
            });
        }
        if &bytes[2..4] != NO_KDF {
            return Err(KeyError::Encrypted);
        }
        let id = key_id(&bytes[KEY_ID_AT..]);
        let secret = &bytes[KEY_ID_AT + 8..KEY_ID_AT + 8 + 64];
        // `minisign -G -W` (0.11) leaves the checksum of an unencrypted key zero; the
        // public half below is checked either way.
        let stored = &bytes[KEY_ID_AT + 72..];
        if stored.iter().any(|b| *b != 0) && checksum(id, secret) != stored {
            return Err(KeyError::Checksum);
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&secret[..32]);
        let key = Self::from_seed(id, seed);
        // The second half is the public key: a mismatch is a damaged key.
        if key.signing.verifying_key().as_bytes() != &secret[32..] {
            return Err(KeyError::Checksum);
        }
        Ok(key)
    }

    /// The unencrypted `.key` file (as `minisign -G -W` writes it).
    pub fn file_text(&self) -> String {
        let mut secret = self.signing.to_bytes().to_vec();
        secret.extend_from_slice(self.signing.verifying_key().as_bytes());
        let mut bytes = KEY_ALG.to_vec();
        bytes.extend_from_slice(NO_KDF);
        bytes.extend_from_slice(CHECKSUM_ALG);
        bytes.extend_from_slice(&[0u8; 48]);
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&secret);
        bytes.extend_from_slice(&checksum(self.id, &secret));
        format!(
            "{UNTRUSTED}minisign secret key {} (unencrypted; envgov)\n{}\n",
            self.id,
            BASE64.encode(bytes)
        )
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self.signing.verifying_key().to_bytes(),
        }
    }
}

/// BLAKE2b-256 of `"Ed" ‖ key id ‖ secret key`: the secret key file's checksum.
fn checksum(id: KeyId, secret: &[u8]) -> Vec<u8> {
    let mut h = Blake2b::<U32>::new();
    h.update(KEY_ALG);
    h.update(id.0);
    h.update(secret);
    h.finalize().to_vec()
}

/// The trusted comment [`sign`] writes: the message's sha256, so that what `minisign -V`
/// prints can be compared with `sha256sum`.
pub fn default_trusted_comment(message: &[u8]) -> String {
    use sha2::Sha256;
    format!(
        "envgov manifest sha256:{}",
        hex::encode(Sha256::digest(message))
    )
}

/// Signs `message`: the text of its `.minisig` file, with [`default_trusted_comment`].
pub fn sign(message: &[u8], key: &SecretKey) -> String {
    let comment = default_trusted_comment(message);
    sign_with_comment(message, key, &comment).expect("the default comment is one line")
}

/// Signs `message` with a trusted comment of one's own (one line, signed too).
pub fn sign_with_comment(
    message: &[u8],
    key: &SecretKey,
    trusted_comment: &str,
) -> Result<String, KeyError> {
    if trusted_comment.chars().any(char::is_control) {
        return Err(KeyError::Comment);
    }
    let prehash = Blake2b512::digest(message);
    let signature = key.signing.sign(&prehash).to_bytes();
    let mut first = PREHASHED_ALG.to_vec();
    first.extend_from_slice(&key.id.0);
    first.extend_from_slice(&signature);
    let mut global = signature.to_vec();
    global.extend_from_slice(trusted_comment.as_bytes());
    let global = key.signing.sign(&global).to_bytes();
    Ok(format!(
        "{UNTRUSTED}signature from envgov secret key {}\n{}\n{TRUSTED}{trusted_comment}\n{}\n",
        key.id,
        BASE64.encode(first),
        BASE64.encode(global)
    ))
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key: KeyId,
    /// The signed comment (without `trusted comment: `).
    pub trusted_comment: String,
}

/// The key id a signature names, read without checking it.
pub fn signature_key_id(minisig: &str) -> Result<KeyId, SignatureError> {
    let line = minisig
        .lines()
        .nth(1)
        .ok_or_else(|| SignatureError::Format("it has fewer than four lines".into()))?;
    let bytes = BASE64
        .decode(line.trim())
        .map_err(|e| SignatureError::Format(format!("its second line is not base64 ({e})")))?;
    if bytes.len() != 74 {
        return Err(SignatureError::Format(format!(
            "its signature line holds {} bytes, expected 74",
            bytes.len()
        )));
    }
    Ok(key_id(&bytes[2..]))
}

/// Checks the `.minisig` text `minisig` over `message` against `key` (with
/// `minisign-verify`, legacy signatures refused).
pub fn verify(message: &[u8], minisig: &str, key: &PublicKey) -> Result<Verified, SignatureError> {
    use minisign_verify::Error;
    let signed_by = signature_key_id(minisig)?;
    let signature = minisign_verify::Signature::decode(minisig)
        .map_err(|e| SignatureError::Format(e.to_string()))?;
    if signed_by != key.id {
        return Err(SignatureError::OtherKey {
            signed_by,
            expected: key.id,
        });
    }
    let public = minisign_verify::PublicKey::from_base64(&key.base64())
        .map_err(|e| SignatureError::Format(format!("the public key: {e}")))?;
    match public.verify(message, &signature, false) {
        Ok(()) => Ok(Verified {
            key: signed_by,
            trusted_comment: signature.trusted_comment().to_string(),
        }),
        Err(Error::UnsupportedLegacyMode) => Err(SignatureError::Legacy),
        Err(Error::UnexpectedKeyId) => Err(SignatureError::OtherKey {
            signed_by,
            expected: key.id,
        }),
        Err(Error::InvalidSignature) => Err(SignatureError::Mismatch { key: signed_by }),
        Err(e) => Err(SignatureError::Format(e.to_string())),
    }
}

#[cfg(test)]
mod tests;
