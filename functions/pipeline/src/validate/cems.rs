//! Online-monitoring packet archives (`raw/cems/*/*.hj212`), HJ 212-2017.
//!
//! Stage: validate (pure). One packet per line. A packet is rejected whole when its framing,
//! length or CRC is wrong, when it cannot be parsed, when its device is not in the registry,
//! when its time is not on the delivery date, or when it repeats an earlier packet. Inside
//! an accepted packet, each measurement becomes a row; a sentinel (`-999`) or physically
//! impossible value is excluded from that row with a reason (scope `value`), and values
//! carrying a device flag other than N/S are kept but marked not valid for means.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::common::{Context, FileResult, Rejection, Scope};
use crate::table::{Cell, Kind, Table};
use envgov_dataset::report::FileCounts;
use envgov_hj212::{DataFlag, PacketError};
use std::collections::BTreeMap;

pub const SCHEMA: &[(&str, Kind)] = &[
    ("uscc", Kind::Str),
    ("permit_no", Kind::Str),
    ("district", Kind::Str),
    ("industry_code", Kind::Str),
    ("outlet", Kind::Str),
    ("outlet_id", Kind::Str),
    ("mn", Kind::Str),
    ("standard", Kind::Str),
    ("cn", Kind::Str),
    ("date", Kind::Str),
    ("hour", Kind::I64),
    ("observed_at", Kind::Str),
    ("pollutant", Kind::Str),
    ("avg", Kind::F64),
    ("zs_avg", Kind::F64),
    ("min", Kind::F64),
    ("max", Kind::F64),
    ("cou", Kind::F64),
    ("flag", Kind::Str),
    ("valid", Kind::Bool),
    ("flagged", Kind::Bool),
    ("excluded_reason", Kind::Str),
    ("value", Kind::F64),
    ("raw_key", Kind::Str),
    ("raw_line", Kind::I64),
];

/// Sentinels written by devices for an absent sensor: -999 and its padded forms.
pub fn is_sentinel(v: f64) -> bool {
    v <= -999.0
}

fn reason_code(e: &PacketError) -> &'static str {
    match e {
        PacketError::CrcMismatch { .. } => "bad_crc",
        PacketError::Truncated { .. } => "truncated_packet",
        PacketError::LengthMismatch { .. } | PacketError::BadLengthField { .. } => "bad_length",
        PacketError::SegmentTooLong { .. } => "packet_too_long",
        PacketError::MissingField { .. } => "missing_field",
        PacketError::BadNumber { .. } => "bad_number",
        PacketError::BadFlag { .. } => "unknown_flag",
        PacketError::MissingHeader
        | PacketError::NotText
        | PacketError::BadPayload
        | PacketError::BadField { .. } => "malformed_packet",
    }
}

/// Validates one packet archive.
pub fn validate(key: &str, bytes: &[u8], ctx: Context<'_>) -> FileResult {
    let mut accepted = Table::new(SCHEMA);
    let mut rejections = Vec::new();
    let mut counts = FileCounts {
        encoding: "ascii".into(),
        ..FileCounts::default()
    };
    let mut seen: BTreeMap<(String, String, String), u64> = BTreeMap::new();

    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        counts.read += 1;
        let mut reject = |field: &str, value: String, code: &'static str, reason: String| {
            rejections.push(Rejection {
                raw_key: key.to_string(),
                line: line_no,
                field: field.to_string(),
                value,
                reason_code: code,
                reason,
                scope: Scope::Record,
            });
        };
        if line.len() > super::common::MAX_LINE_BYTES {
            reject(
                "line",
                super::common::clip(&String::from_utf8_lossy(line.get(..80).unwrap_or(line))),
                "line_too_long",
                format!(
                    "line is {} bytes; the limit is {} bytes",
                    line.len(),
                    super::common::MAX_LINE_BYTES
                ),
            );
            counts.rejected += 1;
            continue;
        }
        let packet = match envgov_hj212::parse(line) {
            Ok(p) => p,
            Err(e) => {
                reject(
                    e.field(),
                    super::common::clip(&e.value()),
                    reason_code(&e),
                    e.to_string(),
                );
                counts.rejected += 1;
                continue;
            }
        };
        let Some((unit, outlet)) = ctx.registry.device(&packet.mn) else {
            reject(
                "MN",
                packet.mn.clone(),
                "unknown_device",
                "device id is not registered to any outlet of a key polluting unit".into(),
            );
            counts.rejected += 1;
            continue;
        };
        let is_hourly = match packet.cn.as_str() {
            "2061" => true,
            "2031" => false,
            other => {
                reject(
                    "CN",
                    other.to_string(),
                    "unsupported_command",
                    "only hourly (2061) and daily (2031) data are archived".into(),
                );
                counts.rejected += 1;
                continue;
            }
        };
        let expected_st = if outlet.medium == "air" { "31" } else { "32" };
        if packet.st != expected_st {
            reject(
                "ST",
                packet.st.clone(),
                "system_code_mismatch",
                format!(
                    "outlet {} is a {} outlet, expected ST={expected_st}",
                    outlet.code, outlet.medium
                ),
            );
            counts.rejected += 1;
            continue;
        }
        let data_time = packet.data_time.clone().unwrap_or_default();
        let Some(t) = chrono::NaiveDateTime::parse_from_str(&data_time, "%Y%m%d%H%M%S").ok() else {
            reject(
                "DataTime",
                data_time,
                "bad_timestamp",
                "not a yyyyMMddHHmmss time".into(),
            );
            counts.rejected += 1;
            continue;
        };
        use chrono::Timelike;
        let aligned = if is_hourly {
            t.minute() == 0 && t.second() == 0
        } else {
            t.time() == chrono::NaiveTime::MIN
        };
        if !aligned {
            reject(
                "DataTime",
                data_time,
                "bad_timestamp",
                "hourly data must start on the hour, daily data at 00:00:00".into(),
            );
            counts.rejected += 1;
            continue;
        }
        if t.date() != ctx.date {
            reject(
                "DataTime",
                data_time,
                "outside_delivery_date",
                format!("time is not on the delivery date {}", ctx.date),
            );
            counts.rejected += 1;
            continue;
        }
        let dup_key = (packet.mn.clone(), packet.cn.clone(), data_time.clone());
        if let Some(first) = seen.get(&dup_key) {
            reject(
                "QN",
                packet.qn.clone(),
                "duplicate_packet",
                format!("same device, command and time as line {first}"),
            );
            counts.rejected += 1;
            continue;
        }
        seen.insert(dup_key, line_no);

        counts.accepted += 1;
        for d in &packet.diagnostics {
            counts.warnings += 1;
            rejections.push(Rejection {
                raw_key: key.to_string(),
                line: line_no,
                field: match d {
                    envgov_hj212::Diagnostic::WhitespaceInField { field }
                    | envgov_hj212::Diagnostic::UnknownFieldSuffix { field } => {
                        super::common::clip(field)
                    }
                    envgov_hj212::Diagnostic::NonStandardCode { code } => super::common::clip(code),
                },
                value: String::new(),
                reason_code: match d {
                    envgov_hj212::Diagnostic::WhitespaceInField { .. } => "whitespace_in_field",
                    envgov_hj212::Diagnostic::NonStandardCode { .. } => "non_standard_code",
                    envgov_hj212::Diagnostic::UnknownFieldSuffix { .. } => "unknown_field_suffix",
                },
                reason: format!("tolerated: {d}"),
                scope: Scope::Warning,
            });
        }
        let date = t.date().format("%Y-%m-%d").to_string();
        let observed_at = super::common::local_iso(t);
        for m in &packet.measurements {
            let flag = m.flag.unwrap_or(DataFlag::Normal);
            let mut excluded: Option<(&'static str, String, f64)> = None;
            let pollutant = ctx.curated.pollutants.get(&m.code);
            let reported = m.zs_avg.or(m.avg).or(m.rtd);
            match (pollutant, reported) {
                (None, _) => {
                    excluded = Some((
                        "unknown_pollutant",
                        format!("{} is not a pollutant code envgov knows", m.code),
                        reported.unwrap_or(f64::NAN),
                    ));
                }
                (_, None) => {
                    excluded = Some((
                        "missing_value",
                        format!("{} has no Avg value", m.code),
                        f64::NAN,
                    ));
                }
                (Some(p), Some(_)) => {
                    for v in [m.avg, m.zs_avg, m.min, m.max].into_iter().flatten() {
                        if is_sentinel(v) {
                            excluded = Some((
                                "sentinel_value",
                                format!("{v} is a device sentinel for an absent value"),
                                v,
                            ));
                            break;
                        }
                        if v < p.min || v > p.max {
                            excluded = Some((
                                "impossible_value",
                                format!(
                                    "{v} {} is outside the possible range {}..{}",
                                    p.unit, p.min, p.max
                                ),
                                v,
                            ));
                            break;
                        }
                    }
                }
            }
            if let Some((code, reason, v)) = &excluded {
                rejections.push(Rejection {
                    raw_key: key.to_string(),
                    line: line_no,
                    field: format!("{}-Avg", m.code),
                    value: if v.is_nan() {
                        String::new()
                    } else {
                        envgov_hj212::fmt_value(*v)
                    },
                    reason_code: code,
                    reason: reason.clone(),
                    scope: Scope::Value,
                });
            }
            let clean = |v: Option<f64>| if excluded.is_some() { None } else { v };
            let valid = excluded.is_none() && flag.is_valid_for_mean();
            let excluded_reason = match (&excluded, flag.is_valid_for_mean()) {
                (Some((code, _, _)), _) => Some(code.to_string()),
                (None, false) => Some(format!("flag_{}", flag.code())),
                (None, true) => None,
            };
            accepted.push(vec![
                Cell::from(unit.uscc.clone()),
                Cell::from(unit.permit_no.clone()),
                Cell::from(unit.district.clone()),
                Cell::from(unit.industry_code.clone()),
                Cell::from(outlet.code.clone()),
                Cell::from(format!("{}-{}", unit.permit_no, outlet.code)),
                Cell::from(packet.mn.clone()),
                Cell::from(outlet.standard.clone()),
                Cell::from(packet.cn.clone()),
                Cell::from(date.clone()),
                Cell::I64(is_hourly.then(|| i64::from(t.hour()))),
                Cell::from(observed_at.clone()),
                Cell::from(m.code.clone()),
                Cell::F64(clean(m.avg.or(m.rtd))),
                Cell::F64(clean(m.zs_avg)),
                Cell::F64(clean(m.min)),
                Cell::F64(clean(m.max)),
                Cell::F64(clean(m.cou)),
                Cell::from(flag.code().to_string()),
                Cell::from(valid),
                Cell::from(excluded.is_none() && !flag.is_valid_for_mean()),
                Cell::Str(excluded_reason),
                Cell::F64(if valid { reported } else { None }),
                Cell::from(key),
                Cell::from(line_no as i64),
            ]);
        }
    }
    FileResult {
        counts,
        accepted,
        rejections,
    }
}
