//! The TypeScript twins of every type that crosses the IPC boundary, generated from the
//! Rust definitions into one file that the UI imports. The file is committed; a test
//! fails when it no longer matches (run `scripts/bindings.sh` to regenerate).

use ts_rs::{Config, TS};

use crate::account::{AccountSettings, Security, ServerEndpoint};
use crate::compose::{
    ComposeSettings, Draft, DraftAttachment, DraftEdit, DraftKind, GuardFinding, GuardReport,
    Template, TemplateKind,
};
use crate::connectivity::{Connectivity, SyncProgress};
use crate::contract::Status;
use crate::conversation::{
    ConversationDetail, ConversationId, ConversationPage, ConversationSummary, Correspondent,
    FolderRole, MessageKey, MessageSummary, TeamAction, View,
};
use crate::engine::ActivityItem;
use crate::events::EngineEvent;
use crate::mime::{
    AttachmentInfo, MessageBody, MessageContent, SafeHtml, TextBlock, TextBlockKind,
};
use crate::notes::watch::{Notification, NotificationKind, NotificationSettings, TeamChange};
use crate::notes::{Mention, Note, NoteVersion};
use crate::outbox::{OutboxItem, OutboxStatus, SendFailure, SendFailureKind};
use crate::outbox::{SendOptions, SendOutcome};
use crate::problem::{Problem, ProblemCode};
use crate::profile::{RecoveredAccount, SetupState};
use crate::team::{
    Activity, HostSettings, Presence, PresenceOn, TeamInvite, TeamOverview, TeamServerSettings,
    TeamServerState, TeamStateHome,
};

/// Where the UI keeps the generated file, relative to the workspace root.
pub const BINDINGS_PATH: &str = "ui/src/lib/bindings.ts";

/// The whole generated file.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls: Vec<String> = [
        ProblemCode::decl,
        Problem::decl,
        Security::decl,
        ServerEndpoint::decl,
        AccountSettings::decl,
        SetupState::decl,
        RecoveredAccount::decl,
        Connectivity::decl,
        SyncProgress::decl,
        ConversationId::decl,
        MessageKey::decl,
        Status::decl,
        TeamAction::decl,
        View::decl,
        FolderRole::decl,
        Correspondent::decl,
        ConversationSummary::decl,
        ConversationPage::decl,
        MessageSummary::decl,
        ConversationDetail::decl,
        SafeHtml::decl,
        TextBlockKind::decl,
        TextBlock::decl,
        AttachmentInfo::decl,
        MessageContent::decl,
        MessageBody::decl,
        TeamServerState::decl,
        TeamStateHome::decl,
        Activity::decl,
        Presence::decl,
        TeamOverview::decl,
        PresenceOn::decl,
        TeamServerSettings::decl,
        HostSettings::decl,
        TeamInvite::decl,
        DraftKind::decl,
        DraftAttachment::decl,
        Draft::decl,
        DraftEdit::decl,
        ComposeSettings::decl,
        TemplateKind::decl,
        Template::decl,
        GuardFinding::decl,
        GuardReport::decl,
        SendOptions::decl,
        SendFailureKind::decl,
        SendFailure::decl,
        OutboxStatus::decl,
        OutboxItem::decl,
        SendOutcome::decl,
        NoteVersion::decl,
        Note::decl,
        Mention::decl,
        TeamChange::decl,
        ActivityItem::decl,
        NotificationKind::decl,
        Notification::decl,
        NotificationSettings::decl,
        EngineEvent::decl,
    ]
    .iter()
    .map(|decl| format!("export {}\n", decl(&cfg)))
    .collect();
    format!(
        "// Generated from the Rust types by `scripts/bindings.sh`. Do not edit.\n\n{}",
        decls.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn committed_bindings_match_the_rust_types() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(super::BINDINGS_PATH);
        let expected = super::typescript();
        if std::env::var_os("BATON_WRITE_BINDINGS").is_some() {
            std::fs::write(&path, &expected).expect("write bindings");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} is out of date: run scripts/bindings.sh and commit the result",
            super::BINDINGS_PATH
        );
    }
}
