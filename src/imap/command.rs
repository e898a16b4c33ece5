//! Building command arguments safely: every value that enters an IMAP command passes
//! through here, so user or server text can never end a line or start a new command.

use crate::problem::{Problem, ProblemCode, Result};

/// An IMAP quoted string. Control characters (CR, LF, NUL and the rest) are refused
/// rather than escaped: a quoted string cannot carry them, and a literal is never needed
/// for the names Baton sends.
pub fn quoted(value: &str) -> Result<String> {
    if value.chars().any(char::is_control) {
        return Err(Problem::new(
            ProblemCode::InvalidSettings,
            "a value contains control characters and cannot be sent to the server",
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A compact UID set (`1:5,9,12:13`) from UIDs in any order.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quoted("INBOX").ok(), Some("\"INBOX\"".into()));
        assert_eq!(quoted("a \"b\" \\c").ok(), Some(r#""a \"b\" \\c""#.into()));
        assert!(quoted("INBOX\r\nA1 DELETE INBOX").is_err());
        assert!(quoted("a\0").is_err());
    }

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 9, 12, 13, 2]), "1:3,5,9,12:13");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[]), "");
    }
}
