//! Dates, times and numbers written the way each language writes them.
//!
//! Chinese: `2026年1月31日`, `2026年1月`, `09:30`; English: `31 January 2026`, `January 2026`.
//! Numbers get thousands separators; rates are shown as percentages. Pure functions of their
//! arguments: no locale, no clock.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
use envgov_dataset::Lang;

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Parses a `YYYY-MM-DD` date, exactly that shape.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    envgov_dataset::layout::check_date(s).ok()?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Parses `YYYY-MM` as the first day of the month.
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    parse_date(&format!("{s}-01"))
}

/// Parses an RFC 3339 time (`2026-01-01T02:00:00+08:00`).
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Beijing time, the offset every local time on the site is shown in.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

pub fn date(lang: Lang, d: NaiveDate) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => format!(
            "{} {} {}",
            d.day(),
            MONTHS_EN[d.month0() as usize],
            d.year()
        ),
    }
}

pub fn month(lang: Lang, d: NaiveDate) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月", d.year(), d.month()),
        Lang::En => format!("{} {}", MONTHS_EN[d.month0() as usize], d.year()),
    }
}

/// `09:30`, in Beijing time.
pub fn clock(t: DateTime<FixedOffset>) -> String {
    let t = t.with_timezone(&beijing());
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// A date and time in Beijing time: `2026年1月24日 09:30` / `24 January 2026, 09:30`.
pub fn date_time(lang: Lang, t: DateTime<FixedOffset>) -> String {
    let local = t.with_timezone(&beijing());
    let d = date(lang, local.date_naive());
    match lang {
        Lang::Zh => format!("{d} {}", clock(t)),
        Lang::En => format!("{d}, {}", clock(t)),
    }
}

/// A start and end on the same or different days, in Beijing time.
pub fn time_range(lang: Lang, start: DateTime<FixedOffset>, end: DateTime<FixedOffset>) -> String {
    let (s, e) = (
        start.with_timezone(&beijing()),
        end.with_timezone(&beijing()),
    );
    if s.date_naive() == e.date_naive() {
        format!("{}–{}", date_time(lang, start), clock(end))
    } else {
        format!("{} – {}", date_time(lang, start), date_time(lang, end))
    }
}

/// A `YYYY-MM-DD` date or an RFC 3339 time as written in the data, shown in the language;
/// anything else is shown as it came.
pub fn observed(lang: Lang, s: &str) -> String {
    if let Some(d) = parse_date(s) {
        date(lang, d)
    } else if let Some(t) = parse_time(s) {
        date_time(lang, t)
    } else {
        s.to_string()
    }
}

fn group_thousands(lang: Lang, digits: &str) -> String {
    let sep = match lang {
        Lang::Zh | Lang::En => ',',
    };
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A number with `decimals` digits after the point and thousands separators.
pub fn decimal(lang: Lang, value: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, value.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    // "-0.0" is shown as "0.0".
    let negative = value < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    let mut out = String::new();
    if negative {
        out.push('−');
    }
    out.push_str(&group_thousands(lang, int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// An integer with thousands separators.
pub fn integer(lang: Lang, value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let grouped = group_thousands(lang, &digits);
    if value < 0 {
        format!("−{grouped}")
    } else {
        grouped
    }
}

/// A count or total that arrived as a JSON number: an integer when it is one, else one
/// decimal (tonnes summed from reports).
pub fn count(lang: Lang, value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        integer(lang, value as i64)
    } else {
        decimal(lang, value, 1)
    }
}

/// A measured value or limit: enough decimals for its size, trailing zeros removed.
pub fn measurement(lang: Lang, value: f64) -> String {
    let a = value.abs();
    let decimals = if a == 0.0 {
        0
    } else if a < 0.01 {
        4
    } else if a < 1.0 {
        3
    } else if a < 100.0 {
        2
    } else if a < 10_000.0 {
        1
    } else {
        0
    };
    let s = decimal(lang, value, decimals);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A ratio (0.9987) as a percentage (`99.87%`): one decimal, more when one decimal would
/// round a ratio that is not exactly 0 or 1 to `0.0%` or `100.0%`.
pub fn percent(lang: Lang, ratio: f64) -> String {
    let pct = ratio * 100.0;
    let mut decimals = 1;
    loop {
        let shown: f64 = format!("{pct:.decimals$}").parse().unwrap_or(pct);
        let hides_a_difference = (ratio < 1.0 && shown >= 100.0) || (ratio > 0.0 && shown <= 0.0);
        if !hides_a_difference || decimals == 4 {
            return format!("{}%", decimal(lang, pct, decimals));
        }
        decimals += 1;
    }
}

/// A file size for people: bytes, kB or MB (powers of ten), in the language's number format.
pub fn file_size(lang: Lang, bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{} MB", decimal(lang, bytes as f64 / 1_000_000.0, 1))
    } else if bytes >= 1_000 {
        format!("{} kB", decimal(lang, bytes as f64 / 1_000.0, 1))
    } else {
        format!("{} B", integer(lang, bytes as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_per_language() {
        let d = parse_date("2026-01-31").unwrap();
        assert_eq!(date(Lang::Zh, d), "2026年1月31日");
        assert_eq!(date(Lang::En, d), "31 January 2026");
        assert_eq!(month(Lang::Zh, d), "2026年1月");
        assert_eq!(month(Lang::En, d), "January 2026");
        assert!(parse_date("2026-1-31").is_none());
        assert!(parse_date("2026-02-30").is_none());
    }

    #[test]
    fn times_are_shown_in_beijing_time() {
        let t = parse_time("2026-01-24T01:30:00Z").unwrap();
        assert_eq!(date_time(Lang::Zh, t), "2026年1月24日 09:30");
        assert_eq!(date_time(Lang::En, t), "24 January 2026, 09:30");
        let e = parse_time("2026-01-24T11:30:00+08:00").unwrap();
        assert_eq!(time_range(Lang::En, t, e), "24 January 2026, 09:30–11:30");
        assert_eq!(observed(Lang::Zh, "2026-01-01"), "2026年1月1日");
    }

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(integer(Lang::Zh, 1_234_567), "1,234,567");
        assert_eq!(integer(Lang::En, 999), "999");
        assert_eq!(integer(Lang::En, -1000), "−1,000");
        assert_eq!(decimal(Lang::En, 501694.1, 1), "501,694.1");
        assert_eq!(decimal(Lang::En, -0.04, 1), "0.0");
        assert_eq!(count(Lang::Zh, 430704.0), "430,704");
        assert_eq!(count(Lang::En, 839553.6), "839,553.6");
        assert_eq!(measurement(Lang::En, 7.748833), "7.75");
        assert_eq!(measurement(Lang::En, 12.0), "12");
        assert_eq!(measurement(Lang::En, 0.05), "0.05");
        assert_eq!(measurement(Lang::En, 1258.5), "1,258.5");
    }

    #[test]
    fn percentages_never_round_to_a_bound_they_did_not_reach() {
        assert_eq!(percent(Lang::Zh, 0.979878), "98.0%");
        assert_eq!(percent(Lang::En, 0.99987), "99.99%");
        assert_eq!(percent(Lang::En, 1.0), "100.0%");
        assert_eq!(percent(Lang::En, 0.0), "0.0%");
        assert_eq!(percent(Lang::En, 0.0001), "0.01%");
        assert_eq!(percent(Lang::En, 1.000432), "100.0%");
    }
}
