//! One unit's evidence bundle of one month as files, then as a zip with deterministic bytes.
//!
//! Stage: none (pure: a [`UnitBundle`] and a signing key in, the zip's bytes out). The zip
//! has its entries sorted by path, every entry dated 1980-01-01 00:00:00 (the zip format's
//! epoch), Unix attributes 0644, deflate at level 6 and no extra fields: the same inputs and
//! key give the same bytes.
//!
//! Layout of the zip (see [`files`]):
//! ```text
//! README.zh.md, README.en.md         what is inside and how to check it
//! CITATION.zh.txt, CITATION.en.txt   how to cite the bundle (names the sha256 of contents.json)
//! contents.json                      every evidence file with its sha256 and size
//! unit.json                          the unit and the bundle's month
//! data/{dataset}.csv                 the unit's rows of the month of each published dataset,
//!                                    byte for byte (emission-totals: its monthly row)
//! data/cems-hourly/{YYYY-MM}/{YYYY-MM-DD}.csv
//!                                    (units with online monitoring) the unit's hourly readings
//!                                    of each day of the month, with provenance: the rows of
//!                                    cems-hourly
//! exceedances/index.csv              one line per exceedance of the month: its folder and id
//! exceedances/{nnnn}/exceedance.json the register's row
//! exceedances/{nnnn}/raw-lines.txt   the raw line(s) it rests on, byte for byte, one per line
//! exceedances/{nnnn}/raw-lines.csv   where each line of raw-lines.txt is: key, line, sha256
//! exceedances/{nnnn}/hourly-values.csv (daily exceedances) the hourly means of the day
//! exceedances/{nnnn}/calculation.json, calculation.zh.txt, calculation.en.txt
//! manifest.json, manifest.json.minisig  every file above, signed (`envgov verify`)
//! ```
//! The citation cannot name the hash of the manifest that lists it, so it names the hash of
//! `contents.json` (which lists every evidence file), and the signed manifest lists both.
//!
//! The hourly files are given by their sha256 and size ([`HourlyDay`]) and copied into the
//! zip compressed, as they are in a source zip ([`zip`]'s `sources`: the zip of the days
//! encoded now, the unit's previous bundle): a night compresses only the days that changed.
//! Every hourly entry is a raw copy of an entry written with the options above, so a bundle
//! has the same bytes whichever night compressed each day.

use super::calc::{Calculation, HourlyValue, LimitSource};
use super::text::{self, About};
use crate::signing::manifest::{MANIFEST_NAME, ManifestEntry, SIGNATURE_NAME, SignedManifest};
use crate::signing::minisign::SecretKey;
use envgov_dataset::Localized;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

/// The bundle format: part of every bundle's cache key (a new format rebuilds every bundle).
pub const FORMAT: &str = "envgov-evidence-bundle/4";

/// One raw line an exceedance rests on: where it is and its exact bytes (without the line
/// feed that ends it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawLine {
    pub raw_key: String,
    pub raw_line: i64,
    /// The sha256 of the whole raw file (the ledger's).
    pub raw_sha256: Option<String>,
    /// The line's bytes, hex-encoded in the cache (`None` if the file or line is gone).
    #[serde(with = "hex_bytes")]
    pub bytes: Option<Vec<u8>>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| hex::decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Everything about one exceedance that the bundle shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceedanceEvidence {
    pub exceedance_id: String,
    /// The register's row (header → cell), as published.
    pub row: BTreeMap<String, String>,
    pub limit: Option<LimitSource>,
    pub hours: Vec<HourlyValue>,
    pub lines: Vec<RawLine>,
    pub calculation: Option<Calculation>,
    pub explanation: Option<Localized>,
}

/// The unit and its data of one month: what one bundle is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitBundle {
    pub uscc: String,
    /// The month the bundle holds, `YYYY-MM`.
    pub month: String,
    pub name: Localized,
    /// The latest date of the unit's data of the month (the citation's data date; the month
    /// when no row has a date).
    pub data_date: String,
    /// The bundle's public URL.
    pub url: String,
    /// The publisher (the site's origin).
    pub publisher: String,
    /// Dataset id → the unit's rows of its published CSV.
    pub datasets: BTreeMap<String, Vec<u8>>,
    pub exceedances: Vec<ExceedanceEvidence>,
    /// For a unit with online monitoring: each day of its hourly readings, in date order.
    pub hourly: Vec<HourlyDay>,
}

/// One day of a unit's hourly readings in its bundle ([`hourly_path`]): the CSV's sha256 and
/// size (its bytes are copied into the zip from a source zip).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourlyDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Where a day's hourly readings are in a bundle: `data/cems-hourly/{YYYY-MM}/{date}.csv`.
pub fn hourly_path(date: &str) -> String {
    format!(
        "data/cems-hourly/{}/{date}.csv",
        date.get(..7).unwrap_or(date)
    )
}

/// The zips holding the compressed hourly files of a bundle under their paths (searched in
/// order).
pub type HourlySources = Vec<zip::ZipArchive<std::io::Cursor<Vec<u8>>>>;

/// The options of every entry of a bundle (see the module docs).
pub fn entry_options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip::DateTime::default())
        .system(zip::System::Unix)
        .unix_permissions(0o644)
}

/// The key a bundle is signed with, and whether it is a development key.
pub struct Signer<'a> {
    pub key: &'a SecretKey,
    pub development: bool,
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    bytes
}

fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

/// The files of one exceedance's folder.
fn exceedance_files(folder: &str, e: &ExceedanceEvidence, out: &mut BTreeMap<String, Vec<u8>>) {
    out.insert(format!("{folder}exceedance.json"), json(&e.row));
    let mut text = Vec::new();
    let mut index = Vec::new();
    for (i, l) in e.lines.iter().enumerate() {
        if let Some(b) = &l.bytes {
            text.extend_from_slice(b);
        }
        text.push(b'\n');
        index.push(vec![
            (i + 1).to_string(),
            l.raw_key.clone(),
            l.raw_line.to_string(),
            l.raw_sha256.clone().unwrap_or_default(),
            if l.bytes.is_some() {
                "found"
            } else {
                "missing"
            }
            .to_string(),
        ]);
    }
    out.insert(format!("{folder}raw-lines.txt"), text);
    out.insert(
        format!("{folder}raw-lines.csv"),
        csv_bytes(
            &[
                "line_in_raw_lines_txt",
                "raw_key",
                "raw_line",
                "raw_sha256",
                "status",
            ],
            &index,
        ),
    );
    if !e.hours.is_empty() {
        let rows: Vec<Vec<String>> = e
            .hours
            .iter()
            .map(|h| {
                vec![
                    h.observed_at.clone(),
                    h.value.map(|v| v.to_string()).unwrap_or_default(),
                    h.valid.to_string(),
                    h.flag.clone().unwrap_or_default(),
                    h.excluded_reason.clone().unwrap_or_default(),
                    h.raw_key.clone(),
                    h.raw_line.to_string(),
                ]
            })
            .collect();
        out.insert(
            format!("{folder}hourly-values.csv"),
            csv_bytes(
                &[
                    "observed_at",
                    "value",
                    "valid",
                    "flag",
                    "excluded_reason",
                    "raw_key",
                    "raw_line",
                ],
                &rows,
            ),
        );
    }
    if let Some(c) = &e.calculation {
        out.insert(format!("{folder}calculation.json"), json(c));
    }
    if let Some(x) = &e.explanation {
        out.insert(
            format!("{folder}calculation.zh.txt"),
            x.zh.clone().into_bytes(),
        );
        out.insert(
            format!("{folder}calculation.en.txt"),
            x.en.clone().into_bytes(),
        );
    }
}

/// Every file of the bundle but the manifest and its signature.
pub fn files(b: &UnitBundle) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    out.insert(
        "unit.json".to_string(),
        json(&serde_json::json!({
            "uscc": b.uscc,
            "name_zh": b.name.zh,
            "name_en": b.name.en,
            "month": b.month,
            "data_date": b.data_date,
            "bundle_url": b.url,
        })),
    );
    for (id, csv) in &b.datasets {
        out.insert(format!("data/{id}.csv"), csv.clone());
    }
    let mut index = Vec::new();
    for (i, e) in b.exceedances.iter().enumerate() {
        let folder = format!("exceedances/{:04}/", i + 1);
        index.push(vec![folder.clone(), e.exceedance_id.clone()]);
        exceedance_files(&folder, e, &mut out);
    }
    out.insert(
        "exceedances/index.csv".to_string(),
        csv_bytes(&["folder", "exceedance_id"], &index),
    );
    let about = About {
        uscc: &b.uscc,
        month: &b.month,
        name: &b.name,
        data_date: &b.data_date,
        url: &b.url,
        publisher: &b.publisher,
        datasets: b.datasets.keys().map(String::as_str).collect(),
        exceedances: b.exceedances.len(),
        hourly_days: b.hourly.len(),
    };
    let readme = text::readme(&about);
    out.insert("README.zh.md".to_string(), readme.zh.into_bytes());
    out.insert("README.en.md".to_string(), readme.en.into_bytes());
    let mut contents = entries(&out);
    contents.extend(hourly_entries(b));
    let contents = json(&contents);
    let citation = text::citation(&about, &crate::ledger::sha256_hex(&contents));
    out.insert("contents.json".to_string(), contents);
    out.insert("CITATION.zh.txt".to_string(), citation.zh.into_bytes());
    out.insert("CITATION.en.txt".to_string(), citation.en.into_bytes());
    out
}

/// The sha256 and size of each file.
fn entries(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, ManifestEntry> {
    files
        .iter()
        .map(|(p, bytes)| {
            (
                p.clone(),
                ManifestEntry {
                    sha256: crate::ledger::sha256_hex(bytes),
                    bytes: bytes.len() as u64,
                },
            )
        })
        .collect()
}

/// The hourly files' paths with their sha256 and size.
fn hourly_entries(b: &UnitBundle) -> impl Iterator<Item = (String, ManifestEntry)> + '_ {
    b.hourly.iter().map(|d| {
        (
            hourly_path(&d.date),
            ManifestEntry {
                sha256: d.sha256.clone(),
                bytes: d.bytes,
            },
        )
    })
}

/// The bundle's zip: [`files`], the hourly files copied from `sources`, its signed manifest
/// and the signature. An hourly file found in no source is an error.
pub fn zip(
    b: &UnitBundle,
    signer: &Signer<'_>,
    sources: &mut HourlySources,
) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut all = files(b);
    let mut manifest = SignedManifest::new(
        &format!("evidence bundle of {} ({}), {}", b.uscc, b.name.en, b.month),
        &b.data_date,
        signer.key,
        signer.development,
    );
    manifest.files = entries(&all);
    manifest.files.extend(hourly_entries(b));
    let (manifest_bytes, signature) = manifest.signed(signer.key);
    all.insert(MANIFEST_NAME.to_string(), manifest_bytes);
    all.insert(SIGNATURE_NAME.to_string(), signature.into_bytes());
    let hourly: BTreeMap<String, ()> = b
        .hourly
        .iter()
        .map(|d| (hourly_path(&d.date), ()))
        .collect();
    write_zip_with(&all, &hourly, sources)
}

/// A zip of `files` (sorted by path) with deterministic bytes: see the module docs.
pub fn write_zip(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, zip::result::ZipError> {
    write_zip_with(files, &BTreeMap::new(), &mut Vec::new())
}

/// [`write_zip`], with the entries `copied` (by path) copied compressed from the first of
/// `sources` that holds each, in path order among the others.
fn write_zip_with(
    files: &BTreeMap<String, Vec<u8>>,
    copied: &BTreeMap<String, ()>,
    sources: &mut HourlySources,
) -> Result<Vec<u8>, zip::result::ZipError> {
    let options = entry_options();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let paths: std::collections::BTreeSet<&String> = files.keys().chain(copied.keys()).collect();
    for path in paths {
        if let Some(bytes) = files.get(path) {
            w.start_file(path.as_str(), options)?;
            w.write_all(bytes)?;
            continue;
        }
        let found = sources
            .iter_mut()
            .find_map(|s| s.index_for_name(path).map(|i| (s, i)));
        let Some((source, i)) = found else {
            return Err(zip::result::ZipError::FileNotFound);
        };
        w.raw_copy_file(source.by_index_raw(i)?)?;
    }
    Ok(w.finish()?.into_inner())
}

/// A zip holding `files` compressed as a bundle's entries: a source for [`zip`].
pub fn source_zip(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, zip::result::ZipError> {
    write_zip(files)
}
