//! A unit's daily online-monitoring values over the period the site shows, per outlet and
//! pollutant, for the charts of its page: read from the unit's month files of `cems-daily`
//! (the CSV files the release places at `downloads/enterprises/{uscc}/cems-daily-{YYYY-MM}.csv`,
//! each the unit's rows of the published month, byte for byte).
//!
//! Stage: rendering, pure (the bytes come from [`crate::inputs::MonthFiles`]). One unit's
//! rows are held at a time. Every value a chart draws keeps the text it has in the dataset
//! (`52.3`, `true`, empty for null): the chart's CSV is those cells, never numbers formatted
//! again, so that it equals the dataset's rows cell for cell.

use crate::error::{BadCell, SiteError};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// The columns of `cems-daily` a chart draws (with the keys of its rows), in the order of the
/// chart's CSV.
pub const COLUMNS: [&str; 9] = [
    "date",
    "uscc",
    "outlet",
    "pollutant",
    "valid_hours",
    "value_sum",
    "daily_mean",
    "daily_limit",
    "daily_compliant",
];

const DATE: usize = 0;
const OUTLET: usize = 2;
const POLLUTANT: usize = 3;
const VALID_HOURS: usize = 4;
const VALUE_SUM: usize = 5;
const DAILY_MEAN: usize = 6;
const DAILY_LIMIT: usize = 7;
const COMPLIANT: usize = 8;

/// One day of one outlet and pollutant: the dataset's cells of [`COLUMNS`] and what they say.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// The cells of [`COLUMNS`], as written in the dataset.
    pub cells: [String; 9],
    pub date: NaiveDate,
    pub valid_hours: u32,
    pub value_sum: Option<f64>,
    pub mean: Option<f64>,
    /// The daily limit in force that day (winter limits included), as the dataset applied it.
    pub limit: Option<f64>,
    /// `Some(false)`: the daily mean exceeded the limit.
    pub compliant: Option<bool>,
    /// The standard the row was judged by (its `standard` column; empty when the file has
    /// none): where the limit's rule and a range's lower bound come from.
    pub standard: String,
}

impl Day {
    pub fn exceeded(&self) -> bool {
        self.compliant == Some(false)
    }
}

/// The days of one outlet and pollutant, in date order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub outlet: String,
    pub pollutant: String,
    pub days: Vec<Day>,
}

/// Where a cell came from, for errors.
struct Place<'a> {
    dataset: &'a str,
    uscc: &'a str,
    month: &'a str,
}

impl Place<'_> {
    fn error(&self, line: u64, field: &str, value: &str, reason: &str) -> SiteError {
        SiteError::MonthFile(Box::new(BadCell {
            dataset: self.dataset.to_string(),
            uscc: self.uscc.to_string(),
            month: self.month.to_string(),
            line,
            field: field.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }))
    }
}

/// Reads a unit's month files of `cems-daily` (`(month, bytes)`, any order) into its series,
/// by outlet and pollutant, each in date order. A file is UTF-8 CSV with a byte-order mark
/// and a header naming at least [`COLUMNS`]; a row of another unit, a bad date or number is
/// an error naming the file, line, field and value.
pub fn read(
    dataset: &str,
    uscc: &str,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<Series>, SiteError> {
    let mut by_key: BTreeMap<(String, String), Vec<Day>> = BTreeMap::new();
    for (month, bytes) in files {
        let place = Place {
            dataset,
            uscc,
            month,
        };
        for day in read_month(&place, bytes)? {
            by_key
                .entry((day.cells[OUTLET].clone(), day.cells[POLLUTANT].clone()))
                .or_default()
                .push(day);
        }
    }
    Ok(by_key
        .into_iter()
        .map(|((outlet, pollutant), mut days)| {
            days.sort_by_key(|d| d.date);
            Series {
                outlet,
                pollutant,
                days,
            }
        })
        .collect())
}

fn read_month(place: &Place<'_>, bytes: &[u8]) -> Result<Vec<Day>, SiteError> {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .ok_or_else(|| place.error(1, "", "", "no UTF-8 byte-order mark"))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(body);
    let header = reader
        .headers()
        .map_err(|e| place.error(1, "", "", &e.to_string()))?
        .clone();
    let standard = header.iter().position(|h| h == "standard");
    let mut index = [0usize; 9];
    for (i, name) in COLUMNS.iter().enumerate() {
        index[i] = header
            .iter()
            .position(|h| h == *name)
            .ok_or_else(|| place.error(1, name, "", "column missing from the header"))?;
    }
    let mut days = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut lines = Lines {
        body,
        byte: 0,
        line: 1,
    };
    loop {
        let line = lines.at(reader.position().byte());
        let more = (reader.read_record(&mut record))
            .map_err(|e| place.error(line, "", "", &e.to_string()))?;
        if !more {
            break;
        }
        let cells: [String; 9] = index.map(|i| record.get(i).unwrap_or("").to_string());
        let mut d = day(place, line, cells)?;
        d.standard = standard
            .and_then(|i| record.get(i))
            .unwrap_or("")
            .to_string();
        days.push(d);
    }
    Ok(days)
}

/// Line numbers of record starts, counted as the reader moves forward (each byte once).
struct Lines<'a> {
    body: &'a [u8],
    /// Bytes counted so far, and the line the next byte is on.
    byte: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line (from 1, as editors count LF and CRLF lines) of the record that starts at
    /// `byte` of the file after its byte-order mark. The reader ends a record at the `\r`
    /// of its CRLF and starts the next at the `\n`.
    fn at(&mut self, byte: u64) -> u64 {
        let mut start = (byte as usize).min(self.body.len());
        if self.body.get(start) == Some(&b'\n') {
            start += 1;
        }
        if start > self.byte {
            let counted = self.body[self.byte..start].iter().filter(|b| **b == b'\n');
            self.line += counted.count() as u64;
            self.byte = start;
        }
        self.line
    }
}

fn day(place: &Place<'_>, line: u64, cells: [String; 9]) -> Result<Day, SiteError> {
    let bad = |i: usize, reason: &str| place.error(line, COLUMNS[i], &cells[i], reason);
    if cells[1] != place.uscc {
        return Err(bad(1, "a row of another unit in the unit's file"));
    }
    let date = NaiveDate::parse_from_str(&cells[DATE], "%Y-%m-%d")
        .map_err(|_| bad(DATE, "not a date (YYYY-MM-DD)"))?;
    if !cells[DATE].starts_with(place.month) {
        return Err(bad(DATE, "a day of another month in the month's file"));
    }
    let number = |i: usize| -> Result<Option<f64>, SiteError> {
        match cells[i].as_str() {
            "" => Ok(None),
            s => s
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| bad(i, "not a number")),
        }
    };
    let compliant = match cells[COMPLIANT].as_str() {
        "" => None,
        "true" => Some(true),
        "false" => Some(false),
        _ => return Err(bad(COMPLIANT, "not true, false or empty")),
    };
    Ok(Day {
        valid_hours: cells[VALID_HOURS]
            .parse()
            .ok()
            .filter(|h| *h <= 24)
            .ok_or_else(|| bad(VALID_HOURS, "not a number of hours from 0 to 24"))?,
        value_sum: number(VALUE_SUM)?,
        mean: number(DAILY_MEAN)?,
        limit: number(DAILY_LIMIT)?,
        compliant,
        date,
        cells,
        standard: String::new(),
    })
}

/// The days of a period, first to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// Days in the period (at least 1).
    pub fn days(&self) -> usize {
        ((self.last - self.first).num_days().max(0) + 1) as usize
    }

    /// The position of a day in the period (0 = first).
    pub fn index(&self, d: NaiveDate) -> Option<usize> {
        let i = (d - self.first).num_days();
        (i >= 0 && (i as usize) < self.days()).then_some(i as usize)
    }

    pub fn day(&self, index: usize) -> NaiveDate {
        self.first + chrono::Days::new(index as u64)
    }
}

/// Calendar months a chart covers at most: the data date's and the eleven before it.
pub const MONTHS_SHOWN: u32 = 12;

impl Period {
    /// From the first day of the earliest month with data, but no earlier than the first
    /// day of the month [`MONTHS_SHOWN`] − 1 months before the data date's, to the data date
    /// (`None` when the earliest month starts after it).
    pub fn up_to(earliest_month: NaiveDate, data_date: NaiveDate) -> Option<Period> {
        let this_month = data_date.with_day(1)?;
        let floor = this_month.checked_sub_months(chrono::Months::new(MONTHS_SHOWN - 1))?;
        let first = earliest_month.with_day(1)?.max(floor);
        (first <= data_date).then_some(Period {
            first,
            last: data_date,
        })
    }

    /// Whether any day of a month (`YYYY-MM`) is in the period.
    pub fn has_month(&self, month: &str) -> bool {
        let (first, last) = (
            self.first.format("%Y-%m").to_string(),
            self.last.format("%Y-%m").to_string(),
        );
        first.as_str() <= month && month <= last.as_str()
    }
}

/// One stretch of the limit line: the same value over days `from..=to` (positions in the
/// period).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitStep {
    pub from: usize,
    pub to: usize,
    pub value: f64,
}

/// The limit in force on each day of the period, as runs of one value: on a day with a row,
/// the row's limit (what the exceedance check used); on a day without one, `standard`'s
/// limit for that day (the same rule: winter values from December to March). A day with no
/// limit breaks the line.
pub fn limit_steps(
    series: &Series,
    period: Period,
    standard: impl Fn(NaiveDate) -> Option<f64>,
) -> Vec<LimitStep> {
    let mut by_day: Vec<Option<f64>> = (0..period.days())
        .map(|i| standard(period.day(i)))
        .collect();
    for d in &series.days {
        if let Some(i) = period.index(d.date) {
            by_day[i] = d.limit;
        }
    }
    let mut steps: Vec<LimitStep> = Vec::new();
    for (i, v) in by_day.into_iter().enumerate() {
        let Some(value) = v else { continue };
        match steps.last_mut() {
            Some(s) if s.to + 1 == i && s.value == value => s.to = i,
            _ => steps.push(LimitStep {
                from: i,
                to: i,
                value,
            }),
        }
    }
    steps
}

/// What a chart's text summary says of a series over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Days with a row, and days with a daily mean.
    pub days_with_rows: usize,
    pub days_with_mean: usize,
    /// The lowest and highest daily mean (the first such day of equals), when any.
    pub min: Option<(NaiveDate, f64)>,
    pub max: Option<(NaiveDate, f64)>,
    /// Every valid hourly value of the period averaged: the sum of the days' `value_sum`
    /// over the sum of their valid hours (not an average of daily means).
    pub mean: Option<f64>,
    pub valid_hours: u64,
    /// Valid hours over the hours of the period (24 a day).
    pub coverage: f64,
    /// The days whose daily mean exceeded the limit (their positions in the series' days).
    pub exceeded: Vec<usize>,
}

pub fn stats(series: &Series, period: Period) -> Stats {
    let days: Vec<&Day> = (series.days.iter())
        .filter(|d| period.index(d.date).is_some())
        .collect();
    let means = || days.iter().filter_map(|d| d.mean.map(|m| (d.date, m)));
    let min = means().reduce(|a, b| if b.1 < a.1 { b } else { a });
    let max = means().reduce(|a, b| if b.1 > a.1 { b } else { a });
    let valid_hours: u64 = days.iter().map(|d| u64::from(d.valid_hours)).sum();
    let sum: f64 = days.iter().filter_map(|d| d.value_sum).sum();
    Stats {
        days_with_rows: days.len(),
        days_with_mean: means().count(),
        min,
        max,
        mean: (valid_hours > 0).then(|| sum / valid_hours as f64),
        valid_hours,
        coverage: valid_hours as f64 / (24 * period.days()) as f64,
        exceeded: (series.days.iter().enumerate())
            .filter(|(_, d)| d.exceeded() && period.index(d.date).is_some())
            .map(|(i, _)| i)
            .collect(),
    }
}

/// The chart's CSV: the header [`COLUMNS`] and the series' rows with their cells as in the
/// dataset, in the dataset's own CSV format (UTF-8 with a byte-order mark, CRLF, RFC 4180
/// quoting).
pub fn csv(series: &Series) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to memory cannot fail.
        let _ = w.write_record(COLUMNS);
        for d in &series.days {
            let _ = w.write_record(&d.cells);
        }
        let _ = w.flush();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "date,month,uscc,outlet,pollutant,valid_hours,value_sum,daily_mean,daily_limit,daily_compliant,mass_kg";

    fn file(rows: &[&str]) -> Vec<u8> {
        let mut s = format!("\u{feff}{HEADER}\r\n");
        for r in rows {
            s.push_str(r);
            s.push_str("\r\n");
        }
        s.into_bytes()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// NH3-N at a sewage outlet over the end of March (winter limit 2.5) into April (1.5):
    /// 31 March exceeds nothing at 2.2; 2 April is over at 1.8; 3 April has too few hours
    /// for a mean; 1 April has no row.
    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            (
                "2026-04".into(),
                file(&[
                    "2026-04-02,2026-04,U1,DW001,w21003,24,43.2,1.8,1.5,false,0.5",
                    "2026-04-03,2026-04,U1,DW001,w21003,12,13.2,,1.5,,0.2",
                    "2026-04-02,2026-04,U1,DW001,w01001,24,180,7.5,9,true,0",
                ]),
            ),
            (
                "2026-03".into(),
                file(&[
                    "2026-03-30,2026-03,U1,DW001,w21003,20,40,2,2.5,true,0.4",
                    "2026-03-31,2026-03,U1,DW001,w21003,24,52.8,2.2,2.5,true,0.6",
                ]),
            ),
        ]
    }

    #[test]
    fn a_units_month_files_become_series_by_outlet_and_pollutant_in_date_order() {
        let series = read("cems-daily", "U1", &files()).unwrap();
        let keys: Vec<(&str, &str, usize)> = (series.iter())
            .map(|s| (s.outlet.as_str(), s.pollutant.as_str(), s.days.len()))
            .collect();
        assert_eq!(keys, [("DW001", "w01001", 1), ("DW001", "w21003", 4)]);
        let nh3n = &series[1];
        let dates: Vec<&str> = nh3n.days.iter().map(|d| d.cells[0].as_str()).collect();
        assert_eq!(
            dates,
            ["2026-03-30", "2026-03-31", "2026-04-02", "2026-04-03"]
        );
        assert_eq!(nh3n.days[2].mean, Some(1.8));
        assert_eq!(nh3n.days[2].limit, Some(1.5));
        assert!(nh3n.days[2].exceeded());
        assert_eq!((nh3n.days[3].mean, nh3n.days[3].compliant), (None, None));
        // No standard column in these files.
        assert_eq!(nh3n.days[0].standard, "");
    }

    #[test]
    fn the_limit_line_steps_where_the_winter_limit_ends_and_fills_a_day_without_a_row() {
        let series = read("cems-daily", "U1", &files()).unwrap();
        let period = Period {
            first: d("2026-03-30"),
            last: d("2026-04-04"),
        };
        // The standard's rule for days without a row: 2.5 in winter (to 31 March), then 1.5.
        let standard = |day: NaiveDate| Some(if day.month() <= 3 { 2.5 } else { 1.5 });
        let steps = limit_steps(&series[1], period, standard);
        // 30-31 March at 2.5; 1 April (no row, from the standard) to 4 April (no row) at 1.5.
        assert_eq!(
            steps,
            [
                LimitStep {
                    from: 0,
                    to: 1,
                    value: 2.5
                },
                LimitStep {
                    from: 2,
                    to: 5,
                    value: 1.5
                }
            ]
        );
        // Without a standard, a day without a row has no limit: the line breaks there.
        let steps = limit_steps(&series[1], period, |_| None);
        let runs: Vec<(usize, usize)> = steps.iter().map(|s| (s.from, s.to)).collect();
        assert_eq!(runs, [(0, 1), (3, 4)]);
    }

    #[test]
    fn a_period_starts_with_the_earliest_month_but_covers_twelve_months_at_most() {
        // Data from January, data date 31 March: 1 January to 31 March.
        let p = Period::up_to(d("2026-01-01"), d("2026-03-31")).unwrap();
        assert_eq!(
            (p.first, p.last, p.days()),
            (d("2026-01-01"), d("2026-03-31"), 90)
        );
        // Two years of months, data date 14 February 2027: from 1 March 2026 (the month
        // eleven months before February 2027) to 14 February 2027.
        let p = Period::up_to(d("2025-01-01"), d("2027-02-14")).unwrap();
        assert_eq!(p.first, d("2026-03-01"));
        assert!(p.has_month("2026-03") && p.has_month("2027-02"));
        assert!(!p.has_month("2026-02") && !p.has_month("2027-03"));
        // A month after the data date: nothing to chart.
        assert_eq!(Period::up_to(d("2026-04-01"), d("2026-03-31")), None);
    }

    #[test]
    fn stats_are_computed_from_the_days_not_from_averages_of_averages() {
        let series = read("cems-daily", "U1", &files()).unwrap();
        let period = Period {
            first: d("2026-03-30"),
            last: d("2026-04-04"),
        };
        let s = stats(&series[1], period);
        assert_eq!((s.days_with_rows, s.days_with_mean), (4, 3));
        assert_eq!(s.min, Some((d("2026-04-02"), 1.8)));
        assert_eq!(s.max, Some((d("2026-03-31"), 2.2)));
        // (40 + 52.8 + 43.2 + 13.2) / (20 + 24 + 24 + 12) = 149.2 / 80 = 1.865.
        assert!((s.mean.unwrap() - 1.865).abs() < 1e-12, "{:?}", s.mean);
        assert_eq!(s.valid_hours, 80);
        // 80 valid hours of 6 days x 24 = 144.
        assert!((s.coverage - 80.0 / 144.0).abs() < 1e-12);
        assert_eq!(s.exceeded, [2]);
    }

    #[test]
    fn the_csv_is_the_datasets_cells_of_the_drawn_columns() {
        let series = read("cems-daily", "U1", &files()).unwrap();
        let text = String::from_utf8(csv(&series[1])).unwrap();
        assert_eq!(
            text,
            "\u{feff}date,uscc,outlet,pollutant,valid_hours,value_sum,daily_mean,daily_limit,daily_compliant\r\n\
             2026-03-30,U1,DW001,w21003,20,40,2,2.5,true\r\n\
             2026-03-31,U1,DW001,w21003,24,52.8,2.2,2.5,true\r\n\
             2026-04-02,U1,DW001,w21003,24,43.2,1.8,1.5,false\r\n\
             2026-04-03,U1,DW001,w21003,12,13.2,,1.5,\r\n"
        );
    }

    #[test]
    fn bad_cells_are_named_with_file_line_field_and_value() {
        let bad = |row: &str| {
            let files = vec![("2026-04".to_string(), file(&[row]))];
            read("cems-daily", "U1", &files).unwrap_err().to_string()
        };
        let e = bad("2026-04-02,2026-04,U1,DW001,w21003,24,43.2,1.8x,1.5,false,0.5");
        assert!(
            e.contains("U1")
                && e.contains("2026-04")
                && e.contains("line 2")
                && e.contains("daily_mean")
                && e.contains("\"1.8x\"")
                && e.contains("not a number"),
            "{e}"
        );
        // The third line of the file: a good row, then a bad one.
        let files = vec![(
            "2026-04".to_string(),
            file(&[
                "2026-04-01,2026-04,U1,DW001,w21003,24,43.2,1.8,1.5,false,0.5",
                "2026-04-02,2026-04,U1,DW001,w21003,x,43.2,1.8,1.5,false,0.5",
            ]),
        )];
        let e = read("cems-daily", "U1", &files).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("valid_hours"), "{e}");
        let e = bad("2026-04-02,2026-04,U2,DW001,w21003,24,43.2,1.8,1.5,false,0.5");
        assert!(e.contains("another unit"), "{e}");
        let e = bad("2026-05-02,2026-04,U1,DW001,w21003,24,43.2,1.8,1.5,false,0.5");
        assert!(e.contains("another month"), "{e}");
        let e = bad("2026-04-02,2026-04,U1,DW001,w21003,25,43.2,1.8,1.5,false,0.5");
        assert!(e.contains("valid_hours"), "{e}");
        let no_column = vec![(
            "2026-04".to_string(),
            "\u{feff}date,uscc\r\n".as_bytes().to_vec(),
        )];
        let e = read("cems-daily", "U1", &no_column)
            .unwrap_err()
            .to_string();
        assert!(e.contains("outlet") && e.contains("missing"), "{e}");
        let no_bom = vec![("2026-04".to_string(), HEADER.as_bytes().to_vec())];
        assert!(read("cems-daily", "U1", &no_bom).is_err());
    }
}
