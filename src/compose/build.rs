//! The outgoing message: RFC 5322 bytes and the SMTP envelope, from a draft. Every value
//! that reaches a header or an SMTP command is checked or cleaned here, so no text a
//! member (or a customer, through a quoted name) typed can add a header or a command.

use std::path::Path;
use std::time::SystemTime;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};

use super::address::parse_list;
use super::{ComposeSettings, Draft};
use crate::conversation::Correspondent;
use crate::problem::{Problem, ProblemCode, Result};

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub bytes: Vec<u8>,
    /// MAIL FROM.
    pub sender: String,
    /// RCPT TO, each once: To, Cc and Bcc.
    pub recipients: Vec<String>,
}

/// Who the message is from: the shared address, with the member's name as configured.
pub struct From<'a> {
    pub shared_address: &'a str,
    pub display_name: &'a str,
    pub settings: &'a ComposeSettings,
}

impl From<'_> {
    pub fn name(&self) -> String {
        let name = if self.settings.sender_name.trim().is_empty() {
            self.display_name.to_owned()
        } else {
            self.settings
                .sender_name
                .replace("{name}", self.display_name)
        };
        one_line(&name)
    }
}

/// Builds the message. `attachments_dir` holds the draft's attached files by id.
pub fn build(draft: &Draft, from: &From<'_>, attachments_dir: &Path) -> Result<Outgoing> {
    let to = parse_list(&draft.to)?;
    let cc = parse_list(&draft.cc)?;
    let bcc = parse_list(&draft.bcc)?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(Problem::new(
            ProblemCode::NoRecipients,
            "the message has no recipient",
        ));
    }
    let message_id = checked_id(&draft.message_id)?;
    let mut builder = lettre::Message::builder()
        .from(mailbox(&from.name(), from.shared_address)?)
        .subject(one_line(&draft.subject))
        .message_id(Some(format!("<{message_id}>")))
        .date(SystemTime::now())
        .user_agent("Baton".to_owned());
    for person in &to {
        builder = builder.to(mailbox(&person.name, &person.address)?);
    }
    for person in &cc {
        builder = builder.cc(mailbox(&person.name, &person.address)?);
    }
    for person in &bcc {
        builder = builder.bcc(mailbox(&person.name, &person.address)?);
    }
    let threading = &draft.threading;
    if let Some(parent) = &threading.in_reply_to {
        builder = builder.in_reply_to(format!("<{}>", checked_id(parent)?));
    }
    let references: Vec<String> = threading
        .references
        .iter()
        .filter_map(|r| checked_id(r).ok())
        .map(|r| format!("<{r}>"))
        .collect();
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    if let Some(index) = &threading.thread_index
        && is_base64(index)
    {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Thread-Index"),
            index.clone(),
        ));
    }
    if let Some(topic) = &threading.thread_topic {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Thread-Topic"),
            encode_word(&one_line(topic)),
        ));
    }

    let text = draft.body.replace("\r\n", "\n");
    let body = MultiPart::alternative_plain_html(text.clone(), html_of(&text));
    let message = if draft.attachments.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for attached in &draft.attachments {
            let bytes = std::fs::read(attachments_dir.join(&attached.id)).map_err(|e| {
                Problem::new(
                    ProblemCode::FileFailed,
                    format!("the attachment {} could not be read", attached.name),
                )
                .with_detail(e.to_string())
            })?;
            let content_type = ContentType::parse(&attached.mime_type).unwrap_or_else(|_| {
                ContentType::parse("application/octet-stream").expect("static")
            });
            mixed = mixed
                .singlepart(Attachment::new(one_line(&attached.name)).body(bytes, content_type));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| {
        Problem::new(
            ProblemCode::InvalidRecipient,
            "the message could not be built",
        )
        .with_detail(e.to_string())
    })?;
    let envelope = message.envelope();
    Ok(Outgoing {
        sender: envelope
            .from()
            .map(|a| a.to_string())
            .unwrap_or_else(|| from.shared_address.to_owned()),
        recipients: envelope.to().iter().map(|a| a.to_string()).collect(),
        bytes: message.formatted(),
    })
}

fn mailbox(name: &str, address: &str) -> Result<Mailbox> {
    let checked = parse_list(address)?;
    let Some(Correspondent { address, .. }) = checked.into_iter().next() else {
        return Err(Problem::new(
            ProblemCode::InvalidRecipient,
            "an address is empty",
        ));
    };
    let email = address
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            Problem::new(
                ProblemCode::InvalidRecipient,
                format!("the address {address} is not valid"),
            )
            .with_detail(e.to_string())
        })?;
    let name = one_line(name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), email))
}

/// Line breaks and other control characters become spaces: a header value is one line.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Message-ID (without brackets) that can be written as `<id>`.
pub fn checked_id(id: &str) -> Result<&str> {
    let ok = id.len() <= 250
        && id
            .split_once('@')
            .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty())
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !"<>\"\\,;[]()".contains(c));
    if ok {
        Ok(id)
    } else {
        Err(Problem::new(
            ProblemCode::InvalidRecipient,
            "a message id in the thread is not valid",
        ))
    }
}

fn is_base64(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 1024
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
}

/// RFC 2047 for a raw header that may hold non-ASCII text.
fn encode_word(text: &str) -> String {
    use base64::Engine as _;
    if text.is_ascii() {
        text.to_owned()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        format!("=?utf-8?b?{encoded}?=")
    }
}

/// A simple HTML twin of the text, so HTML mail clients show quotes as quotes.
pub fn html_of(text: &str) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"font-family: sans-serif\">",
    );
    let mut depth = 0usize;
    for line in text.lines() {
        let quoted = line.chars().take_while(|&c| c == '>').count();
        let rest = line[quoted..].strip_prefix(' ').unwrap_or(&line[quoted..]);
        while depth < quoted {
            html.push_str(
                "<blockquote style=\"margin:0 0 0 .8ex;border-left:2px solid #ccc;padding-left:1ex\">",
            );
            depth += 1;
        }
        while depth > quoted {
            html.push_str("</blockquote>");
            depth -= 1;
        }
        html.push_str(&escape(rest));
        html.push_str("<br>\n");
    }
    for _ in 0..depth {
        html.push_str("</blockquote>");
    }
    html.push_str("</body></html>");
    html
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{DraftKind, Threading};

    fn draft() -> Draft {
        Draft {
            id: "d1".into(),
            message_id: "abc.123@acme.test".into(),
            kind: DraftKind::Reply,
            conversation: None,
            source: None,
            to: "Jan Jansen <jan@example.nl>".into(),
            cc: "els@example.nl".into(),
            bcc: "boss@acme.test".into(),
            subject: "Re: Waar is mijn bestelling?".into(),
            body: "Hallo Jan,\n\nHij komt morgen.\n\nOn Mon, Jan wrote:\n> Waar?\n>> eerder".into(),
            attachments: Vec::new(),
            started_at: 0,
            saved_at: 0,
            threading: Threading {
                in_reply_to: Some("m2@example.nl".into()),
                references: vec!["m1@example.nl".into(), "m2@example.nl".into()],
                thread_index: Some("AdtNq2VYxk0tYT4wQbqEZ2VgQ0Ng8QAAAAAAAA==".into()),
                thread_topic: Some("Waar is mijn bestelling?".into()),
            },
            baseline: None,
            server_copied_at: None,
        }
    }

    fn settings() -> ComposeSettings {
        ComposeSettings {
            sender_name: "{name} from Acme Support".into(),
            ..ComposeSettings::default()
        }
    }

    fn headers(bytes: &[u8]) -> Vec<(String, String)> {
        let message = mail_parser::MessageParser::default()
            .parse(bytes)
            .expect("parses");
        message
            .headers()
            .iter()
            .map(|h| {
                let raw = &bytes[h.offset_start() as usize..h.offset_end() as usize];
                (
                    h.name().to_owned(),
                    String::from_utf8_lossy(raw).trim().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn reply_carries_threading_and_the_members_name() {
        let settings = settings();
        let from = From {
            shared_address: "support@acme.test",
            display_name: "Anna",
            settings: &settings,
        };
        let out = build(&draft(), &from, Path::new("/nonexistent")).expect("builds");
        let text = String::from_utf8(out.bytes.clone()).expect("ascii");
        assert!(
            text.contains("From: \"Anna from Acme Support\" <support@acme.test>"),
            "{text}"
        );
        assert!(text.contains("Message-ID: <abc.123@acme.test>"));
        assert!(text.contains("In-Reply-To: <m2@example.nl>"));
        assert!(text.contains("References: <m1@example.nl> <m2@example.nl>"));
        assert!(text.contains("Thread-Index: AdtNq2VYxk0tYT4wQbqEZ2VgQ0Ng8QAAAAAAAA=="));
        assert!(
            !text.contains("boss@acme.test"),
            "Bcc is not in the headers"
        );
        assert_eq!(out.sender, "support@acme.test");
        assert_eq!(
            out.recipients,
            ["jan@example.nl", "els@example.nl", "boss@acme.test"]
        );
        let parsed = mail_parser::MessageParser::default()
            .parse(&out.bytes)
            .expect("parses");
        assert_eq!(parsed.subject(), Some("Re: Waar is mijn bestelling?"));
        assert!(parsed.body_html(0).expect("html").contains("<blockquote"));
    }

    #[test]
    fn no_recipient_is_refused() {
        let mut d = draft();
        d.to.clear();
        d.cc.clear();
        d.bcc.clear();
        let settings = settings();
        let from = From {
            shared_address: "support@acme.test",
            display_name: "Anna",
            settings: &settings,
        };
        let err = build(&d, &from, Path::new("/")).expect_err("refused");
        assert_eq!(err.code, ProblemCode::NoRecipients);
    }

    /// Property: whatever a member types into the subject, a name or the sender name
    /// (line breaks, colons, NUL, non-ASCII), the message has exactly the headers Baton
    /// writes, and the envelope exactly the recipients given. Addresses with line breaks
    /// are refused before anything is built.
    #[test]
    fn typed_text_cannot_add_headers_or_recipients() {
        let pieces = [
            "\r\n",
            "\n",
            "\r",
            "Bcc: evil@x.org",
            ":",
            "\0",
            "RCPT TO:<evil@x.org>",
            "é",
            "=?utf-8?q?x?=",
            " ",
            "\t",
            "\r\n.\r\n",
            "DATA",
            "\u{2028}",
            "\"",
            "<",
            ">",
            ",",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let random_text = |rng: &mut fastrand::Rng| -> String {
            (0..rng.usize(1..8))
                .map(|_| {
                    if rng.bool() {
                        pieces[rng.usize(..pieces.len())].to_owned()
                    } else {
                        rng.alphanumeric().to_string()
                    }
                })
                .collect()
        };
        for _ in 0..2000 {
            let mut d = draft();
            d.subject = random_text(&mut rng);
            let name = random_text(&mut rng);
            let sender_name = random_text(&mut rng);
            d.to = crate::compose::address::format_list(&[Correspondent {
                name: name.clone(),
                address: "jan@example.nl".into(),
            }]);
            d.cc.clear();
            d.bcc.clear();
            d.threading.thread_topic = Some(random_text(&mut rng));
            let settings = ComposeSettings {
                sender_name,
                ..ComposeSettings::default()
            };
            let from = From {
                shared_address: "support@acme.test",
                display_name: "Anna",
                settings: &settings,
            };
            match build(&d, &from, Path::new("/")) {
                Ok(out) => {
                    assert_eq!(out.recipients, ["jan@example.nl"]);
                    let names: Vec<String> =
                        headers(&out.bytes).into_iter().map(|(n, _)| n).collect();
                    let expected = [
                        "From",
                        "Subject",
                        "Message-ID",
                        "Date",
                        "User-Agent",
                        "To",
                        "In-Reply-To",
                        "References",
                        "Thread-Index",
                        "Thread-Topic",
                        "MIME-Version",
                        "Content-Type",
                    ];
                    for name in &names {
                        assert!(
                            expected.contains(&name.as_str()),
                            "extra header {name}: {d:?}"
                        );
                    }
                    assert_eq!(names.len(), expected.len(), "{names:?}");
                    let text = String::from_utf8_lossy(&out.bytes);
                    assert!(!text.contains("\nBcc:"), "{text}");
                    assert!(!text.contains("\nRCPT"), "{text}");
                }
                Err(problem) => assert_eq!(problem.code, ProblemCode::InvalidRecipient, "{d:?}"),
            }
        }
        for evil in [
            "jan@example.nl\r\nRCPT TO:<evil@x.org>",
            "jan@example.nl\nBcc: e@x.org",
        ] {
            let mut d = draft();
            d.to = evil.into();
            let settings = settings();
            let from = From {
                shared_address: "support@acme.test",
                display_name: "Anna",
                settings: &settings,
            };
            let err = build(&d, &from, Path::new("/")).expect_err(evil);
            assert_eq!(err.code, ProblemCode::InvalidRecipient);
        }
    }

    #[test]
    fn html_twin_nests_quotes_and_escapes() {
        let html = html_of("Hi <b>\n> q1\n>> q2\nend");
        assert!(html.contains("Hi &lt;b&gt;<br>"));
        assert_eq!(html.matches("<blockquote").count(), 2);
        assert_eq!(html.matches("</blockquote>").count(), 2);
    }
}
