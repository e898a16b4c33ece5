import type { IconName } from '../../components/shared/Icon.svelte';

export type NoticeTone = 'info' | 'error';

/** A button on a notice ("Open"); using it also dismisses the notice. */
export interface NoticeAction {
  label: string;
  run: () => void;
}

export interface Notice {
  id: number;
  text: string;
  tone: NoticeTone;
  icon?: IconName;
  action?: NoticeAction;
}

export interface NoticeOptions {
  icon?: IconName;
  action?: NoticeAction;
  /** Longer than the default for notices the member may want to act on. */
  lifetimeMs?: number;
}

/** How long a notice stays; errors a little longer, so they can be read. */
const LIFETIME_MS: Record<NoticeTone, number> = { info: 4000, error: 8000 };
/** More than this and the oldest goes: notices must never pile up over the work. */
const MAX_SHOWN = 3;

/**
 * Short messages that go away by themselves: the outcome of an action, or why it did
 * not happen. Never modal, so a failed claim does not stop the user's work.
 */
export class Notices {
  items = $state.raw<Notice[]>([]);
  #next = 1;
  #timers = new Map<number, ReturnType<typeof setTimeout>>();

  show(text: string, tone: NoticeTone = 'info', options: NoticeOptions = {}) {
    const id = this.#next++;
    const items = [...this.items, { id, text, tone, icon: options.icon, action: options.action }];
    for (const old of items.slice(0, Math.max(0, items.length - MAX_SHOWN))) this.#clearTimer(old.id);
    this.items = items.slice(-MAX_SHOWN);
    this.#timers.set(
      id,
      setTimeout(() => this.dismiss(id), options.lifetimeMs ?? LIFETIME_MS[tone]),
    );
  }

  dismiss(id: number) {
    this.#clearTimer(id);
    this.items = this.items.filter((n) => n.id !== id);
  }

  #clearTimer(id: number) {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
  }

  dispose() {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
