//! The per-unit downloads of the datasets published a file a month (of
//! [`envgov_site::UNIT_DATASETS`]: `cems-daily`, `self-monitoring`), a file a unit a month:
//! `downloads/enterprises/{uscc}/{id}-{YYYY-MM}.csv` in a release
//! (`layout::unit_month_download_path`), each unit's rows of the published month file, byte
//! for byte, under its byte-order mark and header.
//!
//! Stage: release (reads the publication; writes `unit-downloads/` and
//! `unit-downloads-index/` only). Produced a month at a time, so that no year of rows is
//! held: a month's published CSV is read, cut by unit ([`unit_downloads_from_csv`]), each
//! unit's file stored at `layout::unit_month_download_key` (content-addressed; written only
//! when the store does not hold it) and dropped before the next month. The month's index
//! (`layout::unit_month_index_key`) remembers the sha256 of the month file it was cut from:
//! a release whose month file did not change reads the index and nothing else, so a closed
//! month's files are written once and an ordinary night cuts the current month only. The
//! release copies the stored files into place like the evidence bundles.
//!
//! A file a changed month no longer lists is **not deleted** here: a night running at the
//! same time (an overlapping or re-run night of another date) may have listed it a moment
//! before and be about to copy it into its release (a delete here made that night fail with
//! "missing"). The files are content-addressed and small; removing the ones no kept release
//! serves belongs with release pruning (not built yet).

use super::parallel::in_parallel;
use super::site_inputs::unit_downloads_from_csv;
use crate::error::JobError;
use crate::partition::{get_json, put_json};
use crate::publication::{Publication, PublishedFile};
use crate::store::Store;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::published::DatasetId;
use envgov_site::{MonthDownload, UnitMonths};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Puts in flight at once (a put is mostly waiting on the store).
const WRITERS: usize = 16;

/// A month's per-unit downloads as stored in its index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthIndex {
    /// The sha256 of the published month file the units' files were cut from.
    pub source_sha256: String,
    /// Unit credit code → its file of the month.
    pub units: BTreeMap<String, IndexedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedFile {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What [`ensure`] gives the release: for the pages, each unit's month files by dataset;
/// for the release, each file's path in it and the stored file it is copied from.
pub type ReleaseMonths = (UnitMonths, BTreeMap<String, PublishedFile>);

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

/// The per-unit month files of every monthly dataset of [`envgov_site::UNIT_DATASETS`] in
/// `publication`, stored where missing. See the module docs.
pub fn ensure(store: &dyn Store, publication: &Publication) -> Result<ReleaseMonths, JobError> {
    let mut months = UnitMonths::new();
    let mut files = BTreeMap::new();
    let monthly = envgov_site::UNIT_DATASETS
        .into_iter()
        .filter(|id| DatasetId::parse(id).is_some_and(DatasetId::monthly));
    for id in monthly {
        let units = months.entry(id.to_string()).or_default();
        for (month, path) in publication.month_paths(id, Format::Csv) {
            let index = month_index(store, publication, id, &month, &path)?;
            for (uscc, f) in index.units {
                let key = layout::unit_month_download_key(&uscc, id, &month, &f.sha256)
                    .map_err(definition)?;
                let at = layout::unit_month_download_path(&uscc, id, &month).map_err(definition)?;
                files.insert(
                    at,
                    PublishedFile {
                        sha256: f.sha256.clone(),
                        bytes: f.bytes,
                        key,
                    },
                );
                units.entry(uscc).or_default().push(MonthDownload {
                    month: month.clone(),
                    rows: f.rows,
                    bytes: f.bytes,
                    sha256: f.sha256,
                });
            }
        }
    }
    Ok((months, files))
}

/// A month's index: the stored one when it was cut from the same month file, else the month
/// cut by unit now (its files stored where missing, then the index).
fn month_index(
    store: &dyn Store,
    publication: &Publication,
    id: &str,
    month: &str,
    path: &str,
) -> Result<MonthIndex, JobError> {
    let source = publication
        .manifest
        .files
        .get(path)
        .map(|f| f.sha256.clone())
        .ok_or_else(|| definition(format!("{path} is not in the publication")))?;
    let index_key = layout::unit_month_index_key(id, month).map_err(definition)?;
    let previous = get_json::<MonthIndex>(store, &index_key)?;
    if let Some(index) = &previous
        && index.source_sha256 == source
    {
        return Ok(index.clone());
    }
    let csv = publication.read(store, path)?;
    let cut: Vec<(String, envgov_site::UnitDownload)> =
        unit_downloads_from_csv(path, &csv)?.into_iter().collect();
    drop(csv);
    let stored = in_parallel(WRITERS, &cut, |(uscc, d)| {
        let sha256 = crate::ledger::sha256_hex(&d.csv);
        let key = layout::unit_month_download_key(uscc, id, month, &sha256).map_err(definition)?;
        if store.stored_hash(&key)?.as_deref() != Some(sha256.as_str()) {
            store.put_with_hash(&key, &d.csv, &sha256)?;
        }
        Ok(IndexedFile {
            rows: d.rows,
            bytes: d.csv.len() as u64,
            sha256,
        })
    })?;
    let index = MonthIndex {
        source_sha256: source,
        units: cut.into_iter().map(|(u, _)| u).zip(stored).collect(),
    };
    put_json(store, &index_key, &index)?;
    Ok(index)
}

/// Reads a unit's stored month files for the charts of its page
/// ([`envgov_site::build_owned_charting`]): each file from its content-addressed key, checked
/// against the sha256 [`ensure`] listed, the months of a unit read [`READERS`] at a time.
pub struct StoredMonthFiles<'a> {
    pub store: &'a dyn Store,
}

/// Gets in flight at once for one unit's months (a get is mostly waiting on S3).
const READERS: usize = 4;

impl std::fmt::Debug for StoredMonthFiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredMonthFiles")
    }
}

impl envgov_site::MonthFiles for StoredMonthFiles<'_> {
    fn read(
        &self,
        dataset: &str,
        uscc: &str,
        months: &[MonthDownload],
    ) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
        let read = |m: &MonthDownload| -> Result<Vec<u8>, JobError> {
            let key = layout::unit_month_download_key(uscc, dataset, &m.month, &m.sha256)
                .map_err(definition)?;
            let corrupt = |message: String| JobError::Corrupt {
                key: key.clone(),
                message,
            };
            let bytes = (self.store.get(&key)?)
                .ok_or_else(|| corrupt("missing (listed in its month's index)".into()))?;
            let sha256 = crate::ledger::sha256_hex(&bytes);
            if sha256 != m.sha256 {
                return Err(corrupt(format!("sha256 {sha256}, listed as {}", m.sha256)));
            }
            Ok(bytes)
        };
        Ok(in_parallel(READERS, months, read)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publication::PublicationManifest;
    use crate::store::MemoryStore;

    const PATH: &str = "cems-daily/cems-daily-2026-01.csv";

    /// A publication whose only file is cems-daily's January, stored at `src`.
    fn publication(store: &MemoryStore, csv: &str) -> Publication {
        store.put("src", csv.as_bytes()).unwrap();
        let file = PublishedFile {
            sha256: crate::ledger::sha256_hex(csv.as_bytes()),
            bytes: csv.len() as u64,
            key: "src".into(),
        };
        Publication {
            manifest: PublicationManifest {
                publication: "p".into(),
                data_date: "2026-01-02".into(),
                files: BTreeMap::from([(PATH.to_string(), file)]),
            },
        }
    }

    fn stored(store: &MemoryStore, files: &BTreeMap<String, PublishedFile>, at: &str) -> String {
        String::from_utf8(store.get(&files[at].key).unwrap().unwrap()).unwrap()
    }

    #[test]
    fn a_month_is_cut_by_unit_once_and_a_changed_month_replaces_its_files() {
        let store = MemoryStore::new();
        let jan = "\u{feff}date,uscc,v\r\n2026-01-01,A,1\r\n2026-01-01,B,2\r\n2026-01-02,A,3\r\n";
        let (months, files) = ensure(&store, &publication(&store, jan)).unwrap();
        let (a, b) = (
            "downloads/enterprises/A/cems-daily-2026-01.csv",
            "downloads/enterprises/B/cems-daily-2026-01.csv",
        );
        assert_eq!(files.keys().collect::<Vec<_>>(), [a, b]);
        // Written by hand: each unit's rows under the BOM and header.
        let a_csv = "\u{feff}date,uscc,v\r\n2026-01-01,A,1\r\n2026-01-02,A,3\r\n";
        assert_eq!(stored(&store, &files, a), a_csv);
        assert_eq!(
            stored(&store, &files, b),
            "\u{feff}date,uscc,v\r\n2026-01-01,B,2\r\n"
        );
        let a_month = &months["cems-daily"]["A"];
        assert_eq!(a_month.len(), 1);
        assert_eq!((a_month[0].month.as_str(), a_month[0].rows), ("2026-01", 2));
        // 3 bytes of BOM + 13 of header (with CRLF) + 2 rows of 16.
        assert_eq!(a_month[0].bytes, 48);
        assert_eq!(files[a].bytes, 48);
        assert!(months["self-monitoring"].is_empty());

        // The same month file again: its index answers, the month is not read (here it is
        // no longer readable) and nothing is written.
        let again = publication(&store, jan);
        store.put("src", b"not the month").unwrap();
        let keys = store.list("").unwrap();
        assert_eq!(ensure(&store, &again).unwrap().1, files);
        assert_eq!(store.list("").unwrap(), keys);

        // A's rows change: A's new file replaces its old one in the listing; B's is kept.
        // The old file stays stored: a night running at the same time may be copying it.
        let changed = format!("{jan}2026-01-03,A,4\r\n");
        let (_, after) = ensure(&store, &publication(&store, &changed)).unwrap();
        assert_ne!(after[a].key, files[a].key);
        assert_eq!(after[b], files[b]);
        assert_eq!(stored(&store, &files, a), a_csv, "superseded file kept");
        assert_eq!(
            stored(&store, &after, a),
            format!("{a_csv}2026-01-03,A,4\r\n")
        );
    }

    #[test]
    fn a_units_stored_month_files_read_back_checked_against_their_sha256() {
        use envgov_site::MonthFiles;
        let store = MemoryStore::new();
        let jan = "\u{feff}date,uscc,v\r\n2026-01-01,A,1\r\n2026-01-01,B,2\r\n";
        let (months, _) = ensure(&store, &publication(&store, jan)).unwrap();
        let files = StoredMonthFiles { store: &store };
        let a = &months["cems-daily"]["A"];
        let read = files.read("cems-daily", "A", a).unwrap();
        assert_eq!(
            read,
            [b"\xEF\xBB\xBFdate,uscc,v\r\n2026-01-01,A,1\r\n".to_vec()]
        );
        // A listed file whose bytes changed is refused, naming its key.
        let key =
            layout::unit_month_download_key("A", "cems-daily", "2026-01", &a[0].sha256).unwrap();
        store.put(&key, b"changed").unwrap();
        let e = files.read("cems-daily", "A", a).unwrap_err().to_string();
        assert!(e.contains(&key) && e.contains("sha256"), "{e}");
    }

    #[test]
    fn an_index_reads_back_and_refuses_unknown_fields() {
        let index = MonthIndex {
            source_sha256: "ab".into(),
            units: BTreeMap::from([(
                "U1".to_string(),
                IndexedFile {
                    rows: 2,
                    bytes: 40,
                    sha256: "cd".into(),
                },
            )]),
        };
        let text = serde_json::to_string(&index).unwrap();
        assert_eq!(
            text,
            r#"{"source_sha256":"ab","units":{"U1":{"rows":2,"bytes":40,"sha256":"cd"}}}"#
        );
        assert_eq!(serde_json::from_str::<MonthIndex>(&text).unwrap(), index);
        assert!(
            serde_json::from_str::<MonthIndex>(r#"{"source_sha256":"ab","units":{},"x":1}"#)
                .is_err()
        );
    }
}
