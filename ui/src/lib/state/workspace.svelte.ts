import type {
  AccountSettings,
  Activity,
  ConversationId,
  ConversationSummary,
  Draft,
  DraftKind,
  MessageKey,
  OutboxItem,
  Status,
  TeamAction,
  View,
} from '../bindings';
import { heldNotice } from '../i18n/guard-text';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { ipc } from '../ipc';
import { isTypingTarget, type Action } from '../keyboard/shortcuts';
import { toProblem } from '../problem';
import { START_VIEW } from '../views';
import { Composer } from './composer.svelte';
import { ConversationList } from './conversation-list.svelte';
import { ConversationReader } from './conversation-reader.svelte';
import { Drafts } from './drafts.svelte';
import { Holdings, type Holding } from './holdings.svelte';
import { LinkOpener } from './link-opener.svelte';
import { Mentions } from './mentions.svelte';
import { ConversationHistory, ConversationNotes } from './notes.svelte';
import { NotificationSettingsForm, Notifier } from './notifications.svelte';
import { Notices } from './notices.svelte';
import { Outbox } from './outbox.svelte';
import { TeamServerSetup } from './team-server.svelte';
import { TeamState } from './team.svelte';
import { Templates } from './templates.svelte';
import { WritingSettings } from './writing-settings.svelte';

export type FocusTarget = 'list' | 'reader';

/** What fills the list and reading columns: the mail views, or one of the outgoing lists. */
export type Place = 'mail' | 'outbox' | 'drafts' | 'mentions';

/** A message the reading pane should expand and scroll to; `seq` makes a repeat count. */
export interface RevealRequest {
  conversation: ConversationId;
  key: MessageKey;
  seq: number;
}

type TeamKey = 'claim' | 'handOver' | 'waiting' | 'done' | 'reopen';

const KEY_STATUS: Record<'waiting' | 'done' | 'reopen', Status> = { waiting: 'waiting', done: 'done', reopen: 'open' };

/**
 * The main screen: the list of the current view, the open conversation, and the
 * overlays on top. Keyboard actions land here, so mouse and keyboard share one path.
 */
export class Workspace {
  /** Holder and status of every conversation on screen; the open one's stays while it is open. */
  holdings: Holdings = new Holdings(() => this.reader.id);
  list = new ConversationList(this.holdings);
  reader = new ConversationReader(this.holdings);
  links = new LinkOpener();
  team = new TeamState();
  notices = new Notices();
  teamServer = new TeamServerSetup(this.team, this.notices);
  composer = new Composer();
  outbox = new Outbox(this.notices);
  drafts = new Drafts();
  templates = new Templates();
  writingSettings = new WritingSettings(this.templates, this.notices);
  notes = new ConversationNotes(this.notices);
  history = new ConversationHistory();
  mentions = new Mentions();
  notificationSettings = new NotificationSettingsForm(this.notices);
  notifier = new Notifier(this.notices, (id) => this.openConversation(id));
  /** The account from the setup: the shared address and this member's display name. */
  account = $state.raw<AccountSettings | null>(null);
  place = $state<Place>('mail');
  reveal = $state.raw<RevealRequest | null>(null);
  shortcutsOpen = $state(false);
  /** Components move DOM focus when this changes; `seq` makes a repeated request count. */
  focusRequest = $state<{ target: FocusTarget; seq: number }>({ target: 'list', seq: 0 });
  /**
   * The `h` key asks the reading pane to open its hand-over menu for this conversation;
   * the menu clears it when it opens (it may first have to wait for the conversation).
   */
  handOverRequested = $state<ConversationId | null>(null);
  /** Conversations with an action on its way; their buttons wait for the answer. */
  busy = $state.raw<ReadonlySet<ConversationId>>(new Set());

  start(view: View = START_VIEW) {
    this.list.show(view);
    this.focus('list');
    void this.team.load();
    void this.outbox.load();
    void this.drafts.load();
    void this.mentions.load();
    this.notifier.requestPermission();
  }

  focus(target: FocusTarget) {
    this.focusRequest = { target, seq: this.focusRequest.seq + 1 };
  }

  showView(view: View) {
    if (this.place === 'mentions') this.mentions.left();
    this.place = 'mail';
    if (view !== this.list.view) this.list.show(view);
    this.focus('list');
  }

  /** The Outbox or Drafts list in place of the conversation list and reading pane. */
  showPlace(place: Place) {
    if (this.place === 'mentions' && place !== 'mentions') this.mentions.left();
    this.place = place;
    if (place === 'mentions') void this.mentions.seen();
    if (place === 'outbox') void this.outbox.load();
    if (place === 'drafts') void this.drafts.load();
  }

  /**
   * Opens the conversation under the cursor. After a jump (End, a fast scroll) its row
   * may still be on its way; then it opens when it arrives, unless the cursor moved on.
   */
  async openSelected(focusReader = false): Promise<boolean> {
    const row = await this.#selectedRow();
    if (!row) return false;
    this.open(row.id);
    if (focusReader) this.focus('reader');
    return true;
  }

  async #selectedRow(): Promise<ConversationSummary | undefined> {
    const index = this.list.selectedIndex;
    const row = this.list.rowAt(index) ?? (await this.list.loadRow(index));
    return row && this.list.selectedIndex === index ? row : undefined;
  }

  /** The row under the cursor, opened (so a key's outcome is visible); null without one. */
  async #openSelectedRow(): Promise<ConversationId | null> {
    const row = await this.#selectedRow();
    if (!row) return null;
    if (row.id !== this.reader.id) this.open(row.id);
    return row.id;
  }

  /**
   * What r, a, f and n act on: the open conversation from the reading pane or from the
   * Outbox, Drafts and Mentions; the row under the cursor from the list.
   */
  async #lookedAt(from: FocusTarget): Promise<ConversationId | null> {
    const id = from === 'reader' || this.place !== 'mail' ? this.reader.id : null;
    return id === null && this.place === 'mail' ? this.#openSelectedRow() : id;
  }

  open(id: ConversationId) {
    const previous = this.reader.id;
    this.reader.open(id);
    this.notes.show(id);
    this.history.show(id);
    if (previous === id) return;
    this.handOverRequested = null;
    // The conversation left was kept for the reading pane; without a row it goes.
    if (previous && !this.list.find(previous)) this.holdings.forget([previous]);
    // Colleagues see who is looking, so a conversation left is reported as well.
    if (previous) this.#report(previous, null);
    this.#report(id, 'viewing');
    void this.team.fetchPresence(id);
  }

  #report(id: ConversationId, activity: Activity | null) {
    ipc.reportActivity(id, activity).catch(() => {
      // Presence is best effort; a lost report is corrected by the next one.
    });
  }

  /**
   * Opens a conversation from outside the list (a mention, a notification): the mail
   * columns come back, and the conversation opens even when no row of the current view
   * shows it.
   */
  openConversation(id: ConversationId) {
    if (this.place === 'mentions') this.mentions.left();
    this.place = 'mail';
    this.history.toggle(false);
    this.open(id);
    this.focus('reader');
  }

  /** N: the note box of what the user looks at, like the compose keys. */
  async #noteKey(from: FocusTarget) {
    if ((await this.#lookedAt(from)) === null) return;
    this.place = 'mail';
    this.history.toggle(false);
    this.notes.focusRequest++;
  }

  /** H: the open conversation's history, or back to its messages. */
  async #historyKey(from: FocusTarget) {
    if (this.place !== 'mail') return;
    if (from === 'list' && (await this.#openSelectedRow()) === null) return;
    if (!this.reader.id) return;
    this.history.toggle();
  }

  /** Notes were added, changed or deleted somewhere (here or by a colleague). */
  notesChanged() {
    void this.notes.load();
    this.history.refresh();
    if (this.place === 'mentions') void this.mentions.seen();
    else void this.mentions.load();
  }

  /** The window goes away: whatever was open is left. */
  leave() {
    if (this.reader.id) this.#report(this.reader.id, null);
    void this.composer.flush().catch(() => {});
    this.composer.dispose();
    this.notices.dispose();
  }

  /** A click on a row: cursor and reading pane follow it. */
  clickRow(index: number) {
    this.list.select(index);
    void this.openSelected();
  }

  /** Runs a keyboard action; `from` says whether focus was in the reading pane. */
  perform(action: Action, from: FocusTarget) {
    switch (action.kind) {
      case 'next':
      case 'previous':
        this.list.move(action.kind === 'next' ? 1 : -1);
        // Reading along: from the reading pane, j/k open the next conversation directly.
        if (from === 'reader') void this.openSelected();
        else this.focus('list');
        return;
      case 'first':
        this.list.select(0);
        this.focus('list');
        return;
      case 'last':
        this.list.select((this.list.total ?? 1) - 1);
        this.focus('list');
        return;
      case 'open':
        void this.openSelected(true);
        return;
      case 'back':
        this.focus('list');
        return;
      case 'view':
        this.showView(action.view);
        return;
      case 'help':
        this.shortcutsOpen = true;
        return;
      case 'reply':
        void this.#composeKey('reply', from);
        return;
      case 'replyAll':
        void this.#composeKey('reply_all', from);
        return;
      case 'forward':
        void this.#composeKey('forward', from);
        return;
      case 'newMessage':
        void this.compose('new', null);
        return;
      case 'note':
        void this.#noteKey(from);
        return;
      case 'history':
        void this.#historyKey(from);
        return;
      case 'mentions':
        this.showPlace('mentions');
        return;
      case 'claim':
      case 'handOver':
      case 'waiting':
      case 'done':
      case 'reopen':
        void this.#teamKey(action.kind, from);
        return;
    }
  }

  /**
   * Team keys act on what the user looks at: the open conversation from the reading
   * pane, the row under the cursor from the list (opened, so the outcome is visible).
   */
  async #teamKey(key: TeamKey, from: FocusTarget) {
    const id = (from === 'reader' ? this.reader.id : null) ?? (await this.#openSelectedRow());
    if (id === null) return;
    switch (key) {
      case 'claim': {
        const me = this.team.me;
        const mine = me !== null && this.holdings.of(id)?.owner === me;
        await this.act(id, mine ? { kind: 'release' } : { kind: 'claim' });
        return;
      }
      case 'handOver': {
        const owner = this.holdings.of(id)?.owner ?? null;
        // Only the holder hands over; say so instead of opening a menu that cannot work.
        if (owner !== null && owner !== this.team.me) this.notices.show(locale.m.team.holds(owner), 'error');
        else this.handOverRequested = id;
        return;
      }
      default: {
        const status = KEY_STATUS[key];
        // `o` on an open conversation is a slip of the finger, not a change to announce.
        if (this.holdings.of(id)?.status === status) return;
        await this.act(id, { kind: 'set_status', status });
      }
    }
  }

  /**
   * Carries out a team action. Success and failure both end in a short notice, never a
   * dialog; a lost claim race shows the real holder at once.
   */
  async act(id: ConversationId, action: TeamAction) {
    if (this.busy.has(id)) return;
    this.busy = new Set([...this.busy, id]);
    try {
      await ipc.actOnConversation(id, action);
      this.holdings.accepted(id, this.#outcome(action));
      this.notices.show(this.#doneText(action));
    } catch (error) {
      const problem = toProblem(error);
      if (problem.code === 'claim_conflict' && problem.holder) {
        this.holdings.accepted(id, { owner: problem.holder, held_since: problem.held_since });
      }
      this.notices.show(problemText(problem), 'error');
    } finally {
      const busy = new Set(this.busy);
      busy.delete(id);
      this.busy = busy;
      // The engine announces the change too; asking now keeps list and header from lagging.
      this.list.refresh();
      if (this.reader.id === id) this.reader.refresh();
    }
  }

  #outcome(action: TeamAction): Partial<Holding> {
    switch (action.kind) {
      case 'claim':
        return { owner: this.team.me, held_since: Date.now() };
      case 'release':
        return { owner: null, held_since: null };
      case 'hand_over':
        return { owner: action.to, held_since: Date.now() };
      case 'set_status':
        return { status: action.status };
    }
  }

  #doneText(action: TeamAction): string {
    const t = locale.m.team;
    switch (action.kind) {
      case 'claim':
        return t.claimed;
      case 'release':
        return t.released;
      case 'hand_over':
        return t.handedOver(action.to);
      case 'set_status':
        return action.status === 'waiting' ? t.markedWaiting : action.status === 'done' ? t.markedDone : t.reopened;
    }
  }

  /** The engine reports changed conversations; the list order may have changed too. */
  conversationsChanged(ids: ConversationId[]) {
    this.list.refresh();
    if (this.reader.id && ids.includes(this.reader.id)) {
      this.reader.refresh();
      this.history.refresh();
    }
    this.composer.conversationsChanged(ids);
  }

  presenceChanged(id: ConversationId) {
    this.composer.presenceChanged(id);
  }

  // --- Writing and sending -------------------------------------------------------------

  /** r, a and f answer what the user looks at, like the team keys. */
  async #composeKey(kind: DraftKind, from: FocusTarget) {
    const id = await this.#lookedAt(from);
    if (id === null) return;
    await this.compose(kind, id);
  }

  /**
   * Opens the composer on a new draft. A reply without `source` answers the customer's
   * newest message. A draft already open is saved first and stays under Drafts.
   */
  async compose(kind: DraftKind, conversation: ConversationId | null, source: MessageKey | null = null) {
    if (this.composer.starting) return;
    if (!(await this.#park())) return;
    this.place = 'mail';
    try {
      await this.composer.start(kind, conversation, source, locale.language);
    } catch (error) {
      this.notices.show(`${locale.m.compose.startFailed} ${problemText(toProblem(error))}`, 'error');
    }
  }

  /** Continues a draft from the Drafts list or the reading pane. */
  async resume(draft: Draft) {
    if (this.composer.draft?.id === draft.id) return;
    if (!(await this.#park())) return;
    this.place = 'mail';
    if (draft.conversation && draft.conversation !== this.reader.id) this.open(draft.conversation);
    this.composer.open(draft);
    if (draft.conversation) this.#report(draft.conversation, 'replying');
  }

  /**
   * Saves and puts away the open draft (if any). False when it could not be saved: then
   * it stays open, so no typing is lost.
   */
  async #park(): Promise<boolean> {
    const draft = this.composer.draft;
    if (!draft) return true;
    try {
      await this.composer.flush();
    } catch (error) {
      this.notices.show(problemText(toProblem(error)), 'error');
      return false;
    }
    this.drafts.put(this.composer.draft ?? draft);
    this.composer.clear();
    // Colleagues saw "replying"; the member is back to reading (or gone).
    if (draft.conversation) this.#report(draft.conversation, this.reader.id === draft.conversation ? 'viewing' : null);
    return true;
  }

  /** Esc or Close: the draft is saved and stays under Drafts. */
  async closeComposer() {
    if (!this.composer.draft) return;
    if (await this.#park()) {
      this.notices.show(locale.m.compose.draftKept);
      this.focus(this.reader.id ? 'reader' : 'list');
    }
  }

  async discardDraft(id: string) {
    try {
      await ipc.discardDraft(id);
    } catch (error) {
      const problem = toProblem(error);
      // Gone already is what was wanted.
      if (problem.code !== 'not_found') {
        this.notices.show(problemText(problem), 'error');
        return;
      }
    }
    this.drafts.forget(id);
    if (this.composer.draft?.id === id) {
      const conversation = this.composer.draft.conversation;
      this.composer.clear();
      if (conversation && this.reader.id === conversation) this.#report(conversation, 'viewing');
      this.focus(this.reader.id ? 'reader' : 'list');
    }
    this.notices.show(locale.m.compose.discarded);
  }

  /** Send (now or at `sendAt`); the guard may stop it and open its dialog instead. */
  async send(sendAt: number | null = null) {
    this.#sent(await this.composer.send(sendAt));
  }

  /** The guard dialog's "Send anyway". */
  async sendAnyway() {
    this.#sent(await this.composer.sendDespite());
  }

  #sent(item: OutboxItem | null) {
    if (!item) return;
    const draft = this.composer.draft;
    this.composer.clear();
    if (draft) this.drafts.forget(draft.id);
    this.focus(this.reader.id ? 'reader' : 'list');
    if (item.status.state === 'held') {
      // A colleague took the conversation at the same moment: the member just pressed
      // Send and is looking, so the answer is the dialog, not a countdown.
      this.outbox.upsert(item);
      this.outbox.review(item.id);
      return;
    }
    this.outbox.queued(item);
  }

  /** The engine reports an outbox item; one that has just been held needs the member. */
  outboxChanged(item: OutboxItem) {
    const before = this.outbox.get(item.id)?.status.state;
    this.outbox.upsert(item);
    // An item new to this window comes from its own Send, whose answer opens the dialog.
    if (item.status.state === 'held' && before !== undefined && before !== 'held') this.#held(item);
  }

  /**
   * A queued message the outbox held at its last look before sending: the member decides
   * in a dialog. One that would open under their hands while they type, or over another
   * dialog, waits behind a notice with Review. In the background the desktop says it too.
   */
  #held(item: OutboxItem) {
    const text = heldNotice(item);
    const review = () => this.outbox.review(item.id);
    if (this.notifier.inBackground()) this.notifier.desktop(text, locale.m.held.notificationBody, review);
    if (this.#busyHere()) {
      this.notices.show(text, 'info', {
        icon: 'alert',
        lifetimeMs: 15_000,
        action: { label: locale.m.held.review, run: review },
      });
    } else {
      review();
    }
  }

  /** The member is writing, or answering another dialog: a dialog now would interrupt. */
  #busyHere(): boolean {
    if (this.composer.isOpen && this.place === 'mail') return true;
    if (typeof document === 'undefined') return false;
    return document.querySelector('dialog[open]') !== null || isTypingTarget(document.activeElement);
  }

  /**
   * "Undo" on a message still waiting, or "Edit" on a held one: it comes back as a draft
   * in the composer (the engine gives back a claim the send took).
   */
  async undoSend(id: string) {
    await this.outbox.whileBusy(id, async () => {
      try {
        const draft = await ipc.undoSend(id);
        this.outbox.remove(id);
        await this.resume(draft);
        this.notices.show(locale.m.sendUndo.undone);
      } catch (error) {
        const problem = toProblem(error);
        this.outbox.dismissJustSent();
        this.notices.show(problem.code === 'too_late_to_undo' ? locale.m.sendUndo.tooLate : problemText(problem), 'error');
      }
    });
  }

  /**
   * "View their reply": the composer is put away (the draft stays), and the reading pane
   * opens the conversation at that message. `conversation` is the one the message is in
   * when it is not the draft's (a held reply's).
   */
  async viewMessage(key: MessageKey, conversation = this.composer.draft?.conversation ?? this.reader.id) {
    this.composer.guarded = null;
    if (!(await this.#park()) || !conversation) return;
    // A held reply can be reviewed from the Outbox: the message shows in the mail columns.
    if (this.place === 'mentions') this.mentions.left();
    this.place = 'mail';
    if (conversation !== this.reader.id) this.open(conversation);
    else this.reader.refresh();
    this.reveal = { conversation, key, seq: (this.reveal?.seq ?? 0) + 1 };
  }

  resync() {
    this.list.reload();
    this.reader.reload();
    this.notesChanged();
  }
}
