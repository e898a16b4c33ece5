import type { ActivityItem, ConversationId, Note } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import type { Notices } from './notices.svelte';

/**
 * A list about the open conversation, read again on demand: only the newest request's
 * answer is kept (a slow answer for a conversation left meanwhile is dropped).
 */
abstract class ConversationItems<T> {
  id = $state<ConversationId | null>(null);
  items = $state.raw<T[]>([]);
  loading = $state(false);
  problem = $state.raw<UiProblem | null>(null);

  #request = 0;

  protected abstract fetch(id: ConversationId): Promise<T[]>;

  async load() {
    const id = this.id;
    if (!id) return;
    const request = ++this.#request;
    this.loading = this.items.length === 0;
    try {
      const items = await this.fetch(id);
      if (request !== this.#request) return;
      this.items = items;
      this.problem = null;
    } catch (error) {
      if (request === this.#request) this.problem = toProblem(error);
    } finally {
      if (request === this.#request) this.loading = false;
    }
  }
}

/**
 * The internal notes of the open conversation. They live beside the mail, never in it:
 * nothing here reaches the composer or a quote.
 */
export class ConversationNotes extends ConversationItems<Note> {
  /** What the member is typing into the "add a note" box. */
  draft = $state('');
  adding = $state(false);
  /** The note being edited in place, and its text so far. */
  editing = $state<{ note: string; text: string } | null>(null);
  saving = $state(false);
  /** The note waiting for "Delete?" to be confirmed. */
  confirmDelete = $state<string | null>(null);
  /** A request to move focus into the note box (the N key); `seq` makes a repeat count. */
  focusRequest = $state(0);

  readonly #notices: Notices;

  constructor(notices: Notices) {
    super();
    this.#notices = notices;
  }

  protected fetch(id: ConversationId): Promise<Note[]> {
    return ipc.listNotes(id);
  }

  /** The reading pane opened a conversation (or none). */
  show(id: ConversationId | null) {
    if (id === this.id) return;
    this.id = id;
    this.items = [];
    this.draft = '';
    this.editing = null;
    this.confirmDelete = null;
    this.problem = null;
    if (id) void this.load();
  }

  async add(): Promise<boolean> {
    const id = this.id;
    const text = this.draft.trim();
    if (!id || !text || this.adding) return false;
    this.adding = true;
    try {
      const note = await ipc.addNote(id, text);
      if (this.id === id) {
        this.#put(note);
        this.draft = '';
      }
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    } finally {
      this.adding = false;
    }
  }

  startEdit(note: Note) {
    this.editing = { note: note.id, text: note.text };
  }

  cancelEdit() {
    this.editing = null;
  }

  async saveEdit() {
    const editing = this.editing;
    if (!editing || this.saving) return;
    const text = editing.text.trim();
    if (!text) return;
    this.saving = true;
    try {
      this.#put(await ipc.editNote(editing.note, text));
      this.editing = null;
    } catch (error) {
      this.#fail(error);
    } finally {
      this.saving = false;
    }
  }

  async delete(note: string) {
    this.confirmDelete = null;
    try {
      this.#put(await ipc.deleteNote(note));
      this.#notices.show(locale.m.notes.deleted);
    } catch (error) {
      this.#fail(error);
    }
  }

  #put(note: Note) {
    const at = this.items.findIndex((n) => n.id === note.id);
    this.items = at < 0 ? [...this.items, note] : this.items.map((n, i) => (i === at ? note : n));
  }

  #fail(error: unknown) {
    const problem = toProblem(error);
    // The engine lets only the author change a note; say it in the words of notes.
    this.#notices.show(problem.code === 'not_holder' ? locale.m.notes.notAuthor : problemText(problem), 'error');
  }
}

/** The History tab: everything that happened to the open conversation, oldest first. */
export class ConversationHistory extends ConversationItems<ActivityItem> {
  /** Whether the reading pane shows the history instead of the messages. */
  shown = $state(false);

  protected fetch(id: ConversationId): Promise<ActivityItem[]> {
    return ipc.getActivity(id);
  }

  show(id: ConversationId | null) {
    if (id === this.id) return;
    this.id = id;
    this.items = [];
    this.problem = null;
    if (id && this.shown) void this.load();
  }

  toggle(shown = !this.shown) {
    this.shown = shown;
    if (shown) void this.load();
  }

  /** The engine reported a change that may add to the history. */
  refresh() {
    if (this.shown) void this.load();
  }
}
