//! Delivery-status notifications (RFC 3464, `multipart/report;
//! report-type=delivery-status`): who could not be reached, why, and which message came
//! back, so a bounce can be shown next to the reply it returns.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::guard;

/// What a delivery-status notification says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    pub recipients: Vec<DeliveryRecipient>,
    /// Message-ID of the returned message (without angle brackets), when it came back.
    pub original_message_id: Option<String>,
    pub original_subject: Option<String>,
}

/// One recipient's fate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryRecipient {
    /// The address, without the "rfc822;" type.
    pub final_recipient: String,
    /// "failed", "delayed", "delivered", "relayed" or "expanded".
    pub action: String,
    /// The status code, for example "5.1.1".
    pub status: String,
    /// What the receiving server said, without the "smtp;" type.
    pub diagnostic: Option<String>,
}

impl DeliveryRecipient {
    /// Whether this recipient will not get the message.
    pub fn failed(&self) -> bool {
        self.action.eq_ignore_ascii_case("failed") || self.status.starts_with('5')
    }
}

/// Reads a delivery-status notification. None when the message is not one.
pub fn delivery_report(raw: &[u8]) -> Option<DeliveryReport> {
    let prepared = guard::prepare(raw);
    let parsed = guard::parse(&prepared)?;
    from_message(parsed.message())
}

pub(crate) fn from_message(message: &Message<'_>) -> Option<DeliveryReport> {
    let status_part = message.parts.iter().find(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status")
                        || s.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    })?;
    let mut report = DeliveryReport {
        recipients: parse_status(status_part.contents()),
        ..DeliveryReport::default()
    };
    for part in &message.parts {
        match &part.body {
            PartType::Message(original) => {
                report.original_message_id = original.message_id().map(str::to_owned);
                report.original_subject = original.subject().map(str::to_owned);
                break;
            }
            _ if part.is_content_type("text", "rfc822-headers")
                || guard::is_relabelled_message(part) =>
            {
                if let Some(headers) = MessageParser::default().parse_headers(part.contents()) {
                    report.original_message_id = headers.message_id().map(str::to_owned);
                    report.original_subject = headers.subject().map(str::to_owned);
                }
                break;
            }
            _ => {}
        }
    }
    Some(report)
}

/// Splits the delivery-status body into its blank-line-separated field groups (the first
/// is per message, the rest per recipient) and reads each recipient group.
fn parse_status(body: &[u8]) -> Vec<DeliveryRecipient> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    let mut recipients = Vec::new();
    for group in text.split("\n\n") {
        let fields = unfold_fields(group);
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let Some(recipient) = get("Final-Recipient").or_else(|| get("Original-Recipient")) else {
            continue;
        };
        recipients.push(DeliveryRecipient {
            final_recipient: strip_type(&recipient),
            action: get("Action").unwrap_or_default().to_ascii_lowercase(),
            status: get("Status")
                .map(|s| s.split_whitespace().next().unwrap_or("").to_owned())
                .unwrap_or_default(),
            diagnostic: get("Diagnostic-Code").map(|d| strip_type(&d)),
        });
    }
    recipients
}

fn unfold_fields(group: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in group.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

/// "rfc822; jan@example.nl" → "jan@example.nl".
fn strip_type(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && kind.len() < 16 => rest.trim().to_owned(),
        _ => value.trim().to_owned(),
    }
}

/// A sentence per recipient, for a bounce without a human-readable part.
pub(crate) fn summary(report: &DeliveryReport) -> String {
    let mut lines = Vec::new();
    for r in &report.recipients {
        let what = if r.failed() {
            "could not be delivered to"
        } else {
            "is delayed for"
        };
        let mut line = format!("The message {what} {}", r.final_recipient);
        if !r.status.is_empty() {
            line.push_str(&format!(" (status {})", r.status));
        }
        if let Some(d) = &r.diagnostic {
            line.push_str(&format!(": {d}"));
        }
        line.push('.');
        lines.push(line);
    }
    lines.join("\n")
}

/// Whether the message is a delivery-status notification.
pub(crate) fn is_delivery_report(message: &Message<'_>) -> bool {
    message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNCE: &str = "From: MAILER-DAEMON@mail.brightdesk.example\r\n\
To: support@brightdesk.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mail.brightdesk.example\r\n\
\r\n\
Final-Recipient: rfc822; jan@example.nl\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <jan@example.nl>: Recipient address\r\n\
\x20rejected: User unknown\r\n\
\r\n\
--B\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: support@brightdesk.example\r\n\
Subject: Re: Order 1234\r\n\
Message-ID: <reply-1@brightdesk.example>\r\n\
\r\n\
Hello\r\n\
--B--\r\n";

    #[test]
    fn reads_recipients_and_original() {
        let report = delivery_report(BOUNCE.as_bytes()).expect("a report");
        assert_eq!(
            report.recipients,
            vec![DeliveryRecipient {
                final_recipient: "jan@example.nl".into(),
                action: "failed".into(),
                status: "5.1.1".into(),
                diagnostic: Some(
                    "550 5.1.1 <jan@example.nl>: Recipient address rejected: User unknown".into()
                ),
            }]
        );
        assert!(report.recipients[0].failed());
        assert_eq!(
            report.original_message_id.as_deref(),
            Some("reply-1@brightdesk.example")
        );
        assert_eq!(report.original_subject.as_deref(), Some("Re: Order 1234"));
        assert!(summary(&report).starts_with(
            "The message could not be delivered to jan@example.nl (status 5.1.1): 550"
        ));
    }

    #[test]
    fn ordinary_mail_is_not_a_report() {
        assert_eq!(
            delivery_report(b"From: a@b.c\r\nSubject: x\r\n\r\nhi\r\n"),
            None
        );
    }
}
