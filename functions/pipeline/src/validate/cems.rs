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

use super::common::{Context, FileBatch, Rejection, Scope};
use super::units::Outlet;
use crate::table::{Batch, Column, Interned, Kind, Values};
use chrono::{NaiveDateTime, Timelike};
use envgov_curated::pollutants::Pollutant;
use envgov_dataset::report::FileCounts;
use envgov_hj212::{DataFlag, Measurement, Packet, PacketError};
use std::collections::HashMap;

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

/// The accepted rows of a file, column by column ([`SCHEMA`]'s order). Strings are
/// interned: a row costs no allocation.
#[derive(Default)]
struct Columns {
    /// uscc, permit_no, district, industry_code, outlet, outlet_id, mn, standard.
    device: [Interned; 8],
    cn: Interned,
    date: Interned,
    hour: Vec<Option<i64>>,
    observed_at: Interned,
    pollutant: Interned,
    /// avg, zs_avg, min, max, cou.
    numbers: [Vec<Option<f64>>; 5],
    flag: Interned,
    valid: Vec<Option<bool>>,
    flagged: Vec<Option<bool>>,
    excluded_reason: Interned,
    value: Vec<Option<f64>>,
    raw_key: Interned,
    raw_line: Vec<Option<i64>>,
}

impl Columns {
    fn into_batch(self) -> Batch {
        let Columns {
            device,
            cn,
            date,
            hour,
            observed_at,
            pollutant,
            numbers,
            flag,
            valid,
            flagged,
            excluded_reason,
            value,
            raw_key,
            raw_line,
        } = self;
        let mut columns: Vec<Column> = device.into_iter().map(Column::Interned).collect();
        columns.extend([
            Column::Interned(cn),
            Column::Interned(date),
            Column::Plain(Values::I64(hour)),
            Column::Interned(observed_at),
            Column::Interned(pollutant),
        ]);
        columns.extend(numbers.into_iter().map(|v| Column::Plain(Values::F64(v))));
        columns.extend([
            Column::Interned(flag),
            Column::Plain(Values::Bool(valid)),
            Column::Plain(Values::Bool(flagged)),
            Column::Interned(excluded_reason),
            Column::Plain(Values::F64(value)),
            Column::Interned(raw_key),
            Column::Plain(Values::I64(raw_line)),
        ]);
        Batch {
            names: SCHEMA.iter().map(|(n, _)| n.to_string()).collect(),
            columns,
        }
    }
}

/// A registered device as the rows of its packets name it: its outlet, and the
/// codes of its eight columns in [`Columns::device`].
#[derive(Clone, Copy)]
struct Device<'a> {
    outlet: &'a Outlet,
    codes: [u32; 8],
    /// The code of its MN (also in `codes`).
    mn: u32,
}

/// What a file's validation remembers between packets: devices, times and duplicates.
struct Seen<'a> {
    devices: HashMap<String, Option<Device<'a>>>,
    /// A packet's time → the codes of its `date` and `observed_at`.
    times: HashMap<NaiveDateTime, (u32, u32)>,
    /// (mn code, hourly, DataTime) → the line of its first packet.
    packets: HashMap<(u32, bool, String), u64>,
    /// By code in [`Columns::pollutant`]: the curated pollutant, once looked up.
    pollutants: Vec<Option<&'a Pollutant>>,
    /// Each data flag met and its code in [`Columns::flag`].
    flags: Vec<(DataFlag, u32)>,
}

impl<'a> Seen<'a> {
    fn device(&mut self, cols: &mut Columns, ctx: &Context<'a>, mn: &str) -> Option<Device<'a>> {
        if let Some(d) = self.devices.get(mn) {
            return *d;
        }
        let found = ctx.registry.device(mn).map(|(unit, outlet)| {
            let outlet_id = format!("{}-{}", unit.permit_no, outlet.code);
            let values = [
                unit.uscc.as_str(),
                unit.permit_no.as_str(),
                unit.district.as_str(),
                unit.industry_code.as_str(),
                outlet.code.as_str(),
                outlet_id.as_str(),
                mn,
                outlet.standard.as_str(),
            ];
            let mut codes = [0; 8];
            for ((code, column), value) in codes.iter_mut().zip(&mut cols.device).zip(values) {
                *code = column.code(value);
            }
            let [.., mn, _] = codes;
            Device { outlet, codes, mn }
        });
        self.devices.insert(mn.to_string(), found);
        found
    }

    /// The code of a measurement's pollutant column and the curated pollutant, if known.
    fn pollutant(
        &mut self,
        cols: &mut Columns,
        ctx: &Context<'a>,
        code: &str,
    ) -> (u32, Option<&'a Pollutant>) {
        let c = cols.pollutant.code(code);
        let at = c as usize;
        if let Some(known) = self.pollutants.get(at) {
            return (c, *known);
        }
        let found = ctx.curated.pollutants.get(code);
        self.pollutants.resize(at.saturating_add(1), None);
        if let Some(slot) = self.pollutants.get_mut(at) {
            *slot = found;
        }
        (c, found)
    }

    fn flag(&mut self, cols: &mut Columns, flag: DataFlag) -> u32 {
        if let Some((_, c)) = self.flags.iter().find(|(f, _)| *f == flag) {
            return *c;
        }
        let c = cols.flag.code(flag.code().encode_utf8(&mut [0; 4]));
        self.flags.push((flag, c));
        c
    }

    fn time(&mut self, cols: &mut Columns, t: NaiveDateTime) -> (u32, u32) {
        *self.times.entry(t).or_insert_with(|| {
            (
                cols.date.code(&t.date().format("%Y-%m-%d").to_string()),
                cols.observed_at.code(&super::common::local_iso(t)),
            )
        })
    }
}

/// A packet that passed every check, ready to become rows.
struct Accepted<'a> {
    packet: Packet,
    device: Device<'a>,
    hourly: bool,
    time: NaiveDateTime,
}

/// A packet's rejection: field, value, reason code and reason.
type Refusal = (String, String, &'static str, String);

/// Validates one packet archive.
pub fn validate(key: &str, bytes: &[u8], ctx: Context<'_>) -> FileBatch {
    let mut cols = Columns::default();
    let key_code = cols.raw_key.code(key);
    let mut rejections = Vec::new();
    let mut counts = FileCounts {
        encoding: "ascii".into(),
        ..FileCounts::default()
    };
    let mut seen = Seen {
        devices: HashMap::new(),
        times: HashMap::new(),
        packets: HashMap::new(),
        pollutants: Vec::new(),
        flags: Vec::new(),
    };
    // A UTF-8 BOM before the first packet is no part of it (editors on Windows add one);
    // lines are numbered by LF as ever.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        counts.read += 1;
        match check(line, line_no, &ctx, &mut cols, &mut seen) {
            Err((field, value, reason_code, reason)) => {
                rejections.push(Rejection {
                    raw_key: key.to_string(),
                    line: line_no,
                    field,
                    value,
                    reason_code,
                    reason,
                    scope: Scope::Record,
                });
                counts.rejected += 1;
            }
            Ok(accepted) => {
                counts.accepted += 1;
                counts.warnings += accepted.packet.diagnostics.len() as u64;
                warn(key, line_no, &accepted.packet, &mut rejections);
                let row = Row {
                    key,
                    key_code,
                    line_no,
                };
                push_rows(&accepted, row, &ctx, &mut cols, &mut seen, &mut rejections);
            }
        }
    }
    FileBatch {
        counts,
        accepted: cols.into_batch(),
        rejections,
    }
}

/// Checks one packet line: size, framing and parsing, device, command, system code, time
/// and duplicates, in that order (the first failure is the packet's rejection).
fn check<'a>(
    line: &[u8],
    line_no: u64,
    ctx: &Context<'a>,
    cols: &mut Columns,
    seen: &mut Seen<'a>,
) -> Result<Accepted<'a>, Refusal> {
    use super::common::{MAX_LINE_BYTES, clip};
    if line.len() > MAX_LINE_BYTES {
        return Err((
            "line".into(),
            clip(&String::from_utf8_lossy(line.get(..80).unwrap_or(line))),
            "line_too_long",
            format!(
                "line is {} bytes; the limit is {MAX_LINE_BYTES} bytes",
                line.len()
            ),
        ));
    }
    let packet = envgov_hj212::parse(line).map_err(|e| {
        (
            e.field().to_string(),
            clip(&e.value()),
            reason_code(&e),
            e.to_string(),
        )
    })?;
    let Some(device) = seen.device(cols, ctx, &packet.mn) else {
        return Err((
            "MN".into(),
            packet.mn.clone(),
            "unknown_device",
            "device id is not registered to any outlet of a key polluting unit".into(),
        ));
    };
    let hourly = match packet.cn.as_str() {
        "2061" => true,
        "2031" => false,
        other => {
            return Err((
                "CN".into(),
                other.to_string(),
                "unsupported_command",
                "only hourly (2061) and daily (2031) data are archived".into(),
            ));
        }
    };
    let outlet = device.outlet;
    let expected_st = if outlet.medium == "air" { "31" } else { "32" };
    if packet.st != expected_st {
        return Err((
            "ST".into(),
            packet.st.clone(),
            "system_code_mismatch",
            format!(
                "outlet {} is a {} outlet, expected ST={expected_st}",
                outlet.code, outlet.medium
            ),
        ));
    }
    let time = check_time(&packet, hourly, ctx)?;
    let data_time = packet.data_time.clone().unwrap_or_default();
    let dup_key = (device.mn, hourly, data_time);
    if let Some(first) = seen.packets.get(&dup_key) {
        return Err((
            "QN".into(),
            packet.qn.clone(),
            "duplicate_packet",
            format!("same device, command and time as line {first}"),
        ));
    }
    seen.packets.insert(dup_key, line_no);
    Ok(Accepted {
        packet,
        device,
        hourly,
        time,
    })
}

/// The packet's `DataTime`: a time, aligned (hourly data on the hour, daily at midnight) and
/// on the delivery date.
fn check_time(packet: &Packet, hourly: bool, ctx: &Context<'_>) -> Result<NaiveDateTime, Refusal> {
    let data_time = packet.data_time.as_deref().unwrap_or_default();
    let Some(t) = NaiveDateTime::parse_from_str(data_time, "%Y%m%d%H%M%S").ok() else {
        return Err((
            "DataTime".into(),
            data_time.to_string(),
            "bad_timestamp",
            "not a yyyyMMddHHmmss time".into(),
        ));
    };
    let aligned = if hourly {
        t.minute() == 0 && t.second() == 0
    } else {
        t.time() == chrono::NaiveTime::MIN
    };
    if !aligned {
        return Err((
            "DataTime".into(),
            data_time.to_string(),
            "bad_timestamp",
            "hourly data must start on the hour, daily data at 00:00:00".into(),
        ));
    }
    if t.date() != ctx.date {
        return Err((
            "DataTime".into(),
            data_time.to_string(),
            "outside_delivery_date",
            format!("time is not on the delivery date {}", ctx.date),
        ));
    }
    Ok(t)
}

/// Records the irregularities the parser tolerated in an accepted packet as warnings.
fn warn(key: &str, line_no: u64, packet: &Packet, rejections: &mut Vec<Rejection>) {
    use envgov_hj212::Diagnostic;
    for d in &packet.diagnostics {
        rejections.push(Rejection {
            raw_key: key.to_string(),
            line: line_no,
            field: match d {
                Diagnostic::WhitespaceInField { field }
                | Diagnostic::UnknownFieldSuffix { field } => super::common::clip(field),
                Diagnostic::NonStandardCode { code } => super::common::clip(code),
            },
            value: String::new(),
            reason_code: match d {
                Diagnostic::WhitespaceInField { .. } => "whitespace_in_field",
                Diagnostic::NonStandardCode { .. } => "non_standard_code",
                Diagnostic::UnknownFieldSuffix { .. } => "unknown_field_suffix",
            },
            reason: format!("tolerated: {d}"),
            scope: Scope::Warning,
        });
    }
}

/// Why a measurement's value is excluded from its row, if it is: an unknown pollutant, no
/// value, a sentinel or an impossible value. Gives the reason code, the reason and the value.
fn exclusion(m: &Measurement, known: Option<&Pollutant>) -> Option<(&'static str, String, f64)> {
    let reported = m.zs_avg.or(m.avg).or(m.rtd);
    match (known, reported) {
        (None, _) => Some((
            "unknown_pollutant",
            format!("{} is not a pollutant code envgov knows", m.code),
            reported.unwrap_or(f64::NAN),
        )),
        (_, None) => Some((
            "missing_value",
            format!("{} has no Avg value", m.code),
            f64::NAN,
        )),
        (Some(p), Some(_)) => [m.avg, m.zs_avg, m.min, m.max]
            .into_iter()
            .flatten()
            .find_map(|v| {
                if is_sentinel(v) {
                    Some((
                        "sentinel_value",
                        format!("{v} is a device sentinel for an absent value"),
                        v,
                    ))
                } else if v < p.min || v > p.max {
                    Some((
                        "impossible_value",
                        format!(
                            "{v} {} is outside the possible range {}..{}",
                            p.unit, p.min, p.max
                        ),
                        v,
                    ))
                } else {
                    None
                }
            }),
    }
}

/// Where an accepted packet's rows come from.
#[derive(Clone, Copy)]
struct Row<'k> {
    key: &'k str,
    key_code: u32,
    line_no: u64,
}

/// Appends one row per measurement of an accepted packet; an excluded value is left out of
/// its row and recorded (scope `value`).
fn push_rows<'a>(
    a: &Accepted<'a>,
    row: Row<'_>,
    ctx: &Context<'a>,
    cols: &mut Columns,
    seen: &mut Seen<'a>,
    rejections: &mut Vec<Rejection>,
) {
    let (date, observed_at) = seen.time(cols, a.time);
    let cn = cols.cn.code(&a.packet.cn);
    let hour = a.hourly.then(|| i64::from(a.time.hour()));
    for m in &a.packet.measurements {
        let flag = m.flag.unwrap_or(DataFlag::Normal);
        let (pollutant, known) = seen.pollutant(cols, ctx, &m.code);
        let excluded = exclusion(m, known);
        if let Some((code, reason, v)) = &excluded {
            rejections.push(Rejection {
                raw_key: row.key.to_string(),
                line: row.line_no,
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
        for (column, code) in cols.device.iter_mut().zip(a.device.codes) {
            column.push_code(Some(code));
        }
        cols.cn.push_code(Some(cn));
        cols.date.push_code(Some(date));
        cols.hour.push(hour);
        cols.observed_at.push_code(Some(observed_at));
        cols.pollutant.push_code(Some(pollutant));
        let numbers = [m.avg.or(m.rtd), m.zs_avg, m.min, m.max, m.cou];
        for (column, v) in cols.numbers.iter_mut().zip(numbers) {
            column.push(clean(v));
        }
        let flag_code = seen.flag(cols, flag);
        cols.flag.push_code(Some(flag_code));
        cols.valid.push(Some(valid));
        cols.flagged
            .push(Some(excluded.is_none() && !flag.is_valid_for_mean()));
        match (&excluded, flag.is_valid_for_mean()) {
            (Some((code, _, _)), _) => cols.excluded_reason.push(Some(code)),
            (None, false) => cols
                .excluded_reason
                .push(Some(&format!("flag_{}", flag.code()))),
            (None, true) => cols.excluded_reason.push(None),
        }
        let reported = m.zs_avg.or(m.avg).or(m.rtd);
        cols.value.push(if valid { reported } else { None });
        cols.raw_key.push_code(Some(row.key_code));
        cols.raw_line.push(Some(row.line_no as i64));
    }
}

/// `raw_line` is the line `sed -n Np` prints, for LF, CRLF and mixed line ends, with or
/// without a BOM (packets are ASCII: GB18030 and UTF-8 give the same bytes).
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod line_number_tests {
    use super::*;
    use crate::validate::{Registry, Unit};

    fn registry() -> Registry {
        let unit: Unit = serde_json::from_value(serde_json::json!({
            "uscc": "91110105MA01ABCD5F", "permit_no": "91110105MA01ABCD5F001P", "name_zh": "示例热电",
            "name_en": "Example Heat", "district": "110105", "industry_code": "4430",
            "industry_zh": "热力生产和供应", "industry_en": "Heat supply", "source_type": "boiler",
            "address_zh": "北京市朝阳区", "address_en": "Chaoyang, Beijing", "lon": 116.45, "lat": 39.92,
            "disclosure_url": "https://example.org/x",
            "outlets": [{"code": "DA001", "name_zh": "烟囱", "name_en": "Stack", "medium": "air",
                "mn": "MN1", "standard": "DB11-139-2015", "discharge_method_zh": "有组织",
                "discharge_method_en": "Stack", "destination_zh": "大气", "destination_en": "Air",
                "pollutants": ["a21002"], "cems": true}],
            "facilities": []
        }))
        .unwrap();
        let mut r = Registry::default();
        r.insert(unit);
        r
    }

    /// One hourly packet of MN1 at `hour` on 2026-01-05, without its line end.
    fn packet(hour: u32) -> String {
        let segment = envgov_hj212::SegmentBuilder::new(
            &format!("20260105{hour:02}0500000"),
            "31",
            "2061",
            "123456",
            "MN1",
            &format!("20260105{hour:02}0000"),
        )
        .averaged(
            "a21002",
            30.0,
            20.0,
            40.0,
            Some(1.5),
            envgov_hj212::DataFlag::Normal,
        )
        .build();
        envgov_hj212::frame(&segment).trim_end().to_string()
    }

    #[test]
    fn every_line_end_with_or_without_bom_numbers_packets_as_sed_does() {
        // Counted by hand. 1: hour 01; 2: hour 02 with its CRC's last digit changed;
        // 3: blank; 4: hours 03 and 04 joined by a lone CR (one line, longer than its
        // declared length); 5: hour 05.
        let good = packet(2);
        let (body, crc) = good.split_at(good.len() - 1);
        let bad_crc = format!("{body}{}", if crc == "0" { "1" } else { "0" });
        let joined = format!("{}\r{}", packet(3), packet(4));
        let lines = [packet(1), bad_crc, String::new(), joined, packet(5)];
        for ends in ["\n", "\r\n", "mixed"] {
            for bom in [&b""[..], b"\xEF\xBB\xBF"] {
                let mut bytes = bom.to_vec();
                for (i, l) in lines.iter().enumerate() {
                    bytes.extend_from_slice(l.as_bytes());
                    bytes.extend_from_slice(match ends {
                        "mixed" if i % 2 == 1 => b"\r\n",
                        "mixed" => b"\n",
                        e => e.as_bytes(),
                    });
                }
                let case = format!("{ends:?} bom={}", !bom.is_empty());
                let curated = envgov_curated::Curated::load().unwrap();
                let registry = registry();
                let ctx = Context {
                    curated: &curated,
                    registry: &registry,
                    date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                };
                let r = validate("raw/cems/2026-01-05/cems-110105.hj212", &bytes, ctx);
                let got: Vec<_> = r
                    .rejections
                    .iter()
                    .map(|x| (x.line, x.reason_code))
                    .collect();
                assert_eq!(got, [(2, "bad_crc"), (4, "bad_length")], "{case}");
                let table = r.accepted.into_table();
                assert_eq!(table.i64_column("raw_line"), &[Some(1), Some(5)], "{case}");
                // `sed -n Np` of the same bytes, without the CR of a CRLF, is the packet.
                for (n, hour) in [(1, 1), (5, 5)] {
                    let line = bytes.split(|&b| b == b'\n').nth(n - 1).unwrap();
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
                    assert_eq!(line, packet(hour).as_bytes(), "{case}: line {n}");
                }
            }
        }
    }
}
