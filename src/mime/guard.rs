//! Parsing with mail-parser without letting a hostile message exhaust the stack.
//!
//! mail-parser parses nested `message/rfc822` parts without recursion, but two things
//! about nesting recurse: dropping a parsed message (one frame per nested message) and
//! the parse of a nested message that is itself base64- or quoted-printable-encoded
//! (its parts are converted with a recursive `into_owned`). A few hundred kilobytes of
//! nested headers were enough to overflow an 8 MB stack. So:
//! - [`Parsed`] tears the tree down iteratively;
//! - [`prepare`] relabels encoded nested messages (`message/x-baton-encoded-rfc822`)
//!   so mail-parser keeps them as plain decoded bytes, which the caller parses in turn
//!   (through `prepare` again) within its own depth limit.

use std::borrow::Cow;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// Subtype given to a relabelled encoded `message/rfc822` part.
pub(crate) const ENCODED_RFC822: &str = "x-baton-encoded-rfc822";
/// Subtype given to a relabelled encoded `message/global` part.
pub(crate) const ENCODED_GLOBAL: &str = "x-baton-encoded-global";

/// A parsed message that drops without recursion.
pub(crate) struct Parsed<'x> {
    message: Message<'x>,
}

impl<'x> Parsed<'x> {
    pub(crate) fn message(&self) -> &Message<'x> {
        &self.message
    }
}

impl Drop for Parsed<'_> {
    fn drop(&mut self) {
        let mut stack = vec![std::mem::take(&mut self.message)];
        while let Some(mut message) = stack.pop() {
            for part in &mut message.parts {
                if let PartType::Message(inner) = &mut part.body {
                    stack.push(std::mem::take(inner));
                }
            }
        }
    }
}

/// Parses bytes that went through [`prepare`]. None when there is not even a header.
pub(crate) fn parse(prepared: &[u8]) -> Option<Parsed<'_>> {
    MessageParser::default()
        .parse(prepared)
        .map(|message| Parsed { message })
}

/// Whether a part is a nested message that [`prepare`] relabelled.
pub(crate) fn is_relabelled_message(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("message")
            && ct.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case(ENCODED_RFC822) || s.eq_ignore_ascii_case(ENCODED_GLOBAL)
            })
    })
}

/// Relabels every base64- or quoted-printable-encoded nested message so that mail-parser
/// does not parse it recursively. Borrowed (no copy) when there is none, which is the
/// normal case.
pub(crate) fn prepare(raw: &[u8]) -> Cow<'_, [u8]> {
    let edits = find_encoded_messages(raw);
    if edits.is_empty() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + edits.len() * 48);
    let mut pos = 0;
    for edit in edits {
        match edit {
            Edit::Replace { start, end, with } => {
                if start < pos || end > raw.len() {
                    continue;
                }
                out.extend_from_slice(&raw[pos..start]);
                out.extend_from_slice(with.as_bytes());
                pos = end;
            }
            Edit::Insert { at, text } => {
                if at < pos || at > raw.len() {
                    continue;
                }
                out.extend_from_slice(&raw[pos..at]);
                out.extend_from_slice(text.as_bytes());
                pos = at;
            }
        }
    }
    out.extend_from_slice(&raw[pos..]);
    Cow::Owned(out)
}

enum Edit {
    /// Replace `raw[start..end]` (a subtype) by `with`.
    Replace {
        start: usize,
        end: usize,
        with: &'static str,
    },
    /// Insert a header line at `at` (the start of a header block that has no
    /// Content-Type, inside a digest where that means message/rfc822).
    Insert { at: usize, text: &'static str },
}

/// One header block as the scan sees it.
#[derive(Default)]
struct Block {
    start: usize,
    /// (start, end) of the subtype "rfc822"/"global" in a `message/…` Content-Type.
    message_subtypes: Vec<(usize, usize, bool)>,
    has_content_type: bool,
    encoded: bool,
    /// The block declares a message type (its body starts another header block).
    is_message: bool,
}

/// Finds header blocks (at the start, after every line starting with `--`, and after the
/// header of a nested message) that declare an encoded nested message. The scan is
/// deliberately generous: every line that may be a boundary starts a candidate block.
fn find_encoded_messages(raw: &[u8]) -> Vec<Edit> {
    // Fast path: no message type anywhere.
    let digest_anywhere = contains_ignore_case(raw, b"digest");
    if !digest_anywhere && !contains_ignore_case(raw, b"message") {
        return Vec::new();
    }

    let mut edits = Vec::new();
    let mut block: Option<Block> = Some(Block::default());
    let mut current_field: Option<Field> = None;
    let mut line_start = 0;
    while line_start < raw.len() {
        let line_end =
            memchr::memchr(b'\n', &raw[line_start..]).map_or(raw.len(), |i| line_start + i + 1);
        let line = &raw[line_start..line_end];
        let content = trim_line_end(line);
        match block.as_mut() {
            Some(b) => {
                if content.is_empty() {
                    finish_field(b, current_field.take(), raw);
                    let next_is_header = b.is_message && !b.encoded;
                    finish_block(b, digest_anywhere, &mut edits);
                    block = next_is_header.then(|| Block {
                        start: line_end,
                        ..Block::default()
                    });
                } else if content[0] == b' ' || content[0] == b'\t' {
                    if let Some(f) = current_field.as_mut() {
                        f.end = line_start + content.len();
                    }
                } else if content.starts_with(b"--") {
                    // A boundary where headers were expected: the block was empty.
                    finish_field(b, current_field.take(), raw);
                    finish_block(b, digest_anywhere, &mut edits);
                    block = Some(Block {
                        start: line_end,
                        ..Block::default()
                    });
                } else {
                    finish_field(b, current_field.take(), raw);
                    current_field = Some(Field {
                        start: line_start,
                        end: line_start + content.len(),
                    });
                }
            }
            None => {
                if content.starts_with(b"--") {
                    block = Some(Block {
                        start: line_end,
                        ..Block::default()
                    });
                }
            }
        }
        line_start = line_end;
    }
    if let Some(b) = block.as_mut() {
        finish_field(b, current_field.take(), raw);
        finish_block(b, digest_anywhere, &mut edits);
    }
    edits.sort_by_key(|e| match e {
        Edit::Replace { start, .. } => *start,
        Edit::Insert { at, .. } => *at,
    });
    edits
}

struct Field {
    start: usize,
    end: usize,
}

fn finish_field(block: &mut Block, field: Option<Field>, raw: &[u8]) {
    let Some(field) = field else { return };
    let text = &raw[field.start..field.end];
    let Some(colon) = memchr::memchr(b':', text) else {
        return;
    };
    let name = trim_ascii(&text[..colon]);
    let value_start = field.start + colon + 1;
    let value = &raw[value_start..field.end];
    if name.eq_ignore_ascii_case(b"content-type") {
        block.has_content_type = true;
        // Find "message" "/" subtype, allowing whitespace around the slash.
        let lower = value.to_ascii_lowercase();
        let trimmed = trim_ascii(&lower);
        if trimmed.starts_with(b"message") {
            block.is_message = true;
            let offset_in_value = lower.len() - trim_start_ascii(&lower).len();
            let mut i = offset_in_value + "message".len();
            while i < lower.len() && lower[i].is_ascii_whitespace() {
                i += 1;
            }
            if lower.get(i) == Some(&b'/') {
                i += 1;
                while i < lower.len() && lower[i].is_ascii_whitespace() {
                    i += 1;
                }
                let sub_start = i;
                while i < lower.len() && (lower[i].is_ascii_alphanumeric() || lower[i] == b'-') {
                    i += 1;
                }
                let sub = &lower[sub_start..i];
                if sub == b"rfc822" || sub == b"global" {
                    block.message_subtypes.push((
                        value_start + sub_start,
                        value_start + i,
                        sub == b"global",
                    ));
                } else {
                    // message/partial, message/delivery-status, …: not parsed as messages.
                    block.is_message = false;
                }
            }
        }
    } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
        let v = trim_ascii(value);
        if v.eq_ignore_ascii_case(b"base64") || v.eq_ignore_ascii_case(b"quoted-printable") {
            block.encoded = true;
        }
    }
}

fn finish_block(block: &mut Block, digest_anywhere: bool, edits: &mut Vec<Edit>) {
    if !block.encoded {
        return;
    }
    for &(start, end, global) in &block.message_subtypes {
        edits.push(Edit::Replace {
            start,
            end,
            with: if global {
                ENCODED_GLOBAL
            } else {
                ENCODED_RFC822
            },
        });
    }
    if !block.has_content_type && digest_anywhere {
        edits.push(Edit::Insert {
            at: block.start,
            text: "Content-Type: message/x-baton-encoded-rfc822\r\n",
        });
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

fn trim_start_ascii(s: &[u8]) -> &[u8] {
    s.trim_ascii_start()
}

fn contains_ignore_case(haystack: &[u8], needle_lower: &[u8]) -> bool {
    super::decode::find_ignore_case(haystack, needle_lower).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_are_not_copied() {
        let raw = b"From: a@b.c\r\nSubject: hi\r\n\r\nhello\r\n";
        assert!(matches!(prepare(raw), Cow::Borrowed(_)));
        let fwd = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.e\r\n\r\nhi\r\n--X--\r\n";
        assert!(matches!(prepare(fwd), Cow::Borrowed(_)));
    }

    #[test]
    fn encoded_nested_message_is_relabelled() {
        let raw = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: Message/RFC822\r\nContent-Transfer-Encoding: base64\r\n\r\nRnJvbTogYUBiLmMNCg0KaGkNCg==\r\n--X--\r\n";
        let prepared = prepare(raw);
        let text = String::from_utf8_lossy(&prepared);
        assert!(
            text.contains("Content-Type: Message/x-baton-encoded-rfc822\r\n"),
            "{text}"
        );
        let parsed = parse(&prepared).expect("parses");
        let part = parsed
            .message()
            .parts
            .iter()
            .find(|p| is_relabelled_message(p))
            .expect("relabelled part");
        assert_eq!(part.contents(), b"From: a@b.c\r\n\r\nhi\r\n");
    }

    #[test]
    fn encoded_digest_child_gets_a_content_type() {
        let raw = b"From: a@b.c\r\nContent-Type: multipart/digest; boundary=X\r\n\r\n--X\r\nContent-Transfer-Encoding: base64\r\n\r\nRnJvbTogYUBiLmMNCg0KaGkNCg==\r\n--X--\r\n";
        let prepared = prepare(raw);
        let text = String::from_utf8_lossy(&prepared);
        assert!(
            text.contains(
                "--X\r\nContent-Type: message/x-baton-encoded-rfc822\r\nContent-Transfer-Encoding"
            ),
            "{text}"
        );
    }

    #[test]
    fn deep_nesting_drops_without_overflow() {
        // Deep enough to overflow a 2 MB stack with a recursive drop.
        let mut raw = Vec::new();
        for _ in 0..60_000 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"From: a@b.c\r\n\r\nhello\r\n");
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let parsed = parse(&raw);
                parsed.is_some()
            })
            .expect("thread");
        assert!(handle.join().expect("no overflow"));
    }

    #[test]
    fn deep_encoded_nesting_does_not_overflow() {
        let mut inner = Vec::new();
        for _ in 0..60_000 {
            inner.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        inner.extend_from_slice(b"From: a@b.c\r\n\r\nhello\r\n");
        let mut raw = b"From: x@y.z\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
        raw.extend_from_slice(crate::mime::decode::base64_encode(&inner).as_bytes());
        raw.extend_from_slice(b"\r\n--Q--\r\n");
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let prepared = prepare(&raw);
                parse(&prepared).is_some()
            })
            .expect("thread");
        assert!(handle.join().expect("no overflow"));
    }
}
