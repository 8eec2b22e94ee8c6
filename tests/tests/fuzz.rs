//! Fuzzing inside the ordinary test command: no parser or validator panics on any input, and
//! every file result accounts for every record.
//!
//! A structure-aware mutation harness on a seeded RNG (SplitMix64; no extra dependency). Seeds
//! are the deterministic sample delivery of `envgov_sample_data` (with its injected defects):
//! each execution takes a window of a seed file's lines and applies one to four mutations:
//! byte flips, truncation, inserted multi-byte / GB18030 / invalid UTF-8 bytes, CR/LF changes,
//! huge fields, thousands of commas, NUL, BOMs, duplicated / dropped / spliced lines, numbers
//! at the extremes (`1e308`, `NaN`, `-0`, `.`, `9999999999999999999999`). HJ 212 packets are
//! mutated inside their data segment and framed again (valid length and CRC), so mutations
//! reach the payload parser; registry lines are mutated as JSON values (a leaf replaced, a key
//! removed, a character swapped for a multi-byte one) and written back.
//!
//! Targets: `validate_file` for each of the nine sources, `envgov_hj212::parse`, the
//! identifier checks, `parse_raw_key` and text decoding. Every execution checks the
//! invariants below; a panic or a broken invariant is saved under
//! `target/fuzz-crashes/{target}/` and fails the test. Crash inputs that were fixed are kept
//! in `tests/fuzz-corpus/{target}/` and replayed by [`replays_the_crash_corpus`].
//!
//! Budget (per target): `ENVGOV_FUZZ_ITERATIONS` executions (default 20 000) or
//! `ENVGOV_FUZZ_SECONDS` of wall time (default 6), whichever comes first; `ENVGOV_FUZZ_SEED`
//! (default 2021) changes the inputs. Each target prints its execution count and writes it to
//! `target/test-output/fuzz/{target}.txt`.

use envgov_curated::Curated;
use envgov_dataset::{Source, ids, layout};
use envgov_pipeline::table::Values;
use envgov_pipeline::validate::{self, Context, FileResult, Registry, Scope};
use envgov_sample_data::{SampleConfig, generate};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Random numbers: SplitMix64, enough for mutation choices and fully deterministic.

struct Rng(u64);

impl Rng {
    fn new(seed: u64, target: &str) -> Self {
        let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
        for b in target.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// What mutations insert.

/// Byte strings that break parsers: multi-byte UTF-8, GB18030, invalid UTF-8, BOMs, controls,
/// and every delimiter of the formats.
const BYTES: &[&[u8]] = &[
    "中".as_bytes(),
    "𝄞".as_bytes(),
    "·".as_bytes(),
    "Ⅵ".as_bytes(),
    b"\xEF\xBB\xBF",     // UTF-8 BOM
    b"\xFF\xFE",         // UTF-16 BOM
    b"\xB0\xB1\xB5\xAA", // 氨氮 in GB18030 (GBK range)
    b"\x81\x30\x81\x30", // a GB18030 four-byte sequence
    b"\x81\x30",         // half of one
    b"\xE4\xB8",         // a cut UTF-8 sequence
    b"\xC0\x80",         // overlong NUL
    b"\x80",             // lone continuation byte
    b"\xFF",             // never valid
    b"\xED\xA0\x80",     // a UTF-8-encoded surrogate
    b"\0",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b",",
    b"\"",
    b"\"\"",
    b";",
    b"=",
    b"&&",
    b"##",
    b"-",
    b".",
    b"{",
    b"}",
    b"[",
    b"\\",
    b"\\u0000",
    b"\\ud800",
];

/// Values that break number, date and identifier parsing.
const VALUES: &[&str] = &[
    "",
    " ",
    "0",
    "-0",
    ".",
    "-.",
    "+",
    "1e308",
    "-1e308",
    "1e309",
    "1e-400",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "9999999999999999999999",
    "-9999999999999999999999",
    "18446744073709551616",
    "0x1F",
    "1_000",
    "١٢٣",
    "１２３",
    "-999",
    "-00999.000",
    "ND",
    "未检出",
    "是",
    "否",
    "中",
    "𝄞𝄞𝄞",
    "2026-02-30",
    "2026-01-31 24:00",
    "9999-12-31",
    "0000-01-01",
    "20260132000000",
    "99999999999999",
    "DA001",
    "DW999",
    "TN001",
    "BDA",
    "110105",
    "朝阳区",
    "京A·1**23",
    "91110105MA01ABCD5F",
    "9111010中MA01ABCD5F",
    "91110105MA01ABCD5中001P",
    "\"unterminated",
    "a,b",
    "\0",
    "null",
    "true",
    "[]",
    "{}",
];

// ---------------------------------------------------------------------------------------------
// Mutations.

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A random window of a seed: the header (when `keep_header`) and up to `max` further lines.
fn window(rng: &mut Rng, seed: &[u8], keep_header: bool, max: usize) -> Vec<u8> {
    let all = lines(seed);
    let skip = usize::from(keep_header);
    let body = all.len().saturating_sub(skip);
    let start = skip + rng.below(body);
    let len = 1 + rng.below(max);
    let mut out = Vec::new();
    if keep_header && let Some(h) = all.first() {
        out.extend_from_slice(h);
    }
    for l in all.iter().skip(start).take(len) {
        out.extend_from_slice(l);
    }
    out
}

fn insert(buf: &mut Vec<u8>, at: usize, what: &[u8]) {
    let at = at.min(buf.len());
    buf.splice(at..at, what.iter().copied());
}

/// Positions where a token (field) starts or ends in any of the formats.
fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b',' | b';' | b'=' | b'"' | b'&' | b'\n' | b'\r' | b':' | b'[' | b'{'
    )
}

/// Replaces one delimited token with another value.
fn replace_token(rng: &mut Rng, buf: &mut Vec<u8>, value: &[u8]) {
    let starts: Vec<usize> = (0..buf.len())
        .filter(|&i| i == 0 || is_delimiter(buf[i - 1]))
        .collect();
    if starts.is_empty() {
        buf.extend_from_slice(value);
        return;
    }
    let start = *rng.pick(&starts);
    let end = (start..buf.len())
        .find(|&i| is_delimiter(buf[i]))
        .unwrap_or(buf.len());
    buf.splice(start..end, value.iter().copied());
}

/// One byte-level or line-level mutation.
fn mutate_bytes(rng: &mut Rng, buf: &mut Vec<u8>, splice_from: &[u8]) {
    let at = rng.below(buf.len() + 1);
    match rng.below(17) {
        0 if !buf.is_empty() => {
            let i = rng.below(buf.len());
            buf[i] ^= 1 << rng.below(8);
        }
        1 => insert(buf, at, &[rng.next() as u8]),
        2 if !buf.is_empty() => {
            let len = 1 + rng.below(16);
            let end = (at + len).min(buf.len());
            buf.drain(at.min(end)..end);
        }
        3 => buf.truncate(at),
        4 | 5 => {
            let what = *rng.pick(BYTES);
            insert(buf, at, what);
        }
        6 | 7 => {
            let value = rng.pick(VALUES).as_bytes().to_vec();
            replace_token(rng, buf, &value);
        }
        8 => {
            let mut ls = lines(buf);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let l = ls[i].clone();
                ls.insert(rng.below(ls.len() + 1), l);
            }
            *buf = ls.concat();
        }
        9 => {
            let mut ls = lines(buf);
            if ls.len() > 1 {
                ls.remove(rng.below(ls.len()));
            }
            *buf = ls.concat();
        }
        10 => {
            let mut ls = lines(buf);
            if ls.len() > 1 {
                let (a, b) = (rng.below(ls.len()), rng.below(ls.len()));
                ls.swap(a, b);
            }
            *buf = ls.concat();
        }
        11 => {
            // A line of another source, spliced in.
            let other = lines(splice_from);
            if !other.is_empty() {
                let l = rng.pick(&other).clone();
                let ls = lines(buf);
                let i = rng.below(ls.len() + 1);
                let mut out = ls[..i].concat();
                out.extend_from_slice(&l);
                out.extend_from_slice(&ls[i..].concat());
                *buf = out;
            }
        }
        12 => {
            *buf = match rng.below(4) {
                0 => replace_all(buf, b"\r\n", b"\n"),
                1 => replace_all(buf, b"\n", b"\r\n"),
                2 => replace_all(buf, b"\n", b"\r"),
                _ => replace_all(buf, b"\n", b""),
            }
        }
        13 => insert(buf, 0, b"\xEF\xBB\xBF"),
        14 => {
            // A huge field: around the 64 KiB line limit, or far beyond it.
            let n = match rng.below(3) {
                0 => 65_536 - 64 + rng.below(128),
                1 => 1 + rng.below(2_000),
                _ => 70_000 + rng.below(70_000),
            };
            let c = *rng.pick(b"9x, \"");
            let field = vec![c; n];
            if rng.one_in(2) {
                replace_token(rng, buf, &field);
            } else {
                insert(buf, at, &field);
            }
        }
        15 => {
            let n = *rng.pick(&[255, 256, 257, 1_000, 10_000]);
            insert(buf, at, &vec![b','; n]);
        }
        _ => {
            // Multi-byte characters replacing ASCII ones, keeping the character count.
            for _ in 0..=rng.below(3) {
                let ascii: Vec<usize> = (0..buf.len())
                    .filter(|&i| buf[i].is_ascii_alphanumeric())
                    .collect();
                if ascii.is_empty() {
                    break;
                }
                let i = *rng.pick(&ascii);
                let ch = *rng.pick(&["中", "Ⅵ", "𝄞", "é"]);
                buf.splice(i..=i, ch.bytes());
            }
        }
    }
}

fn replace_all(buf: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i < buf.len() {
        if buf[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    out
}

/// Mutates one HJ 212 packet inside its data segment and frames it again, so that the
/// length and CRC are right and the mutation reaches the payload parser.
fn mutate_packet(rng: &mut Rng, line: &[u8], splice_from: &[u8]) -> Vec<u8> {
    let line = line.strip_suffix(b"\r\n").unwrap_or(line);
    let segment = if line.len() > 10 && line.starts_with(b"##") {
        &line[6..line.len() - 4]
    } else {
        line
    };
    let mut seg = segment.to_vec();
    for _ in 0..=rng.below(3) {
        if rng.one_in(3) {
            mutate_bytes(rng, &mut seg, splice_from);
        } else {
            let value = rng.pick(VALUES).as_bytes().to_vec();
            replace_token(rng, &mut seg, &value);
        }
    }
    if rng.one_in(8) {
        // Right at the standard's 1024-byte limit, or just over it.
        let target = 1_023 + rng.below(3);
        while seg.len() < target {
            let at = seg.len().saturating_sub(2);
            insert(&mut seg, at, b";");
        }
    }
    let crc = envgov_hj212::crc16(&seg);
    let mut out = format!("##{:04}", seg.len()).into_bytes();
    out.extend_from_slice(&seg);
    out.extend_from_slice(format!("{crc:04X}\r\n").as_bytes());
    out
}

/// Mutates one registry line as a JSON value (when it parses), else as bytes.
fn mutate_json_line(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(line) else {
        let mut b = line.to_vec();
        mutate_bytes(rng, &mut b, b"");
        return b;
    };
    for _ in 0..=rng.below(2) {
        mutate_json(rng, &mut v, 0);
    }
    let mut out = serde_json::to_vec(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn mutate_json(rng: &mut Rng, v: &mut serde_json::Value, depth: usize) {
    use serde_json::Value;
    match v {
        Value::Object(map) if !map.is_empty() && (depth < 4 && !rng.one_in(6)) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            if rng.one_in(10) {
                map.remove(&key);
            } else if let Some(child) = map.get_mut(&key) {
                mutate_json(rng, child, depth + 1);
            }
        }
        Value::Array(items) if !items.is_empty() && (depth < 4 && !rng.one_in(6)) => {
            let i = rng.below(items.len());
            match rng.below(8) {
                0 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                1 => {
                    items.remove(i);
                }
                _ => mutate_json(rng, &mut items[i], depth + 1),
            }
        }
        Value::String(s) => {
            *s = match rng.below(6) {
                0 => String::new(),
                1 => rng.pick(VALUES).to_string(),
                2 => {
                    // A character swapped for a multi-byte one (same character count).
                    let mut chars: Vec<char> = s.chars().collect();
                    if !chars.is_empty() {
                        let i = rng.below(chars.len());
                        chars[i] = *rng.pick(&['中', 'Ⅵ', '𝄞', 'é', '\u{0}', '\u{feff}']);
                    }
                    chars.into_iter().collect()
                }
                3 => {
                    let mut chars: Vec<char> = s.chars().collect();
                    let i = rng.below(chars.len() + 1);
                    chars.insert(i, *rng.pick(&['中', ' ', '\n', '"', '\\']));
                    chars.into_iter().collect()
                }
                4 => s.repeat(1 + rng.below(50)),
                _ => {
                    let mut chars: Vec<char> = s.chars().collect();
                    chars.truncate(rng.below(chars.len() + 1));
                    chars.into_iter().collect()
                }
            }
        }
        _ => {
            *v = match rng.below(9) {
                0 => Value::Null,
                1 => Value::Bool(rng.one_in(2)),
                2 => serde_json::json!(1e308),
                3 => serde_json::json!(-0.0),
                4 => serde_json::json!(u64::MAX),
                5 => serde_json::json!(i64::MIN),
                6 => Value::String(String::new()),
                7 => Value::Array(Vec::new()),
                _ => serde_json::json!(116.4),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sample the seeds come from, and the context validators need.

struct World {
    curated: Curated,
    registry: Registry,
    /// Seed files by source: (key, bytes).
    seeds: BTreeMap<Source, Vec<(String, Vec<u8>)>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let config = SampleConfig {
            units: 24,
            days: 2,
            ..SampleConfig::default()
        };
        let mut seeds: BTreeMap<Source, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        generate(&config, &mut |key, bytes| {
            let (source, _, _) = layout::parse_raw_key(&key).expect("sample keys parse");
            seeds.entry(source).or_default().push((key, bytes));
        });
        let curated = Curated::load().expect("curated data");
        let (key, bytes) = &seeds[&Source::Enterprises][0];
        let empty = Registry::default();
        let ctx = Context {
            curated: &curated,
            registry: &empty,
            date: date_of(key),
        };
        let result = validate::validate_file(Source::Enterprises, key, bytes, ctx);
        let registry = Registry::from_table(&result.accepted).expect("sample registry");
        assert!(
            !registry.devices.is_empty(),
            "the sample has monitored outlets"
        );
        World {
            curated,
            registry,
            seeds,
        }
    })
}

fn date_of(key: &str) -> chrono::NaiveDate {
    let (_, date, _) = layout::parse_raw_key(key).expect("raw key");
    chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").expect("date")
}

// ---------------------------------------------------------------------------------------------
// Invariants.

/// Every file result: counts add up, every rejection says where and why, accepted rows hold
/// only finite numbers, values stay bounded.
fn check_file(source: Source, key: &str, bytes: &[u8], r: &FileResult) {
    let date = date_of(key);
    let c = &r.counts;
    assert_eq!(
        c.read,
        c.accepted + c.rejected,
        "read = accepted + rejected"
    );
    assert_eq!(c.key, key);
    let physical_lines = bytes.split(|&b| b == b'\n').count() as u64;
    assert!(
        c.read <= physical_lines.max(1),
        "read {} records from {physical_lines} lines",
        c.read
    );
    let mut records = 0;
    for x in &r.rejections {
        assert!(!x.reason.trim().is_empty(), "empty reason: {x:?}");
        assert!(!x.reason_code.is_empty(), "empty reason code: {x:?}");
        assert!(!x.field.is_empty(), "empty field: {x:?}");
        assert_eq!(x.raw_key, key);
        assert!(
            x.value.chars().count() <= 2_048,
            "value of {} characters",
            x.value.chars().count()
        );
        if x.field == "file" {
            assert_eq!(x.line, 0);
        } else {
            assert!(
                x.line >= 1 && x.line <= physical_lines,
                "line {} of {physical_lines}: {x:?}",
                x.line
            );
            assert!(
                !blank_line(bytes, x.line),
                "a rejection on a blank line: {x:?}"
            );
        }
        if x.scope == Scope::Record {
            records += 1;
        }
    }
    if c.file_error.is_some() {
        assert_eq!(records, 1, "a file rejected whole has one rejection");
        assert_eq!(c.accepted, 0);
    } else {
        assert_eq!(
            records, c.rejected,
            "one record rejection per rejected record"
        );
    }
    if source != Source::Cems {
        assert_eq!(r.accepted.rows() as u64, c.accepted, "accepted rows");
    }
    for (name, col) in r.accepted.names.iter().zip(&r.accepted.columns) {
        match (name.as_str(), col) {
            (_, Values::F64(v)) => assert!(
                v.iter().flatten().all(|x| x.is_finite()),
                "a non-finite number in accepted column {name}"
            ),
            // data/raw-formats.md: dated records fall on the folder's date.
            ("date", Values::Str(v)) => assert!(
                v.iter().all(|d| d.as_deref() == Some(&*date.to_string())),
                "an accepted date off the folder's date {date}: {v:?}"
            ),
            ("uscc" | "operator_uscc" | "treatment_uscc", Values::Str(v)) => {
                for code in v.iter().flatten() {
                    assert_eq!(ids::check_uscc(code).as_ref(), Ok(code), "accepted {name}");
                }
            }
            // Every accepted record points at a line of the file (after the CSV header).
            ("raw_line", Values::I64(v)) => {
                let first = if matches!(source, Source::Enterprises | Source::Cems) {
                    1
                } else {
                    2
                };
                for line in v.iter().flatten() {
                    assert!(
                        (first..=physical_lines as i64).contains(line),
                        "accepted raw_line {line} of {physical_lines} lines"
                    );
                    assert!(
                        !blank_line(bytes, *line as u64),
                        "accepted a blank line {line}"
                    );
                }
            }
            _ => {}
        }
    }
}

/// Whether line `n` (1-based, lines end at LF) holds nothing but ASCII whitespace: no record
/// starts on such a line.
fn blank_line(bytes: &[u8], n: u64) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .nth(n.saturating_sub(1) as usize)
        .is_some_and(|l| l.iter().all(u8::is_ascii_whitespace))
}

// ---------------------------------------------------------------------------------------------
// The loop.

fn budget() -> (u64, Duration, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("ENVGOV_FUZZ_ITERATIONS", 20_000),
        Duration::from_secs(var("ENVGOV_FUZZ_SECONDS", 6)),
        var("ENVGOV_FUZZ_SEED", 2021),
    )
}

fn crash_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/fuzz-crashes")
        .join(target)
}

/// Runs `exec` on `make`'s inputs for the budget; saves and reports any panic.
fn fuzz(
    target: &str,
    mut make: impl FnMut(&mut Rng) -> (String, Vec<u8>),
    exec: impl Fn(&str, &[u8]),
) {
    let (iterations, seconds, seed) = budget();
    let mut rng = Rng::new(seed, target);
    let started = Instant::now();
    let mut executions = 0u64;
    let mut crashes = Vec::new();
    while executions < iterations && started.elapsed() < seconds {
        let (name, input) = make(&mut rng);
        executions += 1;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| exec(&name, &input))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = crash_dir(target);
            std::fs::create_dir_all(&dir).expect("crash dir");
            // Named as the corpus names its files (see `replays_the_crash_corpus`).
            let suffix = match layout::parse_raw_key(&name) {
                Ok((_, date, file)) => format!("@{date}@{file}"),
                Err(_) => String::new(),
            };
            let path = dir.join(format!("crash-{}{suffix}", crashes.len()));
            std::fs::write(&path, &input).expect("write crash input");
            crashes.push(format!("{}: {message}", path.display()));
            if crashes.len() >= 5 {
                break;
            }
        }
    }
    let summary = format!(
        "fuzz {target}: {executions} executions in {:.1} s, {} crashes (seed {seed})",
        started.elapsed().as_secs_f64(),
        crashes.len()
    );
    println!("{summary}");
    // Kept for the run's record (the test runner shows output only for failures).
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-output/fuzz");
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(out.join(format!("{target}.txt")), format!("{summary}\n"));
    }
    assert!(
        crashes.is_empty(),
        "fuzz {target} crashed:\n{}",
        crashes.join("\n")
    );
}

/// Runs the validator of `source` on one input and checks the invariants.
fn exec_file(source: Source, key: &str, bytes: &[u8]) {
    let w = world();
    let ctx = Context {
        curated: &w.curated,
        registry: &w.registry,
        date: date_of(key),
    };
    let r = validate::validate_file(source, key, bytes, ctx);
    check_file(source, key, bytes, &r);
}

/// Makes an input for a source's validator from a random seed file of that source.
fn make_file(rng: &mut Rng, source: Source) -> (String, Vec<u8>) {
    let w = world();
    let seeds = &w.seeds[&source];
    let (key, seed) = rng.pick(seeds);
    // A line of another source for splicing.
    let others: Vec<&(String, Vec<u8>)> = w.seeds.values().flatten().collect();
    let (_, other) = rng.pick(&others);
    let other = window(rng, other, false, 1);
    let mut input = match source {
        Source::Cems => {
            let mut out = Vec::new();
            for line in lines(&window(rng, seed, false, 12)) {
                if rng.one_in(2) {
                    out.extend(mutate_packet(rng, &line, &other));
                } else {
                    out.extend(line);
                }
            }
            out
        }
        Source::Enterprises => {
            let mut out = Vec::new();
            for line in lines(&window(rng, seed, false, 6)) {
                if rng.one_in(2) {
                    out.extend(mutate_json_line(rng, &line));
                } else {
                    out.extend(line);
                }
            }
            out
        }
        _ => window(rng, seed, true, 16),
    };
    if source != Source::Cems && rng.one_in(6) {
        // The same delivery from a GB18030 government system.
        if let Ok(text) = std::str::from_utf8(&input) {
            input = encoding_rs::GB18030.encode(text).0.into_owned();
        }
    }
    let rounds = match source {
        Source::Cems | Source::Enterprises => rng.below(3),
        _ => 1 + rng.below(4),
    };
    for _ in 0..rounds {
        mutate_bytes(rng, &mut input, &other);
    }
    (key.clone(), input)
}

fn fuzz_source(source: Source) {
    let target = source.as_str();
    fuzz(
        target,
        |rng| make_file(rng, source),
        |key, bytes| exec_file(source, key, bytes),
    );
}

#[test]
fn fuzz_registry() {
    fuzz_source(Source::Enterprises);
}

#[test]
fn fuzz_cems() {
    fuzz_source(Source::Cems);
}

#[test]
fn fuzz_self_monitoring() {
    fuzz_source(Source::SelfMonitoring);
}

#[test]
fn fuzz_vehicles() {
    fuzz_source(Source::Vehicles);
}

#[test]
fn fuzz_sewage() {
    fuzz_source(Source::Sewage);
}

#[test]
fn fuzz_msw() {
    fuzz_source(Source::Msw);
}

#[test]
fn fuzz_medical_waste() {
    fuzz_source(Source::MedicalWaste);
}

#[test]
fn fuzz_construction_waste() {
    fuzz_source(Source::ConstructionWaste);
}

#[test]
fn fuzz_livestock() {
    fuzz_source(Source::Livestock);
}

/// One packet straight into the HJ 212 parser.
fn exec_hj212(_: &str, bytes: &[u8]) {
    match envgov_hj212::parse(bytes) {
        Ok(p) => {
            for m in &p.measurements {
                for v in [m.rtd, m.avg, m.min, m.max, m.cou, m.zs_avg]
                    .into_iter()
                    .flatten()
                {
                    assert!(v.is_finite(), "non-finite value in {}", m.code);
                }
            }
            // A packet that parses was framed with a length of at most 1024 bytes.
            assert!(bytes.len() <= 2 + 4 + envgov_hj212::MAX_SEGMENT_LEN + 4 + 2);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(!e.field().is_empty());
        }
    }
}

#[test]
fn fuzz_hj212() {
    fuzz(
        "hj212",
        |rng| {
            let w = world();
            let (key, seed) = rng.pick(&w.seeds[&Source::Cems]);
            let line = window(rng, seed, false, 1);
            let packet = if rng.one_in(4) {
                let mut b = line;
                mutate_bytes(rng, &mut b, b"");
                b
            } else {
                mutate_packet(rng, &line, b"")
            };
            (key.clone(), packet)
        },
        exec_hj212,
    );
}

/// Identifier checks on a mutated identifier (`kind:value`).
fn exec_ids(_: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let (kind, value) = text.split_once(':').unwrap_or(("uscc", &text));
    match kind {
        "uscc" => {
            if let Ok(code) = ids::check_uscc(value) {
                assert_eq!(code.chars().count(), 18);
                assert_eq!(ids::check_uscc(&code), Ok(code.clone()), "idempotent");
            }
            let first17: String = value.chars().take(17).collect();
            let _ = ids::uscc_check_char(&first17);
            let _ = ids::uscc_check_char(value);
            let body: String = value.chars().skip(8).take(8).collect();
            let _ = ids::org_check_char(&body);
            let _ = ids::org_check_char(value);
        }
        "permit" => {
            if let Ok(code) = ids::check_permit(value) {
                assert_eq!(code.chars().count(), 22);
                assert_eq!(ids::check_permit(&code), Ok(code.clone()), "idempotent");
            }
        }
        _ => {
            let _ = ids::check_outlet(value);
            let _ = ids::check_facility(value);
            let _ = ids::district(value);
        }
    }
}

#[test]
fn fuzz_ids() {
    let w = world();
    let mut pool: Vec<String> = Vec::new();
    for (_, bytes) in &w.seeds[&Source::Enterprises] {
        for line in lines(bytes) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) {
                pool.push(format!("uscc:{}", v["uscc"].as_str().unwrap_or_default()));
                pool.push(format!(
                    "permit:{}",
                    v["permit_no"].as_str().unwrap_or_default()
                ));
                for o in v["outlets"].as_array().into_iter().flatten() {
                    pool.push(format!("code:{}", o["code"].as_str().unwrap_or_default()));
                }
            }
        }
    }
    fuzz(
        "ids",
        |rng| {
            let seed = rng.pick(&pool).clone();
            let (kind, value) = seed.split_once(':').unwrap_or(("uscc", ""));
            let mut chars: Vec<char> = value.chars().collect();
            for _ in 0..=rng.below(3) {
                let c = *rng.pick(&[
                    '中', 'Ⅵ', '𝄞', 'é', '0', 'Z', 'I', 'a', ' ', '\u{0}', '\u{feff}',
                ]);
                match rng.below(4) {
                    0 if !chars.is_empty() => {
                        let i = rng.below(chars.len());
                        chars[i] = c;
                    }
                    1 => chars.insert(rng.below(chars.len() + 1), c),
                    2 if !chars.is_empty() => {
                        chars.remove(rng.below(chars.len()));
                    }
                    _ => chars.truncate(rng.below(chars.len() + 1)),
                }
            }
            let value: String = chars.into_iter().collect();
            (kind.to_string(), format!("{kind}:{value}").into_bytes())
        },
        exec_ids,
    );
}

/// Storage keys: what parses round-trips through the key builder.
fn exec_key(_: &str, bytes: &[u8]) {
    let key = String::from_utf8_lossy(bytes);
    if let Ok((source, date, file)) = layout::parse_raw_key(&key) {
        assert_eq!(layout::raw_key(source, &date, &file).as_deref(), Ok(&*key));
    }
}

#[test]
fn fuzz_keys() {
    let w = world();
    let keys: Vec<String> = w.seeds.values().flatten().map(|(k, _)| k.clone()).collect();
    fuzz(
        "keys",
        |rng| {
            let mut k = rng.pick(&keys).clone().into_bytes();
            for _ in 0..=rng.below(3) {
                match rng.below(4) {
                    0 => {
                        let s = *rng.pick(&[
                            "/",
                            "..",
                            ".",
                            "中",
                            "%2F",
                            "\\",
                            "\0",
                            "raw",
                            "cems",
                            "9999-99-99",
                        ]);
                        let at = rng.below(k.len() + 1);
                        insert(&mut k, at, s.as_bytes());
                    }
                    1 => {
                        let at = rng.below(k.len() + 1);
                        k.truncate(at);
                    }
                    _ => mutate_bytes(rng, &mut k, b""),
                }
            }
            ("key".into(), k)
        },
        exec_key,
    );
}

/// Text decoding: strict, never lossy.
fn exec_decode(_: &str, bytes: &[u8]) {
    match envgov_pipeline::decode::decode(bytes) {
        Ok((text, envgov_pipeline::decode::Encoding::Utf8)) => assert_eq!(text.as_bytes(), bytes),
        Ok((text, envgov_pipeline::decode::Encoding::Utf8Bom)) => {
            assert_eq!(text.as_bytes(), &bytes[3..])
        }
        Ok((_, envgov_pipeline::decode::Encoding::Gb18030)) => {
            assert!(
                std::str::from_utf8(bytes).is_err(),
                "GB18030 only when not UTF-8"
            );
        }
        Err(e) => assert!(e.utf8_error_at <= bytes.len()),
    }
}

#[test]
fn fuzz_decode() {
    fuzz(
        "decode",
        |rng| {
            let (_, mut bytes) = make_file(rng, Source::SelfMonitoring);
            bytes.truncate(4_096);
            ("decode".into(), bytes)
        },
        exec_decode,
    );
}

// ---------------------------------------------------------------------------------------------
// Regression fixtures.

/// Replays every input kept in `tests/fuzz-corpus/{target}/`. A file is named
/// `{label}@{date}@{raw file name}` for the source targets (the validator sees it under
/// `raw/{target}/{date}/{raw file name}`), or `{label}` for `hj212`, `ids`, `keys`, `decode`.
#[test]
fn replays_the_crash_corpus() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus");
    let mut replayed = 0;
    for dir in std::fs::read_dir(&root).expect("tests/fuzz-corpus") {
        let dir = dir.expect("corpus dir").path();
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("corpus target dir")
            .map(|e| e.expect("corpus file").path())
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let bytes = std::fs::read(&path).expect("corpus file");
            match target.as_str() {
                "hj212" => exec_hj212(&name, &bytes),
                "ids" => exec_ids(&name, &bytes),
                "keys" => exec_key(&name, &bytes),
                "decode" => exec_decode(&name, &bytes),
                source => {
                    let source =
                        Source::parse(source).unwrap_or_else(|| panic!("unknown target {source}"));
                    let mut parts = name.splitn(3, '@');
                    let (_, date, file) = (parts.next(), parts.next(), parts.next());
                    let key = format!(
                        "raw/{source}/{}/{}",
                        date.expect("name has a date"),
                        file.expect("name has a file name")
                    );
                    exec_file(source, &key, &bytes);
                }
            }
            replayed += 1;
        }
    }
    println!("replayed {replayed} corpus inputs");
    assert!(replayed > 0, "the corpus is empty");
}

/// The sample's packets stay within HJ 212-2017's 1024-byte data segment, so the limit never
/// rejects what the generator writes.
#[test]
fn sample_packets_fit_the_standards_segment_limit() {
    let w = world();
    let longest = w.seeds[&Source::Cems]
        .iter()
        .flat_map(|(_, bytes)| lines(bytes))
        .map(|l| l.len().saturating_sub(2 + 4 + 4 + 2))
        .max()
        .unwrap_or(0);
    println!("longest sample data segment: {longest} bytes");
    assert!(longest <= envgov_hj212::MAX_SEGMENT_LEN, "{longest}");
}
