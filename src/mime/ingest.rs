//! From raw bytes to what the reading pane shows: text blocks, sanitized HTML, the list
//! of attachments and, when something was wrong with the message, a problem in plain
//! words. Never fails as a whole and never panics.

use mail_parser::{Address, Message, MessagePart, MimeHeaders, PartType};

use super::decode::decode_text;
use super::html::{self, InlineImages, Sanitized};
use super::text::text_blocks;
use super::{AttachmentInfo, MessageContent, SafeHtml, TextBlock, TextBlockKind, guard, report};
use crate::problem::{Problem, ProblemCode};

use super::attachments::{
    MAX_ATTACHMENTS, attachment_bytes, attachment_info, attachment_infos, inline_images,
};
use super::layout::{Layout, Notes, is_html_part, part_text, raw_body};

/// Text shown per part (a giant text mail must not freeze the reading pane).
pub(crate) const MAX_TEXT: usize = 1024 * 1024;
/// HTML sanitized per message.
const MAX_HTML: usize = 2 * 1024 * 1024;
/// Forwarded messages inside forwarded messages shown inline, at most this deep.
const MAX_FORWARD_DEPTH: usize = 3;
/// MIME nesting beyond this is reported as a problem.
const MAX_NESTING: usize = 20;

/// How a message is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestOptions {
    /// Load remote images (http/https) in the HTML; otherwise they are left out and
    /// counted in `SafeHtml::blocked_remote_images`.
    pub allow_remote_images: bool,
}

/// Reads a message for the reading pane. Never fails: what cannot be read is described
/// in `problem`, and what can be read is shown.
pub fn ingest(raw: &[u8], options: &IngestOptions) -> MessageContent {
    let mut notes = Notes::default();
    let prepared = guard::prepare(raw);
    let Some(parsed) = guard::parse(&prepared) else {
        return unparsable(raw);
    };
    let message = parsed.message();
    check_structure(message, &mut notes);
    let layout = Layout::of(message);

    let own_html = html_source(message, &layout, &mut notes);
    let cids = own_html
        .as_deref()
        .map(html::referenced_cids)
        .unwrap_or_default();
    let attachments = attachment_infos(message, &layout, &cids, &mut notes);

    let mut forwarded = Vec::new();
    let returned = report::is_delivery_report(message);
    for &id in &layout.attachments {
        if let Some(part) = message.parts.get(id as usize) {
            with_nested_message(part, |nested| {
                forwarded.push(forwarded_section(
                    nested,
                    returned,
                    1,
                    options,
                    own_html.is_some(),
                    &mut notes,
                ));
            });
        }
    }

    let mut blocked_remote_images = 0u32;
    let mut text = Vec::new();
    let sanitized = own_html.map(|source| {
        let images = inline_images(message, &cids);
        let s = html::sanitize(&source, images, options.allow_remote_images);
        blocked_remote_images += s.blocked_remote_images;
        s
    });

    if layout.has_plain(message) {
        text = plain_blocks(message, &layout, &mut notes);
    } else if let Some(s) = &sanitized {
        text = text_blocks(&html::html_to_text(&s.body));
    } else if !layout.text.is_empty() {
        // HTML parts only reachable through the text list (no HTML document wanted).
        text = plain_blocks(message, &layout, &mut notes);
    }

    if text.is_empty()
        && report::is_delivery_report(message)
        && let Some(r) = report::from_message(message)
    {
        let summary = report::summary(&r);
        if !summary.is_empty() {
            text.push(TextBlock {
                kind: TextBlockKind::Body,
                depth: 0,
                text: summary,
            });
        }
    }

    let html = sanitized.map(|mut s| {
        for f in &forwarded {
            s.body.push_str(&f.html);
            blocked_remote_images += f.blocked_remote_images;
        }
        SafeHtml {
            document: html::document(&s, options.allow_remote_images),
            blocked_remote_images,
        }
    });
    for f in forwarded {
        append_blocks(&mut text, f.blocks);
    }

    MessageContent {
        html,
        text,
        attachments,
        problem: notes.into_problem(),
    }
}

/// The decoded bytes of attachment `index` (as listed by [`ingest`]) and its details.
pub fn attachment(raw: &[u8], index: u32) -> Result<(AttachmentInfo, Vec<u8>), Problem> {
    let prepared = guard::prepare(raw);
    let parsed = guard::parse(&prepared).ok_or_else(|| {
        Problem::new(
            ProblemCode::MessageUnreadable,
            "The message could not be read, so its attachments cannot be saved.",
        )
    })?;
    let message = parsed.message();
    let layout = Layout::of(message);
    let own_html = html_source(message, &layout, &mut Notes::default());
    let cids = own_html
        .as_deref()
        .map(html::referenced_cids)
        .unwrap_or_default();
    let id = layout
        .attachments
        .get(index as usize)
        .copied()
        .filter(|_| (index as usize) < MAX_ATTACHMENTS)
        .ok_or_else(|| {
            Problem::new(
                ProblemCode::NotFound,
                format!(
                    "The message has no attachment number {}.",
                    u64::from(index) + 1
                ),
            )
        })?;
    let part = message.parts.get(id as usize).ok_or_else(|| {
        Problem::new(
            ProblemCode::NotFound,
            "The attachment is missing from the message.",
        )
    })?;
    let info = attachment_info(message, part, index, &cids);
    let bytes = attachment_bytes(message, part).into_owned();
    Ok((info, bytes))
}

/// Text blocks of the text parts (HTML ones among them converted).
fn plain_blocks(message: &Message<'_>, layout: &Layout, notes: &mut Notes) -> Vec<TextBlock> {
    let mut joined = String::new();
    for &id in &layout.text {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let text = if is_html_part(part) {
            let source = part_text(message, part, MAX_HTML, notes);
            let s = html::sanitize(&source, InlineImages::new(), false);
            html::html_to_text(&s.body)
        } else {
            part_text(message, part, MAX_TEXT, notes)
        };
        if text.trim().is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push_str("\n\n");
        }
        joined.push_str(&text);
    }
    text_blocks(&joined)
}

/// The HTML source of the message's own HTML body: its HTML parts, and text parts shown
/// between them. None when the message has no HTML.
fn html_source(message: &Message<'_>, layout: &Layout, notes: &mut Notes) -> Option<String> {
    if !layout.has_html(message) {
        return None;
    }
    let mut source = String::new();
    for &id in &layout.html {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let budget = MAX_HTML.saturating_sub(source.len());
        if budget == 0 {
            notes.shortened();
            break;
        }
        if is_html_part(part) {
            source.push_str(&part_text(message, part, budget, notes));
        } else {
            let text = part_text(message, part, budget.min(MAX_TEXT), notes);
            source.push_str("<div style=\"white-space:pre-wrap\">");
            source.push_str(&html::escape(&text));
            source.push_str("</div>");
        }
    }
    Some(source)
}

/// Calls `f` with the nested message of a forwarded-message part, parsing a relabelled
/// (encoded) one first.
fn with_nested_message(part: &MessagePart<'_>, mut f: impl FnMut(&Message<'_>)) {
    match &part.body {
        PartType::Message(nested) => f(nested),
        _ if guard::is_relabelled_message(part) => {
            let prepared = guard::prepare(part.contents());
            if let Some(parsed) = guard::parse(&prepared) {
                f(parsed.message());
            }
        }
        _ => {}
    }
}

struct Forwarded {
    blocks: Vec<TextBlock>,
    /// Sanitized HTML for the document (empty when the outer message has no HTML).
    html: String,
    blocked_remote_images: u32,
}

/// A forwarded message shown inline: its headers and its text, quoted one level deeper,
/// and an HTML rendering when the outer message has HTML.
fn forwarded_section(
    message: &Message<'_>,
    returned: bool,
    depth: usize,
    options: &IngestOptions,
    want_html: bool,
    notes: &mut Notes,
) -> Forwarded {
    check_structure(message, notes);
    let layout = Layout::of(message);
    let marker = if returned {
        "---------- Returned message ----------"
    } else {
        "---------- Forwarded message ----------"
    };
    let mut header_lines = vec![marker.to_owned()];
    if let Some(from) = message.from() {
        header_lines.push(format!("From: {}", format_addresses(from)));
    }
    if let Some(date) = message.header_raw("Date") {
        header_lines.push(format!(
            "Date: {}",
            date.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    if let Some(subject) = message.subject() {
        header_lines.push(format!("Subject: {subject}"));
    }
    if let Some(to) = message.to() {
        header_lines.push(format!("To: {}", format_addresses(to)));
    }

    let own_html = html_source(message, &layout, notes);
    let mut blocked = 0;
    let sanitized: Option<Sanitized> = own_html.map(|source| {
        let cids = html::referenced_cids(&source);
        let s = html::sanitize(
            &source,
            inline_images(message, &cids),
            options.allow_remote_images,
        );
        blocked += s.blocked_remote_images;
        s
    });
    let own_blocks = if layout.has_plain(message) {
        plain_blocks(message, &layout, notes)
    } else if let Some(s) = &sanitized {
        text_blocks(&html::html_to_text(&s.body))
    } else {
        plain_blocks(message, &layout, notes)
    };

    let own_text: Vec<String> = own_blocks.iter().map(|b| b.text.clone()).collect();
    let mut blocks = vec![TextBlock {
        kind: TextBlockKind::Quote,
        depth: 1,
        text: header_lines.join("\n"),
    }];
    append_blocks(
        &mut blocks,
        own_blocks.into_iter().map(|b| deeper(b, 1)).collect(),
    );

    let mut html_out = String::new();
    if want_html {
        html_out
            .push_str("<div style=\"margin-top:16px\"><p style=\"color:#57606a;margin:0 0 8px\">");
        html_out.push_str(
            &header_lines
                .iter()
                .map(|l| html::escape(l))
                .collect::<Vec<_>>()
                .join("<br>"),
        );
        html_out.push_str("</p><blockquote>");
        match &sanitized {
            Some(s) => html_out.push_str(&s.body),
            None => {
                let text = own_text;
                html_out.push_str("<div style=\"white-space:pre-wrap\">");
                html_out.push_str(&html::escape(&text.join("\n\n")));
                html_out.push_str("</div>");
            }
        }
    }

    // Messages forwarded inside this one.
    for &id in &layout.attachments {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let is_message =
            matches!(part.body, PartType::Message(_)) || guard::is_relabelled_message(part);
        if !is_message {
            continue;
        }
        if depth >= MAX_FORWARD_DEPTH {
            notes.unreadable("messages forwarded inside forwarded messages are nested too deeply to show them all; open the attached message to read the rest");
            continue;
        }
        with_nested_message(part, |nested| {
            let inner = forwarded_section(nested, false, depth + 1, options, want_html, notes);
            append_blocks(
                &mut blocks,
                inner.blocks.into_iter().map(|b| deeper(b, 1)).collect(),
            );
            html_out.push_str(&inner.html);
            blocked += inner.blocked_remote_images;
        });
    }
    if want_html {
        html_out.push_str("</blockquote></div>");
    }
    Forwarded {
        blocks,
        html: html_out,
        blocked_remote_images: blocked,
    }
}

/// A block moved `levels` deeper into quoting.
fn deeper(block: TextBlock, levels: u8) -> TextBlock {
    let depth = match block.kind {
        TextBlockKind::Quote => block.depth.saturating_add(levels),
        _ => levels,
    };
    TextBlock {
        kind: TextBlockKind::Quote,
        depth,
        text: block.text,
    }
}

/// Appends blocks, merging a block into the previous one of the same kind and depth.
fn append_blocks(into: &mut Vec<TextBlock>, blocks: Vec<TextBlock>) {
    for block in blocks {
        if let Some(last) = into.last_mut()
            && last.kind == block.kind
            && last.depth == block.depth
        {
            last.text.push_str("\n\n");
            last.text.push_str(&block.text);
            continue;
        }
        into.push(block);
    }
}

fn format_addresses(address: &Address<'_>) -> String {
    address
        .iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(name), Some(addr)) => format!("{name} <{addr}>"),
            (Some(name), None) => name.to_owned(),
            (None, Some(addr)) => addr.to_owned(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Structural damage worth telling people about.
fn check_structure(message: &Message<'_>, notes: &mut Notes) {
    let mut depth = vec![0usize; message.parts.len()];
    let mut deepest = 0;
    for (id, part) in message.parts.iter().enumerate() {
        match &part.body {
            PartType::Multipart(children) => {
                let parent_depth = depth[id];
                for &child in children {
                    if let Some(d) = depth.get_mut(child as usize) {
                        *d = parent_depth + 1;
                    }
                }
                let ct = part.content_type();
                let boundary = ct.and_then(|c| c.attribute("boundary"));
                if let Some(boundary) = boundary {
                    let region = raw_body(message, part);
                    let closing = format!("--{boundary}--");
                    if memchr::memmem::rfind(region, closing.as_bytes()).is_none()
                        && memchr::memmem::rfind(
                            message
                                .raw_message
                                .get(part.offset_body as usize..)
                                .unwrap_or_default(),
                            closing.as_bytes(),
                        )
                        .is_none()
                    {
                        notes.unreadable("the message's structure is incomplete (a closing MIME boundary is missing), so it may have been cut off");
                    }
                }
            }
            _ => {
                if part.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("multipart") && !ct.has_attribute("boundary")
                }) {
                    notes.unreadable(
                        "a multipart section has no boundary, so it is shown as plain text",
                    );
                } else if part.is_encoding_problem
                    && !matches!(part.body, PartType::Text(_) | PartType::Html(_))
                {
                    notes.unreadable("a part of the message is damaged and could not be decoded");
                }
            }
        }
        deepest = deepest.max(depth[id]);
    }
    if deepest > MAX_NESTING {
        notes.unreadable(format!(
            "the message's structure is nested unusually deeply ({deepest} levels)"
        ));
    }
}

fn unparsable(raw: &[u8]) -> MessageContent {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return MessageContent {
            html: None,
            text: Vec::new(),
            attachments: Vec::new(),
            problem: Some(Problem::new(
                ProblemCode::MessageUnreadable,
                "The message is empty.",
            )),
        };
    }
    let capped = &raw[..raw.len().min(MAX_TEXT)];
    let (text, _) = decode_text(capped, None);
    MessageContent {
        html: None,
        text: text_blocks(&text),
        attachments: Vec::new(),
        problem: Some(Problem::new(
            ProblemCode::MessageUnreadable,
            "This is not a mail message Baton can read (it has no header); it is shown as plain text.",
        )),
    }
}
