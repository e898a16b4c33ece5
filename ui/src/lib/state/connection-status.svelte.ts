import type { Connectivity, SyncProgress } from '../bindings';
import { ipc } from '../ipc';

/**
 * What the status bar shows: the engine's connectivity, a countdown to the next retry
 * that ticks every second, and the progress of the first sync.
 */
export class ConnectionStatus {
  connectivity = $state.raw<Connectivity>({ state: 'connecting' });
  progress = $state.raw<SyncProgress | null>(null);
  /** Wall-clock time at which the engine retries, when it is waiting to retry. */
  #retryAt = $state<number | null>(null);
  #now = $state(Date.now());
  #ticker: ReturnType<typeof setInterval> | null = null;

  /** Whole seconds until the retry, counting down live; never below zero. */
  retryInSecs = $derived(
    this.#retryAt === null ? null : Math.max(0, Math.ceil((this.#retryAt - this.#now) / 1000)),
  );

  async load() {
    try {
      this.set(await ipc.getConnectivity());
    } catch {
      // The first connectivity event will tell; "Connecting…" is a truthful default.
    }
  }

  set(connectivity: Connectivity) {
    this.connectivity = connectivity;
    if (connectivity.state === 'retrying') {
      this.#now = Date.now();
      this.#retryAt = this.#now + connectivity.in_secs * 1000;
      this.#startTicking();
    } else {
      this.#retryAt = null;
      this.#stopTicking();
    }
    // A finished or interrupted sync leaves no stale bar behind.
    if (connectivity.state === 'online' && !connectivity.syncing) this.progress = null;
    if (connectivity.state === 'offline' || connectivity.state === 'retrying') this.progress = null;
  }

  /** The user does not want to wait for the backoff; the engine reports the outcome as events. */
  async retryNow() {
    try {
      await ipc.retryNow();
    } catch {
      // Nothing to add: the connectivity events keep telling the truth.
    }
  }

  setProgress(progress: SyncProgress) {
    this.progress = progress.total > 0 && progress.done >= progress.total ? null : progress;
  }

  #startTicking() {
    if (this.#ticker !== null) return;
    this.#ticker = setInterval(() => {
      this.#now = Date.now();
      if (this.retryInSecs === 0) this.#stopTicking();
    }, 250);
  }

  #stopTicking() {
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#ticker = null;
  }

  dispose() {
    this.#stopTicking();
  }
}
