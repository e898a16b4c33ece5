import type { Template } from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';

/**
 * The team's canned replies and the mailbox's shared signature. They live in the
 * mailbox, so loading takes a round trip; the list is kept once loaded.
 */
export class Templates {
  items = $state.raw<Template[]>([]);
  loading = $state(false);
  loaded = $state(false);
  problem = $state.raw<UiProblem | null>(null);

  canned = $derived(
    this.items.filter((t) => t.kind === 'canned_reply').sort((a, b) => a.name.localeCompare(b.name)),
  );
  /** There is one shared signature; should the mailbox hold more, the first counts. */
  signature = $derived(this.items.find((t) => t.kind === 'mailbox_signature') ?? null);

  #request: Promise<void> | null = null;

  load(force = false): Promise<void> {
    if (this.#request) return this.#request;
    if (this.loaded && !force) return Promise.resolve();
    this.loading = true;
    this.#request = ipc
      .listTemplates()
      .then((items) => {
        this.items = items;
        this.problem = null;
        this.loaded = true;
      })
      .catch((error: unknown) => {
        this.problem = toProblem(error);
      })
      .finally(() => {
        this.loading = false;
        this.#request = null;
      });
    return this.#request;
  }

  /** Adds (empty id) or changes a template; rejects with the problem. */
  async save(template: Template): Promise<Template> {
    const saved = await ipc.saveTemplate(template);
    const at = this.items.findIndex((t) => t.id === saved.id);
    this.items = at < 0 ? [...this.items, saved] : this.items.map((x, i) => (i === at ? saved : x));
    return saved;
  }

  async remove(id: string) {
    await ipc.deleteTemplate(id);
    this.items = this.items.filter((t) => t.id !== id);
  }
}
