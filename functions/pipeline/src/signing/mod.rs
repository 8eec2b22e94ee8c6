//! Signing what a night publishes: Ed25519 in the minisign format ([`minisign`]) over a
//! manifest of files ([`manifest`]).
//!
//! Stage: release (the night's manifest is signed after the release is uploaded). This
//! module only names what its submodules export.
//!
//! The API other stages call: [`sign`]`(manifest_bytes, &key) -> minisig text` and
//! [`verify`]`(manifest_bytes, minisig_text, &public_key) -> Result<Verified, SignatureError>`.

pub mod manifest;
pub mod minisign;

pub use manifest::{MANIFEST_NAME, ManifestEntry, PUBLIC_KEY_NAME, SIGNATURE_NAME, SignedManifest};

pub use minisign::{
    KeyError, KeyId, PublicKey, SecretKey, SignatureError, Verified, sign, sign_with_comment,
    signature_key_id, verify,
};
