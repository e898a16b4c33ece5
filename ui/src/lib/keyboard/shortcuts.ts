import type { View } from '../bindings';
import { VIEWS } from '../views';

export type Action =
  | { kind: 'next' }
  | { kind: 'previous' }
  | { kind: 'first' }
  | { kind: 'last' }
  | { kind: 'open' }
  | { kind: 'back' }
  | { kind: 'view'; view: View }
  | { kind: 'help' }
  | { kind: 'claim' }
  | { kind: 'handOver' }
  | { kind: 'waiting' }
  | { kind: 'done' }
  | { kind: 'reopen' }
  | { kind: 'reply' }
  | { kind: 'replyAll' }
  | { kind: 'forward' }
  | { kind: 'newMessage' }
  | { kind: 'note' }
  | { kind: 'history' }
  | { kind: 'mentions' };

/** One way to trigger an action: a sequence of keys pressed one after the other. */
export type KeySequence = readonly string[];

export type ShortcutGroup = 'list' | 'conversation' | 'writing' | 'views' | 'general';

export interface Shortcut {
  action: Action;
  group: ShortcutGroup;
  /** Alternatives, any of which triggers the action. */
  keys: readonly KeySequence[];
}

/** Every binding of the app. The overlay renders this list, so it cannot drift from it. */
export const SHORTCUTS: readonly Shortcut[] = [
  { action: { kind: 'next' }, group: 'list', keys: [['j'], ['ArrowDown']] },
  { action: { kind: 'previous' }, group: 'list', keys: [['k'], ['ArrowUp']] },
  { action: { kind: 'first' }, group: 'list', keys: [['Home']] },
  { action: { kind: 'last' }, group: 'list', keys: [['End']] },
  // `o` reopens a conversation (below); Enter is the one key that opens.
  { action: { kind: 'open' }, group: 'list', keys: [['Enter']] },
  { action: { kind: 'back' }, group: 'list', keys: [['Escape'], ['u']] },
  { action: { kind: 'claim' }, group: 'conversation', keys: [['c']] },
  { action: { kind: 'handOver' }, group: 'conversation', keys: [['h']] },
  { action: { kind: 'waiting' }, group: 'conversation', keys: [['w']] },
  { action: { kind: 'done' }, group: 'conversation', keys: [['d']] },
  { action: { kind: 'reopen' }, group: 'conversation', keys: [['o']] },
  // Capitals: n is a new message, h the hand-over; the notes are their shifted cousins.
  { action: { kind: 'note' }, group: 'conversation', keys: [['N']] },
  { action: { kind: 'history' }, group: 'conversation', keys: [['H']] },
  { action: { kind: 'reply' }, group: 'writing', keys: [['r']] },
  { action: { kind: 'replyAll' }, group: 'writing', keys: [['a']] },
  { action: { kind: 'forward' }, group: 'writing', keys: [['f']] },
  { action: { kind: 'newMessage' }, group: 'writing', keys: [['n']] },
  ...VIEWS.map(
    (view): Shortcut => ({
      action: { kind: 'view', view: view.id },
      group: 'views',
      keys: [['g', view.goKey], [view.digit]],
    }),
  ),
  { action: { kind: 'mentions' }, group: 'views', keys: [['g', '@'], ['8']] },
  { action: { kind: 'help' }, group: 'general', keys: [['?']] },
];

/** How long the first key of a sequence (`g`) waits for the second. */
const SEQUENCE_TIMEOUT_MS = 1500;

/**
 * Turns key presses into actions, including two-key sequences like `g i`. It knows
 * nothing about focus or the DOM beyond the key names, which keeps it testable.
 */
export class KeySequencer {
  #pending: string[] = [];
  #pendingSince = 0;

  readonly #shortcuts: readonly Shortcut[];

  constructor(shortcuts: readonly Shortcut[] = SHORTCUTS) {
    this.#shortcuts = shortcuts;
  }

  /** The action for this key, or null; a key that starts a sequence returns null and waits. */
  feed(key: string, now = Date.now()): Action | null {
    if (this.#pending.length > 0 && now - this.#pendingSince > SEQUENCE_TIMEOUT_MS) this.#pending = [];
    const typed = [...this.#pending, key];
    let prefixOfSomething = false;
    for (const shortcut of this.#shortcuts) {
      for (const sequence of shortcut.keys) {
        if (startsWith(sequence, typed)) {
          if (sequence.length === typed.length) {
            this.#pending = [];
            return shortcut.action;
          }
          prefixOfSomething = true;
        }
      }
    }
    if (prefixOfSomething) {
      this.#pending = typed;
      this.#pendingSince = now;
      return null;
    }
    this.#pending = [];
    // A broken sequence ("g x") should not swallow a key that works on its own.
    return typed.length > 1 ? this.feed(key, now) : null;
  }

  reset() {
    this.#pending = [];
  }
}

function startsWith(sequence: KeySequence, typed: readonly string[]): boolean {
  if (typed.length > sequence.length) return false;
  return typed.every((key, i) => sequence[i] === key);
}

/** Shortcuts must never fire while the user types into a field. */
// Duck-typed rather than `instanceof`: key events forwarded from the mail frame carry
// targets from another realm, whose elements are not instances of this window's classes.
export function isTypingTarget(target: EventTarget | null): boolean {
  const element = target as Partial<HTMLElement> | null;
  if (!element || typeof element.tagName !== 'string') return false;
  if (element.isContentEditable) return true;
  const tag = element.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (element as HTMLInputElement).type;
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(type);
  }
  return false;
}

/** Keys with modifiers belong to the system and the browser (copy, zoom, …). */
export function hasCommandModifier(event: KeyboardEvent): boolean {
  return event.ctrlKey || event.metaKey || event.altKey;
}
