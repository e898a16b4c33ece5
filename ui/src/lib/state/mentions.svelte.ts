import type { Mention } from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';

/** Notes that name this member, for the Mentions view and the sidebar's badge. */
export class Mentions {
  items = $state.raw<Mention[]>([]);
  loaded = $state(false);
  problem = $state.raw<UiProblem | null>(null);

  unread = $derived(this.items.filter((m) => m.unread).length);
  /** Notes that were unread when the view opened: still marked new while it stays open. */
  fresh = $state.raw<ReadonlySet<string>>(new Set());

  #request = 0;

  async load() {
    const request = ++this.#request;
    try {
      const items = await ipc.listMentions();
      if (request !== this.#request) return;
      this.items = items;
      this.problem = null;
    } catch (error) {
      if (request === this.#request) this.problem = toProblem(error);
    } finally {
      if (request === this.#request) this.loaded = true;
    }
  }

  /** The view closed: what was new has been seen. */
  left() {
    this.fresh = new Set();
  }

  /** The member looks at the Mentions view: everything in it counts as read. */
  async seen() {
    await this.load();
    if (this.unread === 0) return;
    this.fresh = new Set([...this.fresh, ...this.items.filter((m) => m.unread).map((m) => m.note.id)]);
    try {
      await ipc.mentionsSeen();
      this.items = this.items.map((m) => (m.unread ? { ...m, unread: false } : m));
    } catch {
      // The badge stays; the next visit tries again.
    }
  }
}
