// Runs in the page before the app (the test server injects it ahead of the app's
// script), installs @tauri-apps/api's own mockIPC with event mocking, and answers every
// command from fixtures. Tests steer it through `window.__BATON_SCENARIO__` (set by an
// init script) and read what the app asked for from `window.__ipcCalls`.
import { mockIPC, mockWindows } from './api/mocks.js';
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
  /** What the engine answers for writing: settings, templates and the guard. */
  composeSettings: { signature: 'Anna', sender_name: '{name} from Acme Support', undo_seconds: 10, claim_on_send: true },
  templates: fx.TEMPLATES,
  /** Findings check_draft answers while writing (live = false). */
  guard: [],
  /** Findings send_draft stops at, unless the send names them all in `despite`. */
  sendGuard: [],
  /**
   * Findings send_draft holds the message for once it is in the outbox (a colleague got
   * the claim at the same moment): the answer is `held`.
   */
  sendHolds: [],
  /** Outbox items and drafts the engine already has. */
  outbox: [],
  drafts: [],
  /** Files the native picker "chooses" on attach_files. */
  attachFiles: [{ name: 'photo-damage.jpg', mime_type: 'image/jpeg', size: 2_380_112 }],
  /** Type and size of dropped files by name (others are 48 kB PDFs-to-be), and which dropped paths are folders. */
  droppedFiles: {},
  droppedFolders: [],
  /** A Problem that attach_dropped rejects with. */
  attachDroppedError: null,
  /** What recheck_sent finds: true puts an unknown message to sent. */
  recheckFinds: false,
  /** Problems the team server commands reject with, by command name. */
  teamServerErrors: {},
  /** Internal notes per conversation id, oldest first (Note as the engine answers it). */
  notes: {},
  /** Mentions of this member, newest first. */
  mentions: [],
  /** Team changes and bounces per conversation id, merged into get_activity by time. */
  activity: {},
  notificationSettings: { new_unassigned: true, handed_to_me: true, mentioned: true, customer_replied: true },
  /** What the system answers the notification plugin's permission check. */
  notificationPermission: true,
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
      return {
        profile: 'default',
        account: scenario.configured ? fx.ACCOUNT : null,
        recovered: scenario.configured ? null : (scenario.recovered ?? null),
      };
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
    case 'get_compose_settings':
    case 'save_compose_settings':
    case 'start_draft':
    case 'save_draft':
    case 'list_drafts':
    case 'discard_draft':
    case 'attach_files':
    case 'attach_dropped':
    case 'detach_file':
    case 'check_draft':
    case 'send_draft':
    case 'undo_send':
    case 'send_held':
    case 'list_outbox':
    case 'send_again':
    case 'mark_sent':
    case 'recheck_sent':
    case 'discard_outbox':
    case 'list_templates':
    case 'save_template':
    case 'delete_template':
    case 'fill_template':
      return writing(cmd, args);
    case 'list_notes':
    case 'add_note':
    case 'edit_note':
    case 'delete_note':
    case 'list_mentions':
    case 'mentions_seen':
    case 'get_activity':
    case 'get_notification_settings':
    case 'save_notification_settings':
      return notesAndNotifications(cmd, args);
    case 'plugin:notification|is_permission_granted':
      return scenario.notificationPermission;
    case 'plugin:notification|request_permission':
      return scenario.notificationPermission ? 'granted' : 'denied';
    case 'plugin:notification|notify':
      window.__desktopNotifications.push(args.options);
      return null;
    default:
      throw new Error(`harness: unknown command ${cmd}`);
  }
}

// --- Writing and sending: drafts, the outbox and templates, kept in memory --------------

const drafts = new Map(scenario.drafts.map((d) => [d.id, d]));
const outbox = new Map(scenario.outbox.map((i) => [i.id, i]));
/** The draft behind each queued item, for undo_send. */
const sentDrafts = new Map();
let templates = [...scenario.templates];
let nextId = 1;
/** What the operating system last dropped on the window, as the shell keeps it. */
let lastDrop = null;

/**
 * Tauri's native drag-and-drop: the page hears enter, over, leave and drop as events on
 * its webview; on a drop the shell records the paths first (that is what attach_dropped
 * uses, never anything the page sends).
 */
const dropPosition = { x: 700, y: 420 };
window.__dragFiles = {
  enter: (paths) => emit('tauri://drag-enter', { paths, position: dropPosition }),
  over: () => emit('tauri://drag-over', { position: dropPosition }),
  leave: () => emit('tauri://drag-leave', null),
  /** `recorded: false` is a drop the shell did not keep (too old, or used already). */
  drop: (paths, recorded = true) => {
    lastDrop = recorded ? { paths, at: Date.now() } : null;
    return emit('tauri://drag-drop', { paths, position: dropPosition });
  },
};

function emitOutbox(item) {
  setTimeout(() => emit('engine-event', { type: 'outbox', item }), 0);
}

function draftOf(id) {
  const draft = drafts.get(id);
  if (!draft) throw problem('not_found', `no draft ${id}`);
  return draft;
}

/** The engine's address check, in short: every item needs an @ with something on both sides. */
function addresses(text) {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const address = /<([^>]*)>/.exec(item)?.[1] ?? item;
      if (!/^[^@\s]+@[^@\s]+$/.test(address)) {
        throw problem('invalid_recipient', `the recipient "${item}" is not a valid address`, item);
      }
      return address;
    });
}

function signature() {
  const shared = templates.find((t) => t.kind === 'mailbox_signature')?.body ?? '';
  return [scenario.composeSettings.signature.trim(), shared.trim()].filter(Boolean).join('\n');
}

function startDraft({ kind, conversation, source }) {
  const id = `draft-${nextId++}`;
  const base = {
    id,
    message_id: `${id}@example.com`,
    kind,
    conversation: kind === 'forward' ? null : conversation,
    source: null,
    to: '',
    cc: '',
    bcc: '',
    subject: '',
    body: `\n\n${signature()}\n`,
    attachments: [],
    started_at: Date.now(),
    saved_at: Date.now(),
  };
  if (kind !== 'new') {
    const parsed = conversation ? fx.parseConversationId(conversation) : null;
    if (!parsed) throw problem('not_found', 'the message to answer is no longer there');
    const detail = fx.detailFor(parsed.view, parsed.index, now);
    const message =
      (source && detail.messages.find((m) => m.key.uid === source.uid)) ??
      [...detail.messages].reverse().find((m) => !m.from_team);
    const customer = fx.customerFor(parsed.index);
    base.source = message.key;
    base.to = kind === 'forward' ? '' : customer.name ? `${customer.name} <${customer.address}>` : customer.address;
    if (kind === 'reply_all' && message.cc.length) base.cc = message.cc.map((c) => c.address).join(', ');
    base.subject = `${kind === 'forward' ? 'Fwd' : 'Re'}: ${fx.subjectFor(parsed.index)}`;
    const who = message.from.name || message.from.address;
    base.body += `\nOn ${new Date(message.date).toUTCString()}, ${who} wrote:\n> ${message.preview}\n`;
  }
  drafts.set(id, base);
  return base;
}

function fill(body, draft) {
  const customer = /^\s*"?([^"<,]*?)"?\s*</.exec(draft.to)?.[1]?.trim() || draft.to.split(',')[0].trim();
  return body
    .replaceAll('{customer_first}', customer.split(/\s+/)[0] ?? '')
    .replaceAll('{customer}', customer)
    .replaceAll('{me}', fx.ACCOUNT.display_name)
    .replaceAll('{subject}', draft.subject);
}

function sameFinding(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function writing(cmd, args) {
  switch (cmd) {
    case 'get_compose_settings':
      return scenario.composeSettings;
    case 'save_compose_settings':
      scenario.composeSettings = args.settings;
      return null;
    case 'start_draft':
      return startDraft(args);
    case 'save_draft': {
      const draft = { ...draftOf(args.edit.id), ...args.edit, saved_at: Date.now() };
      drafts.set(draft.id, draft);
      return draft;
    }
    case 'list_drafts':
      return [...drafts.values()];
    case 'discard_draft':
      draftOf(args.id);
      drafts.delete(args.id);
      return null;
    case 'attach_files': {
      const draft = draftOf(args.id);
      const added = scenario.attachFiles.map((f) => ({ id: `att-${nextId++}`, ...f }));
      const updated = { ...draft, attachments: [...draft.attachments, ...added] };
      drafts.set(draft.id, updated);
      return updated;
    }
    case 'attach_dropped': {
      // As the shell does: the last drop, once, within 30 s; folders are left out.
      const dropped = lastDrop;
      lastDrop = null;
      if (scenario.attachDroppedError) throw scenario.attachDroppedError;
      if (!dropped || Date.now() - dropped.at > 30_000) {
        throw problem('not_found', 'nothing was dropped on the window in the last 30 seconds');
      }
      const draft = draftOf(args.id);
      const added = dropped.paths
        .filter((path) => !scenario.droppedFolders.includes(path))
        .map((path) => {
          const name = path.split('/').pop();
          const known = scenario.droppedFiles[name] ?? { mime_type: 'application/pdf', size: 48_213 };
          return { id: `att-${nextId++}`, name, ...known };
        });
      const updated = { ...draft, attachments: [...draft.attachments, ...added] };
      drafts.set(draft.id, updated);
      return updated;
    }
    case 'detach_file': {
      const draft = draftOf(args.id);
      const updated = { ...draft, attachments: draft.attachments.filter((a) => a.id !== args.attachment) };
      drafts.set(draft.id, updated);
      return updated;
    }
    case 'check_draft':
      draftOf(args.id);
      return { findings: scenario.guard, checked_live: args.live };
    case 'send_draft': {
      const draft = draftOf(args.id);
      const unseen = scenario.sendGuard.filter((f) => !args.options.despite.some((d) => sameFinding(d, f)));
      if (unseen.length > 0) return { outcome: 'guarded', report: { findings: scenario.sendGuard, checked_live: true } };
      const recipients = [...addresses(draft.to), ...addresses(draft.cc), ...addresses(draft.bcc)];
      if (recipients.length === 0) throw problem('no_recipients', 'the message has no recipient');
      const at = Date.now();
      const undoUntil = at + scenario.composeSettings.undo_seconds * 1000;
      const held = scenario.sendHolds.length > 0;
      const item = {
        id: draft.id,
        message_id: draft.message_id,
        conversation: draft.conversation,
        replying_to: draft.kind === 'reply' || draft.kind === 'reply_all' ? draft.source : null,
        subject: draft.subject,
        recipients,
        status: held ? { state: 'held', findings: scenario.sendHolds } : { state: 'queued' },
        queued_at: at,
        send_at: args.options.send_at === null ? undoUntil : Math.max(args.options.send_at, undoUntil),
        attempts: 0,
      };
      drafts.delete(draft.id);
      sentDrafts.set(draft.id, draft);
      outbox.set(item.id, item);
      emitOutbox(item);
      return { outcome: held ? 'held' : 'queued', item };
    }
    case 'undo_send': {
      // Queued and held messages come back; once SMTP started it is too late.
      const item = outbox.get(args.id);
      if (!item || !['queued', 'held'].includes(item.status.state)) {
        throw problem('too_late_to_undo', 'the message is already on its way');
      }
      outbox.delete(args.id);
      const draft = { ...sentDrafts.get(args.id), saved_at: Date.now() };
      drafts.set(draft.id, draft);
      return draft;
    }
    case 'send_held': {
      // As the engine: only a held message, and only despite exactly what held it.
      const item = outbox.get(args.id);
      if (!item || item.status.state !== 'held') throw problem('too_late_to_undo', 'the message is not held any more');
      const seen = item.status.findings.every((f) => args.despite.some((d) => sameFinding(d, f)));
      if (!seen || args.despite.length !== item.status.findings.length) {
        throw problem('invalid_settings', 'the message is held for something not confirmed');
      }
      const queued = { ...item, status: { state: 'queued' }, send_at: Date.now() };
      outbox.set(queued.id, queued);
      emitOutbox(queued);
      return queued;
    }
    case 'list_outbox':
      return [...outbox.values()];
    case 'send_again': {
      const item = { ...outbox.get(args.id), status: { state: 'queued' }, send_at: Date.now() };
      outbox.set(item.id, item);
      emitOutbox(item);
      return item;
    }
    case 'mark_sent': {
      const item = { ...outbox.get(args.id), status: { state: 'sent', at: Date.now(), sent_copy: false } };
      outbox.set(item.id, item);
      emitOutbox(item);
      return item;
    }
    case 'recheck_sent': {
      let item = outbox.get(args.id);
      if (scenario.recheckFinds) item = { ...item, status: { state: 'sent', at: Date.now(), sent_copy: true } };
      outbox.set(item.id, item);
      return item;
    }
    case 'discard_outbox':
      outbox.delete(args.id);
      sentDrafts.delete(args.id);
      return null;
    case 'list_templates':
      return templates;
    case 'save_template': {
      const template = { ...args.template, id: args.template.id || `tpl-${nextId++}` };
      templates = templates.some((t) => t.id === template.id)
        ? templates.map((t) => (t.id === template.id ? template : t))
        : [...templates, template];
      return template;
    }
    case 'delete_template':
      templates = templates.filter((t) => t.id !== args.id);
      return null;
    case 'fill_template': {
      const template = templates.find((t) => t.id === args.template);
      if (!template) throw problem('not_found', 'no such template');
      return fill(template.body, draftOf(args.draft));
    }
  }
}

// --- Notes, mentions, history and notifications -----------------------------------------

const notes = new Map(Object.entries(scenario.notes).map(([id, list]) => [id, list.map((n) => ({ ...n }))]));
let mentions = scenario.mentions.map((m) => ({ ...m }));
window.__desktopNotifications = [];

function findNote(id) {
  for (const [conversation, list] of notes) {
    const note = list.find((n) => n.id === id);
    if (note) return { conversation, note };
  }
  throw problem('not_found', `no note ${id}`);
}

function mentionsIn(text) {
  return [...new Set([...text.matchAll(/@([a-z0-9._-]+)/g)].map((m) => m[1]))].filter((m) =>
    scenario.team.members.includes(m),
  );
}

function notesChanged() {
  setTimeout(() => emit('engine-event', { type: 'notes_changed' }), 5);
}

function changeNote(id, change) {
  const { note } = findNote(id);
  if (note.author !== scenario.team.me) throw problem('not_holder', 'only the author may change a note');
  Object.assign(note, { history: [...note.history, { at: note.edited_at ?? note.created_at, text: note.text }] }, change);
  notesChanged();
  return { ...note };
}

/** A conversation's history as the engine derives it: its mails, its notes, and what the scenario adds. */
function activity(id) {
  const parsed = fx.parseConversationId(id);
  if (!parsed) throw problem('not_found', `no conversation ${id}`);
  const detail = fx.detailFor(parsed.view, parsed.index, now);
  const items = detail.messages.map((m) =>
    m.from_team
      ? { kind: 'replied', at: m.date, by: 'bram', message: m.key }
      : { kind: 'received', at: m.date, from: m.from, message: m.key },
  );
  for (const note of notes.get(id) ?? []) items.push({ kind: 'note', at: note.created_at, note: { ...note } });
  items.push(...(scenario.activity[id] ?? []));
  return items.sort((a, b) => a.at - b.at);
}

function notesAndNotifications(cmd, args) {
  switch (cmd) {
    case 'list_notes':
      return (notes.get(args.id) ?? []).map((n) => ({ ...n }));
    case 'add_note': {
      const note = {
        id: `note-${nextId++}`,
        about: `${args.id}@example.com`,
        author: scenario.team.me,
        created_at: Date.now(),
        edited_at: null,
        deleted: false,
        text: args.text,
        mentions: mentionsIn(args.text),
        history: [],
      };
      notes.set(args.id, [...(notes.get(args.id) ?? []), note]);
      notesChanged();
      return { ...note };
    }
    case 'edit_note':
      return changeNote(args.note, { text: args.text, edited_at: Date.now(), mentions: mentionsIn(args.text) });
    case 'delete_note':
      return changeNote(args.note, { text: '', deleted: true, edited_at: Date.now() });
    case 'list_mentions':
      return mentions;
    case 'mentions_seen':
      mentions = mentions.map((m) => ({ ...m, unread: false }));
      return null;
    case 'get_activity':
      return activity(args.id);
    case 'get_notification_settings':
      return scenario.notificationSettings;
    case 'save_notification_settings':
      scenario.notificationSettings = args.settings;
      return null;
  }
}

/** A colleague's note names this member (the test then sends notes_changed). */
window.__addMention = (m) => {
  mentions = [m, ...mentions];
};

/** The outbox as the engine has it now, for tests that check what was kept. */
window.__outbox = () => [...outbox.values()];
/**
 * The outbox's last check before sending holds a queued message (a colleague's reply
 * went out first, say), and the engine reports it as an `outbox` event.
 */
window.__holdOutbox = (id, findings) => {
  const item = { ...outbox.get(id), status: { state: 'held', findings } };
  outbox.set(id, item);
  emitOutbox(item);
  return item;
};
window.__drafts = () => [...drafts.values()];

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

// The page runs in the window and webview Tauri calls "main" (getCurrentWebview needs it).
mockWindows('main');

mockIPC(
  async (cmd, args) => {
    window.__ipcCalls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
    await sleep(scenario.latency[cmd] ?? 0);
    return handle(cmd, args);
  },
  { shouldMockEvents: true },
);

// Counts the page's event listeners by event name, so tests can see one end.
const listening = new Map();
const mockedInvoke = window.__TAURI_INTERNALS__.invoke;
window.__TAURI_INTERNALS__.invoke = (cmd, args, options) => {
  if (cmd === 'plugin:event|listen') listening.set(args.event, (listening.get(args.event) ?? 0) + 1);
  if (cmd === 'plugin:event|unlisten') listening.set(args.event, (listening.get(args.event) ?? 0) - 1);
  return mockedInvoke(cmd, args, options);
};
window.__listeners = (event) => listening.get(event) ?? 0;

/** Tests push engine events through the same path Rust would. */
window.__emitEngineEvent = (payload) => emit('engine-event', payload);
/** A colleague's change, as the engine would now report it for rows and the detail. */
window.__changeConversation = (id, change) => changed.set(id, { ...(changed.get(id) ?? {}), ...change });

// What Tauri's notification plugin injects into the real webview (its init-iife.js): a
// window.Notification whose permission and notifications go through invoke, here the
// mocked one, so the tests see what the app asked the system for.
(function installNotificationShim() {
  let settable = false;
  let permission = 'default';
  const invoke = (cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args);
  const setPermission = (value) => {
    settable = true;
    window.Notification.permission = value;
    settable = false;
  };
  window.Notification = function (title, options) {
    void invoke('plugin:notification|notify', { options: { ...(options ?? {}), title } });
  };
  window.Notification.requestPermission = () =>
    invoke('plugin:notification|request_permission').then((p) => {
      setPermission(p === 'prompt' || p === 'prompt-with-rationale' ? 'default' : p);
      return p;
    });
  Object.defineProperty(window.Notification, 'permission', {
    enumerable: true,
    get: () => permission,
    set: (value) => {
      if (!settable) throw new Error('Readonly property');
      permission = value;
    },
  });
  void invoke('plugin:notification|is_permission_granted').then((granted) =>
    setPermission(granted === null ? 'default' : granted ? 'granted' : 'denied'),
  );
})();

window.__harnessReady = true;
