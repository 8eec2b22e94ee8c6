use super::*;
use crate::store::MemoryStore;

fn rows(columns: &[&str], rows: &[&[&str]]) -> Rows {
    Rows {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    }
}

fn revision(key: &str, sha: &str) -> AppliedRevision {
    AppliedRevision {
        key: key.into(),
        revision: 2,
        replaces: key.replace(".r2.", "."),
        sha256: sha.into(),
        first_seen_run: "2026-02-03".into(),
    }
}

const SM: &str = "raw/self-monitoring/2026-01-31/sm-110105.r2.csv";

fn subject<'a>(
    pk: &'a [String],
    revisions: &'a BTreeMap<String, Vec<AppliedRevision>>,
) -> Subject<'a> {
    Subject {
        dataset: "self-monitoring",
        night: "2026-02-03",
        primary_key: pk,
        day_column: "sampled_at",
        revisions,
        previous_archive: Some("datasets/self-monitoring/archive/2026-02-02/".into()),
    }
}

#[test]
fn a_corrected_row_is_changed_field_by_field_a_missing_one_withdrawn_a_new_one_added() {
    let pk: Vec<String> = ["uscc", "outlet", "pollutant", "sampled_at"]
        .map(String::from)
        .to_vec();
    let revisions = by_date(&[revision(SM, "aa")]);
    let cols = [
        "uscc",
        "outlet",
        "pollutant",
        "sampled_at",
        "value",
        "compliant",
        "raw_key",
    ];
    let old = rows(
        &cols,
        &[
            &[
                "U1",
                "DW001",
                "cod",
                "2026-01-31 09:00",
                "62.5",
                "false",
                "raw/a",
            ],
            &[
                "U1",
                "DW001",
                "nh3n",
                "2026-01-31 09:00",
                "1.2",
                "true",
                "raw/a",
            ],
            &[
                "U1",
                "DW002",
                "cod",
                "2026-01-31 10:00",
                "20",
                "true",
                "raw/a",
            ],
        ],
    );
    let new = rows(
        &cols,
        &[
            // 62.5 was a typo for 26.5: now compliant.
            &["U1", "DW001", "cod", "2026-01-31 09:00", "26.5", "true", SM],
            // Unchanged values (only the provenance moved).
            &[
                "U1",
                "DW001",
                "nh3n",
                "2026-01-31 09:00",
                "1.2",
                "true",
                "raw/a",
            ],
            // DW002 withdrawn; DW003 added.
            &["U1", "DW003", "cod", "2026-01-31 11:00", "30", "true", SM],
        ],
    );
    let log = diff(&subject(&pk, &revisions), &old, &new).unwrap();
    let summary: Vec<(Change, Vec<String>)> = log
        .entries
        .iter()
        .map(|e| (e.change, e.key.clone()))
        .collect();
    let key = |o: &str, p: &str, t: &str| {
        vec![
            "U1".to_string(),
            o.to_string(),
            p.to_string(),
            t.to_string(),
        ]
    };
    assert_eq!(
        summary,
        vec![
            (Change::Changed, key("DW001", "cod", "2026-01-31 09:00")),
            (Change::Withdrawn, key("DW002", "cod", "2026-01-31 10:00")),
            (Change::Added, key("DW003", "cod", "2026-01-31 11:00")),
        ]
    );
    let changed = &log.entries[0];
    let fc = |f: &str, o: &str, n: &str| FieldChange {
        field: f.into(),
        old: o.into(),
        new: n.into(),
    };
    assert_eq!(
        changed.fields,
        vec![
            fc("value", "62.5", "26.5"),
            fc("compliant", "false", "true"),
            fc("raw_key", "raw/a", SM),
        ]
    );
    assert_eq!(changed.date, "2026-01-31");
    assert_eq!(changed.revisions[0].key, SM);
    assert_eq!(changed.revisions[0].sha256, "aa");
    assert_eq!(changed.old.as_ref().unwrap().get("value"), Some("62.5"));
    assert_eq!(changed.new.as_ref().unwrap().get("value"), Some("26.5"));
    let withdrawn = &log.entries[1];
    assert!(withdrawn.new.is_none() && withdrawn.fields.is_empty());
    assert_eq!(withdrawn.old.as_ref().unwrap().get("value"), Some("20"));
    // Determinism: the same inputs, the same bytes.
    let again = diff(&subject(&pk, &revisions), &old, &new).unwrap();
    assert_eq!(json(&log), json(&again));
    assert_eq!(log.to_csv(), again.to_csv());
}

#[test]
fn columns_only_one_side_has_are_not_compared_and_a_missing_key_column_is_an_error() {
    let pk = vec!["id".to_string()];
    let revisions = by_date(&[revision(SM, "aa")]);
    let s = Subject {
        day_column: "date",
        ..subject(&pk, &revisions)
    };
    let old = rows(&["id", "date", "v"], &[&["a", "2026-01-31", "1"]]);
    let new = rows(
        &["id", "date", "v", "raw_sha256"],
        &[&["a", "2026-01-31", "1", "ff"]],
    );
    assert!(diff(&s, &old, &new).unwrap().entries.is_empty());
    let no_key = rows(&["date", "v"], &[&["2026-01-31", "1"]]);
    assert!(
        diff(&s, &no_key, &new)
            .unwrap_err()
            .contains("no column id")
    );
}

#[test]
fn reads_only_the_corrected_days_and_skips_withdrawn_rows() {
    let csv = "\u{feff}exceedance_id,date,v,record_status\r\n\
               a,2026-01-30,1,in-force\r\n\
               b,2026-01-31,2,in-force\r\n\
               c,2026-01-31,3,withdrawn\r\n";
    let days: BTreeSet<String> = ["2026-01-31".to_string()].into();
    let r = read_rows(csv.as_bytes(), "date", &days, true).unwrap();
    assert_eq!(
        r.columns,
        vec!["exceedance_id", "date", "v", "record_status"]
    );
    assert_eq!(r.rows, vec![vec!["b", "2026-01-31", "2", "in-force"]]);
    let all = read_rows(csv.as_bytes(), "date", &days, false).unwrap();
    assert_eq!(all.rows.len(), 2);
}

#[test]
fn a_changelog_is_written_once_and_a_different_rerun_gets_the_next_revision() {
    let store = MemoryStore::new();
    let log = |value: &str| Changelog {
        dataset: "cems-daily".into(),
        night: "2026-02-03".into(),
        primary_key: vec!["id".into()],
        previous_archive: None,
        entries: vec![Entry {
            change: Change::Withdrawn,
            date: "2026-01-31".into(),
            key: vec![value.into()],
            fields: vec![],
            old: None,
            new: None,
            revisions: vec![],
        }],
    };
    write(&store, &log("a")).unwrap();
    write(&store, &log("a")).unwrap();
    write(&store, &log("b")).unwrap();
    let keys = store.list("datasets/cems-daily/changes/").unwrap();
    assert_eq!(
        keys,
        vec![
            "datasets/cems-daily/changes/2026-02-03.csv",
            "datasets/cems-daily/changes/2026-02-03.json",
            "datasets/cems-daily/changes/2026-02-03.r2.csv",
            "datasets/cems-daily/changes/2026-02-03.r2.json",
        ]
    );
    let latest = stored(&store, "cems-daily", "2026-02-03").unwrap();
    assert_eq!(latest, vec![log("b")]);
    assert!(
        stored(&store, "cems-daily", "2026-02-02")
            .unwrap()
            .is_empty()
    );
    let listed = listed(&store, "2026-02-03").unwrap();
    assert_eq!(listed.len(), 4);
    let f = &listed["cems-daily/changes/2026-02-03.json"];
    assert_eq!(f.key, "datasets/cems-daily/changes/2026-02-03.json");
    assert_eq!(f.sha256, sha256_hex(&json(&log("a"))));
}

#[test]
fn a_withdrawn_exceedance_stays_in_the_register_marked_with_its_revision() {
    let store = MemoryStore::new();
    let cems = "raw/cems/2026-01-31/cems-110105.r2.hj212";
    let old = Record(
        [
            ("exceedance_id", "cems-daily:U1:DA001:a21002:day:2026-01-31"),
            ("date", "2026-01-31"),
            ("observed_at", "2026-01-31"),
            ("uscc", "U1"),
            ("value", "112.5"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec(),
    );
    let log = Changelog {
        dataset: "exceedances".into(),
        night: "2026-02-03".into(),
        primary_key: vec!["exceedance_id".into()],
        previous_archive: None,
        entries: vec![Entry {
            change: Change::Withdrawn,
            date: "2026-01-31".into(),
            key: vec!["cems-daily:U1:DA001:a21002:day:2026-01-31".into()],
            fields: vec![],
            old: Some(old),
            new: None,
            revisions: vec![revision(cems, "bb")],
        }],
    };
    write(&store, &log).unwrap();
    let mut register = Table::new(&[
        ("exceedance_id", Kind::Str),
        ("date", Kind::Str),
        ("observed_at", Kind::Str),
        ("uscc", Kind::Str),
        ("value", Kind::F64),
    ]);
    register.push(vec![
        Cell::from("self-monitoring:U2:DW001:cod:sample:2026-02-01 09:00"),
        Cell::from("2026-02-01"),
        Cell::from("2026-02-01 09:00"),
        Cell::from("U2"),
        Cell::from(80.0),
    ]);
    // Before the night of the correction: no status but in-force.
    let before = mark_exceedances(&store, register.clone(), "2026-02-02").unwrap();
    assert_eq!(before.rows(), 1);
    assert_eq!(
        before.str_column("record_status"),
        &[Some("in-force".to_string())]
    );
    let after = mark_exceedances(&store, register, "2026-02-03").unwrap();
    assert_eq!(after.rows(), 2);
    // Sorted by date: the withdrawn exceedance of 31 January first.
    assert_eq!(
        after.str_column("record_status"),
        &[Some("withdrawn".to_string()), Some("in-force".to_string())]
    );
    assert_eq!(after.str_column("withdrawn_by")[0].as_deref(), Some(cems));
    assert_eq!(
        after.str_column("withdrawn_sha256")[0].as_deref(),
        Some("bb")
    );
    assert_eq!(
        after.str_column("withdrawn_night")[0].as_deref(),
        Some("2026-02-03")
    );
    assert_eq!(after.f64_column("value"), &[Some(112.5), Some(80.0)]);
    assert_eq!(after.str_column("withdrawn_by")[1], None);
}

#[test]
fn an_exceedance_added_back_by_a_later_revision_is_no_longer_withdrawn() {
    let entry = |change| Entry {
        change,
        date: "2026-01-31".into(),
        key: vec!["x".into()],
        fields: vec![],
        old: Some(Record::default()),
        new: Some(Record::default()),
        revisions: vec![],
    };
    let log = |night: &str, change| Changelog {
        dataset: "exceedances".into(),
        night: night.into(),
        primary_key: vec!["exceedance_id".into()],
        previous_archive: None,
        entries: vec![entry(change)],
    };
    let none = BTreeSet::new();
    let logs = [log("2026-02-03", Change::Withdrawn)];
    assert_eq!(withdrawn(&logs, &none).len(), 1);
    let logs = [
        log("2026-02-03", Change::Withdrawn),
        log("2026-02-04", Change::Added),
    ];
    assert!(withdrawn(&logs, &none).is_empty());
    let in_force: BTreeSet<String> = ["x".to_string()].into();
    assert!(withdrawn(&[log("2026-02-03", Change::Withdrawn)], &in_force).is_empty());
}

#[test]
fn a_change_is_attributed_to_the_revision_of_its_own_file() {
    let cems = revision("raw/cems/2026-01-31/cems-110105.r2.hj212", "cc");
    let sm = revision(SM, "aa");
    let both = [cems.clone(), sm.clone()];
    // The old row read from the original self-monitoring file, the new from its revision.
    let keys = ["raw/self-monitoring/2026-01-31/sm-110105.csv", SM];
    assert_eq!(attributed(&both, keys.into_iter()), vec![sm]);
    // A row from a file no revision replaced (or none named): every revision of the date.
    let other = ["raw/cems/2026-01-31/cems-110106.hj212"];
    assert_eq!(attributed(&both, other.into_iter()), both.to_vec());
    assert_eq!(attributed(&both, std::iter::empty()), both.to_vec());
}
