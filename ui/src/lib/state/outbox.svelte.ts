import type { OutboxItem } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import type { Notices } from './notices.svelte';

export type OutboxAction = 'sendAgain' | 'markSent' | 'recheck' | 'discard';

/** Not sent yet, or needing the member: what the sidebar badge counts. */
export function needsAttention(item: OutboxItem): boolean {
  return item.status.state !== 'sent';
}

/**
 * The messages on their way out, kept current by the engine's `outbox` events, and the
 * one just sent, which can still be taken back until its moment comes.
 */
export class Outbox {
  items = $state.raw<OutboxItem[]>([]);
  loaded = $state(false);
  problem = $state.raw<UiProblem | null>(null);
  /** Items with an action on its way; their buttons wait. */
  busy = $state.raw<ReadonlySet<string>>(new Set());
  /** The message just queued: the "Sending in 10 s — Undo" notice follows it. */
  justSent = $state.raw<OutboxItem | null>(null);

  attention = $derived(this.items.filter(needsAttention).length);
  /** Newest first: what was just sent is on top. */
  sorted = $derived([...this.items].sort((a, b) => b.queued_at - a.queued_at));

  readonly #notices: Notices;

  constructor(notices: Notices) {
    this.#notices = notices;
  }

  async load() {
    try {
      const items = await ipc.listOutbox();
      // Events that came while asking are newer than the list; they win.
      const known = new Map(this.items.map((i) => [i.id, i]));
      this.items = items.map((i) => known.get(i.id) ?? i).concat(this.items.filter((i) => !items.some((x) => x.id === i.id)));
      this.problem = null;
    } catch (error) {
      this.problem = toProblem(error);
    } finally {
      this.loaded = true;
    }
  }

  /** An `outbox` event or a command's answer: the item as it is now. */
  upsert(item: OutboxItem) {
    const at = this.items.findIndex((i) => i.id === item.id);
    this.items = at < 0 ? [...this.items, item] : this.items.map((x, i) => (i === at ? item : x));
    if (this.justSent?.id === item.id) this.justSent = item;
  }

  remove(id: string) {
    this.items = this.items.filter((i) => i.id !== id);
    if (this.justSent?.id === id) this.justSent = null;
  }

  /** Shows the undo notice for a message just queued. */
  queued(item: OutboxItem) {
    this.upsert(item);
    this.justSent = item;
  }

  dismissJustSent() {
    this.justSent = null;
  }

  async act(id: string, action: OutboxAction) {
    if (this.busy.has(id)) return;
    this.busy = new Set([...this.busy, id]);
    const t = locale.m.outbox;
    try {
      switch (action) {
        case 'sendAgain':
          this.upsert(await ipc.sendAgain(id));
          this.#notices.show(t.sentAgain);
          return;
        case 'markSent':
          this.upsert(await ipc.markSent(id));
          this.#notices.show(t.markedSent);
          return;
        case 'recheck': {
          const item = await ipc.recheckSent(id);
          this.upsert(item);
          this.#notices.show(item.status.state === 'sent' ? t.foundInSent : t.lookedAgain);
          return;
        }
        case 'discard':
          await ipc.discardOutbox(id);
          this.remove(id);
          this.#notices.show(t.discarded);
          return;
      }
    } catch (error) {
      this.#notices.show(problemText(toProblem(error)), 'error');
    } finally {
      const busy = new Set(this.busy);
      busy.delete(id);
      this.busy = busy;
    }
  }
}
