// Runs in the page before the app (the test server injects it ahead of the app's
// script), installs @tauri-apps/api's own mockIPC with event mocking, and answers every
// command from fixtures. Tests steer it through `window.__BATON_SCENARIO__` (set by an
// init script) and read what the app asked for from `window.__ipcCalls`.
import { mockIPC } from './api/mocks.js';
import { emit } from './api/event.js';
import * as fx from './fixtures.js';

const scenario = {
  configured: true,
  totals: { unassigned: 100000, mine: 3, team: 12, waiting: 4, done: 6, all: 100025, sent: 0 },
  team: {
    me: fx.ME,
    members: fx.MEMBERS,
    server: { state: 'online', authoritative: false },
    state_home: 'keywords',
  },
  /** Presence per conversation id, as get_presence answers it. */
  presence: {},
  /** A Problem that act_on_conversation rejects with (a lost claim race, say). */
  actError: null,
  connectivity: { state: 'online', syncing: false },
  /** Conversation index whose newest message carries the hostile HTML. */
  hostileIndex: null,
  /** Conversation index whose newest message carries the friendly HTML with a blocked image. */
  htmlIndex: 0,
  saveAccountError: null,
  /** Problems the team server commands reject with, by command name. */
  teamServerErrors: {},
  /** Milliseconds each command waits, so loading states can be seen. */
  latency: {
    get_message_body: 120,
    get_conversation: 40,
    list_conversations: 15,
    host_team_server: 150,
    join_team_server: 200,
    leave_team_server: 60,
    stop_hosting: 60,
    invite_colleague: 60,
  },
  ...(window.__BATON_SCENARIO__ ?? {}),
};
const now = scenario.now ?? Date.now();

window.__ipcCalls = [];
window.__scenario = scenario;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function problem(code, message, detail = null) {
  return { code, message, detail, holder: null, held_since: null };
}

/** What accepted actions changed, laid over the fixture rows like the engine's state. */
const changed = new Map();

function withChanges(row) {
  return changed.has(row.id) ? { ...row, ...changed.get(row.id) } : row;
}

function applyAction(id, action) {
  const now = changed.get(id) ?? {};
  switch (action.kind) {
    case 'claim':
      return changed.set(id, { ...now, owner: scenario.team.me });
    case 'release':
      return changed.set(id, { ...now, owner: null });
    case 'hand_over':
      return changed.set(id, { ...now, owner: action.to });
    case 'set_status':
      return changed.set(id, { ...now, status: action.status });
  }
}

function body(key, allowRemoteImages) {
  const { index, position } = fx.keyParts(key);
  const newest = position === fx.messageCountFor(index) - 1;
  const content = { html: null, text: fx.plainTextFor(index, position), attachments: [], problem: null };
  if (newest && index === scenario.hostileIndex) {
    content.html = { document: fx.HOSTILE_HTML, blocked_remote_images: 0 };
  } else if (newest && index === scenario.htmlIndex) {
    content.html = {
      document: fx.friendlyHtml(allowRemoteImages, location.origin),
      blocked_remote_images: allowRemoteImages ? 0 : 1,
    };
  }
  if (index % 3 === 0 && newest) {
    content.attachments = [
      { index: 0, filename: 'invoice-2026-0113.pdf', mime_type: 'application/pdf', size: 48213, inline: false },
      { index: 1, filename: 'photo-damage.jpg', mime_type: 'image/jpeg', size: 2380112, inline: false },
      { index: 2, filename: 'logo.png', mime_type: 'image/png', size: 5120, inline: true },
      { index: 3, filename: 'notes.txt', mime_type: 'text/plain', size: 812, inline: false },
    ];
  }
  return { key, content };
}

async function handle(cmd, args) {
  switch (cmd) {
    case 'get_setup':
      return { profile: 'default', account: scenario.configured ? fx.ACCOUNT : null };
    case 'save_account':
      if (scenario.saveAccountError) throw scenario.saveAccountError;
      scenario.configured = true;
      return null;
    case 'get_connectivity':
      return scenario.connectivity;
    case 'list_conversations': {
      const total = scenario.totals[args.view] ?? 0;
      const result = fx.page(args.view, total, args.offset, args.limit, now);
      return { ...result, rows: result.rows.map(withChanges) };
    }
    case 'act_on_conversation':
      if (scenario.actError) {
        // A lost race means the winner's claim is what the mailbox now says.
        if (scenario.actError.code === 'claim_conflict' && scenario.actError.holder) {
          changed.set(args.id, { ...(changed.get(args.id) ?? {}), owner: scenario.actError.holder });
        }
        throw scenario.actError;
      }
      applyAction(args.id, args.action);
      // The engine announces every accepted change, as the real one does.
      setTimeout(() => emit('engine-event', { type: 'conversations_changed', ids: [args.id] }), 10);
      return null;
    case 'get_team':
      return scenario.team;
    case 'get_presence':
      return scenario.presence[args.id] ?? [];
    case 'report_activity':
      return null;
    case 'get_conversation': {
      const parsed = fx.parseConversationId(args.id);
      if (!parsed) throw problem('not_found', `no conversation ${args.id}`);
      return withChanges(fx.detailFor(parsed.view, parsed.index, now));
    }
    case 'host_team_server':
    case 'stop_hosting':
    case 'invite_colleague':
    case 'join_team_server':
    case 'leave_team_server':
      return teamServer(cmd, args);
    case 'get_message_body':
      if (scenario.failBodyUid === args.key.uid) {
        throw problem('message_unreadable', 'parse error', 'mail-parser: unexpected end of multipart');
      }
      return body(args.key, args.allowRemoteImages);
    case 'save_attachment':
      // 0 saves, 1 is a cancelled save dialog, 3 fails on a full disk.
      if (args.index === 1) return null;
      if (args.index === 3) throw problem('file_failed', 'disk full', 'No space left on device (os error 28)');
      return '/home/anna/Downloads/invoice-2026-0113.pdf';
    case 'open_link':
    case 'retry_now':
      return null;
    default:
      throw new Error(`harness: unknown command ${cmd}`);
  }
}

/** The hosted server's settings while this computer hosts, as host_team_server answered. */
let hosted = null;

function setServer(server) {
  scenario.team = { ...scenario.team, server };
  // The real engine restarts its team link and says so with a `team` event.
  setTimeout(() => emit('engine-event', { type: 'team', overview: scenario.team }), 10);
}

function teamServer(cmd, args) {
  const error = scenario.teamServerErrors[cmd];
  if (error) throw error;
  switch (cmd) {
    case 'host_team_server': {
      const { port, open_to_network } = args.host;
      hosted = open_to_network
        ? { url: `wss://127.0.0.1:${port}/`, fingerprint: fx.HOST_FINGERPRINT, mailbox: 'shared' }
        : { url: `ws://127.0.0.1:${port}/`, fingerprint: null, mailbox: 'shared' };
      setServer({ state: 'online', authoritative: false });
      return hosted;
    }
    case 'stop_hosting':
      hosted = null;
      setServer({ state: 'not_configured' });
      return null;
    case 'invite_colleague':
      if (!hosted) throw problem('not_found', 'this computer does not host the team server');
      if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(args.member)) throw problem('invalid_settings', 'not a valid member id');
      if (args.member === scenario.team.me) {
        throw problem('invalid_settings', `${args.member} has already joined the team server`);
      }
      return { settings: hosted, member: args.member, code: fx.INVITE_CODE };
    case 'join_team_server':
      setServer({ state: 'connecting' });
      return null;
    case 'leave_team_server':
      setServer({ state: 'not_configured' });
      return null;
  }
}

mockIPC(
  async (cmd, args) => {
    window.__ipcCalls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
    await sleep(scenario.latency[cmd] ?? 0);
    return handle(cmd, args);
  },
  { shouldMockEvents: true },
);

/** Tests push engine events through the same path Rust would. */
window.__emitEngineEvent = (payload) => emit('engine-event', payload);
/** A colleague's change, as the engine would now report it for rows and the detail. */
window.__changeConversation = (id, change) => changed.set(id, { ...(changed.get(id) ?? {}), ...change });
window.__harnessReady = true;
