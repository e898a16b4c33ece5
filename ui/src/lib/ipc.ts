// The only module that talks to Rust. Command names and argument shapes live here and
// nowhere else, so a change in the Tauri commands is a change in this one file.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { isPermissionGranted, requestPermission, sendNotification } from '@tauri-apps/plugin-notification';
import type {
  AccountSettings,
  Activity,
  ActivityItem,
  ComposeSettings,
  Connectivity,
  ConversationDetail,
  ConversationId,
  ConversationPage,
  Draft,
  DraftEdit,
  DraftKind,
  EngineEvent,
  GuardFinding,
  GuardReport,
  HostSettings,
  Mention,
  MessageBody,
  MessageKey,
  Note,
  NotificationSettings,
  OutboxItem,
  Presence,
  SendOptions,
  SendOutcome,
  SetupState,
  TeamAction,
  TeamInvite,
  TeamOverview,
  TeamServerSettings,
  Template,
  View,
} from './bindings';
import { toProblem } from './problem';
import { desktopBody } from './text/desktop-text';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    // Normalise here so callers only ever catch a UiProblem.
    throw toProblem(error);
  }
}

export const ipc = {
  getSetup: () => call<SetupState>('get_setup'),

  /** Tests the login first; rejects with the Problem that stopped it. */
  saveAccount: (settings: AccountSettings, password: string) =>
    call<null>('save_account', { settings, password }),

  getConnectivity: () => call<Connectivity>('get_connectivity'),

  /** Skips the backoff wait and reconnects now. */
  retryNow: () => call<null>('retry_now'),

  /** Newest first; `total` counts every row of the view. */
  listConversations: (view: View, offset: number, limit: number) =>
    call<ConversationPage>('list_conversations', { view, offset, limit }),

  /** Messages oldest first. */
  getConversation: (id: ConversationId) => call<ConversationDetail>('get_conversation', { id }),

  getMessageBody: (key: MessageKey, allowRemoteImages: boolean) =>
    call<MessageBody>('get_message_body', { key, allowRemoteImages }),

  /** The saved path, or null when the user cancelled the save dialog. */
  saveAttachment: (key: MessageKey, index: number) =>
    call<string | null>('save_attachment', { key, index }),

  /**
   * Claim, release, hand over or set the status. Rejects with a Problem; a lost race is
   * `claim_conflict` naming the holder and since when.
   */
  actOnConversation: (id: ConversationId, action: TeamAction) =>
    call<null>('act_on_conversation', { id, action }),

  getTeam: () => call<TeamOverview>('get_team'),

  /** Colleagues looking at or answering this conversation right now; empty without a team server. */
  getPresence: (id: ConversationId) => call<Presence[]>('get_presence', { id }),

  /** What this member does with a conversation; null when they left it. */
  reportActivity: (id: ConversationId, activity: Activity | null) =>
    call<null>('report_activity', { id, activity }),

  /**
   * Hosts the team server in this app from now on (also after restarts) and joins it;
   * answers how members on this computer reach it.
   */
  hostTeamServer: (host: HostSettings) => call<TeamServerSettings>('host_team_server', { host }),

  stopHosting: () => call<null>('stop_hosting'),

  /** Only while this computer hosts; the code in the invite works once. */
  inviteColleague: (member: string) => call<TeamInvite>('invite_colleague', { member }),

  /** Redeems the invite's one-time code and connects to the team server. */
  joinTeamServer: (invite: TeamInvite) => call<null>('join_team_server', { invite }),

  /** Claims go straight to the mailbox again. */
  leaveTeamServer: () => call<null>('leave_team_server'),

  /** Rust hands the URL to the system browser. */
  openLink: (url: string) => call<null>('open_link', { url }),

  getComposeSettings: () => call<ComposeSettings>('get_compose_settings'),

  saveComposeSettings: (settings: ComposeSettings) => call<null>('save_compose_settings', { settings }),

  /**
   * A new draft with recipients, subject, signature and (for replies) the quote filled
   * in. For a reply without `source` the engine answers the customer's newest message;
   * `lang` is the language of the attribution line. The engine reports "replying".
   */
  startDraft: (kind: DraftKind, conversation: ConversationId | null, source: MessageKey | null, lang: string) =>
    call<Draft>('start_draft', { kind, conversation, source, lang }),

  /** Stores what the member typed; addresses are checked only when sending. */
  saveDraft: (edit: DraftEdit) => call<Draft>('save_draft', { edit }),

  listDrafts: () => call<Draft[]>('list_drafts'),

  discardDraft: (id: string) => call<null>('discard_draft', { id }),

  /** Opens the native file picker; the draft as it is afterwards (unchanged when cancelled). */
  attachFiles: (id: string) => call<Draft>('attach_files', { id }),

  /**
   * Attaches the files just dropped on the window. The paths never come from here: the
   * shell heard them from the operating system and uses each drop once, within 30 s.
   * Folders are left out; `not_found` when nothing was dropped.
   */
  attachDropped: (id: string) => call<Draft>('attach_dropped', { id }),

  detachFile: (id: string, attachment: string) => call<Draft>('detach_file', { id, attachment }),

  /** The duplicate-reply guard. `live` reads the mailbox again first (send time only). */
  checkDraft: (id: string, live: boolean) => call<GuardReport>('check_draft', { id, live }),

  /**
   * `guarded`: nothing was sent, the report says why; `queued`: in the outbox, where it
   * waits until `send_at` (the undo window or "send later"); `held`: in the outbox but
   * held, because a colleague got the claim first at the same moment.
   */
  sendDraft: (id: string, options: SendOptions) => call<SendOutcome>('send_draft', { id, options }),

  /**
   * A held message goes out after all; `despite` must be exactly the findings it is held
   * for (what the member saw). Something new since holds it again.
   */
  sendHeld: (id: string, despite: GuardFinding[]) => call<OutboxItem>('send_held', { id, despite }),

  /**
   * Takes a queued or held message back as a draft (giving back a claim the send took);
   * `too_late_to_undo` once SMTP started.
   */
  undoSend: (id: string) => call<Draft>('undo_send', { id }),

  listOutbox: () => call<OutboxItem[]>('list_outbox'),

  /** A deliberate second attempt at a failed message, or one whose fate is unknown. */
  sendAgain: (id: string) => call<OutboxItem>('send_again', { id }),

  /** The member knows a message whose fate was unknown arrived. */
  markSent: (id: string) => call<OutboxItem>('mark_sent', { id }),

  /** Looks in Sent again for a message whose fate is unknown. */
  recheckSent: (id: string) => call<OutboxItem>('recheck_sent', { id }),

  /** Removes a message that failed, is unknown, held or was sent; one not sent is gone for good. */
  discardOutbox: (id: string) => call<null>('discard_outbox', { id }),

  /** Canned replies and the mailbox signature, shared by the team through the mailbox. */
  listTemplates: () => call<Template[]>('list_templates'),

  /** An empty id adds a template; the answer carries its id. */
  saveTemplate: (template: Template) => call<Template>('save_template', { template }),

  deleteTemplate: (id: string) => call<null>('delete_template', { id }),

  /** The template's text with the draft's placeholders filled in. */
  fillTemplate: (draft: string, template: string) => call<string>('fill_template', { draft, template }),

  /** Internal notes on a conversation, oldest first; deleted ones too, with their history. */
  listNotes: (id: ConversationId) => call<Note[]>('list_notes', { id }),

  addNote: (id: ConversationId, text: string) => call<Note>('add_note', { id, text }),

  /** Only the author may: anyone else gets `not_holder`. */
  editNote: (note: string, text: string) => call<Note>('edit_note', { note, text }),

  /** Only the author may; the note stays, marked deleted, with its history. */
  deleteNote: (note: string) => call<Note>('delete_note', { note }),

  /** Notes that name this member, newest first. */
  listMentions: () => call<Mention[]>('list_mentions'),

  /** Every mention counts as read from now on. */
  mentionsSeen: () => call<null>('mentions_seen'),

  /** What happened to a conversation, oldest first: mails, replies, bounces, notes, team changes. */
  getActivity: (id: ConversationId) => call<ActivityItem[]>('get_activity', { id }),

  getNotificationSettings: () => call<NotificationSettings>('get_notification_settings'),

  saveNotificationSettings: (settings: NotificationSettings) =>
    call<null>('save_notification_settings', { settings }),
};

/**
 * The system's notifications, through Tauri's notification plugin (its JS calls Rust as
 * `plugin:notification|…`). Best effort: a refusal or a missing notification daemon
 * leaves the in-app notice as the only sign.
 */
export const desktopNotifications = {
  async allowed(): Promise<boolean> {
    try {
      if (await isPermissionGranted()) return true;
      return (await requestPermission()) === 'granted';
    } catch {
      return false;
    }
  },

  send(title: string, body: string) {
    try {
      sendNotification({ title, body: desktopBody(body) });
    } catch {
      // Nothing to do: the notice inside the window still shows.
    }
  },
};

export const ENGINE_EVENT = 'engine-event';

export function onEngineEvent(handler: (event: EngineEvent) => void): Promise<UnlistenFn> {
  return listen<EngineEvent>(ENGINE_EVENT, (event) => handler(event.payload));
}

/** Files dragged over the window, as the operating system reports them (not HTML drag events). */
export type FileDrag =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

/**
 * Listens to files being dragged over and dropped on this window. The paths are for
 * showing names only: attaching goes through `ipc.attachDropped`, which takes the shell's
 * own record of the drop.
 */
export function onFileDrag(handler: (drag: FileDrag) => void): Promise<UnlistenFn> {
  return getCurrentWebview().onDragDropEvent(({ payload }) => {
    if (payload.type === 'enter' || payload.type === 'drop') handler({ type: payload.type, paths: payload.paths });
    else handler({ type: payload.type });
  });
}
