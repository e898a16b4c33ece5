//! One line of a message's own words for the conversation list, from the first few
//! kilobytes of the message (the engine fetches `BODY.PEEK[]<0.8192>`): cut-off
//! base64 and quoted-printable bodies and multiparts cut mid-way still give a preview.

use mail_parser::Message;

use super::html::{self, InlineImages};
use super::layout::{Layout, Notes, is_html_part, part_text};
use super::text::{preview_line, text_blocks};
use super::{TextBlock, guard};

/// Bytes of the message looked at: a preview never needs more, and a 50 MB message
/// must not be parsed whole for one line.
const MAX_INPUT: usize = 64 * 1024;
/// Text per part looked at.
const MAX_PART_TEXT: usize = 16 * 1024;

/// A one-line preview of the message's own words (quotes, attributions and signatures
/// left out, white space collapsed), at most `max_chars` characters. Works on a prefix
/// of the message. Empty when there are no words.
pub fn preview(raw: &[u8], max_chars: usize) -> String {
    let raw = &raw[..raw.len().min(MAX_INPUT)];
    let prepared = guard::prepare(raw);
    let Some(parsed) = guard::parse(&prepared) else {
        return String::new();
    };
    let message = parsed.message();
    let line = preview_line(&own_blocks(message), max_chars);
    if !line.is_empty() {
        return line;
    }
    // Nothing but a forwarded message: preview that.
    let layout = Layout::of(message);
    for &id in &layout.attachments {
        if let Some(mail_parser::PartType::Message(nested)) =
            message.parts.get(id as usize).map(|p| &p.body)
        {
            let line = preview_line(&own_blocks(nested), max_chars);
            if !line.is_empty() {
                return line;
            }
        }
    }
    String::new()
}

fn own_blocks(message: &Message<'_>) -> Vec<TextBlock> {
    let layout = Layout::of(message);
    let mut notes = Notes::default();
    let parts = || {
        layout
            .text
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
    };
    if let Some(plain) = parts().find(|p| !is_html_part(p)) {
        let text = part_text(message, plain, MAX_PART_TEXT, &mut notes);
        let blocks = text_blocks(&text);
        if !blocks.is_empty() {
            return blocks;
        }
    }
    let html_part = parts().find(|p| is_html_part(p)).or_else(|| {
        layout
            .html
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .find(|p| is_html_part(p))
    });
    match html_part {
        Some(part) => {
            let source = part_text(message, part, MAX_PART_TEXT, &mut notes);
            let sanitized = html::sanitize(&source, InlineImages::new(), false);
            text_blocks(&html::html_to_text(&sanitized.body))
        }
        None => Vec::new(),
    }
}
