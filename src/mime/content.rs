//! What the reading pane shows of a message: the types the MIME rules produce and the
//! window receives.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::conversation::MessageKey;
use crate::problem::Problem;

/// A message's content, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageContent {
    /// The HTML part, sanitized with an allow-list, as a complete document for a
    /// sandboxed frame with a no-script, no-network policy.
    pub html: Option<SafeHtml>,
    /// The plain-text part (or text derived from the HTML when there is none), split into
    /// blocks so quotes can be folded.
    pub text: Vec<TextBlock>,
    pub attachments: Vec<AttachmentInfo>,
    /// Set when the message could only be read in part (bad charset, broken MIME
    /// structure); what could be read is still shown.
    pub problem: Option<Problem>,
}

/// Sanitized HTML. Remote images are left out unless they were allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SafeHtml {
    pub document: String,
    /// How many remote images were blocked; the reading pane offers "load images" when
    /// this is not zero.
    pub blocked_remote_images: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TextBlockKind {
    /// The writer's own words.
    Body,
    /// Quoted text (`> ` lines, or "On … wrote:" followed by the quote).
    Quote,
    /// A signature after the `-- ` separator.
    Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TextBlock {
    pub kind: TextBlockKind,
    /// Nesting depth of a quote (1 for `> `, 2 for `> > `); 0 for body and signature.
    pub depth: u8,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AttachmentInfo {
    /// Position among the message's attachments, used to save it.
    pub index: u32,
    pub filename: String,
    pub mime_type: String,
    #[ts(type = "number")]
    pub size: u64,
    /// Shown inside the HTML (a `cid:` image) rather than listed as a file.
    pub inline: bool,
}

/// A message body as the reading pane receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageBody {
    pub key: MessageKey,
    pub content: MessageContent,
}
