//! Signing what a night publishes: Ed25519 in the minisign format ([`minisign`]) over a
//! manifest of files ([`manifest`]), with the key configured or the store's development key
//! ([`key_source`]).
//!
//! Stage: release (the night's manifest is signed after the release is uploaded). The
//! submodules depend one way: [`minisign`], [`secret`] ← [`manifest`], [`key_source`];
//! this module only names what they export.
//!
//! The API other stages call: [`sign`]`(manifest_bytes, &key) -> minisig text` and
//! [`verify`]`(manifest_bytes, minisig_text, &public_key) -> Result<Verified, SignatureError>`.

pub mod key_source;
pub mod manifest;
pub mod minisign;
pub mod secret;

pub use key_source::{KeyConfig, KeySourceError, Signer};
pub use manifest::{MANIFEST_NAME, ManifestEntry, PUBLIC_KEY_NAME, SIGNATURE_NAME, SignedManifest};

pub use minisign::{
    KeyError, KeyId, PublicKey, SecretKey, SignatureError, Verified, sign, sign_with_comment,
    signature_key_id, verify,
};
