// Generated from the Rust types by `scripts/bindings.sh`. Do not edit.

export type ProblemCode = "auth_failed" | "unreachable" | "timeout" | "tls_failed" | "start_tls_unavailable" | "protocol_error" | "server_unsupported" | "server_refused" | "connection_lost" | "invalid_settings" | "password_missing" | "credential_store_failed" | "message_unreadable" | "message_too_large" | "message_gone" | "cache_failed" | "file_failed" | "not_found" | "shutting_down" | "link_refused" | "claim_conflict" | "not_holder" | "invalid_member" | "team_state_unavailable";

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

export type SetupState = { profile: string, account: AccountSettings | null, };

export type Connectivity = { "state": "not_configured" } | { "state": "connecting" } | { "state": "online", syncing: boolean, } | { "state": "offline", problem: Problem, } | { "state": "retrying", problem: Problem, in_secs: number, };

export type SyncProgress = { folder: string, done: number, total: number, };

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

export type Activity = "viewing" | "replying";

export type Presence = { member: string, activity: Activity, };

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

export type EngineEvent = { "type": "connectivity", connectivity: Connectivity, } | { "type": "sync_progress", progress: SyncProgress, } | { "type": "conversations_changed", ids: Array<ConversationId>, } | { "type": "team", overview: TeamOverview, } | { "type": "presence", presence: PresenceOn, } | { "type": "resync" };
