//! `data/plan.toml`: the 2021 Beijing implementation plan for a modern environmental
//! governance system — its nine systems, its measures (一)…(十一) as far as envgov's copy of the
//! text goes, and the indicators envgov computes for them.
//!
//! Checked on load: every text in both languages, unique ids, measures `m01`, `m02`, … in order
//! with matching numerals, each measure's system and indicators defined, dates well formed.

use crate::error::{CuratedError, parse};
use chrono::NaiveDate;
use envgov_dataset::{Lang, Localized};
use serde::Deserialize;

const FILE: &str = "plan.toml";

/// The measures envgov's copy of the plan contains; `plan.toml` must list at least these.
pub const MEASURES_IN_TEXT: usize = 11;

/// How far a measure has got. Illustrative: see [`PlanInfo::statuses_illustrative`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    NotStarted,
    InProgress,
    Achieved,
    Ongoing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "not-started",
            Status::InProgress => "in-progress",
            Status::Achieved => "achieved",
            Status::Ongoing => "ongoing",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Status::NotStarted, Lang::Zh) => "未启动",
            (Status::NotStarted, Lang::En) => "Not started",
            (Status::InProgress, Lang::Zh) => "推进中",
            (Status::InProgress, Lang::En) => "In progress",
            (Status::Achieved, Lang::Zh) => "已完成",
            (Status::Achieved, Lang::En) => "Achieved",
            (Status::Ongoing, Lang::Zh) => "持续推进",
            (Status::Ongoing, Lang::En) => "Ongoing",
        }
    }
}

/// Which way an indicator should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher-is-better",
            Direction::LowerIsBetter => "lower-is-better",
        }
    }
}

/// The `[plan]` table: the document itself and envgov's notes about its copy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInfo {
    /// The title as printed (without 《》).
    #[serde(deserialize_with = "lenient::localized")]
    pub title: Localized,
    pub issued: String,
    pub published: String,
    #[serde(deserialize_with = "lenient::localized_vec")]
    pub issuers: Vec<Localized>,
    pub goal_year: u16,
    /// Every measure's `status` is illustrative.
    pub statuses_illustrative: bool,
    #[serde(deserialize_with = "lenient::localized")]
    pub source: Localized,
    /// What the text envgov holds covers (it stops at measure (十一)).
    #[serde(deserialize_with = "lenient::localized")]
    pub coverage_note: Localized,
    /// The responsible bodies are envgov's reading, not the plan's allocation.
    #[serde(deserialize_with = "lenient::localized")]
    pub responsible_note: Localized,
    #[serde(deserialize_with = "lenient::localized")]
    pub status_note: Localized,
}

/// One of the nine systems of the 2025 goal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// ASCII slug (`leadership-responsibility`).
    pub id: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub name: Localized,
    /// The section numeral in the plan (`二`), where envgov's copy has the section.
    #[serde(default)]
    pub section: Option<String>,
    /// The section heading as printed, where envgov's copy has the section.
    #[serde(default, deserialize_with = "lenient::localized_opt")]
    pub heading: Option<Localized>,
    /// Whether envgov's copy of the text contains measures for this system.
    pub measures_in_text: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub text: Localized,
    /// An example, not a verified event.
    #[serde(default)]
    pub illustrative: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// `m01`, `m02`, … in the plan's order.
    pub id: String,
    /// The plan's numeral (`一` … `十一`).
    pub numeral: String,
    /// `zh` quoted exactly from the plan.
    #[serde(deserialize_with = "lenient::localized")]
    pub title: Localized,
    /// A [`System`] id.
    pub system: String,
    /// envgov's own summary, not the plan's wording.
    #[serde(deserialize_with = "lenient::localized")]
    pub summary: Localized,
    /// envgov's reading of who is responsible; see [`PlanInfo::responsible_note`].
    #[serde(deserialize_with = "lenient::localized_vec")]
    pub responsible: Vec<Localized>,
    pub milestones: Vec<Milestone>,
    pub status: Status,
    /// [`Indicator`] ids envgov's data can show for this measure.
    pub indicators: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub value: f64,
    /// The year the target is for.
    pub year: u16,
    pub illustrative: bool,
    #[serde(deserialize_with = "lenient::localized")]
    pub source: Localized,
}

/// A figure envgov's pipeline computes. Rates are sums of numerators over sums of
/// denominators across the period, never averages of rates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// snake_case id shared with the pipeline (`permit_coverage`).
    pub id: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub name: Localized,
    /// `%`, `t` or `count`.
    pub unit: String,
    #[serde(deserialize_with = "lenient::localized")]
    pub description: Localized,
    pub direction: Direction,
    #[serde(default)]
    pub target: Option<Target>,
}

impl Indicator {
    pub const UNITS: [&'static str; 3] = ["%", "t", "count"];

    /// A percentage: a ratio of summed numerators to summed denominators.
    pub fn is_rate(&self) -> bool {
        self.unit == "%"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(rename = "plan")]
    pub info: PlanInfo,
    #[serde(rename = "system")]
    pub systems: Vec<System>,
    #[serde(rename = "measure")]
    pub measures: Vec<Measure>,
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
}

impl Plan {
    pub fn parse(text: &str) -> Result<Self, CuratedError> {
        let p: Plan = parse(FILE, text)?;
        p.check()?;
        Ok(p)
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

        let info = &self.info;
        tr(&info.title, "plan title".into())?;
        for (i, x) in info.issuers.iter().enumerate() {
            tr(x, format!("plan issuer {}", i + 1))?;
        }
        tr(&info.source, "plan source".into())?;
        tr(&info.coverage_note, "plan coverage_note".into())?;
        tr(&info.responsible_note, "plan responsible_note".into())?;
        tr(&info.status_note, "plan status_note".into())?;
        let issued = date(&info.issued)
            .ok_or_else(|| invalid(format!("plan issued: bad date {:?}", info.issued)))?;
        let published = date(&info.published)
            .ok_or_else(|| invalid(format!("plan published: bad date {:?}", info.published)))?;
        if published < issued || info.issuers.is_empty() {
            return Err(invalid(
                "plan: published before issued, or no issuer".into(),
            ));
        }

        for (i, s) in self.systems.iter().enumerate() {
            if !is_slug(&s.id, b'-') {
                return Err(invalid(format!(
                    "system id {:?} is not a lower-case ascii slug",
                    s.id
                )));
            }
            if self.systems[..i].iter().any(|o| o.id == s.id) {
                return Err(invalid(format!("duplicate system {}", s.id)));
            }
            tr(&s.name, format!("system {} name", s.id))?;
            if let Some(h) = &s.heading {
                tr(h, format!("system {} heading", s.id))?;
            }
            let has_measures = self.measures.iter().any(|m| m.system == s.id);
            if has_measures != s.measures_in_text {
                return Err(invalid(format!(
                    "system {}: measures_in_text = {} but {} measures",
                    s.id,
                    s.measures_in_text,
                    if has_measures { "it has" } else { "it has no" }
                )));
            }
        }

        for (i, ind) in self.indicators.iter().enumerate() {
            if !is_slug(&ind.id, b'_') {
                return Err(invalid(format!(
                    "indicator id {:?} is not a lower-case snake_case id",
                    ind.id
                )));
            }
            if self.indicators[..i].iter().any(|o| o.id == ind.id) {
                return Err(invalid(format!("duplicate indicator {}", ind.id)));
            }
            tr(&ind.name, format!("indicator {} name", ind.id))?;
            tr(
                &ind.description,
                format!("indicator {} description", ind.id),
            )?;
            if !Indicator::UNITS.contains(&ind.unit.as_str()) {
                return Err(invalid(format!(
                    "indicator {}: unknown unit {:?}",
                    ind.id, ind.unit
                )));
            }
            if let Some(t) = &ind.target {
                tr(&t.source, format!("indicator {} target source", ind.id))?;
                let max = if ind.is_rate() { 100.0 } else { f64::INFINITY };
                if !(t.value.is_finite() && (0.0..=max).contains(&t.value)) {
                    return Err(invalid(format!(
                        "indicator {}: target {} out of range",
                        ind.id, t.value
                    )));
                }
            }
        }

        if self.measures.len() < MEASURES_IN_TEXT {
            return Err(invalid(format!(
                "{} measures; the text has at least {MEASURES_IN_TEXT}",
                self.measures.len()
            )));
        }
        for (i, m) in self.measures.iter().enumerate() {
            let n = i + 1;
            let want = format!("m{n:02}");
            if m.id != want {
                return Err(invalid(format!(
                    "measure {n} has id {:?}, expected {want} (in order)",
                    m.id
                )));
            }
            let numeral = chinese_numeral(n);
            if m.numeral != numeral {
                return Err(invalid(format!(
                    "measure {}: numeral {:?}, expected {numeral:?}",
                    m.id, m.numeral
                )));
            }
            tr(&m.title, format!("measure {} title", m.id))?;
            tr(&m.summary, format!("measure {} summary", m.id))?;
            if self.system(&m.system).is_none() {
                return Err(invalid(format!(
                    "measure {}: unknown system {:?}",
                    m.id, m.system
                )));
            }
            if m.responsible.is_empty() {
                return Err(invalid(format!("measure {}: no responsible body", m.id)));
            }
            for (j, r) in m.responsible.iter().enumerate() {
                tr(r, format!("measure {} responsible body {}", m.id, j + 1))?;
            }
            let mut last = None;
            for (j, ms) in m.milestones.iter().enumerate() {
                let d = date(&ms.date).ok_or_else(|| {
                    invalid(format!(
                        "measure {} milestone {}: bad date {:?}",
                        m.id,
                        j + 1,
                        ms.date
                    ))
                })?;
                if last.is_some_and(|l| d < l) {
                    return Err(invalid(format!(
                        "measure {}: milestones out of date order at {}",
                        m.id, ms.date
                    )));
                }
                last = Some(d);
                tr(&ms.text, format!("measure {} milestone {}", m.id, ms.date))?;
            }
            for (j, ind) in m.indicators.iter().enumerate() {
                if self.indicator(ind).is_none() {
                    return Err(invalid(format!(
                        "measure {}: unknown indicator {ind:?}",
                        m.id
                    )));
                }
                if m.indicators[..j].contains(ind) {
                    return Err(invalid(format!(
                        "measure {}: indicator {ind} listed twice",
                        m.id
                    )));
                }
            }
        }
        Ok(())
    }

    /// A measure by id (`m06`).
    pub fn measure(&self, id: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.id == id)
    }

    pub fn system(&self, id: &str) -> Option<&System> {
        self.systems.iter().find(|s| s.id == id)
    }

    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The measures under a system, in the plan's order.
    pub fn measures_of<'a>(&'a self, system: &'a str) -> impl Iterator<Item = &'a Measure> + 'a {
        self.measures.iter().filter(move |m| m.system == system)
    }

    /// The measures an indicator is shown for, in the plan's order.
    pub fn measures_for_indicator<'a>(
        &'a self,
        indicator: &'a str,
    ) -> impl Iterator<Item = &'a Measure> + 'a {
        self.measures
            .iter()
            .filter(move |m| m.indicators.iter().any(|i| i == indicator))
    }
}

/// Parses a `YYYY-MM-DD` date, exactly that shape.
pub(crate) fn date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A lower-case ASCII id: letters and digits in words joined by `sep`.
pub(crate) fn is_slug(s: &str, sep: u8) -> bool {
    !s.is_empty()
        && s.split(sep as char).all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The plan's numeral for measure `n` (1-99): 一 … 十 … 十一 … 二十一.
fn chinese_numeral(n: usize) -> String {
    const D: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        1..=9 => D[n].to_string(),
        10..=19 => format!("十{}", D[n % 10]),
        20..=99 => format!("{}十{}", D[n / 10], D[n % 10]),
        _ => n.to_string(),
    }
}

/// Deserializes [`Localized`] texts whose languages may be absent, so that a missing
/// translation reaches [`Localized::check`] and is reported naming its item, instead of
/// surfacing as a bare "missing field `en`" parse error.
pub(crate) mod lenient {
    use envgov_dataset::Localized;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        #[serde(default)]
        zh: String,
        #[serde(default)]
        en: String,
    }

    impl From<Raw> for Localized {
        fn from(r: Raw) -> Self {
            Localized { zh: r.zh, en: r.en }
        }
    }

    pub fn localized<'de, D: Deserializer<'de>>(d: D) -> Result<Localized, D::Error> {
        Raw::deserialize(d).map(Into::into)
    }

    pub fn localized_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Localized>, D::Error> {
        Option::<Raw>::deserialize(d).map(|o| o.map(Into::into))
    }

    pub fn localized_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Localized>, D::Error> {
        Vec::<Raw>::deserialize(d).map(|v| v.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Curated;

    const EMBEDDED: &str = include_str!("../../../data/plan.toml");

    /// The ids the pipeline computes; the plan file must define exactly these.
    const PIPELINE_INDICATORS: [&str; 17] = [
        "cems_hourly_compliance_rate",
        "exceedance_count",
        "units_disclosing",
        "permit_coverage",
        "self_monitoring_completeness",
        "facility_operating_rate",
        "vehicle_electrification_share",
        "vehicle_china6_share",
        "vehicle_inspection_pass_rate",
        "sewage_effluent_compliance_rate",
        "msw_harmless_treatment_rate",
        "construction_waste_recycled_products_t",
        "kitchen_waste_compost_t",
        "medical_waste_treated_share",
        "livestock_facility_equipping_rate",
        "livestock_manure_utilisation_rate",
        "open_days_held",
    ];

    /// The embedded file, changed by `f`, as TOML text.
    fn mutated(f: impl FnOnce(&mut toml::Table)) -> String {
        let mut t: toml::Table = toml::from_str(EMBEDDED).unwrap();
        f(&mut t);
        toml::to_string(&t).unwrap()
    }

    fn measure(t: &mut toml::Table, i: usize) -> &mut toml::Table {
        t["measure"].as_array_mut().unwrap()[i]
            .as_table_mut()
            .unwrap()
    }

    fn invalid_message(r: Result<Plan, CuratedError>) -> String {
        match r {
            Err(CuratedError::Invalid {
                file: FILE,
                message,
            }) => message,
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn embedded_plan_loads_with_nine_systems_and_eleven_measures() {
        let plan = Curated::load().unwrap().plan;
        assert_eq!(
            plan.info.title.zh,
            "北京市关于构建现代环境治理体系的实施方案"
        );
        assert_eq!(
            (plan.info.issued.as_str(), plan.info.published.as_str()),
            ("2021-03-10", "2021-03-24")
        );
        assert_eq!(plan.systems.len(), 9);
        assert_eq!(plan.measures.len(), 11);
        assert_eq!(plan.measure("m01").unwrap().title.zh, "落实党政主体责任");
        assert_eq!(plan.measure("m11").unwrap().numeral, "十一");
        let covered: Vec<&str> = plan
            .systems
            .iter()
            .filter(|s| s.measures_in_text)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            covered,
            [
                "leadership-responsibility",
                "enterprise-responsibility",
                "public-action"
            ]
        );
        assert_eq!(plan.measures_of("enterprise-responsibility").count(), 4);
    }

    #[test]
    fn embedded_indicators_are_exactly_the_pipeline_ids_and_all_used() {
        let plan = Plan::parse(EMBEDDED).unwrap();
        let ids: Vec<&str> = plan.indicators.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, PIPELINE_INDICATORS);
        for id in PIPELINE_INDICATORS {
            assert!(
                plan.measures_for_indicator(id).next().is_some(),
                "{id} is not shown for any measure"
            );
        }
        let m06: Vec<&str> = plan
            .measure("m06")
            .unwrap()
            .indicators
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            m06,
            [
                "permit_coverage",
                "self_monitoring_completeness",
                "cems_hourly_compliance_rate"
            ]
        );
        assert!(
            plan.indicators
                .iter()
                .filter_map(|i| i.target.as_ref())
                .all(|t| t.illustrative)
        );
        let livestock = plan.indicator("livestock_manure_utilisation_rate").unwrap();
        assert_eq!(
            livestock.target.as_ref().map(|t| (t.value, t.year)),
            Some((80.0, 2025))
        );
        assert!(livestock.is_rate());
    }

    #[test]
    fn missing_en_translation_fails_naming_the_item() {
        let text = mutated(|t| {
            measure(t, 2)["summary"]
                .as_table_mut()
                .unwrap()
                .remove("en");
        });
        match Plan::parse(&text) {
            Err(CuratedError::Translation { file: FILE, source }) => {
                assert_eq!(source.lang, Lang::En);
                assert_eq!(source.what, "measure m03 summary");
                assert!(
                    source
                        .to_string()
                        .contains("missing en translation for measure m03 summary")
                );
            }
            other => panic!("expected a Translation error, got {other:?}"),
        }
    }

    #[test]
    fn empty_zh_translation_of_a_responsible_body_fails() {
        let text = mutated(|t| {
            let r = measure(t, 6)["responsible"].as_array_mut().unwrap();
            r[1].as_table_mut()
                .unwrap()
                .insert("zh".into(), "  ".into());
        });
        let err = Plan::parse(&text).unwrap_err();
        assert!(matches!(&err, CuratedError::Translation { source, .. }
            if source.lang == Lang::Zh && source.what == "measure m07 responsible body 2"));
    }

    #[test]
    fn unknown_field_fails_to_parse() {
        let text = mutated(|t| {
            measure(t, 0).insert("colour".into(), "red".into());
        });
        assert!(matches!(
            Plan::parse(&text),
            Err(CuratedError::Parse { file: FILE, .. })
        ));
        let text = mutated(|t| {
            let title = measure(t, 0)["title"].as_table_mut().unwrap();
            title.insert("fr".into(), "Responsabilité".into());
        });
        assert!(matches!(
            Plan::parse(&text),
            Err(CuratedError::Parse { file: FILE, .. })
        ));
    }

    #[test]
    fn unknown_indicator_reference_fails() {
        let text = mutated(|t| {
            measure(t, 5)["indicators"]
                .as_array_mut()
                .unwrap()
                .push("no_such_indicator".into());
        });
        let message = invalid_message(Plan::parse(&text));
        assert!(
            message.contains("m06") && message.contains("no_such_indicator"),
            "{message}"
        );
    }

    #[test]
    fn unknown_system_fails() {
        let text = mutated(|t| {
            measure(t, 0).insert("system".into(), "leadership".into());
        });
        assert!(invalid_message(Plan::parse(&text)).contains("unknown system"));
    }

    #[test]
    fn measures_out_of_order_or_missing_fail() {
        let text = mutated(|t| {
            t["measure"].as_array_mut().unwrap().swap(3, 4);
        });
        assert!(invalid_message(Plan::parse(&text)).contains("expected m04"));
        let text = mutated(|t| {
            t["measure"].as_array_mut().unwrap().pop();
        });
        assert!(invalid_message(Plan::parse(&text)).contains("at least 11"));
    }

    #[test]
    fn system_without_measures_cannot_claim_coverage() {
        let text = mutated(|t| {
            let s = t["system"].as_array_mut().unwrap()[3]
                .as_table_mut()
                .unwrap();
            s.insert("measures_in_text".into(), true.into());
        });
        assert!(invalid_message(Plan::parse(&text)).contains("risk-prevention"));
    }

    #[test]
    fn malformed_milestone_date_fails() {
        for bad in ["2021-3-10", "2021-02-30", "2021/03/10"] {
            let text = mutated(|t| {
                let ms = measure(t, 0)["milestones"].as_array_mut().unwrap();
                ms[0]
                    .as_table_mut()
                    .unwrap()
                    .insert("date".into(), bad.into());
            });
            assert!(
                invalid_message(Plan::parse(&text)).contains("bad date"),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_status_fails_to_parse() {
        let text = mutated(|t| {
            measure(t, 0).insert("status".into(), "done".into());
        });
        assert!(matches!(
            Plan::parse(&text),
            Err(CuratedError::Parse { .. })
        ));
    }

    #[test]
    fn numerals_follow_the_plan() {
        let got: Vec<String> = [1, 9, 10, 11, 19, 20, 21, 35]
            .into_iter()
            .map(chinese_numeral)
            .collect();
        assert_eq!(
            got,
            ["一", "九", "十", "十一", "十九", "二十", "二十一", "三十五"]
        );
    }
}
