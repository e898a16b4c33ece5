//! Canned replies and the mailbox's signature, shared by the whole team. They live in
//! the mailbox itself, one small message each in the folder `Baton/Templates`, so every
//! member on every computer has the same ones without any server.

use std::collections::HashMap;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use mail_parser::MessageParser;

use super::build::one_line;
use super::{Template, TemplateKind};
use crate::conversation::Correspondent;
use crate::problem::{Problem, ProblemCode, Result};

pub const FOLDER: &str = "Baton/Templates";
const KIND_HEADER: &str = "X-Baton-Template";
const ID_HEADER: &str = "X-Baton-Template-Id";
/// Templates are short texts; anything bigger is not one of ours.
pub const MAX_TEMPLATE: usize = 64 * 1024;

/// What the placeholders stand for in one draft.
pub struct Placeholders<'a> {
    pub customer: Option<&'a Correspondent>,
    pub me: &'a str,
    pub subject: &'a str,
}

/// Fills `{customer}`, `{customer_first}`, `{me}` and `{subject}`; unknown braces stay.
pub fn fill(body: &str, values: &Placeholders<'_>) -> String {
    let customer = values
        .customer
        .map(|c| {
            if c.name.is_empty() {
                c.address.clone()
            } else {
                c.name.clone()
            }
        })
        .unwrap_or_default();
    let first = values
        .customer
        .filter(|c| !c.name.is_empty())
        .and_then(|c| c.name.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    body.replace("{customer_first}", &first)
        .replace("{customer}", &customer)
        .replace("{me}", values.me)
        .replace("{subject}", values.subject)
}

/// The message that stores a template in the folder.
pub fn to_message(template: &Template, shared_address: &str) -> Result<Vec<u8>> {
    if template.body.len() > MAX_TEMPLATE {
        return Err(Problem::new(
            ProblemCode::MessageTooLarge,
            "the template is too long",
        ));
    }
    let kind = match template.kind {
        TemplateKind::CannedReply => "canned_reply",
        TemplateKind::MailboxSignature => "mailbox_signature",
    };
    let from: lettre::Address = shared_address.parse().map_err(|_| {
        Problem::new(
            ProblemCode::InvalidSettings,
            "the shared address is not valid",
        )
    })?;
    let message = lettre::Message::builder()
        .from(lettre::message::Mailbox::new(None, from.clone()))
        .to(lettre::message::Mailbox::new(None, from))
        .subject(one_line(&template.name))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(KIND_HEADER),
            kind.to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(ID_HEADER),
            checked_template_id(&template.id)?.to_owned(),
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(template.body.replace("\r\n", "\n"))
        .map_err(|e| {
            Problem::new(
                ProblemCode::InvalidSettings,
                "the template could not be stored",
            )
            .with_detail(e.to_string())
        })?;
    Ok(message.formatted())
}

/// A stored template, or `None` when the message is not one (or is damaged).
pub fn from_message(raw: &[u8]) -> Option<Template> {
    if raw.len() > MAX_TEMPLATE * 2 {
        return None;
    }
    let message = MessageParser::default().parse(raw)?;
    let kind = match message.header_raw(KIND_HEADER)?.trim() {
        "canned_reply" => TemplateKind::CannedReply,
        "mailbox_signature" => TemplateKind::MailboxSignature,
        _ => return None,
    };
    let id = message.header_raw(ID_HEADER)?.trim();
    checked_template_id(id).ok()?;
    Some(Template {
        id: id.to_owned(),
        kind,
        name: one_line(message.subject().unwrap_or_default()),
        body: message
            .body_text(0)
            .map(|b| b.replace("\r\n", "\n").trim_end().to_owned())
            .unwrap_or_default(),
    })
}

/// The templates from the folder's messages (UID order): a later version of the same
/// template replaces an earlier one.
pub fn latest(messages: Vec<(u32, Template)>) -> Vec<Template> {
    let mut by_id: HashMap<String, (u32, Template)> = HashMap::new();
    for (uid, template) in messages {
        let newer = by_id.get(&template.id).is_none_or(|(old, _)| uid > *old);
        if newer {
            by_id.insert(template.id.clone(), (uid, template));
        }
    }
    let mut templates: Vec<Template> = by_id.into_values().map(|(_, t)| t).collect();
    templates.sort_by_key(|t| t.name.to_lowercase());
    templates
}

fn checked_template_id(id: &str) -> Result<&str> {
    if id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(Problem::new(ProblemCode::NotFound, "no such template"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let jan = Correspondent {
            name: "Jan de Vries".into(),
            address: "jan@x.nl".into(),
        };
        let values = Placeholders {
            customer: Some(&jan),
            me: "Anna",
            subject: "Order 12",
        };
        assert_eq!(
            fill(
                "Dear {customer_first} ({customer}), re {subject}. {me} {other}",
                &values
            ),
            "Dear Jan (Jan de Vries), re Order 12. Anna {other}"
        );
        let nameless = Correspondent {
            name: String::new(),
            address: "jan@x.nl".into(),
        };
        let values = Placeholders {
            customer: Some(&nameless),
            ..values
        };
        assert_eq!(
            fill("Hi {customer_first}, {customer}", &values),
            "Hi , jan@x.nl"
        );
    }

    #[test]
    fn template_messages_round_trip_and_later_versions_win() {
        let t = Template {
            id: "00112233aabbccdd".into(),
            kind: TemplateKind::CannedReply,
            name: "Levertijd\r\nBcc: x@y.z".into(),
            body: "Beste {customer_first},\n\nUw bestelling komt morgen. é".into(),
        };
        let raw = to_message(&t, "support@acme.test").expect("message");
        let back = from_message(&raw).expect("template");
        assert_eq!(back.name, "Levertijd Bcc: x@y.z");
        assert_eq!(back.body, t.body);
        assert_eq!(back.kind, TemplateKind::CannedReply);
        let newer = Template {
            body: "v2".into(),
            ..back.clone()
        };
        let all = latest(vec![(5, newer.clone()), (3, back)]);
        assert_eq!(all, vec![newer]);
        assert!(from_message(b"Subject: not a template\r\n\r\nhi").is_none());
        let bad = Template {
            id: "../x".into(),
            ..t
        };
        assert!(to_message(&bad, "support@acme.test").is_err());
    }
}
