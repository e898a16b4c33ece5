import { SvelteMap } from 'svelte/reactivity';
import type { ConversationDetail, ConversationId, ConversationSummary, Status } from '../bindings';

/** Who holds a conversation, since when, and its status: what the team actions go by. */
export interface Holding {
  owner: string | null;
  status: Status;
  /** Since when `owner` holds it; only the detail says, rows do not. */
  held_since: number | null;
}

/**
 * Who holds which conversation and its status, for the whole window: the list rows, the
 * reading pane's header, the team keys and the Team view's groups all read it here and
 * nowhere else, so a claim can never show one holder in the list and another in the pane.
 *
 * Everything the engine says about it lands here: list pages, the open conversation's
 * detail, the outcome of a claim, release, hand-over or status change, and a lost race's
 * winner. Answers come back in any order (a page asked before a claim may arrive after
 * it), so each is recorded with a stamp taken when its request left, and an answer never
 * replaces one that was asked for later.
 */
export class Holdings {
  #entries = new SvelteMap<ConversationId, Holding>();
  // Stamps only decide which answer wins; nothing is drawn from them, so they are plain.
  #stamps = new Map<ConversationId, number>();
  #clock = 0;
  /** The conversation whose entry stays when the list forgets rows (the open one). */
  #kept: () => ConversationId | null;

  constructor(kept: () => ConversationId | null = () => null) {
    this.#kept = kept;
  }

  /** Taken just before asking the engine; the answer is recorded with it. */
  stamp(): number {
    return ++this.#clock;
  }

  of(id: ConversationId | null | undefined): Holding | null {
    return id ? (this.#entries.get(id) ?? null) : null;
  }

  /** A list page. Rows carry no "since when": a holder they confirm keeps the one known. */
  fromRows(rows: readonly ConversationSummary[], stamp: number) {
    for (const row of rows) {
      const known = this.#entries.get(row.id);
      const since = known && known.owner === row.owner ? known.held_since : null;
      this.#record(row.id, { owner: row.owner, status: row.status, held_since: since }, stamp);
    }
  }

  fromDetail(detail: ConversationDetail, stamp: number) {
    this.#record(detail.id, { owner: detail.owner, status: detail.status, held_since: detail.held_since }, stamp);
  }

  /**
   * What the engine has just accepted (or a lost race's winner), shown at once; it is
   * newer than every answer asked for before, and the refetch that follows confirms it.
   */
  accepted(id: ConversationId, change: Partial<Holding>) {
    const known = this.#entries.get(id);
    // Nothing to lay it over: the next answer brings the whole picture.
    if (known) this.#record(id, { ...known, ...change }, this.stamp());
  }

  /** Rows that left the list's cache; the open conversation's entry stays. */
  forget(ids: Iterable<ConversationId>) {
    const kept = this.#kept();
    for (const id of ids) {
      if (id === kept) continue;
      this.#entries.delete(id);
      this.#stamps.delete(id);
    }
  }

  #record(id: ConversationId, holding: Holding, stamp: number) {
    if ((this.#stamps.get(id) ?? 0) > stamp) return;
    this.#stamps.set(id, stamp);
    const known = this.#entries.get(id);
    // Unchanged entries are left alone, so a refetch redraws only the rows that changed.
    if (known && known.owner === holding.owner && known.status === holding.status && known.held_since === holding.held_since) {
      return;
    }
    this.#entries.set(id, holding);
  }
}
