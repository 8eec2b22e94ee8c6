//! Provenance of published rows: the sha256 of the raw file each row was read from.
//!
//! Stage: aggregate (reads the raw ledger through the store once; the rest is pure). Every
//! published row that comes from a raw file carries `raw_key`, `raw_line` and `raw_sha256`,
//! the sha256 of the raw file's bytes as the raw ledger (`runs/raw-ledger.json`) recorded it
//! when the file was first seen. A key is write-once (a re-delivery with other bytes keeps
//! the first hash, see `ledger`), so the ledger's hash is the hash of the bytes the row was
//! validated from. The map holds one entry per raw file (about 11,000 for a year at 2,000
//! units): small enough to be joined at publish instead of stored in every partition.

use crate::error::JobError;
use crate::ledger::RawLedger;
use crate::store::Store;
use crate::table::{Table, Values};
use envgov_dataset::layout;
use polars::prelude::*;
use std::collections::HashMap;

/// The name of the column added after a row's `raw_key` or `raw_line`.
pub const RAW_SHA256: &str = "raw_sha256";

/// Raw key → sha256 (lower-case hex) of the raw file's bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHashes(HashMap<String, String>);

impl RawHashes {
    /// The hashes the stored raw ledger records (empty when there is no ledger yet).
    pub fn load(store: &dyn Store) -> Result<Self, JobError> {
        let ledger: RawLedger =
            crate::partition::get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
        Ok(Self::from_ledger(&ledger))
    }

    pub fn from_ledger(ledger: &RawLedger) -> Self {
        Self(
            ledger
                .files
                .iter()
                .map(|(k, e)| (k.clone(), e.sha256.clone()))
                .collect(),
        )
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, s)| (k.to_string(), s.to_string()))
                .collect(),
        )
    }

    /// The sha256 of a raw key, if the ledger records it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The hashes of `keys`, in order (`None` for a key without a ledger entry).
    fn column<'a>(&'a self, keys: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<&'a str>> {
        // Rows of one file follow each other: the last look-up answers most of them.
        let mut last: Option<(&str, Option<&str>)> = None;
        keys.map(|k| {
            let k = k?;
            match last {
                Some((lk, sha)) if lk == k => sha,
                _ => {
                    let sha = self.get(k);
                    last = Some((k, sha));
                    sha
                }
            }
        })
        .collect()
    }

    /// The table with a `raw_sha256` column of its `raw_key`s' hashes inserted right after
    /// the column `after`.
    pub fn add_to_table(&self, mut t: Table, after: &str) -> Result<Table, JobError> {
        let at = position(t.names.iter().map(String::as_str), after)?;
        let keys: Vec<Option<String>> = self
            .column(t.str_column("raw_key").iter().map(|k| k.as_deref()))
            .into_iter()
            .map(|s| s.map(str::to_string))
            .collect();
        t.names.insert(at + 1, RAW_SHA256.to_string());
        t.columns.insert(at + 1, Values::Str(keys));
        Ok(t)
    }

    /// The frame with a `raw_sha256` column of its `raw_key`s' hashes inserted right after
    /// the column `after`.
    pub fn add_to_frame(&self, mut df: DataFrame, after: &str) -> Result<DataFrame, JobError> {
        let polars = |source| JobError::Polars {
            what: "adding raw_sha256".into(),
            source,
        };
        let at = position(df.get_column_names().into_iter().map(|n| n.as_str()), after)?;
        let keys = df.column("raw_key").map_err(polars)?;
        let keys = keys.str().map_err(polars)?;
        // Each distinct hash is stored once and every row points at it (a gather of a
        // string-view column copies 16-byte views, not the 64 characters): a year of daily
        // rows costs a view per row, not a copy of the hash per row.
        let mut distinct: Vec<Option<&str>> = vec![None];
        let mut at_of: HashMap<&str, IdxSize> = HashMap::new();
        let idx: Vec<IdxSize> = self
            .column(keys.iter())
            .into_iter()
            .map(|sha| match sha {
                None => 0,
                Some(sha) => *at_of.entry(sha).or_insert_with(|| {
                    distinct.push(Some(sha));
                    (distinct.len() - 1) as IdxSize
                }),
            })
            .collect();
        let distinct: StringChunked = distinct.into_iter().collect();
        let hashes = distinct
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, idx))
            .map_err(polars)?
            .with_name(RAW_SHA256.into());
        df.insert_column(at + 1, hashes.into_column())
            .map_err(polars)?;
        Ok(df)
    }
}

fn position<'a>(mut names: impl Iterator<Item = &'a str>, after: &str) -> Result<usize, JobError> {
    names
        .position(|n| n == after)
        .ok_or_else(|| JobError::Definition(format!("no column {after} to put {RAW_SHA256} after")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Kind};

    fn hashes() -> RawHashes {
        // sha256 of "a" and of "b", as `printf a | sha256sum` prints them.
        RawHashes::from_pairs([
            (
                "raw/cems/2026-01-05/a.hj212",
                "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            ),
            (
                "raw/cems/2026-01-05/b.hj212",
                "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
            ),
        ])
    }

    #[test]
    fn every_row_gets_the_hash_of_its_raw_file_after_the_named_column() {
        let mut t = Table::new(&[("raw_key", Kind::Str), ("raw_line", Kind::I64)]);
        for (k, l) in [("a", 1), ("a", 2), ("b", 7), ("a", 9)] {
            t.push(vec![
                format!("raw/cems/2026-01-05/{k}.hj212").into(),
                Cell::from(l as i64),
            ]);
        }
        t.push(vec![
            "raw/cems/2026-01-05/unknown.hj212".into(),
            Cell::I64(None),
        ]);
        let t = hashes().add_to_table(t, "raw_line").unwrap();
        assert_eq!(t.names, ["raw_key", "raw_line", "raw_sha256"]);
        let a = Some("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb".into());
        let b = Some("3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d".into());
        assert_eq!(
            t.str_column("raw_sha256"),
            &[a.clone(), a.clone(), b, a, None]
        );
    }

    #[test]
    fn a_frame_gets_the_same_column_as_a_table() {
        let mut t = Table::new(&[("raw_key", Kind::Str), ("v", Kind::F64)]);
        t.push(vec!["raw/cems/2026-01-05/b.hj212".into(), 1.0.into()]);
        t.push(vec![Cell::Str(None), 2.0.into()]);
        let df = crate::frame::to_frame(&t).unwrap();
        let df = hashes().add_to_frame(df, "raw_key").unwrap();
        let want = hashes().add_to_table(t, "raw_key").unwrap();
        assert_eq!(crate::frame::from_frame(&df).unwrap(), want);
        assert!(hashes().add_to_frame(df, "nope").is_err());
    }
}
