//! One version of a note as a message in `Baton/Notes`, and back. The message is never
//! sent anywhere: it is APPENDed to the hidden folder only.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use mail_parser::MessageParser;

use super::MAX_NOTE;
use crate::compose::build::{checked_id, one_line};
use crate::problem::{Problem, ProblemCode, Result};

const FOR: &str = "X-Baton-Note-For";
const AUTHOR: &str = "X-Baton-Author";
const ID: &str = "X-Baton-Note-Id";
const ACTION: &str = "X-Baton-Note-Action";
const AT: &str = "X-Baton-Note-At";

/// What a version does to its note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    Add,
    Edit,
    Delete,
}

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoteMessage {
    pub id: String,
    pub about: String,
    pub author: String,
    pub action: Action,
    /// Milliseconds since the epoch, as the author's clock said.
    pub at: i64,
    pub text: String,
}

impl NoteMessage {
    pub fn to_message(&self, shared_address: &str, subject: &str) -> Result<Vec<u8>> {
        if self.text.len() > MAX_NOTE {
            return Err(Problem::new(
                ProblemCode::MessageTooLarge,
                "the note is too long",
            ));
        }
        crate::account::validate_member_id(&self.author)?;
        check_note_id(&self.id)?;
        let about = checked_id(&self.about)?;
        let action = match self.action {
            Action::Add => "add",
            Action::Edit => "edit",
            Action::Delete => "delete",
        };
        let address: lettre::Address = shared_address.parse().map_err(|_| {
            Problem::new(
                ProblemCode::InvalidSettings,
                "the shared address is not valid",
            )
        })?;
        let mailbox = lettre::message::Mailbox::new(None, address);
        let header = |name: &'static str, value: String| {
            HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
        };
        let message = lettre::Message::builder()
            .from(mailbox.clone())
            .to(mailbox)
            .subject(one_line(&format!("Note: {subject}")))
            .date_now()
            .raw_header(header(FOR, format!("<{about}>")))
            .raw_header(header(AUTHOR, self.author.clone()))
            .raw_header(header(ID, self.id.clone()))
            .raw_header(header(ACTION, action.to_owned()))
            .raw_header(header(AT, self.at.to_string()))
            .header(ContentType::TEXT_PLAIN)
            .body(self.text.replace("\r\n", "\n"))
            .map_err(|e| {
                Problem::new(ProblemCode::InvalidSettings, "the note could not be stored")
                    .with_detail(e.to_string())
            })?;
        Ok(message.formatted())
    }

    /// A stored version, or `None` when the message is not one (or is damaged): a
    /// hostile or broken message in the folder costs only itself.
    pub fn from_message(raw: &[u8]) -> Option<NoteMessage> {
        if raw.len() > MAX_NOTE * 4 {
            return None;
        }
        let message = MessageParser::default().parse(raw)?;
        let text_of = |name: &'static str| message.header_raw(name).map(str::trim);
        let about = text_of(FOR)?
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned();
        checked_id(&about).ok()?;
        let author = text_of(AUTHOR)?.to_owned();
        crate::account::validate_member_id(&author).ok()?;
        let id = text_of(ID)?.to_owned();
        check_note_id(&id).ok()?;
        let action = match text_of(ACTION)? {
            "add" => Action::Add,
            "edit" => Action::Edit,
            "delete" => Action::Delete,
            _ => return None,
        };
        let at = text_of(AT)?.parse().ok()?;
        let text = message
            .body_text(0)
            .map(|b| b.replace("\r\n", "\n").trim_end().to_owned())
            .unwrap_or_default();
        Some(NoteMessage {
            id,
            about,
            author,
            action,
            at,
            text,
        })
    }
}

fn check_note_id(id: &str) -> Result<()> {
    if id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Problem::new(ProblemCode::NotFound, "no such note"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_round_trips_and_strangers_are_ignored() {
        let note = NoteMessage {
            id: "0123456789abcdef".into(),
            about: "q1@customer.example".into(),
            author: "anna".into(),
            action: Action::Add,
            at: 1_795_000_000_000,
            text: "@bram please check the *invoice*: https://x.test/1\n<script>alert(1)</script> é"
                .into(),
        };
        let raw = note
            .to_message("support@acme.test", "Refund\r\nBcc: x@y.z")
            .expect("message");
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("X-Baton-Note-For: <q1@customer.example>"));
        assert!(text.contains("X-Baton-Author: anna"));
        assert!(!text.contains("\nBcc:"));
        assert_eq!(NoteMessage::from_message(&raw), Some(note.clone()));
        assert!(NoteMessage::from_message(b"Subject: hi\r\n\r\nnot a note").is_none());
        let forged = String::from_utf8_lossy(&raw)
            .replace("X-Baton-Author: anna", "X-Baton-Author: Not Valid");
        assert!(NoteMessage::from_message(forged.as_bytes()).is_none());
        let bad = NoteMessage {
            author: "anna\r\nX: y".into(),
            ..note
        };
        assert!(bad.to_message("support@acme.test", "x").is_err());
    }
}
