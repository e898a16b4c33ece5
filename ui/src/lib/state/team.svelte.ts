import type { ConversationId, Presence, PresenceOn, TeamOverview } from '../bindings';
import { ipc } from '../ipc';

/**
 * What the window knows about the team: who I am, who the colleagues are, the link to
 * the team server, and who is looking at or answering which conversation.
 */
export class TeamState {
  overview = $state.raw<TeamOverview | null>(null);
  // Presence lives outside deep proxies: each entry is replaced whole by the engine.
  #presence = $state.raw<ReadonlyMap<ConversationId, readonly Presence[]>>(new Map());

  /** The member id from the account settings, until the engine's overview arrives. */
  accountMember = $state<string | null>(null);
  me = $derived(this.overview?.me ?? this.accountMember);
  /** Colleagues a conversation can be handed to: everyone but me. */
  colleagues = $derived((this.overview?.members ?? []).filter((m) => m !== this.overview?.me));

  async load() {
    try {
      this.overview = await ipc.getTeam();
    } catch {
      // The first `team` event tells; until then the status bar says nothing about it.
    }
  }

  setOverview(overview: TeamOverview) {
    this.overview = overview;
  }

  /** Colleagues on this conversation; this member is left out, the UI shows only others. */
  presenceOf(id: ConversationId | null | undefined): readonly Presence[] {
    if (!id) return [];
    const present = this.#presence.get(id) ?? [];
    const me = this.me;
    return me === null ? present : present.filter((p) => p.member !== me);
  }

  setPresence({ id, present }: PresenceOn) {
    const next = new Map(this.#presence);
    if (present.length === 0) next.delete(id);
    else next.set(id, present);
    this.#presence = next;
  }

  /** Asks for the presence on a conversation just opened; events keep it current. */
  async fetchPresence(id: ConversationId) {
    try {
      this.setPresence({ id, present: await ipc.getPresence(id) });
    } catch {
      // Presence is a nicety: without it the conversation still works.
    }
  }
}
