//! HJ 212-2017 data-transmission packets: framing, CRC, parsing and encoding.
//!
//! Stage: ingest (pure). This crate turns one packet's bytes into a [`Packet`] or a
//! [`PacketError`], and records every irregularity it tolerated as a [`Diagnostic`], so a
//! caller can report per packet what it met. It never guesses silently and does no I/O.
//!
//! A packet is `##` + a 4-digit decimal length of the data segment + the data segment +
//! a 4-hex-digit CRC (see [`crc16`]) of the data segment + `\r\n`. HJ 212-2017 caps the data
//! segment at 1024 bytes ([`MAX_SEGMENT_LEN`]); a longer one is refused, whatever it declares.
//!
//! No input makes this crate panic: every check returns a [`PacketError`] (the lints below
//! keep indexing, `unwrap` and `expect` out of it; the tests are exempt).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::borrow::Cow;
use std::fmt;

/// The longest data segment HJ 212-2017 allows (bytes). A packet's length field has four
/// digits, so it could declare up to 9999; the standard splits longer data into several
/// packets instead.
pub const MAX_SEGMENT_LEN: usize = 1024;

/// The packet CRC of HJ 212-2017: register starts at 0xFFFF; for each byte the register is
/// shifted right by 8 and XOR-ed with the byte, then shifted 8 times with the reflected
/// polynomial 0xA001. Often called CRC-16/MODBUS, it is not quite that (MODBUS XORs the byte
/// into the unshifted register), so catalogue check values do not apply; the standard's own
/// example packet is the test vector.
pub fn crc16(data: &[u8]) -> u16 {
    // After `(crc >> 8) ^ byte` the register holds at most 0xFF, so each byte's eight shifts
    // are a look-up: crc = T[(crc >> 8) ^ byte]. Only the high byte h of the register is
    // carried to the next byte, h' = H[h ^ byte] with H = T >> 8, and H is linear over
    // GF(2) (shifts and XORs), so eight bytes advance h at once:
    // h' = H⁸[h ^ b0] ^ H⁷[b1] ^ … ^ H¹[b7]. The last byte gives the whole register.
    let Some((&last, body)) = data.split_last() else {
        return 0xFFFF;
    };
    let mut h: u8 = 0xFF;
    let (blocks, rest) = body.as_chunks::<8>();
    for &[b0, b1, b2, b3, b4, b5, b6, b7] in blocks {
        h = power_of_h(8, h ^ b0)
            ^ power_of_h(7, b1)
            ^ power_of_h(6, b2)
            ^ power_of_h(5, b3)
            ^ power_of_h(4, b4)
            ^ power_of_h(3, b5)
            ^ power_of_h(2, b6)
            ^ power_of_h(1, b7);
    }
    for &b in rest {
        h = power_of_h(1, h ^ b);
    }
    CRC_TABLE.get(usize::from(h ^ last)).copied().unwrap_or(0)
}

/// Hᵏ\[x\] (1 ≤ k ≤ 8): the high byte of the register after k bytes, from `x` at the first.
fn power_of_h(k: usize, x: u8) -> u8 {
    H_POWERS
        .get(k.saturating_sub(1))
        .and_then(|t| t.get(usize::from(x)))
        .copied()
        .unwrap_or(0)
}

/// [`crc16`]'s eight shifts with the reflected polynomial 0xA001, for each register value
/// 0..=0xFF.
const CRC_TABLE: [u16; 256] = crc_table();

/// `H_POWERS[k - 1][x]` = Hᵏ\[x\] for H\[x\] = `CRC_TABLE[x] >> 8`.
const H_POWERS: [[u8; 256]; 8] = h_powers();

// Evaluated at compile time: an index out of range or an overflow would fail the build,
// never a run.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn crc_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

// As above: compile time only.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn h_powers() -> [[u8; 256]; 8] {
    let mut powers = [[0u8; 256]; 8];
    let mut x = 0;
    while x < 256 {
        powers[0][x] = (CRC_TABLE[x] >> 8) as u8;
        x += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut x = 0;
        while x < 256 {
            powers[k][x] = powers[0][powers[k - 1][x] as usize];
            x += 1;
        }
        k += 1;
    }
    powers
}

/// Frames a data segment as a complete packet, including the trailing `\r\n`.
pub fn frame(segment: &str) -> String {
    format!(
        "##{:04}{}{:04X}\r\n",
        segment.len(),
        segment,
        crc16(segment.as_bytes())
    )
}

/// A device data flag (HJ 212-2017 table of data flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataFlag {
    /// N: normal.
    Normal,
    /// F: source stopped.
    Stopped,
    /// M: maintenance.
    Maintenance,
    /// S: manual input.
    Manual,
    /// D: device fault.
    Fault,
    /// C: calibration.
    Calibration,
    /// T: over the upper limit of the range.
    OverRange,
    /// B: communication abnormal.
    CommunicationAbnormal,
}

impl DataFlag {
    pub fn from_code(c: &str) -> Option<Self> {
        Some(match c {
            "N" => Self::Normal,
            "F" => Self::Stopped,
            "M" => Self::Maintenance,
            "S" => Self::Manual,
            "D" => Self::Fault,
            "C" => Self::Calibration,
            "T" => Self::OverRange,
            "B" => Self::CommunicationAbnormal,
            _ => return None,
        })
    }

    pub fn code(self) -> char {
        match self {
            Self::Normal => 'N',
            Self::Stopped => 'F',
            Self::Maintenance => 'M',
            Self::Manual => 'S',
            Self::Fault => 'D',
            Self::Calibration => 'C',
            Self::OverRange => 'T',
            Self::CommunicationAbnormal => 'B',
        }
    }

    /// Whether a value carrying this flag may enter a mean. Stopped, maintenance, fault,
    /// calibration, over-range and communication-abnormal values are excluded and counted.
    pub fn is_valid_for_mean(self) -> bool {
        matches!(self, Self::Normal | Self::Manual)
    }
}

impl fmt::Display for DataFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// One pollutant's fields in a packet's payload, e.g. `w01018-Avg=12.3,w01018-Flag=N`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurement {
    /// The pollutant code, e.g. `a21026` (SO2) or `w01018` (COD).
    pub code: String,
    pub rtd: Option<f64>,
    pub avg: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub cou: Option<f64>,
    /// Value converted to the reference state (`-ZsAvg` / `-ZsRtd`).
    pub zs_avg: Option<f64>,
    pub flag: Option<DataFlag>,
}

/// A parsed packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// `QN=` request time, `yyyyMMddHHmmssSSS`.
    pub qn: String,
    /// `ST=` system code (31 air pollution source, 32 water pollution source, ...).
    pub st: String,
    /// `CN=` command code (2061 hourly, 2031 daily, ...).
    pub cn: String,
    pub pw: String,
    /// `MN=` device id.
    pub mn: String,
    pub flag: Option<String>,
    /// `DataTime=` inside `CP`, `yyyyMMddHHmmss`, when present.
    pub data_time: Option<String>,
    /// Measurements in the order they appear.
    pub measurements: Vec<Measurement>,
    /// Payload entries that are not measurements (e.g. `RtdInterval=30`), in order.
    pub parameters: Vec<(String, String)>,
    /// Irregularities tolerated while parsing.
    pub diagnostics: Vec<Diagnostic>,
}

/// Something irregular that the parser tolerated; reported alongside the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnostic {
    /// Whitespace inside a field name or value was removed (`a21004- Rtd=20.9`).
    WhitespaceInField { field: String },
    /// A pollutant code that is not of the standard `[a|w]NNNNN` shape (`O3`, `VOC`).
    NonStandardCode { code: String },
    /// A field suffix that this parser does not know; kept out of the measurement.
    UnknownFieldSuffix { field: String },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WhitespaceInField { field } => write!(f, "whitespace removed in field {field:?}"),
            Self::NonStandardCode { code } => write!(f, "non-standard pollutant code {code:?}"),
            Self::UnknownFieldSuffix { field } => write!(f, "unknown field suffix in {field:?}"),
        }
    }
}

/// Why a packet could not be read. Each variant names the field and value it met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet does not start with \"##\"")]
    MissingHeader,
    #[error("packet length field {value:?} is not 4 decimal digits")]
    BadLengthField { value: String },
    #[error(
        "packet truncated: declares a {declared}-byte data segment, only {available} bytes follow"
    )]
    Truncated { declared: usize, available: usize },
    #[error("data segment of {declared} bytes is longer than HJ 212-2017 allows ({max} bytes)")]
    SegmentTooLong { declared: usize, max: usize },
    #[error("packet length mismatch: declares {declared} bytes, data segment has {actual}")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("CRC mismatch: packet says {declared}, data segment gives {computed:04X}")]
    CrcMismatch { declared: String, computed: u16 },
    #[error("data segment is not valid UTF-8/ASCII")]
    NotText,
    #[error("required field {field} is missing")]
    MissingField { field: &'static str },
    #[error("CP payload is not enclosed in &&...&&")]
    BadPayload,
    #[error("field {field} has a value that is not a number: {value:?}")]
    BadNumber { field: String, value: String },
    #[error("field {field} has an unknown data flag {value:?}")]
    BadFlag { field: String, value: String },
    #[error("field {field} is not of the form name=value: {value:?}")]
    BadField { field: String, value: String },
}

impl PacketError {
    /// The field the error is about, for rejection records.
    pub fn field(&self) -> &str {
        match self {
            Self::MissingHeader | Self::BadLengthField { .. } => "header",
            Self::Truncated { .. } | Self::LengthMismatch { .. } | Self::SegmentTooLong { .. } => {
                "length"
            }
            Self::CrcMismatch { .. } => "crc",
            Self::NotText => "segment",
            Self::MissingField { field } => field,
            Self::BadPayload => "CP",
            Self::BadNumber { field, .. }
            | Self::BadFlag { field, .. }
            | Self::BadField { field, .. } => field,
        }
    }

    /// The offending value, for rejection records.
    pub fn value(&self) -> String {
        match self {
            Self::BadLengthField { value }
            | Self::BadNumber { value, .. }
            | Self::BadFlag { value, .. }
            | Self::BadField { value, .. } => value.clone(),
            Self::CrcMismatch { declared, .. } => declared.clone(),
            Self::Truncated { declared, .. }
            | Self::LengthMismatch { declared, .. }
            | Self::SegmentTooLong { declared, .. } => declared.to_string(),
            Self::MissingHeader | Self::NotText | Self::MissingField { .. } | Self::BadPayload => {
                String::new()
            }
        }
    }
}

/// Checks framing, length and CRC, and returns the data segment.
///
/// `bytes` is one packet, with or without its trailing `\r\n`.
pub fn unframe(bytes: &[u8]) -> Result<&str, PacketError> {
    let bytes = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    let rest = bytes
        .strip_prefix(b"##")
        .ok_or(PacketError::MissingHeader)?;
    let Some((len_field, rest)) = rest.split_first_chunk::<4>() else {
        return Err(PacketError::BadLengthField {
            value: String::from_utf8_lossy(rest).into_owned(),
        });
    };
    let bad_length = || PacketError::BadLengthField {
        value: String::from_utf8_lossy(len_field).into_owned(),
    };
    if !len_field.iter().all(u8::is_ascii_digit) {
        return Err(bad_length());
    }
    let declared: usize = std::str::from_utf8(len_field)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(bad_length)?;
    if declared > MAX_SEGMENT_LEN {
        return Err(PacketError::SegmentTooLong {
            declared,
            max: MAX_SEGMENT_LEN,
        });
    }
    // The segment, then four CRC characters. Fewer bytes: either the segment or the CRC is
    // cut short. More: the segment is longer than declared (a length mismatch).
    let available = rest.len().saturating_sub(4);
    if rest.len() < declared.saturating_add(4) {
        return Err(PacketError::Truncated {
            declared,
            available,
        });
    }
    if available != declared {
        return Err(PacketError::LengthMismatch {
            declared,
            actual: available,
        });
    }
    let (segment, crc_field) = rest
        .split_at_checked(declared)
        .ok_or(PacketError::Truncated {
            declared,
            available,
        })?;
    let computed = crc16(segment);
    let declared_crc = String::from_utf8_lossy(crc_field).into_owned();
    match u16::from_str_radix(&declared_crc, 16) {
        Ok(v) if v == computed && declared_crc.chars().all(|c| c.is_ascii_hexdigit()) => {}
        _ => {
            return Err(PacketError::CrcMismatch {
                declared: declared_crc,
                computed,
            });
        }
    }
    std::str::from_utf8(segment).map_err(|_| PacketError::NotText)
}

/// Parses one complete packet: framing, length, CRC, header fields and `CP` payload.
pub fn parse(bytes: &[u8]) -> Result<Packet, PacketError> {
    let segment = unframe(bytes)?;
    parse_segment(segment)
}

/// `raw` without whitespace (borrowed when it has none), recording the removal.
fn clean<'a>(field: &str, raw: &'a str, diagnostics: &mut Vec<Diagnostic>) -> Cow<'a, str> {
    // ASCII without a whitespace byte (U+0009..U+000D, space) has no whitespace char either.
    let plain = |b: &u8| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    if !raw.as_bytes().iter().all(plain) && raw.chars().any(char::is_whitespace) {
        diagnostics.push(Diagnostic::WhitespaceInField {
            field: field.trim().to_string(),
        });
        Cow::Owned(raw.chars().filter(|c| !c.is_whitespace()).collect())
    } else {
        Cow::Borrowed(raw)
    }
}

/// Parses a data segment (`QN=...;ST=...;...;CP=&&...&&`) whose framing was checked.
pub fn parse_segment(segment: &str) -> Result<Packet, PacketError> {
    let mut diagnostics = Vec::new();
    let cp_at = segment
        .find("CP=")
        .ok_or(PacketError::MissingField { field: "CP" })?;
    let (head, cp) = segment.split_at(cp_at);
    let payload = cp
        .strip_prefix("CP=")
        .and_then(|p| p.strip_prefix("&&"))
        .and_then(|p| p.strip_suffix("&&"))
        .ok_or(PacketError::BadPayload)?;

    let mut qn = None;
    let mut st = None;
    let mut cn = None;
    let mut pw = None;
    let mut mn = None;
    let mut flag = None;
    for part in head.split(';').filter(|p| !p.trim().is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| PacketError::BadField {
            field: "header".into(),
            value: part.to_string(),
        })?;
        let name = clean(name, name, &mut diagnostics);
        if name.is_empty() {
            return Err(PacketError::BadField {
                field: "header".into(),
                value: part.to_string(),
            });
        }
        let value = clean(&name, value, &mut diagnostics);
        let slot = match &*name {
            "QN" => &mut qn,
            "ST" => &mut st,
            "CN" => &mut cn,
            "PW" => &mut pw,
            "MN" => &mut mn,
            "Flag" => &mut flag,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }

    let mut packet = Packet {
        qn: qn.unwrap_or_default(),
        st: st.ok_or(PacketError::MissingField { field: "ST" })?,
        cn: cn.ok_or(PacketError::MissingField { field: "CN" })?,
        pw: pw.unwrap_or_default(),
        mn: mn.ok_or(PacketError::MissingField { field: "MN" })?,
        flag,
        data_time: None,
        measurements: Vec::new(),
        parameters: Vec::new(),
        diagnostics: Vec::new(),
    };

    for group in payload.split(';').filter(|g| !g.trim().is_empty()) {
        for item in group.split(',').filter(|i| !i.trim().is_empty()) {
            let (name, value) = item.split_once('=').ok_or_else(|| PacketError::BadField {
                field: item.trim().to_string(),
                value: item.to_string(),
            })?;
            let name = clean(name, name, &mut diagnostics);
            // A field needs a name, and a measurement field a pollutant code (`-Avg=1` has
            // none): refused, never guessed.
            if name.is_empty() || name.starts_with('-') {
                return Err(PacketError::BadField {
                    field: "CP".into(),
                    value: item.to_string(),
                });
            }
            let value = clean(&name, value, &mut diagnostics);
            if name == "DataTime" {
                packet.data_time = Some(value.into_owned());
                continue;
            }
            let Some((code, suffix)) = name.split_once('-') else {
                packet
                    .parameters
                    .push((name.into_owned(), value.into_owned()));
                continue;
            };
            // A pollutant's fields are usually together: its measurement is the last one.
            let is_last = packet.measurements.last().is_some_and(|m| m.code == code);
            if !is_last && !packet.measurements.iter().any(|m| m.code == code) {
                if !is_standard_code(code) {
                    diagnostics.push(Diagnostic::NonStandardCode { code: code.into() });
                }
                packet.measurements.push(Measurement {
                    code: code.to_string(),
                    ..Measurement::default()
                });
            }
            let found = if is_last {
                packet.measurements.last_mut()
            } else {
                packet.measurements.iter_mut().find(|m| m.code == code)
            };
            let Some(m) = found else {
                // Pushed just above; kept as an error rather than an index that could panic.
                return Err(PacketError::BadField {
                    field: name.into_owned(),
                    value: value.into_owned(),
                });
            };
            let number = || {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| PacketError::BadNumber {
                        field: name.to_string(),
                        value: value.to_string(),
                    })
            };
            match suffix {
                "Rtd" => m.rtd = Some(number()?),
                "Avg" => m.avg = Some(number()?),
                "Min" => m.min = Some(number()?),
                "Max" => m.max = Some(number()?),
                "Cou" => m.cou = Some(number()?),
                "ZsAvg" | "ZsRtd" => m.zs_avg = Some(number()?),
                "Flag" => {
                    m.flag =
                        Some(
                            DataFlag::from_code(&value).ok_or_else(|| PacketError::BadFlag {
                                field: name.to_string(),
                                value: value.to_string(),
                            })?,
                        )
                }
                "SampleTime" | "EFlag" => {}
                _ => diagnostics.push(Diagnostic::UnknownFieldSuffix {
                    field: name.to_string(),
                }),
            }
        }
    }
    packet.diagnostics = diagnostics;
    Ok(packet)
}

/// A standard pollutant code: `a` or `w` followed by five digits.
pub fn is_standard_code(code: &str) -> bool {
    match code.as_bytes() {
        [b'a' | b'w', digits @ ..] => digits.len() == 5 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Builds the data segment of an averaged-data packet (CN 2051/2061/2031).
#[derive(Debug, Clone)]
pub struct SegmentBuilder {
    head: String,
    groups: Vec<String>,
}

impl SegmentBuilder {
    pub fn new(qn: &str, st: &str, cn: &str, pw: &str, mn: &str, data_time: &str) -> Self {
        Self {
            head: format!(
                "QN={qn};ST={st};CN={cn};PW={pw};MN={mn};Flag=4;CP=&&DataTime={data_time}"
            ),
            groups: Vec::new(),
        }
    }

    /// Adds an `Avg/Min/Max[/Cou]/Flag` group. Values are written with up to three decimals.
    pub fn averaged(
        mut self,
        code: &str,
        avg: f64,
        min: f64,
        max: f64,
        cou: Option<f64>,
        flag: DataFlag,
    ) -> Self {
        let mut g = format!(
            "{code}-Avg={},{code}-Min={},{code}-Max={}",
            fmt_value(avg),
            fmt_value(min),
            fmt_value(max)
        );
        if let Some(c) = cou {
            g.push_str(&format!(",{code}-Cou={}", fmt_value(c)));
        }
        g.push_str(&format!(",{code}-Flag={flag}"));
        self.groups.push(g);
        self
    }

    /// Adds a raw group as written (for tests and defect injection).
    pub fn raw_group(mut self, group: &str) -> Self {
        self.groups.push(group.to_string());
        self
    }

    pub fn build(self) -> String {
        let mut s = self.head;
        for g in self.groups {
            s.push(';');
            s.push_str(&g);
        }
        s.push_str("&&");
        s
    }
}

/// Formats a value with at most three decimals and no trailing zeros.
pub fn fmt_value(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    const STANDARD_EXAMPLE: &str = "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

    #[test]
    fn standard_example_has_crc_1c80() {
        let seg = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
        assert_eq!(seg.len(), 101);
        assert_eq!(crc16(seg.as_bytes()), 0x1C80);
        assert_eq!(frame(seg), STANDARD_EXAMPLE);
    }

    /// The register shifted bit by bit, as the standard describes it.
    fn crc16_bitwise(data: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &b in data {
            crc = (crc >> 8) ^ u16::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xA001
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn table_crc_equals_the_bitwise_definition() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in (0..=40).chain([255, 512, 1024]) {
            let data: Vec<u8> = all
                .iter()
                .cycle()
                .skip(len % 13)
                .take(len)
                .copied()
                .collect();
            assert_eq!(crc16(&data), crc16_bitwise(&data), "{len} bytes");
        }
        assert_eq!(crc16_bitwise(b""), 0xFFFF);
    }

    #[test]
    fn parses_standard_example() {
        let p = parse(STANDARD_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(p.cn, "1062");
        assert_eq!(p.st, "32");
        assert_eq!(p.mn, "010000A8900016F000169DC0");
        assert_eq!(
            p.parameters,
            vec![("RtdInterval".to_string(), "30".to_string())]
        );
        assert!(p.diagnostics.is_empty());
    }

    #[test]
    fn rejects_bad_crc() {
        let bad = STANDARD_EXAMPLE.replace("1C80", "1C81");
        let err = parse(bad.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                PacketError::CrcMismatch {
                    computed: 0x1C80,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn rejects_truncated_packet() {
        let cut = &STANDARD_EXAMPLE[..60];
        let err = parse(cut.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            PacketError::Truncated {
                declared: 101,
                available: 50
            }
        );
    }

    #[test]
    fn rejects_wrong_length() {
        let wrong = STANDARD_EXAMPLE.replace("##0101", "##0099");
        let err = parse(wrong.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            PacketError::LengthMismatch {
                declared: 99,
                actual: 101
            }
        );
    }

    #[test]
    fn parses_hourly_water_packet_with_flags() {
        let seg = SegmentBuilder::new(
            "20250101010000000",
            "32",
            "2061",
            "123456",
            "MN01",
            "20250101000000",
        )
        .averaged("w01018", 12.5, 10.0, 15.25, Some(42.0), DataFlag::Normal)
        .averaged("w21003", 0.8, 0.5, 1.0, None, DataFlag::Calibration)
        .build();
        let p = parse(frame(&seg).as_bytes()).unwrap();
        assert_eq!(p.data_time.as_deref(), Some("20250101000000"));
        assert_eq!(p.measurements.len(), 2);
        assert_eq!(p.measurements[0].avg, Some(12.5));
        assert_eq!(p.measurements[0].max, Some(15.25));
        assert_eq!(p.measurements[0].cou, Some(42.0));
        assert_eq!(p.measurements[1].flag, Some(DataFlag::Calibration));
    }

    #[test]
    fn tolerates_and_reports_spaces_in_fields() {
        let seg = "QN=1;ST=22;CN=2011;PW=1;MN= 2019;CP=&&DataTime=20190101000000;a21004- Rtd=20.9,a21004-Flag=N&&";
        let p = parse(frame(seg).as_bytes()).unwrap();
        assert_eq!(p.mn, "2019");
        assert_eq!(p.measurements[0].rtd, Some(20.9));
        assert!(p.diagnostics.contains(&Diagnostic::WhitespaceInField {
            field: "a21004- Rtd".into()
        }));
    }

    #[test]
    fn removes_every_unicode_whitespace_not_only_ascii_spaces() {
        // U+000B (vertical tab) and U+3000 (ideographic space) are whitespace too.
        let seg = "QN=1;ST=22;CN=2011;PW=1;MN=20\u{b}19;CP=&&DataTime=20190101000000;a21004-Rtd=2\u{3000}0.9,a21004-Flag=N&&";
        let p = parse(frame(seg).as_bytes()).unwrap();
        assert_eq!(p.mn, "2019");
        assert_eq!(p.measurements[0].rtd, Some(20.9));
        assert_eq!(
            p.diagnostics,
            vec![
                Diagnostic::WhitespaceInField { field: "MN".into() },
                Diagnostic::WhitespaceInField {
                    field: "a21004-Rtd".into()
                }
            ]
        );
    }

    #[test]
    fn reports_non_standard_codes() {
        let seg = "QN=1;ST=22;CN=2011;PW=1;MN=X;CP=&&DataTime=20190101000000;O3-Rtd=20&&";
        let p = parse(frame(seg).as_bytes()).unwrap();
        assert_eq!(
            p.diagnostics,
            vec![Diagnostic::NonStandardCode { code: "O3".into() }]
        );
    }

    #[test]
    fn rejects_unknown_flag_and_bad_number() {
        let seg = "QN=1;ST=32;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000;w01018-Avg=1,w01018-Flag=Q&&";
        let err = parse(frame(seg).as_bytes()).unwrap_err();
        assert_eq!(
            err,
            PacketError::BadFlag {
                field: "w01018-Flag".into(),
                value: "Q".into()
            }
        );
        let seg = "QN=1;ST=32;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000;w01018-Avg=abc&&";
        let err = parse(frame(seg).as_bytes()).unwrap_err();
        assert_eq!(err.field(), "w01018-Avg");
        assert_eq!(err.value(), "abc");
    }

    #[test]
    fn keeps_sentinel_values_as_numbers_for_the_validator() {
        let seg = "QN=1;ST=31;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000;a21026-Avg=-00999.000,a21026-Flag=N&&";
        let p = parse(frame(seg).as_bytes()).unwrap();
        assert_eq!(p.measurements[0].avg, Some(-999.0));
    }

    #[test]
    fn refuses_a_data_segment_longer_than_the_standard_allows() {
        // HJ 212-2017: the data segment is 0 to 1024 bytes. 1024 is accepted as far as the
        // length goes; 1025 is refused by its length field, before anything else is read.
        let head = "QN=1;ST=32;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000;";
        let pad = |n: usize| format!("{head}{}&&", "x-Rtd=1,".repeat(n));
        let mut seg = pad(120);
        while seg.len() < 1024 {
            seg.insert(head.len(), ';');
        }
        assert_eq!(seg.len(), 1024);
        assert!(parse(frame(&seg).as_bytes()).is_ok());
        seg.insert(head.len(), ';');
        assert_eq!(
            parse(frame(&seg).as_bytes()),
            Err(PacketError::SegmentTooLong {
                declared: 1025,
                max: 1024
            })
        );
        let err = parse(b"##9999QN=1").unwrap_err();
        assert_eq!((err.field(), err.value()), ("length", "9999".to_string()));
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        for bytes in [
            &b""[..],
            b"##",
            b"##01",
            b"##\xE4\xB8\xAD1",
            b"##0000",
            b"##0000\xFF\xFF\xFF\xFF",
            b"##00041234",
            b"##0003CP=FFFF",
            b"\r\n",
        ] {
            assert!(parse(bytes).is_err(), "{bytes:?}");
        }
        // A zero-length segment with the CRC of nothing (FFFF) frames correctly but has no CP.
        assert_eq!(
            parse(b"##0000FFFF\r\n"),
            Err(PacketError::MissingField { field: "CP" })
        );
    }

    #[test]
    fn refuses_fields_without_a_name_or_a_pollutant_code() {
        for (seg, value) in [
            (
                "QN=1;ST=32;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000;-Avg=1&&",
                "-Avg=1",
            ),
            (
                "QN=1;ST=32;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000; =1&&",
                " =1",
            ),
        ] {
            assert_eq!(
                parse(frame(seg).as_bytes()),
                Err(PacketError::BadField {
                    field: "CP".into(),
                    value: value.into()
                }),
                "{seg}"
            );
        }
        let seg = "QN=1;ST=32; =2;CN=2061;PW=1;MN=X;CP=&&DataTime=20190101000000&&";
        assert_eq!(
            parse(frame(seg).as_bytes()),
            Err(PacketError::BadField {
                field: "header".into(),
                value: " =2".into()
            })
        );
    }

    #[test]
    fn formats_values_compactly() {
        assert_eq!(fmt_value(12.0), "12");
        assert_eq!(fmt_value(0.1234), "0.123");
        assert_eq!(fmt_value(-0.0001), "0");
    }
}
