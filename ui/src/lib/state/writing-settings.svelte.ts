import type { ComposeSettings, Template } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import type { Notices } from './notices.svelte';
import type { Templates } from './templates.svelte';

export const MAX_UNDO_SECONDS = 120;

/** The placeholders a template may use, in the order the settings explain them. */
export const PLACEHOLDERS = ['customer', 'customer_first', 'me', 'subject'] as const;

/** A canned reply being added (id empty) or changed. */
export interface TemplateEdit {
  id: string;
  name: string;
  body: string;
}

/** The "Writing" settings dialog: this member's compose settings and the team's templates. */
export class WritingSettings {
  open = $state(false);
  loading = $state(false);
  loadProblem = $state.raw<UiProblem | null>(null);
  saving = $state(false);
  saveProblem = $state.raw<UiProblem | null>(null);

  signature = $state('');
  senderName = $state('');
  undoSeconds = $state('10');
  claimOnSend = $state(true);
  /** Shown once the member tried to save, so the form does not scold while typing. */
  submitted = $state(false);

  sharedSignature = $state('');
  savingSignature = $state(false);
  /** The canned reply in the editor, if any. */
  editing = $state<TemplateEdit | null>(null);
  editSubmitted = $state(false);
  savingTemplate = $state(false);
  templateProblem = $state.raw<UiProblem | null>(null);

  undoValid = $derived(/^\d{1,3}$/.test(this.undoSeconds.trim()) && Number(this.undoSeconds) <= MAX_UNDO_SECONDS);

  readonly templates: Templates;
  readonly #notices: Notices;

  constructor(templates: Templates, notices: Notices) {
    this.templates = templates;
    this.#notices = notices;
  }

  async show() {
    this.open = true;
    this.submitted = false;
    this.saveProblem = null;
    this.editing = null;
    this.loading = true;
    this.loadProblem = null;
    try {
      this.#fill(await ipc.getComposeSettings());
    } catch (error) {
      this.loadProblem = toProblem(error);
    } finally {
      this.loading = false;
    }
    await this.templates.load(true);
    this.sharedSignature = this.templates.signature?.body ?? '';
  }

  close() {
    this.open = false;
    this.editing = null;
  }

  #fill(settings: ComposeSettings) {
    this.signature = settings.signature;
    this.senderName = settings.sender_name;
    this.undoSeconds = String(settings.undo_seconds);
    this.claimOnSend = settings.claim_on_send;
  }

  /** How From reads with the current format, for the live example. */
  senderExample(displayName: string, address: string): string {
    const format = this.senderName.trim();
    const name = format ? format.replaceAll('{name}', displayName) : displayName;
    return name ? `${name} <${address}>` : address;
  }

  async save(): Promise<boolean> {
    this.submitted = true;
    if (!this.undoValid) return false;
    this.saving = true;
    this.saveProblem = null;
    try {
      await ipc.saveComposeSettings({
        signature: this.signature,
        sender_name: this.senderName.trim(),
        undo_seconds: Number(this.undoSeconds),
        claim_on_send: this.claimOnSend,
      });
      this.#notices.show(locale.m.writing.saved);
      return true;
    } catch (error) {
      this.saveProblem = toProblem(error);
      return false;
    } finally {
      this.saving = false;
    }
  }

  async saveSharedSignature() {
    this.savingSignature = true;
    try {
      const current = this.templates.signature;
      const template: Template = current
        ? { ...current, body: this.sharedSignature }
        : { id: '', kind: 'mailbox_signature', name: locale.m.writing.mailboxSignature, body: this.sharedSignature };
      await this.templates.save(template);
      this.#notices.show(locale.m.writing.signatureSaved);
    } catch (error) {
      this.#notices.show(problemText(toProblem(error)), 'error');
    } finally {
      this.savingSignature = false;
    }
  }

  edit(template: Template | null) {
    this.editSubmitted = false;
    this.templateProblem = null;
    this.editing = template ? { id: template.id, name: template.name, body: template.body } : { id: '', name: '', body: '' };
  }

  async saveTemplate(): Promise<boolean> {
    const edit = this.editing;
    if (!edit) return false;
    this.editSubmitted = true;
    if (!edit.name.trim()) return false;
    this.savingTemplate = true;
    this.templateProblem = null;
    try {
      await this.templates.save({ id: edit.id, kind: 'canned_reply', name: edit.name.trim(), body: edit.body });
      this.editing = null;
      this.#notices.show(locale.m.writing.templateSaved);
      return true;
    } catch (error) {
      this.templateProblem = toProblem(error);
      return false;
    } finally {
      this.savingTemplate = false;
    }
  }

  async deleteTemplate(id: string) {
    try {
      await this.templates.remove(id);
      if (this.editing?.id === id) this.editing = null;
      this.#notices.show(locale.m.writing.templateDeleted);
    } catch (error) {
      this.#notices.show(problemText(toProblem(error)), 'error');
    }
  }
}
