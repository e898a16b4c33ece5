// Generated from the Rust types by `scripts/bindings.sh`. Do not edit.

export type ProblemCode = "auth_failed" | "unreachable" | "timeout" | "tls_failed" | "start_tls_unavailable" | "protocol_error" | "server_unsupported" | "server_refused" | "connection_lost" | "invalid_settings" | "password_missing" | "credential_store_failed" | "message_unreadable" | "message_too_large" | "message_gone" | "cache_failed" | "file_failed" | "not_found" | "shutting_down" | "link_refused" | "claim_conflict" | "not_holder" | "invalid_member" | "team_state_unavailable" | "invalid_recipient" | "no_recipients" | "too_late_to_undo";

export type Problem = { code: ProblemCode, 
/**
 * English, for logs and as a fallback; the UI shows its own text for `code`.
 */
message: string, 
/**
 * What the server or the operating system said, when there is something, shown
 * under "details".
 */
detail: string | null, 
/**
 * The colleague a claim conflict is about.
 */
holder: string | null, 
/**
 * Since when `holder` holds the conversation (milliseconds since the epoch), when
 * known.
 */
held_since: number | null, };

export type Security = "tls" | "start_tls";

export type ServerEndpoint = { host: string, port: number, security: Security, };

export type AccountSettings = { 
/**
 * This member's id in the team: `[a-z0-9][a-z0-9._-]{0,31}`. It becomes part of IMAP
 * keywords, so it is validated strictly.
 */
member_id: string, 
/**
 * This member's name as colleagues see it.
 */
display_name: string, 
/**
 * The shared address, for example `support@example.com`.
 */
shared_address: string, imap: ServerEndpoint, smtp: ServerEndpoint, 
/**
 * The IMAP/SMTP login name.
 */
username: string, 
/**
 * A PEM file with an extra certificate authority to trust, for servers with a
 * private CA. The system's trust store is always used as well.
 */
extra_ca_file: string | null, };

export type SetupState = { profile: string, account: AccountSettings | null, 
/**
 * The saved settings were damaged: what could be read of them, for the set-up form
 * to fill in (the rest the member types again).
 */
recovered: RecoveredAccount | null, };

export type RecoveredAccount = { member_id: string | null, display_name: string | null, shared_address: string | null, imap_host: string | null, imap_port: number | null, smtp_host: string | null, smtp_port: number | null, username: string | null, extra_ca_file: string | null, };

export type Connectivity = { "state": "not_configured" } | { "state": "connecting" } | { "state": "online", syncing: boolean, } | { "state": "offline", problem: Problem, } | { "state": "retrying", problem: Problem, in_secs: number, };

export type SyncProgress = { folder: string, done: number, total: number, 
/**
 * The copy on this computer was damaged and is being fetched again.
 */
rebuilding: boolean, };

export type ConversationId = string;

export type MessageKey = { folder: string, uid_validity: number, uid: number, };

export type Status = "open" | "waiting" | "done";

export type TeamAction = { "kind": "claim" } | { "kind": "release" } | { "kind": "hand_over", to: string, } | { "kind": "set_status", status: Status, };

export type View = "unassigned" | "mine" | "team" | "waiting" | "done" | "all" | "sent";

export type FolderRole = "inbox" | "sent" | "drafts" | "trash" | "junk" | "archive" | "other";

export type Correspondent = { 
/**
 * The display name, or empty when the mail gave none.
 */
name: string, address: string, };

export type ConversationSummary = { id: ConversationId, subject: string, 
/**
 * The person the team talks to: the sender of the latest message that did not come
 * from the shared address.
 */
customer: Correspondent, 
/**
 * Milliseconds since the Unix epoch of the newest message.
 */
latest_at: number, message_count: number, 
/**
 * The start of the newest message's text, when known.
 */
preview: string, has_attachments: boolean, 
/**
 * The newest message came from the customer and no reply is known yet.
 */
awaiting_reply: boolean, 
/**
 * The member who holds the conversation.
 */
owner: string | null, status: Status, has_notes: boolean, };

export type ConversationPage = { view: View, total: number, offset: number, rows: Array<ConversationSummary>, };

export type MessageSummary = { key: MessageKey, role: FolderRole, 
/**
 * Sent from the shared address: the team's own message, wherever it is stored.
 */
from_team: boolean, from: Correspondent, to: Array<Correspondent>, cc: Array<Correspondent>, subject: string, 
/**
 * Milliseconds since the Unix epoch.
 */
date: number, size: number, preview: string, answered: boolean, flagged: boolean, 
/**
 * Set when the headers could not be read; the rest of the message list is fine.
 */
problem: Problem | null, };

export type ConversationDetail = { id: ConversationId, subject: string, messages: Array<MessageSummary>, 
/**
 * The member who holds the conversation.
 */
owner: string | null, status: Status, 
/**
 * Since when `owner` holds it (milliseconds since the epoch), when this client saw
 * it happen.
 */
held_since: number | null, };

export type SafeHtml = { document: string, 
/**
 * How many remote images were blocked; the reading pane offers "load images" when
 * this is not zero.
 */
blocked_remote_images: number, };

export type TextBlockKind = "body" | "quote" | "signature";

export type TextBlock = { kind: TextBlockKind, 
/**
 * Nesting depth of a quote (1 for `> `, 2 for `> > `); 0 for body and signature.
 */
depth: number, text: string, };

export type AttachmentInfo = { 
/**
 * Position among the message's attachments, used to save it.
 */
index: number, filename: string, mime_type: string, size: number, 
/**
 * Shown inside the HTML (a `cid:` image) rather than listed as a file.
 */
inline: boolean, };

export type MessageContent = { 
/**
 * The HTML part, sanitized with an allow-list, as a complete document for a
 * sandboxed frame with a no-script, no-network policy.
 */
html: SafeHtml | null, 
/**
 * The plain-text part (or text derived from the HTML when there is none), split into
 * blocks so quotes can be folded.
 */
text: Array<TextBlock>, attachments: Array<AttachmentInfo>, 
/**
 * Set when the message could only be read in part (bad charset, broken MIME
 * structure); what could be read is still shown.
 */
problem: Problem | null, };

export type MessageBody = { key: MessageKey, content: MessageContent, };

export type TeamServerState = { "state": "not_configured" } | { "state": "connecting" } | { "state": "online", authoritative: boolean, } | { "state": "offline", problem: Problem, retry_in_secs: number | null, };

export type TeamStateHome = "unknown" | "keywords" | "team_server";

export type Activity = "viewing" | "replying" | "sending";

export type Presence = { member: string, activity: Activity, 
/**
 * With `Sending`: when the reply leaves, on this computer's clock (milliseconds);
 * `None` while it is being handed to the mail server.
 */
leaves_at: number | null, };

export type TeamOverview = { 
/**
 * This member.
 */
me: string, 
/**
 * Colleagues known to use Baton on this mailbox, this member included.
 */
members: Array<string>, server: TeamServerState, state_home: TeamStateHome, 
/**
 * This computer hosts the team server (inside the app).
 */
hosting: boolean, };

export type PresenceOn = { id: ConversationId, present: Array<Presence>, };

export type TeamServerSettings = { 
/**
 * `wss://host:port/`, or `ws://` on this computer only.
 */
url: string, 
/**
 * SHA-256 fingerprint of a self-signed server certificate, as the host shows it;
 * `None` trusts the system's certificate authorities.
 */
fingerprint: string | null, 
/**
 * The shared mailbox's id on the server.
 */
mailbox: string, };

export type HostSettings = { port: number, 
/**
 * Listen for colleagues on other computers (TLS with a self-signed certificate);
 * otherwise only this computer can connect.
 */
open_to_network: boolean, };

export type TeamInvite = { settings: TeamServerSettings, member: string, 
/**
 * One-time code; it stops working once used.
 */
code: string, };

export type DraftKind = "reply" | "reply_all" | "forward" | "new";

export type DraftAttachment = { id: string, name: string, mime_type: string, size: number, };

export type Draft = { id: string, 
/**
 * Given when the draft is created, so a send that may or may not have happened can
 * be looked up in the Sent folder by it.
 */
message_id: string, kind: DraftKind, conversation: ConversationId | null, 
/**
 * The message being answered or forwarded.
 */
source: MessageKey | null, to: string, cc: string, bcc: string, subject: string, 
/**
 * Plain text: the member's words, the signature and, for replies, the quote.
 */
body: string, attachments: Array<DraftAttachment>, 
/**
 * Milliseconds since the epoch.
 */
started_at: number, saved_at: number, };

export type DraftEdit = { id: string, to: string, cc: string, bcc: string, subject: string, body: string, };

export type ComposeSettings = { 
/**
 * The member's own signature, below the mailbox's.
 */
signature: string, 
/**
 * The name in From: `{name}` is the member's display name, for example
 * "{name} from Acme Support". Empty: the display name alone.
 */
sender_name: string, 
/**
 * Seconds a sent message waits in the outbox, during which "Undo" takes it back.
 */
undo_seconds: number, 
/**
 * Claim the conversation when a reply goes out and nobody holds it.
 */
claim_on_send: boolean, };

export type TemplateKind = "canned_reply" | "mailbox_signature";

export type Template = { id: string, kind: TemplateKind, name: string, 
/**
 * Plain text with placeholders: {customer}, {customer_first}, {me}, {subject}.
 */
body: string, };

export type GuardFinding = { "kind": "colleague_replied", by: string, at: number | null, preview: string, message: MessageKey | null, 
/**
 * The reply's Message-ID, when there is a message.
 */
message_id: string | null, } | { "kind": "colleague_sending", member: string, 
/**
 * When it leaves (this computer's clock); `None` while it is being sent.
 */
leaves_at: number | null, message_id: string | null, } | { "kind": "colleague_replying", member: string, } | { "kind": "customer_wrote", from: Correspondent, at: number, preview: string, message: MessageKey, } | { "kind": "owned_by_other", member: string, since: number | null, };

export type GuardReport = { findings: Array<GuardFinding>, 
/**
 * The mailbox was read again for this check (a send-time check); otherwise it is
 * what this computer knew.
 */
checked_live: boolean, };

export type SendOptions = { 
/**
 * Send later: milliseconds since the epoch. `None`: now (after the undo window).
 */
send_at: number | null, 
/**
 * The member saw these findings and sends anyway; a finding not among them still
 * stops the send.
 */
despite: Array<GuardFinding>, };

export type SendFailureKind = "unreachable" | "connection_lost" | "connection_lost_after_data" | "tls_failed" | "auth_failed" | "temporarily_refused" | "recipient_refused" | "message_refused" | "invalid" | "password_missing" | "check_failed";

export type SendFailure = { kind: SendFailureKind, 
/**
 * The SMTP server's host name.
 */
server: string, 
/**
 * The server's reply code and text, when it answered.
 */
code: number | null, server_text: string | null, };

export type OutboxStatus = { "state": "queued" } | { "state": "sending" } | { "state": "retrying", next_at: number, failure: SendFailure, } | { "state": "unknown", failure: SendFailure, } | { "state": "failed", failure: SendFailure, } | { "state": "held", findings: Array<GuardFinding>, } | { "state": "sent", at: number, 
/**
 * A copy is in the shared Sent folder.
 */
sent_copy: boolean, };

export type OutboxItem = { 
/**
 * The draft's id: "undo" turns the item back into that draft.
 */
id: string, message_id: string, conversation: ConversationId | null, 
/**
 * The message answered, which gets the answered flag once this is sent.
 */
replying_to: MessageKey | null, subject: string, 
/**
 * Every envelope recipient (To, Cc and Bcc).
 */
recipients: Array<string>, status: OutboxStatus, queued_at: number, 
/**
 * SMTP does not start before this: the end of the undo window, or "send later".
 */
send_at: number, 
/**
 * SMTP attempts made so far.
 */
attempts: number, };

export type SendOutcome = { "outcome": "guarded", report: GuardReport, } | { "outcome": "queued", item: OutboxItem, } | { "outcome": "held", item: OutboxItem, };

export type NoteVersion = { at: number, text: string, };

export type Note = { id: string, 
/**
 * The Message-ID (without brackets) of the conversation's root when the note was
 * written: what ties it to the conversation.
 */
about: string, author: string, created_at: number, 
/**
 * When last edited, if ever.
 */
edited_at: number | null, deleted: boolean, 
/**
 * Plain text with light formatting (`*bold*`, `_italic_`, links); empty once
 * deleted.
 */
text: string, 
/**
 * Members named with `@member`.
 */
mentions: Array<string>, 
/**
 * Earlier texts, oldest first.
 */
history: Array<NoteVersion>, };

export type Mention = { note: Note, conversation: ConversationId | null, subject: string, 
/**
 * Not yet seen in the Mentions view.
 */
unread: boolean, };

export type TeamChange = { "change": "claimed", member: string, } | { "change": "released", member: string, } | { "change": "handed_over", from: string, to: string, } | { "change": "status", status: Status, };

export type ActivityItem = { "kind": "received", at: number, from: Correspondent, message: MessageKey, } | { "kind": "replied", at: number, by: string, message: MessageKey, } | { "kind": "bounced", at: number, message: MessageKey, } | { "kind": "note", at: number, note: Note, } | { "kind": "team", at: number, change: TeamChange, 
/**
 * Who made the change, when known.
 */
by: string | null, 
/**
 * Made in another mail app (seen in the mailbox).
 */
outside: boolean, };

export type NotificationKind = "new_unassigned" | "handed_to_me" | "mentioned" | "customer_replied";

export type Notification = { kind: NotificationKind, conversation: ConversationId, subject: string, 
/**
 * The customer, the colleague who handed over, or the note's author.
 */
who: string, 
/**
 * The note's text or the mail's preview.
 */
text: string, };

export type NotificationSettings = { new_unassigned: boolean, handed_to_me: boolean, mentioned: boolean, customer_replied: boolean, };

export type EngineEvent = { "type": "connectivity", connectivity: Connectivity, } | { "type": "sync_progress", progress: SyncProgress, } | { "type": "conversations_changed", ids: Array<ConversationId>, } | { "type": "team", overview: TeamOverview, } | { "type": "presence", presence: PresenceOn, } | { "type": "outbox", item: OutboxItem, } | { "type": "notes_changed" } | { "type": "notify", notification: Notification, } | { "type": "resync" };
