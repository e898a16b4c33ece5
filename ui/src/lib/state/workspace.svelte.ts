import type { ConversationId, View } from '../bindings';
import type { Action } from '../keyboard/shortcuts';
import { ConversationList } from './conversation-list.svelte';
import { ConversationReader } from './conversation-reader.svelte';
import { LinkOpener } from './link-opener.svelte';

export type FocusTarget = 'list' | 'reader';

/**
 * The main screen: the list of the current view, the open conversation, and the
 * overlays on top. Keyboard actions land here, so mouse and keyboard share one path.
 */
export class Workspace {
  list = new ConversationList();
  reader = new ConversationReader();
  links = new LinkOpener();
  shortcutsOpen = $state(false);
  /** Components move DOM focus when this changes; `seq` makes a repeated request count. */
  focusRequest = $state<{ target: FocusTarget; seq: number }>({ target: 'list', seq: 0 });

  start(view: View = 'inbox') {
    this.list.show(view);
    this.focus('list');
  }

  focus(target: FocusTarget) {
    this.focusRequest = { target, seq: this.focusRequest.seq + 1 };
  }

  showView(view: View) {
    if (view !== this.list.view) this.list.show(view);
    this.focus('list');
  }

  /**
   * Opens the conversation under the cursor. After a jump (End, a fast scroll) its row
   * may still be on its way; then it opens when it arrives, unless the cursor moved on.
   */
  async openSelected(focusReader = false): Promise<boolean> {
    const index = this.list.selectedIndex;
    const row = this.list.rowAt(index) ?? (await this.list.loadRow(index));
    if (!row || this.list.selectedIndex !== index) return false;
    this.open(row.id);
    if (focusReader) this.focus('reader');
    return true;
  }

  open(id: ConversationId) {
    this.reader.open(id);
  }

  /** A click on a row: cursor and reading pane follow it. */
  clickRow(index: number) {
    this.list.select(index);
    void this.openSelected();
  }

  /** Runs a keyboard action; `from` says whether focus was in the reading pane. */
  perform(action: Action, from: FocusTarget) {
    switch (action.kind) {
      case 'next':
      case 'previous':
        this.list.move(action.kind === 'next' ? 1 : -1);
        // Reading along: from the reading pane, j/k open the next conversation directly.
        if (from === 'reader') void this.openSelected();
        else this.focus('list');
        return;
      case 'first':
        this.list.select(0);
        this.focus('list');
        return;
      case 'last':
        this.list.select((this.list.total ?? 1) - 1);
        this.focus('list');
        return;
      case 'open':
        void this.openSelected(true);
        return;
      case 'back':
        this.focus('list');
        return;
      case 'view':
        this.showView(action.view);
        return;
      case 'help':
        this.shortcutsOpen = true;
        return;
    }
  }

  /** The engine reports changed conversations; the list order may have changed too. */
  conversationsChanged(ids: ConversationId[]) {
    this.list.refresh();
    if (this.reader.id && ids.includes(this.reader.id)) this.reader.refresh();
  }

  resync() {
    this.list.reload();
    this.reader.reload();
  }
}
