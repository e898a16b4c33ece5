//! Plain text split into what the writer wrote, what they quoted and their signature.
//!
//! Rules, in order, per line:
//! - once a quoted tail has started (an attribution not followed by `>` lines, an
//!   Outlook "-----Original Message-----" or "From: … Sent: …" header block, a forwarded
//!   message marker), every following line is quoted, one level deeper than its `>`s;
//! - a line starting with `>` is quoted at the depth of its `>`s;
//! - an attribution ("On … wrote:", "Op … schreef …:", "Am … schrieb …:",
//!   "Le … a écrit :", also wrapped over two lines) belongs to the quote it introduces;
//! - after a line that is exactly `-- ` comes the signature (the separator itself is
//!   not shown), until a quote starts;
//! - everything else is the writer's own words.
//!
//! Consecutive lines of the same kind merge into one block; blank lines at the edges of
//! a block are dropped, line breaks inside are kept.

use super::{TextBlock, TextBlockKind};

/// Longest line considered as an attribution or header line.
const MAX_ATTRIBUTION: usize = 300;

/// Splits plain text into blocks.
pub fn text_blocks(text: &str) -> Vec<TextBlock> {
    let normalized = normalize_newlines(text);
    let lines: Vec<&str> = normalized.split('\n').collect();
    let mut classified: Vec<(TextBlockKind, u8, &str)> = Vec::with_capacity(lines.len());
    let mut tail_base: Option<u8> = None;
    let mut in_signature = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let (gt, content) = strip_quote_markers(line);
        if let Some(base) = tail_base {
            classified.push((TextBlockKind::Quote, base.saturating_add(gt), content));
            i += 1;
            continue;
        }
        if gt > 0 {
            in_signature = false;
            // A quoted attribution belongs to the deeper quote it introduces.
            let next = next_quote_depth(&lines, i + 1);
            let depth = if next > gt && is_attribution(content.trim(), true) {
                next
            } else {
                gt
            };
            classified.push((TextBlockKind::Quote, depth, content));
            i += 1;
            continue;
        }
        if let Some(span) = attribution_span(&lines, i) {
            in_signature = false;
            let next_depth = next_quote_depth(&lines, i + span);
            let depth = next_depth.max(1);
            for l in &lines[i..i + span] {
                classified.push((TextBlockKind::Quote, depth, l.trim()));
            }
            if next_depth == 0 {
                tail_base = Some(1);
            }
            i += span;
            continue;
        }
        if starts_quoted_tail(&lines, i) {
            in_signature = false;
            tail_base = Some(1);
            classified.push((TextBlockKind::Quote, 1, line));
            i += 1;
            continue;
        }
        if line == "-- " || line == "--" && is_signature_dash(&lines, i) {
            in_signature = true;
            i += 1;
            continue;
        }
        if line.trim().is_empty() {
            // Blank lines go with what came before.
            let (kind, depth) = classified
                .last()
                .map_or((TextBlockKind::Body, 0), |&(k, d, _)| (k, d));
            classified.push((kind, depth, ""));
            i += 1;
            continue;
        }
        let kind = if in_signature {
            TextBlockKind::Signature
        } else {
            TextBlockKind::Body
        };
        classified.push((kind, 0, line));
        i += 1;
    }
    merge(classified)
}

/// "--" without the trailing space counts as a separator only near the end, where a
/// signature is likely (some clients strip trailing spaces).
fn is_signature_dash(lines: &[&str], i: usize) -> bool {
    let remaining = &lines[i + 1..];
    if remaining.len() > 40 {
        return false;
    }
    let rest = remaining.iter().take_while(|l| !l.starts_with('>')).count();
    rest <= 12
        && remaining[rest..]
            .iter()
            .all(|l| l.starts_with('>') || l.trim().is_empty())
}

fn merge(lines: Vec<(TextBlockKind, u8, &str)>) -> Vec<TextBlock> {
    let mut blocks: Vec<TextBlock> = Vec::new();
    let mut current: Option<(TextBlockKind, u8, Vec<&str>)> = None;
    for (kind, depth, text) in lines {
        match current.as_mut() {
            Some((k, d, acc)) if *k == kind && *d == depth => acc.push(text),
            _ => {
                if let Some(done) = current.take() {
                    push_block(&mut blocks, done);
                }
                current = Some((kind, depth, vec![text]));
            }
        }
    }
    if let Some(done) = current {
        push_block(&mut blocks, done);
    }
    blocks
}

fn push_block(blocks: &mut Vec<TextBlock>, (kind, depth, lines): (TextBlockKind, u8, Vec<&str>)) {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    let (Some(start), Some(end)) = (start, end) else {
        return;
    };
    let depth = if kind == TextBlockKind::Quote {
        depth
    } else {
        0
    };
    let text = lines[start..=end]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(last) = blocks.last_mut()
        && last.kind == kind
        && last.depth == depth
    {
        last.text.push_str("\n\n");
        last.text.push_str(&text);
        return;
    }
    blocks.push(TextBlock { kind, depth, text });
}

pub(crate) fn normalize_newlines(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Counts leading `>` markers (spaces between them allowed) and strips them with one
/// following space.
fn strip_quote_markers(line: &str) -> (u8, &str) {
    let bytes = line.as_bytes();
    let mut depth: u8 = 0;
    let mut i = 0;
    let mut after_marker = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => {
                depth = depth.saturating_add(1);
                i += 1;
                after_marker = i;
            }
            b' ' if depth > 0 => i += 1,
            _ => break,
        }
    }
    if depth == 0 {
        return (0, line);
    }
    let rest = &line[after_marker..];
    (depth, rest.strip_prefix(' ').unwrap_or(rest))
}

fn next_quote_depth(lines: &[&str], from: usize) -> u8 {
    lines[from.min(lines.len())..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| strip_quote_markers(l).0)
}

/// How many lines (1 or 2) starting at `i` form an attribution line.
fn attribution_span(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i].trim();
    if first.is_empty() || first.len() > MAX_ATTRIBUTION {
        return None;
    }
    // Every attribution ends with a colon: a cheap test before the real one.
    if first.ends_with(':') {
        let followed_by_quote = next_quote_depth(lines, i + 1) > 0;
        if is_attribution(first, followed_by_quote) {
            return Some(1);
        }
    }
    // Wrapped over two lines: "On Tue, 3 Mar 2026 at 10:12, Jan Jansen <jan@x.nl>"
    // then "wrote:".
    let second = lines.get(i + 1)?.trim();
    if second.ends_with(':')
        && !second.is_empty()
        && first.len() + second.len() <= MAX_ATTRIBUTION
        && has_attribution_start(first)
    {
        let joined = format!("{first} {second}");
        let followed = next_quote_depth(lines, i + 2) > 0;
        if is_attribution(&joined, followed) {
            return Some(2);
        }
    }
    None
}

fn has_attribution_start(line: &str) -> bool {
    let lower = line.to_lowercase();
    ["on ", "op ", "am ", "le "]
        .iter()
        .any(|p| lower.starts_with(p))
}

fn is_attribution(line: &str, followed_by_quote: bool) -> bool {
    let lower = line.to_lowercase();
    let lower = lower.trim_end();
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| lower.ends_with(s));
    if lower.starts_with("on ") && ends(&["wrote:", "wrote :"]) {
        return true;
    }
    // "Op di 3 mrt 2026 om 10:12 schreef Jan <jan@example.nl>:" (Gmail) and "Op 3 mrt.
    // 2026, om 10:12 heeft Jan het volgende geschreven:" (Apple Mail).
    if lower.starts_with("op ")
        && lower.ends_with(':')
        && (lower.contains(" schreef ") || ends(&["geschreven:", "geschreven :"]))
    {
        return true;
    }
    if lower.starts_with("am ") && lower.ends_with(':') && lower.contains(" schrieb ") {
        return true;
    }
    if lower.starts_with("le ") && ends(&["a écrit :", "a écrit:"]) {
        return true;
    }
    // "Jan Jansen <jan@example.nl> wrote:" directly above quoted lines.
    followed_by_quote && ends(&["wrote:", "schreef:", "schrieb:", "a écrit :"]) && lower.len() < 200
}

/// Whether line `i` starts an Outlook-style quoted tail.
fn starts_quoted_tail(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if line.len() > MAX_ATTRIBUTION {
        return false;
    }
    // Every marker starts with a dash or underscore or contains a colon.
    if !line.starts_with(['-', '_']) && !line.contains(':') {
        return false;
    }
    let lower = line.to_lowercase();
    if lower.starts_with("---") || lower.starts_with("___") {
        const MARKERS: &[&str] = &[
            "original message",
            "oorspronkelijk bericht",
            "origineel bericht",
            "forwarded message",
            "doorgestuurd bericht",
            "ursprüngliche nachricht",
            "weitergeleitete nachricht",
            "message d'origine",
            "message transféré",
        ];
        if MARKERS.iter().any(|m| lower.contains(m)) {
            return true;
        }
    }
    if lower == "begin forwarded message:" || lower == "begin doorgestuurd bericht:" {
        return true;
    }
    // A line of underscores (Outlook's rule) directly above a header block.
    if line.len() >= 10 && line.bytes().all(|b| b == b'_') {
        return lines
            .get(i + 1..)
            .and_then(|rest| {
                rest.iter()
                    .position(|l| !l.trim().is_empty())
                    .map(|p| i + 1 + p)
            })
            .is_some_and(|j| header_block_at(lines, j));
    }
    header_block_at(lines, i)
}

/// "From: …" followed within a few lines by "Sent:"/"Date:" and "To:"/"Subject:" (in
/// English, Dutch, German or French).
fn header_block_at(lines: &[&str], i: usize) -> bool {
    const FROM: &[&str] = &["from:", "van:", "von:", "de :", "de:"];
    const SENT: &[&str] = &[
        "sent:",
        "date:",
        "verzonden:",
        "datum:",
        "gesendet:",
        "envoyé :",
        "envoyé:",
        "date :",
    ];
    const OTHER: &[&str] = &[
        "to:",
        "subject:",
        "aan:",
        "onderwerp:",
        "an:",
        "betreff:",
        "à :",
        "objet :",
        "cc:",
    ];
    let starts = |line: &str, keys: &[&str]| {
        let lower = line.trim_start_matches('*').trim().to_lowercase();
        keys.iter().any(|k| lower.starts_with(k))
    };
    if !starts(lines[i], FROM) {
        return false;
    }
    let window = &lines[i + 1..lines.len().min(i + 6)];
    window.iter().any(|l| starts(l, SENT)) && window.iter().any(|l| starts(l, OTHER))
}

/// Undoes format=flowed (RFC 3676): soft line breaks joined, space-stuffing removed.
/// Quote depth is kept as `> ` prefixes for the splitter.
pub(crate) fn unflow(text: &str, delsp: bool) -> String {
    let normalized = normalize_newlines(text);
    let mut out = String::with_capacity(normalized.len());
    let mut paragraph = String::new();
    let mut paragraph_depth: Option<usize> = None;
    for raw_line in normalized.split('\n') {
        let depth = raw_line.bytes().take_while(|&b| b == b'>').count();
        let mut line = &raw_line[depth..];
        if let Some(unstuffed) = line.strip_prefix(' ') {
            line = unstuffed;
        }
        let is_signature = line == "-- ";
        if paragraph_depth.is_some_and(|d| d != depth) {
            flush_flowed(
                &mut out,
                &mut paragraph,
                paragraph_depth.take().unwrap_or(0),
            );
        }
        let flowed = !is_signature && line.ends_with(' ');
        if flowed {
            let piece = if delsp { &line[..line.len() - 1] } else { line };
            paragraph.push_str(piece);
            paragraph_depth = Some(depth);
        } else {
            paragraph.push_str(line);
            flush_flowed(&mut out, &mut paragraph, depth);
            paragraph_depth = None;
        }
    }
    if let Some(depth) = paragraph_depth {
        flush_flowed(&mut out, &mut paragraph, depth);
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

fn flush_flowed(out: &mut String, paragraph: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push('>');
    }
    if depth > 0 {
        out.push(' ');
    }
    out.push_str(paragraph);
    out.push('\n');
    paragraph.clear();
}

/// One line of the writer's own words for a list preview.
pub(crate) fn preview_line(blocks: &[TextBlock], max_chars: usize) -> String {
    let mut own: String = String::new();
    for block in blocks.iter().filter(|b| b.kind == TextBlockKind::Body) {
        own.push_str(&block.text);
        own.push(' ');
        if own.len() > max_chars.saturating_mul(8) {
            break;
        }
    }
    if own.trim().is_empty() {
        // Nothing of their own (a bare forward): the quoted words are better than nothing.
        for block in blocks.iter().filter(|b| b.kind == TextBlockKind::Quote) {
            own.push_str(&block.text);
            own.push(' ');
            if own.len() > max_chars.saturating_mul(8) {
                break;
            }
        }
    }
    collapse(&own, max_chars)
}

/// Collapses white space and cuts at `max_chars` characters, ending with "…" when cut.
pub(crate) fn collapse(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(max_chars.min(text.len()) + 4);
    let mut count = 0;
    let mut pending_space = false;
    let mut cut = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() || c == '\u{fffd}' {
            pending_space = count > 0;
            continue;
        }
        if count + usize::from(pending_space) + 1 > max_chars {
            cut = true;
            break;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    if cut && max_chars > 0 {
        // Make room for the ellipsis.
        if count >= max_chars {
            out.pop();
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TextBlockKind, u8, String)> {
        text_blocks(text)
            .into_iter()
            .map(|b| (b.kind, b.depth, b.text))
            .collect()
    }

    use TextBlockKind::{Body, Quote, Signature};

    #[test]
    fn body_quote_signature() {
        let text = "Hi Anna,\r\n\r\nThanks!\r\n\r\n> Your order\r\n> > was it shipped?\r\n> yes\r\n\r\n-- \r\nJan Jansen\r\nBakkerij Jansen\r\n";
        assert_eq!(
            kinds(text),
            vec![
                (Body, 0, "Hi Anna,\n\nThanks!".into()),
                (Quote, 1, "Your order".into()),
                (Quote, 2, "was it shipped?".into()),
                (Quote, 1, "yes".into()),
                (Signature, 0, "Jan Jansen\nBakkerij Jansen".into()),
            ]
        );
    }

    #[test]
    fn english_attribution_joins_its_quote() {
        let text = "Sounds good.\n\nOn Tue, 3 Mar 2026, Jan wrote:\n> Can you call me?\n";
        assert_eq!(
            kinds(text),
            vec![
                (Body, 0, "Sounds good.".into()),
                (
                    Quote,
                    1,
                    "On Tue, 3 Mar 2026, Jan wrote:\nCan you call me?".into()
                ),
            ]
        );
    }

    #[test]
    fn dutch_attribution_and_wrapped_attribution() {
        let text = "Prima.\n\nOp di 3 mrt 2026 schreef Jan:\n> Bel je me?\n";
        assert_eq!(
            kinds(text)[1],
            (Quote, 1, "Op di 3 mrt 2026 schreef Jan:\nBel je me?".into())
        );
        let text = "Prima.\n\nOp 3 mrt. 2026 om 10:12 heeft Jan Jansen <jan@example.nl> het volgende\ngeschreven:\n\n> Bel je me?\n";
        let blocks = kinds(text);
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert_eq!(blocks[1].0, Quote);
        assert!(blocks[1].2.starts_with("Op 3 mrt. 2026 om 10:12"));
    }

    #[test]
    fn attribution_without_markers_starts_a_tail() {
        let text = "Thanks, fixed.\n\nOn Mon, 2 Mar 2026 at 09:00, Jan <jan@example.nl> wrote:\nThe app crashes.\n\nJan\n";
        assert_eq!(
            kinds(text),
            vec![
                (Body, 0, "Thanks, fixed.".into()),
                (Quote, 1, "On Mon, 2 Mar 2026 at 09:00, Jan <jan@example.nl> wrote:\nThe app crashes.\n\nJan".into()),
            ]
        );
    }

    #[test]
    fn nested_attribution_joins_the_deeper_quote() {
        let text = "Ok\n\nOp wo 18 mrt 2026 schreef Anna <a@b.example>:\n> Hier is het label.\n>\n> Op di 17 mrt 2026 schreef Jan <j@x.example>:\n>> Ik wil retourneren.\n";
        assert_eq!(
            kinds(text),
            vec![
                (Body, 0, "Ok".into()),
                (
                    Quote,
                    1,
                    "Op wo 18 mrt 2026 schreef Anna <a@b.example>:\nHier is het label.".into()
                ),
                (
                    Quote,
                    2,
                    "Op di 17 mrt 2026 schreef Jan <j@x.example>:\nIk wil retourneren.".into()
                ),
            ]
        );
    }

    #[test]
    fn outlook_original_message_and_header_blocks() {
        let text = "See below.\n\n-----Original Message-----\nFrom: Jan\nSent: Tuesday\nTo: support\nSubject: Help\n\nold text\n";
        let blocks = kinds(text);
        assert_eq!(blocks[0], (Body, 0, "See below.".into()));
        assert_eq!(blocks[1].0, Quote);
        assert!(
            blocks[1]
                .2
                .starts_with("-----Original Message-----\nFrom: Jan")
        );
        assert!(blocks[1].2.ends_with("old text"));

        let text = "Graag gedaan.\n\nMet vriendelijke groet,\nAnna\n\n________________________________\nVan: Jan Jansen <jan@example.nl>\nVerzonden: dinsdag 3 maart 2026 10:12\nAan: support@brightdesk.example\nOnderwerp: Factuur\n\nWaar blijft mijn factuur?\n";
        let blocks = kinds(text);
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert_eq!(
            blocks[0],
            (
                Body,
                0,
                "Graag gedaan.\n\nMet vriendelijke groet,\nAnna".into()
            )
        );
        assert!(blocks[1].2.starts_with("________"));
        assert!(blocks[1].2.contains("Waar blijft mijn factuur?"));

        let text = "Top.\n\nFrom: Jan <jan@example.nl>\nSent: Tuesday, March 3, 2026 10:12 AM\nTo: Support\nSubject: RE: Order\n\nQuoted\n";
        assert_eq!(kinds(text)[1].0, Quote);
    }

    #[test]
    fn a_from_line_alone_is_not_a_header_block() {
        let text = "From: the warehouse we heard nothing.\nCan you check?\n";
        assert_eq!(kinds(text), vec![(Body, 0, text.trim_end().into())]);
    }

    #[test]
    fn forwarded_marker_starts_a_tail() {
        let text = "FYI\n\n---------- Forwarded message ---------\nFrom: X\n\nhello\n";
        let blocks = kinds(text);
        assert_eq!(blocks[0], (Body, 0, "FYI".into()));
        assert_eq!(blocks[1].0, Quote);
        assert_eq!(blocks[1].1, 1);
    }

    #[test]
    fn signature_ends_where_a_quote_starts() {
        let text = "Ok\n-- \nAnna\n> earlier\n";
        assert_eq!(
            kinds(text),
            vec![
                (Body, 0, "Ok".into()),
                (Signature, 0, "Anna".into()),
                (Quote, 1, "earlier".into())
            ]
        );
    }

    #[test]
    fn many_dash_lines_stay_linear() {
        let text = "--\n".repeat(300_000);
        let started = std::time::Instant::now();
        let blocks = text_blocks(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(!blocks.is_empty());
    }

    #[test]
    fn empty_and_blank_text() {
        assert!(text_blocks("").is_empty());
        assert!(text_blocks("\r\n \r\n").is_empty());
    }

    #[test]
    fn format_flowed() {
        let text = "This is a long \r\nparagraph that \r\nflows.\r\n>Quoted \r\n>line.\r\n\r\n-- \r\nSig\r\n";
        assert_eq!(
            unflow(text, false),
            "This is a long paragraph that flows.\n> Quoted line.\n\n-- \nSig\n"
        );
        assert_eq!(unflow("abc \r\ndef\r\n", true), "abcdef\n");
        // Space-stuffed lines lose one space.
        assert_eq!(unflow("  From me\r\n", false), " From me\n");
    }

    #[test]
    fn preview_skips_quotes_and_signature() {
        let blocks =
            text_blocks("Hello   there,\n\nsee\tbelow.\n\nOn Tue, Jan wrote:\n> old\n-- \nsig");
        assert_eq!(preview_line(&blocks, 100), "Hello there, see below.");
        assert_eq!(preview_line(&blocks, 10), "Hello the…");
        let only_quote = text_blocks("> forwarded words\n");
        assert_eq!(preview_line(&only_quote, 100), "forwarded words");
    }

    #[test]
    fn collapse_counts_characters_not_bytes() {
        assert_eq!(collapse("é é é é", 5), "é é…");
        assert_eq!(collapse("abc", 3), "abc");
        assert_eq!(collapse("abcd", 3), "ab…");
        assert_eq!(collapse("abcd", 0), "");
    }
}
