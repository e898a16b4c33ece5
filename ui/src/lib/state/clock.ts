import { createSubscriber } from 'svelte/reactivity';

/**
 * The time, ticking: `now` read in a template or effect changes every `everyMs`. The
 * timer runs only while something reads it, so a countdown on one row of a long list
 * costs nothing once that row stops counting.
 */
export class Clock {
  readonly #subscribe: () => void;

  constructor(everyMs: number) {
    this.#subscribe = createSubscriber((update) => {
      const timer = setInterval(update, everyMs);
      return () => clearInterval(timer);
    });
  }

  get now(): number {
    this.#subscribe();
    return Date.now();
  }
}

/** For countdowns in seconds ("leaves in 8 s"). */
export const seconds = new Clock(1000);
/** For relative dates ("10:42", "Yesterday"), where a minute's precision is enough. */
export const minutes = new Clock(60_000);
