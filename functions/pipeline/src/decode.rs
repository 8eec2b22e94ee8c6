//! Text decoding of delivered files: strict UTF-8 (BOM stripped) first, then GB18030 (its
//! BOM, `84 31 95 33`, stripped too).
//!
//! Stage: ingest (pure). Never lossy: a file that is neither valid UTF-8 nor valid GB18030
//! is refused whole, with the byte offset where decoding failed. GB18030 is never tried
//! first, since almost any UTF-8 byte stream also decodes as GB18030 into mojibake.
//! No input makes it panic (the lints below; tests are exempt).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

/// How a file was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Gb18030,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Gb18030 => "gb18030",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid UTF-8 (invalid at byte {utf8_error_at}) nor valid GB18030")]
pub struct DecodeError {
    pub utf8_error_at: usize,
}

/// Decodes a delivered text file.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_string(), Encoding::Utf8Bom))
            .map_err(|e| DecodeError {
                utf8_error_at: e.valid_up_to().saturating_add(3),
            });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), Encoding::Utf8)),
        Err(e) => {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
                // The GB18030 BOM decodes to U+FEFF: it marks the encoding and is no text
                // (else the header's first column would not match).
                Some(t) => Ok((
                    t.strip_prefix('\u{FEFF}').unwrap_or(&t).to_string(),
                    Encoding::Gb18030,
                )),
                None => Err(DecodeError {
                    utf8_error_at: e.valid_up_to(),
                }),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_with_and_without_bom() {
        assert_eq!(
            decode("氨氮".as_bytes()).unwrap(),
            ("氨氮".to_string(), Encoding::Utf8)
        );
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice("氨氮".as_bytes());
        assert_eq!(decode(&b).unwrap(), ("氨氮".to_string(), Encoding::Utf8Bom));
    }

    #[test]
    fn decodes_gb18030() {
        // 氨氮 in GB18030 (GBK range): B0 B1 B5 AA.
        assert_eq!(
            decode(&[0xB0, 0xB1, 0xB5, 0xAA]).unwrap(),
            ("氨氮".to_string(), Encoding::Gb18030)
        );
    }

    #[test]
    fn strips_the_gb18030_byte_order_mark() {
        // GB18030 encodes U+FEFF as 84 31 95 33 (its four-byte range); 氨氮 follows.
        assert_eq!(
            decode(&[0x84, 0x31, 0x95, 0x33, 0xB0, 0xB1, 0xB5, 0xAA]).unwrap(),
            ("氨氮".to_string(), Encoding::Gb18030)
        );
    }

    #[test]
    fn refuses_bytes_that_are_neither() {
        // 0x80 alone is invalid in UTF-8 and in GB18030; 0xFF is never valid.
        assert_eq!(
            decode(b"ok,\xFF\xFF"),
            Err(DecodeError { utf8_error_at: 3 })
        );
    }
}
