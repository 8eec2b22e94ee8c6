//! Changelogs of corrections: what a night's revisions of raw files changed in a day-level
//! dataset (`data/raw-formats.md`, "Changelogs"). The pipeline writes them
//! (`datasets/{id}/changes/{night}.json` and `.csv`), the site reads them.

use crate::layout::{BadSegment, check_date, check_segment};
use crate::report::AppliedRevision;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The folder of a dataset's changelogs: `datasets/{id}/changes/`.
pub fn changes_root(id: &str) -> Result<String, BadSegment> {
    Ok(format!("datasets/{}/changes/", check_segment(id)?))
}

/// The path of a night's changelog relative to a publication (and to a release's
/// `datasets/`): `{id}/changes/{night}.{ext}`, or `{night}.r{n}.{ext}` for a re-run of the
/// night whose changelog differs (`ext` is `json` or `csv`).
pub fn changelog_path(
    id: &str,
    night: &str,
    revision: u32,
    ext: &str,
) -> Result<String, BadSegment> {
    let name = match revision {
        0 | 1 => format!("{}.{ext}", check_date(night)?),
        n => format!("{}.r{n}.{ext}", check_date(night)?),
    };
    Ok(format!(
        "{}/changes/{}",
        check_segment(id)?,
        check_segment(&name)?
    ))
}

/// The store key of a night's changelog (see [`changelog_path`]).
pub fn changelog_key(
    id: &str,
    night: &str,
    revision: u32,
    ext: &str,
) -> Result<String, BadSegment> {
    Ok(format!(
        "datasets/{}",
        changelog_path(id, night, revision, ext)?
    ))
}

/// Reads a changelog path `{id}/changes/{night}[.r{n}].{ext}` (see [`changelog_path`]):
/// the dataset id, the night, the revision (1 without `.r{n}`) and the extension.
pub fn parse_changelog_path(path: &str) -> Option<(String, String, u32, String)> {
    let (id, rest) = path.split_once("/changes/")?;
    check_segment(id).ok()?;
    let night = rest.get(..10)?;
    check_date(night).ok()?;
    let tail = rest.get(10..)?.strip_prefix('.')?;
    let (revision, ext) = match tail.strip_prefix('r').and_then(|t| t.split_once('.')) {
        Some((n, ext)) => (n.parse::<u32>().ok().filter(|n| *n >= 2)?, ext),
        None => (1, tail),
    };
    (!ext.is_empty() && !ext.contains(['.', '/']))
        .then(|| (id.to_string(), night.to_string(), revision, ext.to_string()))
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Changed,
    Withdrawn,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Withdrawn => "withdrawn",
        }
    }
}

/// A record as published: column → CSV text (empty for null), in the dataset's column order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record(pub Vec<(String, String)>);

impl Record {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_str())
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of column names to text values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(Record(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One field of a changed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One record added, changed or withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub change: Change,
    /// The record's data date (the corrected date folder).
    pub date: String,
    /// The primary key's values, in the order of the dataset's `primary_key`.
    pub key: Vec<String>,
    /// For `changed`: every field whose value differs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Record>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Record>,
    /// The revisions put in force for the record's date on the night.
    pub revisions: Vec<AppliedRevision>,
}

/// `datasets/{id}/changes/{night}.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changelog {
    pub dataset: String,
    /// The night whose revisions made the changes.
    pub night: String,
    /// The primary key's columns.
    pub primary_key: Vec<String>,
    /// The archive folder compared with (the dataset as published the night before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_archive: Option<String>,
    /// Sorted by date, then key.
    pub entries: Vec<Entry>,
}

impl Changelog {
    /// The CSV form: `change,date,key,field,old,new,revision_key,revision_sha256`, one line
    /// per changed field (one line with `field` empty for an added or withdrawn record); the
    /// key's values joined with `|`; several revisions joined with ` ` (UTF-8 with BOM, CRLF).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        let mut lines = vec![
            [
                "change",
                "date",
                "key",
                "field",
                "old",
                "new",
                "revision_key",
                "revision_sha256",
            ]
            .map(str::to_string)
            .to_vec(),
        ];
        for e in &self.entries {
            let keys: Vec<&str> = e.revisions.iter().map(|r| r.key.as_str()).collect();
            let hashes: Vec<&str> = e.revisions.iter().map(|r| r.sha256.as_str()).collect();
            let base = |field: &str, old: &str, new: &str| {
                vec![
                    e.change.as_str().to_string(),
                    e.date.clone(),
                    e.key.join("|"),
                    field.to_string(),
                    old.to_string(),
                    new.to_string(),
                    keys.join(" "),
                    hashes.join(" "),
                ]
            };
            if e.fields.is_empty() {
                lines.push(base("", "", ""));
            }
            for f in &e.fields {
                lines.push(base(&f.field, &f.old, &f.new));
            }
        }
        for line in lines {
            let cells: Vec<String> = line.iter().map(|c| csv_cell(c)).collect();
            out.extend_from_slice(cells.join(",").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// RFC 4180 quoting, and a leading `=`, `+`, `-`, `@` (a spreadsheet formula) prefixed with
/// `'` unless the cell is a number.
fn csv_cell(c: &str) -> String {
    let neutral = if c.starts_with(['=', '+', '-', '@']) && c.parse::<f64>().is_err() {
        format!("'{c}")
    } else {
        c.to_string()
    };
    if neutral.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_keys() {
        assert_eq!(
            changelog_key("cems-daily", "2026-02-03", 1, "json").unwrap(),
            "datasets/cems-daily/changes/2026-02-03.json"
        );
        assert_eq!(
            changelog_path("exceedances", "2026-02-03", 2, "csv").unwrap(),
            "exceedances/changes/2026-02-03.r2.csv"
        );
        assert!(changelog_key("../x", "2026-02-03", 1, "json").is_err());
        let parsed = |p: &str| parse_changelog_path(p);
        assert_eq!(
            parsed("exceedances/changes/2026-02-03.r2.csv"),
            Some(("exceedances".into(), "2026-02-03".into(), 2, "csv".into()))
        );
        assert_eq!(
            parsed("cems-daily/changes/2026-02-03.json"),
            Some(("cems-daily".into(), "2026-02-03".into(), 1, "json".into()))
        );
        for bad in [
            "cems-daily/changes/2026-02-03",
            "cems-daily/changes/2026-02-03.r1.json",
            "cems-daily/changes/2026-2-03.json",
            "cems-daily/archive/2026-02-03.json",
        ] {
            assert_eq!(parsed(bad), None, "{bad}");
        }
        assert!(changelog_key("x", "2026-2-3", 1, "json").is_err());
    }

    #[test]
    fn a_record_keeps_its_column_order_through_json() {
        let r = Record(vec![("z".into(), "1".into()), ("a".into(), "<b>".into())]);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"z":"1","a":"<b>"}"#);
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
    }

    #[test]
    fn the_csv_has_a_line_per_changed_field() {
        let rev = AppliedRevision {
            key: "raw/self-monitoring/2026-01-31/sm.r2.csv".into(),
            revision: 2,
            replaces: "raw/self-monitoring/2026-01-31/sm.csv".into(),
            sha256: "ab".into(),
            first_seen_run: "2026-02-03".into(),
        };
        let log = Changelog {
            dataset: "self-monitoring".into(),
            night: "2026-02-03".into(),
            primary_key: vec!["uscc".into(), "outlet".into()],
            previous_archive: None,
            entries: vec![
                Entry {
                    change: Change::Changed,
                    date: "2026-01-31".into(),
                    key: vec!["U".into(), "DW001".into()],
                    fields: vec![
                        FieldChange {
                            field: "value".into(),
                            old: "12.5".into(),
                            new: "1.25".into(),
                        },
                        FieldChange {
                            field: "note".into(),
                            old: "a,b".into(),
                            new: "=1+1".into(),
                        },
                    ],
                    old: None,
                    new: None,
                    revisions: vec![rev.clone()],
                },
                Entry {
                    change: Change::Withdrawn,
                    date: "2026-01-31".into(),
                    key: vec!["U".into(), "DW002".into()],
                    fields: vec![],
                    old: None,
                    new: None,
                    revisions: vec![rev],
                },
            ],
        };
        let csv = String::from_utf8(log.to_csv()).unwrap();
        let r = "raw/self-monitoring/2026-01-31/sm.r2.csv,ab";
        assert_eq!(
            csv,
            format!(
                "\u{feff}change,date,key,field,old,new,revision_key,revision_sha256\r\n\
                 changed,2026-01-31,U|DW001,value,12.5,1.25,{r}\r\n\
                 changed,2026-01-31,U|DW001,note,\"a,b\",'=1+1,{r}\r\n\
                 withdrawn,2026-01-31,U|DW002,,,,{r}\r\n"
            )
        );
    }
}
