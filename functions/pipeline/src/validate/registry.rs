//! The registry of key polluting units (`raw/enterprises/*/registry.jsonl`).
//!
//! Stage: validate (pure). One JSON object per line; a line is accepted only when every
//! identifier checks out (USCC, permit, district, outlet and facility codes, device ids,
//! standards and pollutant codes). The validated [`Registry`] is what the other validators
//! look units, outlets and devices up in.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::common::{Context, FileResult, Rejection, Scope};
pub use super::units::{Facility, Outlet, Registry, Unit};
use crate::table::{Cell, Kind, Table};
use envgov_dataset::ids::{self, Medium};
use envgov_dataset::report::FileCounts;
use std::collections::BTreeMap;

pub const SOURCE_TYPES: [&str; 7] = [
    "boiler",
    "industrial",
    "sewage-plant",
    "msw-incinerator",
    "hospital",
    "livestock-farm",
    "hazardous-waste",
];
pub const FACILITY_STATUSES: [&str; 3] = ["operating", "stopped", "maintenance"];

pub const SCHEMA: &[(&str, Kind)] = &[
    ("uscc", Kind::Str),
    ("permit_no", Kind::Str),
    ("unit_json", Kind::Str),
    ("raw_key", Kind::Str),
    ("raw_line", Kind::I64),
];

struct Problem {
    field: String,
    value: String,
    code: &'static str,
    reason: String,
}

fn problem(
    field: impl Into<String>,
    value: impl Into<String>,
    code: &'static str,
    reason: impl Into<String>,
) -> Problem {
    Problem {
        field: field.into(),
        value: super::common::clip(&value.into()),
        code,
        reason: reason.into(),
    }
}

fn check_unit(
    unit: &mut Unit,
    ctx: &Context<'_>,
    seen_mn: &BTreeMap<String, String>,
) -> Result<(), Problem> {
    unit.uscc = ids::check_uscc(&unit.uscc)
        .map_err(|e| problem("uscc", unit.uscc.clone(), "malformed_uscc", e.to_string()))?;
    unit.permit_no = ids::check_permit(&unit.permit_no).map_err(|e| {
        problem(
            "permit_no",
            unit.permit_no.clone(),
            "malformed_permit",
            e.to_string(),
        )
    })?;
    if !unit.permit_no.starts_with(&unit.uscc) {
        return Err(problem(
            "permit_no",
            unit.permit_no.clone(),
            "permit_uscc_mismatch",
            "permit number does not begin with the unit's USCC",
        ));
    }
    if ids::district(&unit.district).is_none() {
        return Err(problem(
            "district",
            unit.district.clone(),
            "unknown_district",
            "not a Beijing district code (GB/T 2260) nor BDA",
        ));
    }
    for (field, value) in [
        ("name_zh", &unit.name_zh),
        ("name_en", &unit.name_en),
        ("industry_zh", &unit.industry_zh),
        ("industry_en", &unit.industry_en),
    ] {
        if value.trim().is_empty() {
            return Err(problem(
                field,
                "",
                "missing_value",
                "required text is empty",
            ));
        }
    }
    if unit.industry_code.len() != 4 || !unit.industry_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(
            "industry_code",
            unit.industry_code.clone(),
            "bad_industry_code",
            "must be a 4-digit GB/T 4754 code",
        ));
    }
    if !SOURCE_TYPES.contains(&unit.source_type.as_str()) {
        return Err(problem(
            "source_type",
            unit.source_type.clone(),
            "unknown_source_type",
            format!("must be one of {}", SOURCE_TYPES.join(", ")),
        ));
    }
    if !(115.4..=117.6).contains(&unit.lon) || !(39.4..=41.1).contains(&unit.lat) {
        return Err(problem(
            "lon/lat",
            format!("{},{}", unit.lon, unit.lat),
            "outside_beijing",
            "coordinates are outside Beijing (115.4-117.6 E, 39.4-41.1 N)",
        ));
    }
    if !(unit.disclosure_url.starts_with("https://") || unit.disclosure_url.starts_with("http://"))
    {
        return Err(problem(
            "disclosure_url",
            unit.disclosure_url.clone(),
            "bad_url",
            "must be an http(s) address",
        ));
    }
    for o in &mut unit.outlets {
        if !o.cems && o.mn.as_deref().is_some_and(|mn| mn.trim().is_empty()) {
            o.mn = None;
        }
    }
    let mut codes = Vec::new();
    for (i, o) in unit.outlets.iter().enumerate() {
        let field = |f: &str| format!("outlets[{i}].{f}");
        let medium = ids::check_outlet(&o.code).map_err(|e| {
            problem(
                field("code"),
                o.code.clone(),
                "bad_outlet_code",
                e.to_string(),
            )
        })?;
        let expected = match medium {
            Medium::Air => "air",
            _ => "water",
        };
        if o.medium != expected {
            return Err(problem(
                field("medium"),
                o.medium.clone(),
                "medium_mismatch",
                format!("outlet {} is a {expected} outlet", o.code),
            ));
        }
        if codes.contains(&o.code) {
            return Err(problem(
                field("code"),
                o.code.clone(),
                "duplicate_outlet",
                "outlet code appears twice",
            ));
        }
        codes.push(o.code.clone());
        let standard = ctx.curated.standards.get(&o.standard).ok_or_else(|| {
            problem(
                field("standard"),
                o.standard.clone(),
                "unknown_standard",
                "not a standard id in data/standards.toml",
            )
        })?;
        if standard.medium != o.medium {
            return Err(problem(
                field("standard"),
                o.standard.clone(),
                "medium_mismatch",
                "standard is for another medium",
            ));
        }
        for p in &o.pollutants {
            match ctx.curated.pollutants.get(p) {
                Some(x) if x.medium == o.medium => {}
                _ => {
                    return Err(problem(
                        field("pollutants"),
                        p.clone(),
                        "unknown_pollutant",
                        "not a pollutant code of this medium in data/pollutants.toml",
                    ));
                }
            }
        }
        match (o.mn.as_deref(), o.cems) {
            // Government exports write "" for "not applicable": without online monitoring an
            // empty device id is no device id (normalised to absent before this check).
            (Some(""), true) | (None, true) => {
                return Err(problem(
                    field("mn"),
                    "",
                    "missing_value",
                    "an outlet with online monitoring needs its device id",
                ));
            }
            (Some(mn), _) => {
                if mn.is_empty() || mn.len() > 24 || !mn.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(problem(
                        field("mn"),
                        mn,
                        "bad_device_id",
                        "device id must be 1-24 ASCII letters or digits",
                    ));
                }
                if let Some(other) = seen_mn.get(mn) {
                    return Err(problem(
                        field("mn"),
                        mn,
                        "duplicate_device",
                        format!("device id already used by unit {other}"),
                    ));
                }
            }
            (None, false) => {}
        }
    }
    for (i, f) in unit.facilities.iter().enumerate() {
        let field = |x: &str| format!("facilities[{i}].{x}");
        ids::check_facility(&f.code).map_err(|e| {
            problem(
                field("code"),
                f.code.clone(),
                "bad_facility_code",
                e.to_string(),
            )
        })?;
        if !FACILITY_STATUSES.contains(&f.status.as_str()) {
            return Err(problem(
                field("status"),
                f.status.clone(),
                "unknown_status",
                format!("must be one of {}", FACILITY_STATUSES.join(", ")),
            ));
        }
        if !codes.contains(&f.outlet) {
            return Err(problem(
                field("outlet"),
                f.outlet.clone(),
                "unknown_outlet",
                "facility names an outlet the unit does not have",
            ));
        }
    }
    Ok(())
}

/// Validates a registry file.
pub fn validate(key: &str, bytes: &[u8], ctx: Context<'_>) -> FileResult {
    let mut accepted = Table::new(SCHEMA);
    let mut rejections = Vec::new();
    let mut counts = FileCounts {
        encoding: "utf-8".into(),
        ..FileCounts::default()
    };
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(t) => t,
        Err(e) => {
            // JSON is UTF-8 by definition (RFC 8259); anything else is refused whole.
            return super::common::reject_whole_file(
                key,
                bytes,
                SCHEMA,
                format!("registry is not UTF-8 JSON Lines ({e})"),
            );
        }
    };
    let mut seen_uscc: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen_mn: BTreeMap<String, String> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        counts.read += 1;
        let reject = |p: Problem| Rejection {
            raw_key: key.to_string(),
            line: line_no,
            field: p.field,
            value: p.value,
            reason_code: p.code,
            reason: p.reason,
            scope: Scope::Record,
        };
        if line.len() > super::common::MAX_REGISTRY_LINE_BYTES {
            rejections.push(reject(problem(
                "line",
                truncate(line, 80),
                "line_too_long",
                format!(
                    "line is {} bytes; the limit is {} bytes",
                    line.len(),
                    super::common::MAX_REGISTRY_LINE_BYTES
                ),
            )));
            counts.rejected += 1;
            continue;
        }
        let mut unit: Unit = match serde_json::from_str(line) {
            Ok(u) => u,
            Err(e) => {
                rejections.push(reject(problem(
                    "json",
                    truncate(line, 80),
                    "malformed_json",
                    e.to_string(),
                )));
                counts.rejected += 1;
                continue;
            }
        };
        if let Err(p) = check_unit(&mut unit, &ctx, &seen_mn) {
            rejections.push(reject(p));
            counts.rejected += 1;
            continue;
        }
        if let Some(first) = seen_uscc.get(&unit.uscc) {
            rejections.push(reject(problem(
                "uscc",
                unit.uscc.clone(),
                "duplicate",
                format!("unit already listed on line {first}"),
            )));
            counts.rejected += 1;
            continue;
        }
        let unit_json = match serde_json::to_string(&unit) {
            Ok(j) => j,
            Err(e) => {
                rejections.push(reject(problem(
                    "json",
                    truncate(line, 80),
                    "malformed_json",
                    e.to_string(),
                )));
                counts.rejected += 1;
                continue;
            }
        };
        seen_uscc.insert(unit.uscc.clone(), line_no);
        for o in &unit.outlets {
            if let Some(mn) = &o.mn {
                seen_mn.insert(mn.clone(), unit.uscc.clone());
            }
        }
        accepted.push(vec![
            Cell::from(unit.uscc.clone()),
            Cell::from(unit.permit_no.clone()),
            Cell::from(unit_json),
            Cell::from(key),
            Cell::from(line_no as i64),
        ]);
        counts.accepted += 1;
    }
    FileResult {
        counts,
        accepted,
        rejections,
    }
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn line(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v = serde_json::json!({
            "uscc": "91110105MA01ABCD5F", "permit_no": "91110105MA01ABCD5F001P", "name_zh": "示例热电", "name_en": "Example Heat",
            "district": "110105", "industry_code": "4430", "industry_zh": "热力生产和供应", "industry_en": "Heat supply",
            "source_type": "boiler", "address_zh": "北京市朝阳区", "address_en": "Chaoyang, Beijing", "lon": 116.45, "lat": 39.92,
            "disclosure_url": "https://example.org/x",
            "outlets": [{"code": "DA001", "name_zh": "烟囱", "name_en": "Stack", "medium": "air", "mn": "MN1", "standard": "DB11-139-2015",
                "discharge_method_zh": "有组织", "discharge_method_en": "Stack", "destination_zh": "大气", "destination_en": "Air",
                "pollutants": ["a21002"], "cems": true}],
            "facilities": [{"code": "TA001", "name_zh": "低氮燃烧", "name_en": "Low-NOx burner", "outlet": "DA001", "status": "operating"}]
        });
        edit(&mut v);
        v.to_string()
    }

    fn check(text: &str) -> FileResult {
        let curated = envgov_curated::Curated::load().unwrap();
        let registry = Registry::default();
        let ctx = Context {
            curated: &curated,
            registry: &registry,
            date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        validate(
            "raw/enterprises/2026-01-01/registry.jsonl",
            text.as_bytes(),
            ctx,
        )
    }

    fn reason(edit: impl FnOnce(&mut serde_json::Value)) -> (&'static str, String) {
        let r = check(&line(edit));
        assert_eq!((r.counts.read, r.counts.rejected), (1, 1));
        (r.rejections[0].reason_code, r.rejections[0].field.clone())
    }

    #[test]
    fn accepts_a_valid_unit_and_indexes_its_device() {
        let r = check(&line(|_| {}));
        assert_eq!((r.counts.read, r.counts.accepted), (1, 1));
        let reg = Registry::from_table(&r.accepted).unwrap();
        assert_eq!(
            reg.device("MN1")
                .map(|(u, o)| (u.uscc.as_str(), o.code.as_str())),
            Some(("91110105MA01ABCD5F", "DA001"))
        );
        assert_eq!(
            reg.origins["91110105MA01ABCD5F"],
            ("raw/enterprises/2026-01-01/registry.jsonl".to_string(), 1)
        );
    }

    #[test]
    fn rejects_each_broken_identifier_with_its_field() {
        assert_eq!(
            reason(|v| v["uscc"] = "91110105MA01ABCD5G".into()),
            ("malformed_uscc", "uscc".into())
        );
        assert_eq!(
            reason(|v| v["permit_no"] = "9111010810200001XR001P".into()),
            ("permit_uscc_mismatch", "permit_no".into())
        );
        assert_eq!(
            reason(|v| v["district"] = "110103".into()),
            ("unknown_district", "district".into())
        );
        assert_eq!(
            reason(|v| v["lat"] = 31.2.into()),
            ("outside_beijing", "lon/lat".into())
        );
        assert_eq!(
            reason(|v| v["outlets"][0]["code"] = "DW001".into()),
            ("medium_mismatch", "outlets[0].medium".into())
        );
        assert_eq!(
            reason(|v| v["outlets"][0]["standard"] = "GB0000".into()),
            ("unknown_standard", "outlets[0].standard".into())
        );
        assert_eq!(
            reason(|v| v["outlets"][0]["pollutants"][0] = "w01018".into()),
            ("unknown_pollutant", "outlets[0].pollutants".into())
        );
        assert_eq!(
            reason(|v| v["facilities"][0]["status"] = "broken".into()),
            ("unknown_status", "facilities[0].status".into())
        );
        assert_eq!(
            reason(|v| v["extra"] = 1.into()),
            ("malformed_json", "json".into())
        );
    }

    #[test]
    fn rejects_a_permit_with_a_multi_byte_character_instead_of_panicking() {
        // 22 characters (24 bytes): the unit's first 17 USCC characters, 中, then 001P.
        let r = check(&line(|v| v["permit_no"] = "91110105MA01ABCD5中001P".into()));
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (1, 0, 1)
        );
        let x = &r.rejections[0];
        assert_eq!(
            (x.line, x.field.as_str(), x.value.as_str(), x.reason_code),
            (
                1,
                "permit_no",
                "91110105MA01ABCD5中001P",
                "malformed_permit"
            )
        );
        assert_eq!(x.reason, "character '中' at position 18 is not allowed");
    }

    #[test]
    fn an_empty_device_id_means_none_when_the_outlet_has_no_online_monitoring() {
        // raw-formats.md: `mn` is required when `cems` is true; government exports write ""
        // for "not applicable".
        let r = check(&line(|v| {
            v["outlets"][0]["cems"] = false.into();
            v["outlets"][0]["mn"] = "".into();
        }));
        assert_eq!(
            (r.counts.read, r.counts.accepted),
            (1, 1),
            "{:?}",
            r.rejections
        );
        let reg = Registry::from_table(&r.accepted).unwrap();
        assert_eq!(reg.units["91110105MA01ABCD5F"].outlets[0].mn, None);
        assert!(reg.devices.is_empty());
        // Two such outlets in two units are not a duplicate device.
        let a = line(|v| {
            v["outlets"][0]["cems"] = false.into();
            v["outlets"][0]["mn"] = "".into();
        });
        let b = line(|v| {
            v["uscc"] = "9111010810200001XR".into();
            v["permit_no"] = "9111010810200001XR001P".into();
            v["outlets"][0]["cems"] = false.into();
            v["outlets"][0]["mn"] = "".into();
        });
        let r = check(&format!("{a}\n{b}\n"));
        assert_eq!(
            (r.counts.read, r.counts.accepted),
            (2, 2),
            "{:?}",
            r.rejections
        );
        // With online monitoring, empty or missing is still refused.
        assert_eq!(
            reason(|v| v["outlets"][0]["mn"] = "".into()),
            ("missing_value", "outlets[0].mn".into())
        );
        assert_eq!(
            reason(|v| {
                v["outlets"][0].as_object_mut().unwrap().remove("mn");
            }),
            ("missing_value", "outlets[0].mn".into())
        );
    }

    #[test]
    fn rejects_a_line_over_the_limit_and_counts_it() {
        // A valid unit padded with spaces inside the JSON to just over 1 MiB.
        let unit = line(|_| {});
        let padded = format!(
            "{}{}",
            " ".repeat(super::super::common::MAX_REGISTRY_LINE_BYTES + 1 - unit.len()),
            unit
        );
        let r = check(&format!("{unit}\n{padded}\n"));
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (2, 1, 1)
        );
        let x = &r.rejections[0];
        assert_eq!(
            (x.line, x.field.as_str(), x.reason_code),
            (2, "line", "line_too_long")
        );
        assert_eq!(
            x.reason,
            "line is 1048577 bytes; the limit is 1048576 bytes"
        );
    }

    #[test]
    fn rejects_a_device_id_used_twice() {
        let a = line(|_| {});
        let b = line(|v| {
            v["uscc"] = "9111010810200001XR".into();
            v["permit_no"] = "9111010810200001XR001P".into();
        });
        let r = check(&format!("{a}\n{b}\n"));
        assert_eq!(
            (r.counts.read, r.counts.accepted, r.counts.rejected),
            (2, 1, 1)
        );
        assert_eq!(r.rejections[0].reason_code, "duplicate_device");
        assert_eq!(r.rejections[0].line, 2);
    }

    #[test]
    fn lines_are_numbered_as_sed_numbers_them_for_every_line_end_with_or_without_bom() {
        // Line 1: unit A; 2: blank; 3: unit B with a lone CR as JSON whitespace inside it
        // (a lone CR ends no line); 4: not JSON; 5: unit A again (a duplicate of line 1, with
        // another device id).
        let a = line(|_| {});
        let b = line(|v| {
            v["uscc"] = "9111010810200001XR".into();
            v["permit_no"] = "9111010810200001XR001P".into();
            v["outlets"][0]["mn"] = "MN2".into();
        })
        .replacen("\",\"", "\",\r\"", 1);
        let again = line(|v| v["outlets"][0]["mn"] = "MN3".into());
        let lines = [a.as_str(), "", b.as_str(), "{not json", again.as_str()];
        for ends in ["\n", "\r\n", "mixed"] {
            for bom in ["", "\u{FEFF}"] {
                let mut text = bom.to_string();
                for (i, l) in lines.iter().enumerate() {
                    text.push_str(l);
                    text.push_str(match ends {
                        "mixed" if i % 2 == 1 => "\r\n",
                        "mixed" => "\n",
                        e => e,
                    });
                }
                let case = format!("{ends:?} bom={}", !bom.is_empty());
                let r = check(&text);
                let got: Vec<_> = r
                    .rejections
                    .iter()
                    .map(|x| (x.line, x.reason_code))
                    .collect();
                assert_eq!(got, [(4, "malformed_json"), (5, "duplicate")], "{case}");
                assert_eq!(
                    r.accepted.i64_column("raw_line"),
                    &[Some(1), Some(3)],
                    "{case}"
                );
                assert_eq!(r.rejections[1].reason, "unit already listed on line 1");
                // `sed -n 3p` of the same bytes is unit B's line.
                let third = text.as_bytes().split(|&c| c == b'\n').nth(2).unwrap();
                let uscc = b"\"uscc\":\"9111010810200001XR\"";
                assert!(third.windows(uscc.len()).any(|w| w == uscc), "{case}");
            }
        }
    }
}
