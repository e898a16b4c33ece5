//! Turning a raw message (RFC 5322 bytes, as the server stores it) into what the reading
//! pane shows. Pure functions of the bytes: no network, no cache, tested with `.eml`
//! fixtures under `tests/fixtures/`.

mod attachments;
mod content;
mod css;
mod decode;
mod guard;
mod html;
mod ingest;
mod layout;
mod names;
mod preview;
pub mod report;
mod text;

pub use content::{
    AttachmentInfo, MessageBody, MessageContent, SafeHtml, TextBlock, TextBlockKind,
};
pub use ingest::{IngestOptions, attachment, ingest};
pub use preview::preview;
pub use report::{DeliveryRecipient, DeliveryReport, delivery_report};
pub use text::text_blocks;
