//! Identifiers of the domain and their check rules.
//!
//! - Unified Social Credit Code (统一社会信用代码), GB 32100-2015, with its GB 11714
//!   organisation-code check inside.
//! - Permit / fixed-source code (排污许可证编号), HJ 608-2017: USCC + 3-digit sequence + letter.
//! - Outlet codes (`DA001`, `DW001`) and treatment-facility codes (`TA001`, `TW001`).
//! - Beijing's districts (GB/T 2260) and the Yizhuang development area as an extra area.
//!
//! Every check works on characters, never on byte offsets, and returns an [`IdError`] for any
//! input (identifiers come straight from delivered files): no input makes it panic.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use serde::Serialize;

/// The 31 USCC symbols in value order (0-9, A-Z without I, O, S, V, Z).
pub const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn uscc_value(c: char) -> Option<u32> {
    USCC_CHARSET.find(c).map(|i| i as u32)
}

/// Why an identifier is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be {expected} characters, has {actual}")]
    Length { expected: usize, actual: usize },
    #[error("character {ch:?} at position {pos} is not allowed")]
    Character { pos: usize, ch: char },
    #[error("check character is {actual:?}, expected {expected:?}")]
    CheckCharacter { expected: char, actual: char },
    #[error("organisation-code check character (position 17) is {actual:?}, expected {expected:?}")]
    OrgCheckCharacter { expected: char, actual: char },
    #[error("{0}")]
    Format(&'static str),
}

/// Computes the USCC check character (position 18) for the first 17 characters.
pub fn uscc_check_char(first17: &str) -> Result<char, IdError> {
    let chars: Vec<char> = first17.chars().collect();
    uscc_check_of(&chars)
}

fn uscc_check_of(chars: &[char]) -> Result<char, IdError> {
    if chars.len() != 17 {
        return Err(IdError::Length {
            expected: 17,
            actual: chars.len(),
        });
    }
    // Each term is below 31 × 30 and there are 17 of them: the sum stays far below u32::MAX.
    let mut sum = 0u32;
    for (pos, (&c, &w)) in (1..).zip(chars.iter().zip(USCC_WEIGHTS.iter())) {
        let v = uscc_value(c).ok_or(IdError::Character { pos, ch: c })?;
        sum = sum.wrapping_add(v.wrapping_mul(w));
    }
    let check = 31u32.wrapping_sub(sum % 31) % 31;
    USCC_CHARSET
        .chars()
        .nth(check as usize)
        .ok_or(IdError::Format("check value out of range"))
}

/// Computes the GB 11714 organisation-code check character for its 8 body characters.
pub fn org_check_char(body8: &str) -> Result<char, IdError> {
    let chars: Vec<char> = body8.chars().collect();
    org_check_of(&chars)
}

fn org_check_of(chars: &[char]) -> Result<char, IdError> {
    if chars.len() != 8 {
        return Err(IdError::Length {
            expected: 8,
            actual: chars.len(),
        });
    }
    // Each term is below 36 × 10 and there are 8 of them.
    let mut sum = 0u32;
    for (pos, (&c, &w)) in (9..).zip(chars.iter().zip(ORG_WEIGHTS.iter())) {
        let v = c.to_digit(36).ok_or(IdError::Character { pos, ch: c })?;
        sum = sum.wrapping_add(v.wrapping_mul(w));
    }
    Ok(match 11u32.wrapping_sub(sum % 11) {
        10 => 'X',
        11 => '0',
        r => char::from_digit(r, 10).unwrap_or('?'),
    })
}

/// Validates a USCC (upper-cased first) and returns its canonical form.
///
/// Both the GB 32100 check character and, for market-regulation registrations whose
/// organisation code is numeric-or-letter, the GB 11714 check inside are verified.
pub fn check_uscc(input: &str) -> Result<String, IdError> {
    let code = input.trim().to_ascii_uppercase();
    let chars: Vec<char> = code.chars().collect();
    check_uscc_chars(&chars)?;
    Ok(code)
}

/// The checks of [`check_uscc`] on the characters of an upper-cased code.
fn check_uscc_chars(chars: &[char]) -> Result<(), IdError> {
    let [first17 @ .., check] = chars else {
        return Err(IdError::Length {
            expected: 18,
            actual: 0,
        });
    };
    if chars.len() != 18 {
        return Err(IdError::Length {
            expected: 18,
            actual: chars.len(),
        });
    }
    for (pos, &c) in (1..).zip(chars) {
        if uscc_value(c).is_none() {
            return Err(IdError::Character { pos, ch: c });
        }
    }
    if !chars.iter().skip(2).take(6).all(char::is_ascii_digit) {
        return Err(IdError::Format(
            "positions 3-8 must be an administrative area code",
        ));
    }
    let expected = uscc_check_of(first17)?;
    if *check != expected {
        return Err(IdError::CheckCharacter {
            expected,
            actual: *check,
        });
    }
    let org_body: Vec<char> = chars.iter().skip(8).take(8).copied().collect();
    let org_expected = org_check_of(&org_body)?;
    let org_actual = chars.get(16).copied().unwrap_or_default();
    if org_actual != org_expected {
        return Err(IdError::OrgCheckCharacter {
            expected: org_expected,
            actual: org_actual,
        });
    }
    Ok(())
}

/// Validates a 22-character permit number: a valid USCC, a 3-digit sequence, a letter.
pub fn check_permit(input: &str) -> Result<String, IdError> {
    let code = input.trim();
    let chars: Vec<char> = code.chars().collect();
    let [uscc @ .., s1, s2, s3, last] = chars.as_slice() else {
        return Err(IdError::Length {
            expected: 22,
            actual: chars.len(),
        });
    };
    if chars.len() != 22 {
        return Err(IdError::Length {
            expected: 22,
            actual: chars.len(),
        });
    }
    let uscc: String = uscc.iter().collect();
    let uscc = check_uscc(&uscc)?;
    let seq = [*s1, *s2, *s3];
    if !seq.iter().all(char::is_ascii_digit) || seq == ['0', '0', '0'] {
        return Err(IdError::Format(
            "characters 19-21 must be a sequence 001-999",
        ));
    }
    if !last.is_ascii_uppercase() {
        return Err(IdError::Format("character 22 must be an upper-case letter"));
    }
    Ok(format!("{uscc}{s1}{s2}{s3}{last}"))
}

/// Validates an outlet code such as `DA001` (air) or `DW001` (water).
pub fn check_outlet(code: &str) -> Result<Medium, IdError> {
    coded(code, 'D')
}

/// Validates a treatment-facility code such as `TA001` or `TW001`.
pub fn check_facility(code: &str) -> Result<Medium, IdError> {
    coded(code, 'T')
}

fn coded(code: &str, lead: char) -> Result<Medium, IdError> {
    let chars: Vec<char> = code.chars().collect();
    let [first, medium, seq @ ..] = chars.as_slice() else {
        return Err(IdError::Length {
            expected: 5,
            actual: chars.len(),
        });
    };
    if chars.len() != 5 {
        return Err(IdError::Length {
            expected: 5,
            actual: chars.len(),
        });
    }
    if *first != lead {
        return Err(IdError::Format("wrong leading letter"));
    }
    let medium = match medium {
        'A' => Medium::Air,
        'W' => Medium::Water,
        'N' if lead == 'T' => Medium::Noise,
        'S' if lead == 'T' => Medium::Solid,
        _ => return Err(IdError::Format("unknown medium letter")),
    };
    if !seq.iter().all(char::is_ascii_digit) {
        return Err(IdError::Format("sequence must be three digits"));
    }
    Ok(medium)
}

/// The medium an outlet or facility deals with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    Air,
    Water,
    Noise,
    Solid,
}

/// An administrative area of Beijing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct District {
    /// GB/T 2260 code, or `BDA` for the Beijing Economic-Technological Development Area.
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// False for management areas that are not GB/T 2260 districts (Yizhuang).
    pub statutory: bool,
}

/// Beijing's 16 districts (GB/T 2260) and, last, the Yizhuang development area.
pub const DISTRICTS: [District; 17] = [
    District {
        code: "110101",
        zh: "东城区",
        en: "Dongcheng",
        statutory: true,
    },
    District {
        code: "110102",
        zh: "西城区",
        en: "Xicheng",
        statutory: true,
    },
    District {
        code: "110105",
        zh: "朝阳区",
        en: "Chaoyang",
        statutory: true,
    },
    District {
        code: "110106",
        zh: "丰台区",
        en: "Fengtai",
        statutory: true,
    },
    District {
        code: "110107",
        zh: "石景山区",
        en: "Shijingshan",
        statutory: true,
    },
    District {
        code: "110108",
        zh: "海淀区",
        en: "Haidian",
        statutory: true,
    },
    District {
        code: "110109",
        zh: "门头沟区",
        en: "Mentougou",
        statutory: true,
    },
    District {
        code: "110111",
        zh: "房山区",
        en: "Fangshan",
        statutory: true,
    },
    District {
        code: "110112",
        zh: "通州区",
        en: "Tongzhou",
        statutory: true,
    },
    District {
        code: "110113",
        zh: "顺义区",
        en: "Shunyi",
        statutory: true,
    },
    District {
        code: "110114",
        zh: "昌平区",
        en: "Changping",
        statutory: true,
    },
    District {
        code: "110115",
        zh: "大兴区",
        en: "Daxing",
        statutory: true,
    },
    District {
        code: "110116",
        zh: "怀柔区",
        en: "Huairou",
        statutory: true,
    },
    District {
        code: "110117",
        zh: "平谷区",
        en: "Pinggu",
        statutory: true,
    },
    District {
        code: "110118",
        zh: "密云区",
        en: "Miyun",
        statutory: true,
    },
    District {
        code: "110119",
        zh: "延庆区",
        en: "Yanqing",
        statutory: true,
    },
    District {
        code: "BDA",
        zh: "北京经济技术开发区",
        en: "Beijing Economic-Technological Development Area (Yizhuang)",
        statutory: false,
    },
];

/// Looks a district up by code.
pub fn district(code: &str) -> Option<&'static District> {
    DISTRICTS.iter().find(|d| d.code == code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn accepts_reference_uscc_vectors() {
        for code in [
            "91350100M000100Y43",
            "91130200699229617X",
            "911302307808371268",
            "91110105MA01ABCD5F",
            "9111010810200001XR",
            "1211000040000123XG",
            "52110106MJ0000018Q",
        ] {
            assert_eq!(check_uscc(code).as_deref(), Ok(code), "{code}");
        }
    }

    #[test]
    fn rejects_wrong_uscc_check_character() {
        assert_eq!(
            check_uscc("91350100M000100Y4Z"),
            Err(IdError::Character { pos: 18, ch: 'Z' })
        );
        assert_eq!(
            check_uscc("91350100M000100Y44"),
            Err(IdError::CheckCharacter {
                expected: '3',
                actual: '4'
            })
        );
    }

    #[test]
    fn rejects_s_in_uscc_and_upper_cases_input() {
        assert!(matches!(
            check_uscc("91110105MA01ABSD5F"),
            Err(IdError::Character { pos: 15, ch: 'S' })
        ));
        assert_eq!(
            check_uscc("91110105ma01abcd5f").as_deref(),
            Ok("91110105MA01ABCD5F")
        );
    }

    #[test]
    fn worked_example_by_hand() {
        // 91350100M000100Y4: values 9 1 3 5 0 1 0 0 21 0 0 0 1 0 0 30 4, weights
        // 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28: sum = 9+3+27+135+26+420+8+900+112
        // = 1640; 1640 mod 31 = 28; 31 - 28 = 3 -> '3'.
        assert_eq!(uscc_check_char("91350100M000100Y4"), Ok('3'));
        // Organisation code body M000100Y: values 22 0 0 0 1 0 0 34, weights 3 7 9 10 5 8 4 2:
        // 66 + 5 + 68 = 139; 139 mod 11 = 7; 11 - 7 = 4 -> '4' (position 17).
        assert_eq!(org_check_char("M000100Y"), Ok('4'));
    }

    #[test]
    fn permit_numbers() {
        assert!(check_permit("91130200699229617X001P").is_ok());
        assert!(check_permit("91130200699229617X002W").is_ok());
        assert!(check_permit("91130200699229617X000P").is_err());
        assert!(check_permit("91130200699229617X001").is_err());
        assert!(check_permit("91130200699229617Y001P").is_err());
    }

    #[test]
    fn permit_with_a_multi_byte_character_is_rejected_not_a_panic() {
        // 22 characters, 24 bytes: 17 ASCII characters, 中, then 001P. The USCC part is the
        // first 18 characters, whose 18th (中) is not a USCC symbol.
        assert_eq!(
            check_permit("91130200699229617中001P"),
            Err(IdError::Character { pos: 18, ch: '中' })
        );
        // 中 as the 17th character: the same rule, at position 17.
        assert_eq!(
            check_permit("9113020069922961中X001P"),
            Err(IdError::Character { pos: 17, ch: '中' })
        );
        // Inside the sequence (characters 19-21) and as the final letter.
        assert_eq!(
            check_permit("91130200699229617X0中1P"),
            Err(IdError::Format(
                "characters 19-21 must be a sequence 001-999"
            ))
        );
        assert_eq!(
            check_permit("91130200699229617X001中"),
            Err(IdError::Format("character 22 must be an upper-case letter"))
        );
        // 21 characters of which one is multi-byte (23 bytes): a length error, by characters.
        assert_eq!(
            check_permit("91130200699229617X00中"),
            Err(IdError::Length {
                expected: 22,
                actual: 21
            })
        );
        assert_eq!(
            check_uscc("9113020069922961中X"),
            Err(IdError::Character { pos: 17, ch: '中' })
        );
        assert_eq!(
            check_outlet("D中001"),
            Err(IdError::Format("unknown medium letter"))
        );
        assert_eq!(
            check_facility("TA中1"),
            Err(IdError::Length {
                expected: 5,
                actual: 4
            })
        );
    }

    #[test]
    fn outlet_and_facility_codes() {
        assert_eq!(check_outlet("DA001"), Ok(Medium::Air));
        assert_eq!(check_outlet("DW012"), Ok(Medium::Water));
        assert!(check_outlet("DX001").is_err());
        assert!(check_outlet("TA001").is_err());
        assert_eq!(check_facility("TS003"), Ok(Medium::Solid));
    }

    #[test]
    fn sixteen_statutory_districts_plus_yizhuang() {
        assert_eq!(DISTRICTS.iter().filter(|d| d.statutory).count(), 16);
        assert!(district("110103").is_none());
        assert!(district("110110").is_none());
        assert_eq!(district("110119").map(|d| d.en), Some("Yanqing"));
    }
}
