//! TEMPORARY until src/mime lands: minimal stand-ins so the engine compiles. Not committed.
use crate::mime::{AttachmentInfo, MessageContent, TextBlock, TextBlockKind};
use crate::problem::{Problem, ProblemCode};
pub struct IngestOptions {
    pub allow_remote_images: bool,
}
pub fn ingest(raw: &[u8], _o: &IngestOptions) -> MessageContent {
    let m = mail_parser::MessageParser::new().parse(raw);
    let text = m
        .as_ref()
        .and_then(|m| m.body_text(0))
        .map(|t| t.to_string())
        .unwrap_or_default();
    MessageContent {
        html: None,
        text: vec![TextBlock {
            kind: TextBlockKind::Body,
            depth: 0,
            text,
        }],
        attachments: vec![],
        problem: None,
    }
}
pub fn preview(raw: &[u8], max: usize) -> String {
    let m = mail_parser::MessageParser::new().parse(raw);
    m.as_ref()
        .and_then(|m| m.body_text(0))
        .map(|t| t.chars().take(max).collect())
        .unwrap_or_default()
}
pub fn attachment(_raw: &[u8], _i: u32) -> Result<(AttachmentInfo, Vec<u8>), Problem> {
    Err(Problem::new(ProblemCode::NotFound, "pending"))
}
