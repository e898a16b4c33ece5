//! A message's attachments: listed for the reading pane, one taken out to save or open,
//! and the `cid:` images an HTML body shows inline.

use std::borrow::Cow;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::decode::TransferEncoding;
use super::html::InlineImages;
use super::layout::{Layout, Notes, raw_body};
use super::{AttachmentInfo, guard, names};

/// Largest `cid:` image embedded as a `data:` URI, and all of them together.
pub(super) const MAX_INLINE_IMAGE: usize = 2 * 1024 * 1024;

pub(super) const MAX_INLINE_TOTAL: usize = 8 * 1024 * 1024;

/// Attachments listed.
pub(super) const MAX_ATTACHMENTS: usize = 1000;

/// `data:` URIs for the `cid:` images the HTML uses, from the message's own parts.
pub(super) fn inline_images(message: &Message<'_>, cids: &[String]) -> InlineImages {
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
pub(super) fn image_type(bytes: &[u8]) -> Option<&'static str> {
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

pub(super) fn attachment_infos(
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

pub(super) fn attachment_info(
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
pub(super) fn mime_type_of(part: &MessagePart<'_>) -> String {
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

pub(super) fn nested_subject(part: &MessagePart<'_>) -> Option<String> {
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

pub(super) fn attachment_size(message: &Message<'_>, part: &MessagePart<'_>) -> u64 {
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

pub(super) fn attachment_bytes<'m>(
    message: &'m Message<'_>,
    part: &'m MessagePart<'_>,
) -> Cow<'m, [u8]> {
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
