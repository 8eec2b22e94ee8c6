//! Revisions of raw files: which file of a source and date is in force on a night.
//!
//! Stage: ingest (pure, but for [`in_force`], which lists the store and reads the ledger).
//! The scheme is the contract of `data/raw-formats.md` ("Corrections"): a delivered file
//! `{stem}.{ext}` is revision 1; `{stem}.r{n}.{ext}` (n = 2…999, no leading zero) is revision
//! n and replaces revision n − 1 whole. The revision in force on a night is the highest n
//! such that revisions 1…n were all delivered, a revision counting as delivered from the night
//! the ledger first saw it (`first_seen_run`; a key the ledger has not recorded yet counts as
//! delivered tonight). A revision after a gap, of a file never delivered, or with a bad number
//! is rejected with its reason, never validated; nothing here stops a night. A revision
//! that failed validation as a whole (see [`crate::partition::validate_partition`], which
//! decides it and records it in the partition's manifest) is **held**: it keeps its place
//! in the numbering (no gap) but is not in force; the file in force before it stays in
//! force and the next revision that validates replaces that one.
//!
//! It imports the ledger and the store only: `jobs`, `ingest` and the rebuild use it.

use crate::error::JobError;
use crate::ledger::RawLedger;
use crate::partition::get_json;
use crate::store::Store;
use chrono::NaiveDate;
use envgov_dataset::Source;
use envgov_dataset::layout;
use envgov_dataset::report::{AppliedRevision, HeldRevision, RejectedRevision, Revisions};
use std::collections::BTreeMap;

/// The highest revision number a name may carry.
pub const MAX_REVISION: u32 = 999;

/// A raw file name read as a revision: the name of its revision 1 and its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionName {
    /// `{stem}.{ext}`: the file this is a revision of (itself for revision 1).
    pub base: String,
    pub revision: u32,
}

/// Why a name that looks like a revision is not one (`revision_numbering`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct BadRevisionName {
    pub file: String,
    pub reason: String,
}

/// Reads a file name (the last segment of a raw key) as a revision. A name whose
/// last-but-one dot segment is `r` followed by digits is a revision name and must be
/// `r2`…`r999` without a leading zero; any other name is revision 1 of itself.
pub fn parse_name(file: &str) -> Result<RevisionName, BadRevisionName> {
    let plain = || {
        Ok(RevisionName {
            base: file.to_string(),
            revision: 1,
        })
    };
    let Some((rest, ext)) = file.rsplit_once('.') else {
        return plain();
    };
    let Some((stem, marker)) = rest.rsplit_once('.') else {
        return plain();
    };
    let Some(digits) = marker.strip_prefix('r') else {
        return plain();
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return plain();
    }
    let bad = |reason: String| {
        Err(BadRevisionName {
            file: file.to_string(),
            reason,
        })
    };
    if digits.bytes().all(|b| b == b'0') {
        return bad(format!(
            "r{digits} is not a revision name: revision 1 is the file under its own name {stem}.{ext}; corrections start at {stem}.r2.{ext}"
        ));
    }
    if digits.starts_with('0') {
        return bad(format!(
            "revision number {digits:?} has a leading zero; write r2, r3, … (revision 1 is the file under its own name {stem}.{ext})"
        ));
    }
    match digits.parse::<u32>() {
        Ok(1) => bad(format!(
            "r1 is not a revision name: revision 1 is the file under its own name {stem}.{ext}; corrections start at {stem}.r2.{ext}"
        )),
        Ok(n) if (2..=MAX_REVISION).contains(&n) => Ok(RevisionName {
            base: format!("{stem}.{ext}"),
            revision: n,
        }),
        _ => bad(format!(
            "revision number {digits} is over the limit of {MAX_REVISION}"
        )),
    }
}

/// A night after every delivery: resolving for it counts every revision delivered so far
/// (what the ingest function validates, before any night has seen the new file).
pub const EVERY_NIGHT: &str = "9999-12-31";

/// The key of revision 1 of the file a raw key is a revision of (the key itself for a
/// revision 1 or a name that is not a revision name).
pub fn base_key(key: &str) -> String {
    match key.rsplit_once('/') {
        Some((folder, file)) => match parse_name(file) {
            Ok(name) => format!("{folder}/{}", name.base),
            Err(_) => key.to_string(),
        },
        None => key.to_string(),
    }
}

/// The name of revision `n` of `base` (`{stem}.{ext}`, or `{base}` itself for n = 1).
pub fn revision_name(base: &str, n: u32) -> String {
    match (n, base.rsplit_once('.')) {
        (1, _) => base.to_string(),
        (_, Some((stem, ext))) => format!("{stem}.r{n}.{ext}"),
        (_, None) => format!("{base}.r{n}"),
    }
}

/// One source and date's files as resolved for a night.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The keys in force, sorted: what the partition is validated from.
    pub in_force: Vec<String>,
    /// Revisions (n ≥ 2) in force, each with the key it replaces.
    pub applied: Vec<AppliedRevision>,
    pub rejected: Vec<RejectedRevision>,
    /// Keys replaced by a later revision in force.
    pub superseded: Vec<String>,
    /// Revisions held (failed validation as a whole), each with the key kept in force.
    pub held: Vec<HeldRevision>,
}

/// Revisions known to have failed validation as a whole, by key (`revision` and `kept` are
/// filled in when they are resolved).
pub type Held = crate::partition::HeldKeys;

/// How one partition's listed keys resolve for a night with revisions held: what
/// [`crate::partition::validate_partition`] takes as its [`crate::partition::Resolve`].
pub fn resolver<'a>(
    listed: &'a [String],
    ledger: &'a RawLedger,
    night: &'a str,
) -> impl Fn(&Held) -> crate::partition::PartitionFiles + Sync + 'a {
    move |held| {
        let r = resolve_held(listed, ledger, night, held);
        crate::partition::PartitionFiles {
            in_force: r.in_force,
            revisions: r.applied.into_iter().map(|a| a.key).collect(),
            held: r.held,
        }
    }
}

/// Whether a raw key counts as delivered on or before `night`, from the ledger.
fn delivered(ledger: &RawLedger, key: &str, night: &str) -> bool {
    ledger
        .files
        .get(key)
        .is_none_or(|e| e.first_seen_run.as_str() <= night)
}

fn reject(key: &str, code: &str, reason: String) -> RejectedRevision {
    RejectedRevision {
        key: key.to_string(),
        reason_code: code.to_string(),
        reason,
    }
}

/// Resolves the raw keys of one source and date (`keys`, as listed) for `night`.
/// Revision 1 of every file is taken as delivered (it is what the partition is made of, as
/// before revisions existed); a revision n ≥ 2 from the night the ledger first saw it.
pub fn resolve(keys: &[String], ledger: &RawLedger, night: &str) -> Resolved {
    resolve_held(keys, ledger, night, &Held::new())
}

/// [`resolve`], with the revisions in `held` held: not in force, without making a gap.
pub fn resolve_held(keys: &[String], ledger: &RawLedger, night: &str, held: &Held) -> Resolved {
    let mut out = Resolved::default();
    // base name → revision → key
    let mut files: BTreeMap<String, BTreeMap<u32, &String>> = BTreeMap::new();
    for key in keys {
        let Some((folder, file)) = key.rsplit_once('/') else {
            continue;
        };
        match parse_name(file) {
            Ok(name) => {
                let base_key = format!("{folder}/{}", name.base);
                files
                    .entry(base_key)
                    .or_default()
                    .insert(name.revision, key);
            }
            Err(e) => out
                .rejected
                .push(reject(key, "revision_numbering", e.to_string())),
        }
    }
    for (base_key, revisions) in &files {
        let file = File {
            base_key,
            revisions,
        };
        resolve_file(&file, ledger, (night, held), &mut out);
    }
    out.in_force.sort();
    out.applied.sort();
    out.rejected.sort();
    out.superseded.sort();
    out.held.sort();
    out
}

/// One file's delivered revisions: the key of its revision 1, and revision → key.
struct File<'a> {
    base_key: &'a str,
    revisions: &'a BTreeMap<u32, &'a String>,
}

/// Resolves the revisions of one file for a night, with the revisions held.
fn resolve_file(
    file: &File<'_>,
    ledger: &RawLedger,
    (night, held): (&str, &Held),
    out: &mut Resolved,
) {
    let File {
        base_key,
        revisions,
    } = *file;
    let delivered_revisions: Vec<(u32, &String)> = revisions
        .iter()
        .filter(|(n, k)| **n == 1 || delivered(ledger, k, night))
        .map(|(n, k)| (*n, *k))
        .collect();
    let Some(first) = revisions.get(&1).copied() else {
        for (n, key) in delivered_revisions {
            out.rejected.push(reject(
                key,
                "revision_of_missing_file",
                format!(
                    "revision {n} of {base_key}, which was never delivered: a correction replaces a delivered file; deliver the file under its own name"
                ),
            ));
        }
        return;
    };
    // `placed`: the highest revision delivered without a gap (held ones included);
    // `chain`: the revisions placed and not held, the last one in force.
    let mut placed = 1;
    let mut chain = vec![first];
    let mut held_here = Vec::new();
    for (n, key) in delivered_revisions.iter().skip(1) {
        if *n == placed + 1 {
            placed = *n;
            match held.get(key.as_str()) {
                Some(h) => held_here.push(HeldRevision {
                    revision: *n,
                    ..h.clone()
                }),
                None => chain.push(*key),
            }
            continue;
        }
        let (folder, base) = base_key.rsplit_once('/').unwrap_or(("", base_key));
        let missing = format!("{folder}/{}", revision_name(base, placed + 1));
        let current = chain.last().map_or(1, |k| revision_of(k));
        out.rejected.push(reject(
            key,
            "revision_gap",
            format!(
                "revision {n} of {base_key}, but revision {} ({missing}) was not delivered by the night of {night}: revision {current} stays in force",
                placed + 1
            ),
        ));
    }
    for pair in chain.windows(2) {
        if let [old, new] = pair {
            let entry = ledger.files.get(new.as_str());
            out.applied.push(AppliedRevision {
                key: (*new).clone(),
                revision: revision_of(new),
                replaces: (*old).clone(),
                sha256: entry.map(|e| e.sha256.clone()).unwrap_or_default(),
                first_seen_run: entry
                    .map(|e| e.first_seen_run.clone())
                    .unwrap_or_else(|| night.to_string()),
            });
        }
    }
    if let Some((last, earlier)) = chain.split_last() {
        for mut h in held_here {
            h.kept = (*last).clone();
            out.held.push(h);
        }
        out.in_force.push((*last).clone());
        out.superseded.extend(earlier.iter().map(|k| (*k).clone()));
    }
}

fn revision_of(key: &str) -> u32 {
    let file = key.rsplit('/').next().unwrap_or(key);
    parse_name(file).map_or(1, |n| n.revision)
}

/// The raw keys of the store, by date and source (as `jobs` lists them).
pub type RawIndex = BTreeMap<NaiveDate, BTreeMap<Source, Vec<String>>>;

/// Every partition's files in force on a night, and the revisions considered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InForce {
    /// (source, date) → the keys in force, sorted: what the partition is validated from.
    pub partitions: BTreeMap<(Source, NaiveDate), Vec<String>>,
    pub revisions: Revisions,
}

impl InForce {
    /// The keys in force of one partition (empty when it has none).
    pub fn keys(&self, source: Source, date: NaiveDate) -> &[String] {
        self.partitions
            .get(&(source, date))
            .map_or(&[], Vec::as_slice)
    }
}

/// Resolves every partition dated on or before `night` of a raw listing against the ledger,
/// with the revisions in `held` held.
pub fn resolve_index(
    index: &RawIndex,
    ledger: &RawLedger,
    night: NaiveDate,
    held: &Held,
) -> InForce {
    let run = night.to_string();
    let mut out = InForce::default();
    for (date, sources) in index.range(..=night) {
        for (source, keys) in sources {
            let r = resolve_held(keys, ledger, &run, held);
            out.revisions.applied.extend(r.applied);
            out.revisions.rejected.extend(r.rejected);
            out.revisions.superseded.extend(r.superseded);
            out.revisions.held.extend(r.held);
            if !r.in_force.is_empty() {
                out.partitions.insert((*source, *date), r.in_force);
            }
        }
    }
    // The report's lists, by key.
    out.revisions.applied.sort_by(|a, b| a.key.cmp(&b.key));
    out.revisions.rejected.sort_by(|a, b| a.key.cmp(&b.key));
    out.revisions.superseded.sort();
    out.revisions.held.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The revisions that come into force on `night` as corrections: applied on that night but
/// not the night before (a first delivery, or one whose gap was filled tonight), replacing a
/// file the night before already had in force (first seen by then). A revision delivered
/// before any night saw its file corrects nothing published: it is applied, without a
/// changelog. A held revision is in force on neither night. By key.
pub fn new_on(
    index: &RawIndex,
    ledger: &RawLedger,
    night: NaiveDate,
    held: &Held,
) -> Vec<AppliedRevision> {
    new_on_held(index, ledger, night, (held, held))
}

/// [`new_on`], with the revisions held tonight and those held the night before (a revision
/// held for want of a unit in the registry may validate once the registry has it: it is new
/// on the night it first takes force).
pub fn new_on_held(
    index: &RawIndex,
    ledger: &RawLedger,
    night: NaiveDate,
    (held, held_before): (&Held, &Held),
) -> Vec<AppliedRevision> {
    let tonight = resolve_index(index, ledger, night, held);
    let Some(before) = night.pred_opt() else {
        return Vec::new();
    };
    // A revision first seen tonight was not delivered by the night before.
    let prior = resolve_index(index, ledger, before, held_before);
    let before = before.to_string();
    let published: std::collections::BTreeSet<String> = prior
        .partitions
        .values()
        .flatten()
        .filter(|k| {
            ledger
                .files
                .get(k.as_str())
                .is_some_and(|e| e.first_seen_run <= before)
        })
        .map(|k| base_key(k))
        .collect();
    tonight
        .revisions
        .applied
        .into_iter()
        .filter(|a| !prior.revisions.applied.iter().any(|p| p.key == a.key))
        .filter(|a| published.contains(&base_key(&a.key)))
        .collect()
}

/// Lists the raw files of the store and resolves, from the stored ledger and the revisions
/// the validated partitions' manifests hold ([`stored_held`]), the files in force on `night`
/// for every source and date up to it: what the night (or `envgov rebuild` of that date)
/// validates. Keys outside the raw layout are left out, as the night leaves them.
pub fn in_force(store: &dyn Store, night: NaiveDate) -> Result<InForce, JobError> {
    let ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    let index = listed_index(store)?;
    let held = stored_held(store, &index, night)?;
    Ok(resolve_index(&index, &ledger, night, &held))
}

/// The revisions of a night as its report lists them ([`in_force`]'s, with those new on the
/// night), from the store's listing, ledger and partition manifests: what the fan-out reduce
/// reports once every task has validated its partition.
pub fn of_night(store: &dyn Store, night: NaiveDate) -> Result<Revisions, JobError> {
    let ledger: RawLedger = get_json(store, layout::RAW_LEDGER_KEY)?.unwrap_or_default();
    let index = listed_index(store)?;
    let held = stored_held(store, &index, night)?;
    let before = held_before(store, night)?.unwrap_or_else(|| held.clone());
    Ok(report(&index, &ledger, night, (&held, &before)))
}

/// The revisions of a night for its report: those in force, held, rejected and superseded
/// with `held` held, and those new on the night (with `held_before` held the night before).
pub fn report(
    index: &RawIndex,
    ledger: &RawLedger,
    night: NaiveDate,
    (held, held_before): (&Held, &Held),
) -> Revisions {
    let mut revisions = resolve_index(index, ledger, night, held).revisions;
    revisions.new_tonight = new_on_held(index, ledger, night, (held, held_before))
        .into_iter()
        .map(|a| a.key)
        .collect();
    revisions
}

/// The revisions the night before `night` held, as its report lists them (`None` without a
/// report of that night).
pub fn held_before(store: &dyn Store, night: NaiveDate) -> Result<Option<Held>, JobError> {
    let Some(before) = night.pred_opt() else {
        return Ok(None);
    };
    let key = layout::run_report_key(&before.to_string())
        .map_err(|e| JobError::Definition(e.to_string()))?;
    let report: Option<envgov_dataset::report::RunReport> = get_json(store, &key)?;
    Ok(report.map(|r| {
        r.revisions
            .held
            .into_iter()
            .map(|h| (h.key.clone(), h))
            .collect()
    }))
}

/// The revisions held by the validated partitions (up to `night`) that have revisions: each
/// partition's manifest records the revisions that failed validation as a whole.
pub fn stored_held(
    store: &dyn Store,
    index: &RawIndex,
    night: NaiveDate,
) -> Result<Held, JobError> {
    let mut held = Held::new();
    for (date, sources) in index.range(..=night) {
        for (source, keys) in sources {
            if keys.iter().all(|k| revision_of(k) == 1) {
                continue;
            }
            let key = layout::validated_manifest_key(*source, &date.to_string())
                .map_err(|e| JobError::Definition(e.to_string()))?;
            let manifest: Option<crate::partition::PartitionManifest> = get_json(store, &key)?;
            for h in manifest.into_iter().flat_map(|m| m.held) {
                held.insert(h.key.clone(), h);
            }
        }
    }
    Ok(held)
}

/// The raw keys of the store in the layout, by date and source, sorted.
fn listed_index(store: &dyn Store) -> Result<RawIndex, JobError> {
    let mut index = RawIndex::new();
    for key in store.list("raw/")? {
        let Ok((source, date, _)) = layout::parse_raw_key(&key) else {
            continue;
        };
        let Ok(d) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
            continue;
        };
        index
            .entry(d)
            .or_default()
            .entry(source)
            .or_default()
            .push(key);
    }
    for sources in index.values_mut() {
        for keys in sources.values_mut() {
            keys.sort();
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::fingerprint;

    const F: &str = "raw/self-monitoring/2026-01-31/";

    fn ledger(entries: &[(&str, &str)]) -> RawLedger {
        let mut l = RawLedger::default();
        for (file, seen) in entries {
            let key = format!("{F}{file}");
            let fp = fingerprint(key.as_bytes()).unwrap();
            l.sight(&key, &fp, None, seen).unwrap();
        }
        l
    }

    fn keys(files: &[&str]) -> Vec<String> {
        files.iter().map(|f| format!("{F}{f}")).collect()
    }

    #[test]
    fn names_revision_one_and_revisions_n() {
        let ok = |f: &str, base: &str, n: u32| {
            assert_eq!(
                parse_name(f),
                Ok(RevisionName {
                    base: base.into(),
                    revision: n
                }),
                "{f}"
            )
        };
        ok("sm-110105.csv", "sm-110105.csv", 1);
        ok("sm-110105.r2.csv", "sm-110105.csv", 2);
        ok("cems-110105.r999.hj212", "cems-110105.hj212", 999);
        ok("a.b.r12.csv", "a.b.csv", 12);
        // Not revision markers: ordinary names.
        ok("registry.jsonl", "registry.jsonl", 1);
        ok("sm.r.csv", "sm.r.csv", 1);
        ok("sm.r2x.csv", "sm.r2x.csv", 1);
        ok("sm.rev2.csv", "sm.rev2.csv", 1);
        ok("sm.r2", "sm.r2", 1);
        for bad in ["sm.r1.csv", "sm.r0.csv", "sm.r02.csv", "sm.r1000.csv"] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
        assert!(
            parse_name("sm.r1.csv")
                .unwrap_err()
                .reason
                .contains("sm.r2.csv")
        );
        // r0 is no revision (not a number with a leading zero); r02 is.
        let r0 = parse_name("sm.r0.csv").unwrap_err().reason;
        assert!(
            r0.contains("not a revision name") && r0.contains("sm.r2.csv"),
            "{r0}"
        );
        assert!(
            parse_name("sm.r02.csv")
                .unwrap_err()
                .reason
                .contains("leading zero")
        );
        assert_eq!(revision_name("sm-110105.csv", 3), "sm-110105.r3.csv");
        assert_eq!(revision_name("sm-110105.csv", 1), "sm-110105.csv");
    }

    #[test]
    fn the_highest_revision_without_a_gap_is_in_force() {
        let l = ledger(&[
            ("sm.csv", "2026-01-31"),
            ("sm.r2.csv", "2026-02-02"),
            ("sm.r3.csv", "2026-02-03"),
            ("other.csv", "2026-01-31"),
        ]);
        let r = resolve(
            &keys(&["other.csv", "sm.csv", "sm.r2.csv", "sm.r3.csv"]),
            &l,
            "2026-02-03",
        );
        assert_eq!(r.in_force, keys(&["other.csv", "sm.r3.csv"]));
        assert_eq!(r.superseded, keys(&["sm.csv", "sm.r2.csv"]));
        assert!(r.rejected.is_empty());
        let applied: Vec<(String, u32, String, String)> = r
            .applied
            .iter()
            .map(|a| {
                (
                    a.key.clone(),
                    a.revision,
                    a.replaces.clone(),
                    a.first_seen_run.clone(),
                )
            })
            .collect();
        assert_eq!(
            applied,
            vec![
                (
                    format!("{F}sm.r2.csv"),
                    2,
                    format!("{F}sm.csv"),
                    "2026-02-02".into()
                ),
                (
                    format!("{F}sm.r3.csv"),
                    3,
                    format!("{F}sm.r2.csv"),
                    "2026-02-03".into()
                ),
            ]
        );
        assert_eq!(
            r.applied[0].sha256,
            l.files[&format!("{F}sm.r2.csv")].sha256
        );
        // The night of 2 February: revision 3 was not delivered yet.
        let r = resolve(
            &keys(&["sm.csv", "sm.r2.csv", "sm.r3.csv"]),
            &l,
            "2026-02-02",
        );
        assert_eq!(r.in_force, keys(&["sm.r2.csv"]));
        assert!(r.rejected.is_empty());
        // 1 February: none.
        let r = resolve(
            &keys(&["sm.csv", "sm.r2.csv", "sm.r3.csv"]),
            &l,
            "2026-02-01",
        );
        assert_eq!(r.in_force, keys(&["sm.csv"]));
        assert!(r.applied.is_empty() && r.superseded.is_empty());
    }

    fn failed(file: &str) -> (String, HeldRevision) {
        let key = format!("{F}{file}");
        let h = HeldRevision {
            key: key.clone(),
            revision: 0,
            sha256: "ab".into(),
            reason_code: "undecodable_file".into(),
            reason: "not UTF-8 or GB18030".into(),
            read: 2,
            rejected: 2,
            kept: String::new(),
        };
        (key, h)
    }

    #[test]
    fn a_held_revision_leaves_the_file_before_it_in_force_and_the_next_one_replaces_that() {
        let l = ledger(&[
            ("sm.csv", "2026-01-31"),
            ("sm.r2.csv", "2026-02-01"),
            ("sm.r3.csv", "2026-02-02"),
        ]);
        let held: Held = [failed("sm.r2.csv")].into();
        let all = keys(&["sm.csv", "sm.r2.csv", "sm.r3.csv"]);
        // 1 February: r2 (delivered) is held; the original stays in force, nothing applied,
        // nothing superseded.
        let r = resolve_held(&all, &l, "2026-02-01", &held);
        assert_eq!(r.in_force, keys(&["sm.csv"]));
        assert!(r.applied.is_empty() && r.superseded.is_empty() && r.rejected.is_empty());
        assert_eq!(r.held.len(), 1);
        assert_eq!(r.held[0].key, format!("{F}sm.r2.csv"));
        assert_eq!(r.held[0].revision, 2);
        assert_eq!(r.held[0].kept, format!("{F}sm.csv"));
        // 2 February: r3 follows r2 without a gap (a held revision keeps its place) and
        // replaces the original, the file in force before it.
        let r = resolve_held(&all, &l, "2026-02-02", &held);
        assert_eq!(r.in_force, keys(&["sm.r3.csv"]));
        assert!(r.rejected.is_empty());
        assert_eq!(r.superseded, keys(&["sm.csv"]));
        assert_eq!(r.applied.len(), 1);
        assert_eq!(
            (r.applied[0].key.as_str(), r.applied[0].replaces.as_str()),
            (&*format!("{F}sm.r3.csv"), &*format!("{F}sm.csv"))
        );
        assert_eq!(r.held[0].kept, format!("{F}sm.r3.csv"));
        // r3 held too: still the original.
        let both: Held = [failed("sm.r2.csv"), failed("sm.r3.csv")].into();
        let r = resolve_held(&all, &l, "2026-02-02", &both);
        assert_eq!(r.in_force, keys(&["sm.csv"]));
        assert_eq!(r.held.len(), 2);
        // An original is never held: holding it changes nothing.
        let original: Held = [failed("sm.csv")].into();
        let r = resolve_held(&keys(&["sm.csv"]), &l, "2026-02-02", &original);
        assert_eq!(r.in_force, keys(&["sm.csv"]));
        assert!(r.held.is_empty());
    }

    #[test]
    fn a_held_revision_is_no_correction_and_the_next_valid_one_is() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let l = ledger(&[
            ("sm.csv", "2026-01-31"),
            ("sm.r2.csv", "2026-02-01"),
            ("sm.r3.csv", "2026-02-02"),
        ]);
        let mut index = RawIndex::new();
        index.entry(d("2026-01-31")).or_default().insert(
            Source::SelfMonitoring,
            keys(&["sm.csv", "sm.r2.csv", "sm.r3.csv"]),
        );
        let held: Held = [failed("sm.r2.csv")].into();
        let names =
            |v: Vec<AppliedRevision>| -> Vec<String> { v.into_iter().map(|a| a.key).collect() };
        assert!(new_on(&index, &l, d("2026-02-01"), &held).is_empty());
        let report = report(&index, &l, d("2026-02-01"), (&held, &held));
        assert!(report.applied.is_empty() && report.new_tonight.is_empty());
        assert_eq!(report.held.len(), 1);
        assert_eq!(
            names(new_on(&index, &l, d("2026-02-02"), &held)),
            keys(&["sm.r3.csv"])
        );
    }

    #[test]
    fn a_revision_held_the_night_before_is_new_on_the_night_it_takes_force() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let l = ledger(&[("sm.csv", "2026-01-31"), ("sm.r2.csv", "2026-02-01")]);
        let mut index = RawIndex::new();
        index
            .entry(d("2026-01-31"))
            .or_default()
            .insert(Source::SelfMonitoring, keys(&["sm.csv", "sm.r2.csv"]));
        // Held on 2 February (say, its unit was not in the registry yet), valid on the 3rd.
        let before: Held = [failed("sm.r2.csv")].into();
        let names =
            |v: Vec<AppliedRevision>| -> Vec<String> { v.into_iter().map(|a| a.key).collect() };
        assert_eq!(
            names(new_on_held(
                &index,
                &l,
                d("2026-02-03"),
                (&Held::new(), &before)
            )),
            keys(&["sm.r2.csv"])
        );
        // Without what the night before held, it would look in force since 1 February.
        assert!(new_on(&index, &l, d("2026-02-03"), &Held::new()).is_empty());
    }

    #[test]
    fn a_revision_after_a_gap_is_rejected_naming_the_missing_key() {
        let l = ledger(&[("sm.csv", "2026-01-31"), ("sm.r3.csv", "2026-02-01")]);
        let r = resolve(&keys(&["sm.csv", "sm.r3.csv"]), &l, "2026-02-01");
        assert_eq!(r.in_force, keys(&["sm.csv"]));
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(r.rejected[0].key, format!("{F}sm.r3.csv"));
        assert_eq!(r.rejected[0].reason_code, "revision_gap");
        assert!(
            r.rejected[0].reason.contains(&format!("{F}sm.r2.csv")),
            "{}",
            r.rejected[0].reason
        );
    }

    #[test]
    fn a_revision_of_a_file_never_delivered_is_rejected() {
        let l = ledger(&[("sm.r2.csv", "2026-02-01"), ("ok.csv", "2026-01-31")]);
        let r = resolve(
            &keys(&["ok.csv", "sm.r2.csv", "sm.r1.csv"]),
            &l,
            "2026-02-01",
        );
        assert_eq!(r.in_force, keys(&["ok.csv"]));
        let codes: Vec<(&str, &str)> = r
            .rejected
            .iter()
            .map(|x| (x.key.rsplit('/').next().unwrap(), x.reason_code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("sm.r1.csv", "revision_numbering"),
                ("sm.r2.csv", "revision_of_missing_file"),
            ]
        );
    }

    #[test]
    fn revisions_come_into_force_on_the_night_that_first_sees_them() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let l = ledger(&[
            ("sm.csv", "2026-01-31"),
            ("sm.r3.csv", "2026-02-03"),
            ("sm.r2.csv", "2026-02-05"),
        ]);
        let mut index = RawIndex::new();
        index.entry(d("2026-01-31")).or_default().insert(
            Source::SelfMonitoring,
            keys(&["sm.csv", "sm.r2.csv", "sm.r3.csv"]),
        );
        let names =
            |v: Vec<AppliedRevision>| -> Vec<String> { v.into_iter().map(|a| a.key).collect() };
        // 3 February: r3 arrives after a gap: rejected, nothing new in force.
        assert!(new_on(&index, &l, d("2026-02-03"), &Held::new()).is_empty());
        let night = resolve_index(&index, &l, d("2026-02-03"), &Held::new());
        assert_eq!(night.revisions.rejected.len(), 1);
        // 5 February: r2 fills the gap; r2 and r3 come into force together.
        assert_eq!(
            names(new_on(&index, &l, d("2026-02-05"), &Held::new())),
            keys(&["sm.r2.csv", "sm.r3.csv"])
        );
        let night = resolve_index(&index, &l, d("2026-02-05"), &Held::new());
        assert_eq!(
            night.keys(Source::SelfMonitoring, d("2026-01-31")),
            keys(&["sm.r3.csv"]).as_slice()
        );
        assert!(new_on(&index, &l, d("2026-02-06"), &Held::new()).is_empty());
    }

    #[test]
    fn a_revision_delivered_with_its_file_before_any_night_corrects_nothing_published() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let l = ledger(&[("sm.csv", "2026-02-01"), ("sm.r2.csv", "2026-02-01")]);
        let mut index = RawIndex::new();
        index
            .entry(d("2026-01-31"))
            .or_default()
            .insert(Source::SelfMonitoring, keys(&["sm.csv", "sm.r2.csv"]));
        // In force from its first night, but no correction of anything published.
        let night = resolve_index(&index, &l, d("2026-02-01"), &Held::new());
        assert_eq!(
            night.keys(Source::SelfMonitoring, d("2026-01-31")),
            keys(&["sm.r2.csv"]).as_slice()
        );
        assert!(new_on(&index, &l, d("2026-02-01"), &Held::new()).is_empty());
    }
}
