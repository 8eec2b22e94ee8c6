//! The registry in force: which validated registry delivery the other sources are validated
//! against on a date (the latest one not held back because it empties or shrinks the
//! registry beyond a limit, unless an operator accepted it).
//!
//! Stage: validate (reads validated registry partitions through the store). Imports no
//! later stage and not `jobs`; the nightly job and the ingest function both decide with it.

use crate::error::JobError;
use crate::partition::read_partition;
use crate::store::Store;
use crate::table::Table;
use crate::validate::{self, Registry};
use chrono::NaiveDate;
use envgov_dataset::Source;
use envgov_dataset::layout;
use envgov_dataset::report::RegistryHeld;
use std::collections::BTreeSet;

/// A registry delivery that would remove more than this share of the units in force is held
/// back until an operator confirms it.
pub const DEFAULT_MAX_REGISTRY_SHRINK: f64 = 0.2;

/// Everything the aggregation stage needs, read from validated partitions.
pub(crate) struct Validated {
    pub(crate) registry: Registry,
    pub(crate) registry_date: Option<String>,
    /// [`crate::partition::PartitionManifest::registry`] of the registry in force.
    pub(crate) registry_id: Option<String>,
}

/// Why a validated registry delivery is not put in force, if it is not: it has no unit at
/// all (rejected whole: wrong encoding, broken JSON), or it would remove more than
/// `max_shrink` of the units in force. An operator's acceptance overrides both; with no
/// registry in force there is nothing to keep.
pub fn registry_hold(
    units: usize,
    in_force: Option<usize>,
    accepted_by_operator: bool,
    max_shrink: f64,
) -> Option<(&'static str, String)> {
    let previous = in_force.filter(|n| *n > 0)?;
    if accepted_by_operator {
        return None;
    }
    if units == 0 {
        return Some((
            "registry_empty",
            format!(
                "the delivery puts no unit in force (every line rejected); the {previous} units in force stay until an operator runs `envgov registry accept`"
            ),
        ));
    }
    let removed = previous.saturating_sub(units);
    let share = removed as f64 / previous as f64;
    if share > max_shrink {
        return Some((
            "registry_shrink",
            format!(
                "the delivery has {units} units where {previous} are in force: {removed} removed ({:.1}%, limit {:.1}%); held until an operator runs `envgov registry accept`",
                share * 100.0,
                max_shrink * 100.0
            ),
        ));
    }
    None
}

/// Reads the validated registry delivered on `date` with its identity (date and sha256).
pub(crate) fn read_registry(store: &dyn Store, date: &str) -> Result<(Registry, String), JobError> {
    let key = layout::validated_key(Source::Enterprises, date)
        .map_err(|e| JobError::Definition(e.to_string()))?;
    let table = read_partition(store, Source::Enterprises, date)?
        .unwrap_or_else(|| Table::new(validate::schema(Source::Enterprises)));
    let registry = Registry::from_table(&table).map_err(|e| JobError::Corrupt {
        key: key.clone(),
        message: e.to_string(),
    })?;
    let sha = store.stored_hash(&key)?.unwrap_or_default();
    Ok((registry, format!("{date}:{sha}")))
}

/// Whether an operator confirmed the registry delivered on `date`.
fn registry_accepted(store: &dyn Store, date: &str) -> Result<bool, JobError> {
    let key =
        layout::registry_acceptance_key(date).map_err(|e| JobError::Definition(e.to_string()))?;
    Ok(store.get(&key)?.is_some())
}

/// Puts the registry validated for `date` in force unless [`registry_hold`] holds it back.
pub(crate) fn consider_registry(
    store: &dyn Store,
    v: &mut Validated,
    date: &str,
    max_shrink: f64,
) -> Result<Option<RegistryHeld>, JobError> {
    let (registry, id) = read_registry(store, date)?;
    let in_force = v.registry_date.as_ref().map(|_| v.registry.units.len());
    let accepted = registry_accepted(store, date)?;
    if let Some((code, reason)) =
        registry_hold(registry.units.len(), in_force, accepted, max_shrink)
    {
        tracing::warn!(date, reason_code = code, %reason, "registry delivery held back");
        return Ok(Some(RegistryHeld {
            date: date.to_string(),
            units: registry.units.len() as u64,
            kept: v.registry_date.clone(),
            kept_units: v.registry.units.len() as u64,
            reason_code: code.to_string(),
            reason,
        }));
    }
    v.registry = registry;
    v.registry_date = Some(date.to_string());
    v.registry_id = Some(id);
    Ok(None)
}

/// Loads the registry in force on a date from a store's validated partitions: the latest
/// delivery on or before it that was not held back ([`registry_hold`], with the default
/// shrink limit), as the nightly run decides.
pub fn registry_on(store: &dyn Store, date: NaiveDate) -> Result<Registry, JobError> {
    registry_in_force(store, date, DEFAULT_MAX_REGISTRY_SHRINK).map(|(r, _)| r)
}

/// [`registry_on`] with its shrink limit, also giving the registry's identity
/// ([`crate::partition::PartitionManifest::registry`]).
pub fn registry_in_force(
    store: &dyn Store,
    date: NaiveDate,
    max_shrink: f64,
) -> Result<(Registry, Option<String>), JobError> {
    let until = date.to_string();
    let mut days = BTreeSet::new();
    for key in store.list("validated/enterprises/")? {
        let day = key
            .strip_prefix("validated/enterprises/date=")
            .and_then(|r| r.strip_suffix("/part.parquet"));
        if let Some(d) = day.filter(|d| *d <= until.as_str()) {
            days.insert(d.to_string());
        }
    }
    let mut v = Validated {
        registry: Registry::default(),
        registry_date: None,
        registry_id: None,
    };
    for d in &days {
        consider_registry(store, &mut v, d, max_shrink)?;
    }
    Ok((v.registry, v.registry_id))
}
