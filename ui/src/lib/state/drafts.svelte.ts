import type { ConversationId, Draft } from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';

/** The drafts kept by the engine, for the Drafts view and the reading pane's "continue writing". */
export class Drafts {
  items = $state.raw<Draft[]>([]);
  loaded = $state(false);
  problem = $state.raw<UiProblem | null>(null);

  /** Most recently touched first. */
  sorted = $derived([...this.items].sort((a, b) => b.saved_at - a.saved_at));

  async load() {
    try {
      this.items = await ipc.listDrafts();
      this.problem = null;
    } catch (error) {
      this.problem = toProblem(error);
    } finally {
      this.loaded = true;
    }
  }

  /** The newest draft answering this conversation, if one waits. */
  forConversation(id: ConversationId | null): Draft | null {
    if (!id) return null;
    return this.sorted.find((d) => d.conversation === id) ?? null;
  }

  /** The composer saved or closed a draft: the list shows it as it is now. */
  put(draft: Draft) {
    const at = this.items.findIndex((d) => d.id === draft.id);
    this.items = at < 0 ? [...this.items, draft] : this.items.map((x, i) => (i === at ? draft : x));
  }

  forget(id: string) {
    this.items = this.items.filter((d) => d.id !== id);
  }
}
