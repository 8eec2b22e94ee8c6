//! CSV text as government systems export it: header line, `"`-quoting where needed, CRLF or
//! LF, UTF-8 (with or without BOM) or GB18030; and the number and date spellings used in
//! cells. Builds bytes in memory for one file at a time; no I/O.

use chrono::{Datelike, NaiveDate};

/// The byte encoding of a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    Utf8,
    Utf8Bom,
    Gb18030,
}

impl TextEncoding {
    /// One third each, from a draw in `0..3`.
    pub(crate) fn from_draw(d: u32) -> Self {
        match d % 3 {
            0 => TextEncoding::Gb18030,
            1 => TextEncoding::Utf8Bom,
            _ => TextEncoding::Utf8,
        }
    }
}

/// A CSV file being written.
#[derive(Debug)]
pub(crate) struct CsvText {
    text: String,
    crlf: bool,
}

impl CsvText {
    pub(crate) fn new(header: &[&str], crlf: bool) -> Self {
        let mut t = Self {
            text: String::with_capacity(64 * 1024),
            crlf,
        };
        t.row(header);
        t
    }

    /// Appends one row; cells are quoted when they contain `,`, `"`, CR or LF.
    pub(crate) fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            let cell = cell.as_ref();
            if cell.contains([',', '"', '\r', '\n']) {
                self.text.push('"');
                self.text.push_str(&cell.replace('"', "\"\""));
                self.text.push('"');
            } else {
                self.text.push_str(cell);
            }
        }
        self.text.push_str(if self.crlf { "\r\n" } else { "\n" });
    }

    /// The file's bytes in the given encoding.
    pub(crate) fn finish(self, encoding: TextEncoding) -> Vec<u8> {
        encode(&self.text, encoding)
    }
}

/// Encodes text; GB18030 covers all of Unicode, so nothing is lost.
pub(crate) fn encode(text: &str, encoding: TextEncoding) -> Vec<u8> {
    match encoding {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Utf8Bom => {
            let mut v = Vec::with_capacity(text.len() + 3);
            v.extend_from_slice(b"\xEF\xBB\xBF");
            v.extend_from_slice(text.as_bytes());
            v
        }
        TextEncoding::Gb18030 => {
            let (bytes, _, had_errors) = encoding_rs::GB18030.encode(text);
            debug_assert!(!had_errors, "GB18030 encodes all of Unicode");
            bytes.into_owned()
        }
    }
}

/// A number with at most `decimals` decimals, trailing zeros removed (`12.30` → `12.3`).
pub(crate) fn num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// `0.75` → `.75` and `-0.75` → `-.75`, as some exports write them.
pub(crate) fn drop_leading_zero(s: String) -> String {
    if let Some(rest) = s.strip_prefix("0.") {
        format!(".{rest}")
    } else if let Some(rest) = s.strip_prefix("-0.") {
        format!("-.{rest}")
    } else {
        s
    }
}

/// `YYYY-MM-DD`.
pub(crate) fn iso_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_where_needed_and_doubles_quotes() {
        let mut t = CsvText::new(&["a", "b"], true);
        t.row(&["x,y", "\"><img>"]);
        t.row(&["plain", ""]);
        assert_eq!(
            t.finish(TextEncoding::Utf8),
            b"a,b\r\n\"x,y\",\"\"\"><img>\"\r\nplain,\r\n"
        );
    }

    #[test]
    fn gb18030_output_is_not_utf8_and_round_trips() {
        let mut t = CsvText::new(&["统一社会信用代码", "监测项目"], false);
        t.row(&["91110105MA01ABCD5F", "二噁英类"]);
        let bytes = t.finish(TextEncoding::Gb18030);
        assert!(std::str::from_utf8(&bytes).is_err());
        let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(&bytes);
        assert!(!had_errors);
        assert!(text.contains("二噁英类"));
    }

    #[test]
    fn number_spellings() {
        assert_eq!(num(12.30, 2), "12.3");
        assert_eq!(num(500.0, 1), "500");
        assert_eq!(num(-0.0001, 2), "0");
        assert_eq!(drop_leading_zero(num(0.75, 2)), ".75");
        assert_eq!(drop_leading_zero(num(-0.5, 2)), "-.5");
    }
}
