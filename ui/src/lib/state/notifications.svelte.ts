import type { ConversationId, Notification, NotificationKind, NotificationSettings } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { problemText } from '../i18n/problem-text';
import { desktopNotifications, ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import type { Notices } from './notices.svelte';

export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'new_unassigned',
  'handed_to_me',
  'mentioned',
  'customer_replied',
];

/** How long after a desktop notification a return to the window counts as its click. */
const CLICK_WINDOW_MS = 10_000;

/** The "Notifications" settings dialog: one switch per kind, each saved as it is flipped. */
export class NotificationSettingsForm {
  open = $state(false);
  loading = $state(false);
  problem = $state.raw<UiProblem | null>(null);
  values = $state.raw<NotificationSettings | null>(null);
  saving = $state(false);

  readonly #notices: Notices;

  constructor(notices: Notices) {
    this.#notices = notices;
  }

  async show() {
    this.open = true;
    this.loading = true;
    this.problem = null;
    try {
      this.values = await ipc.getNotificationSettings();
    } catch (error) {
      this.problem = toProblem(error);
    } finally {
      this.loading = false;
    }
  }

  close() {
    this.open = false;
  }

  async set(kind: NotificationKind, on: boolean) {
    const before = this.values;
    if (!before) return;
    const next = { ...before, [kind]: on };
    this.values = next;
    this.saving = true;
    try {
      await ipc.saveNotificationSettings(next);
    } catch (error) {
      // The switch goes back to what the engine still has.
      this.values = before;
      this.#notices.show(problemText(toProblem(error)), 'error');
    } finally {
      this.saving = false;
    }
  }
}

/** The words for a notification, in the current language. */
export function notificationText(n: Notification): { title: string; body: string } {
  const t = locale.m.notify;
  switch (n.kind) {
    case 'new_unassigned':
      return { title: t.newUnassigned(n.who, n.subject), body: n.text };
    case 'handed_to_me':
      return { title: t.handedToMe(n.who, n.subject), body: n.text };
    case 'mentioned':
      return { title: t.mentioned(n.who, n.subject), body: n.text };
    case 'customer_replied':
      return { title: t.customerReplied(n.who, n.subject), body: n.text };
  }
}

/**
 * What the engine wants this member to know (new mail, a hand-over, a mention, a
 * customer's answer): a notice in the window with "Open", and a desktop notification
 * while the window is in the background. The engine already left out the kinds the
 * member switched off.
 */
export class Notifier {
  readonly #notices: Notices;
  readonly #open: (id: ConversationId) => void;
  #permission: Promise<boolean> | null = null;
  /** The last desktop notification, and what a click on it (a return soon after) does. */
  #lastDesktop: { run: () => void; at: number } | null = null;

  constructor(notices: Notices, open: (id: ConversationId) => void) {
    this.#notices = notices;
    this.#open = open;
  }

  /** Asks the system once per run, up front, so the first notification is not lost to the question. */
  requestPermission() {
    this.#permission ??= desktopNotifications.allowed();
  }

  notify(notification: Notification) {
    const { title, body } = notificationText(notification);
    const text = notification.kind === 'mentioned' && body ? `${title}: ${body}` : title;
    this.#notices.show(text, 'info', {
      icon: 'bell',
      lifetimeMs: 12_000,
      action: { label: locale.m.notify.open, run: () => this.#open(notification.conversation) },
    });
    if (!this.inBackground()) return;
    this.desktop(title, body, () => this.#open(notification.conversation));
  }

  /** The window is not the one in front: only the desktop can tell the member now. */
  inBackground(): boolean {
    return typeof document !== 'undefined' && !document.hasFocus();
  }

  /** A desktop notification; coming back to the window soon after runs `onclick`. */
  desktop(title: string, body: string, onclick: () => void) {
    this.requestPermission();
    void this.#permission?.then((allowed) => {
      if (!allowed) return;
      desktopNotifications.send(title, body);
      this.#lastDesktop = { run: onclick, at: Date.now() };
    });
  }

  /**
   * The window came to the front. On Linux the notification plugin cannot tell the app
   * that its notification was clicked (no action callback reaches the webview), so
   * coming back within a few seconds of one is taken as that click and does what it is
   * about (opens its conversation). Elsewhere it is the same gesture a click would have made.
   */
  windowFocused(now = Date.now()) {
    const last = this.#lastDesktop;
    this.#lastDesktop = null;
    if (last && now - last.at <= CLICK_WINDOW_MS) last.run();
  }
}
