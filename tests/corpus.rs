//! The demo mailbox generator: deterministic, realistic enough to demo and test with,
//! fast enough for the 100,000-message benchmark.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use baton::dev::corpus::{CorpusFolder, CorpusMessage, CorpusOptions, generate};
use baton::mime::{IngestOptions, TextBlockKind, ingest};
use mail_parser::{HeaderValue, MessageParser};

/// 2026-03-24 12:00 UTC: fixed, so the tests do not depend on the clock.
const NOW: i64 = 1_774_353_600;

fn demo() -> Vec<CorpusMessage> {
    generate(&CorpusOptions::demo_at(NOW)).collect()
}

fn text(m: &CorpusMessage) -> String {
    String::from_utf8_lossy(&m.raw).into_owned()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Conversations the way a threading engine would find them from the headers alone:
/// messages linked by Message-ID / In-Reply-To / References.
struct Threads {
    parent: Vec<usize>,
}

impl Threads {
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
        }
    }
}

/// Thread id per message, by message index.
fn thread_of(messages: &[CorpusMessage]) -> Vec<usize> {
    let parser = MessageParser::default();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut links: Vec<Vec<String>> = Vec::new();
    let mut next = messages.len();
    let mut extra: HashMap<String, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        let parsed = parser.parse_headers(&m.raw).expect("headers parse");
        if let Some(id) = parsed.message_id() {
            index_of.insert(id.to_owned(), i);
        }
        let mut refs = ids(parsed.in_reply_to());
        refs.extend(ids(parsed.references()));
        links.push(refs);
    }
    for refs in &links {
        for r in refs {
            if !index_of.contains_key(r) && !extra.contains_key(r) {
                extra.insert(r.clone(), next);
                next += 1;
            }
        }
    }
    let mut threads = Threads {
        parent: (0..next).collect(),
    };
    for (i, refs) in links.iter().enumerate() {
        for r in refs {
            let j = index_of
                .get(r)
                .or_else(|| extra.get(r))
                .copied()
                .unwrap_or(i);
            threads.union(j, i);
        }
    }
    (0..messages.len()).map(|i| threads.find(i)).collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let options = CorpusOptions {
        messages: 400,
        ..CorpusOptions::demo_at(NOW)
    };
    let a: Vec<CorpusMessage> = generate(&options).collect();
    let b: Vec<CorpusMessage> = generate(&options).collect();
    assert_eq!(a, b);
    let other: Vec<CorpusMessage> = generate(&CorpusOptions {
        seed: 99,
        ..options.clone()
    })
    .collect();
    assert_ne!(a, other);
}

#[test]
fn demo_mailbox_has_enough_conversations_in_both_languages() {
    let messages = demo();
    assert!(
        (1_150..=1_350).contains(&messages.len()),
        "{} messages",
        messages.len()
    );
    let threads = thread_of(&messages);
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for t in &threads {
        *sizes.entry(*t).or_default() += 1;
    }
    assert!(sizes.len() >= 300, "{} conversations", sizes.len());
    assert!(sizes.values().any(|&n| n >= 10), "a long thread");
    assert!(sizes.values().filter(|&&n| n >= 10).count() >= 5);
    assert!(
        sizes.values().all(|&n| n <= 31),
        "threads stay within 30 messages"
    );

    let all: Vec<String> = messages.iter().map(text).collect();
    let dutch = all
        .iter()
        .filter(|t| t.contains("Met vriendelijke groet") || t.contains("Groet,"))
        .count();
    let english = all
        .iter()
        .filter(|t| t.contains("Kind regards") || t.contains("Thanks,"))
        .count();
    assert!(dutch > messages.len() / 5, "dutch {dutch}");
    assert!(english > messages.len() / 5, "english {english}");

    // Conversations without a reply from the team, recent ones among them.
    let mut answered_threads: HashSet<usize> = HashSet::new();
    for (m, t) in messages.iter().zip(&threads) {
        if m.folder == CorpusFolder::Sent {
            answered_threads.insert(*t);
        }
    }
    let unanswered: Vec<usize> = sizes
        .keys()
        .filter(|t| !answered_threads.contains(t))
        .copied()
        .collect();
    assert!(unanswered.len() >= 30, "{} unanswered", unanswered.len());
    let recent_unanswered = messages
        .iter()
        .zip(&threads)
        .filter(|(m, t)| NOW - m.received_at < 3 * 86_400 && !answered_threads.contains(t))
        .count();
    assert!(recent_unanswered >= 3, "{recent_unanswered}");
}

#[test]
fn demo_mailbox_contains_every_feature() {
    let messages = demo();
    let all: Vec<String> = messages.iter().map(text).collect();
    let has = |what: &str, f: &dyn Fn(&CorpusMessage, &str) -> bool| {
        let n = messages.iter().zip(&all).filter(|(m, t)| f(m, t)).count();
        assert!(n > 0, "no message with {what}");
        n
    };
    has("a customer in the inbox", &|m, t| {
        m.folder == CorpusFolder::Inbox
            && t.contains("To: \"Brightdesk Support\" <support@brightdesk.example>")
    });
    has("a team reply in Sent", &|m, t| {
        m.folder == CorpusFolder::Sent
            && t.contains("From: \"Anna from Brightdesk Support\" <support@brightdesk.example>")
            && t.contains("In-Reply-To: <")
            && t.contains("References: <")
    });
    has("Bram and Chloé answering", &|_, t| {
        t.contains("From: \"Bram from Brightdesk Support\"")
    });
    has("Chloé answering", &|_, t| {
        t.contains("From: \"Chloé from Brightdesk Support\"") || t.contains("Chloé")
    });
    has("'> ' quoting", &|_, t| t.contains("\r\n> "));
    has("nested quoting", &|_, t| {
        t.contains("\r\n>> ") || t.contains("\r\n> > ")
    });
    has("a Dutch attribution", &|_, t| {
        t.contains("\r\nOp ") && t.contains(" schreef ")
    });
    has("an English attribution", &|_, t| {
        t.contains("\r\nOn ") && t.contains(" wrote:")
    });
    has("an Outlook header block", &|_, t| {
        t.contains("________________________________\r\nVan: ")
            || t.contains("________________________________\r\nFrom: ")
    });
    has("a signature", &|_, t| t.contains("\r\n-- \r\n"));
    has("multipart/alternative", &|_, t| {
        t.contains("multipart/alternative")
    });
    has("Outlook HTML", &|_, t| t.contains("WordSection1"));
    has("Gmail HTML", &|_, t| t.contains("gmail_quote"));
    has("a cid: image with a remote image", &|_, t| {
        t.contains("cid:") && t.contains("src=3D\"https://") && t.contains("Content-ID: <")
    });
    has("a PNG attachment", &|_, t| {
        t.contains("Content-Type: image/png; name=")
            && t.contains("Content-Disposition: attachment; filename*=UTF-8''foto")
            || t.contains("filename*=UTF-8''photo")
    });
    has("a PDF attachment with accents", &|_, t| {
        t.contains("Content-Type: application/pdf") && t.contains("%C3%87elik")
    });
    has("a CSV attachment", &|_, t| {
        t.contains("Content-Type: text/csv")
    });
    has("an inline forward", &|_, t| {
        t.contains("---------- Forwarded message ---------")
    });
    has("a message/rfc822 forward", &|m, t| {
        m.folder == CorpusFolder::Inbox
            && t.contains("Content-Type: message/rfc822\r\nContent-Disposition: attachment")
    });
    has("a delivery report", &|_, t| {
        t.contains("From: MAILER-DAEMON@")
            && t.contains("multipart/report; report-type=delivery-status")
            && t.contains("Final-Recipient: rfc822;")
            && t.contains("Action: failed")
            && t.contains("Status: 5.")
            && t.contains("Diagnostic-Code: smtp;")
            && t.contains("From: \"")
    });
    has("ISO-8859-1", &|_, t| {
        t.contains("charset=ISO-8859-1") && t.contains("=?ISO-8859-1?Q?")
    });
    has("windows-1252", &|_, t| t.contains("charset=windows-1252"));
    has("quoted-printable text", &|_, t| {
        t.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable")
    });
    has("base64 text", &|_, t| {
        t.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64")
    });
    has("an RFC 2047 name", &|_, t| t.contains("From: =?UTF-8?B?"));
    has("an RFC 2047 subject", &|_, t| {
        t.contains("Subject: =?UTF-8?Q?")
    });
    has("an unknown charset label", &|_, t| {
        t.contains("charset=\"x-mac-dutch-legacy\"")
    });
    has("invalid UTF-8 in an 8bit body", &|m, _| {
        let raw = &m.raw;
        let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
        let head = String::from_utf8_lossy(&raw[..head_end]);
        head.contains("charset=utf-8\r\nContent-Transfer-Encoding: 8bit")
            && std::str::from_utf8(&raw[head_end..]).is_err()
    });
    has("an Outlook reply without References", &|_, t| {
        (t.contains("Subject: RE: ") || t.contains("Subject: Antw: "))
            && t.contains("Thread-Index: ")
            && !t.contains("In-Reply-To:")
            && !t.contains("References:")
    });
    let without_id = has("a message without Message-ID", &|_, t| {
        !t.contains("\r\nMessage-ID: ")
    });
    assert_eq!(without_id, 1, "exactly one message without Message-ID");
    has("hostile HTML", &|_, t| {
        t.contains("<script") && t.contains("onerror") && t.contains("javascript:")
    });
    has("cold sales", &|_, t| t.contains("leadboost.example.io"));
    has("a partnership offer", &|_, t| {
        t.contains("Subject: Partnership proposal")
    });
    for topic in [
        "Factuur",
        "Invoice",
        "Refund",
        "Terugbetaling",
        "Return",
        "Retour",
        "inloggen",
        "log in",
        "vertraagd",
        "delayed",
        "Bug",
        "Feature request",
        "Klacht",
        "Complaint",
    ] {
        has(topic, &|_, t| {
            t.contains(&format!("Subject: {topic}"))
                || t.contains(&format!("Subject: Re: {topic}"))
                || t.contains(topic)
        });
    }
    has("a Turkish name", &|_, t| {
        t.contains("=?UTF-8?B?")
            && (t.contains("Kaya") || t.contains("Demir") || t.contains("Y=C4=B1lmaz"))
            || t.contains("Mehmet Demir")
    });
    has("a Moroccan name", &|_, t| {
        t.contains("El Amrani")
            || t.contains("Bennani")
            || t.contains("El Idrissi")
            || t.contains("Bouzid")
            || t.contains("Ouahbi")
    });
}

#[test]
fn every_demo_message_is_valid_mail() {
    let messages = demo();
    let parser = MessageParser::default();
    let mut last = i64::MIN;
    let mut message_ids = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        let raw = &m.raw;
        // CRLF only, lines within RFC 5322's limit.
        for (at, &b) in raw.iter().enumerate() {
            if b == b'\n' {
                assert!(at > 0 && raw[at - 1] == b'\r', "bare LF in message {i}");
            }
        }
        assert!(
            raw.split(|&b| b == b'\n').all(|line| line.len() <= 998),
            "long line in {i}"
        );
        let parsed = parser
            .parse(raw)
            .unwrap_or_else(|| panic!("message {i} does not parse"));
        assert!(parsed.from().is_some(), "From in {i}");
        let date = parsed.date().unwrap_or_else(|| panic!("Date in {i}"));
        let skew = (date.to_timestamp() - m.received_at).abs();
        assert!(
            skew <= 120,
            "message {i}: Date {date} is {skew} s from received_at"
        );
        if let Some(id) = parsed.message_id() {
            assert!(
                message_ids.insert(id.to_owned()),
                "duplicate Message-ID {id}"
            );
        }
        assert!(
            m.received_at <= NOW && m.received_at >= NOW - 125 * 86_400,
            "received_at of {i}"
        );
        assert!(m.received_at >= last, "in arrival order");
        last = m.received_at;
        match m.folder {
            CorpusFolder::Sent => {
                assert!(m.seen);
                let from = parsed
                    .from()
                    .and_then(|f| f.first())
                    .and_then(|a| a.address())
                    .unwrap_or("");
                assert_eq!(from, "support@brightdesk.example");
            }
            CorpusFolder::Inbox => {}
        }
        // The Date header is in a realistic zone.
        let header = String::from_utf8_lossy(raw);
        let date_line = header
            .lines()
            .find(|l| l.starts_with("Date: "))
            .unwrap_or("");
        assert!(
            ["+0100", "+0200", "+0000", "+0300"]
                .iter()
                .any(|z| date_line.contains(z)),
            "{date_line}"
        );
    }
}

/// The generated mail goes through the reading pane's ingest: the deliberate oddities
/// come out as problems, the rest reads cleanly.
#[test]
fn demo_messages_ingest_cleanly_except_the_deliberate_oddities() {
    let messages = demo();
    let mut problems = 0;
    let mut with_html = 0;
    let mut with_quotes = 0;
    let mut blocked = 0;
    for m in &messages {
        let c = ingest(&m.raw, &IngestOptions::default());
        if let Some(p) = &c.problem {
            problems += 1;
            let t = text(m);
            assert!(
                t.contains("x-mac-dutch-legacy")
                    || t.contains("charset=utf-8\r\nContent-Transfer-Encoding: 8bit"),
                "unexpected problem {p:?} in:\n{}",
                &t[..t.len().min(3000)]
            );
        }
        assert!(
            !c.text.is_empty() || c.html.is_some(),
            "nothing to show:\n{}",
            text(m)
        );
        if let Some(h) = &c.html {
            with_html += 1;
            blocked += h.blocked_remote_images;
        }
        if c.text.iter().any(|b| b.kind == TextBlockKind::Quote) {
            with_quotes += 1;
        }
    }
    assert!(problems >= 2, "{problems}");
    assert!(with_html > 20, "{with_html}");
    assert!(with_quotes > messages.len() / 3, "{with_quotes}");
    assert!(blocked > 0);
}

#[test]
fn hundred_thousand_messages_generate_quickly() {
    let options = CorpusOptions {
        messages: 100_000,
        seed: 7,
        ..CorpusOptions::demo_at(NOW)
    };
    let started = Instant::now();
    let mut count = 0usize;
    let mut bytes = 0usize;
    let mut sent = 0usize;
    for m in generate(&options) {
        count += 1;
        bytes += m.raw.len();
        if m.folder == CorpusFolder::Sent {
            sent += 1;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{count} messages, {} MB, {sent} sent, in {elapsed:?}",
        bytes / 1_000_000
    );
    assert!((100_000..101_000).contains(&count), "{count}");
    assert!(sent > 20_000);
    if !cfg!(debug_assertions) {
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
}

#[test]
#[ignore = "writes the demo mailbox to $TMPDIR/baton-corpus-sample for reading; run with --ignored"]
fn write_sample() {
    let dir = std::env::temp_dir().join("baton-corpus-sample");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (i, m) in demo().iter().enumerate() {
        let name = format!("{i:05}-{}.eml", m.folder.name());
        std::fs::write(dir.join(name), &m.raw).expect("write");
    }
}

/// The team works office hours (Amsterdam time, Monday to Friday, 8 to 18 h).
#[test]
fn team_replies_are_sent_in_office_hours() {
    let parser = MessageParser::default();
    for m in demo().iter().filter(|m| m.folder == CorpusFolder::Sent) {
        let parsed = parser.parse_headers(&m.raw).expect("headers");
        let date = parsed.date().expect("date");
        assert!((8..=17).contains(&date.hour), "{date}");
        let weekday = (m.received_at.div_euclid(86_400) + 3).rem_euclid(7);
        assert!(weekday < 5, "weekend reply at {date}");
    }
}

/// How fast the reading pane's functions are on realistic mail (prints; not a gate).
#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn ingest_and_preview_speed() {
    let messages: Vec<CorpusMessage> = generate(&CorpusOptions {
        messages: 20_000,
        seed: 3,
        ..CorpusOptions::demo_at(NOW)
    })
    .collect();
    let started = Instant::now();
    let mut chars = 0;
    for m in &messages {
        chars += baton::mime::preview(&m.raw[..m.raw.len().min(8192)], 200).len();
    }
    let preview_time = started.elapsed();
    let started = Instant::now();
    let mut blocks = 0;
    for m in &messages {
        blocks += ingest(&m.raw, &IngestOptions::default()).text.len();
    }
    let ingest_time = started.elapsed();
    println!(
        "{} messages: preview {:?} ({:?}/message, {chars} chars), ingest {:?} ({:?}/message, {blocks} blocks)",
        messages.len(),
        preview_time,
        preview_time / messages.len() as u32,
        ingest_time,
        ingest_time / messages.len() as u32
    );
}

/// The whole demo mailbox is accepted by a real Dovecot, every message in its folder.
#[test]
fn demo_mailbox_loads_into_dovecot() {
    use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
    let server = Dovecot::start(DovecotOptions {
        dir: None,
        logins: vec![Login::new("anna", "secret-anna", "support")],
    })
    .expect("a private Dovecot (install dovecot-imapd)");
    let messages = demo();
    let inbox = messages
        .iter()
        .filter(|m| m.folder == CorpusFolder::Inbox)
        .count() as u32;
    let sent = messages.len() as u32 - inbox;
    let report = server
        .import(
            "anna",
            messages.into_iter().map(|m| {
                let flags = m.maildir_flags().to_owned();
                (m.folder.name().to_owned(), m.received_at, flags, m.raw)
            }),
        )
        .expect("every message imported");
    assert!(!report.folders.is_empty());
    assert_eq!(server.message_count("anna", "INBOX").expect("count"), inbox);
    assert_eq!(server.message_count("anna", "Sent").expect("count"), sent);
}
