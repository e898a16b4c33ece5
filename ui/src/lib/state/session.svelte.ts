import type { EngineEvent, SetupState } from '../bindings';
import { ipc, onEngineEvent } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import { ConnectionStatus } from './connection-status.svelte';
import { Workspace } from './workspace.svelte';

export type Phase = 'loading' | 'failed' | 'setup' | 'main';

/** The app from start to finish: which screen shows, and the engine's events routed to it. */
export class Session {
  phase = $state<Phase>('loading');
  setup = $state.raw<SetupState | null>(null);
  problem = $state<UiProblem | null>(null);
  status = new ConnectionStatus();
  workspace = new Workspace();

  #unlisten: (() => void) | null = null;

  async start() {
    this.phase = 'loading';
    this.problem = null;
    try {
      // Listen before asking for anything, so no event falls between the two.
      this.#unlisten ??= await onEngineEvent((event) => this.#handle(event));
      void this.status.load();
      const setup = await ipc.getSetup();
      this.#enter(setup);
    } catch (error) {
      this.problem = toProblem(error);
      this.phase = 'failed';
    }
  }

  /** The setup form saved an account; ask the engine what it has now. */
  async accountSaved() {
    try {
      this.#enter(await ipc.getSetup());
      void this.status.load();
    } catch (error) {
      this.problem = toProblem(error);
      this.phase = 'failed';
    }
  }

  #enter(setup: SetupState) {
    this.setup = setup;
    if (setup.account) {
      this.phase = 'main';
      this.workspace.team.accountMember = setup.account.member_id;
      this.workspace.account = setup.account;
      this.workspace.start();
    } else {
      this.phase = 'setup';
    }
  }

  #handle(event: EngineEvent) {
    switch (event.type) {
      case 'connectivity':
        this.status.set(event.connectivity);
        // The team overview (members, where the state lives) follows the connection;
        // asking again also covers a `team` event sent before this window listened.
        if (this.phase === 'main') void this.workspace.team.load();
        return;
      case 'sync_progress':
        this.status.setProgress(event.progress);
        return;
      case 'conversations_changed':
        if (this.phase === 'main') this.workspace.conversationsChanged(event.ids);
        return;
      case 'team':
        this.workspace.team.setOverview(event.overview);
        return;
      case 'presence':
        this.workspace.team.setPresence(event.presence);
        this.workspace.presenceChanged(event.presence.id);
        return;
      case 'outbox':
        this.workspace.outboxChanged(event.item);
        return;
      case 'notes_changed':
        if (this.phase === 'main') this.workspace.notesChanged();
        return;
      case 'notify':
        if (this.phase === 'main') this.workspace.notifier.notify(event.notification);
        return;
      case 'resync':
        if (this.phase === 'main') {
          this.workspace.resync();
          void this.workspace.team.load();
          void this.workspace.outbox.load();
        }
        return;
    }
  }

  dispose() {
    this.#unlisten?.();
    this.#unlisten = null;
    this.workspace.leave();
    this.status.dispose();
  }
}
