import type { OutboxItem } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import type { Notices } from './notices.svelte';

export type OutboxAction = 'sendAgain' | 'markSent' | 'recheck' | 'discard' | 'sendHeld';

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
  /** The held message whose Discard waits for the member's yes. */
  discarding = $state<string | null>(null);
  /** The held message the review dialog shows. */
  #reviewId = $state<string | null>(null);

  attention = $derived(this.items.filter(needsAttention).length);
  /** Newest first: what was just sent is on top. */
  sorted = $derived([...this.items].sort((a, b) => b.queued_at - a.queued_at));
  /**
   * The message under review, as it is now: once it is no longer held (sent anyway from
   * the Outbox, taken back, discarded) there is nothing left to decide and the dialog goes.
   */
  reviewing = $derived(this.items.find((i) => i.id === this.#reviewId && i.status.state === 'held') ?? null);

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

  get(id: string): OutboxItem | undefined {
    return this.items.find((i) => i.id === id);
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

  /** Opens the dialog for a held message: send anyway, edit or discard. */
  review(id: string) {
    if (this.get(id)?.status.state === 'held') this.#reviewId = id;
  }

  /** The dialog closes; true when its message is still held (the member chose later). */
  closeReview(): boolean {
    const held = this.reviewing !== null;
    this.#reviewId = null;
    return held;
  }

  /** Discard on a held message asks first: it was never sent, its text would be lost. */
  confirmDiscard(id: string) {
    this.discarding = id;
  }

  /** Runs `work` for one item with its buttons waiting; a second click meanwhile does nothing. */
  async whileBusy(id: string, work: () => Promise<void>) {
    if (this.busy.has(id)) return;
    this.busy = new Set([...this.busy, id]);
    try {
      await work();
    } finally {
      const busy = new Set(this.busy);
      busy.delete(id);
      this.busy = busy;
    }
  }

  act(id: string, action: OutboxAction): Promise<void> {
    return this.whileBusy(id, async () => {
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
          case 'discard': {
            const held = this.get(id)?.status.state === 'held';
            await ipc.discardOutbox(id);
            this.remove(id);
            this.#notices.show(held ? locale.m.held.discarded : t.discarded);
            return;
          }
          case 'sendHeld': {
            const status = this.get(id)?.status;
            if (status?.state !== 'held') return;
            // Exactly what the member was shown: anything new since holds it again.
            this.upsert(await ipc.sendHeld(id, status.findings));
            this.#notices.show(locale.m.held.sendingAnyway);
            return;
          }
        }
      } catch (error) {
        this.#notices.show(problemText(toProblem(error)), 'error');
      }
    });
  }
}
