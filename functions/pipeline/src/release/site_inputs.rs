//! What the site is rendered from, read from one dataset publication (see
//! [`crate::publication`]; a release renders the publication it then serves at the stable
//! URLs) and the store: the catalogue, each dataset's package, the rows of the tables the pages show, each unit's own rows as CSV,
//! the run report, the markdown of `content/`.
//!
//! Stage: publish (reads only). Memory and time are what bound a render at the scale of a
//! year of ~2,000 units, so each dataset is read once, and the big ones are never held as
//! JSON row objects:
//! - `cems-daily` (published a file a month) is read from the Parquet files of the months
//!   that hold the days the pages show ([`envgov_site::RECENT_DAYS`] up to the data date),
//!   and only those days become row objects; the other tables the pages show are read from
//!   their published JSON;
//! - the per-unit downloads of the datasets published whole are sliced from each dataset's
//!   published CSV, one dataset at a time ([`unit_downloads_from_csv`]): a unit's file is its
//!   rows of the published CSV, byte for byte. Of a dataset published a file a month they are
//!   a file a month, cut and stored a month at a time by [`super::unit_months`] (no year of
//!   rows is held).

use crate::error::JobError;
use crate::frame::read_parquet;
use crate::publication::Publication;
use crate::publish::to_json;
use crate::store::Store;
use crate::table::Table;
use envgov_dataset::layout::{self, Format};
use envgov_dataset::manifest::{Catalogue, DataPackage};
use envgov_dataset::published::DatasetId;
use envgov_dataset::report::RunReport;
use envgov_site::{SiteInputs, UnitDownload, UnitDownloads};

/// The markdown pages of `content/`, embedded so that the Lambda function needs no files.
pub const CONTENT: &[(&str, &str)] = &[
    (
        "about.en.md",
        include_str!("../../../../content/about.en.md"),
    ),
    (
        "about.zh.md",
        include_str!("../../../../content/about.zh.md"),
    ),
    (
        "contact.en.md",
        include_str!("../../../../content/contact.en.md"),
    ),
    (
        "contact.zh.md",
        include_str!("../../../../content/contact.zh.md"),
    ),
    (
        "methodology.en.md",
        include_str!("../../../../content/methodology.en.md"),
    ),
    (
        "methodology.zh.md",
        include_str!("../../../../content/methodology.zh.md"),
    ),
    (
        "verify.en.md",
        include_str!("../../../../content/verify.en.md"),
    ),
    (
        "verify.zh.md",
        include_str!("../../../../content/verify.zh.md"),
    ),
];
use std::collections::BTreeMap;

type Rows = Vec<serde_json::Map<String, serde_json::Value>>;

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

fn json<T: for<'de> serde::Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, JobError> {
    serde_json::from_slice(bytes).map_err(|e| JobError::Corrupt {
        key: key.into(),
        message: e.to_string(),
    })
}

/// The rows of a monthly dataset whose `date` is in `first..=last`, from the Parquet files
/// of the months those days are in (in month order).
fn shown_days(
    store: &dyn Store,
    publication: &Publication,
    id: &str,
    first: &str,
    last: &str,
) -> Result<Table, JobError> {
    let (from, to) = (
        first.get(..7).unwrap_or(first),
        last.get(..7).unwrap_or(last),
    );
    let mut shown: Option<Table> = None;
    for (month, path) in publication.month_paths(id, Format::Parquet) {
        if month.as_str() < from || month.as_str() > to {
            continue;
        }
        let table =
            read_parquet(&publication.read(store, &path)?).map_err(|e| JobError::Corrupt {
                key: path.clone(),
                message: e.to_string(),
            })?;
        let rows = dated(&table, first, last)?;
        match &mut shown {
            Some(t) => t.extend(rows),
            None => shown = Some(rows),
        }
    }
    match shown {
        Some(t) => Ok(t),
        None => {
            let shape = crate::month_files::schema(
                DatasetId::parse(id).ok_or_else(|| definition(format!("{id} is not a dataset")))?,
            );
            let kinds: Vec<(&str, crate::table::Kind)> =
                shape.iter().map(|(n, k)| (n.as_str(), *k)).collect();
            Ok(Table::new(&kinds))
        }
    }
}

/// The rows of `table` whose `date` column is in `first..=last` (ISO dates compare as text).
fn dated(table: &Table, first: &str, last: &str) -> Result<Table, JobError> {
    if !table.names.iter().any(|n| n == "date") {
        return Err(definition("cems-daily has no date column"));
    }
    let dates = table.str_column("date");
    Ok(table.filter_rows(|i| dates[i].as_deref().is_some_and(|d| first <= d && d <= last)))
}

/// Each unit's rows of a dataset's published CSV (`{id}.csv`), byte for byte: the byte-order
/// mark and the header line, then the unit's records as they are in the file, in its order.
/// Rows without a credit code belong to no unit. Slicing the published file writes nothing
/// again: the download is the dataset's own bytes.
pub fn unit_downloads_from_csv(
    key: &str,
    bytes: &[u8],
) -> Result<BTreeMap<String, UnitDownload>, JobError> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let corrupt = |message: String| JobError::Corrupt {
        key: key.to_string(),
        message,
    };
    let body = bytes
        .strip_prefix(BOM)
        .ok_or_else(|| corrupt("no UTF-8 byte-order mark".into()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let read = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .map_err(|e| corrupt(e.to_string()))
    };
    if !read(&mut reader, &mut record)? {
        return Err(corrupt("no header line".into()));
    }
    let uscc_col = (record.iter().position(|name| name == b"uscc"))
        .ok_or_else(|| definition(format!("{key}: a per-unit dataset has no uscc column")))?;
    // A record runs from where it starts to where the next one starts (its line end included).
    let mut starts: Vec<(usize, Option<Vec<u8>>)> = Vec::new();
    while read(&mut reader, &mut record)? {
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        // The reader ends a record at the `\r` of its CRLF and starts the next at the `\n`
        // (a record never starts with a bare line feed: that field would be quoted).
        if body.get(start) == Some(&b'\n') {
            start += 1;
        }
        let uscc = record.get(uscc_col).filter(|u| !u.is_empty());
        starts.push((start, uscc.map(<[u8]>::to_vec)));
    }
    let header = body.get(..starts.first().map_or(body.len(), |(s, _)| *s));
    let header = header.ok_or_else(|| corrupt("a record starts past the end".into()))?;
    let mut units: BTreeMap<Vec<u8>, UnitDownload> = BTreeMap::new();
    for (i, (start, uscc)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(body.len(), |(s, _)| *s);
        let Some(uscc) = uscc else { continue };
        let line = body
            .get(*start..end)
            .ok_or_else(|| corrupt(format!("record at byte {start} out of place")))?;
        let unit = units.entry(uscc.clone()).or_insert_with(|| UnitDownload {
            rows: 0,
            csv: [BOM, header].concat(),
        });
        unit.rows += 1;
        unit.csv.extend_from_slice(line);
    }
    units
        .into_iter()
        .map(|(uscc, d)| match String::from_utf8(uscc) {
            Ok(uscc) => Ok((uscc, d)),
            Err(e) => Err(corrupt(format!("a credit code is not UTF-8: {e}"))),
        })
        .collect()
}

/// Each unit's rows of a dataset, as CSV in the dataset's own format (what
/// [`unit_downloads_from_csv`] cuts from the published file).
#[cfg(test)]
pub fn unit_downloads(table: &Table) -> Result<BTreeMap<String, UnitDownload>, JobError> {
    if !table.names.iter().any(|n| n == "uscc") {
        return Err(definition("a per-unit dataset has no uscc column"));
    }
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, uscc) in table.str_column("uscc").iter().enumerate() {
        if let Some(u) = uscc.as_deref() {
            rows.entry(u).or_default().push(i);
        }
    }
    Ok(rows
        .into_iter()
        .map(|(uscc, idx)| {
            let csv = crate::publish::to_csv(&table.take(&idx));
            (
                uscc.to_string(),
                UnitDownload {
                    rows: idx.len() as u64,
                    csv,
                },
            )
        })
        .collect())
}

/// The changelogs a publication lists: of each dataset and night the latest revision, by
/// night, then dataset.
fn changelogs(
    store: &dyn Store,
    publication: &Publication,
) -> Result<Vec<(u32, envgov_dataset::changelog::Changelog)>, JobError> {
    let mut latest: BTreeMap<(String, String), (u32, &String)> = BTreeMap::new();
    for path in publication.manifest.files.keys() {
        let Some((id, night, n, ext)) = envgov_dataset::changelog::parse_changelog_path(path)
        else {
            continue;
        };
        if ext != "json" {
            continue;
        }
        let e = latest.entry((night, id)).or_insert((n, path));
        if n >= e.0 {
            *e = (n, path);
        }
    }
    latest
        .into_values()
        .map(|(n, path)| Ok((n, json(path, &publication.read(store, path)?)?)))
        .collect()
}

/// Reads everything the site is rendered from: the datasets of `publication`, the run
/// report of its data date, the sample marker and the embedded content.
pub fn load(store: &dyn Store, publication: &Publication) -> Result<SiteInputs, JobError> {
    let catalogue: Catalogue = json(
        layout::CATALOGUE_PATH,
        &publication.read(store, layout::CATALOGUE_PATH)?,
    )?;
    let data_date =
        chrono::NaiveDate::parse_from_str(&catalogue.data_date, "%Y-%m-%d").map_err(|e| {
            JobError::Corrupt {
                key: layout::CATALOGUE_PATH.into(),
                message: format!("data date {:?}: {e}", catalogue.data_date),
            }
        })?;
    let first_shown = (data_date - chrono::Days::new(envgov_site::RECENT_DAYS as u64 - 1))
        .format("%Y-%m-%d")
        .to_string();

    let mut packages = BTreeMap::new();
    let mut tables: BTreeMap<String, Rows> = BTreeMap::new();
    let mut archives = BTreeMap::new();
    let mut downloads: UnitDownloads = BTreeMap::new();
    for entry in &catalogue.datasets {
        let id = layout::check_segment(&entry.id).map_err(definition)?;
        let path = layout::datapackage_path(id).map_err(definition)?;
        let package: DataPackage = json(&path, &publication.read(store, &path)?)?;
        archives.insert(id.to_string(), package.archives.clone());
        packages.insert(id.to_string(), package);

        let shown = envgov_site::rows::TABLES.contains(&id);
        let per_unit = envgov_site::UNIT_DATASETS.contains(&id);
        let monthly = DatasetId::parse(id).is_some_and(|d| d.monthly());
        if id == envgov_site::rows::CEMS_DAILY && shown {
            // Of the biggest dataset only the days the pages show become row objects, read
            // from the months that hold them.
            let table = shown_days(store, publication, id, &first_shown, &catalogue.data_date)?;
            tables.insert(id.to_string(), json(id, &to_json(&table))?);
        } else if shown {
            let path = Publication::dataset_path(id, Format::Json)?;
            tables.insert(
                id.to_string(),
                json(&path, &publication.read(store, &path)?)?,
            );
        }
        tracing::debug!(dataset = %id, rss_mib = crate::memory::rss_mib(), "site inputs: dataset's rows read");
        // A monthly dataset's per-unit downloads are a file a month (`super::unit_months`).
        if per_unit && !monthly {
            let path = Publication::dataset_path(id, Format::Csv)?;
            let csv = publication.read(store, &path)?;
            downloads.insert(id.to_string(), unit_downloads_from_csv(&path, &csv)?);
        }
    }
    tracing::info!(
        rss_mib = crate::memory::rss_mib(),
        peak_rss_mib = crate::memory::peak_rss_mib(),
        "site inputs: datasets read"
    );
    let report_key = layout::run_report_key(&catalogue.data_date).map_err(definition)?;
    let report: Option<RunReport> = match store.get(&report_key)? {
        Some(b) => Some(json(&report_key, &b)?),
        None => None,
    };
    let content = envgov_site::load_content(
        CONTENT
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    )
    .map_err(definition)?;
    Ok(SiteInputs {
        data_date: catalogue.data_date.clone(),
        catalogue,
        packages,
        tables,
        archives,
        content,
        report,
        sample: store.get(layout::SAMPLE_LEDGER_KEY)?.is_some(),
        changelogs: changelogs(store, publication)?,
        unit_downloads: downloads,
        // Filled by the release (see `super::unit_months`).
        unit_months: BTreeMap::new(),
        // Filled by the release once the bundles are built (see `crate::evidence`).
        unit_bundles: BTreeMap::new(),
        // Filled by the release (see `super::year_ago`).
        year_ago: envgov_site::YearAgo::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::to_csv;
    use crate::table::{Cell, Kind};

    fn table() -> Table {
        let mut t = Table::new(&[("date", Kind::Str), ("uscc", Kind::Str), ("v", Kind::F64)]);
        for (d, u, v) in [
            ("2026-01-24", "B", 1.5),
            ("2026-01-25", "A", 2.0),
            ("2026-01-31", "B", -0.25),
            ("2026-02-01", "A", 3.0),
        ] {
            t.push(vec![Cell::from(d), Cell::from(u), Cell::from(v)]);
        }
        t
    }

    #[test]
    fn only_the_days_shown_are_kept() {
        let t = dated(&table(), "2026-01-25", "2026-01-31").unwrap();
        assert_eq!(
            t.str_column("date"),
            &[
                Some("2026-01-25".to_string()),
                Some("2026-01-31".to_string())
            ]
        );
    }

    #[test]
    fn slicing_the_published_csv_gives_each_unit_its_rows() {
        let mut t = table();
        // A quoted field with a comma, a quote and a line break, and a row of no unit.
        t.push(vec![
            Cell::from("2026-02-02"),
            Cell::from("A"),
            Cell::from(0.5),
        ]);
        t.push(vec![
            Cell::Str(Some("x,\"y\"\r\nz".into())),
            Cell::Str(None),
            Cell::from(1.0),
        ]);
        t.push(vec![
            Cell::Str(Some("a\nb".into())),
            Cell::from("B"),
            Cell::from(2.0),
        ]);
        let csv = to_csv(&t);
        let sliced = unit_downloads_from_csv("x.csv", &csv).unwrap();
        assert_eq!(sliced, unit_downloads(&t).unwrap());
        assert_eq!(sliced.keys().collect::<Vec<_>>(), ["A", "B"]);
        // Written by hand: the header and A's three rows.
        assert_eq!(
            String::from_utf8(sliced["A"].csv.clone()).unwrap(),
            "\u{feff}date,uscc,v\r\n2026-01-25,A,2\r\n2026-02-01,A,3\r\n2026-02-02,A,0.5\r\n"
        );
        assert_eq!(sliced["B"].rows, 3);
        assert!(
            unit_downloads_from_csv("x.csv", b"date,uscc\r\n").is_err(),
            "no BOM"
        );
        assert!(unit_downloads_from_csv("x.csv", b"\xEF\xBB\xBFdate,v\r\n").is_err());
        let empty = unit_downloads_from_csv("x.csv", b"\xEF\xBB\xBFdate,uscc\r\n").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn each_unit_gets_its_rows_of_the_dataset_csv() {
        let t = table();
        let all = String::from_utf8(to_csv(&t)).unwrap();
        let d = unit_downloads(&t).unwrap();
        assert_eq!(d.keys().collect::<Vec<_>>(), ["A", "B"]);
        let b = String::from_utf8(d["B"].csv.clone()).unwrap();
        assert_eq!(d["B"].rows, 2);
        // Written by hand: the header and B's two rows, as in the whole dataset's CSV.
        assert_eq!(
            b,
            "\u{feff}date,uscc,v\r\n2026-01-24,B,1.5\r\n2026-01-31,B,-0.25\r\n"
        );
        for line in b
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .filter(|l| !l.is_empty())
        {
            assert!(all.contains(&format!("{line}\r\n")), "{line}");
        }
    }
}
