//! Mail HTML as plain text (previews, quoting a reply, search): blocks on their own
//! lines, entities decoded.

use std::borrow::Cow;

use super::scan::{tag_end, tag_name};

/// Plain text from sanitized HTML (the serializer's regular output): block elements
/// end lines, `<blockquote>` becomes `> ` quoting so the text splitter sees quotes, and
/// white space collapses as a browser would.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut w = TextWriter::default();
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let end = tag_end(bytes, i);
            let (name, closing) = tag_name(&html[i..end]);
            match name.as_str() {
                "br" => w.line_break(),
                "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol" | "dl"
                | "figure" | "address" | "details" => w.block(true),
                "div" | "tr" | "center" | "section" | "article" | "header" | "footer" | "main"
                | "nav" | "aside" | "caption" | "dt" | "dd" | "summary" | "figcaption" => {
                    w.block(false)
                }
                "li" => {
                    w.block(false);
                    if !closing {
                        w.text("- ", true);
                    }
                }
                "td" | "th" => w.space(),
                "hr" => {
                    w.block(false);
                    w.text("----", true);
                    w.block(false);
                }
                "blockquote" => {
                    w.block(true);
                    if closing {
                        w.depth = w.depth.saturating_sub(1);
                    } else {
                        w.depth = w.depth.saturating_add(1);
                    }
                }
                "pre" => {
                    w.block(true);
                    w.pre = !closing;
                }
                _ => {}
            }
            i = end;
        } else {
            let next = memchr::memchr(b'<', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            if let Some(segment) = html.get(i..next) {
                let decoded = decode_entities(segment);
                let pre = w.pre;
                w.text(&decoded, pre);
            }
            i = next;
        }
    }
    w.finish()
}

fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&s| s <= 10);
        let decoded = semi.and_then(|s| entity(&after[..s]).map(|c| (c, s)));
        match decoded {
            Some((c, s)) => {
                out.push(c);
                rest = &after[s + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "trade" => '™',
        "laquo" => '«',
        "raquo" => '»',
        _ => return None,
    })
}

#[derive(Default)]
struct TextWriter {
    out: String,
    line: String,
    line_depth: u8,
    depth: u8,
    pre: bool,
    pending_space: bool,
    want_blank: bool,
    /// The last line written was blank.
    last_blank: bool,
    /// Quote depth of the last line written.
    last_depth: u8,
}

impl TextWriter {
    fn text(&mut self, text: &str, verbatim: bool) {
        for c in text.chars() {
            if verbatim {
                if c == '\n' {
                    self.line_break();
                } else if c != '\r' {
                    self.push_char(c);
                }
            } else if c.is_whitespace() && c != '\u{a0}' {
                self.pending_space = !self.line.is_empty();
            } else {
                if self.pending_space {
                    self.line.push(' ');
                    self.pending_space = false;
                }
                self.push_char(if c == '\u{a0}' { ' ' } else { c });
            }
        }
    }

    fn push_char(&mut self, c: char) {
        if self.line.is_empty() {
            self.line_depth = self.depth;
            if self.want_blank && !self.out.is_empty() && !self.last_blank {
                self.write_line("", self.depth.min(self.last_depth));
            }
            self.want_blank = false;
        }
        self.line.push(c);
    }

    fn space(&mut self) {
        self.pending_space = !self.line.is_empty();
    }

    fn line_break(&mut self) {
        if self.line.is_empty() {
            if !self.last_blank && !self.out.is_empty() {
                self.write_line("", self.depth);
            }
        } else {
            self.flush();
        }
    }

    fn block(&mut self, paragraph: bool) {
        if !self.line.is_empty() {
            self.flush();
        }
        self.pending_space = false;
        if paragraph {
            self.want_blank = true;
        }
    }

    fn flush(&mut self) {
        let line = std::mem::take(&mut self.line);
        let depth = self.line_depth;
        self.write_line(line.trim_end(), depth);
        self.pending_space = false;
    }

    fn write_line(&mut self, line: &str, depth: u8) {
        for _ in 0..depth {
            self.out.push('>');
        }
        if depth > 0 && !line.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(line);
        self.out.push('\n');
        self.last_blank = line.is_empty();
        self.last_depth = depth;
    }

    fn finish(mut self) -> String {
        if !self.line.is_empty() {
            self.flush();
        }
        let trimmed_len = self.out.trim_end().len();
        self.out.truncate(trimmed_len);
        self.out
    }
}
