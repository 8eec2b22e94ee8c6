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
    /// The clause of the standard: `data/standards.toml` does not record clauses yet.
    pub clause: Option<String>,
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

/// The calculation in words, in both languages.
pub fn explain(c: &Calculation, limit: &LimitSource, hours: &[HourlyValue]) -> Localized {
    let mut zh = String::new();
    let mut en = String::new();
    let mut step = 0;
    let mut push = |zh_line: String, en_line: String| {
        step += 1;
        zh.push_str(&format!("{step}. {zh_line}\n"));
        en.push_str(&format!("{step}. {en_line}\n"));
    };
    let unit = &limit.unit;
    if let (Some(n), Some(valid), Some(sum)) = (c.hours_reported, c.valid_hours, c.sum) {
        let mut zh_hours = String::new();
        let mut en_hours = String::new();
        for h in hours {
            let state_zh = if h.valid {
                "有效".to_string()
            } else {
                format!(
                    "剔除（{}）",
                    h.excluded_reason
                        .as_deref()
                        .or(h.flag.as_deref())
                        .unwrap_or("无效")
                )
            };
            let state_en = if h.valid {
                "valid".to_string()
            } else {
                format!(
                    "excluded ({})",
                    h.excluded_reason
                        .as_deref()
                        .or(h.flag.as_deref())
                        .unwrap_or("invalid")
                )
            };
            zh_hours.push_str(&format!(
                "   {}  {}  {}  {} 第 {} 行\n",
                h.observed_at,
                num(h.value),
                state_zh,
                h.raw_key,
                h.raw_line
            ));
            en_hours.push_str(&format!(
                "   {}  {}  {}  {} line {}\n",
                h.observed_at,
                num(h.value),
                state_en,
                h.raw_key,
                h.raw_line
            ));
        }
        push(
            format!("当日报送的小时均值 {n} 个（{unit}）：\n{zh_hours}"),
            format!("Hourly means reported that day: {n} ({unit}):\n{en_hours}"),
        );
        push(
            format!(
                "有效小时数 = {valid}（日均值至少需要 {MIN_VALID_HOURS_PER_DAY} 个有效小时均值；标记 F、M、D、C、T、B 的值被剔除，不按零计）"
            ),
            format!(
                "Valid hours = {valid} (a daily mean needs at least {MIN_VALID_HOURS_PER_DAY}; values flagged F, M, D, C, T or B are excluded, never counted as zero)"
            ),
        );
        push(
            format!("有效小时均值之和 = {sum}"),
            format!("Sum of the valid hourly means = {sum}"),
        );
        push(
            format!(
                "日均值 = 和 / 有效小时数 = {sum} / {valid} = {}，保留 6 位小数：{}",
                num(c.value),
                num(c.value_rounded)
            ),
            format!(
                "Daily mean = sum / valid hours = {sum} / {valid} = {}; rounded to 6 decimals: {}",
                num(c.value),
                num(c.value_rounded)
            ),
        );
    } else {
        let what_zh = if c.period == "sample" {
            "监测结果"
        } else {
            "小时均值"
        };
        let what_en = if c.period == "sample" {
            "Sample result"
        } else {
            "Hourly mean"
        };
        push(
            format!("{what_zh} = {} {unit}", num(c.value)),
            format!("{what_en} = {} {unit}", num(c.value)),
        );
    }
    let clause_zh = limit
        .clause
        .as_deref()
        .unwrap_or("条款未记录（data/standards.toml 尚无条款）");
    let clause_en = limit
        .clause
        .as_deref()
        .unwrap_or("clause not recorded (data/standards.toml has no clauses yet)");
    let illustrative_zh = if limit.confidence == "V" {
        ""
    } else {
        "；示意值，尚未与标准原文核对"
    };
    let illustrative_en = if limit.confidence == "V" {
        ""
    } else {
        "; ILLUSTRATIVE, not yet checked against the standard's text"
    };
    push(
        format!(
            "限值 = {} {unit}（{} {}，{}，{}时段{}）",
            c.limit,
            limit.standard_code,
            limit.standard_title.zh,
            clause_zh,
            limit.period,
            illustrative_zh
        ),
        format!(
            "Limit = {} {unit} ({} {}, {}, {} period{})",
            c.limit,
            limit.standard_code,
            limit.standard_title.en,
            clause_en,
            limit.period,
            illustrative_en
        ),
    );
    push(
        format!(
            "超标倍数 = (值 − 限值) / 限值 = ({} − {}) / {} = {}，保留 6 位小数：{}",
            num(c.value),
            c.limit,
            c.limit,
            num(c.multiple),
            num(c.multiple_rounded)
        ),
        format!(
            "Exceedance multiple = (value − limit) / limit = ({} − {}) / {} = {}; rounded to 6 decimals: {}",
            num(c.value),
            c.limit,
            c.limit,
            num(c.multiple),
            num(c.multiple_rounded)
        ),
    );
    push(
        format!(
            "超标登记公布：值 {}，倍数 {}；{}",
            num(c.published_value),
            num(c.published_multiple),
            if c.agrees {
                "与上述计算一致"
            } else {
                "与上述计算不一致"
            }
        ),
        format!(
            "The exceedance register publishes: value {}, multiple {}; {}",
            num(c.published_value),
            num(c.published_multiple),
            if c.agrees {
                "the same as computed above"
            } else {
                "NOT what is computed above"
            }
        ),
    );
    Localized::new(zh, en)
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
