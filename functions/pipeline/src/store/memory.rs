//! The in-memory backend, for unit tests: the same contract as a bucket, conditional
//! writes included.
//!
//! Stage: I/O edge. Depends only on the storage contract ([`super::api`]).

use super::api::{Conditional, Store, StoreError, Version, check_key};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// An in-memory store for unit tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(self.objects.lock().expect("store lock").get(key).cloned())
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        self.objects
            .lock()
            .expect("store lock")
            .insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        Ok(objects
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.objects.lock().expect("store lock").remove(key);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }

    /// The version is the sha256 of the content.
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        check_key(key)?;
        Ok(self
            .objects
            .lock()
            .expect("store lock")
            .get(key)
            .map(|b| (b.clone(), Version(crate::ledger::sha256_hex(b)))))
    }

    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<Conditional, StoreError> {
        check_key(key)?;
        let mut objects = self.objects.lock().expect("store lock");
        if objects.contains_key(key) {
            return Ok(Conditional::Conflict);
        }
        objects.insert(key.to_string(), bytes.to_vec());
        Ok(Conditional::Written)
    }

    fn put_if_match(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Conditional, StoreError> {
        check_key(key)?;
        let mut objects = self.objects.lock().expect("store lock");
        match objects.get(key) {
            Some(b) if crate::ledger::sha256_hex(b) == version.0 => {
                objects.insert(key.to_string(), bytes.to_vec());
                Ok(Conditional::Written)
            }
            _ => Ok(Conditional::Conflict),
        }
    }
}
