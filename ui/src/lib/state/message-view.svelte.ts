import type { MessageContent, MessageKey, MessageSummary } from '../bindings';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';

export function messageKeyId(key: MessageKey): string {
  return `${key.folder}\u0000${key.uid_validity}\u0000${key.uid}`;
}

/**
 * One message in the reading pane: its summary, whether it is expanded, and its body,
 * which is fetched only when the message is first expanded.
 */
export class MessageView {
  summary: MessageSummary;
  expanded: boolean;
  content = $state.raw<MessageContent | null>(null);
  loading = $state(false);
  problem = $state<UiProblem | null>(null);
  /** The user asked for remote images in this message. */
  imagesAllowed = $state(false);
  /** The user prefers the plain text of this message over its HTML. */
  showPlain = $state(false);

  #request = 0;

  constructor(summary: MessageSummary, expanded: boolean) {
    this.summary = $state.raw(summary);
    this.expanded = $state(expanded);
  }

  get id(): string {
    return messageKeyId(this.summary.key);
  }

  setExpanded(expanded: boolean) {
    this.expanded = expanded;
    if (expanded && !this.content && !this.loading) void this.load();
  }

  toggle() {
    this.setExpanded(!this.expanded);
  }

  loadImages() {
    this.imagesAllowed = true;
    void this.load();
  }

  /** Fetches the body; a newer request wins over an older one still on its way. */
  async load() {
    const request = ++this.#request;
    this.loading = true;
    this.problem = null;
    try {
      const body = await ipc.getMessageBody(this.summary.key, this.imagesAllowed);
      if (request !== this.#request) return;
      this.content = body.content;
    } catch (error) {
      if (request !== this.#request) return;
      this.problem = toProblem(error);
    } finally {
      if (request === this.#request) this.loading = false;
    }
  }

  /** After a resync: fetch again what was shown, keep what was not. */
  reloadIfShown() {
    if (this.expanded) void this.load();
    else this.content = null;
  }
}
