//! The edge mirror's contract ([`LiveMirror`]): a copy of the live pointer outside the
//! store. Implemented by [`super::kvs::KvsMirror`]; driven by [`super::switch::mirror_live`].
//!
//! Stage: release. Depends only on the store's [`Conditional`] and [`ReleaseError`].

use crate::error::ReleaseError;
use crate::store::Conditional;

/// A copy of the live pointer outside the store, kept in step with `site/current` by
/// compare-and-set ([`mirror_live`]): the CloudFront KeyValueStore that the edge router
/// reads ([`super::kvs::KvsMirror`]).
pub trait LiveMirror {
    /// The mirror's current version (the KeyValueStore's ETag).
    fn version(&self) -> Result<String, ReleaseError>;
    /// Makes `release_id` the live release there if the mirror is still at `version`.
    fn set_live_if_match(
        &self,
        release_id: &str,
        version: &str,
    ) -> Result<Conditional, ReleaseError>;
    fn describe(&self) -> String;
}
