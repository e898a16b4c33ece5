//! Byte-level decoding that mail-parser does not do the way the reading pane needs:
//! lenient transfer decoding for damaged or cut-off parts, character sets with a
//! fallback, and a small base64 encoder for `data:` URIs.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;

/// The transfer encoding named by a part's `Content-Transfer-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransferEncoding {
    Identity,
    Base64,
    QuotedPrintable,
}

impl TransferEncoding {
    pub(crate) fn from_label(label: Option<&str>) -> Self {
        match label.map(str::trim) {
            Some(l) if l.eq_ignore_ascii_case("base64") => TransferEncoding::Base64,
            Some(l) if l.eq_ignore_ascii_case("quoted-printable") => {
                TransferEncoding::QuotedPrintable
            }
            _ => TransferEncoding::Identity,
        }
    }

    /// Decodes a body. Never fails: damaged input gives what can be read.
    pub(crate) fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            TransferEncoding::Identity => Cow::Borrowed(bytes),
            TransferEncoding::Base64 => Cow::Owned(base64_decode_lenient(bytes)),
            TransferEncoding::QuotedPrintable => Cow::Owned(quoted_printable_decode_lenient(bytes)),
        }
    }

    /// The decoded length, computed without decoding where that is possible, so a big
    /// attachment is not copied just to learn its size.
    pub(crate) fn decoded_len(self, bytes: &[u8]) -> usize {
        match self {
            TransferEncoding::Identity => bytes.len(),
            TransferEncoding::Base64 => {
                let mut symbols = 0usize;
                for &b in bytes {
                    if b == b'=' {
                        break;
                    }
                    if BASE64_VALUES[b as usize] != INVALID {
                        symbols += 1;
                    }
                }
                symbols / 4 * 3 + (symbols % 4).saturating_sub(1)
            }
            TransferEncoding::QuotedPrintable => quoted_printable_decode_lenient(bytes).len(),
        }
    }
}

const INVALID: u8 = 0xff;

const BASE64_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = BASE64_ALPHABET;
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    // The URL-safe alphabet turns up in the wild; accepting it costs nothing.
    table[b'-' as usize] = 62;
    table[b'_' as usize] = 63;
    table
};

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes base64, skipping anything outside the alphabet and stopping at padding. A
/// trailing incomplete group (a message cut off mid-line) yields the bytes it holds.
pub(crate) fn base64_decode_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut count = 0u8;
    for &b in input {
        let v = BASE64_VALUES[b as usize];
        if v == INVALID {
            if b == b'=' {
                break;
            }
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        count += 1;
        if count == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            count = 0;
        }
    }
    match count {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Decodes quoted-printable; a malformed escape is kept as it stands.
pub(crate) fn quoted_printable_decode_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        // Soft line break: "=" followed by optional whitespace and a line end.
        let mut j = i + 1;
        while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
            j += 1;
        }
        if j >= input.len() {
            break;
        }
        if input[j] == b'\r' && input.get(j + 1) == Some(&b'\n') {
            i = j + 2;
            continue;
        }
        if input[j] == b'\n' {
            i = j + 1;
            continue;
        }
        match (hex_value(input.get(i + 1)), hex_value(input.get(i + 2))) {
            (Some(h), Some(l)) => {
                out.push((h << 4) | l);
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

fn hex_value(b: Option<&u8>) -> Option<u8> {
    match b? {
        b @ b'0'..=b'9' => Some(b - b'0'),
        b @ b'a'..=b'f' => Some(b - b'a' + 10),
        b @ b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b0 = chunk[0];
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        out.push(BASE64_ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(BASE64_ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            BASE64_ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            BASE64_ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The position of `needle` (given in lower case) in `haystack`, ignoring ASCII case.
pub(crate) fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some(&first) = needle.first() else {
        return Some(0);
    };
    let first = first.to_ascii_lowercase();
    let upper = first.to_ascii_uppercase();
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        let at = i + memchr::memchr2(first, upper, &haystack[i..])?;
        if haystack
            .get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// What decoding text in a part's declared character set found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CharsetIssue {
    /// The label is not one Baton knows; the text was read as UTF-8 or, failing that,
    /// Windows-1252.
    UnknownLabel(String),
    /// The bytes are not valid UTF-8 although they claim (or default) to be; read as
    /// Windows-1252.
    InvalidUtf8,
}

/// Decodes text bytes in `charset` (None: UTF-8, the modern default, which is also valid
/// US-ASCII). A message cut off in the middle of a UTF-8 sequence is not an issue: the
/// partial character is dropped.
pub(crate) fn decode_text(bytes: &[u8], charset: Option<&str>) -> (String, Option<CharsetIssue>) {
    let label = charset.map(str::trim).filter(|l| !l.is_empty());
    match label {
        None => decode_utf8_or_western(bytes),
        Some(l) if is_utf8_label(l) || is_ascii_label(l) => decode_utf8_or_western(bytes),
        Some(l) => match charset_decoder(l.as_bytes()) {
            Some(decoder) => (decoder(bytes), None),
            None => {
                let (text, _) = decode_utf8_or_western(bytes);
                (text, Some(CharsetIssue::UnknownLabel(printable_label(l))))
            }
        },
    }
}

fn decode_utf8_or_western(bytes: &[u8]) -> (String, Option<CharsetIssue>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(e) if e.error_len().is_none() => {
            // Only the last character is incomplete. When the text before it already
            // uses UTF-8, the message was cut off there; otherwise it is more likely a
            // single Western byte at the very end.
            let (valid, tail) = bytes.split_at(e.valid_up_to());
            let mut text = String::from_utf8_lossy(valid).into_owned();
            if valid.is_ascii() {
                text.push_str(&windows_1252(tail));
            }
            (text, None)
        }
        Err(_) => (windows_1252(bytes), Some(CharsetIssue::InvalidUtf8)),
    }
}

pub(crate) fn windows_1252(bytes: &[u8]) -> String {
    match charset_decoder(b"windows-1252") {
        Some(decoder) => decoder(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

pub(crate) fn is_utf8_label(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    matches!(
        l.as_str(),
        "utf-8" | "utf8" | "unicode-1-1-utf-8" | "x-unicode20utf8"
    )
}

fn is_ascii_label(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    matches!(l.as_str(), "us-ascii" | "ascii" | "ansi_x3.4-1968")
}

/// Whether mail-parser decodes this label itself (so its text can be trusted).
pub(crate) fn is_known_label(label: &str) -> bool {
    is_utf8_label(label)
        || is_ascii_label(label)
        || charset_decoder(label.trim().as_bytes()).is_some()
}

/// A charset label for a message to people: short, printable.
fn printable_label(label: &str) -> String {
    label.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_lenient_tail() {
        let data = b"Hello, wereld! \xc3\xa9\x00\xff";
        let encoded = base64_encode(data);
        assert_eq!(base64_decode_lenient(encoded.as_bytes()), data);
        // Line breaks and junk between groups are skipped.
        let wrapped = "SGVs\r\nbG8g\r\nd29y bGQ=";
        assert_eq!(base64_decode_lenient(wrapped.as_bytes()), b"Hello world");
        // Cut off mid-group: the complete bytes survive.
        assert_eq!(base64_decode_lenient(b"SGVsbG8gd2"), b"Hello w");
    }

    #[test]
    fn base64_decoded_len_matches_decoding() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let encoded = base64_encode(&data);
            assert_eq!(
                TransferEncoding::Base64.decoded_len(encoded.as_bytes()),
                len as usize
            );
        }
    }

    #[test]
    fn quoted_printable_soft_breaks_and_bad_escapes() {
        let input = b"caf=C3=A9 =\r\nau lait =ZZ end=";
        assert_eq!(
            quoted_printable_decode_lenient(input),
            "café au lait =ZZ end".as_bytes()
        );
    }

    #[test]
    fn unknown_charset_falls_back() {
        let (text, issue) = decode_text("ok".as_bytes(), Some("x-klingon"));
        assert_eq!(text, "ok");
        assert_eq!(issue, Some(CharsetIssue::UnknownLabel("x-klingon".into())));
        let (text, issue) = decode_text(b"caf\xe9", Some("x-klingon"));
        assert_eq!(text, "café");
        assert!(issue.is_some());
    }

    #[test]
    fn invalid_utf8_read_as_windows_1252() {
        let (text, issue) = decode_text(b"Ge\xefnteresseerd \x80 5", None);
        assert_eq!(text, "Geïnteresseerd € 5");
        assert_eq!(issue, Some(CharsetIssue::InvalidUtf8));
    }

    #[test]
    fn utf8_cut_mid_character_is_not_an_issue() {
        let (text, issue) = decode_text(b"caf\xc3\xa9 caf\xc3", Some("utf-8"));
        assert_eq!(text, "café caf");
        assert_eq!(issue, None);
    }

    #[test]
    fn latin1_label_decodes() {
        let (text, issue) = decode_text(b"r\xe9sum\xe9", Some("ISO-8859-1"));
        assert_eq!(text, "résumé");
        assert_eq!(issue, None);
    }
}
