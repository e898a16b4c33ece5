//! CSS from mail, filtered with an allow-list: enough for the layouts mail is written
//! with (tables, inline styles, a `<style>` block with media queries), nothing that loads
//! from the network without permission, escapes the message's own box or hides script.
//!
//! Rules:
//! - only listed properties (layout, box, text, colour) survive; `position` only as
//!   `static` or `relative`, so a mail cannot lay a fixed overlay over the reading pane;
//! - values with CSS escapes, `expression(`, `javascript:`, `behavior`, `-moz-binding`,
//!   `@`, `<` or a function that loads resources other than `url()` are dropped;
//! - `url()` is kept for `data:image/…` and, when remote images are allowed, for
//!   `http(s):` backgrounds; a blocked remote background is counted;
//! - in a style sheet, only style rules and `@media`/`@supports` blocks are kept:
//!   `@import`, `@font-face` and the other at-rules are dropped.

/// Longest declaration value kept (a `data:` URL is exempt, it is bounded elsewhere).
const MAX_VALUE: usize = 4096;
/// Deepest `@media` nesting kept.
const MAX_NESTING: usize = 4;

fn property_allowed(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "color",
        "background",
        "background-color",
        "background-image",
        "background-repeat",
        "background-position",
        "background-size",
        "background-clip",
        "background-origin",
        "line-height",
        "letter-spacing",
        "word-spacing",
        "white-space",
        "word-break",
        "word-wrap",
        "overflow-wrap",
        "hyphens",
        "vertical-align",
        "direction",
        "width",
        "height",
        "min-width",
        "max-width",
        "min-height",
        "max-height",
        "display",
        "float",
        "clear",
        "table-layout",
        "caption-side",
        "empty-cells",
        "list-style",
        "list-style-type",
        "list-style-position",
        "opacity",
        "visibility",
        "overflow",
        "overflow-x",
        "overflow-y",
        "box-sizing",
        "box-shadow",
        "position",
        "top",
        "right",
        "bottom",
        "left",
        "gap",
        "row-gap",
        "column-gap",
        "justify-content",
        "align-items",
        "align-content",
        "align-self",
        "order",
        "quotes",
        "tab-size",
        "-webkit-text-size-adjust",
        "-ms-text-size-adjust",
        "text-size-adjust",
        "-webkit-font-smoothing",
        "-moz-osx-font-smoothing",
    ];
    const PREFIXES: &[&str] = &[
        "margin",
        "padding",
        "border",
        "font",
        "text-",
        "outline",
        "flex",
        "column-count",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Filters a declaration list (a `style` attribute or a rule's body). Returns the kept
/// declarations joined with `;`, empty when nothing is kept. `blocked` counts remote
/// images that were left out.
pub(crate) fn filter_declarations(input: &str, allow_remote: bool, blocked: &mut u32) -> String {
    let mut out = String::with_capacity(input.len().min(1024));
    for declaration in split_top_level(input, b';') {
        let Some((name, value)) = declaration.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() || value.is_empty() || !property_allowed(&name) {
            continue;
        }
        if let Some(value) = filter_value(&name, value, allow_remote, blocked) {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str(&name);
            out.push(':');
            out.push_str(&value);
        }
    }
    out
}

fn filter_value(name: &str, value: &str, allow_remote: bool, blocked: &mut u32) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    const FORBIDDEN: &[&str] = &[
        "\\",
        "expression",
        "javascript:",
        "vbscript:",
        "behavior",
        "-moz-binding",
        "@",
        "<",
        "image-set(",
        "image(",
        "element(",
        "src(",
        "attr(",
    ];
    if FORBIDDEN.iter().any(|f| lower.contains(f)) {
        return None;
    }
    if name == "position" {
        let keyword = lower.trim_end_matches("!important").trim();
        if keyword != "static" && keyword != "relative" {
            return None;
        }
    }
    if !lower.contains("url(") {
        return (value.len() <= MAX_VALUE).then(|| value.to_owned());
    }
    // A url(): every one in the value must be acceptable.
    let mut rest = lower.as_str();
    let mut has_data = false;
    while let Some(at) = rest.find("url(") {
        let after = &rest[at + 4..];
        let end = after.find(')')?;
        let target = after[..end]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .trim();
        if is_data_image(target) {
            has_data = true;
        } else if target.starts_with("http://") || target.starts_with("https://") {
            if !(allow_remote && name.starts_with("background")) {
                *blocked += 1;
                return None;
            }
        } else {
            return None;
        }
        rest = &after[end + 1..];
    }
    (has_data || value.len() <= MAX_VALUE).then(|| value.to_owned())
}

/// Whether a URL is an inline image of a raster type (not SVG, which can carry script
/// when opened on its own).
pub(crate) fn is_data_image(url: &str) -> bool {
    let bytes = url.trim_start().as_bytes();
    let Some(prefix) = bytes.get(..11) else {
        return false;
    };
    if !prefix.eq_ignore_ascii_case(b"data:image/") {
        return false;
    }
    let subtype = &bytes[11..];
    [&b"png"[..], b"gif", b"jpeg", b"jpg", b"webp", b"bmp"]
        .iter()
        .any(|t| {
            subtype.len() > t.len()
                && subtype[..t.len()].eq_ignore_ascii_case(t)
                && matches!(subtype[t.len()], b';' | b',')
        })
}

/// Filters a style sheet from a `<style>` element. The result never contains `<`, so it
/// cannot close the element it is put in.
pub(crate) fn filter_stylesheet(input: &str, allow_remote: bool, blocked: &mut u32) -> String {
    let without_comments = strip_comments(input);
    let mut out = String::with_capacity(without_comments.len().min(64 * 1024));
    filter_rules(&without_comments, allow_remote, blocked, 0, &mut out);
    out.retain(|c| c != '<');
    out
}

fn filter_rules(
    input: &str,
    allow_remote: bool,
    blocked: &mut u32,
    depth: usize,
    out: &mut String,
) {
    let bytes = input.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        // Prelude: up to `{` or `;` at the top level.
        let Some(rel) = input[pos..].find(['{', ';', '}']) else {
            break;
        };
        let stop = pos + rel;
        let prelude = input[pos..stop].trim();
        match bytes[stop] {
            b';' | b'}' => {
                // A statement at-rule such as @import or @charset, or stray text: dropped.
                pos = stop + 1;
            }
            _ => {
                let Some(close) = matching_brace(input, stop) else {
                    break;
                };
                let body = &input[stop + 1..close];
                let lower = prelude.to_ascii_lowercase();
                if lower.starts_with("@media") || lower.starts_with("@supports") {
                    if depth < MAX_NESTING && !lower.contains("url(") && !lower.contains('\\') {
                        let mut inner = String::new();
                        filter_rules(body, allow_remote, blocked, depth + 1, &mut inner);
                        if !inner.is_empty() {
                            out.push_str(prelude);
                            out.push('{');
                            out.push_str(&inner);
                            out.push('}');
                        }
                    }
                } else if !prelude.starts_with('@')
                    && !prelude.is_empty()
                    && !prelude.contains('\\')
                {
                    let declarations = filter_declarations(body, allow_remote, blocked);
                    if !declarations.is_empty() {
                        out.push_str(prelude);
                        out.push('{');
                        out.push_str(&declarations);
                        out.push('}');
                    }
                }
                pos = close + 1;
            }
        }
    }
}

/// The index of the `}` that closes the `{` at `open`, skipping strings.
fn matching_brace(input: &str, open: usize) -> Option<usize> {
    let bytes = input.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

fn strip_comments(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Splits at `separator` outside parentheses and quotes (a `data:` URL holds `;`).
fn split_top_level(input: &str, separator: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut start = 0;
    for (i, &b) in input.as_bytes().iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                _ if b == separator && depth == 0 => {
                    parts.push(&input[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    parts.push(&input[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(input: &str) -> String {
        let mut blocked = 0;
        filter_declarations(input, false, &mut blocked)
    }

    #[test]
    fn keeps_ordinary_mail_styles() {
        assert_eq!(
            decl(
                "color: #333; font-family: Arial, sans-serif; padding:0 12px; border-collapse: collapse"
            ),
            "color:#333;font-family:Arial, sans-serif;padding:0 12px;border-collapse:collapse"
        );
        assert_eq!(decl("display:none;mso-hide:all"), "display:none");
    }

    #[test]
    fn drops_overlays_and_script_tricks() {
        assert_eq!(
            decl("position:fixed;top:0;left:0;z-index:9999"),
            "top:0;left:0"
        );
        assert_eq!(decl("position: relative"), "position:relative");
        assert_eq!(decl("width: expression(alert(1))"), "");
        assert_eq!(decl("background: u\\72l(http://x)"), "");
        assert_eq!(decl("behavior: url(x.htc)"), "");
        assert_eq!(decl("-moz-binding: url(x.xml#a)"), "");
    }

    #[test]
    fn remote_backgrounds_are_counted_unless_allowed() {
        let mut blocked = 0;
        let out = filter_declarations(
            "background:url('https://t.example/p.gif') no-repeat;color:red",
            false,
            &mut blocked,
        );
        assert_eq!(out, "color:red");
        assert_eq!(blocked, 1);
        let mut blocked = 0;
        let out = filter_declarations(
            "background-image:url(https://t.example/p.gif)",
            true,
            &mut blocked,
        );
        assert_eq!(out, "background-image:url(https://t.example/p.gif)");
        assert_eq!(blocked, 0);
        // Never for properties that are not backgrounds.
        let out = filter_declarations(
            "list-style:url(https://t.example/p.gif)",
            true,
            &mut blocked,
        );
        assert_eq!(out, "");
    }

    #[test]
    fn data_images_survive_with_their_semicolons() {
        assert_eq!(
            decl("background-image:url(data:image/png;base64,iVBORw0KGgo=);color:red"),
            "background-image:url(data:image/png;base64,iVBORw0KGgo=);color:red"
        );
        assert_eq!(
            decl("background:url(data:image/svg+xml;base64,PHN2Zz4=)"),
            ""
        );
    }

    #[test]
    fn stylesheet_keeps_rules_and_media_drops_imports_and_fonts() {
        let mut blocked = 0;
        let css = "@import url(https://x/a.css); /* c */ @font-face { font-family: X; src: url(https://x/f.woff) }\n\
                   .btn { color: white; position: fixed } @media (max-width: 600px) { .col { width: 100% !important } }\n\
                   </style><script>alert(1)</script>";
        let out = filter_stylesheet(css, false, &mut blocked);
        assert_eq!(
            out,
            ".btn{color:white}@media (max-width: 600px){.col{width:100% !important}}"
        );
    }

    #[test]
    fn stylesheet_never_contains_a_tag_opener() {
        let mut blocked = 0;
        let out = filter_stylesheet(
            "a</style><img src=x onerror=alert(1)>{color:red}",
            false,
            &mut blocked,
        );
        assert!(!out.contains('<'), "{out}");
    }
}
