//! `data/standards.toml`: discharge standards, their limits, periods and seasonal values.

use crate::error::{CuratedError, parse};
use crate::pollutants::Pollutants;
use envgov_dataset::Localized;
use serde::Deserialize;

const FILE: &str = "standards.toml";

/// The averaging period a limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Hourly,
    Daily,
    Sample,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Sample => "sample",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub pollutant: String,
    pub period: Period,
    /// Upper limit, in the pollutant's unit.
    pub value: f64,
    /// Upper limit from 1 December to 31 March, where the standard sets one.
    #[serde(default)]
    pub winter: Option<f64>,
    /// Lower limit (pH).
    #[serde(default)]
    pub lower: Option<f64>,
    /// `V` verified against a cited source, `M` illustrative.
    pub confidence: String,
    /// Where the standard sets the limit (its table).
    pub clause: Clause,
}

/// The clause (table) of a standard that sets a limit, in both languages, with its own
/// confidence: the value may be checked while the table number is not.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub zh: String,
    pub en: String,
    /// `V` named by a cited source, `M` illustrative (to be checked against the text).
    pub confidence: String,
}

impl Clause {
    /// The clause's text in both languages.
    pub fn text(&self) -> Localized {
        Localized::new(self.zh.clone(), self.en.clone())
    }

    pub fn illustrative(&self) -> bool {
        self.confidence != "V"
    }
}

impl Limit {
    /// The upper limit in force in the given month (1-12): the winter value from December
    /// to March where one exists.
    pub fn upper_for_month(&self, month: u32) -> f64 {
        match (self.winter, month) {
            (Some(w), 12 | 1 | 2 | 3) => w,
            _ => self.value,
        }
    }

    pub fn illustrative(&self) -> bool {
        self.confidence != "V"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub id: String,
    /// The standard's code as printed (`GB 18485-2014`).
    pub code: String,
    pub title: Localized,
    pub effective_from: String,
    pub medium: String,
    /// Reference O2 for air concentrations, in percent.
    #[serde(default)]
    pub reference_o2_pct: Option<f64>,
    pub limits: Vec<Limit>,
}

impl Standard {
    pub fn limit(&self, pollutant: &str, period: Period) -> Option<&Limit> {
        self.limits
            .iter()
            .find(|l| l.pollutant == pollutant && l.period == period)
    }

    /// The limit a single manual sample is compared with: the sample limit, else the daily,
    /// else the hourly one.
    pub fn sample_limit(&self, pollutant: &str) -> Option<&Limit> {
        [Period::Sample, Period::Daily, Period::Hourly]
            .into_iter()
            .find_map(|p| self.limit(pollutant, p))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standards {
    #[serde(rename = "standard")]
    pub list: Vec<Standard>,
}

impl Standards {
    pub fn parse(text: &str, pollutants: &Pollutants) -> Result<Self, CuratedError> {
        let s: Standards = parse(FILE, text)?;
        let invalid = |message: String| CuratedError::Invalid {
            file: FILE,
            message,
        };
        for (i, st) in s.list.iter().enumerate() {
            st.title
                .check(&format!("standard {}", st.id))
                .map_err(|source| CuratedError::Translation { file: FILE, source })?;
            if s.list[..i]
                .iter()
                .any(|o| o.id == st.id || o.code == st.code)
            {
                return Err(invalid(format!("duplicate standard {}", st.id)));
            }
            for (j, l) in st.limits.iter().enumerate() {
                if pollutants.get(&l.pollutant).is_none() {
                    return Err(invalid(format!(
                        "{}: unknown pollutant {}",
                        st.id, l.pollutant
                    )));
                }
                if l.value.is_nan() || l.value <= 0.0 || !matches!(l.confidence.as_str(), "V" | "M")
                {
                    return Err(invalid(format!("{}: bad limit for {}", st.id, l.pollutant)));
                }
                let what = format!(
                    "the clause of {}'s {:?} limit for {}",
                    st.id, l.period, l.pollutant
                );
                l.clause
                    .text()
                    .check(&what)
                    .map_err(|source| CuratedError::Translation { file: FILE, source })?;
                if !matches!(l.clause.confidence.as_str(), "V" | "M") {
                    return Err(invalid(format!("{what}: confidence must be V or M")));
                }
                if st.limits[..j]
                    .iter()
                    .any(|o| o.pollutant == l.pollutant && o.period == l.period)
                {
                    return Err(invalid(format!(
                        "{}: two {:?} limits for {}",
                        st.id, l.period, l.pollutant
                    )));
                }
            }
        }
        Ok(s)
    }

    pub fn get(&self, id: &str) -> Option<&Standard> {
        self.list.iter().find(|s| s.id == id)
    }

    /// Finds a standard by its printed code (`DB11/307-2013 表3`).
    pub fn by_code(&self, code: &str) -> Option<&Standard> {
        let code = code.trim();
        self.list.iter().find(|s| s.code == code)
    }
}

#[cfg(test)]
mod tests {
    use crate::Curated;

    #[test]
    fn db11_890_winter_ammonia_applies_december_to_march() {
        let c = Curated::load().unwrap();
        let l = c
            .standards
            .get("DB11-890-2012-new-B")
            .unwrap()
            .limit("w21003", super::Period::Daily)
            .unwrap();
        // DB11/890-2012 new-plant class B: NH3-N 1.5 mg/L, 2.5 mg/L from 1 Dec to 31 Mar.
        assert_eq!(l.upper_for_month(11), 1.5);
        assert_eq!(l.upper_for_month(12), 2.5);
        assert_eq!(l.upper_for_month(3), 2.5);
        assert_eq!(l.upper_for_month(4), 1.5);
    }

    #[test]
    fn every_limit_names_its_clause_and_the_cited_tables_are_checked() {
        let c = Curated::load().unwrap();
        for s in &c.standards.list {
            for l in &s.limits {
                assert!(
                    !l.clause.zh.is_empty() && !l.clause.en.is_empty(),
                    "{}",
                    s.id
                );
            }
        }
        // domain-data.md cites GB 18596-2001's Table 5 (intensive farms, daily means) and
        // DB11/307-2013's Table 3 (discharge to public sewers): checked.
        let farms = c.standards.get("GB18596-2001").unwrap();
        let cod = farms.limit("w01018", super::Period::Daily).unwrap();
        assert_eq!(
            (cod.clause.zh.as_str(), cod.clause.en.as_str()),
            ("表 5", "Table 5")
        );
        assert!(!cod.clause.illustrative());
        let sewer = c.standards.get("DB11-307-2013-sewer").unwrap();
        let nh3 = sewer.limit("w21003", super::Period::Daily).unwrap();
        assert_eq!(nh3.clause.en, "Table 3");
        assert!(!nh3.clause.illustrative());
        // GB 18485-2014's table is from general knowledge: illustrative.
        let inc = c.standards.get("GB18485-2014").unwrap();
        assert!(
            inc.limit("a34013", super::Period::Hourly)
                .unwrap()
                .clause
                .illustrative()
        );
    }

    #[test]
    fn a_limit_without_a_clause_in_both_languages_fails_to_load() {
        let pollutants = Curated::load().unwrap().pollutants;
        let toml = |clause: &str| {
            format!(
                "[[standard]]\nid = \"X\"\ncode = \"X 1-2000\"\ntitle = {{ zh = \"甲\", en = \"A\" }}\neffective_from = \"2000-01-01\"\nmedium = \"water\"\nlimits = [ {{ pollutant = \"w01018\", period = \"daily\", value = 1.0, confidence = \"M\"{clause} }} ]\n"
            )
        };
        assert!(
            super::Standards::parse(
                &toml(", clause = { zh = \"表 1\", en = \"Table 1\", confidence = \"M\" }"),
                &pollutants
            )
            .is_ok()
        );
        assert!(super::Standards::parse(&toml(""), &pollutants).is_err());
        assert!(
            super::Standards::parse(
                &toml(", clause = { zh = \"表 1\", en = \"\", confidence = \"M\" }"),
                &pollutants
            )
            .is_err()
        );
        assert!(
            super::Standards::parse(
                &toml(", clause = { zh = \"表 1\", en = \"Table 1\", confidence = \"X\" }"),
                &pollutants
            )
            .is_err()
        );
    }

    #[test]
    fn incinerator_has_hourly_and_daily_limits() {
        let c = Curated::load().unwrap();
        let s = c.standards.get("GB18485-2014").unwrap();
        assert_eq!(
            s.limit("a21002", super::Period::Hourly).unwrap().value,
            300.0
        );
        assert_eq!(
            s.limit("a21002", super::Period::Daily).unwrap().value,
            250.0
        );
    }
}
