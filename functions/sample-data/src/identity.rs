//! Names and identifiers of fictitious organisations: bilingual company names built from
//! syllables, USCCs with correct check characters (GB 32100-2015 and GB 11714), and the
//! deliberately malformed variants used as defects. Pure: no I/O.

use crate::streams::{Stream, pick};
use envgov_dataset::ids::{USCC_CHARSET, org_check_char, uscc_check_char};
use rand::Rng;
use std::collections::BTreeSet;

const SYLLABLES: [(&str, &str); 40] = [
    ("华", "hua"),
    ("能", "neng"),
    ("京", "jing"),
    ("燕", "yan"),
    ("首", "shou"),
    ("泰", "tai"),
    ("金", "jin"),
    ("通", "tong"),
    ("恒", "heng"),
    ("瑞", "rui"),
    ("鑫", "xin"),
    ("安", "an"),
    ("盛", "sheng"),
    ("宏", "hong"),
    ("远", "yuan"),
    ("达", "da"),
    ("兴", "xing"),
    ("润", "run"),
    ("源", "yuan"),
    ("天", "tian"),
    ("和", "he"),
    ("嘉", "jia"),
    ("信", "xin"),
    ("博", "bo"),
    ("康", "kang"),
    ("创", "chuang"),
    ("中", "zhong"),
    ("永", "yong"),
    ("明", "ming"),
    ("建", "jian"),
    ("东", "dong"),
    ("方", "fang"),
    ("丰", "feng"),
    ("海", "hai"),
    ("德", "de"),
    ("正", "zheng"),
    ("长", "chang"),
    ("城", "cheng"),
    ("绿", "lu"),
    ("清", "qing"),
];

/// A brand of two syllables: `("华能", "Huaneng")`.
pub(crate) fn brand(rng: &mut Stream) -> (String, String) {
    let (a_zh, a_py) = pick(rng, &SYLLABLES);
    let (b_zh, b_py) = pick(rng, &SYLLABLES);
    let mut en = String::new();
    let mut chars = a_py.chars();
    if let Some(first) = chars.next() {
        en.extend(first.to_uppercase());
        en.push_str(chars.as_str());
    }
    en.push_str(b_py);
    (format!("{a_zh}{b_zh}"), en)
}

/// Hands out names that are unique within one registry.
#[derive(Debug, Default)]
pub(crate) struct NameBook {
    used: BTreeSet<String>,
}

impl NameBook {
    /// `北京{brand}{word_zh}{suffix}` / `Beijing {Brand} {word_en} Co., Ltd.`, unique.
    pub(crate) fn company(
        &mut self,
        rng: &mut Stream,
        word_zh: &str,
        word_en: &str,
    ) -> (String, String) {
        for attempt in 0..64 {
            let (b_zh, b_en) = brand(rng);
            let (suffix_zh, suffix_en) = match rng.random_range(0..10) {
                0..=6 => ("有限公司", "Co., Ltd."),
                7 | 8 => ("有限责任公司", "Co., Ltd."),
                _ => ("股份有限公司", "Corp."),
            };
            let (zh, en) = if attempt < 48 {
                (
                    format!("北京{b_zh}{word_zh}{suffix_zh}"),
                    format!("Beijing {b_en} {word_en} {suffix_en}"),
                )
            } else {
                let (c_zh, c_en) = brand(rng);
                (
                    format!("北京{b_zh}{c_zh}{word_zh}{suffix_zh}"),
                    format!("Beijing {b_en} {c_en} {word_en} {suffix_en}"),
                )
            };
            if self.used.insert(zh.clone()) {
                return (zh, en);
            }
        }
        let n = self.used.len();
        let zh = format!("北京第{n}{word_zh}有限公司");
        self.used.insert(zh.clone());
        (zh, format!("Beijing No. {n} {word_en} Co., Ltd."))
    }

    /// A plant name without a company suffix: `{brand}{word_zh}` / `{Brand} {word_en}`.
    pub(crate) fn plant(
        &mut self,
        rng: &mut Stream,
        word_zh: &str,
        word_en: &str,
    ) -> (String, String) {
        for _ in 0..64 {
            let (b_zh, b_en) = brand(rng);
            let zh = format!("北京{b_zh}{word_zh}");
            if self.used.insert(zh.clone()) {
                return (zh, format!("Beijing {b_en} {word_en}"));
            }
        }
        let n = self.used.len();
        let zh = format!("北京第{n}{word_zh}");
        self.used.insert(zh.clone());
        (zh, format!("Beijing No. {n} {word_en}"))
    }
}

/// What kind of registrant a USCC belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Registrant {
    /// Market regulation, enterprise (`91`).
    Enterprise,
    /// Institution-establishment authority, public institution (`12`): public hospitals.
    PublicInstitution,
}

/// Hands out valid USCCs that are unique within one sample world.
#[derive(Debug, Default)]
pub(crate) struct UsccBook {
    used: BTreeSet<String>,
}

impl UsccBook {
    pub(crate) fn issue(&mut self, rng: &mut Stream, region: &str, who: Registrant) -> String {
        let charset = USCC_CHARSET.as_bytes();
        loop {
            let region = if rng.random_bool(0.1) {
                "110000"
            } else {
                region
            };
            let mut body = String::with_capacity(8);
            if rng.random_bool(0.65) {
                body.push_str("MA0");
                for _ in 0..5 {
                    body.push(charset[rng.random_range(0..charset.len())] as char);
                }
            } else {
                body.push(pick(rng, &['1', '5', '6', '7', '8']));
                for _ in 0..7 {
                    body.push(char::from(b'0' + rng.random_range(0..10u8)));
                }
            }
            let prefix = match who {
                Registrant::Enterprise => "91",
                Registrant::PublicInstitution => "12",
            };
            let org = org_check_char(&body).expect("body uses valid characters");
            let first17 = format!("{prefix}{region}{body}{org}");
            let check = uscc_check_char(&first17).expect("17 valid characters");
            let code = format!("{first17}{check}");
            if self.used.insert(code.clone()) {
                return code;
            }
        }
    }
}

/// A USCC that fails validation: a wrong check character, or an `S` inside.
pub(crate) fn malformed_uscc(rng: &mut Stream, uscc: &str) -> String {
    let mut chars: Vec<char> = uscc.chars().collect();
    if chars.len() == 18 && rng.random_bool(0.5) {
        let charset: Vec<char> = USCC_CHARSET.chars().collect();
        let current = chars[17];
        let mut replacement = current;
        while replacement == current {
            replacement = charset[rng.random_range(0..charset.len())];
        }
        chars[17] = replacement;
    } else if chars.len() >= 16 {
        let pos = rng.random_range(8..16);
        chars[pos] = 'S';
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::stream;
    use envgov_dataset::ids::check_uscc;

    #[test]
    fn issued_usccs_are_valid_and_unique_and_malformed_ones_are_not() {
        let mut rng = stream(3, "t", &[]);
        let mut book = UsccBook::default();
        let mut seen = BTreeSet::new();
        for i in 0..500 {
            let who = if i % 5 == 0 {
                Registrant::PublicInstitution
            } else {
                Registrant::Enterprise
            };
            let code = book.issue(&mut rng, "110105", who);
            assert_eq!(check_uscc(&code).as_deref(), Ok(code.as_str()));
            assert!(seen.insert(code.clone()));
            let bad = malformed_uscc(&mut rng, &code);
            assert!(check_uscc(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn company_names_are_unique_and_bilingual() {
        let mut rng = stream(3, "n", &[]);
        let mut book = NameBook::default();
        let mut seen = BTreeSet::new();
        for _ in 0..3000 {
            let (zh, en) = book.company(&mut rng, "热力", "Heating");
            assert!(zh.starts_with("北京") && en.starts_with("Beijing "));
            assert!(en.is_ascii(), "{en}");
            assert!(seen.insert(zh));
        }
    }
}
