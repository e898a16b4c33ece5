import type { Activity, ConversationId, ConversationSummary, Status, TeamAction, View } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { ipc } from '../ipc';
import type { Action } from '../keyboard/shortcuts';
import { toProblem } from '../problem';
import { START_VIEW } from '../views';
import { ConversationList } from './conversation-list.svelte';
import { ConversationReader } from './conversation-reader.svelte';
import { LinkOpener } from './link-opener.svelte';
import { Notices } from './notices.svelte';
import { TeamState } from './team.svelte';

export type FocusTarget = 'list' | 'reader';

type TeamKey = 'claim' | 'handOver' | 'waiting' | 'done' | 'reopen';

const KEY_STATUS: Record<'waiting' | 'done' | 'reopen', Status> = { waiting: 'waiting', done: 'done', reopen: 'open' };

/**
 * The main screen: the list of the current view, the open conversation, and the
 * overlays on top. Keyboard actions land here, so mouse and keyboard share one path.
 */
export class Workspace {
  list = new ConversationList();
  reader = new ConversationReader();
  links = new LinkOpener();
  team = new TeamState();
  notices = new Notices();
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

  /** Holder and status of the open conversation, as fresh as the list knows them. */
  openSummary = $derived<ConversationSummary | null>(this.list.find(this.reader.id) ?? this.reader.summary);

  start(view: View = START_VIEW) {
    this.list.show(view);
    this.focus('list');
    void this.team.load();
  }

  focus(target: FocusTarget) {
    this.focusRequest = { target, seq: this.focusRequest.seq + 1 };
  }

  showView(view: View) {
    if (view !== this.list.view) this.list.show(view);
    this.focus('list');
  }

  /**
   * Opens the conversation under the cursor. After a jump (End, a fast scroll) its row
   * may still be on its way; then it opens when it arrives, unless the cursor moved on.
   */
  async openSelected(focusReader = false): Promise<boolean> {
    const row = await this.#selectedRow();
    if (!row) return false;
    this.open(row.id, row);
    if (focusReader) this.focus('reader');
    return true;
  }

  async #selectedRow(): Promise<ConversationSummary | undefined> {
    const index = this.list.selectedIndex;
    const row = this.list.rowAt(index) ?? (await this.list.loadRow(index));
    return row && this.list.selectedIndex === index ? row : undefined;
  }

  open(id: ConversationId, summary?: ConversationSummary) {
    const previous = this.reader.id;
    this.reader.open(id, summary);
    if (previous === id) return;
    this.handOverRequested = null;
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

  /** The window goes away: whatever was open is left. */
  leave() {
    if (this.reader.id) this.#report(this.reader.id, null);
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
      case 'claim':
      case 'handOver':
      case 'waiting':
      case 'done':
      case 'reopen':
        void this.#teamKey(action.kind, from);
        return;
    }
  }

  /** Holder and status of a conversation, from the list or from when it was opened. */
  summaryOf(id: ConversationId): ConversationSummary | null {
    return this.list.find(id) ?? (this.reader.id === id ? this.reader.summary : null);
  }

  /**
   * Team keys act on what the user looks at: the open conversation from the reading
   * pane, the row under the cursor from the list (opened, so the outcome is visible).
   */
  async #teamKey(key: TeamKey, from: FocusTarget) {
    let id = from === 'reader' ? this.reader.id : null;
    if (id === null) {
      const row = await this.#selectedRow();
      if (!row) return;
      if (row.id !== this.reader.id) this.open(row.id, row);
      id = row.id;
    }
    switch (key) {
      case 'claim': {
        const me = this.team.me;
        const mine = me !== null && this.summaryOf(id)?.owner === me;
        await this.act(id, mine ? { kind: 'release' } : { kind: 'claim' });
        return;
      }
      case 'handOver': {
        const owner = this.summaryOf(id)?.owner ?? null;
        // Only the holder hands over; say so instead of opening a menu that cannot work.
        if (owner !== null && owner !== this.team.me) this.notices.show(locale.m.team.holds(owner), 'error');
        else this.handOverRequested = id;
        return;
      }
      default: {
        const status = KEY_STATUS[key];
        // `o` on an open conversation is a slip of the finger, not a change to announce.
        if (this.summaryOf(id)?.status === status) return;
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
      this.#apply(id, this.#outcome(action));
      this.notices.show(this.#doneText(action));
    } catch (error) {
      const problem = toProblem(error);
      if (problem.code === 'claim_conflict' && problem.holder) this.#apply(id, { owner: problem.holder });
      this.notices.show(problemText(problem), 'error');
    } finally {
      const busy = new Set(this.busy);
      busy.delete(id);
      this.busy = busy;
      // The engine announces the change too; asking now keeps the list from lagging.
      this.list.refresh();
    }
  }

  #outcome(action: TeamAction): Partial<ConversationSummary> {
    switch (action.kind) {
      case 'claim':
        return { owner: this.team.me };
      case 'release':
        return { owner: null };
      case 'hand_over':
        return { owner: action.to };
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

  #apply(id: ConversationId, change: Partial<ConversationSummary>) {
    const base = this.summaryOf(id);
    this.list.patch(id, change);
    if (this.reader.id === id && base) this.reader.summary = { ...base, ...change };
  }

  /** The engine reports changed conversations; the list order may have changed too. */
  conversationsChanged(ids: ConversationId[]) {
    this.list.refresh();
    if (this.reader.id && ids.includes(this.reader.id)) this.reader.refresh();
  }

  resync() {
    this.list.reload();
    this.reader.reload();
  }
}
