import { ipc } from '../ipc';
import { isOpenableUrl } from '../text/links';
import { toProblem, type UiProblem } from '../problem';

/**
 * Links from mail never open on a click alone: the user first sees the full address and
 * confirms. Schemes other than http(s) and mailto are ignored outright.
 */
export class LinkOpener {
  pending = $state<string | null>(null);
  problem = $state<UiProblem | null>(null);

  request(url: string) {
    if (!isOpenableUrl(url)) return;
    this.problem = null;
    this.pending = url;
  }

  cancel() {
    this.pending = null;
    this.problem = null;
  }

  async confirm() {
    const url = this.pending;
    if (!url) return;
    try {
      await ipc.openLink(url);
      this.pending = null;
    } catch (error) {
      this.problem = toProblem(error);
    }
  }
}
