import type { ConversationDetail, ConversationId } from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import type { Holdings } from './holdings.svelte';
import { MessageView } from './message-view.svelte';

/**
 * The conversation open in the reading pane. Its holder and status go to `Holdings`
 * with every fetch, and the pane reads them there, like the list does.
 */
export class ConversationReader {
  id = $state<ConversationId | null>(null);
  detail = $state.raw<ConversationDetail | null>(null);
  messages = $state.raw<MessageView[]>([]);
  loading = $state(false);
  problem = $state<UiProblem | null>(null);

  #request = 0;
  #holdings: Holdings;

  constructor(holdings: Holdings) {
    this.#holdings = holdings;
  }

  allExpanded = $derived(this.messages.length > 0 && this.messages.every((m) => m.expanded));

  open(id: ConversationId) {
    if (id === this.id && (this.detail || this.loading)) return;
    this.id = id;
    this.detail = null;
    this.messages = [];
    void this.#load(false);
  }

  close() {
    this.#request++;
    this.id = null;
    this.detail = null;
    this.messages = [];
    this.loading = false;
    this.problem = null;
  }

  /** The engine says this conversation changed: new messages may have arrived. */
  refresh() {
    if (this.id) void this.#load(true);
  }

  /** Everything may be stale (resync): reload the conversation and the bodies shown. */
  reload() {
    if (!this.id) return;
    void this.#load(true).then(() => {
      for (const message of this.messages) message.reloadIfShown();
    });
  }

  retry() {
    if (this.id) void this.#load(false);
  }

  setAllExpanded(expanded: boolean) {
    for (const message of this.messages) message.setExpanded(expanded);
  }

  async #load(keepState: boolean) {
    const id = this.id;
    if (!id) return;
    const request = ++this.#request;
    this.loading = !keepState || !this.detail;
    this.problem = null;
    const stamp = this.#holdings.stamp();
    try {
      const detail = await ipc.getConversation(id);
      if (request !== this.#request) return;
      this.#holdings.fromDetail(detail, stamp);
      this.detail = detail;
      this.messages = this.#merge(detail, keepState);
    } catch (error) {
      if (request !== this.#request) return;
      this.problem = toProblem(error);
    } finally {
      if (request === this.#request) this.loading = false;
    }
  }

  /**
   * Builds the message views for a fresh detail. On a refresh, messages already shown
   * keep their expanded state and loaded body; a message that is new and the newest
   * is expanded, like on first open.
   */
  #merge(detail: ConversationDetail, keepState: boolean): MessageView[] {
    const previous = new Map(keepState ? this.messages.map((m) => [m.id, m]) : []);
    const newestIndex = detail.messages.length - 1;
    const views = detail.messages.map((summary, index) => {
      const view = new MessageView(summary, index === newestIndex);
      const old = previous.get(view.id);
      if (old) {
        old.summary = summary;
        return old;
      }
      return view;
    });
    for (const view of views) {
      if (view.expanded && !view.content && !view.loading) void view.load();
    }
    return views;
  }
}
