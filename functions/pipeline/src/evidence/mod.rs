//! Per-unit evidence bundles, one a month: a zip for each key polluting unit and each month
//! it has rows of, with its rows of the month of the published datasets, its hourly readings
//! of the month a file a day ([`hourly_days`]), and for each of its exceedances of the month
//! the raw line(s) it rests on, the raw file's sha256, the limit with its standard and clause,
//! and the calculation step by step; signed (see [`bundle`] for the layout, [`months`] for how
//! a row's month is read).
//!
//! Stage: release (reads the publication's per-unit rows, validated partitions, raw files and
//! the ledger; writes `bundles/` only). Built while a site release is planned, from the same
//! [`envgov_site::SiteInputs`] the pages are rendered from; the release copies each bundle to
//! `downloads/enterprises/{uscc}/evidence-bundle-{YYYY-MM}.zip` beside the unit's other
//! downloads.
//!
//! Incremental and flat in memory: a month's bundle is stored at
//! `bundles/{uscc}/{YYYY-MM}/{cache}.zip` with `{cache}.json` (its sha256 and size) beside it,
//! where `{cache}` hashes everything the bundle is made of (the unit's rows of the month of
//! each dataset, the month's hourly days, the origin, the signing key, the format); a release
//! whose rows of a month did not change reads the small `.json` and nothing else. A closed
//! month's bundle is so written once (again only when a correction changes its rows), and a
//! night builds the bundles of the months it changed: an ordinary night, the current month's.
//! Bundles to build are taken a month at a time, [`CHUNK`] units at a time. A month's
//! exceedance evidence is kept apart (`bundles/{uscc}/{YYYY-MM}/evidence-{hash}.json`, the
//! hash of its exceedance rows): when only its other rows changed (an ordinary night adds a
//! daily mean) it is read back whole; when its exceedances changed, the evidence of each
//! unchanged exceedance is taken from the month's last evidence and only the new ones are
//! read: each day's validated online-monitoring partition and each raw file they need, once
//! per chunk (streamed, line by line). Then each zip is built, stored and dropped before the
//! next.

pub mod bundle;
pub mod calc;
pub mod text;

use crate::error::JobError;
use crate::ledger::RawLedger;
use crate::partition::{get_json, put_json};
use crate::publication::{PublicationManifest, PublishedFile};
use crate::store::Store;
use crate::table::{Table, Values};
use bundle::{ExceedanceEvidence, RawLine, Signer, UnitBundle};
use calc::{Basis, HourlyValue, LimitSource};
use envgov_curated::Curated;
use envgov_curated::standards::Period;
use envgov_dataset::{Localized, Source, layout};
use envgov_site::{BundleLink, SiteInputs};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

/// Units whose bundles are built together (their partitions and raw files read once). What a
/// chunk holds is its units' exceedance evidence (a few MB at Beijing's scale), so it is
/// large: a backfill reads each day's partition at most twice for 2,000 units.
pub const CHUNK: usize = 1000;

/// The datasets whose unit rows go into a bundle, in this order.
pub const BUNDLE_DATASETS: [&str; 5] = [
    "cems-daily",
    "cems-hourly",
    "exceedances",
    "self-monitoring",
    "emission-totals",
];

/// A unit's stored bundle: `{cache}.json` beside the zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredBundle {
    pub key: String,
    pub sha256: String,
    pub bytes: u64,
}

/// What [`ensure`] did.
#[derive(Debug, Clone, Default)]
pub struct Bundles {
    /// (Unit, `YYYY-MM`) → the unit's bundle of that month.
    pub units: BTreeMap<(String, String), StoredBundle>,
    pub built: usize,
    pub reused: usize,
}

/// How bundles are made: the publisher's origin, the key they are signed with, and the days
/// of hourly readings they hold.
pub struct BundleOptions<'a> {
    pub origin: String,
    pub signer: Signer<'a>,
    /// The days whose hourly readings the bundles of every unit with online monitoring hold
    /// (each month's bundle the days of its month).
    pub hourly: hourly_days::Span,
}

fn definition(e: impl std::fmt::Display) -> JobError {
    JobError::Definition(e.to_string())
}

/// Unit → its month bundles' links on the unit page (month order); path in the release →
/// the stored bundle.
pub type ReleaseBundles = (
    BTreeMap<String, Vec<BundleLink>>,
    BTreeMap<String, PublishedFile>,
);

/// The bundles of a release: for the pages, each unit's month bundles (month, size and
/// sha256); for the release, each bundle's path in it
/// (`downloads/enterprises/{uscc}/evidence-bundle-{YYYY-MM}.zip`) and the stored file it is
/// copied from.
pub fn for_release(
    store: &dyn Store,
    curated: &Curated,
    inputs: &SiteInputs,
    publication: &PublicationManifest,
    origin: &str,
    key: &crate::signing::SecretKey,
    development: bool,
) -> Result<ReleaseBundles, JobError> {
    let opts = BundleOptions {
        origin: origin.to_string(),
        signer: Signer { key, development },
        hourly: hourly_days::span(store, curated, publication)?,
    };
    let bundles = ensure(store, curated, inputs, &opts)?;
    let mut links: BTreeMap<String, Vec<BundleLink>> = BTreeMap::new();
    let mut files = BTreeMap::new();
    for ((uscc, month), b) in bundles.units {
        files.insert(
            layout::unit_bundle_path(&uscc, &month).map_err(definition)?,
            PublishedFile {
                sha256: b.sha256.clone(),
                bytes: b.bytes,
                key: b.key,
            },
        );
        links.entry(uscc).or_default().push(BundleLink {
            month,
            bytes: b.bytes,
            sha256: b.sha256,
        });
    }
    Ok((links, files))
}

/// Dataset id → a unit's CSV of a month, in pieces (see [`Pending::datasets`]).
type MonthPieces<'a> = BTreeMap<String, Vec<Cow<'a, [u8]>>>;

/// A unit's month as its bundle needs it before its evidence is read.
struct Pending<'a> {
    uscc: String,
    /// `YYYY-MM`.
    month: String,
    name: Localized,
    data_date: String,
    url: String,
    cache: String,
    /// Dataset id → the unit's CSV of the month: its header, then its rows of the month, as
    /// slices of the unit's download (see [`months::split`]); of a dataset published a file a
    /// month, its month file, once [`Pending::load`] read it.
    datasets: MonthPieces<'a>,
    /// Dataset id → the unit's stored month file of a dataset published a file a month
    /// (`release::unit_months`): its key and sha256, read only when the bundle is built.
    stored: BTreeMap<String, (String, String)>,
    /// The unit has online-monitoring rows this month: its bundle holds its hourly readings.
    hourly: bool,
}

impl Pending<'_> {
    /// The unit's CSV of dataset `id` for the month (empty without rows).
    fn csv(&self, id: &str) -> Vec<u8> {
        self.datasets
            .get(id)
            .map(|pieces| pieces.concat())
            .unwrap_or_default()
    }

    /// Reads the unit's stored month files into `datasets` (each checked against its
    /// sha256) and the bundle's data date from its rows.
    fn load(&mut self, store: &dyn Store) -> Result<(), JobError> {
        for (id, (key, sha256)) in &self.stored {
            let bytes = store.get(key)?.ok_or_else(|| JobError::Corrupt {
                key: key.clone(),
                message: format!("missing ({}'s {id} of {})", self.uscc, self.month),
            })?;
            let actual = crate::ledger::sha256_hex(&bytes);
            if &actual != sha256 {
                return Err(JobError::Corrupt {
                    key: key.clone(),
                    message: format!("sha256 {actual}, indexed as {sha256}"),
                });
            }
            self.datasets.insert(id.clone(), vec![Cow::Owned(bytes)]);
        }
        self.data_date = months::data_date(&self.datasets, &self.month);
        Ok(())
    }

    /// Drops what [`Pending::load`] read.
    fn unload(&mut self) {
        for id in self.stored.keys() {
            self.datasets.remove(id);
        }
    }

    /// `bundles/{uscc}/{YYYY-MM}/`.
    fn prefix(&self) -> Result<String, JobError> {
        layout::bundle_month_prefix(&self.uscc, &self.month).map_err(definition)
    }
}

/// The bundle of every unit of `inputs`, built where missing. See the module docs.
pub fn ensure(
    store: &dyn Store,
    curated: &Curated,
    inputs: &SiteInputs,
    opts: &BundleOptions<'_>,
) -> Result<Bundles, JobError> {
    let started = std::time::Instant::now();
    let mut out = Bundles::default();
    let spans = opts.hourly.by_month();
    // Month → its bundles to build, in unit order.
    let mut pending: BTreeMap<String, Vec<Pending<'_>>> = BTreeMap::new();
    for unit in units(inputs) {
        for p in pending_months(inputs, unit, opts, &spans)? {
            match get_json::<StoredBundle>(store, &sidecar_key(&p)?)? {
                Some(stored) => {
                    out.reused += 1;
                    out.units.insert((p.uscc, p.month), stored);
                }
                None => pending.entry(p.month.clone()).or_default().push(p),
            }
        }
    }
    if !pending.is_empty() {
        let ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
        let none = hourly_days::Span::default();
        for (month, bundles) in &mut pending {
            let span = spans.get(month).unwrap_or(&none);
            for chunk in bundles.chunks_mut(CHUNK) {
                // A chunk's month files are held while it is built, and only then.
                for p in chunk.iter_mut() {
                    p.load(store)?;
                }
                for (uscc, stored) in build_chunk(store, curated, &ledger, chunk, opts, span)? {
                    out.built += 1;
                    out.units.insert((uscc, month.clone()), stored);
                }
                chunk.iter_mut().for_each(Pending::unload);
            }
        }
    }
    tracing::info!(
        built = out.built,
        reused = out.reused,
        seconds = started.elapsed().as_secs_f64(),
        peak_rss_mib = crate::datasets::peak_rss_mib(),
        "evidence bundles ready"
    );
    Ok(out)
}

/// The registry's units (credit code and names), from the published `enterprises` rows.
fn units(inputs: &SiteInputs) -> Vec<(String, Localized)> {
    let text = |r: &serde_json::Map<String, serde_json::Value>, k: &str| {
        r.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut units: Vec<(String, Localized)> = inputs
        .tables
        .get(envgov_site::rows::ENTERPRISES)
        .into_iter()
        .flatten()
        .map(|r| {
            (
                text(r, "uscc"),
                Localized::new(text(r, "name_zh"), text(r, "name_en")),
            )
        })
        .filter(|(u, _)| layout::check_segment(u).is_ok())
        .collect();
    units.sort_by(|a, b| a.0.cmp(&b.0));
    units.dedup_by(|a, b| a.0 == b.0);
    units
}

/// A unit's bundles, one for each month it has rows of (none without rows), each with the
/// cache key of what it is made of (the month's rows, the unit, the origin, the signing key,
/// the format, the month's hourly days).
fn pending_months<'a>(
    inputs: &'a SiteInputs,
    (uscc, name): (String, Localized),
    opts: &BundleOptions<'_>,
    spans: &BTreeMap<String, hourly_days::Span>,
) -> Result<Vec<Pending<'a>>, JobError> {
    // Month → dataset → the month's pieces of the unit's CSV.
    let mut by_month: BTreeMap<String, MonthPieces<'a>> = BTreeMap::new();
    // Month → dataset → the unit's stored month file (key, sha256).
    let mut stored_by_month: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for id in BUNDLE_DATASETS {
        let files = inputs.unit_months.get(id).and_then(|m| m.get(&uscc));
        for f in files.into_iter().flatten().filter(|f| f.rows > 0) {
            let key = layout::unit_month_download_key(&uscc, id, &f.month, &f.sha256)
                .map_err(definition)?;
            stored_by_month
                .entry(f.month.clone())
                .or_default()
                .insert(id.to_string(), (key, f.sha256.clone()));
        }
        let Some(d) = inputs.unit_downloads.get(id).and_then(|m| m.get(&uscc)) else {
            continue;
        };
        if d.rows == 0 {
            continue;
        }
        let (header, rows) = months::split(&d.csv);
        for (month, pieces) in rows {
            let mut all = vec![Cow::Borrowed(header)];
            all.extend(pieces.into_iter().map(Cow::Borrowed));
            by_month
                .entry(month)
                .or_default()
                .insert(id.to_string(), all);
        }
    }
    for month in stored_by_month.keys() {
        by_month.entry(month.clone()).or_default();
    }
    let mut out = Vec::with_capacity(by_month.len());
    for (month, datasets) in by_month {
        let stored = stored_by_month.remove(&month).unwrap_or_default();
        let hourly = datasets.contains_key("cems-daily") || stored.contains_key("cems-daily");
        let url = format!(
            "{}/{}",
            opts.origin.trim_end_matches('/'),
            layout::unit_bundle_path(&uscc, &month).map_err(definition)?
        );
        let mut p = Pending {
            uscc: uscc.clone(),
            month,
            name: name.clone(),
            // Read from the rows only when the bundle is built (the rows are hashed).
            data_date: String::new(),
            url,
            cache: String::new(),
            datasets,
            stored,
            hourly,
        };
        let span = spans.get(&p.month).map_or("", |s| s.hash.as_str());
        p.cache = cache_key(&p, opts, span);
        out.push(p);
    }
    Ok(out)
}

/// A hash of everything a month's bundle is made of (see [`pending_months`]).
fn cache_key(p: &Pending<'_>, opts: &BundleOptions<'_>, span: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        bundle::FORMAT,
        &p.uscc,
        &p.month,
        &p.name.zh,
        &p.name.en,
        &p.url,
        &opts.origin,
        &opts.signer.key.id().to_string(),
        if opts.signer.development {
            "dev"
        } else {
            "key"
        },
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    if p.hourly {
        h.update(span.as_bytes());
        h.update([0]);
    }
    for (id, pieces) in &p.datasets {
        h.update(id.as_bytes());
        h.update([0]);
        let len: usize = pieces.iter().map(|b| b.len()).sum();
        h.update((len as u64).to_le_bytes());
        for piece in pieces {
            h.update(piece);
        }
    }
    // A stored month file by its sha256 (it is read only when the bundle is built).
    for (id, (_, sha256)) in &p.stored {
        for part in [id.as_str(), "sha256", sha256] {
            h.update(part.as_bytes());
            h.update([0]);
        }
    }
    hex::encode(h.finalize())[..20].to_string()
}

fn zip_key(p: &Pending<'_>) -> Result<String, JobError> {
    Ok(format!("{}{}.zip", p.prefix()?, p.cache))
}

fn sidecar_key(p: &Pending<'_>) -> Result<String, JobError> {
    Ok(format!("{}{}.json", p.prefix()?, p.cache))
}

/// Header → cell rows of a unit's CSV slice.
fn csv_rows(csv: &[u8]) -> Vec<BTreeMap<String, String>> {
    let Ok(text) = std::str::from_utf8(csv) else {
        return Vec::new();
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let Ok(headers) = r.headers().cloned() else {
        return Vec::new();
    };
    r.records()
        .filter_map(Result::ok)
        .map(|rec| {
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// `(date, uscc, outlet, pollutant)`: a daily row's key.
type DayKey = (String, String, String, String);

fn cell<'a>(row: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    row.get(k).map_or("", String::as_str)
}

fn day_key(row: &BTreeMap<String, String>) -> DayKey {
    (
        cell(row, "date").to_string(),
        cell(row, "uscc").to_string(),
        cell(row, "outlet").to_string(),
        cell(row, "pollutant").to_string(),
    )
}

/// A unit's exceedance evidence of a month as stored:
/// `bundles/{uscc}/{YYYY-MM}/evidence-{hash}.json`, the hash of the bundle format and the
/// month's exceedance rows; `bundles/{uscc}/{YYYY-MM}/evidence-latest` names the last one
/// written.
type StoredEvidence = Vec<ExceedanceEvidence>;

fn evidence_key(p: &Pending<'_>, hash: &str) -> Result<String, JobError> {
    Ok(format!("{}evidence-{hash}.json", p.prefix()?))
}

fn latest_evidence_key(p: &Pending<'_>) -> Result<String, JobError> {
    Ok(format!("{}evidence-latest", p.prefix()?))
}

/// A unit's exceedances: the evidence stored for exactly these rows, or the rows whose
/// evidence must be read (the others taken from the unit's last stored evidence, when their
/// row is the same: an ordinary night reads only its new exceedances' days and raw files).
struct UnitEvidence {
    hash: String,
    rows: Vec<BTreeMap<String, String>>,
    /// Per row, its evidence when already known.
    known: Vec<Option<ExceedanceEvidence>>,
    stored: bool,
}

fn unit_evidence(store: &dyn Store, p: &Pending<'_>) -> Result<UnitEvidence, JobError> {
    let slice = p.csv("exceedances");
    let mut h = Sha256::new();
    h.update(bundle::FORMAT.as_bytes());
    h.update([0]);
    h.update(&slice);
    let hash = hex::encode(h.finalize())[..20].to_string();
    let rows = csv_rows(&slice);
    if let Some(ev) = get_json::<StoredEvidence>(store, &evidence_key(p, &hash)?)?
        && ev.len() == rows.len()
    {
        let known = ev.into_iter().map(Some).collect();
        return Ok(UnitEvidence {
            hash,
            rows,
            known,
            stored: true,
        });
    }
    let previous: StoredEvidence = match store.get(&latest_evidence_key(p)?)? {
        Some(b) => {
            let last = String::from_utf8_lossy(&b).trim().to_string();
            get_json(store, &evidence_key(p, &last)?)?.unwrap_or_default()
        }
        None => Vec::new(),
    };
    let mut by_id: BTreeMap<String, ExceedanceEvidence> = previous
        .into_iter()
        .map(|e| (e.exceedance_id.clone(), e))
        .collect();
    let known = rows
        .iter()
        .map(|r| {
            by_id
                .remove(cell(r, "exceedance_id"))
                .filter(|e| &e.row == r)
        })
        .collect();
    Ok(UnitEvidence {
        hash,
        rows,
        known,
        stored: false,
    })
}

/// The raw lines and hourly values the rows without known evidence need, read once each.
type Extracted = (
    BTreeMap<DayKey, Vec<HourlyValue>>,
    BTreeMap<(String, i64), Vec<u8>>,
);

fn extract(store: &dyn Store, units: &[UnitEvidence]) -> Result<Extracted, JobError> {
    let unknown: Vec<&BTreeMap<String, String>> = units
        .iter()
        .flat_map(|u| u.rows.iter().zip(&u.known))
        .filter(|(_, k)| k.is_none())
        .map(|(r, _)| r)
        .collect();
    let daily: BTreeSet<DayKey> = unknown
        .iter()
        .filter(|r| cell(r, "period") == "daily")
        .map(|r| day_key(r))
        .collect();
    let hours = hours_of(store, &daily)?;
    let mut wanted: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for r in &unknown {
        if let Ok(n) = cell(r, "raw_line").parse::<i64>() {
            wanted
                .entry(cell(r, "raw_key").to_string())
                .or_default()
                .insert(n);
        }
    }
    for h in hours.values().flatten() {
        wanted
            .entry(h.raw_key.clone())
            .or_default()
            .insert(h.raw_line);
    }
    Ok((hours, raw_lines(store, &wanted)?))
}

/// Builds, stores and returns the bundles of a chunk of units' bundles of one month, whose
/// hourly days are `span`.
fn build_chunk(
    store: &dyn Store,
    curated: &Curated,
    ledger: &RawLedger,
    chunk: &[Pending<'_>],
    opts: &BundleOptions<'_>,
    span: &hourly_days::Span,
) -> Result<Vec<(String, StoredBundle)>, JobError> {
    let units = chunk
        .iter()
        .map(|p| unit_evidence(store, p))
        .collect::<Result<Vec<_>, _>>()?;
    let (hours, lines) = extract(store, &units)?;
    let mut work = Vec::with_capacity(chunk.len());
    for (p, u) in chunk.iter().zip(units) {
        let evidence: StoredEvidence = u
            .rows
            .into_iter()
            .zip(u.known)
            .map(|(row, known)| {
                known.unwrap_or_else(|| exceedance_evidence(curated, ledger, &hours, &lines, row))
            })
            .collect();
        if !u.stored {
            put_json(store, &evidence_key(p, &u.hash)?, &evidence)?;
            store.put(&latest_evidence_key(p)?, u.hash.as_bytes())?;
        }
        work.push((p, evidence));
    }
    drop((hours, lines));
    // The zips are compressed on every core and stored [`BUILDERS`] at a time (a put is
    // mostly waiting on the store: an fsync, or a round trip to S3); results in unit order.
    // The hourly readings are read once for the chunk, a month at a time (see
    // [`hourly_days::prepare`]).
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(BUILDERS)
        .build()
        .map_err(|e| JobError::Definition(format!("evidence bundle threads: {e}")))?;
    let wanted: Vec<&str> = work
        .iter()
        .filter(|(p, _)| p.hourly)
        .map(|(p, _)| p.uscc.as_str())
        .collect();
    let month = chunk.first().map_or("", |p| p.month.as_str());
    let mut days = hourly_days::prepare(store, curated, &wanted, span, month)?;
    let jobs: Vec<_> = work
        .iter()
        .map(|(p, evidence)| (*p, evidence, days.remove(&p.uscc)))
        .collect();
    pool.install(|| {
        jobs.into_par_iter()
            .map(|(p, evidence, days)| {
                Ok((
                    p.uscc.clone(),
                    store_bundle(store, p, evidence, days, opts)?,
                ))
            })
            .collect()
    })
}

/// Bundles built and stored at once: at most this many zips are held.
const BUILDERS: usize = 8;

/// Writes a unit's zip and its `.json` beside it.
fn store_bundle(
    store: &dyn Store,
    p: &Pending<'_>,
    exceedances: &StoredEvidence,
    days: Option<hourly_days::UnitDays>,
    opts: &BundleOptions<'_>,
) -> Result<StoredBundle, JobError> {
    let (hourly, mut sources, remember) = match days {
        Some(d) => {
            let (files, sources, remember) = d.split(store)?;
            (files, sources, Some(remember))
        }
        None => (Vec::new(), Vec::new(), None),
    };
    let b = UnitBundle {
        uscc: p.uscc.clone(),
        month: p.month.clone(),
        name: p.name.clone(),
        data_date: p.data_date.clone(),
        url: p.url.clone(),
        publisher: opts.origin.clone(),
        datasets: p
            .datasets
            .iter()
            .map(|(k, pieces)| (k.clone(), pieces.concat()))
            .collect(),
        exceedances: exceedances.clone(),
        hourly,
    };
    let zip = bundle::zip(&b, &opts.signer, &mut sources).map_err(|e| {
        JobError::Definition(format!(
            "writing the evidence bundle of {} for {}: {e}",
            p.uscc, p.month
        ))
    })?;
    let sha256 = crate::ledger::sha256_hex(&zip);
    let key = zip_key(p)?;
    store.put_with_hash(&key, &zip, &sha256)?;
    let stored = StoredBundle {
        key,
        sha256,
        bytes: zip.len() as u64,
    };
    if let Some(r) = remember {
        r.write(store, &p.uscc, &p.month, &stored.key)?;
    }
    put_json(store, &sidecar_key(p)?, &stored)?;
    Ok(stored)
}

/// The hourly means (CN=2061) of each daily key, from each day's validated partition (read
/// once), in time order.
fn hours_of(
    store: &dyn Store,
    keys: &BTreeSet<DayKey>,
) -> Result<BTreeMap<DayKey, Vec<HourlyValue>>, JobError> {
    let mut out: BTreeMap<DayKey, Vec<HourlyValue>> = BTreeMap::new();
    let dates: BTreeSet<&String> = keys.iter().map(|k| &k.0).collect();
    for date in dates {
        let units: BTreeSet<&str> = keys
            .iter()
            .filter(|k| &k.0 == date)
            .map(|k| k.1.as_str())
            .collect();
        let Some(t) = unit_rows(store, date, &units)? else {
            continue;
        };
        collect_hours(&t, date, keys, &mut out);
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| (&a.observed_at, a.raw_line).cmp(&(&b.observed_at, b.raw_line)));
    }
    Ok(out)
}

/// The columns of a day's validated online-monitoring rows an exceedance's hours need.
const HOUR_COLUMNS: [&str; 11] = [
    "uscc",
    "outlet",
    "pollutant",
    "cn",
    "observed_at",
    "flag",
    "excluded_reason",
    "raw_key",
    "value",
    "valid",
    "raw_line",
];

/// The rows of `units` in a day's validated online-monitoring partition, only the columns
/// [`HOUR_COLUMNS`] (the day's other units never become a table).
fn unit_rows(
    store: &dyn Store,
    date: &str,
    units: &BTreeSet<&str>,
) -> Result<Option<Table>, JobError> {
    let key = layout::validated_key(Source::Cems, date).map_err(definition)?;
    let Some(bytes) = store.get(&key)? else {
        return Ok(None);
    };
    let corrupt = |e: polars::error::PolarsError| JobError::Corrupt {
        key: key.clone(),
        message: e.to_string(),
    };
    let schema = crate::validate::schema(Source::Cems);
    let df = crate::frame::read_frame_columns(&bytes, schema, &HOUR_COLUMNS).map_err(corrupt)?;
    crate::frame::rows_with(&df, "uscc", units)
        .map(Some)
        .map_err(corrupt)
}

fn collect_hours(
    t: &Table,
    date: &str,
    keys: &BTreeSet<DayKey>,
    out: &mut BTreeMap<DayKey, Vec<HourlyValue>>,
) {
    let s = |name: &str| t.str_column(name);
    let (uscc, outlet, pollutant, cn) = (s("uscc"), s("outlet"), s("pollutant"), s("cn"));
    let (observed, flag, reason, raw_key) = (
        s("observed_at"),
        s("flag"),
        s("excluded_reason"),
        s("raw_key"),
    );
    let f64s = |name: &str| match t
        .names
        .iter()
        .position(|n| n == name)
        .map(|i| &t.columns[i])
    {
        Some(Values::F64(v)) => v.clone(),
        _ => vec![None; t.rows()],
    };
    let value = f64s("value");
    let column = |name: &str| {
        t.names
            .iter()
            .position(|n| n == name)
            .map(|i| &t.columns[i])
    };
    let valid: Vec<bool> = match column("valid") {
        Some(Values::Bool(v)) => v.iter().map(|b| b.unwrap_or(false)).collect(),
        _ => vec![false; t.rows()],
    };
    let line: Vec<i64> = match column("raw_line") {
        Some(Values::I64(v)) => v.iter().map(|l| l.unwrap_or(0)).collect(),
        _ => vec![0; t.rows()],
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    for i in 0..t.rows() {
        if cn[i].as_deref() != Some("2061") {
            continue;
        }
        let key = (
            date.to_string(),
            text(&uscc[i]),
            text(&outlet[i]),
            text(&pollutant[i]),
        );
        if !keys.contains(&key) {
            continue;
        }
        out.entry(key).or_default().push(HourlyValue {
            observed_at: text(&observed[i]),
            value: value[i],
            valid: valid[i],
            flag: flag[i].clone().filter(|f| !f.is_empty()),
            excluded_reason: reason[i].clone().filter(|r| !r.is_empty()),
            raw_key: text(&raw_key[i]),
            raw_line: line[i],
        });
    }
}

/// The wanted lines of each raw file (1-based, as `sed -n Np` counts: bytes up to each line
/// feed, the line feed left out), each file streamed once.
fn raw_lines(
    store: &dyn Store,
    wanted: &BTreeMap<String, BTreeSet<i64>>,
) -> Result<BTreeMap<(String, i64), Vec<u8>>, JobError> {
    let mut out = BTreeMap::new();
    for (key, lines) in wanted {
        if layout::parse_raw_key(key).is_err() {
            continue;
        }
        let Some(reader) = store.open(key)? else {
            continue;
        };
        let last = lines.last().copied().unwrap_or(0);
        let mut reader = std::io::BufReader::new(reader);
        let mut buf = Vec::new();
        let mut n = 0i64;
        while n < last {
            buf.clear();
            let read = reader.read_until(b'\n', &mut buf).map_err(|source| {
                crate::store::StoreError::Io {
                    key: key.clone(),
                    source,
                }
            })?;
            if read == 0 {
                break;
            }
            n += 1;
            if lines.contains(&n) {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                out.insert((key.clone(), n), buf.clone());
            }
        }
    }
    Ok(out)
}

/// The limit of an exceedance row, from `data/standards.toml`.
fn limit_source(curated: &Curated, row: &BTreeMap<String, String>) -> Option<LimitSource> {
    let standard = curated
        .standards
        .get(cell(row, "standard"))
        .or_else(|| curated.standards.by_code(cell(row, "standard")))?;
    let pollutant = cell(row, "pollutant");
    let period = match cell(row, "period") {
        "hourly" => Period::Hourly,
        "daily" => Period::Daily,
        _ => Period::Sample,
    };
    let limit = standard.limit(pollutant, period)?;
    let p = curated.pollutants.get(pollutant);
    Some(LimitSource {
        value: cell(row, "limit").parse().unwrap_or(limit.value),
        period: period.as_str().to_string(),
        standard_id: standard.id.clone(),
        standard_code: standard.code.clone(),
        standard_title: standard.title.clone(),
        clause: limit.clause.text(),
        clause_confidence: limit.clause.confidence.clone(),
        confidence: limit.confidence.clone(),
        pollutant: pollutant.to_string(),
        pollutant_name: p.map_or_else(
            || Localized::new(pollutant.to_string(), pollutant.to_string()),
            |p| p.name.clone(),
        ),
        unit: p.map_or_else(String::new, |p| p.unit.clone()),
    })
}

fn exceedance_evidence(
    curated: &Curated,
    ledger: &RawLedger,
    hours: &BTreeMap<DayKey, Vec<HourlyValue>>,
    lines: &BTreeMap<(String, i64), Vec<u8>>,
    row: BTreeMap<String, String>,
) -> ExceedanceEvidence {
    let daily = cell(&row, "period") == "daily";
    let day_hours = if daily {
        hours.get(&day_key(&row)).cloned().unwrap_or_default()
    } else {
        Vec::new()
    };
    let line_of = |key: &str, n: i64| RawLine {
        raw_key: key.to_string(),
        raw_line: n,
        raw_sha256: ledger.files.get(key).map(|e| e.sha256.clone()),
        bytes: lines.get(&(key.to_string(), n)).cloned(),
    };
    let raw: Vec<RawLine> = if daily {
        day_hours
            .iter()
            .map(|h| line_of(&h.raw_key, h.raw_line))
            .collect()
    } else {
        cell(&row, "raw_line")
            .parse::<i64>()
            .map(|n| vec![line_of(cell(&row, "raw_key"), n)])
            .unwrap_or_default()
    };
    let limit = limit_source(curated, &row);
    let num = |k: &str| cell(&row, k).parse::<f64>().ok();
    let published = (num("value"), num("exceedance_multiple"));
    let calculation = limit.as_ref().map(|l| {
        let basis = if daily {
            Basis::Daily(&day_hours)
        } else {
            Basis::Single(published.0)
        };
        calc::calculate(&l.period, basis, l.value, published)
    });
    let explanation = match (&calculation, &limit) {
        (Some(c), Some(l)) => Some(calc::explain(c, l, &day_hours)),
        _ => None,
    };
    ExceedanceEvidence {
        exceedance_id: cell(&row, "exceedance_id").to_string(),
        row,
        limit,
        hours: day_hours,
        lines: raw,
        calculation,
        explanation,
    }
}

/// A unit's CSV download cut into its months, for the unit's bundle of each month.
///
/// Stage: none (pure: a CSV's bytes in, slices of them out). A row's month is its `date`
/// (`YYYY-MM-DD`), else its `sampled_at` or `observed_at` (a timestamp starting with the
/// date), else its `period` when that is a month (`YYYY-MM`, as emission-totals' monthly rows
/// have it). A row with none of these (emission-totals' yearly rows, whose `period` is a
/// year) is in no month's bundle: a year's total is the sum of its months' rows, each in its
/// month's bundle.
pub mod months {
    use std::collections::BTreeMap;

    /// The columns a row's month is read from, in order of preference, and whether the cell is a
    /// month already (`period`) rather than a date or timestamp.
    const MONTH_COLUMNS: [(&str, bool); 4] = [
        ("date", false),
        ("sampled_at", false),
        ("observed_at", false),
        ("period", true),
    ];

    /// A CSV's header (with its BOM, if any, and line end) and, by month, its rows (each with its
    /// line end), as slices of `csv` in their order: the header followed by every row of every
    /// month is the CSV again, less the rows of no month. A CSV that cannot be read has no rows.
    pub fn split(csv: &[u8]) -> (&[u8], BTreeMap<String, Vec<&[u8]>>) {
        let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(csv);
        let column = r.byte_headers().ok().and_then(|h| {
            let names: Vec<&[u8]> = h.iter().map(strip_bom).collect();
            MONTH_COLUMNS.iter().find_map(|(name, is_month)| {
                names
                    .iter()
                    .position(|n| *n == name.as_bytes())
                    .map(|i| (i, *is_month))
            })
        });
        let mut starts = Vec::new();
        let mut months = Vec::new();
        let mut record = csv::ByteRecord::new();
        while let Ok(true) = r.read_byte_record(&mut record) {
            let Some(pos) = record.position() else {
                break;
            };
            // After a CRLF the reader places the next record at its LF: a row starts after it.
            let mut start = pos.byte() as usize;
            if start > 0 && csv.get(start - 1..=start) == Some(b"\r\n") {
                start += 1;
            }
            starts.push(start);
            months.push(column.and_then(|(i, is_month)| month_of(record.get(i)?, is_month)));
        }
        let header = &csv[..starts.first().copied().unwrap_or(csv.len()).min(csv.len())];
        let mut out: BTreeMap<String, Vec<&[u8]>> = BTreeMap::new();
        for (i, month) in months.into_iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(csv.len());
            if let (Some(m), Some(row)) = (month, csv.get(starts[i]..end)) {
                out.entry(m).or_default().push(row);
            }
        }
        (header, out)
    }

    fn strip_bom(name: &[u8]) -> &[u8] {
        name.strip_prefix(b"\xef\xbb\xbf").unwrap_or(name)
    }

    /// The `YYYY-MM` of a cell: its first 7 characters when they are a month followed by a date's
    /// `-DD` (or, for a month cell, the whole cell).
    fn month_of(cell: &[u8], is_month: bool) -> Option<String> {
        let text = std::str::from_utf8(cell).ok()?;
        let month = if is_month {
            text
        } else {
            let day = text.get(7..10)?;
            if !(day.starts_with('-') && day[1..].bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            text.get(..7)?
        };
        envgov_dataset::layout::check_month(month)
            .ok()
            .map(str::to_string)
    }

    /// A month bundle's data date: the latest `date` of its rows, else the month (`YYYY-MM`) when
    /// no row has a date. A function of the rows alone, so a bundle made from the same rows is
    /// the same whichever night makes it.
    pub fn data_date<V: std::borrow::Borrow<[u8]>>(
        datasets: &BTreeMap<String, Vec<V>>,
        month: &str,
    ) -> String {
        datasets
            .values()
            .filter_map(|pieces| latest_date(&pieces.concat()))
            .max()
            .unwrap_or_else(|| month.to_string())
    }

    /// The latest `date` cell of a unit's rows (`None` without rows or without the column).
    fn latest_date(csv: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(csv).ok()?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let at = r.headers().ok()?.iter().position(|h| h == "date")?;
        r.records()
            .filter_map(Result::ok)
            .filter_map(|rec| rec.get(at).map(str::to_string))
            .filter(|d| !d.is_empty())
            .max()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_csv_is_cut_into_its_months_byte_for_byte() {
            // BOM, CRLF, a quoted cell with a line feed in it, rows of two months out of order.
            let csv = "\u{feff}date,uscc,note\r\n\
                       2026-01-31,U1,a\r\n\
                       2026-02-01,U1,\"two\nlines\"\r\n\
                       2026-01-05,U1,c\r\n";
            let (header, months) = split(csv.as_bytes());
            assert_eq!(header, "\u{feff}date,uscc,note\r\n".as_bytes());
            let text = |m: &str| -> Vec<&str> {
                months[m]
                    .iter()
                    .map(|b| std::str::from_utf8(b).unwrap())
                    .collect()
            };
            assert_eq!(months.len(), 2);
            assert_eq!(
                text("2026-01"),
                ["2026-01-31,U1,a\r\n", "2026-01-05,U1,c\r\n"]
            );
            assert_eq!(text("2026-02"), ["2026-02-01,U1,\"two\nlines\"\r\n"]);
            assert_eq!(
                data_date(
                    &[("d".to_string(), {
                        let mut v = vec![header];
                        v.extend(months["2026-01"].iter().copied());
                        v
                    })]
                    .into_iter()
                    .collect(),
                    "2026-01"
                ),
                "2026-01-31"
            );
        }

        #[test]
        fn emission_totals_keep_their_month_rows_and_leave_the_year_out() {
            let csv = "uscc,pollutant,period,period_type,mass_kg\n\
                       U1,a34013,2026-01,month,1.5\n\
                       U1,a34013,2026,year,1.5\n";
            let (header, months) = split(csv.as_bytes());
            assert_eq!(header, b"uscc,pollutant,period,period_type,mass_kg\n");
            assert_eq!(months.len(), 1);
            assert_eq!(months["2026-01"], [&b"U1,a34013,2026-01,month,1.5\n"[..]]);
            // No `date` column: the month is the data date.
            let pieces = vec![header, months["2026-01"][0]];
            let datasets = [("emission-totals".to_string(), pieces)]
                .into_iter()
                .collect();
            assert_eq!(data_date(&datasets, "2026-01"), "2026-01");
        }

        #[test]
        fn a_timestamp_gives_its_month_and_a_bad_cell_none() {
            assert_eq!(
                month_of(b"2026-03-04T05:00:00+08:00", false).as_deref(),
                Some("2026-03")
            );
            assert_eq!(month_of(b"2026-03", false), None);
            assert_eq!(month_of(b"2026/03/04", false), None);
            assert_eq!(month_of(b"2026", true), None);
        }
    }
}

/// The hourly readings in units' bundles: each day of a unit's online monitoring as the CSV of
/// its rows of `cems-hourly` (the published shape, with `raw_key`, `raw_line`, `raw_sha256`),
/// `data/cems-hourly/{YYYY-MM}/{date}.csv` ([`bundle::hourly_path`]), for every day of the
/// publication's `cems-hourly` months.
///
/// Incremental: what a unit's bundle holds of each day is remembered with what the day was
/// made from (`bundles/{uscc}/{YYYY-MM}/hourly-days.json`: the day's validated partition sha256, the
/// month's limits and the dataset's version, and the file's sha256 and size, with the zip
/// holding them). A bundle is made of the days it held before, copied compressed from its
/// previous zip, and the days whose inputs changed (an ordinary night: the new day), read from
/// their partitions once for [`UNITS`] units and compressed once.
pub mod hourly_days {
    use crate::error::JobError;
    use crate::evidence::bundle::{self, HourlyDay, HourlySources};
    use crate::monthly::Monthly;
    use crate::partition::{get_json, put_json};
    use crate::publication::PublicationManifest;
    use crate::store::Store;
    use chrono::NaiveDate;
    use envgov_curated::Curated;
    use envgov_dataset::layout;
    use serde::{Deserialize, Serialize};
    use sha2::{Digest, Sha256};
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::Write;
    use zip::write::{PreparedZipFile, ZipFileBuilder};

    /// The days bundles hold hourly readings of, each with what its rows are made from.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Span {
        pub days: BTreeMap<NaiveDate, String>,
        /// A hash of `days` (part of every bundle's cache key).
        pub hash: String,
    }

    fn definition(e: impl std::fmt::Display) -> JobError {
        JobError::Definition(e.to_string())
    }

    /// The days of the publication's `cems-hourly` months that have a validated
    /// online-monitoring partition.
    pub fn span(
        store: &dyn Store,
        curated: &Curated,
        publication: &PublicationManifest,
    ) -> Result<Span, JobError> {
        let months: BTreeSet<NaiveDate> = publication
            .files
            .keys()
            .filter_map(|p| p.strip_prefix("cems-hourly/cems-hourly-"))
            .filter_map(|rest| rest.get(..7))
            .filter_map(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
            .collect();
        let dates: Vec<NaiveDate> = months
            .iter()
            .flat_map(|first| {
                first
                    .iter_days()
                    .take_while(|d| d.month0() == first.month0())
            })
            .collect();
        if dates.is_empty() {
            return Ok(Span::default());
        }
        let hourly = crate::hourly::Hourly::new(store, curated)?;
        let mut days = BTreeMap::new();
        for month in hourly.inputs(store, &dates)?.values() {
            for (d, sha) in &month.days {
                let made_from = format!(
                    "{}:{sha}:{}",
                    crate::hourly::HOURLY_VERSION,
                    month.other_sha256
                );
                days.insert(*d, made_from);
            }
        }
        Ok(Span::of(days))
    }

    impl Span {
        fn of(days: BTreeMap<NaiveDate, String>) -> Span {
            let mut h = Sha256::new();
            for (d, made_from) in &days {
                h.update(d.to_string().as_bytes());
                h.update([0]);
                h.update(made_from.as_bytes());
                h.update([0]);
            }
            Span {
                days,
                hash: hex::encode(h.finalize()),
            }
        }

        /// The span cut into its months (`YYYY-MM`), each with its own hash: a month's
        /// bundles depend on its days only.
        pub fn by_month(&self) -> BTreeMap<String, Span> {
            let mut months: BTreeMap<String, BTreeMap<NaiveDate, String>> = BTreeMap::new();
            for (d, made_from) in &self.days {
                months
                    .entry(d.format("%Y-%m").to_string())
                    .or_default()
                    .insert(*d, made_from.clone());
            }
            months
                .into_iter()
                .map(|(m, days)| (m, Span::of(days)))
                .collect()
        }
    }

    use chrono::Datelike;

    /// `bundles/{uscc}/{YYYY-MM}/hourly-days.json`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Index {
        /// The zip holding the files below.
        zip: String,
        days: BTreeMap<String, Indexed>,
    }

    /// One day of a unit's bundle: what it was made from, and its file (none when the unit
    /// has no reading that day).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Indexed {
        made_from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<HourlyDay>,
    }

    fn index_key(uscc: &str, month: &str) -> Result<String, JobError> {
        Ok(format!(
            "{}hourly-days.json",
            layout::bundle_month_prefix(uscc, month).map_err(definition)?
        ))
    }

    /// A unit's hourly readings for its bundle.
    pub struct UnitDays {
        days: BTreeMap<String, Indexed>,
        /// The zip of the days compressed now, when they are of one month; else the keys of
        /// the zips they were put in, a month each (deleted once the bundle is stored).
        fresh: Option<Vec<u8>>,
        spilled: Vec<String>,
        /// The unit's previous bundle, and whether days are copied from it.
        previous_key: Option<String>,
        copies_previous: bool,
    }

    /// What to remember once the bundle is stored: [`Remember::write`].
    pub struct Remember {
        days: BTreeMap<String, Indexed>,
        spilled: Vec<String>,
    }

    impl UnitDays {
        /// The bundle's hourly files in date order, the zips holding them (read now), and
        /// what to remember.
        pub fn split(
            self,
            store: &dyn Store,
        ) -> Result<(Vec<HourlyDay>, HourlySources, Remember), JobError> {
            let files = self.days.values().filter_map(|d| d.file.clone()).collect();
            let mut zips: Vec<Vec<u8>> = self.fresh.into_iter().collect();
            let previous = self.previous_key.as_ref().filter(|_| self.copies_previous);
            for key in self.spilled.iter().chain(previous) {
                zips.push(store.get(key)?.ok_or_else(|| JobError::Corrupt {
                    key: key.clone(),
                    message: "an evidence bundle's hourly readings are gone".into(),
                })?);
            }
            let mut sources = HourlySources::new();
            for bytes in zips {
                sources.push(
                    zip::ZipArchive::new(std::io::Cursor::new(bytes))
                        .map_err(|e| definition(format!("reading an hourly source zip: {e}")))?,
                );
            }
            let remember = Remember {
                days: self.days,
                spilled: self.spilled,
            };
            Ok((files, sources, remember))
        }
    }

    impl Remember {
        /// Records the days of the month bundle stored at `zip`, then deletes the month zips
        /// of this build. The unit's previous bundle of the month is kept: a night running
        /// at the same time (overlapping nights, a re-run of another date) may have listed
        /// it and be about to copy it into its release, and deleting it made that night fail
        /// ("missing"). Removing the bundles no kept release serves belongs with release
        /// pruning (not built yet).
        pub fn write(
            self,
            store: &dyn Store,
            uscc: &str,
            month: &str,
            zip: &str,
        ) -> Result<(), JobError> {
            let index = Index {
                zip: zip.to_string(),
                days: self.days,
            };
            put_json(store, &index_key(uscc, month)?, &index)?;
            // A cache left behind costs space, not correctness: never a reason to stop.
            for key in self.spilled {
                if let Err(e) = store.delete(&key) {
                    tracing::warn!(key = %key, error = %e, "a superseded evidence bundle file could not be deleted");
                }
            }
            Ok(())
        }
    }

    /// What a unit keeps and needs.
    struct Plan {
        kept: BTreeMap<String, Indexed>,
        needed: BTreeSet<NaiveDate>,
        previous_key: Option<String>,
    }

    fn plan(store: &dyn Store, uscc: &str, month: &str, span: &Span) -> Result<Plan, JobError> {
        let index: Option<Index> = get_json(store, &index_key(uscc, month)?)?;
        // A previous zip that is gone: every day is made again.
        let index = match index {
            Some(i) if store.stored_hash(&i.zip)?.is_some() => i,
            _ => Index::default(),
        };
        let mut kept = BTreeMap::new();
        let mut needed = BTreeSet::new();
        for (d, made_from) in &span.days {
            match index.days.get(&d.to_string()) {
                Some(i) if &i.made_from == made_from => {
                    kept.insert(d.to_string(), i.clone());
                }
                _ => {
                    needed.insert(*d);
                }
            }
        }
        let previous_key = (!index.zip.is_empty()).then_some(index.zip);
        Ok(Plan {
            kept,
            needed,
            previous_key,
        })
    }

    /// A zip being written in memory.
    type ZipWriter = zip::ZipWriter<std::io::Cursor<Vec<u8>>>;

    /// A unit's compressed days of one month: the zip, and the days in it.
    type MonthMade = BTreeMap<String, (Vec<u8>, Vec<HourlyDay>)>;

    /// The hourly readings of the units `wanted` for their bundles of `month` (whose days
    /// are `span`): the days kept from their previous bundles of the month, and the days made
    /// now, each needed day's partition read once for all the units. Days of one month stay
    /// in memory; of several (a span of more than one month) each month's zips are stored
    /// (`bundles/{uscc}/{month}/hourly-{YYYY-MM}.zip`) until the bundle is.
    pub fn prepare(
        store: &dyn Store,
        curated: &Curated,
        wanted: &[&str],
        span: &Span,
        month: &str,
    ) -> Result<BTreeMap<String, UnitDays>, JobError> {
        let mut plans = BTreeMap::new();
        for uscc in wanted {
            plans.insert(uscc.to_string(), plan(store, uscc, month, span)?);
        }
        let mut months: BTreeMap<String, Vec<NaiveDate>> = BTreeMap::new();
        for d in plans.values().flat_map(|p| p.needed.iter()) {
            months
                .entry(d.format("%Y-%m").to_string())
                .or_default()
                .push(*d);
        }
        let spill = months.len() > 1;
        let mut fresh: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut spilled: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut made_days: BTreeMap<String, BTreeMap<String, HourlyDay>> = BTreeMap::new();
        for (made, dates) in &mut months {
            dates.sort();
            dates.dedup();
            for (uscc, (zip, days)) in month_days(store, curated, &plans, dates)? {
                made_days
                    .entry(uscc.clone())
                    .or_default()
                    .extend(days.into_iter().map(|d| (d.date.clone(), d)));
                if spill {
                    let key = format!(
                        "{}hourly-{made}.zip",
                        layout::bundle_month_prefix(&uscc, month).map_err(definition)?
                    );
                    store.put(&key, &zip)?;
                    spilled.entry(uscc).or_default().push(key);
                } else {
                    fresh.insert(uscc, zip);
                }
            }
        }
        let mut out = BTreeMap::new();
        for (uscc, plan) in plans {
            let mut made = made_days.remove(&uscc).unwrap_or_default();
            let mut days = plan.kept;
            let copies_previous = days.values().any(|d| d.file.is_some());
            for d in &plan.needed {
                let date = d.to_string();
                let made_from = span.days.get(d).cloned().unwrap_or_default();
                let file = made.remove(&date);
                days.insert(date, Indexed { made_from, file });
            }
            out.insert(
                uscc.clone(),
                UnitDays {
                    days,
                    fresh: fresh.remove(&uscc),
                    spilled: spilled.remove(&uscc).unwrap_or_default(),
                    previous_key: plan.previous_key,
                    copies_previous,
                },
            );
        }
        Ok(out)
    }

    /// The days `dates` (of one month) of the units that need them, each day's partition
    /// read once and each unit's day compressed on its own (on every core): per unit, the
    /// zip of its days and the days in it. What is held is the compressed days.
    fn month_days(
        store: &dyn Store,
        curated: &Curated,
        plans: &BTreeMap<String, Plan>,
        dates: &[NaiveDate],
    ) -> Result<MonthMade, JobError> {
        use rayon::prelude::*;
        let readers: BTreeSet<String> = plans
            .iter()
            .filter(|(_, p)| dates.iter().any(|d| p.needed.contains(d)))
            .map(|(u, _)| u.clone())
            .collect();
        let names: Vec<String> = crate::hourly::schema()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        // Each unit's month zip, its days added as they are compressed (a compressed day
        // holds its compressor's buffer: it is not kept past its day).
        let zip_err =
            |e: zip::result::ZipError| definition(format!("compressing hourly readings: {e}"));
        let mut made: BTreeMap<String, (ZipWriter, Vec<HourlyDay>)> = BTreeMap::new();
        crate::hourly::units_rows(store, curated, dates, &readers, |date, rows| {
            let parts: Vec<(String, polars::prelude::DataFrame)> = by_unit(&rows)?
                .into_iter()
                .filter(|(u, _)| plans.get(u).is_some_and(|p| p.needed.contains(&date)))
                .collect();
            let days: Vec<Result<_, JobError>> = parts
                .into_par_iter()
                .map(|(uscc, part)| {
                    let (day, prepared) = compress_day(&names, date, &part)?;
                    Ok((uscc, day, prepared))
                })
                .collect();
            for d in days {
                let (uscc, day, prepared) = d?;
                let (w, listed) = made.entry(uscc).or_insert_with(|| {
                    (
                        zip::ZipWriter::new(std::io::Cursor::new(Vec::new())),
                        Vec::new(),
                    )
                });
                w.add_prepared_file(prepared).map_err(zip_err)?;
                listed.push(day);
            }
            Ok(())
        })?;
        let mut out = MonthMade::new();
        for (uscc, (w, listed)) in made {
            out.insert(uscc, (w.finish().map_err(zip_err)?.into_inner(), listed));
        }
        Ok(out)
    }

    /// One unit's day: its CSV (the published header and rows) compressed as a bundle entry.
    fn compress_day(
        names: &[String],
        date: NaiveDate,
        rows: &polars::prelude::DataFrame,
    ) -> Result<(HourlyDay, PreparedZipFile), JobError> {
        let mut csv = Vec::new();
        crate::publish::write_csv_head(&mut csv, names).map_err(definition)?;
        crate::publish::write_csv_records(&mut csv, |sink| sink(rows)).map_err(definition)?;
        let day = HourlyDay {
            date: date.to_string(),
            sha256: crate::ledger::sha256_hex(&csv),
            bytes: csv.len() as u64,
        };
        let zip_err =
            |e: zip::result::ZipError| definition(format!("compressing hourly readings: {e}"));
        let mut builder =
            ZipFileBuilder::new(bundle::hourly_path(&day.date), bundle::entry_options())
                .map_err(zip_err)?;
        builder
            .write_all(&csv)
            .map_err(|e| definition(format!("compressing hourly readings: {e}")))?;
        Ok((day, builder.finish().map_err(zip_err)?))
    }

    /// The rows of each unit of a day's frame, in the frame's order.
    fn by_unit(
        rows: &polars::prelude::DataFrame,
    ) -> Result<Vec<(String, polars::prelude::DataFrame)>, JobError> {
        use polars::prelude::BooleanChunked;
        let polars = |e: polars::error::PolarsError| JobError::Polars {
            what: "hourly readings of a unit".into(),
            source: e,
        };
        let usccs = rows
            .column("uscc")
            .and_then(|c| c.str().cloned())
            .map_err(polars)?;
        let units: BTreeSet<String> = usccs.iter().flatten().map(str::to_string).collect();
        let mut out = Vec::with_capacity(units.len());
        for u in units {
            let mask: BooleanChunked = usccs.iter().map(|x| x == Some(u.as_str())).collect();
            out.push((u, rows.filter(&mask).map_err(polars)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{KeyId, SecretKey};
    use crate::store::MemoryStore;

    const HEADER: &str = "exceedance_id,record_source,uscc,outlet,pollutant,period,observed_at,date,value,limit,exceedance_multiple,standard,raw_key,raw_line\r\n";

    fn row(n: u32, raw_key: &str) -> String {
        format!(
            "s{n},self-monitoring,U1,DW001,w01018,sample,2026-01-3{n},2026-01-3{n},0.35,0.3,0.166667,X,{raw_key},{}\r\n",
            n + 2
        )
    }

    fn pending<'a>(slice: &'a [u8]) -> Pending<'a> {
        Pending {
            uscc: "U1".into(),
            month: "2026-01".into(),
            name: Localized::new("单位".to_string(), "Unit".to_string()),
            data_date: "2026-01-31".into(),
            url: "https://example.org/b.zip".into(),
            cache: hex::encode(Sha256::digest(slice))[..20].to_string(),
            datasets: [("exceedances".to_string(), vec![Cow::Borrowed(slice)])]
                .into_iter()
                .collect(),
            stored: BTreeMap::new(),
            hourly: false,
        }
    }

    fn evidence_of(store: &MemoryStore, slice: &[u8]) -> StoredEvidence {
        let p = pending(slice);
        let u = unit_evidence(store, &p).unwrap();
        get_json(store, &evidence_key(&p, &u.hash).unwrap())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn an_unchanged_exceedance_keeps_its_evidence_and_only_a_new_one_is_read() {
        let curated = Curated::load().unwrap();
        let store = MemoryStore::new();
        let key = SecretKey::from_seed(KeyId([1; 8]), [7; 32]);
        let opts = BundleOptions {
            origin: "https://example.org".into(),
            signer: Signer {
                key: &key,
                development: true,
            },
            hourly: hourly_days::Span::default(),
        };
        let a = "raw/self-monitoring/2026-01-30/a.csv";
        let b = "raw/self-monitoring/2026-01-31/b.csv";
        store.put(a, b"header\r\nfirst row of a\r\n").unwrap();
        store
            .put(b, b"header\r\nline 2 of b\nline 3 of b\n")
            .unwrap();
        let first = format!("{HEADER}{}", row(0, a));
        build_chunk(
            &store,
            &curated,
            &RawLedger::default(),
            &[pending(first.as_bytes())],
            &opts,
            &hourly_days::Span::default(),
        )
        .unwrap();
        let ev = evidence_of(&store, first.as_bytes());
        // Line 2 of a, without its line feed: the CR before it is part of the line `sed -n 2p`
        // prints.
        assert_eq!(
            ev[0].lines[0].bytes.as_deref(),
            Some(&b"first row of a\r"[..])
        );

        // a is gone (say, moved): the first exceedance's evidence is reused, not read again;
        // the new one is read from b.
        store.delete(a).unwrap();
        let second = format!("{HEADER}{}{}", row(0, a), row(1, b));
        build_chunk(
            &store,
            &curated,
            &RawLedger::default(),
            &[pending(second.as_bytes())],
            &opts,
            &hourly_days::Span::default(),
        )
        .unwrap();
        let ev = evidence_of(&store, second.as_bytes());
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[0].lines[0].bytes.as_deref(),
            Some(&b"first row of a\r"[..])
        );
        assert_eq!(ev[1].lines[0].bytes.as_deref(), Some(&b"line 3 of b"[..]));
    }
}
