//! iCalendar (RFC 5545) files of the open days: one per event and one with all of them.
//!
//! Times are written in UTC (`DTSTART:20260124T013000Z`), so no `VTIMEZONE` is needed and
//! every client shows its own local time. `DTSTAMP` is the data date (midnight Beijing time),
//! never the wall clock, and `UID` is `{id}@envgov`, stable across builds. Lines end in CRLF
//! and are folded at 75 octets (never inside a UTF-8 character); TEXT values escape `\`,
//! `;`, `,` and newlines. Summaries, places and descriptions carry both languages.

use crate::urls::{self, Route, Slug};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use envgov_curated::{OpenDay, OpenDays};
use envgov_dataset::Lang;

/// The longest content line, in octets, before folding.
const MAX_OCTETS: usize = 75;

/// Escapes a TEXT value (RFC 5545 section 3.3.11).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line into CRLF-terminated physical lines of at most 75 octets.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > MAX_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

fn utc(t: DateTime<FixedOffset>) -> String {
    t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string()
}

/// `DTSTAMP`: midnight Beijing time on the data date, in UTC.
pub fn stamp(data_date: NaiveDate) -> String {
    let offset = crate::format::beijing();
    let midnight = data_date
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(offset)
        .single()
        .expect("a fixed offset has no gaps");
    utc(midnight)
}

fn both(e: impl Fn(Lang) -> String) -> String {
    format!("{} / {}", e(Lang::Zh), e(Lang::En))
}

fn event_lines(e: &OpenDay, id: &Slug, days: &OpenDays, stamp: &str, origin: &str) -> Vec<String> {
    let mut lines = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}@envgov", e.id),
        format!("DTSTAMP:{stamp}"),
    ];
    if let (Some(s), Some(t)) = (e.start_time(), e.end_time()) {
        lines.push(format!("DTSTART:{}", utc(s)));
        lines.push(format!("DTEND:{}", utc(t)));
    }
    lines.push(format!(
        "SUMMARY:{}",
        escape_text(&both(|l| e.title.get(l).to_string()))
    ));
    lines.push(format!(
        "LOCATION:{}",
        escape_text(&both(|l| e.place.get(l).to_string()))
    ));
    let mut description = String::new();
    for (lang, host, how, deadline, capacity, page) in [
        (Lang::Zh, "主办", "报名", "报名截止", "名额", "详情"),
        (
            Lang::En,
            "Host",
            "Registration",
            "Register by",
            "Places",
            "Details",
        ),
    ] {
        description.push_str(&format!(
            "{host}: {}\n{how}: {} {}\n{deadline}: {}\n{capacity}: {}\n{page}: {}\n\n",
            e.host.get(lang),
            e.registration.how.get(lang),
            e.registration.url,
            e.registration.deadline,
            e.capacity,
            urls::absolute(origin, &urls::page(lang, &Route::OpenDay(id.clone()))),
        ));
    }
    if days.sample {
        description.push_str(&format!("{}\n{}", days.note.zh, days.note.en));
    }
    lines.push(format!(
        "DESCRIPTION:{}",
        escape_text(description.trim_end())
    ));
    lines.push(format!(
        "URL:{}",
        urls::absolute(origin, &urls::page(Lang::Zh, &Route::OpenDay(id.clone())))
    ));
    lines.push("STATUS:CONFIRMED".to_string());
    lines.push("TRANSP:OPAQUE".to_string());
    lines.push("END:VEVENT".to_string());
    lines
}

/// A VCALENDAR holding the given events (already checked ids).
pub fn calendar(
    events: &[(&OpenDay, Slug)],
    days: &OpenDays,
    data_date: NaiveDate,
    origin: &str,
) -> Vec<u8> {
    let stamp = stamp(data_date);
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//envgov//Open days//ZH-EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        format!(
            "X-WR-CALNAME:{}",
            escape_text("envgov 企业开放日 / envgov open days")
        ),
    ];
    for (e, id) in events {
        lines.extend(event_lines(e, id, days, &stamp, origin));
    }
    lines.push("END:VCALENDAR".to_string());
    lines
        .iter()
        .map(|l| fold(l))
        .collect::<String>()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_values() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let line = format!("SUMMARY:{}", "开放日".repeat(20));
        let folded = fold(&line);
        for physical in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        assert_eq!(fold("SHORT:x"), "SHORT:x\r\n");
    }

    #[test]
    fn stamp_is_midnight_beijing_in_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        assert_eq!(stamp(d), "20260130T160000Z");
    }
}
