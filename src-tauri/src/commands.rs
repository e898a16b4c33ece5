//! The Tauri commands: each takes the engine from state and delegates. Errors cross as
//! `Problem` (a stable code the UI translates).

use std::path::Path;
use std::time::Instant;

use baton::Engine;
use baton::account::AccountSettings;
use baton::compose::{
    ComposeSettings, Draft, DraftEdit, DraftKind, GuardFinding, GuardReport, Template,
};
use baton::connectivity::Connectivity;
use baton::conversation::{
    ConversationDetail, ConversationId, ConversationPage, MessageKey, TeamAction, View,
};
use baton::engine::ActivityItem;
use baton::mime::MessageBody;
use baton::notes::watch::NotificationSettings;
use baton::notes::{Mention, Note};
use baton::outbox::OutboxItem;
use baton::outbox::{SendOptions, SendOutcome};
use baton::problem::{Problem, ProblemCode};
use baton::profile::SetupState;
use baton::team::{Activity, HostSettings, Presence, TeamInvite, TeamOverview, TeamServerSettings};
use tauri::{AppHandle, Runtime, State, Window};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::file_drop::{self, LastDrop};

type Result<T> = std::result::Result<T, Problem>;

#[tauri::command]
pub fn get_setup(engine: State<'_, Engine>) -> Result<SetupState> {
    engine.setup_state()
}

#[tauri::command]
pub async fn save_account(
    engine: State<'_, Engine>,
    settings: AccountSettings,
    password: String,
) -> Result<()> {
    engine.configure(settings, password).await
}

#[tauri::command]
pub fn get_connectivity(engine: State<'_, Engine>) -> Connectivity {
    engine.connectivity()
}

#[tauri::command]
pub fn retry_now(engine: State<'_, Engine>) {
    engine.retry_now();
}

#[tauri::command]
pub fn list_conversations(
    engine: State<'_, Engine>,
    view: View,
    offset: u32,
    limit: u32,
) -> ConversationPage {
    engine.list_conversations(view, offset, limit)
}

/// Claim, release, hand over or change status; a colleague's claim comes back as a
/// `claim_conflict` problem naming them.
#[tauri::command]
pub async fn act_on_conversation(
    engine: State<'_, Engine>,
    id: ConversationId,
    action: TeamAction,
) -> Result<()> {
    engine.act(id, action).await
}

#[tauri::command]
pub fn get_team(engine: State<'_, Engine>) -> TeamOverview {
    engine.team()
}

#[tauri::command]
pub fn get_presence(engine: State<'_, Engine>, id: ConversationId) -> Vec<Presence> {
    engine.presence(id)
}

#[tauri::command]
pub async fn report_activity(
    engine: State<'_, Engine>,
    id: ConversationId,
    activity: Option<Activity>,
) -> Result<()> {
    engine.report_activity(id, activity).await;
    Ok(())
}

#[tauri::command]
pub async fn host_team_server(
    engine: State<'_, Engine>,
    host: HostSettings,
) -> Result<TeamServerSettings> {
    engine.host_team_server(host).await
}

#[tauri::command]
pub async fn stop_hosting(engine: State<'_, Engine>) -> Result<()> {
    engine.stop_hosting().await
}

#[tauri::command]
pub async fn invite_colleague(engine: State<'_, Engine>, member: String) -> Result<TeamInvite> {
    engine.invite_colleague(&member).await
}

#[tauri::command]
pub async fn join_team_server(engine: State<'_, Engine>, invite: TeamInvite) -> Result<()> {
    engine.join_team_server(invite).await
}

#[tauri::command]
pub async fn leave_team_server(engine: State<'_, Engine>) -> Result<()> {
    engine.leave_team_server().await
}

#[tauri::command]
pub async fn get_conversation(
    engine: State<'_, Engine>,
    id: ConversationId,
) -> Result<ConversationDetail> {
    engine.conversation(id).await
}

#[tauri::command]
pub async fn get_message_body(
    engine: State<'_, Engine>,
    key: MessageKey,
    allow_remote_images: bool,
) -> Result<MessageBody> {
    engine.message_body(key, allow_remote_images).await
}

/// Asks where to save (the native dialog), then saves. `None` when the user cancelled.
#[tauri::command]
pub async fn save_attachment<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
    key: MessageKey,
    index: u32,
) -> Result<Option<String>> {
    let info = engine.attachment_info(key.clone(), index).await?;
    let dialog = app.dialog().file().set_file_name(&info.filename);
    let chosen = tokio::task::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .map_err(|e| {
            Problem::new(ProblemCode::FileFailed, "the save dialog failed")
                .with_detail(e.to_string())
        })?;
    let Some(path) = chosen.and_then(|p| p.into_path().ok()) else {
        return Ok(None);
    };
    engine.save_attachment(key, index, &path).await?;
    Ok(Some(path.display().to_string()))
}

/// Opens a link from a mail in the system browser. Only web and mail links: anything
/// else (file:, javascript:, custom schemes) is refused.
#[tauri::command]
pub fn open_link<R: Runtime>(app: AppHandle<R>, url: String) -> Result<()> {
    let Some(url) = openable(&url) else {
        return Err(Problem::new(
            ProblemCode::LinkRefused,
            "only web and e-mail links can be opened",
        ));
    };
    app.opener().open_url(url, None::<&str>).map_err(|e| {
        Problem::new(ProblemCode::LinkRefused, "the link could not be opened")
            .with_detail(e.to_string())
    })
}

/// The link as the system's opener gets it, when it may be opened at all: web and
/// e-mail links only (a message's `file:`, `javascript:`, `smb:` or app-scheme link would
/// run or reach something on this computer), with no control characters (a line break
/// could smuggle a second argument to the opener).
fn openable(url: &str) -> Option<&str> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let scheme_ok = ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
    (scheme_ok && !url.chars().any(char::is_control)).then_some(url)
}

// Writing and sending.

#[tauri::command]
pub fn get_compose_settings(engine: State<'_, Engine>) -> Result<ComposeSettings> {
    engine.compose_settings()
}

#[tauri::command]
pub fn save_compose_settings(engine: State<'_, Engine>, settings: ComposeSettings) -> Result<()> {
    engine.save_compose_settings(settings)
}

/// A new draft; `lang` is the window's language for the quote's attribution line.
#[tauri::command]
pub async fn start_draft(
    engine: State<'_, Engine>,
    kind: DraftKind,
    conversation: Option<ConversationId>,
    source: Option<MessageKey>,
    lang: String,
) -> Result<Draft> {
    engine.start_draft(kind, conversation, source, &lang).await
}

#[tauri::command]
pub async fn save_draft(engine: State<'_, Engine>, edit: DraftEdit) -> Result<Draft> {
    engine.save_draft(edit).await
}

#[tauri::command]
pub fn list_drafts(engine: State<'_, Engine>) -> Vec<Draft> {
    engine.drafts_list()
}

#[tauri::command]
pub async fn discard_draft(engine: State<'_, Engine>, id: String) -> Result<()> {
    engine.discard_draft(&id).await
}

/// Asks for files (the native dialog) and attaches them. The draft as it is after.
#[tauri::command]
pub async fn attach_files<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
    id: String,
) -> Result<Draft> {
    let dialog = app.dialog().file();
    let chosen = tokio::task::spawn_blocking(move || dialog.blocking_pick_files())
        .await
        .map_err(|e| {
            Problem::new(ProblemCode::FileFailed, "the file dialog failed")
                .with_detail(e.to_string())
        })?
        .unwrap_or_default();
    let mut draft = engine.draft(&id)?;
    for file in chosen {
        if let Ok(path) = file.into_path() {
            draft = engine.attach_file(&id, &path).await?;
        }
    }
    Ok(draft)
}

/// Attaches what the operating system just dropped on the calling window (see `file_drop`):
/// the webview asks, the paths come from the shell's own record of the drop, which is
/// used once and only within 30 seconds. Folders are skipped (the UI, which saw the same
/// drop, names them). The draft as it is after.
#[tauri::command]
pub async fn attach_dropped<R: Runtime>(
    window: Window<R>,
    engine: State<'_, Engine>,
    last_drop: State<'_, LastDrop>,
    id: String,
) -> Result<Draft> {
    let usable = file_drop::usable(
        last_drop.take(),
        window.label(),
        Instant::now(),
        Path::is_dir,
    )
    .ok_or_else(|| {
        Problem::new(
            ProblemCode::NotFound,
            "nothing was dropped on the window in the last 30 seconds",
        )
    })?;
    if !usable.folders.is_empty() {
        tracing::info!(
            folders = usable.folders.len(),
            "dropped folders not attached"
        );
    }
    let mut draft = engine.draft(&id)?;
    for path in &usable.files {
        draft = engine.attach_file(&id, path).await?;
    }
    Ok(draft)
}

#[tauri::command]
pub fn detach_file(engine: State<'_, Engine>, id: String, attachment: String) -> Result<Draft> {
    engine.detach_file(&id, &attachment)
}

/// The duplicate-reply guard; `live` reads the mailbox again first.
#[tauri::command]
pub async fn check_draft(engine: State<'_, Engine>, id: String, live: bool) -> Result<GuardReport> {
    engine.check_draft(&id, live).await
}

#[tauri::command]
pub async fn send_draft(
    engine: State<'_, Engine>,
    id: String,
    options: SendOptions,
) -> Result<SendOutcome> {
    engine.send_draft(&id, options).await
}

#[tauri::command]
pub async fn undo_send(engine: State<'_, Engine>, id: String) -> Result<Draft> {
    engine.undo_send(&id).await
}

#[tauri::command]
pub fn list_outbox(engine: State<'_, Engine>) -> Vec<OutboxItem> {
    engine.outbox_items()
}

#[tauri::command]
pub fn send_again(engine: State<'_, Engine>, id: String) -> Result<OutboxItem> {
    engine.send_again(&id)
}

#[tauri::command]
pub fn mark_sent(engine: State<'_, Engine>, id: String) -> Result<OutboxItem> {
    engine.mark_sent(&id)
}

#[tauri::command]
pub async fn recheck_sent(engine: State<'_, Engine>, id: String) -> Result<OutboxItem> {
    engine.recheck_sent(&id).await
}

#[tauri::command]
pub async fn discard_outbox(engine: State<'_, Engine>, id: String) -> Result<()> {
    engine.discard_outbox(&id).await
}

/// Sends a held message anyway, having seen exactly `despite`.
#[tauri::command]
pub async fn send_held(
    engine: State<'_, Engine>,
    id: String,
    despite: Vec<GuardFinding>,
) -> Result<OutboxItem> {
    engine.send_held(&id, despite).await
}

#[tauri::command]
pub async fn list_templates(engine: State<'_, Engine>) -> Result<Vec<Template>> {
    engine.templates().await
}

#[tauri::command]
pub async fn save_template(engine: State<'_, Engine>, template: Template) -> Result<Template> {
    engine.save_template(template).await
}

#[tauri::command]
pub async fn delete_template(engine: State<'_, Engine>, id: String) -> Result<()> {
    engine.delete_template(&id).await
}

#[tauri::command]
pub async fn fill_template(
    engine: State<'_, Engine>,
    draft: String,
    template: String,
) -> Result<String> {
    engine.fill_template(&draft, &template).await
}

// Notes, mentions, history and notifications.

#[tauri::command]
pub async fn list_notes(engine: State<'_, Engine>, id: ConversationId) -> Result<Vec<Note>> {
    Ok(engine.notes(id).await)
}

#[tauri::command]
pub async fn add_note(engine: State<'_, Engine>, id: ConversationId, text: String) -> Result<Note> {
    engine.add_note(id, &text).await
}

#[tauri::command]
pub async fn edit_note(engine: State<'_, Engine>, note: String, text: String) -> Result<Note> {
    engine.edit_note(&note, &text).await
}

#[tauri::command]
pub async fn delete_note(engine: State<'_, Engine>, note: String) -> Result<Note> {
    engine.delete_note(&note).await
}

#[tauri::command]
pub async fn list_mentions(engine: State<'_, Engine>) -> Result<Vec<Mention>> {
    Ok(engine.mentions().await)
}

#[tauri::command]
pub fn mentions_seen(engine: State<'_, Engine>) {
    engine.mentions_seen();
}

#[tauri::command]
pub async fn get_activity(
    engine: State<'_, Engine>,
    id: ConversationId,
) -> Result<Vec<ActivityItem>> {
    Ok(engine.activity(id).await)
}

#[tauri::command]
pub fn get_notification_settings(engine: State<'_, Engine>) -> Result<NotificationSettings> {
    engine.notification_settings()
}

#[tauri::command]
pub fn save_notification_settings(
    engine: State<'_, Engine>,
    settings: NotificationSettings,
) -> Result<()> {
    engine.save_notification_settings(settings)
}

#[cfg(test)]
mod tests {
    use super::openable;

    #[test]
    fn only_web_and_mail_links_are_opened() {
        for ok in [
            "https://example.com/track?id=1",
            "HTTP://EXAMPLE.COM",
            "  https://example.com/  ",
            "mailto:jan@customer.example?subject=Hi",
        ] {
            assert_eq!(openable(ok), Some(ok.trim()), "{ok:?}");
        }
        for refused in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "smb://server/share",
            "ms-settings:privacy",
            "//evil.example/",
            "https://",
            "mailto:",
            "https://example.com/\nsecond-argument",
            "https://example.com/\u{0}",
            "",
            " ",
        ] {
            assert_eq!(openable(refused), None, "{refused:?}");
        }
    }
}
