//! From raw bytes to what the reading pane shows: text blocks, sanitized HTML, the list
//! of attachments and, when something was wrong with the message, a problem in plain
//! words. Never fails as a whole and never panics.

use std::borrow::Cow;

use mail_parser::{Address, Message, MessagePart, MimeHeaders, PartType};

use super::decode::{CharsetIssue, TransferEncoding, decode_text, is_known_label};
use super::html::{self, InlineImages, Sanitized};
use super::text::{text_blocks, unflow};
use super::{
    AttachmentInfo, MessageContent, SafeHtml, TextBlock, TextBlockKind, guard, names, report,
};
use crate::problem::{Problem, ProblemCode};

/// Text shown per part (a giant text mail must not freeze the reading pane).
pub(crate) const MAX_TEXT: usize = 1024 * 1024;
/// HTML sanitized per message.
const MAX_HTML: usize = 2 * 1024 * 1024;
/// Largest `cid:` image embedded as a `data:` URI, and all of them together.
const MAX_INLINE_IMAGE: usize = 2 * 1024 * 1024;
const MAX_INLINE_TOTAL: usize = 8 * 1024 * 1024;
/// Forwarded messages inside forwarded messages shown inline, at most this deep.
const MAX_FORWARD_DEPTH: usize = 3;
/// Attachments listed.
const MAX_ATTACHMENTS: usize = 1000;
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

/// Which parts make up the text, the HTML and the attachments.
pub(crate) struct Layout {
    /// Parts whose text is shown (text/plain, or text/html when there is no plain text).
    pub text: Vec<u32>,
    /// Parts that make up the HTML document (text/html, and text/plain shown between
    /// them in a mixed message).
    pub html: Vec<u32>,
    pub attachments: Vec<u32>,
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

/// A body part that mail-parser set aside because its encoding was damaged (or the
/// message was cut off in it): still the body, not an attachment.
fn is_recovered_body(part: &MessagePart<'_>) -> bool {
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
fn raw_body<'m>(message: &'m Message<'_>, part: &MessagePart<'_>) -> &'m [u8] {
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

fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    let mut i = index;
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
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

/// `data:` URIs for the `cid:` images the HTML uses, from the message's own parts.
fn inline_images(message: &Message<'_>, cids: &[String]) -> InlineImages {
    let mut images = InlineImages::new();
    let mut total = 0usize;
    for cid in cids.iter().take(500) {
        let part = message.parts.iter().find(|p| {
            p.content_id()
                .is_some_and(|id| id.trim().trim_matches(['<', '>']).eq_ignore_ascii_case(cid))
        });
        let Some(part) = part else { continue };
        let bytes = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.as_ref(),
            _ => continue,
        };
        if bytes.len() > MAX_INLINE_IMAGE || total + bytes.len() > MAX_INLINE_TOTAL {
            continue;
        }
        let Some(mime) = image_type(bytes) else {
            continue;
        };
        total += bytes.len();
        let uri = format!("data:{mime};base64,{}", super::decode::base64_encode(bytes));
        images.insert(cid.clone(), uri);
    }
    images
}

/// The raster image type of some bytes, from their signature (the declared type is
/// often wrong or generic, and a wrong one must not reach the `data:` URI).
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"BM") {
        Some("image/bmp")
    } else {
        None
    }
}

fn attachment_infos(
    message: &Message<'_>,
    layout: &Layout,
    cids: &[String],
    notes: &mut Notes,
) -> Vec<AttachmentInfo> {
    if layout.attachments.len() > MAX_ATTACHMENTS {
        notes.unreadable(format!(
            "the message has {} attachments; only the first {MAX_ATTACHMENTS} are listed",
            layout.attachments.len()
        ));
    }
    layout
        .attachments
        .iter()
        .take(MAX_ATTACHMENTS)
        .enumerate()
        .filter_map(|(index, &id)| {
            let part = message.parts.get(id as usize)?;
            Some(attachment_info(message, part, index as u32, cids))
        })
        .collect()
}

fn attachment_info(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    index: u32,
    cids: &[String],
) -> AttachmentInfo {
    let mime_type = mime_type_of(part);
    let filename = part
        .attachment_name()
        .and_then(names::sanitize_filename)
        .or_else(|| {
            let subject = nested_subject(part)?;
            names::sanitize_filename(&format!("{}.eml", subject.trim()))
        })
        .unwrap_or_else(|| match mime_type.as_str() {
            "message/delivery-status" => "delivery-status.txt".to_owned(),
            "text/rfc822-headers" => "returned-headers.txt".to_owned(),
            _ => names::fallback_name(index + 1, &mime_type),
        });
    let inline = mime_type.starts_with("image/")
        && part.content_id().is_some_and(|id| {
            cids.iter()
                .any(|c| c.eq_ignore_ascii_case(id.trim().trim_matches(['<', '>'])))
        });
    AttachmentInfo {
        index,
        filename,
        mime_type,
        size: attachment_size(message, part),
        inline,
    }
}

/// "type/subtype" in lower case; relabelled nested messages get their real type back.
fn mime_type_of(part: &MessagePart<'_>) -> String {
    if guard::is_relabelled_message(part) {
        return "message/rfc822".to_owned();
    }
    match part.content_type() {
        Some(ct) => {
            let subtype = ct.subtype().unwrap_or("octet-stream");
            let full = format!("{}/{}", ct.ctype(), subtype).to_ascii_lowercase();
            if full
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/+-._".contains(c))
                && full.len() < 128
            {
                full
            } else {
                "application/octet-stream".to_owned()
            }
        }
        None if matches!(part.body, PartType::Message(_)) => "message/rfc822".to_owned(),
        None => "text/plain".to_owned(),
    }
}

fn nested_subject(part: &MessagePart<'_>) -> Option<String> {
    match &part.body {
        PartType::Message(m) => m
            .subject()
            .map(str::to_owned)
            .or_else(|| Some("forwarded message".into())),
        _ if guard::is_relabelled_message(part) => {
            let headers = mail_parser::MessageParser::default().parse_headers(part.contents());
            headers
                .and_then(|h| h.subject().map(str::to_owned))
                .or_else(|| Some("forwarded message".into()))
        }
        _ => None,
    }
}

fn attachment_size(message: &Message<'_>, part: &MessagePart<'_>) -> u64 {
    let size = match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => b.len(),
        PartType::Text(_) | PartType::Html(_) => {
            TransferEncoding::from_label(part.content_transfer_encoding())
                .decoded_len(raw_body(message, part))
        }
        PartType::Message(_) => raw_body(message, part).len(),
        PartType::Multipart(_) => 0,
    };
    size as u64
}

fn attachment_bytes<'m>(message: &'m Message<'_>, part: &'m MessagePart<'_>) -> Cow<'m, [u8]> {
    match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => Cow::Borrowed(b.as_ref()),
        // Text attachments are saved as sent, in their own character set.
        PartType::Text(_) | PartType::Html(_) => {
            TransferEncoding::from_label(part.content_transfer_encoding())
                .decode(raw_body(message, part))
        }
        PartType::Message(_) => Cow::Borrowed(raw_body(message, part)),
        PartType::Multipart(_) => Cow::Borrowed(&[]),
    }
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

/// What went wrong while reading, collected into one problem.
#[derive(Default)]
pub(crate) struct Notes {
    unreadable: Vec<String>,
    shortened: bool,
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

    fn into_problem(self) -> Option<Problem> {
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
