//! `data/open-days.toml`: enterprise open days (企业开放日), the public visits that measure (八)
//! of the 2021 plan encourages dischargers to hold.
//!
//! Checked on load: every text in both languages, unique ids prefixed with the start's
//! `YYYY-MM-`, known districts and topics, valid host credit codes, local times in the exact
//! `YYYY-MM-DDTHH:MM:SS+08:00` shape with the end after the start, and a registration deadline
//! no later than the event's day.

use crate::error::{CuratedError, parse};
use crate::plan::{date, is_slug, lenient};
use chrono::{DateTime, FixedOffset, NaiveTime};
use envgov_dataset::Localized;
use envgov_dataset::ids::{District, check_uscc, district};
use serde::Deserialize;

const FILE: &str = "open-days.toml";

/// The UTC offset every open-day time is written with (Beijing time).
const OFFSET: &str = "+08:00";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub id: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub name: Localized,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// `https://` link to the sign-up page.
    pub url: String,
    /// Last day to register, `YYYY-MM-DD`.
    pub deadline: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub how: Localized,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenDay {
    /// `YYYY-MM-` of the start, then an ASCII slug (`2026-01-changping-sewage-plant`).
    pub id: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub title: Localized,
    #[serde(deserialize_with = "lenient::localized")]
    pub host: Localized,
    /// The host's Unified Social Credit Code, canonical upper case, registered in Beijing.
    #[serde(default)]
    pub host_uscc: Option<String>,
    /// GB/T 2260 district code, or `BDA`.
    pub district: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub place: Localized,
    /// Local time, `YYYY-MM-DDTHH:MM:SS+08:00`.
    pub start: String,
    pub end: String,
    pub registration: Registration,
    pub capacity: u32,
    #[serde(deserialize_with = "lenient::localized")]
    pub audience: Localized,
    /// [`Topic`] ids.
    pub topics: Vec<String>,
}

impl OpenDay {
    pub fn start_time(&self) -> Option<DateTime<FixedOffset>> {
        local_time(&self.start)
    }

    pub fn end_time(&self) -> Option<DateTime<FixedOffset>> {
        local_time(&self.end)
    }

    pub fn district(&self) -> Option<&'static District> {
        district(&self.district)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenDays {
    /// The events are fictitious sample data; the site must say so.
    pub sample: bool,
    #[serde(deserialize_with = "lenient::localized")]
    pub note: Localized,
    #[serde(rename = "topic")]
    pub topics: Vec<Topic>,
    #[serde(rename = "open_day")]
    pub list: Vec<OpenDay>,
}

/// A time given to [`OpenDays::upcoming`] that is neither a date nor an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a YYYY-MM-DD date or an RFC 3339 time: {0:?}")]
pub struct BadTime(pub String);

impl OpenDays {
    pub fn parse(text: &str) -> Result<Self, CuratedError> {
        let o: OpenDays = parse(FILE, text)?;
        o.check()?;
        Ok(o)
    }

    fn check(&self) -> Result<(), CuratedError> {
        let tr = |l: &Localized, what: String| {
            l.check(&what)
                .map_err(|source| CuratedError::Translation { file: FILE, source })
        };
        let invalid = |message: String| CuratedError::Invalid {
            file: FILE,
            message,
        };

        tr(&self.note, "note".into())?;
        for (i, t) in self.topics.iter().enumerate() {
            if !is_slug(&t.id, b'-') || self.topics[..i].iter().any(|o| o.id == t.id) {
                return Err(invalid(format!(
                    "topic id {:?} is not a slug or is a duplicate",
                    t.id
                )));
            }
            tr(&t.name, format!("topic {} name", t.id))?;
        }

        for (i, e) in self.list.iter().enumerate() {
            let id = &e.id;
            if self.list[..i].iter().any(|o| o.id == e.id) {
                return Err(invalid(format!("duplicate open day {id}")));
            }
            tr(&e.title, format!("open day {id} title"))?;
            tr(&e.host, format!("open day {id} host"))?;
            tr(&e.place, format!("open day {id} place"))?;
            tr(&e.audience, format!("open day {id} audience"))?;
            tr(
                &e.registration.how,
                format!("open day {id} registration how"),
            )?;

            let start = local_time(&e.start).ok_or_else(|| {
                invalid(format!(
                    "open day {id}: start {:?} is not YYYY-MM-DDTHH:MM:SS{OFFSET}",
                    e.start
                ))
            })?;
            let end = local_time(&e.end).ok_or_else(|| {
                invalid(format!(
                    "open day {id}: end {:?} is not YYYY-MM-DDTHH:MM:SS{OFFSET}",
                    e.end
                ))
            })?;
            if end <= start {
                return Err(invalid(format!(
                    "open day {id}: ends at {} before it starts at {}",
                    e.end, e.start
                )));
            }
            let month = &e.start[..8];
            if !id.starts_with(month) || !is_slug(&id[month.len().min(id.len())..], b'-') {
                return Err(invalid(format!(
                    "open day id {id:?} must be {month} followed by an ascii slug"
                )));
            }

            if district(&e.district).is_none() {
                return Err(invalid(format!(
                    "open day {id}: unknown district {:?}",
                    e.district
                )));
            }
            if let Some(code) = &e.host_uscc {
                match check_uscc(code) {
                    Ok(canonical) if canonical == *code && code.get(2..4) == Some("11") => {}
                    Ok(_) => {
                        return Err(invalid(format!(
                            "open day {id}: host_uscc {code} must be upper case and registered in Beijing (11xxxx)"
                        )));
                    }
                    Err(err) => {
                        return Err(invalid(format!("open day {id}: host_uscc {code}: {err}")));
                    }
                }
            }

            let reg = &e.registration;
            if !reg.url.starts_with("https://") || reg.url.len() <= "https://".len() {
                return Err(invalid(format!(
                    "open day {id}: registration url must be https"
                )));
            }
            let deadline = date(&reg.deadline).ok_or_else(|| {
                invalid(format!(
                    "open day {id}: bad registration deadline {:?}",
                    reg.deadline
                ))
            })?;
            if deadline > start.date_naive() {
                return Err(invalid(format!(
                    "open day {id}: registration closes after the event"
                )));
            }
            if e.capacity == 0 {
                return Err(invalid(format!("open day {id}: capacity must be positive")));
            }
            if e.topics.is_empty() {
                return Err(invalid(format!("open day {id}: no topics")));
            }
            for (j, t) in e.topics.iter().enumerate() {
                if self.topic(t).is_none() || e.topics[..j].contains(t) {
                    return Err(invalid(format!(
                        "open day {id}: unknown or repeated topic {t:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&OpenDay> {
        self.list.iter().find(|e| e.id == id)
    }

    pub fn topic(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The open days in a district (`110105`, `BDA`), in file order.
    pub fn in_district<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a OpenDay> + 'a {
        self.list.iter().filter(move |e| e.district == code)
    }

    /// The open days starting at or after `after`, sorted by start (then id).
    ///
    /// `after` is a `YYYY-MM-DD` date, taken as midnight Beijing time, or any RFC 3339 time.
    pub fn upcoming(&self, after: &str) -> Result<Vec<&OpenDay>, BadTime> {
        let after = instant(after).ok_or_else(|| BadTime(after.to_string()))?;
        let mut v: Vec<(DateTime<FixedOffset>, &OpenDay)> = self
            .list
            .iter()
            .filter_map(|e| Some((e.start_time()?, e)))
            .filter(|(s, _)| *s >= after)
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(v.into_iter().map(|(_, e)| e).collect())
    }
}

/// Parses a local time written exactly as `YYYY-MM-DDTHH:MM:SS+08:00`.
fn local_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    let shape = b.len() == 25
        && s.is_ascii()
        && date(&s[..10]).is_some()
        && b[10] == b'T'
        && s.ends_with(OFFSET)
        && NaiveTime::parse_from_str(&s[11..19], "%H:%M:%S").is_ok()
        && s[11..19].bytes().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                c == b':'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// A date (midnight Beijing time) or an RFC 3339 time.
fn instant(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Some(d) = date(s) {
        let offset = FixedOffset::east_opt(8 * 3600)?;
        return d.and_hms_opt(0, 0, 0)?.and_local_timezone(offset).single();
    }
    DateTime::parse_from_rfc3339(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Curated;
    use envgov_dataset::Lang;

    const EMBEDDED: &str = include_str!("../../../data/open-days.toml");

    fn mutated(f: impl FnOnce(&mut toml::Table)) -> String {
        let mut t: toml::Table = toml::from_str(EMBEDDED).unwrap();
        f(&mut t);
        toml::to_string(&t).unwrap()
    }

    fn event(t: &mut toml::Table, i: usize) -> &mut toml::Table {
        t["open_day"].as_array_mut().unwrap()[i]
            .as_table_mut()
            .unwrap()
    }

    fn invalid_message(r: Result<OpenDays, CuratedError>) -> String {
        match r {
            Err(CuratedError::Invalid {
                file: FILE,
                message,
            }) => message,
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn embedded_open_days_load_as_sample_data_across_all_districts() {
        let o = Curated::load().unwrap().open_days;
        assert!(o.sample);
        assert_eq!(o.list.len(), 24);
        for d in envgov_dataset::ids::DISTRICTS {
            assert!(
                o.in_district(d.code).next().is_some(),
                "no open day in {}",
                d.en
            );
        }
        assert!(
            o.list
                .iter()
                .all(|e| e.host.zh.contains("示例") && e.host.en.contains("Example"))
        );
        assert!(
            o.list
                .iter()
                .all(|e| e.registration.url.starts_with("https://example.org/"))
        );
        assert!(
            o.list
                .iter()
                .all(|e| ("2025-11" <= &e.start[..7]) && (&e.start[..7] <= "2026-04"))
        );
        assert!(o.list.iter().filter(|e| e.host_uscc.is_some()).count() >= 20);
        let e = o.get("2026-01-changping-sewage-plant").unwrap();
        assert_eq!(e.district().map(|d| d.en), Some("Changping"));
        assert_eq!(
            o.topic("sewage").map(|t| t.name.get(Lang::En)),
            Some("Sewage treatment")
        );
    }

    #[test]
    fn upcoming_filters_by_start_and_sorts() {
        let o = OpenDays::parse(EMBEDDED).unwrap();
        let all = o.upcoming("2000-01-01").unwrap();
        assert_eq!(all.len(), o.list.len());
        assert!(
            all.windows(2)
                .all(|w| w[0].start_time() <= w[1].start_time())
        );

        let from_april = o.upcoming("2026-04-01").unwrap();
        assert!(!from_april.is_empty());
        assert!(from_april.iter().all(|e| e.start.as_str() >= "2026-04-01"));
        assert_eq!(
            from_april.len(),
            o.list
                .iter()
                .filter(|e| e.start.starts_with("2026-04"))
                .count()
        );

        // 2026-04-18T01:30Z is 09:30 in Beijing: the event starting then is still upcoming.
        let at = o.upcoming("2026-04-18T01:30:00Z").unwrap();
        assert_eq!(
            at.first().map(|e| e.id.as_str()),
            Some("2026-04-tongzhou-msw-incinerator")
        );
        assert!(
            o.upcoming("2026-04-18T01:30:01Z")
                .unwrap()
                .iter()
                .all(|e| e.id != "2026-04-tongzhou-msw-incinerator")
        );

        assert!(o.upcoming("2100-01-01").unwrap().is_empty());
        assert_eq!(o.upcoming("next week"), Err(BadTime("next week".into())));
    }

    #[test]
    fn open_day_ending_before_it_starts_fails() {
        let text = mutated(|t| {
            event(t, 3).insert("end".into(), "2025-11-22T08:00:00+08:00".into());
        });
        let message = invalid_message(OpenDays::parse(&text));
        assert!(
            message.contains("2025-11-tongzhou-kitchen-waste")
                && message.contains("before it starts"),
            "{message}"
        );
        let text = mutated(|t| {
            let e = event(t, 3);
            let start = e["start"].clone();
            e.insert("end".into(), start);
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("before it starts"));
    }

    #[test]
    fn missing_en_translation_fails_naming_the_item() {
        let text = mutated(|t| {
            event(t, 0)["place"].as_table_mut().unwrap().remove("en");
        });
        match OpenDays::parse(&text) {
            Err(CuratedError::Translation { file: FILE, source }) => {
                assert_eq!(source.lang, Lang::En);
                assert_eq!(
                    source.what,
                    "open day 2025-11-chaoyang-msw-incinerator place"
                );
            }
            other => panic!("expected a Translation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_field_fails_to_parse() {
        let text = mutated(|t| {
            event(t, 0).insert("price".into(), 0.into());
        });
        assert!(matches!(
            OpenDays::parse(&text),
            Err(CuratedError::Parse { file: FILE, .. })
        ));
        let text = mutated(|t| {
            let reg = event(t, 0)["registration"].as_table_mut().unwrap();
            reg.insert("phone".into(), "000".into());
        });
        assert!(matches!(
            OpenDays::parse(&text),
            Err(CuratedError::Parse { file: FILE, .. })
        ));
    }

    #[test]
    fn times_must_be_beijing_local_in_the_exact_shape() {
        for bad in [
            "2025-11-08T09:30:00Z",
            "2025-11-08 09:30:00+08:00",
            "2025-11-08T09:30+08:00",
            "2025-11-31T09:30:00+08:00",
        ] {
            let text = mutated(|t| {
                event(t, 0).insert("start".into(), bad.into());
            });
            assert!(
                invalid_message(OpenDays::parse(&text))
                    .contains("is not YYYY-MM-DDTHH:MM:SS+08:00"),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_host_uscc_fails() {
        // Last character changed: the GB 32100 check character no longer matches.
        let text = mutated(|t| {
            event(t, 0).insert("host_uscc".into(), "91110105MA0EX01A8D".into());
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("check character"));
        // A valid code registered outside Beijing (Fujian, 35xxxx).
        let text = mutated(|t| {
            event(t, 0).insert("host_uscc".into(), "91350100M000100Y43".into());
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("registered in Beijing"));
    }

    #[test]
    fn unknown_district_or_topic_fails() {
        let text = mutated(|t| {
            event(t, 0).insert("district".into(), "110103".into());
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("unknown district"));
        let text = mutated(|t| {
            event(t, 0)["topics"]
                .as_array_mut()
                .unwrap()
                .push("noise".into());
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("topic"));
    }

    #[test]
    fn id_must_carry_the_start_month_and_deadline_precede_the_event() {
        let text = mutated(|t| {
            event(t, 0).insert("id".into(), "2025-12-chaoyang-msw-incinerator".into());
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("must be 2025-11-"));
        let text = mutated(|t| {
            let reg = event(t, 0)["registration"].as_table_mut().unwrap();
            reg.insert("deadline".into(), "2025-11-09".into());
        });
        assert!(invalid_message(OpenDays::parse(&text)).contains("registration closes after"));
    }
}
