// The only module that talks to Rust. Command names and argument shapes live here and
// nowhere else, so a change in the Tauri commands is a change in this one file.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AccountSettings,
  Connectivity,
  ConversationDetail,
  ConversationId,
  ConversationPage,
  EngineEvent,
  MessageBody,
  MessageKey,
  SetupState,
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

  /** Rust hands the URL to the system browser. */
  openLink: (url: string) => call<null>('open_link', { url }),
};

export const ENGINE_EVENT = 'engine-event';

export function onEngineEvent(handler: (event: EngineEvent) => void): Promise<UnlistenFn> {
  return listen<EngineEvent>(ENGINE_EVENT, (event) => handler(event.payload));
}
