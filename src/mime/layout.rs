//! Which parts of a message are its text, its HTML and its attachments, a part's text
//! decoded, and the notes taken while reading (what to tell the member).

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::decode::{CharsetIssue, TransferEncoding, decode_text, is_known_label};
use super::text::unflow;
use crate::problem::{Problem, ProblemCode};

/// Which parts make up the text, the HTML and the attachments.
pub(crate) struct Layout {
    /// Parts whose text is shown (text/plain, or text/html when there is no plain text).
    pub text: Vec<u32>,
    /// Parts that make up the HTML document (text/html, and text/plain shown between
    /// them in a mixed message).
    pub html: Vec<u32>,
    pub attachments: Vec<u32>,
}

/// A body part that mail-parser set aside because its encoding was damaged (or the
/// message was cut off in it): still the body, not an attachment.
pub(super) fn is_recovered_body(part: &MessagePart<'_>) -> bool {
    part.is_encoding_problem
        && matches!(part.body, PartType::Text(_) | PartType::Html(_))
        && part.attachment_name().is_none()
        && !part
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
        && part.content_type().is_none_or(|ct| {
            ct.ctype().eq_ignore_ascii_case("text")
                && ct.subtype().is_none_or(|s| {
                    s.eq_ignore_ascii_case("plain") || s.eq_ignore_ascii_case("html")
                })
        })
}

pub(crate) fn is_html_part(part: &MessagePart<'_>) -> bool {
    matches!(part.body, PartType::Html(_)) || part.is_content_type("text", "html")
}

/// A part's body as it stands in the message (still transfer-encoded).
pub(super) fn raw_body<'m>(message: &'m Message<'_>, part: &MessagePart<'_>) -> &'m [u8] {
    let start = part.offset_body as usize;
    let end = part.offset_end as usize;
    message.raw_message.get(start..end).unwrap_or_default()
}

/// The text of a text part, decoded, capped at `cap` bytes.
pub(crate) fn part_text(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    cap: usize,
    notes: &mut Notes,
) -> String {
    let content_type = part.content_type();
    let charset = content_type.and_then(|ct| ct.attribute("charset"));
    let parsed_text = part.text_contents().unwrap_or("");
    let unknown_label = charset.is_some_and(|c| !is_known_label(c));
    let suspicious = parsed_text.contains('\u{fffd}');
    let mut text = if part.is_encoding_problem || unknown_label || suspicious {
        if part.is_encoding_problem {
            notes.unreadable(
                "part of the text was damaged in transit or cut off, so it may be incomplete",
            );
        }
        let body = raw_body(message, part);
        // Encoded text is at most about a third longer than the text itself.
        let body = &body[..body.len().min(cap.saturating_mul(2))];
        let encoding = TransferEncoding::from_label(part.content_transfer_encoding());
        let decoded = encoding.decode(body);
        let (text, issue) = decode_text(&decoded, charset);
        match issue {
            Some(CharsetIssue::UnknownLabel(label)) => notes.unreadable(format!(
                "the character set \"{label}\" is unknown, so some letters may look wrong"
            )),
            Some(CharsetIssue::InvalidUtf8) => notes.unreadable(
                "the text is not valid UTF-8; it was read as Western European (Windows-1252), so some letters may look wrong",
            ),
            None if text.contains('\u{fffd}') && !decoded.windows(3).any(|w| w == "\u{fffd}".as_bytes()) => {
                notes.unreadable("some characters could not be decoded")
            }
            None => {}
        }
        text
    } else {
        let end = floor_char_boundary(parsed_text, cap.saturating_add(4));
        parsed_text[..end].to_owned()
    };
    if text.len() > cap {
        let end = floor_char_boundary(&text, cap);
        text.truncate(end);
        notes.shortened();
    }
    let flowed = !is_html_part(part)
        && content_type
            .and_then(|ct| ct.attribute("format"))
            .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
    if flowed {
        let delsp = content_type
            .and_then(|ct| ct.attribute("delsp"))
            .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
        text = unflow(&text, delsp);
    }
    text
}

pub(super) fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    let mut i = index;
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// What went wrong while reading, collected into one problem.
#[derive(Default)]
pub(crate) struct Notes {
    unreadable: Vec<String>,
    shortened: bool,
}

impl Layout {
    pub(crate) fn of(message: &Message<'_>) -> Layout {
        let textual = |id: &u32| {
            matches!(
                message.parts.get(*id as usize).map(|p| &p.body),
                Some(PartType::Text(_) | PartType::Html(_))
            )
        };
        let mut text: Vec<u32> = message.text_body.iter().copied().filter(textual).collect();
        let mut html: Vec<u32> = message.html_body.iter().copied().filter(textual).collect();
        let mut attachments = Vec::new();
        for &id in &message.attachments {
            let Some(part) = message.parts.get(id as usize) else {
                continue;
            };
            if text.contains(&id) || html.contains(&id) {
                continue;
            }
            if is_recovered_body(part) {
                if is_html_part(part) {
                    html.push(id);
                } else {
                    text.push(id);
                }
                continue;
            }
            attachments.push(id);
        }
        text.sort_unstable();
        html.sort_unstable();
        Layout {
            text,
            html,
            attachments,
        }
    }

    /// Whether there is a text/plain body.
    pub(crate) fn has_plain(&self, message: &Message<'_>) -> bool {
        self.text
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .any(|p| !is_html_part(p))
    }

    /// Whether there is an HTML body.
    pub(crate) fn has_html(&self, message: &Message<'_>) -> bool {
        self.html
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .any(is_html_part)
    }
}

impl Notes {
    pub(crate) fn unreadable(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.unreadable.contains(&note) && self.unreadable.len() < 8 {
            self.unreadable.push(note);
        }
    }

    pub(crate) fn shortened(&mut self) {
        self.shortened = true;
    }

    pub(super) fn into_problem(self) -> Option<Problem> {
        const SHORTENED: &str = "Text shortened: the message has more text than Baton shows at once (the first megabyte of each part).";
        if !self.unreadable.is_empty() {
            let mut message = format!(
                "This message could only be read in part: {}.",
                self.unreadable.join("; ")
            );
            if self.shortened {
                message.push(' ');
                message.push_str(SHORTENED);
            }
            return Some(Problem::new(ProblemCode::MessageUnreadable, message));
        }
        self.shortened
            .then(|| Problem::new(ProblemCode::MessageTooLarge, SHORTENED))
    }
}
