//! A new draft from the message it answers or forwards: recipients, subject, threading
//! headers (References, In-Reply-To and Outlook's Thread-Index) and the quoted text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_parser::{Address, HeaderValue, MessageParser};

use super::address::format_list;
use super::{DraftKind, Threading};
use crate::conversation::Correspondent;
use crate::mime::{TextBlock, TextBlockKind};

/// References kept in a reply: the first (the thread's root) and the newest ones, so a
/// long thread does not grow the header without bound.
const MAX_REFERENCES: usize = 20;

/// The answered or forwarded message, as far as a draft needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub from: Option<Correspondent>,
    pub reply_to: Vec<Correspondent>,
    pub to: Vec<Correspondent>,
    pub cc: Vec<Correspondent>,
    pub subject: String,
    /// The Date header as written, for the attribution line.
    pub date: String,
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub in_reply_to: Vec<String>,
    pub thread_index: Option<String>,
    pub thread_topic: Option<String>,
    /// The text to quote (plain text, or text made from the HTML).
    pub text: String,
}

impl Source {
    /// Reads the headers from the raw message; `blocks` is its text as the reading pane
    /// has it.
    pub fn read(raw: &[u8], blocks: &[TextBlock]) -> Source {
        let Some(message) = MessageParser::default().parse_headers(raw) else {
            return Source {
                text: plain_text(blocks),
                ..Source::default()
            };
        };
        let ids = |value: &HeaderValue<'_>| -> Vec<String> {
            match value {
                HeaderValue::Text(id) => vec![id.to_string()],
                HeaderValue::TextList(ids) => ids.iter().map(|id| id.to_string()).collect(),
                _ => Vec::new(),
            }
        };
        Source {
            from: message.from().and_then(|a| people(a).into_iter().next()),
            reply_to: message.reply_to().map(people).unwrap_or_default(),
            to: message.to().map(people).unwrap_or_default(),
            cc: message.cc().map(people).unwrap_or_default(),
            subject: message.subject().unwrap_or_default().to_owned(),
            date: message
                .header_raw("Date")
                .map(|d| d.trim().to_owned())
                .unwrap_or_default(),
            message_id: message.message_id().map(str::to_owned),
            references: ids(message.references()),
            in_reply_to: ids(message.in_reply_to()),
            thread_index: message
                .header_raw("Thread-Index")
                .map(|t| t.trim().to_owned()),
            thread_topic: message.header("Thread-Topic").and_then(|t| {
                t.as_text()
                    .map(|t| t.chars().filter(|c| !c.is_control()).collect())
            }),
            text: plain_text(blocks),
        }
    }
}

fn people(address: &Address<'_>) -> Vec<Correspondent> {
    address
        .iter()
        .filter_map(|a| {
            let addr = a.address()?.trim();
            crate::account::validate_address(addr).ok()?;
            let name: String = a
                .name()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            Some(Correspondent {
                name: name.trim().to_owned(),
                address: addr.to_owned(),
            })
        })
        .collect()
}

/// Text blocks back into text, with their own quote marks.
fn plain_text(blocks: &[TextBlock]) -> String {
    let mut out = Vec::new();
    for block in blocks {
        let prefix = match block.kind {
            TextBlockKind::Quote => ">".repeat(usize::from(block.depth.max(1))) + " ",
            _ => String::new(),
        };
        for line in block.text.lines() {
            out.push(format!("{prefix}{line}").trim_end().to_owned());
        }
    }
    out.join("\n").trim_matches('\n').to_owned()
}

/// The recipients of a reply: the Reply-To or the sender, and for reply-all everyone
/// else on the message too, never the shared address itself. Replying to the team's
/// own message goes to whom it was sent.
pub fn recipients(
    kind: DraftKind,
    source: &Source,
    shared: &str,
) -> (Vec<Correspondent>, Vec<Correspondent>) {
    let is_shared = |c: &Correspondent| c.address.eq_ignore_ascii_case(shared);
    let from_team = source.from.as_ref().is_some_and(is_shared);
    let mut to: Vec<Correspondent> = match kind {
        DraftKind::Forward | DraftKind::New => return (Vec::new(), Vec::new()),
        _ if from_team => source.to.clone(),
        _ if !source.reply_to.is_empty() => source.reply_to.clone(),
        _ => source.from.clone().into_iter().collect(),
    };
    let mut cc = Vec::new();
    if kind == DraftKind::ReplyAll {
        if !from_team {
            to.extend(source.to.iter().cloned());
        }
        cc.extend(source.cc.iter().cloned());
    }
    let mut seen = std::collections::HashSet::new();
    let mut keep = |c: &Correspondent| !is_shared(c) && seen.insert(c.address.to_lowercase());
    to.retain(&mut keep);
    cc.retain(&mut keep);
    (to, cc)
}

/// "Re: " or "Fwd: " before the subject, once.
pub fn subject(kind: DraftKind, subject: &str) -> String {
    let subject = subject.trim();
    let lower = subject.to_lowercase();
    let has = |prefixes: &[&str]| prefixes.iter().any(|p| lower.starts_with(p));
    match kind {
        DraftKind::Reply | DraftKind::ReplyAll if !has(&["re:", "aw:", "antw:", "sv:"]) => {
            format!("Re: {subject}")
        }
        DraftKind::Forward if !has(&["fwd:", "fw:", "doorst:"]) => format!("Fwd: {subject}"),
        _ => subject.to_owned(),
    }
}

/// The threading headers of a reply (or a forward, which starts a new thread but keeps
/// the reference).
pub fn threading(kind: DraftKind, source: &Source, now_ms: i64) -> Threading {
    let Some(parent) = source.message_id.clone() else {
        return Threading::default();
    };
    let mut references = if source.references.is_empty() {
        source.in_reply_to.clone()
    } else {
        source.references.clone()
    };
    references.retain(|r| *r != parent);
    references.push(parent.clone());
    if references.len() > MAX_REFERENCES {
        let tail = references.len() - (MAX_REFERENCES - 1);
        references.drain(1..tail);
    }
    match kind {
        DraftKind::Reply | DraftKind::ReplyAll => Threading {
            in_reply_to: Some(parent),
            references,
            thread_index: source
                .thread_index
                .as_deref()
                .and_then(|parent| child_thread_index(parent, now_ms)),
            thread_topic: source.thread_topic.clone(),
        },
        DraftKind::Forward => Threading {
            references,
            ..Threading::default()
        },
        DraftKind::New => Threading::default(),
    }
}

/// Outlook threads by Thread-Index: a reply carries its parent's index plus a 5-byte
/// child block (the time since the parent, coarsely). Without it Outlook users see the
/// reply outside the conversation.
pub fn child_thread_index(parent: &str, now_ms: i64) -> Option<String> {
    let mut bytes = BASE64.decode(parent.trim()).ok()?;
    if bytes.len() < 22 || bytes.len() > 22 + 5 * 64 {
        return None;
    }
    // The child block's 31 bits of time delta in 1.6384 ms units; any value keeps the
    // thread, a growing one keeps the order.
    let delta = u64::try_from(now_ms.rem_euclid(1 << 30)).unwrap_or(0);
    let block = (delta << 8) & 0xFF_FFFF_FF00;
    bytes.extend_from_slice(&block.to_be_bytes()[3..8]);
    Some(BASE64.encode(bytes))
}

/// The quote under a reply, or the forwarded message's header block and text.
pub fn quoted_body(kind: DraftKind, source: &Source, lang: Lang) -> String {
    let sender = source
        .from
        .as_ref()
        .map(|f| format_list(std::slice::from_ref(f)))
        .unwrap_or_default();
    match kind {
        DraftKind::Reply | DraftKind::ReplyAll => {
            let said = match lang {
                Lang::En => format!("On {}, {} wrote:", source.date, sender),
                Lang::Nl => format!("Op {} schreef {}:", source.date, sender),
            };
            let quoted: Vec<String> = source
                .text
                .lines()
                .map(|l| {
                    if l.starts_with('>') {
                        format!(">{l}")
                    } else {
                        format!("> {l}").trim_end().to_owned()
                    }
                })
                .collect();
            format!("{said}\n{}", quoted.join("\n"))
        }
        DraftKind::Forward => {
            let (title, from, date, subject, to) = match lang {
                Lang::En => ("Forwarded message", "From", "Date", "Subject", "To"),
                Lang::Nl => ("Doorgestuurd bericht", "Van", "Datum", "Onderwerp", "Aan"),
            };
            format!(
                "---------- {title} ----------\n{from}: {sender}\n{date}: {}\n{subject}: {}\n{to}: {}\n\n{}",
                source.date,
                source.subject,
                format_list(&source.to),
                source.text
            )
        }
        DraftKind::New => String::new(),
    }
}

/// The language of the lines Baton writes into a mail (attribution, forward header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
}

impl Lang {
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("nl") {
            Lang::Nl
        } else {
            Lang::En
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"From: Jan Jansen <jan@example.nl>\r\n\
Reply-To: Orders <orders@example.nl>\r\n\
To: Support <support@acme.test>, Els <els@example.nl>\r\n\
Cc: piet@example.nl, support@acme.test\r\n\
Subject: Where is my order?\r\n\
Date: Mon, 2 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <m2@example.nl>\r\n\
References: <m0@acme.test> <m1@example.nl>\r\n\
In-Reply-To: <m1@example.nl>\r\n\
Thread-Index: AdtNq2VYxk0tYT4wQbqEZ2VgQ0Ng8Q==\r\n\
Thread-Topic: Where is my order?\r\n\r\nHello\r\n";

    fn source() -> Source {
        let blocks = vec![
            TextBlock {
                kind: TextBlockKind::Body,
                depth: 0,
                text: "Hello,\nwhere is it?".into(),
            },
            TextBlock {
                kind: TextBlockKind::Quote,
                depth: 1,
                text: "We sent it.".into(),
            },
        ];
        Source::read(RAW, &blocks)
    }

    fn addresses(list: &[Correspondent]) -> Vec<&str> {
        list.iter().map(|c| c.address.as_str()).collect()
    }

    #[test]
    fn reply_goes_to_reply_to_and_reply_all_to_everyone_but_the_team() {
        let s = source();
        let (to, cc) = recipients(DraftKind::Reply, &s, "support@acme.test");
        assert_eq!(addresses(&to), ["orders@example.nl"]);
        assert!(cc.is_empty());
        let (to, cc) = recipients(DraftKind::ReplyAll, &s, "SUPPORT@acme.test");
        assert_eq!(addresses(&to), ["orders@example.nl", "els@example.nl"]);
        assert_eq!(addresses(&cc), ["piet@example.nl"]);
    }

    #[test]
    fn replying_to_the_teams_own_message_goes_to_its_recipients() {
        let mut s = source();
        s.from = Some(Correspondent {
            name: "Anna".into(),
            address: "support@acme.test".into(),
        });
        s.to = vec![Correspondent {
            name: "Jan".into(),
            address: "jan@example.nl".into(),
        }];
        let (to, _) = recipients(DraftKind::Reply, &s, "support@acme.test");
        assert_eq!(addresses(&to), ["jan@example.nl"]);
    }

    #[test]
    fn references_chain_and_subjects() {
        let s = source();
        let t = threading(DraftKind::Reply, &s, 1_000);
        assert_eq!(t.in_reply_to.as_deref(), Some("m2@example.nl"));
        assert_eq!(
            t.references,
            ["m0@acme.test", "m1@example.nl", "m2@example.nl"]
        );
        assert_eq!(t.thread_topic.as_deref(), Some("Where is my order?"));
        assert_eq!(
            subject(DraftKind::Reply, &s.subject),
            "Re: Where is my order?"
        );
        assert_eq!(subject(DraftKind::Reply, "RE: x"), "RE: x");
        assert_eq!(subject(DraftKind::Forward, "x"), "Fwd: x");
        assert_eq!(subject(DraftKind::Forward, "FW: x"), "FW: x");
    }

    #[test]
    fn long_reference_chains_keep_the_root_and_the_newest() {
        let mut s = source();
        s.references = (0..50).map(|i| format!("r{i}@x")).collect();
        let t = threading(DraftKind::Reply, &s, 0);
        assert_eq!(t.references.len(), MAX_REFERENCES);
        assert_eq!(t.references[0], "r0@x");
        assert_eq!(
            t.references.last().map(String::as_str),
            Some("m2@example.nl")
        );
        assert_eq!(t.references[MAX_REFERENCES - 2], "r49@x");
    }

    #[test]
    fn thread_index_grows_by_one_child_block() {
        let parent = "AdtNq2VYxk0tYT4wQbqEZ2VgQ0Ng8Q==";
        let child = child_thread_index(parent, 123_456).expect("child");
        let (p, c) = (
            BASE64.decode(parent).expect("p"),
            BASE64.decode(&child).expect("c"),
        );
        assert_eq!(c.len(), p.len() + 5);
        assert_eq!(&c[..p.len()], &p[..]);
        assert!(child_thread_index("not base64!", 0).is_none());
        assert!(child_thread_index("AAAA", 0).is_none());
    }

    #[test]
    fn quotes_and_forward_blocks() {
        let s = source();
        let q = quoted_body(DraftKind::Reply, &s, Lang::En);
        assert_eq!(
            q,
            "On Mon, 2 Nov 2026 10:00:00 +0100, Jan Jansen <jan@example.nl> wrote:\n\
             > Hello,\n> where is it?\n>> We sent it."
        );
        let f = quoted_body(DraftKind::Forward, &s, Lang::Nl);
        assert!(f.starts_with("---------- Doorgestuurd bericht ----------\nVan: Jan Jansen"));
        assert!(f.ends_with("Hello,\nwhere is it?\n> We sent it."));
    }
}
