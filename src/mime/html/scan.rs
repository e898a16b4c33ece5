//! Scanning mail HTML as bytes before and beside the parser: tags nested too deep, what
//! the parser must not see, the message's style sheets, the images it references.

use std::borrow::Cow;

use crate::mime::css;

/// How much of a message's `<style>` sheets is kept.
const MAX_STYLESHEET: usize = 256 * 1024;

/// Drops opening tags (and their matching closing tags) nested deeper than `max`
/// elements. Elements that close themselves or by the next sibling (void elements,
/// `p`, `li`, `td`, …) do not count; raw-text elements are skipped whole.
pub(super) fn limit_nesting(html: &str, max: usize) -> Cow<'_, str> {
    const NOT_COUNTED: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "tbody",
        "thead", "tfoot", "option", "optgroup", "colgroup", "caption", "rb", "rt", "rp", "html",
        "head", "body",
    ];
    const RAW_TEXT: &[&str] = &[
        "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
    ];
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut excess = 0usize;
    let mut drops: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(rel) = memchr::memchr(b'<', &bytes[i..]) {
        let start = i + rel;
        if bytes[start..].starts_with(b"<!--") {
            i = memchr::memmem::find(&bytes[start + 4..], b"-->")
                .map_or(bytes.len(), |e| start + 4 + e + 3);
            continue;
        }
        let end = tag_end(bytes, start);
        let (name, closing) = tag_name(&html[start..end]);
        i = end;
        if name.is_empty() || NOT_COUNTED.contains(&name.as_str()) {
            continue;
        }
        let self_closing = bytes[..end].ends_with(b"/>");
        if closing {
            if excess > 0 {
                excess -= 1;
                drops.push((start, end));
            } else {
                depth = depth.saturating_sub(1);
            }
        } else if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            i = find_ignore_case(&bytes[end..], close.as_bytes())
                .map_or(bytes.len(), |e| tag_end(bytes, end + e));
        } else if !self_closing {
            if depth >= max {
                excess += 1;
                drops.push((start, end));
            } else {
                depth += 1;
            }
        }
    }
    if drops.is_empty() {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    for (start, end) in drops {
        out.push_str(&html[pos..start]);
        pos = end;
    }
    out.push_str(&html[pos..]);
    Cow::Owned(out)
}

/// Prepares HTML for the parser, whose handling of a character reference (`&amp;`)
/// takes time in proportion to the text that follows it up to the next tag: text,
/// attribute values or `<title>` content full of references took seconds. So:
/// - an empty comment (stripped from the output) goes before a `&` every so often in
///   long text, never inside a reference or an attribute value;
/// - tags longer than 4 KB that hold many references are dropped (real ones are data
///   URIs and style attributes, which have none);
/// - the content of elements that are removed whole anyway (`<title>`, `<textarea>`,
///   `<script>`, …; style sheets were taken out before) is not passed on.
pub(super) fn prefilter(html: &str) -> Cow<'_, str> {
    const RUN: usize = 128;
    const RAW: &[&str] = &[
        "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
    ];
    let bytes = html.as_bytes();
    // (start, end, replacement): bytes[start..end] become the replacement.
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' if bytes[i..].starts_with(b"<!--") => {
                i = memchr::memmem::find(&bytes[i + 4..], b"-->")
                    .map_or(bytes.len(), |e| i + 4 + e + 3);
                run_start = i;
            }
            b'<' => {
                let end = tag_end(bytes, i);
                let tag = &bytes[i..end];
                if tag.len() > 4096 && memchr::memchr_iter(b'&', tag).count() > 64 {
                    edits.push((i, end, ""));
                    i = end;
                    run_start = i;
                    continue;
                }
                let (name, closing) = tag_name(&html[i..end]);
                i = end;
                run_start = i;
                if !closing && RAW.contains(&name.as_str()) {
                    let close = format!("</{name}");
                    let content_end = find_ignore_case(&bytes[end..], close.as_bytes())
                        .map_or(bytes.len(), |e| end + e);
                    if content_end > end {
                        edits.push((end, content_end, ""));
                    }
                    i = content_end;
                    run_start = i;
                }
            }
            b'&' => {
                if i - run_start > RUN {
                    edits.push((i, i, "<!---->"));
                    run_start = i;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len() + edits.len() * 7);
    let mut pos = 0;
    for (start, end, replacement) in edits {
        out.push_str(&html[pos..start]);
        out.push_str(replacement);
        pos = end;
    }
    out.push_str(&html[pos..]);
    Cow::Owned(out)
}

pub(super) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

pub(super) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Content-IDs the HTML refers to with `cid:` (lower case, percent-decoded), in
/// order of first use.
pub(crate) fn referenced_cids(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = html.as_bytes();
    let mut pos = 0;
    while let Some(rel) = find_ignore_case(&bytes[pos..], b"cid:") {
        let start = pos + rel + 4;
        let end = bytes[start..]
            .iter()
            .position(|&b| {
                matches!(b, b'"' | b'\'' | b')' | b'>' | b'<' | b'&') || b.is_ascii_whitespace()
            })
            .map_or(bytes.len(), |e| start + e);
        if end > start
            && let Some(id) = html.get(start..end)
        {
            let id = percent_decode(id).to_lowercase();
            if !found.contains(&id) {
                found.push(id);
            }
        }
        pos = end.max(start);
    }
    found
}

pub(super) fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The `<style>` elements of mail HTML, filtered and concatenated.
pub(super) fn collect_stylesheets(html: &str, allow_remote: bool, blocked: &mut u32) -> String {
    let bytes = html.as_bytes();
    let mut out = String::new();
    let mut pos = 0;
    while out.len() < MAX_STYLESHEET {
        let Some(rel) = find_ignore_case(&bytes[pos..], b"<style") else {
            break;
        };
        let tag_start = pos + rel;
        let after_name = tag_start + 6;
        if !matches!(
            bytes.get(after_name),
            Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')
        ) {
            pos = after_name;
            continue;
        }
        let Some(open_end) = bytes[after_name..].iter().position(|&b| b == b'>') else {
            break;
        };
        let content_start = after_name + open_end + 1;
        let content_end = find_ignore_case(&bytes[content_start..], b"</style")
            .map_or(bytes.len(), |e| content_start + e);
        if let Some(sheet) = html.get(content_start..content_end) {
            let sheet = sheet.replace("<!--", "").replace("-->", "");
            out.push_str(&css::filter_stylesheet(&sheet, allow_remote, blocked));
        }
        pos = content_end;
    }
    out
}

/// The index just past the tag starting at `start`, skipping quoted attribute values.
pub(super) fn tag_end(bytes: &[u8], start: usize) -> usize {
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'>' => return i + 1,
                _ => {}
            },
        }
    }
    bytes.len()
}

pub(super) fn tag_name(tag: &str) -> (String, bool) {
    let inner = tag.trim_start_matches('<');
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (name, closing)
}
