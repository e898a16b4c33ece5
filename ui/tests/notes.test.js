import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { subjectFor } from './harness/fixtures.js';
import { emitEngineEvent, ipcCalls, startHarness } from './support/app.js';

let harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
});

const LIST = '[data-testid="conversation-list"]';
const READER = '[data-testid="reading-pane"]';
const NOTES = '[data-testid="notes"]';
const NOTE = `${NOTES} [data-testid="note"]`;
const BOX = '[data-testid="note-box"]';
const HISTORY = '[data-testid="history"]';
const MINUTE = 60_000;
const NOW = Date.now();

function note(id, author, text, minutesAgo, extra = {}) {
  return {
    id,
    about: 'root@example.com',
    author,
    created_at: NOW - minutesAgo * MINUTE,
    edited_at: null,
    deleted: false,
    text,
    mentions: [],
    history: [],
    ...extra,
  };
}

/** Three notes on the first unassigned conversation: bram's (edited), chris's (deleted), and one of mine. */
const NOTES_SCENARIO = {
  htmlIndex: null,
  now: NOW,
  notes: {
    'unassigned-0': [
      note('n-bram', 'bram', 'Customer called: *urgent*, see https://track.example.com/AB-123 and _ask_ @anna', 50, {
        edited_at: NOW - 40 * MINUTE,
        history: [{ at: NOW - 50 * MINUTE, text: 'Customer called, not urgent' }],
        mentions: ['anna'],
      }),
      note('n-chris', 'chris', '', 30, {
        deleted: true,
        edited_at: NOW - 20 * MINUTE,
        history: [{ at: NOW - 30 * MINUTE, text: 'Refund? Ask finance first' }],
      }),
      note('n-anna', 'anna', 'I will phone them tomorrow.', 10),
    ],
  },
};

/** A team change in the history: who made it (null when unknown), and whether it was made in another mail app. */
function team(at, change, by, outside = false) {
  return { kind: 'team', at, change, by, outside };
}

async function openFirst(page) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${READER} ${NOTE}`);
}

test('notes: shown internal; add with @mention autocomplete and Ctrl+Enter; edit and delete only my own', async () => {
  const app = await harness.open(NOTES_SCENARIO);
  const { page } = app;
  try {
    await openFirst(page);
    assert.equal((await page.textContent(`${NOTES} [data-testid="notes-internal"]`)).trim(), 'Internal — never sent to the customer');
    assert.deepEqual(await page.$$eval(NOTE, (n) => n.map((x) => x.dataset.author)), ['bram', 'chris', 'anna']);
    // Formatting is built from nodes: bold, italic, a known member, a link.
    const bram = `${NOTE}[data-note-id="n-bram"]`;
    assert.equal(await page.textContent(`${bram} strong`), 'urgent');
    assert.equal(await page.textContent(`${bram} em`), 'ask');
    assert.equal(await page.textContent(`${bram} .mention`), '@anna');
    assert.equal(await page.getAttribute(`${bram} a`, 'href'), 'https://track.example.com/AB-123');
    assert.equal((await page.textContent(`${bram} [data-testid="note-edited"]`)).trim(), 'edited');
    await page.click(`${bram} button:has-text("Show 1 earlier version")`);
    assert.match(await page.textContent(`${bram} [data-testid="note-history"]`), /Customer called, not urgent/);
    // Deleted: says so, and its history is still there.
    const chris = `${NOTE}[data-note-id="n-chris"]`;
    assert.equal((await page.textContent(`${chris} [data-testid="note-deleted"]`)).trim(), 'Note deleted');
    await page.click(`${chris} button:has-text("Show 1 earlier version")`);
    assert.match(await page.textContent(`${chris} [data-testid="note-history"]`), /Refund\? Ask finance first/);
    // Only my own note can be edited or deleted.
    assert.equal(await page.locator(`${bram} button:has-text("Edit")`).count(), 0);
    assert.equal(await page.locator(`${bram} button:has-text("Delete")`).count(), 0);
    assert.equal(await page.locator(`${chris} button:has-text("Edit")`).count(), 0);
    const mine = `${NOTE}[data-note-id="n-anna"]`;
    assert.equal(await page.locator(`${mine} button:has-text("Edit")`).count(), 1);

    // N (Shift+n) from the reading pane puts the cursor in the note box.
    await page.click(`${READER} h2`);
    await page.keyboard.press('Shift+N');
    await page.waitForFunction((sel) => document.activeElement === document.querySelector(sel), BOX);
    await page.keyboard.type('Please check the address @br');
    const options = '[data-testid="mention-suggestions"] [role="option"]';
    await page.waitForSelector(options);
    assert.deepEqual(await page.$$eval(options, (o) => o.map((x) => x.dataset.member)), ['bram']);
    assert.equal(await page.getAttribute(BOX, 'aria-expanded'), 'true');
    await page.keyboard.press('Enter');
    assert.equal(await page.inputValue(BOX), 'Please check the address @bram ');
    // "@" alone offers every colleague but me; arrows move, Escape closes the list only.
    await page.keyboard.type('and @');
    assert.deepEqual(await page.$$eval(options, (o) => o.map((x) => x.dataset.member)), ['bram', 'chris', 'dana']);
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.getAttribute(`${options}[aria-selected="true"]`, 'data-member'), 'chris');
    await page.keyboard.press('Tab');
    await page.keyboard.type('*today*');
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'add_note'));
    assert.deepEqual((await ipcCalls(page, 'add_note'))[0].args, {
      id: 'unassigned-0',
      text: 'Please check the address @bram and @chris *today*',
    });
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 4, NOTE);
    assert.equal(await page.inputValue(BOX), '');
    const added = `${NOTE}:last-child`;
    assert.deepEqual(await page.$$eval(`${added} .mention`, (m) => m.map((x) => x.textContent)), ['@bram', '@chris']);
    assert.equal(await page.textContent(`${added} strong`), 'today');
    await harness.screenshot(page, 'notes');

    // Edit my note: Ctrl+Enter saves, it is marked edited, the earlier text is kept.
    await page.click(`${mine} button:has-text("Edit")`);
    const editor = `${mine} [data-testid="note-editor"]`;
    await page.waitForFunction((sel) => document.activeElement === document.querySelector(sel), editor);
    await page.fill(editor, 'I phoned them: the parcel is back at the depot.');
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector(`${mine} [data-testid="note-edited"]`);
    assert.deepEqual((await ipcCalls(page, 'edit_note'))[0].args, {
      note: 'n-anna',
      text: 'I phoned them: the parcel is back at the depot.',
    });
    assert.equal(await page.textContent(`${mine} [data-testid="note-text"]`), 'I phoned them: the parcel is back at the depot.');
    await page.click(`${mine} button:has-text("Show 1 earlier version")`);
    assert.match(await page.textContent(`${mine} [data-testid="note-history"]`), /I will phone them tomorrow\./);

    // Delete asks first; then the note says it was deleted.
    await page.click(`${mine} button:has-text("Delete")`);
    await page.click('[data-testid="note-delete-confirm"] button:has-text("Delete")');
    await page.waitForSelector(`${mine} [data-testid="note-deleted"]`);
    assert.deepEqual((await ipcCalls(page, 'delete_note'))[0].args, { note: 'n-anna' });

    // Notes never reach the composer: a reply quotes mail only.
    await page.click(`${READER} h2`);
    await page.keyboard.press('r');
    await page.waitForSelector('[data-testid="compose-body"]');
    const body = await page.inputValue('[data-testid="compose-body"]');
    assert.doesNotMatch(body, /urgent|phone|Refund|Please check/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a hostile note renders inert: no markup, no script, no javascript: link', async () => {
  const hostile =
    '<img src=x onerror="window.__pwned=\'img\'"> <script>window.__pwned=\'script\'</script> ' +
    '<a href="javascript:window.__pwned=1">click</a> javascript:window.__pwned=2 ' +
    '*<b onmouseover="window.__pwned=3">bold</b>* https://good.example/x';
  const app = await harness.open({ htmlIndex: null, notes: { 'unassigned-0': [note('n-evil', 'bram', hostile, 5)] } });
  const { page } = app;
  try {
    await openFirst(page);
    const evil = `${NOTE}[data-note-id="n-evil"] [data-testid="note-text"]`;
    // Every character is text: what was typed is what is shown.
    assert.equal(await page.textContent(evil), hostile.replace('*<b', '<b').replace('</b>*', '</b>'));
    assert.equal(await page.locator(`${evil} img, ${evil} script, ${evil} b, ${evil} iframe`).count(), 0);
    // Only the https URL became a link.
    assert.deepEqual(await page.$$eval(`${evil} a`, (a) => a.map((x) => x.getAttribute('href'))), ['https://good.example/x']);
    await page.hover(evil);
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    // The one link asks before it leaves the app.
    await page.click(`${evil} a`);
    await page.waitForSelector('[data-testid="link-url"]');
    assert.equal(await page.textContent('[data-testid="link-url"]'), 'https://good.example/x');
    assert.equal((await ipcCalls(page, 'open_link')).length, 0);
    assert.deepEqual(app.dialogs, []);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('History: mails, replies, notes, bounces and team changes in order, refreshed on changes', async () => {
  const id = 'unassigned-3';
  // Row 3 has four messages, 95 minutes apart, the newest 24 minutes ago.
  const newest = NOW - (3 * 7 + 3) * MINUTE;
  const app = await harness.open({
    htmlIndex: null,
    now: NOW,
    notes: { [id]: [note('n-1', 'chris', 'Customer is a *reseller*', (NOW - (newest - 100 * MINUTE)) / MINUTE)] },
    activity: {
      [id]: [
        team(newest - 280 * MINUTE, { change: 'claimed', member: 'bram' }, 'chris'),
        team(newest - 120 * MINUTE, { change: 'handed_over', from: 'bram', to: 'anna' }, 'chris'),
        { kind: 'bounced', at: newest - 90 * MINUTE, message: { folder: 'INBOX', uid_validity: 7, uid: 39 } },
        team(newest - 70 * MINUTE, { change: 'handed_over', from: 'anna', to: 'bram' }, 'bram'),
        team(newest - 60 * MINUTE, { change: 'status', status: 'waiting' }, 'bram'),
        team(newest + MINUTE, { change: 'status', status: 'open' }, null, true),
        team(newest + 2 * MINUTE, { change: 'released', member: 'bram' }, 'anna'),
      ],
    },
  });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    for (let i = 0; i < 3; i++) await page.keyboard.press('j');
    // H from the list opens the row under the cursor at its history.
    await page.keyboard.press('Shift+H');
    await page.waitForSelector(`${HISTORY} [data-testid="history-item"]`);
    assert.equal(await page.textContent(`${READER} h2`), subjectFor(3));
    const lines = await page.$$eval(`${HISTORY} [data-testid="history-item"] .describe`, (d) => d.map((x) => x.textContent));
    assert.deepEqual(lines, [
      'Bram replied',
      'Chris assigned it to Bram',
      'Mail from Sophie Laurent',
      'Chris handed it over from Bram to Anna',
      'Chris added a note',
      'Bram replied',
      'A reply bounced: it did not reach the customer',
      'Bram took it over from Anna',
      'Bram marked it as waiting on the customer',
      'Mail from Sophie Laurent',
      'Status: open',
      'Anna unassigned Bram',
    ]);
    // The avatar is who made the change; a status set in another mail app has none.
    const avatars = await page.$$eval(`${HISTORY} [data-kind="team"]`, (d) =>
      d.map((x) => x.querySelector('[data-member]')?.getAttribute('data-member') ?? null),
    );
    assert.deepEqual(avatars, ['chris', 'chris', 'bram', 'bram', null, 'anna']);
    // Only the change seen in the mailbox says it was made in another mail app.
    const outside = page.locator(`${HISTORY} [data-testid="history-outside"]`);
    assert.equal(await outside.count(), 1);
    assert.equal(await outside.textContent(), 'in another mail app');
    assert.equal(await outside.getAttribute('title'), 'Seen in the mailbox: made outside Baton');
    assert.equal(await page.textContent(`${HISTORY} [data-kind="team"]:has([data-testid="history-outside"]) .describe`), 'Status: open');
    assert.equal(await page.textContent(`${HISTORY} [data-kind="note"] strong`), 'reseller');
    const times = await page.$$eval(`${HISTORY} time`, (t) => t.map((x) => Date.parse(x.getAttribute('datetime'))));
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'oldest first');
    await harness.screenshot(page, 'history');

    // A change to this conversation, and a note anywhere, ask for the history again.
    const asked = async () => (await ipcCalls(page, 'get_activity')).length;
    const before = await asked();
    await emitEngineEvent(page, { type: 'conversations_changed', ids: [id] });
    await page.waitForFunction((n) => window.__ipcCalls.filter((c) => c.cmd === 'get_activity').length > n, before);
    const between = await asked();
    await emitEngineEvent(page, { type: 'notes_changed' });
    await page.waitForFunction((n) => window.__ipcCalls.filter((c) => c.cmd === 'get_activity').length > n, between);

    // "Show" on a mail goes back to the messages with that one in view.
    await page.locator(`${HISTORY} [data-kind="received"] button`).last().click();
    await page.waitForSelector(`${READER} article.message[data-message-key="INBOX/7/33"]`);
    assert.equal(await page.locator(HISTORY).count(), 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

function mention(noteId, author, text, conversation, index, minutesAgo, unread) {
  return {
    note: note(noteId, author, text, minutesAgo, { mentions: ['anna'] }),
    conversation,
    subject: subjectFor(index),
    unread,
  };
}

const MENTIONS = [
  mention('m-1', 'bram', '@anna can you take this one? The customer is *angry*.', 'unassigned-5', 5, 12, true),
  mention('m-2', 'chris', '@anna FYI the refund went out', 'unassigned-2', 2, 60, true),
  mention('m-3', 'dana', 'Thanks @anna', 'unassigned-4', 4, 60 * 30, false),
];

test('Mentions: badge counts unread, the view marks them seen, a click opens the conversation', async () => {
  const app = await harness.open({ htmlIndex: null, mentions: MENTIONS });
  const { page } = app;
  try {
    const badge = '[data-testid="mentions-badge"]';
    await page.waitForSelector(badge);
    assert.match(await page.textContent(badge), /^2/);
    assert.equal(await page.getAttribute(badge, 'title'), '2 unread mentions');
    assert.equal((await ipcCalls(page, 'mentions_seen')).length, 0);

    await page.keyboard.press('8');
    await page.waitForSelector('[data-testid="mentions-view"] [data-testid="mention"]');
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'mentions_seen'));
    await page.waitForSelector(badge, { state: 'detached' });
    const items = '[data-testid="mention"]';
    assert.deepEqual(await page.$$eval(`${items} .who`, (w) => w.map((x) => x.textContent)), [
      'Bram mentioned you',
      'Chris mentioned you',
      'Dana mentioned you',
    ]);
    // What was new stays marked while the view is open.
    assert.deepEqual(await page.$$eval(`${items} .new`, (n) => n.length), 2);
    assert.equal(await page.textContent(`${items}:first-child .subject`), subjectFor(5));
    assert.equal(await page.textContent(`${items}:first-child strong`), 'angry');
    await harness.screenshot(page, 'mentions');

    await page.click(`${items}:first-child button`);
    await page.waitForFunction((s) => document.querySelector('[data-testid="reading-pane"] h2')?.textContent === s, subjectFor(5));
    assert.equal(await page.locator('[data-testid="mentions-view"]').count(), 0);
    assert.equal(await page.textContent('#list-heading'), 'Unassigned');

    // A new mention arrives while elsewhere: the badge comes back.
    await page.evaluate(
      (m) => window.__addMention(m),
      mention('m-4', 'bram', '@anna one more', 'unassigned-6', 6, 0, true),
    );
    await emitEngineEvent(page, { type: 'notes_changed' });
    await page.waitForFunction(() => document.querySelector('[data-testid="mentions-badge"]')?.textContent?.startsWith('1'));
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

const NOTIFY = {
  type: 'notify',
  notification: {
    kind: 'mentioned',
    conversation: 'unassigned-5',
    subject: subjectFor(5),
    who: 'bram',
    text: '@anna can you take this one?',
  },
};

test('notify: a notice with Open; in the background also a desktop notification, and focus soon after opens it', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    // Permission is asked once, up front, through the plugin.
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'plugin:notification|is_permission_granted'));

    await emitEngineEvent(page, NOTIFY);
    const notice = '[data-testid="notice"]:has-text("Bram mentioned you"):has(button:has-text("Open"))';
    await page.waitForSelector(notice);
    assert.match(
      await page.textContent(notice),
      new RegExp(`Bram mentioned you on ${subjectFor(5)}: @anna can you take this one\\?`),
    );
    await emitEngineEvent(page, {
      type: 'notify',
      notification: { kind: 'new_unassigned', conversation: 'unassigned-1', subject: subjectFor(1), who: 'Tom Hendriks', text: 'Hello' },
    });
    await page.waitForSelector(`[data-testid="notice"]:has-text("New mail from Tom Hendriks: ${subjectFor(1)}")`);
    // Let the notices finish rising in before the picture.
    await page.waitForTimeout(300);
    await harness.screenshot(page, 'notification-toast');
    // The window has focus: the notice is enough, nothing on the desktop.
    assert.deepEqual(await page.evaluate(() => window.__desktopNotifications), []);

    await page.click(`${notice} button:has-text("Open")`);
    await page.waitForFunction((s) => document.querySelector('[data-testid="reading-pane"] h2')?.textContent === s, subjectFor(5));
    assert.equal(await page.locator(notice).count(), 0, 'the notice goes once used');

    // In the background: a desktop notification too; coming back within seconds opens it.
    await page.evaluate(() => {
      document.hasFocus = () => false;
    });
    await emitEngineEvent(page, {
      type: 'notify',
      notification: { kind: 'handed_to_me', conversation: 'unassigned-2', subject: subjectFor(2), who: 'chris', text: '' },
    });
    await page.waitForFunction(() => window.__desktopNotifications.length === 1);
    assert.deepEqual(await page.evaluate(() => window.__desktopNotifications), [
      { title: `Chris handed you ${subjectFor(2)}`, body: '' },
    ]);
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.waitForFunction((s) => document.querySelector('[data-testid="reading-pane"] h2')?.textContent === s, subjectFor(2));
    // A later return to the window does not open anything again.
    await page.click(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.waitForFunction((s) => document.querySelector('[data-testid="reading-pane"] h2')?.textContent === s, subjectFor(0));
    await page.waitForTimeout(150);
    assert.equal(await page.textContent(`${READER} h2`), subjectFor(0));
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a desktop notification shows a customer\'s markup as text (Linux daemons read the body as markup)', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.evaluate(() => {
      document.hasFocus = () => false;
    });
    const text = 'Win a <b>prize</b> & <a href="https://tracker.example/x">claim</a> <img src="https://tracker.example/p.gif">';
    await emitEngineEvent(page, {
      type: 'notify',
      notification: { kind: 'new_unassigned', conversation: 'unassigned-1', subject: subjectFor(1), who: 'Tom Hendriks', text },
    });
    await page.waitForFunction(() => window.__desktopNotifications.length === 1);
    const [sent] = await page.evaluate(() => window.__desktopNotifications);
    assert.equal(
      sent.body,
      'Win a &lt;b&gt;prize&lt;/b&gt; &amp; &lt;a href="https://tracker.example/x"&gt;claim&lt;/a&gt; &lt;img src="https://tracker.example/p.gif"&gt;',
    );
    assert.doesNotMatch(sent.body, /<[a-z]/i);
    // The notice inside the window shows the words as written (Svelte escapes them).
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('Notifications settings: one switch per kind, saved when flipped', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('menuitem', { name: 'Notifications…' }).click();
    const dialog = '[data-testid="notification-settings"]';
    await page.waitForSelector(`${dialog} input[data-kind]`);
    assert.deepEqual(await page.$$eval(`${dialog} label`, (l) => l.map((x) => x.textContent.trim())), [
      'New mail in Unassigned',
      'A colleague hands a conversation to me',
      'A colleague mentions me in a note',
      'A customer writes again on a conversation I hold',
    ]);
    await page.click(`${dialog} input[data-kind="mentioned"]`);
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'save_notification_settings'));
    assert.deepEqual((await ipcCalls(page, 'save_notification_settings'))[0].args.settings, {
      new_unassigned: true,
      handed_to_me: true,
      mentioned: false,
      customer_replied: true,
    });
    await page.click(`${dialog} input[data-kind="new_unassigned"]`);
    // The harness logs a call before it answers it, so wait for the answer's effect.
    await page.waitForFunction(() => window.__scenario.notificationSettings.new_unassigned === false);
    assert.deepEqual(await page.evaluate(() => window.__scenario.notificationSettings), {
      new_unassigned: false,
      handed_to_me: true,
      mentioned: false,
      customer_replied: true,
    });
    // The overlay lists the new keys.
    await page.keyboard.press('Escape');
    // The key goes to the window only once the settings dialog has closed: the native
    // dialog drops [open] at once, the app hears its close event a moment later (and
    // then removes the content).
    await page.waitForFunction(
      (d) => !document.querySelector('dialog[open]') && !document.querySelector(d),
      dialog,
    );
    await page.keyboard.press('?');
    await page.waitForSelector('dialog[open] :text("Write an internal note")');
    assert.match(await page.textContent('dialog[open]'), /⇧N\s*Write an internal note/);
    assert.match(await page.textContent('dialog[open]'), /Go to Mentions/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('in Dutch: notes, history, mentions, notices and settings', async () => {
  const app = await harness.open(
    {
      ...NOTES_SCENARIO,
      mentions: MENTIONS,
      activity: {
        'unassigned-0': [
          team(NOW - 49 * MINUTE, { change: 'claimed', member: 'bram' }, null),
          team(NOW - 48 * MINUTE, { change: 'claimed', member: 'anna' }, 'anna'),
          team(NOW - 47 * MINUTE, { change: 'claimed', member: 'bram' }, 'chris'),
          team(NOW - 46 * MINUTE, { change: 'released', member: 'bram' }, 'bram'),
          team(NOW - 45 * MINUTE, { change: 'released', member: 'anna' }, 'chris'),
          team(NOW - 44 * MINUTE, { change: 'released', member: 'chris' }, null, true),
          team(NOW - 43 * MINUTE, { change: 'handed_over', from: 'bram', to: 'anna' }, 'bram'),
          team(NOW - 42 * MINUTE, { change: 'handed_over', from: 'anna', to: 'chris' }, 'chris'),
          team(NOW - 41 * MINUTE, { change: 'handed_over', from: 'chris', to: 'bram' }, 'anna'),
          team(NOW - 39 * MINUTE, { change: 'status', status: 'waiting' }, 'bram'),
          team(NOW - 38 * MINUTE, { change: 'status', status: 'done' }, 'anna'),
          team(NOW - 37 * MINUTE, { change: 'status', status: 'open' }, 'chris'),
          team(NOW - 36 * MINUTE, { change: 'status', status: 'done' }, null, true),
        ],
      },
    },
    { locale: 'nl-NL' },
  );
  const { page } = app;
  try {
    await openFirst(page);
    assert.equal((await page.textContent(`${NOTES} h3`)).trim(), 'Interne notities');
    assert.equal((await page.textContent(`${NOTES} [data-testid="notes-internal"]`)).trim(), 'Intern — wordt nooit naar de klant gestuurd');
    assert.equal((await page.textContent(`${NOTE}[data-note-id="n-bram"] [data-testid="note-edited"]`)).trim(), 'bewerkt');
    assert.equal((await page.textContent(`${NOTE}[data-note-id="n-chris"] [data-testid="note-deleted"]`)).trim(), 'Notitie verwijderd');
    assert.equal(await page.getAttribute(BOX, 'aria-label'), 'Nieuwe interne notitie');
    assert.equal(await page.locator(`${NOTE}[data-note-id="n-anna"] button:has-text("Bewerken")`).count(), 1);

    await page.click('[data-testid="history-tab"]');
    await page.waitForSelector(`${HISTORY} [data-testid="history-item"]`);
    const lines = await page.$$eval(`${HISTORY} .describe`, (d) => d.map((x) => x.textContent));
    assert.ok(lines.includes('Chris heeft een notitie toegevoegd, inmiddels verwijderd'), lines.join(' | '));
    assert.ok(lines.includes('Mail van Marieke Bakker'), lines.join(' | '));
    const changes = await page.$$eval(`${HISTORY} [data-kind="team"]`, (d) =>
      d.map((x) => [x.querySelector('.describe').textContent, x.querySelector('[data-testid="history-outside"]')?.textContent ?? null]),
    );
    assert.deepEqual(changes, [
      ['Bram heeft het opgepakt', null],
      ['Anna heeft het opgepakt', null],
      ['Chris heeft het aan Bram toegewezen', null],
      ['Bram heeft het losgelaten', null],
      ['Chris heeft Anna ervan afgehaald', null],
      ['Chris heeft het losgelaten', 'in een ander mailprogramma'],
      ['Bram heeft het overgedragen aan Anna', null],
      ['Chris heeft het van Anna overgenomen', null],
      ['Anna heeft het van Chris overgedragen aan Bram', null],
      ['Bram heeft het gemarkeerd als wachtend op de klant', null],
      ['Anna heeft het afgerond', null],
      ['Chris heeft het heropend', null],
      ['Status: afgerond', 'in een ander mailprogramma'],
    ]);
    assert.equal(await page.getAttribute(`${HISTORY} [data-testid="history-outside"]`, 'title'), 'Gezien in de mailbox: buiten Baton gewijzigd');
    await page.locator(`${HISTORY} [data-testid="history-item"]`).last().scrollIntoViewIfNeeded();
    await harness.screenshot(page, 'history-nl');

    assert.equal(await page.getAttribute('[data-testid="mentions-badge"]', 'title'), '2 ongelezen vermeldingen');
    await page.click('nav [data-place="mentions"]');
    await page.waitForSelector('[data-testid="mentions-view"] [data-testid="mention"]');
    assert.equal((await page.textContent('#mentions-heading')).trim(), 'Vermeldingen');
    assert.equal(await page.textContent('[data-testid="mention"]:first-child .who'), 'Bram noemde je');

    await emitEngineEvent(page, NOTIFY);
    await page.waitForSelector(`[data-testid="notice"]:has-text("Bram noemde je bij ${subjectFor(5)}")`);
    assert.equal(await page.locator('[data-testid="notice"] button:has-text("Openen")').count(), 1);

    await page.getByRole('button', { name: 'Instellingen' }).click();
    await page.getByRole('menuitem', { name: 'Meldingen…' }).click();
    await page.waitForSelector('[data-testid="notification-settings"] input[data-kind]');
    assert.match(await page.textContent('[data-testid="notification-settings"]'), /Een collega noemt mij in een notitie/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
