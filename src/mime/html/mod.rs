//! Mail HTML made safe to show: an ammonia allow-list suited to mail (layout tables,
//! inline styles, a filtered `<style>` sheet), `cid:` images from the message's own
//! parts, remote images left out unless allowed, and a complete document with a
//! no-script, no-network Content-Security-Policy for a sandboxed `<iframe srcdoc>`.
//! Also the reverse direction: readable text from sanitized HTML.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::css;

mod scan;
mod to_text;

pub(crate) use scan::referenced_cids;
use scan::{
    collect_stylesheets, limit_nesting, percent_decode, prefilter, strip_prefix_ignore_case,
};
pub(crate) use to_text::html_to_text;

/// Deepest element nesting handed to the HTML parser. Its tree builder takes time in
/// proportion to the depth for every element, so 20,000 nested `<div>`s took seconds;
/// mail layouts stay far below this.
const MAX_ELEMENT_DEPTH: usize = 200;

/// Base style: neutral, readable, and keeps wide images inside the frame.
const BASE_STYLE: &str = "html{background:#fff}\
body{margin:0;padding:16px;font:14px/1.5 -apple-system,BlinkMacSystemFont,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;background:#fff;overflow-wrap:break-word}\
img{max-width:100%;height:auto}\
table{max-width:100%}\
pre{white-space:pre-wrap}\
a{color:#0969da}\
blockquote{margin:0 0 0 .8ex;padding-left:1ex;border-left:2px solid #d0d7de;color:#57606a}";

const TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "label",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements removed together with everything inside them.
const CLEAN_CONTENT: &[&str] = &[
    "script",
    "style",
    "title",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "applet",
    "frameset",
    "frame",
    "textarea",
    "select",
    "xml",
    "svg",
    "math",
    "head",
    "xmp",
    "plaintext",
    "noembed",
    "noframes",
];

const GENERIC_ATTRIBUTES: &[&str] = &[
    "style", "class", "id", "title", "dir", "lang", "align", "valign", "width", "height",
    "bgcolor", "border",
];

const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "name"]),
    ("img", &["src", "srcset", "alt", "hspace", "vspace"]),
    (
        "table",
        &[
            "cellpadding",
            "cellspacing",
            "background",
            "summary",
            "frame",
            "rules",
        ],
    ),
    (
        "td",
        &[
            "colspan",
            "rowspan",
            "nowrap",
            "background",
            "scope",
            "headers",
            "abbr",
        ],
    ),
    (
        "th",
        &[
            "colspan",
            "rowspan",
            "nowrap",
            "background",
            "scope",
            "headers",
            "abbr",
        ],
    ),
    ("tr", &["background"]),
    ("tbody", &["background"]),
    ("thead", &["background"]),
    ("tfoot", &["background"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("font", &["color", "face", "size"]),
    ("ol", &["start", "type", "reversed"]),
    ("ul", &["type"]),
    ("li", &["value", "type"]),
    ("hr", &["size", "noshade"]),
    ("blockquote", &["type"]),
    ("time", &["datetime"]),
    ("details", &["open"]),
];

/// The `cid:` images a document may show, as `data:` URIs keyed by lower-case
/// Content-ID.
pub(crate) type InlineImages = HashMap<String, String>;

pub(crate) struct Sanitized {
    /// The sanitized body content.
    pub body: String,
    /// The message's own style sheets, filtered.
    pub stylesheet: String,
    pub blocked_remote_images: u32,
}

/// Sanitizes mail HTML (one or several parts, concatenated).
pub(crate) fn sanitize(html: &str, images: InlineImages, allow_remote: bool) -> Sanitized {
    let html = limit_nesting(html, MAX_ELEMENT_DEPTH);
    let html = html.as_ref();
    let blocked = Arc::new(AtomicU32::new(0));
    let mut sheet_blocked = 0u32;
    let stylesheet = collect_stylesheets(html, allow_remote, &mut sheet_blocked);

    let html = prefilter(html);
    let html = html.as_ref();
    let images = Arc::new(images);
    let filter_blocked = Arc::clone(&blocked);
    let mut builder = ammonia::Builder::empty();
    let tag_attributes: HashMap<&str, HashSet<&str>> = TAG_ATTRIBUTES
        .iter()
        .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect()))
        .collect();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(CLEAN_CONTENT.iter().copied().collect())
        .generic_attributes(GENERIC_ATTRIBUTES.iter().copied().collect())
        .tag_attributes(tag_attributes)
        .url_schemes(
            ["http", "https", "mailto", "data", "cid"]
                .into_iter()
                .collect(),
        )
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true)
        .attribute_filter(move |element: &str, attribute: &str, value: &str| {
            filter_attribute(
                element,
                attribute,
                value,
                &images,
                allow_remote,
                &filter_blocked,
            )
        });
    let body = builder.clean(html).to_string();
    Sanitized {
        body,
        stylesheet,
        blocked_remote_images: blocked
            .load(Ordering::Relaxed)
            .saturating_add(sheet_blocked),
    }
}

fn filter_attribute<'a>(
    element: &str,
    attribute: &str,
    value: &'a str,
    images: &InlineImages,
    allow_remote: bool,
    blocked: &AtomicU32,
) -> Option<Cow<'a, str>> {
    match attribute {
        "style" => {
            let mut count = 0;
            let kept = css::filter_declarations(value, allow_remote, &mut count);
            blocked.fetch_add(count, Ordering::Relaxed);
            (!kept.is_empty()).then_some(Cow::Owned(kept))
        }
        "href" => (element == "a" && is_allowed_link(value)).then_some(Cow::Borrowed(value)),
        "src" | "background" => image_source(value, images, allow_remote, blocked),
        "srcset" => {
            let all_allowed = value.split(',').all(|candidate| {
                let url = candidate.split_whitespace().next().unwrap_or("");
                css::is_data_image(url) || (allow_remote && is_remote(url))
            });
            all_allowed.then_some(Cow::Borrowed(value))
        }
        _ => Some(Cow::Borrowed(value)),
    }
}

fn is_allowed_link(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

fn is_remote(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn image_source<'a>(
    value: &'a str,
    images: &InlineImages,
    allow_remote: bool,
    blocked: &AtomicU32,
) -> Option<Cow<'a, str>> {
    let trimmed = value.trim();
    if let Some(id) = strip_prefix_ignore_case(trimmed, "cid:") {
        let key = percent_decode(id).to_lowercase();
        return images.get(&key).map(|uri| Cow::Owned(uri.clone()));
    }
    if css::is_data_image(trimmed) {
        return Some(Cow::Borrowed(value));
    }
    if is_remote(trimmed) {
        if allow_remote {
            return Some(Cow::Borrowed(value));
        }
        blocked.fetch_add(1, Ordering::Relaxed);
    }
    None
}

/// The complete document for the sandboxed frame.
pub(crate) fn document(sanitized: &Sanitized, allow_remote: bool) -> String {
    let img_src = if allow_remote {
        "data: https: http:"
    } else {
        "data:"
    };
    let mut doc = String::with_capacity(sanitized.body.len() + sanitized.stylesheet.len() + 1024);
    doc.push_str("<!doctype html><html><head><meta charset=\"utf-8\">");
    doc.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src ");
    doc.push_str(img_src);
    doc.push_str("; font-src data:\"><base target=\"_blank\"><style>");
    doc.push_str(BASE_STYLE);
    doc.push_str("</style>");
    if !sanitized.stylesheet.is_empty() {
        doc.push_str("<style>");
        doc.push_str(&sanitized.stylesheet);
        doc.push_str("</style>");
    }
    doc.push_str("</head><body>");
    doc.push_str(&sanitized.body);
    doc.push_str("</body></html>");
    doc
}

/// Escapes text for HTML content or a quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> Sanitized {
        sanitize(html, InlineImages::new(), false)
    }

    #[test]
    fn removes_script_handlers_and_dangerous_urls() {
        let s = clean(
            "<p onclick=\"x()\">Hi<script>alert(1)</script></p>\
             <img src=x onerror=alert(1)>\
             <a href=\"javascript:alert(1)\">js</a><a href=\"vbscript:x\">vb</a>\
             <a href=\"data:text/html,<script>alert(1)</script>\">data</a>\
             <a href=\"https://example.com/\" target=\"_top\">ok</a>\
             <iframe src=\"https://evil.example\">frame text</iframe>\
             <form action=\"https://evil.example\"><input name=p></form>\
             <meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">\
             <object data=\"x.swf\"></object><embed src=\"x.swf\">",
        );
        let b = &s.body;
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript",
            "vbscript",
            "data:text",
            "iframe",
            "form",
            "input",
            "meta",
            "refresh",
            "object",
            "embed",
            "_top",
            "frame text",
        ] {
            assert!(!b.contains(bad), "{bad} survived in {b}");
        }
        assert!(
            b.contains("<a href=\"https://example.com/\" rel=\"noopener noreferrer\">ok</a>"),
            "{b}"
        );
    }

    #[test]
    fn links_only_http_https_mailto() {
        let s = clean(
            "<a href=\"mailto:jan@example.nl\">m</a><a href=\"ftp://x\">f</a><a href=\"/relative\">r</a>",
        );
        assert!(s.body.contains("href=\"mailto:jan@example.nl\""));
        assert!(!s.body.contains("ftp:"));
        assert!(!s.body.contains("/relative"));
    }

    #[test]
    fn remote_images_blocked_and_counted() {
        let html = "<img src=\"https://track.example/p.gif\" width=1><img src=\"http://x.example/a.png\" srcset=\"https://x.example/a2.png 2x\"><table background=\"https://x.example/bg.jpg\"><tr><td style=\"background-image:url(https://x.example/c.png)\">x</td></tr></table>";
        let s = clean(html);
        assert_eq!(s.blocked_remote_images, 4);
        assert!(!s.body.contains("example"), "{}", s.body);
        let allowed = sanitize(html, InlineImages::new(), true);
        assert_eq!(allowed.blocked_remote_images, 0);
        assert!(allowed.body.contains("src=\"https://track.example/p.gif\""));
        assert!(allowed.body.contains("srcset="));
    }

    #[test]
    fn cid_images_become_data_uris_and_data_images_stay() {
        let mut images = InlineImages::new();
        images.insert(
            "logo@brightdesk".into(),
            "data:image/png;base64,iVBORw0KGgo=".into(),
        );
        let s = sanitize(
            "<img src=\"cid:Logo@Brightdesk\"><img src=\"cid:missing@x\"><img src=\"data:image/gif;base64,R0lGOD==\"><img src=\"data:image/svg+xml;base64,PHN2Zz4=\">",
            images,
            false,
        );
        assert!(
            s.body
                .contains("src=\"data:image/png;base64,iVBORw0KGgo=\""),
            "{}",
            s.body
        );
        assert!(s.body.contains("src=\"data:image/gif;base64,R0lGOD==\""));
        assert!(!s.body.contains("svg"));
        assert!(!s.body.contains("cid:"));
        assert_eq!(s.blocked_remote_images, 0);
    }

    #[test]
    fn keeps_mail_layout() {
        let s = clean(
            "<table width=\"600\" cellpadding=\"0\" align=\"center\" style=\"border-collapse:collapse;position:fixed\"><tr><td class=\"x\" valign=\"top\" bgcolor=\"#eeeeee\"><font face=\"Arial\" color=\"#333\">Hallo</font></td></tr></table>",
        );
        let b = &s.body;
        assert!(b.contains("width=\"600\""));
        assert!(b.contains("cellpadding=\"0\""));
        assert!(b.contains("style=\"border-collapse:collapse\""), "{b}");
        assert!(b.contains("bgcolor=\"#eeeeee\""));
        assert!(b.contains("<font face=\"Arial\" color=\"#333\">"));
    }

    #[test]
    fn style_elements_are_filtered_into_the_head() {
        let s = clean(
            "<html><head><title>T</title><style type=\"text/css\"><!-- .a{color:red;position:fixed} @import url(x.css); --></style></head><body><p class=\"a\">x</p></body></html>",
        );
        assert_eq!(s.stylesheet, ".a{color:red}");
        assert!(!s.body.contains('T') || !s.body.contains("<title>"));
        let doc = document(&s, false);
        assert!(doc.starts_with("<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:\"><base target=\"_blank\"><style>"));
        assert!(
            doc.contains(
                "<style>.a{color:red}</style></head><body><p class=\"a\">x</p></body></html>"
            ),
            "{doc}"
        );
        let allowed = document(&s, true);
        assert!(allowed.contains("img-src data: https: http:;"));
    }

    #[test]
    fn nesting_is_limited_but_ordinary_markup_is_kept() {
        let html = "<div>".repeat(5) + "x" + &"</div>".repeat(5);
        assert_eq!(
            limit_nesting(&html, 3),
            "<div><div><div>x</div></div></div>"
        );
        let flat = "<p>a<p>b<br><img src=x><table><tr><td>c</table><script>\"<div><div>\"</script><div>d</div>";
        assert!(matches!(limit_nesting(flat, 2), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_runs_are_broken_only_before_references() {
        let text = "x".repeat(200) + "&amp;" + &"y".repeat(200) + "&lt;";
        let broken = prefilter(&text);
        assert_eq!(
            broken,
            "x".repeat(200) + "<!---->&amp;" + &"y".repeat(200) + "<!---->&lt;"
        );
        let attribute = format!("<img alt=\"{}&amp;\">", "x".repeat(300));
        assert!(matches!(prefilter(&attribute), Cow::Borrowed(_)));
        assert_eq!(
            prefilter("<title>a &amp; b</title><p>x</p>"),
            "<title></title><p>x</p>"
        );
        let long_tag = format!("<p title=\"{}\">kept</p>", "&amp;".repeat(2000));
        assert_eq!(prefilter(&long_tag), "kept</p>");
        assert_eq!(
            clean(&broken).body,
            "x".repeat(200) + "&amp;" + &"y".repeat(200) + "&lt;"
        );
    }

    #[test]
    fn cids_are_found() {
        assert_eq!(
            referenced_cids(
                "<img src=\"cid:image001.png@01D9\"> <img src='CID:a%40b'> <div style=\"background:url(cid:bg@x)\">"
            ),
            vec!["image001.png@01d9", "a@b", "bg@x"]
        );
    }

    #[test]
    fn text_from_html_keeps_structure_and_quotes() {
        let s = clean(
            "<div>Hi Anna,</div><div><br></div><p>Thanks &amp; regards,<br>Jan</p><div class=\"gmail_quote\">On Tue, 3 Mar 2026, Anna wrote:<blockquote><p>Your order   shipped.</p><blockquote>older</blockquote></blockquote></div>",
        );
        let text = html_to_text(&s.body);
        assert_eq!(
            text,
            "Hi Anna,\n\nThanks & regards,\nJan\n\nOn Tue, 3 Mar 2026, Anna wrote:\n\n> Your order shipped.\n>\n>> older"
        );
    }

    #[test]
    fn deep_html_does_not_overflow() {
        let html =
            "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000) + &"<b>".repeat(100_000);
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let s = clean(&html);
                html_to_text(&s.body)
            })
            .expect("thread");
        assert_eq!(handle.join().expect("no overflow"), "deep");
    }
}
