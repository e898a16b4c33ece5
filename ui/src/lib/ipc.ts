// The only module that talks to Rust. Command names and argument shapes live here and
// nowhere else, so a change in the Tauri commands is a change in this one file.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AccountSettings,
  Activity,
  Connectivity,
  ConversationDetail,
  ConversationId,
  ConversationPage,
  EngineEvent,
  HostSettings,
  MessageBody,
  MessageKey,
  Presence,
  SetupState,
  TeamAction,
  TeamInvite,
  TeamOverview,
  TeamServerSettings,
  View,
} from './bindings';
import { toProblem } from './problem';

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
};

export const ENGINE_EVENT = 'engine-event';

export function onEngineEvent(handler: (event: EngineEvent) => void): Promise<UnlistenFn> {
  return listen<EngineEvent>(ENGINE_EVENT, (event) => handler(event.payload));
}
