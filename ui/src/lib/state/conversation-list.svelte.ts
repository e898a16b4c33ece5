import type { ConversationId, ConversationSummary, View } from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import { START_VIEW } from '../views';
import type { Holdings } from './holdings.svelte';

/** Rows fetched per `list_conversations` call. */
export const PAGE_SIZE = 100;
/** Pages kept in memory; the farthest from the viewport go first. 40 pages = 4,000 rows. */
const MAX_CACHED_PAGES = 40;
/** Change notifications arriving within this window cause one refetch. */
const REFRESH_COALESCE_MS = 100;
/** Fetches wait this long so a fast scroll or a dragged scrollbar does not ask for every page it passes. */
const FETCH_DELAY_MS = 40;

/**
 * The conversation list of one view as a sparse, paged window over a list that may
 * hold 100,000 rows. Only the pages near the viewport are fetched and kept; the UI asks
 * `rowAt(i)` and gets `undefined` for a row that is still on its way.
 *
 * A row's holder and status are recorded in `Holdings` as its page arrives and read from
 * there, not from the row: every loaded row has its entry until its page leaves.
 */
export class ConversationList {
  view = $state<View>(START_VIEW);
  /** All rows of the view; null until the first page arrived. */
  total = $state<number | null>(null);
  problem = $state<UiProblem | null>(null);
  /** The keyboard cursor; -1 when the list is empty. */
  selectedIndex = $state(0);
  /** The id under the cursor, kept so a reordered list can find it again. */
  selectedId = $state<ConversationId | null>(null);

  // Pages live outside Svelte's deep proxies (rows are immutable data, and proxying
  // 4,000 objects would cost for nothing); `#version` tells readers that something changed.
  #pages = new Map<number, ConversationSummary[]>();
  #version = $state(0);
  #inFlight = new Set<number>();
  /** Bumped whenever the view or its order changes, so late answers for the old list are dropped. */
  #generation = 0;
  #wanted: { first: number; last: number } = { first: 0, last: 0 };
  #timer: ReturnType<typeof setTimeout> | null = null;
  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** Callers waiting for a page (Enter on a row that is still loading). */
  #waiters = new Map<number, Array<() => void>>();
  #holdings: Holdings;

  constructor(holdings: Holdings) {
    this.#holdings = holdings;
  }

  loading = $derived(this.total === null && this.problem === null);
  isEmpty = $derived(this.total === 0);

  /** The row at `index`, or undefined while its page is loading. */
  rowAt(index: number): ConversationSummary | undefined {
    void this.#version;
    return this.#pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  selectedRow = $derived.by(() => this.rowAt(this.selectedIndex));

  /** The loaded row of conversation `id`, wherever it is in the view. */
  find(id: ConversationId | null): ConversationSummary | undefined {
    void this.#version;
    if (id === null) return undefined;
    for (const rows of this.#pages.values()) {
      const row = rows.find((r) => r.id === id);
      if (row) return row;
    }
    return undefined;
  }

  /** Switches to another view and starts over at its top. */
  show(view: View) {
    this.view = view;
    this.selectedIndex = 0;
    this.selectedId = null;
    this.reload();
  }

  /** Forgets every page and fetches what is in view again (view switch, resync). */
  reload() {
    this.#generation++;
    this.#drop([...this.#pages.keys()]);
    this.#inFlight.clear();
    this.total = null;
    this.problem = null;
    this.#version++;
    this.#fetchWanted(true);
  }

  /**
   * Some conversations changed, and the order may have changed with them: every cached
   * page may now be stale. The rows on screen stay until fresh ones replace them, so the
   * list does not flash.
   */
  refresh() {
    // During a sync the engine reports changes in bursts; one refetch per burst is enough.
    if (this.#refreshTimer !== null) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      this.#refreshNow();
    }, REFRESH_COALESCE_MS);
  }

  #refreshNow() {
    this.#generation++;
    this.#inFlight.clear();
    const visiblePages = this.#pageRange(this.#wanted.first, this.#wanted.last);
    this.#drop([...this.#pages.keys()].filter((page) => !visiblePages.includes(page)));
    for (const page of visiblePages) void this.#fetchPage(page, this.#generation, true);
  }

  /** The viewport shows rows first..last (inclusive); fetch what is missing. */
  setVisibleRange(first: number, last: number) {
    this.#wanted = { first, last };
    this.#fetchWanted(false);
  }

  /** The row at `index`, fetching its page first when needed. */
  async loadRow(index: number): Promise<ConversationSummary | undefined> {
    const loaded = this.rowAt(index);
    if (loaded || index < 0) return loaded;
    const page = Math.floor(index / PAGE_SIZE);
    await new Promise<void>((resolve) => {
      const waiting = this.#waiters.get(page) ?? [];
      waiting.push(resolve);
      this.#waiters.set(page, waiting);
      void this.#fetchPage(page, this.#generation, false);
    });
    return this.rowAt(index);
  }

  #wake(page: number) {
    const waiting = this.#waiters.get(page);
    this.#waiters.delete(page);
    for (const resolve of waiting ?? []) resolve();
  }

  /** Moves the cursor. */
  select(index: number) {
    const count = this.total ?? 0;
    if (count === 0) {
      this.selectedIndex = -1;
      this.selectedId = null;
      return;
    }
    this.selectedIndex = Math.max(0, Math.min(count - 1, index));
    this.selectedId = this.rowAt(this.selectedIndex)?.id ?? null;
  }

  move(delta: number) {
    this.select(this.selectedIndex + delta);
  }

  #pageRange(first: number, last: number): number[] {
    const pages: number[] = [];
    const start = Math.max(0, Math.floor(first / PAGE_SIZE));
    const end = Math.max(start, Math.floor(Math.max(first, last) / PAGE_SIZE));
    for (let page = start; page <= end; page++) pages.push(page);
    return pages;
  }

  #fetchWanted(now: boolean) {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const run = () => {
      this.#timer = null;
      const generation = this.#generation;
      for (const page of this.#pageRange(this.#wanted.first, this.#wanted.last)) {
        if (!this.#pages.has(page)) void this.#fetchPage(page, generation, false);
      }
    };
    if (now) run();
    else this.#timer = setTimeout(run, FETCH_DELAY_MS);
  }

  async #fetchPage(page: number, generation: number, replacing: boolean) {
    const total = this.total;
    if (total !== null && page * PAGE_SIZE >= total && page > 0) {
      this.#wake(page);
      return;
    }
    // Whoever fetches it already will wake the waiters.
    if (this.#inFlight.has(page)) return;
    this.#inFlight.add(page);
    const stamp = this.#holdings.stamp();
    try {
      const result = await ipc.listConversations(this.view, page * PAGE_SIZE, PAGE_SIZE);
      if (generation !== this.#generation) return;
      this.total = result.total;
      this.problem = null;
      this.#holdings.fromRows(result.rows, stamp);
      const replaced = this.#pages.get(page) ?? [];
      this.#pages.set(page, result.rows);
      this.#forgetUnlisted(replaced);
      this.#evict();
      this.#version++;
      this.#followSelection(replacing);
    } catch (error) {
      if (generation !== this.#generation) return;
      // A failed page leaves earlier rows in place; only an empty list shows the error.
      if (this.#pages.size === 0) this.problem = toProblem(error);
    } finally {
      if (generation === this.#generation) this.#inFlight.delete(page);
      this.#wake(page);
    }
  }

  /** After a page arrives, keep the cursor on the same conversation even if it moved. */
  #followSelection(reordered: boolean) {
    const count = this.total ?? 0;
    if (count === 0) {
      this.selectedIndex = -1;
      this.selectedId = null;
      return;
    }
    if (this.selectedIndex < 0 || this.selectedIndex >= count) {
      this.selectedIndex = Math.max(0, Math.min(count - 1, this.selectedIndex));
    }
    const here = this.rowAt(this.selectedIndex);
    if (this.selectedId === null) {
      this.selectedId = here?.id ?? null;
      return;
    }
    if (!reordered || here?.id === this.selectedId) return;
    for (const [page, rows] of this.#pages) {
      const at = rows.findIndex((row) => row.id === this.selectedId);
      if (at >= 0) {
        this.selectedIndex = page * PAGE_SIZE + at;
        return;
      }
    }
  }

  #evict() {
    if (this.#pages.size <= MAX_CACHED_PAGES) return;
    const centre = Math.floor((this.#wanted.first + this.#wanted.last) / 2 / PAGE_SIZE);
    const byDistance = [...this.#pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    this.#drop(byDistance.slice(0, this.#pages.size - MAX_CACHED_PAGES));
  }

  /** Pages leave the cache. */
  #drop(pages: readonly number[]) {
    const rows = pages.flatMap((page) => this.#pages.get(page) ?? []);
    for (const page of pages) this.#pages.delete(page);
    this.#forgetUnlisted(rows);
  }

  /** Rows that left the cache take their holdings along, unless a page still has them. */
  #forgetUnlisted(rows: readonly ConversationSummary[]) {
    if (rows.length === 0) return;
    const gone = new Set(rows.map((row) => row.id));
    for (const cached of this.#pages.values()) for (const row of cached) gone.delete(row.id);
    this.#holdings.forget(gone);
  }
}
