import type {
  ConversationId,
  Draft,
  DraftAttachment,
  DraftKind,
  GuardFinding,
  GuardReport,
  MessageKey,
  OutboxItem,
} from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';

export type RecipientField = 'to' | 'cc' | 'bcc';
export type SaveState = 'idle' | 'saving' | 'saved' | 'failed';

/** Typing pauses this long before the draft is saved. */
const AUTOSAVE_MS = 1500;
/** Banners are refreshed this often even when no event says anything changed. */
const GUARD_EVERY_MS = 30_000;
/** Above these totals the attachments get a warning, then a stronger one. */
export const LARGE_ATTACHMENTS = 10_000_000;
export const TOO_LARGE_ATTACHMENTS = 25_000_000;

/** What the composer's problem is about, for the sentence that leads it. */
export type ProblemAbout = 'send' | 'attach' | 'drop' | 'detach';

/** The last part of a path, whether it uses / or \ (a dropped item's name). */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, '');
  return trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1) || trimmed;
}

/**
 * The names of dropped items that did not become attachments: the folders, which the
 * shell leaves out. `added` are the attachments the drop made, named after their files.
 */
export function notAttached(dropped: readonly string[], added: readonly DraftAttachment[]): string[] {
  const left = added.map((a) => a.name);
  const missing: string[] = [];
  for (const path of dropped) {
    const name = baseName(path);
    const at = left.indexOf(name);
    if (at >= 0) left.splice(at, 1);
    else missing.push(name);
  }
  return missing;
}

/** The address a recipient problem is about, and which field holds it. */
export interface FieldError {
  field: RecipientField;
  /** The engine's words for the address, or null when it named none. */
  item: string | null;
  code: 'invalid_recipient' | 'no_recipients';
}

/**
 * The message being written. The fields are edited here and saved to the engine after
 * a pause, and always before sending or closing: the engine's copy is what survives a
 * crash and what the Drafts list shows.
 */
export class Composer {
  /** The engine's copy as last saved; null while no composer is open. */
  draft = $state.raw<Draft | null>(null);
  to = $state('');
  cc = $state('');
  bcc = $state('');
  subject = $state('');
  body = $state('');
  showCc = $state(false);
  showBcc = $state(false);

  saveState = $state<SaveState>('idle');
  starting = $state(false);
  sending = $state(false);
  attaching = $state(false);
  /** Files are being dragged over the window: the composer shows where to drop them. */
  dragging = $state(false);
  /** Folders the last drop held, by name: only files can be attached. */
  skippedFolders = $state.raw<string[]>([]);
  /** Live findings while writing, shown as banners (what this computer knows). */
  findings = $state.raw<GuardFinding[]>([]);
  /** The send-time report that stopped a send; the guard dialog shows it. */
  guarded = $state.raw<GuardReport | null>(null);
  fieldError = $state.raw<FieldError | null>(null);
  problem = $state.raw<UiProblem | null>(null);
  problemAbout = $state<ProblemAbout>('send');
  /** Components focus the first useful field when this changes. */
  focusSeq = $state(0);

  isOpen = $derived(this.draft !== null);
  attachmentTotal = $derived((this.draft?.attachments ?? []).reduce((sum, a) => sum + a.size, 0));

  /** "Send later" of the attempt the guard stopped, kept for "Send anyway". */
  #guardedSendAt: number | null = null;
  #dirty = false;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  #guardTimer: ReturnType<typeof setInterval> | null = null;
  #saving: Promise<void> | null = null;
  #guardRequest = 0;
  /** Attaching runs one batch at a time: the engine adds files to a draft one after another. */
  #attachQueue: Promise<void> = Promise.resolve();

  /** Starts a new draft; the engine fills recipients, subject, signature and quote. */
  async start(kind: DraftKind, conversation: ConversationId | null, source: MessageKey | null, lang: string) {
    this.starting = true;
    this.problem = null;
    try {
      this.open(await ipc.startDraft(kind, conversation, source, lang));
    } finally {
      this.starting = false;
    }
  }

  /** Shows a draft in the composer: a new one, a resumed one, or one taken back by Undo. */
  open(draft: Draft) {
    this.#stopTimers();
    this.draft = draft;
    this.to = draft.to;
    this.cc = draft.cc;
    this.bcc = draft.bcc;
    this.subject = draft.subject;
    this.body = draft.body;
    this.showCc = draft.cc.trim() !== '';
    this.showBcc = draft.bcc.trim() !== '';
    this.#dirty = false;
    this.saveState = 'idle';
    this.findings = [];
    this.guarded = null;
    this.fieldError = null;
    this.problem = null;
    this.skippedFolders = [];
    this.focusSeq++;
    if (draft.conversation) {
      void this.checkGuard();
      this.#guardTimer = setInterval(() => void this.checkGuard(), GUARD_EVERY_MS);
    }
  }

  /** A field changed: save after a pause, and forget an error about that field. */
  changed(field?: RecipientField | 'subject' | 'body') {
    if (!this.draft) return;
    this.#dirty = true;
    if (field && this.fieldError?.field === field) this.fieldError = null;
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => void this.flush().catch(() => {}), AUTOSAVE_MS);
  }

  /** Saves now if anything changed since the last save; rejects when saving fails. */
  async flush(): Promise<void> {
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = null;
    }
    // One save at a time: a second one waits, then saves what came in meanwhile.
    while (this.#saving) await this.#saving.catch(() => {});
    if (!this.#dirty || !this.draft) return;
    const draft = this.draft;
    this.#dirty = false;
    this.saveState = 'saving';
    const saving = ipc
      .saveDraft({ id: draft.id, to: this.to, cc: this.cc, bcc: this.bcc, subject: this.subject, body: this.body })
      .then((saved) => {
        // The fields may have moved on while saving; only the engine's own parts are taken.
        if (this.draft?.id === saved.id) this.draft = { ...saved, attachments: this.draft.attachments };
        if (!this.#dirty) this.saveState = 'saved';
      })
      .catch((error: unknown) => {
        this.#dirty = true;
        this.saveState = 'failed';
        if (this.draft?.id === draft.id) this.#saveTimer = setTimeout(() => void this.flush().catch(() => {}), AUTOSAVE_MS * 2);
        throw toProblem(error);
      })
      .finally(() => {
        this.#saving = null;
      });
    this.#saving = saving;
    await saving;
  }

  /** Asks the guard what this computer knows now; only replies in a conversation have findings. */
  async checkGuard() {
    const draft = this.draft;
    if (!draft?.conversation) return;
    const request = ++this.#guardRequest;
    try {
      const report = await ipc.checkDraft(draft.id, false);
      if (request === this.#guardRequest && this.draft?.id === draft.id) this.findings = report.findings;
    } catch {
      // Banners are a help, not a gate: the send-time check still runs.
    }
  }

  /** The engine reports that conversations changed; empty `ids` means any of them. */
  conversationsChanged(ids: readonly ConversationId[]) {
    const id = this.draft?.conversation;
    if (id && (ids.length === 0 || ids.includes(id))) void this.checkGuard();
  }

  presenceChanged(id: ConversationId) {
    if (this.draft?.conversation === id) void this.checkGuard();
  }

  /** Files chosen in the system's file picker. */
  async attach() {
    const draft = this.draft;
    if (!draft || this.attaching) return;
    await this.#queueAttach(async () => {
      this.skippedFolders = [];
      try {
        const updated = await ipc.attachFiles(draft.id);
        if (this.draft?.id === updated.id) this.draft = { ...this.draft, attachments: updated.attachments };
      } catch (error) {
        this.#showProblem(toProblem(error), 'attach');
      }
    });
  }

  /**
   * Files dropped on the window. The shell knows which (the operating system told it);
   * `paths` is what the drop event showed the page, used only to name the folders it
   * left out.
   */
  async attachDropped(paths: readonly string[]) {
    this.dragging = false;
    const draft = this.draft;
    if (!draft || paths.length === 0) return;
    await this.#queueAttach(async () => {
      if (this.draft?.id !== draft.id) return;
      const before = new Set(this.draft.attachments.map((a) => a.id));
      this.skippedFolders = [];
      try {
        const updated = await ipc.attachDropped(draft.id);
        if (this.draft?.id !== updated.id) return;
        this.draft = { ...this.draft, attachments: updated.attachments };
        this.skippedFolders = notAttached(
          paths,
          updated.attachments.filter((a) => !before.has(a.id)),
        );
      } catch (error) {
        this.#showProblem(toProblem(error), 'drop');
        // The files before the one that failed are attached: show them.
        await this.#reloadAttachments(draft.id);
      }
    });
  }

  async detach(attachment: string) {
    const draft = this.draft;
    if (!draft) return;
    try {
      const updated = await ipc.detachFile(draft.id, attachment);
      if (this.draft?.id === updated.id) this.draft = { ...this.draft, attachments: updated.attachments };
    } catch (error) {
      this.#showProblem(toProblem(error), 'detach');
    }
  }

  #queueAttach(work: () => Promise<void>): Promise<void> {
    const run = this.#attachQueue.then(async () => {
      this.attaching = true;
      // A problem from the last try at attaching is old news once the next one starts.
      if (this.problem && this.problemAbout !== 'send') this.problem = null;
      try {
        await work();
      } finally {
        this.attaching = false;
      }
    });
    this.#attachQueue = run.catch(() => {});
    return run;
  }

  async #reloadAttachments(id: string) {
    try {
      const saved = (await ipc.listDrafts()).find((d) => d.id === id);
      if (saved && this.draft?.id === id) this.draft = { ...this.draft, attachments: saved.attachments };
    } catch {
      // The problem is shown already; the list catches up when the draft is opened again.
    }
  }

  #showProblem(problem: UiProblem, about: ProblemAbout) {
    this.problem = problem;
    this.problemAbout = about;
  }

  /** A canned reply's text for this draft; saved first so the placeholders see the recipients. */
  async fillTemplate(template: string): Promise<string> {
    const draft = this.draft;
    if (!draft) return '';
    await this.flush();
    return ipc.fillTemplate(draft.id, template);
  }

  /**
   * Saves and sends. Answers the outbox item when queued; null when nothing was sent
   * (the guard stopped it, which opens its dialog, or a problem is shown).
   */
  async send(sendAt: number | null, despite: GuardFinding[] = []): Promise<OutboxItem | null> {
    const draft = this.draft;
    if (!draft || this.sending) return null;
    this.sending = true;
    this.problem = null;
    this.fieldError = null;
    try {
      await this.flush();
      const outcome = await ipc.sendDraft(draft.id, { send_at: sendAt, despite });
      if (outcome.outcome === 'guarded') {
        this.#guardedSendAt = sendAt;
        this.guarded = outcome.report;
        this.findings = outcome.report.findings;
        return null;
      }
      this.guarded = null;
      return outcome.item;
    } catch (error) {
      this.#showSendProblem(toProblem(error));
      return null;
    } finally {
      this.sending = false;
    }
  }

  /** "Send anyway": the member saw exactly these findings. */
  sendDespite(): Promise<OutboxItem | null> {
    const report = this.guarded;
    this.guarded = null;
    return this.send(this.#guardedSendAt, report?.findings ?? []);
  }

  keepEditing() {
    this.guarded = null;
    this.focusSeq++;
  }

  #showSendProblem(problem: UiProblem) {
    if (problem.code === 'no_recipients') {
      this.fieldError = { field: 'to', item: null, code: 'no_recipients' };
      return;
    }
    if (problem.code === 'invalid_recipient') {
      // The engine names the address, not the field: find the field that holds it.
      const item = problem.detail?.trim() || null;
      const fields: RecipientField[] = ['to', 'cc', 'bcc'];
      const field = (item && fields.find((f) => this[f].includes(item))) || 'to';
      if (field === 'cc') this.showCc = true;
      if (field === 'bcc') this.showBcc = true;
      this.fieldError = { field, item, code: 'invalid_recipient' };
      return;
    }
    this.#showProblem(problem, 'send');
  }

  /** Closes the composer; the caller has saved (or discarded) the draft. */
  clear() {
    this.#stopTimers();
    this.#guardRequest++;
    this.draft = null;
    this.findings = [];
    this.guarded = null;
    this.fieldError = null;
    this.problem = null;
    this.dragging = false;
    this.skippedFolders = [];
    this.#dirty = false;
    this.saveState = 'idle';
  }

  #stopTimers() {
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    if (this.#guardTimer) clearInterval(this.#guardTimer);
    this.#saveTimer = null;
    this.#guardTimer = null;
  }

  dispose() {
    this.#stopTimers();
  }
}
