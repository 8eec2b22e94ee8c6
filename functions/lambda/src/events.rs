//! The events the two functions accept, parsed from the raw JSON payload.
//!
//! The handlers take `serde_json::Value` and parse here, so that an unexpected payload is a
//! readable `InvalidEvent` naming what is missing, rather than a deserializer's type name.
//!
//! - ingest: an EventBridge `Object Created` event from S3 (`detail.bucket.name`,
//!   `detail.object.key`; the key as stored), or an S3 event notification (`Records[]`,
//!   `s3.bucket.name`, `s3.object.key` URL-encoded with `+` for a space).
//! - nightly: an EventBridge Scheduler / EventBridge `Scheduled Event`, with an optional
//!   `detail.date` (`YYYY-MM-DD`) for re-running a given night; other `detail` fields (the
//!   scheduler's `attempt`) are ignored.
//! - fanout: the state machine's `{"step": ...}` events, parsed in [`crate::fanout`] (its
//!   plan step carries the nightly's Scheduled Event, parsed here).

use chrono::NaiveDate;
use serde_json::Value;

/// An event that cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct EventError(pub String);

/// One object the ingest function is asked to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
    /// When S3 created the object (the event's `time` / record's `eventTime`), used as the
    /// file's arrival time: the same on every redelivery of the event.
    pub time: Option<String>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, name| v.get(name))
        .and_then(Value::as_str)
}

/// Parses an ingest event into the objects it names.
pub fn parse_object_created(event: &Value) -> Result<Vec<ObjectCreated>, EventError> {
    if let Some(records) = event.get("Records") {
        let records = records
            .as_array()
            .ok_or_else(|| EventError("Records is not a list".into()))?;
        if records.is_empty() {
            return Err(EventError("Records is empty".into()));
        }
        let mut out = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let name = str_at(r, &["eventName"]).unwrap_or("");
            if !name.starts_with("ObjectCreated:") {
                return Err(EventError(format!(
                    "Records[{i}].eventName is {name:?}, expected ObjectCreated:*"
                )));
            }
            let bucket = str_at(r, &["s3", "bucket", "name"])
                .ok_or_else(|| EventError(format!("Records[{i}].s3.bucket.name is missing")))?;
            let raw_key = str_at(r, &["s3", "object", "key"])
                .ok_or_else(|| EventError(format!("Records[{i}].s3.object.key is missing")))?;
            let key = url_decode_key(raw_key)
                .map_err(|e| EventError(format!("Records[{i}].s3.object.key: {e}")))?;
            out.push(ObjectCreated {
                bucket: bucket.to_string(),
                key,
                time: str_at(r, &["eventTime"]).map(str::to_string),
            });
        }
        return Ok(out);
    }
    let detail_type = str_at(event, &["detail-type"]);
    if detail_type != Some("Object Created") || str_at(event, &["source"]) != Some("aws.s3") {
        return Err(EventError(format!(
            "expected an EventBridge \"Object Created\" event from aws.s3 or an S3 notification with Records, got detail-type {:?}, source {:?}",
            detail_type.unwrap_or("(none)"),
            str_at(event, &["source"]).unwrap_or("(none)")
        )));
    }
    let bucket = str_at(event, &["detail", "bucket", "name"])
        .ok_or_else(|| EventError("detail.bucket.name is missing".into()))?;
    let key = str_at(event, &["detail", "object", "key"])
        .ok_or_else(|| EventError("detail.object.key is missing".into()))?;
    Ok(vec![ObjectCreated {
        bucket: bucket.to_string(),
        key: key.to_string(),
        time: str_at(event, &["time"]).map(str::to_string),
    }])
}

/// Decodes an S3 notification key: `%XX` escapes and `+` for a space, strictly (a broken
/// escape or bytes that are not UTF-8 are an error, never guessed).
pub fn url_decode_key(key: &str) -> Result<String, String> {
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("broken %-escape at byte {i} of {key:?}"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{key:?} does not decode to UTF-8"))
}

/// A nightly event: which night to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// `detail.date`: re-runs that night.
    pub date: Option<NaiveDate>,
    /// The event's `time` (the schedule's firing time): without `detail.date`, the night
    /// run is the day before this instant's date in Beijing.
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// The event id (the scheduler's execution id), for the logs.
    pub id: Option<String>,
}

/// Parses a nightly event. Accepts EventBridge Scheduler's and EventBridge's `Scheduled
/// Event` envelopes, and (for a hand-run invocation) any object with an optional
/// `detail.date`.
pub fn parse_scheduled(event: &Value) -> Result<Scheduled, EventError> {
    if !event.is_object() {
        return Err(EventError(format!(
            "expected a JSON object (a Scheduled Event), got {}",
            short(event)
        )));
    }
    if let Some(t) = str_at(event, &["detail-type"])
        && t != "Scheduled Event"
    {
        return Err(EventError(format!(
            "detail-type is {t:?}, expected \"Scheduled Event\""
        )));
    }
    let date = match event.get("detail").and_then(|d| d.get("date")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == *s)
                .ok_or_else(|| {
                    EventError(format!(
                        "detail.date {s:?} is not a calendar date YYYY-MM-DD"
                    ))
                })?,
        ),
        Some(other) => {
            return Err(EventError(format!(
                "detail.date must be a \"YYYY-MM-DD\" string, got {}",
                short(other)
            )));
        }
    };
    let time = match str_at(event, &["time"]) {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| EventError(format!("time {t:?} is not an RFC 3339 timestamp: {e}")))?,
        ),
    };
    Ok(Scheduled {
        date,
        time,
        id: str_at(event, &["id"]).map(str::to_string),
    })
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.floor_char_boundary(80)])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A small deterministic generator (xorshift64*) for the hostile-event test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn text(&mut self) -> String {
            const PIECES: [&str; 16] = [
                "raw/",
                "msw/",
                "2026-01-31/",
                "2099-01-01",
                "%",
                "%2",
                "%zz",
                "%E4%B8%AD",
                "+",
                "中",
                "\u{0}",
                "../",
                "a.csv",
                "T18:00:00Z",
                "2026-02-30",
                "\u{1F4A9}",
            ];
            (0..self.below(6))
                .map(|_| PIECES[self.below(PIECES.len())])
                .collect()
        }
        fn value(&mut self, depth: u32) -> Value {
            match self.below(if depth > 2 { 5 } else { 7 }) {
                0 => Value::Null,
                1 => json!(self.next() as i64),
                2 => json!(f64::from(self.next() as u32) / 7.0),
                3 | 4 => Value::String(self.text()),
                5 => Value::Array((0..self.below(3)).map(|_| self.value(depth + 1)).collect()),
                _ => {
                    let mut m = serde_json::Map::new();
                    for _ in 0..self.below(4) {
                        m.insert(self.text(), self.value(depth + 1));
                    }
                    Value::Object(m)
                }
            }
        }
    }

    /// Replaces one value somewhere in `v` by a random one, or deletes an object member.
    fn mutate(v: &mut Value, rng: &mut Rng) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let keys: Vec<String> = m.keys().cloned().collect();
                let k = &keys[rng.below(keys.len())];
                match rng.below(4) {
                    0 => {
                        m.remove(k);
                    }
                    1 => {
                        m.insert(k.clone(), rng.value(0));
                    }
                    _ => mutate(m.get_mut(k).unwrap(), rng),
                }
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                mutate(&mut a[i], rng)
            }
            other => *other = rng.value(0),
        }
    }

    #[test]
    fn hostile_events_are_errors_never_panics() {
        let fixtures: Vec<Value> = [
            include_str!("../tests/fixtures/s3-notification-records.json"),
            include_str!("../tests/fixtures/s3-object-created-eventbridge.json"),
            include_str!("../tests/fixtures/scheduler-scheduled-event.json"),
            include_str!("../tests/fixtures/fanout-plan.json"),
            include_str!("../tests/fixtures/fanout-task.json"),
            include_str!("../tests/fixtures/fanout-reduce.json"),
        ]
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
        let mut rng = Rng(2021);
        let (mut ok, mut refused) = (0u32, 0u32);
        for i in 0..20_000 {
            let mut event = fixtures[i % fixtures.len()].clone();
            for _ in 0..=rng.below(3) {
                mutate(&mut event, &mut rng);
            }
            // Every outcome is a value or an error with a message; none panics.
            for result in [
                parse_object_created(&event).map(|_| ()),
                parse_scheduled(&event).map(|_| ()),
                crate::fanout::parse_step(&event).map(|_| ()),
            ] {
                match result {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        assert!(!e.to_string().is_empty());
                        refused += 1;
                    }
                }
            }
            let key = rng.text();
            if let Err(message) = url_decode_key(&key) {
                assert!(!message.is_empty());
            }
        }
        // The mutations reach both outcomes (the test is not vacuous).
        assert!(ok > 1_000 && refused > 1_000, "ok {ok}, refused {refused}");
    }

    #[test]
    fn decodes_notification_keys() {
        assert_eq!(
            url_decode_key("raw/msw/2026-01-31/red+flower%2B1.csv").unwrap(),
            "raw/msw/2026-01-31/red flower+1.csv"
        );
        assert_eq!(
            url_decode_key("raw/%E8%87%AA%E8%A1%8C.csv").unwrap(),
            "raw/自行.csv"
        );
        assert!(url_decode_key("raw/%ZZ.csv").is_err());
        assert!(url_decode_key("raw/%E8.csv").is_err());
        assert!(url_decode_key("raw/%4").is_err());
    }

    #[test]
    fn reads_eventbridge_object_created() {
        let e = json!({"detail-type": "Object Created", "source": "aws.s3", "time": "2026-02-01T00:10:00Z",
            "detail": {"bucket": {"name": "ev"}, "object": {"key": "raw/msw/2026-01-31/msw.csv"}}});
        assert_eq!(
            parse_object_created(&e).unwrap(),
            vec![ObjectCreated {
                bucket: "ev".into(),
                key: "raw/msw/2026-01-31/msw.csv".into(),
                time: Some("2026-02-01T00:10:00Z".into())
            }]
        );
        let deleted = json!({"detail-type": "Object Deleted", "source": "aws.s3", "detail": {}});
        assert!(parse_object_created(&deleted).is_err());
        let no_key = json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": "ev"}}});
        assert_eq!(
            parse_object_created(&no_key).unwrap_err().to_string(),
            "invalid event: detail.object.key is missing"
        );
    }

    #[test]
    fn reads_notification_records() {
        let e = json!({"Records": [
            {"eventName": "ObjectCreated:Put", "eventTime": "2026-02-01T00:10:00.000Z",
             "s3": {"bucket": {"name": "ev"}, "object": {"key": "raw/msw/2026-01-31/a+b.csv"}}},
            {"eventName": "ObjectCreated:CompleteMultipartUpload",
             "s3": {"bucket": {"name": "ev"}, "object": {"key": "raw/x"}}}]});
        let objects = parse_object_created(&e).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].key, "raw/msw/2026-01-31/a b.csv");
        assert_eq!(objects[1].time, None);
        let removed = json!({"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {}}]});
        assert!(parse_object_created(&removed).is_err());
        assert!(parse_object_created(&json!({"Records": []})).is_err());
    }

    #[test]
    fn reads_the_scheduled_date() {
        let e = json!({"detail-type": "Scheduled Event", "id": "x", "detail": {"attempt": "1"}});
        assert_eq!(
            parse_scheduled(&e).unwrap(),
            Scheduled {
                date: None,
                time: None,
                id: Some("x".into())
            }
        );
        // The schedule's firing time names the night: 2026-01-31T18:00Z is 02:00 on
        // 1 February in Beijing, so the night of 31 January; 15:59Z is still 31 January
        // (23:59 in Beijing), so the night of the 30th.
        for (time, night) in [
            ("2026-01-31T18:00:00Z", (2026, 1, 31)),
            ("2026-01-31T15:59:59Z", (2026, 1, 30)),
            ("2026-01-31T16:00:00Z", (2026, 1, 31)),
        ] {
            let e = json!({"detail-type": "Scheduled Event", "time": time, "detail": {}});
            let at = parse_scheduled(&e).unwrap().time.unwrap();
            assert_eq!(
                envgov_pipeline::jobs::scheduled_night(at),
                NaiveDate::from_ymd_opt(night.0, night.1, night.2).unwrap(),
                "{time}"
            );
        }
        let e = json!({"detail-type": "Scheduled Event", "time": "<aws.scheduler.scheduled-time>"});
        assert!(
            parse_scheduled(&e).is_err(),
            "an unfilled template is an invalid event"
        );
        let e = json!({"detail-type": "Scheduled Event", "detail": {"date": "2026-01-31"}});
        assert_eq!(
            parse_scheduled(&e).unwrap().date,
            NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        for bad in ["2026-02-30", "2026-1-31", "yesterday"] {
            let e = json!({"detail": {"date": bad}});
            assert!(parse_scheduled(&e).is_err(), "{bad}");
        }
        assert!(parse_scheduled(&json!({"detail": {"date": 20260131}})).is_err());
        assert!(parse_scheduled(&json!("2026-01-31")).is_err());
        assert!(parse_scheduled(&json!({"detail-type": "Object Created"})).is_err());
        assert_eq!(parse_scheduled(&json!({})).unwrap().date, None);
    }
}
