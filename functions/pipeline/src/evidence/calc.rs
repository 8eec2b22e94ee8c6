//! An exceedance's calculation written out step by step, from the values it rests on: the
//! 24 hourly means of a daily exceedance (valid hours, sum, mean), or the one hourly value or
//! sample; the limit; the multiple `(value − limit) / limit`, rounded to 6 decimals as the
//! README's aggregation rules say.
//!
//! Stage: none (pure values in, values out).

use crate::table::round;
use envgov_dataset::Localized;
use serde::{Deserialize, Serialize};

/// The fewest valid hourly means a daily mean needs (the README's aggregation rules).
pub use crate::aggregate::MIN_VALID_HOURS_PER_DAY;

/// One hourly mean of a daily exceedance's day, as validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourlyValue {
    pub observed_at: String,
    pub value: Option<f64>,
    pub valid: bool,
    pub flag: Option<String>,
    pub excluded_reason: Option<String>,
    pub raw_key: String,
    pub raw_line: i64,
}

/// The limit an exceedance is judged against, with where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitSource {
    pub value: f64,
    /// `hourly`, `daily` or `sample`.
    pub period: String,
    /// `data/standards.toml`'s id and the standard's code and title.
    pub standard_id: String,
    pub standard_code: String,
    pub standard_title: Localized,
    /// The clause (table) of the standard that sets the limit, in both languages
    /// (`data/standards.toml`).
    pub clause: Localized,
    /// `V` the clause is named by a cited source, `M` illustrative.
    pub clause_confidence: String,
    /// `V` checked against a cited source, `M` illustrative.
    pub confidence: String,
    /// The pollutant's code, names and unit.
    pub pollutant: String,
    pub pollutant_name: Localized,
    pub unit: String,
}

/// The numbers of a calculation (what `calculation.json` holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calculation {
    pub period: String,
    /// Daily: hours reported, valid hours and the sum of the valid hourly means.
    pub hours_reported: Option<u64>,
    pub valid_hours: Option<u64>,
    pub sum: Option<f64>,
    /// The value judged: the daily mean (sum / valid hours), the hourly mean or the sample.
    pub value: Option<f64>,
    pub value_rounded: Option<f64>,
    pub limit: f64,
    /// `(value − limit) / limit`, and rounded to 6 decimals.
    pub multiple: Option<f64>,
    pub multiple_rounded: Option<f64>,
    /// The value and multiple the exceedance register publishes.
    pub published_value: Option<f64>,
    pub published_multiple: Option<f64>,
    /// Whether the published numbers are those recomputed here.
    pub agrees: bool,
}

/// What is recomputed: a daily mean from its hours, or a single value.
pub enum Basis<'a> {
    Daily(&'a [HourlyValue]),
    Single(Option<f64>),
}

/// Recomputes an exceedance from its basis and limit; `published` is the register's value
/// and multiple.
pub fn calculate(
    period: &str,
    basis: Basis<'_>,
    limit: f64,
    published: (Option<f64>, Option<f64>),
) -> Calculation {
    let (hours_reported, valid_hours, sum, value) = match basis {
        Basis::Daily(hours) => {
            let valid: Vec<f64> = hours
                .iter()
                .filter(|h| h.valid)
                .filter_map(|h| h.value)
                .collect();
            let sum: f64 = valid.iter().sum();
            let n = valid.len() as u64;
            let mean = (n as i64 >= MIN_VALID_HOURS_PER_DAY).then(|| sum / n as f64);
            (Some(hours.len() as u64), Some(n), Some(sum), mean)
        }
        Basis::Single(v) => (None, None, None, v),
    };
    let value_rounded = value.map(|v| round(v, 6));
    let multiple = value.map(|v| (v - limit) / limit);
    let multiple_rounded = multiple.map(|m| round(m, 6));
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * a.abs().max(1.0),
        (None, None) => true,
        _ => false,
    };
    let agrees = close(value_rounded, published.0) && close(multiple_rounded, published.1);
    Calculation {
        period: period.to_string(),
        hours_reported,
        valid_hours,
        sum: sum.map(|s| round(s, 6)),
        value,
        value_rounded,
        limit,
        multiple,
        multiple_rounded,
        published_value: published.0,
        published_multiple: published.1,
        agrees,
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| v.to_string())
}

/// Numbered steps in both languages.
#[derive(Default)]
struct Steps {
    n: usize,
    zh: String,
    en: String,
}

impl Steps {
    fn push(&mut self, zh: String, en: String) {
        self.n += 1;
        self.zh.push_str(&format!("{}. {zh}\n", self.n));
        self.en.push_str(&format!("{}. {en}\n", self.n));
    }
}

/// Why an hour does not count, in words.
fn excluded(h: &HourlyValue, default: &str) -> String {
    h.excluded_reason
        .as_deref()
        .or(h.flag.as_deref())
        .unwrap_or(default)
        .to_string()
}

/// The day's hours, the valid hours, their sum and the mean.
fn daily_steps(steps: &mut Steps, c: &Calculation, unit: &str, hours: &[HourlyValue]) {
    let (Some(n), Some(valid), Some(sum)) = (c.hours_reported, c.valid_hours, c.sum) else {
        return;
    };
    let (mut zh, mut en) = (String::new(), String::new());
    for h in hours {
        let (state_zh, state_en) = if h.valid {
            ("有效".to_string(), "valid".to_string())
        } else {
            (
                format!("剔除（{}）", excluded(h, "无效")),
                format!("excluded ({})", excluded(h, "invalid")),
            )
        };
        let v = num(h.value);
        zh.push_str(&format!(
            "   {}  {v}  {state_zh}  {} 第 {} 行\n",
            h.observed_at, h.raw_key, h.raw_line
        ));
        en.push_str(&format!(
            "   {}  {v}  {state_en}  {} line {}\n",
            h.observed_at, h.raw_key, h.raw_line
        ));
    }
    steps.push(
        format!("当日报送的小时均值 {n} 个（{unit}）：\n{zh}"),
        format!("Hourly means reported that day: {n} ({unit}):\n{en}"),
    );
    steps.push(
        format!(
            "有效小时数 = {valid}（日均值至少需要 {MIN_VALID_HOURS_PER_DAY} 个有效小时均值；标记 F、M、D、C、T、B 的值被剔除，不按零计）"
        ),
        format!(
            "Valid hours = {valid} (a daily mean needs at least {MIN_VALID_HOURS_PER_DAY}; values flagged F, M, D, C, T or B are excluded, never counted as zero)"
        ),
    );
    steps.push(
        format!("有效小时均值之和 = {sum}"),
        format!("Sum of the valid hourly means = {sum}"),
    );
    let (mean, rounded) = (num(c.value), num(c.value_rounded));
    steps.push(
        format!("日均值 = 和 / 有效小时数 = {sum} / {valid} = {mean}，保留 6 位小数：{rounded}"),
        format!(
            "Daily mean = sum / valid hours = {sum} / {valid} = {mean}; rounded to 6 decimals: {rounded}"
        ),
    );
}

/// The limit, its standard and whether it is illustrative.
fn limit_step(steps: &mut Steps, c: &Calculation, limit: &LimitSource) {
    let unit = &limit.unit;
    let verified = limit.confidence == "V";
    let clause_checked = limit.clause_confidence == "V";
    let clause_zh = if clause_checked {
        limit.clause.zh.clone()
    } else {
        format!("{}（条款为示意，尚未与标准原文核对）", limit.clause.zh)
    };
    let clause_en = if clause_checked {
        limit.clause.en.clone()
    } else {
        format!(
            "{} (clause ILLUSTRATIVE, not yet checked against the standard's text)",
            limit.clause.en
        )
    };
    let note_zh = if verified {
        ""
    } else {
        "；示意值，尚未与标准原文核对"
    };
    let note_en = if verified {
        ""
    } else {
        "; ILLUSTRATIVE, not yet checked against the standard's text"
    };
    let period_zh = match limit.period.as_str() {
        "hourly" => "小时均值",
        "daily" => "日均值",
        _ => "单次监测",
    };
    steps.push(
        format!(
            "限值 = {} {unit}（{} {}，{clause_zh}，适用于{period_zh}{note_zh}）",
            c.limit, limit.standard_code, limit.standard_title.zh
        ),
        format!(
            "Limit = {} {unit} ({} {}, {clause_en}, {} period{note_en})",
            c.limit, limit.standard_code, limit.standard_title.en, limit.period
        ),
    );
}

/// The multiple and how it compares with what the register publishes.
fn multiple_steps(steps: &mut Steps, c: &Calculation) {
    let (v, l, m, r) = (
        num(c.value),
        c.limit,
        num(c.multiple),
        num(c.multiple_rounded),
    );
    steps.push(
        format!("超标倍数 = (值 − 限值) / 限值 = ({v} − {l}) / {l} = {m}，保留 6 位小数：{r}"),
        format!(
            "Exceedance multiple = (value − limit) / limit = ({v} − {l}) / {l} = {m}; rounded to 6 decimals: {r}"
        ),
    );
    let (pv, pm) = (num(c.published_value), num(c.published_multiple));
    let (agree_zh, agree_en) = if c.agrees {
        ("与上述计算一致", "the same as computed above")
    } else {
        ("与上述计算不一致", "NOT what is computed above")
    };
    steps.push(
        format!("超标登记公布：值 {pv}，倍数 {pm}；{agree_zh}"),
        format!("The exceedance register publishes: value {pv}, multiple {pm}; {agree_en}"),
    );
}

/// The calculation in words, in both languages.
pub fn explain(c: &Calculation, limit: &LimitSource, hours: &[HourlyValue]) -> Localized {
    let mut steps = Steps::default();
    if c.hours_reported.is_some() {
        daily_steps(&mut steps, c, &limit.unit, hours);
    } else {
        let (zh, en) = if c.period == "sample" {
            ("监测结果", "Sample result")
        } else {
            ("小时均值", "Hourly mean")
        };
        let v = num(c.value);
        steps.push(
            format!("{zh} = {v} {}", limit.unit),
            format!("{en} = {v} {}", limit.unit),
        );
    }
    limit_step(&mut steps, c, limit);
    multiple_steps(&mut steps, c);
    Localized::new(steps.zh, steps.en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(h: u32, value: f64, valid: bool) -> HourlyValue {
        HourlyValue {
            observed_at: format!("2026-01-31T{h:02}:00:00+08:00"),
            value: Some(value),
            valid,
            flag: (!valid).then(|| "F".to_string()),
            excluded_reason: None,
            raw_key: "raw/cems/2026-01-31/x.hj212".into(),
            raw_line: i64::from(h) + 1,
        }
    }

    #[test]
    fn a_daily_mean_is_the_sum_of_valid_hours_over_their_count() {
        // 21 valid hours of 30 and one of 51 (sum 681), two flagged hours left out.
        let mut hours: Vec<HourlyValue> = (0..21).map(|h| hour(h, 30.0, true)).collect();
        hours.push(hour(21, 51.0, true));
        hours.push(hour(22, 999.0, false));
        hours.push(hour(23, 999.0, false));
        let c = calculate(
            "daily",
            Basis::Daily(&hours),
            20.0,
            (Some(31.0), Some(0.55)),
        );
        assert_eq!(c.hours_reported, Some(24));
        assert_eq!(c.valid_hours, Some(22));
        assert_eq!(c.sum, Some(681.0));
        // 681 / 22 = 30.954545...; (30.954545... − 20) / 20 = 0.547727...
        assert_eq!(c.value_rounded, Some(30.954545));
        assert_eq!(c.multiple_rounded, Some(0.547727));
        assert!(!c.agrees);
        let ok = calculate(
            "daily",
            Basis::Daily(&hours),
            20.0,
            (Some(30.954545), Some(0.547727)),
        );
        assert!(ok.agrees);
    }

    #[test]
    fn fewer_than_twenty_valid_hours_give_no_daily_mean() {
        let hours: Vec<HourlyValue> = (0..19).map(|h| hour(h, 30.0, true)).collect();
        let c = calculate("daily", Basis::Daily(&hours), 20.0, (None, None));
        assert_eq!((c.value, c.multiple), (None, None));
        assert!(c.agrees);
    }

    #[test]
    fn the_explanation_names_each_number_its_standard_and_an_illustrative_limit() {
        let limit = LimitSource {
            value: 0.3,
            period: "sample".into(),
            standard_id: "X-1".into(),
            standard_code: "X 1-2020".into(),
            standard_title: Localized::new("某标准".to_string(), "Some standard".to_string()),
            clause: Localized::new("表 3".to_string(), "Table 3".to_string()),
            clause_confidence: "M".into(),
            confidence: "M".into(),
            pollutant: "w01018".into(),
            pollutant_name: Localized::new("化学需氧量".to_string(), "COD".to_string()),
            unit: "mg/L".into(),
        };
        let c = calculate(
            "sample",
            Basis::Single(Some(0.35)),
            0.3,
            (Some(0.35), Some(0.166667)),
        );
        let text = explain(&c, &limit, &[]);
        for needle in [
            "Sample result = 0.35 mg/L",
            "Limit = 0.3 mg/L (X 1-2020 Some standard, Table 3 (clause ILLUSTRATIVE",
            "ILLUSTRATIVE",
            "rounded to 6 decimals: 0.166667",
            "the same as computed above",
        ] {
            assert!(text.en.contains(needle), "{needle} in {}", text.en);
        }
        for needle in [
            "监测结果 = 0.35 mg/L",
            "限值 = 0.3 mg/L（X 1-2020 某标准，表 3（条款为示意",
            "示意值",
            "0.166667",
        ] {
            assert!(text.zh.contains(needle), "{needle} in {}", text.zh);
        }
    }

    #[test]
    fn a_single_value_multiple_is_rounded_to_six_decimals() {
        // (0.35 − 0.3) / 0.3 = 0.1666...
        let c = calculate(
            "sample",
            Basis::Single(Some(0.35)),
            0.3,
            (Some(0.35), Some(0.166667)),
        );
        assert_eq!(c.multiple_rounded, Some(0.166667));
        assert!(c.agrees);
    }
}
