// A reply the outbox held before it left: at Send (a colleague got the claim at the same
// moment) or at its last check when the undo window ended. The member decides in a
// dialog (send anyway, edit, discard), in the foreground or after a desktop notification.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { subjectFor } from './harness/fixtures.js';
import { ipcCalls, startHarness } from './support/app.js';

let harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
});

const LIST = '[data-testid="conversation-list"]';
const READER = '[data-testid="reading-pane"]';
const COMPOSER = '[data-testid="composer"]';
const BODY = '[data-testid="compose-body"]';
const UNDO = '[data-testid="send-undo"]';
const HELD = '[data-testid="held-dialog"]';
const CONFIRM = '[data-testid="held-discard-confirm"]';
const OUTBOX = '[data-testid="outbox-view"]';

const OWNED = { kind: 'owned_by_other', member: 'bram', since: null };
const replied = () => ({
  kind: 'colleague_replied',
  by: 'Bram from Acme',
  at: Date.now() - 5000,
  preview: 'Hi Marieke, a new parcel left our warehouse this morning.',
  message: { folder: 'Sent', uid_validity: 7, uid: 10 },
  message_id: 'bram-2@example.com',
});
const CHRIS_SENDING = { kind: 'colleague_sending', member: 'chris', leaves_at: null, message_id: 'chris-1@example.com' };

async function reply(page, index = 0) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-${index}"]`);
  await page.click(`${LIST} [data-index="${index}"]`);
  await page.waitForSelector(`${READER} article.message:last-of-type .message-body:not([aria-busy="true"])`);
  await page.click(`${READER} h2`);
  await page.keyboard.press('r');
  await page.waitForSelector(COMPOSER);
  await page.waitForFunction((sel) => document.activeElement?.matches(sel), BODY);
}

/** Writes a reply to conversation `index` and sends it; answers the draft (and outbox) id. */
async function sendReply(page, text, index = 0) {
  await reply(page, index);
  const id = await page.getAttribute(COMPOSER, 'data-draft-id');
  await page.keyboard.type(text);
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector(COMPOSER, { state: 'detached' });
  await page.waitForFunction((n) => window.__ipcCalls.filter((c) => c.cmd === 'send_draft').length === n, 1);
  return id;
}

const buttons = (page, sel) => page.locator(`${sel} .actions button`).allTextContents().then((l) => l.map((t) => t.trim()));
const focused = (page) => page.evaluate(() => document.activeElement?.textContent.trim());
const flat = (text) => text.replace(/\s+/g, ' ').trim();
const outboxState = (page) => page.evaluate(() => window.__outbox().map((i) => i.status.state));

test('Send answers “held”: the dialog says why with Edit focused; Escape keeps it held in the Outbox, whose row offers the same choices', async () => {
  const app = await harness.open({ htmlIndex: null, sendHolds: [OWNED] });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Thanks, a new parcel is on its way.');
    const dialog = page.locator(HELD);
    await dialog.waitFor();
    assert.equal(await page.locator(UNDO).count(), 0, 'nothing counts down: it is not leaving');
    const text = flat(await dialog.textContent());
    assert.match(text, /^Your reply is held Decide later Nothing has left\. Before it could leave, Baton found:/);
    assert.equal(flat(await dialog.locator('li[data-kind="owned_by_other"] .headline').textContent()), 'Bram took this conversation at the same moment');
    assert.match(text, /Send yours anyway\? Until you choose, it waits in the Outbox\./);
    assert.deepEqual(await buttons(page, HELD), ['Discard', 'Edit', 'Send anyway']);
    // The safe choice has focus, as in the guard dialog.
    assert.equal(await focused(page), 'Edit');
    await harness.screenshot(page, 'held-dialog');

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.waitForSelector('[data-testid="notice"]:has-text("Your reply waits in the Outbox until you choose.")');
    assert.match(await page.textContent('[data-testid="outbox-badge"]'), /^1/);
    assert.deepEqual(await outboxState(page), ['held']);
    assert.equal((await ipcCalls(page, 'send_held')).length, 0);

    await page.locator('nav button[data-place="outbox"]').click();
    const row = page.locator(`${OUTBOX} [data-id="${id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'held');
    assert.equal(flat(await row.locator('[data-testid="outbox-status"]').textContent()), 'Held — Bram took the conversation');
    assert.deepEqual(await row.locator('[data-testid="held-findings"] li').allTextContents(), [
      'Bram took this conversation at the same moment',
    ]);
    assert.deepEqual(await buttons(page, `${OUTBOX} [data-id="${id}"]`), ['Send anyway', 'Edit', 'Discard']);
    await harness.screenshot(page, 'outbox-held');

    await row.getByRole('button', { name: 'Send anyway' }).click();
    await page.waitForSelector(`${OUTBOX} [data-id="${id}"][data-state="queued"]`);
    assert.deepEqual((await ipcCalls(page, 'send_held')).map((c) => c.args), [{ id, despite: [OWNED] }]);
    await page.waitForSelector('[data-testid="notice"]:has-text("Sending it anyway.")');
    assert.equal(await page.locator(HELD).count(), 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a queued reply held at its last check: the undo notice gives way to the dialog; Send anyway sends despite exactly those findings', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Thanks, a new parcel is on its way.');
    await page.waitForSelector(`${UNDO}:has-text("Sending in")`);
    // Keyboard focus stays where the member left it: nothing is being typed.
    const findings = [replied(), CHRIS_SENDING];
    await page.evaluate(([i, f]) => window.__holdOutbox(i, f), [id, findings]);

    const dialog = page.locator(HELD);
    await dialog.waitFor();
    await page.waitForSelector(UNDO, { state: 'detached' });
    const headlines = (await dialog.locator('.headline').allTextContents()).map(flat);
    assert.equal(headlines.length, 2);
    assert.match(headlines[0], /^Bram from Acme’s reply went out \d+ s ago$/);
    assert.equal(headlines[1], 'Chris’s reply is on its way — being sent now');
    assert.match(await dialog.textContent(), /a new parcel left our warehouse this morning/);
    assert.deepEqual(await buttons(page, HELD), ['Discard', 'View their reply', 'Edit', 'Send anyway']);
    assert.equal(await focused(page), 'Edit');

    await dialog.getByRole('button', { name: 'Send anyway' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual((await ipcCalls(page, 'send_held')).map((c) => c.args), [{ id, despite: findings }]);
    await page.waitForSelector('[data-testid="notice"]:has-text("Sending it anyway.")');
    assert.deepEqual(await outboxState(page), ['queued']);
    // Sent anyway is not "decide later": no notice about it waiting.
    assert.equal(await page.locator('[data-testid="notice"]:has-text("stays held")').count(), 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('Edit on a held reply (Enter: it has focus) brings it back into the composer with its text', async () => {
  const app = await harness.open({ htmlIndex: null, sendHolds: [replied()] });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Thanks, a new parcel is on its way.');
    await page.waitForSelector(HELD);
    await page.waitForFunction(() => document.activeElement?.textContent.trim() === 'Edit');
    await page.keyboard.press('Enter');
    await page.waitForSelector(COMPOSER);
    await page.waitForSelector(HELD, { state: 'detached' });
    assert.deepEqual((await ipcCalls(page, 'undo_send')).map((c) => c.args), [{ id }]);
    assert.equal(await page.getAttribute(COMPOSER, 'data-draft-id'), id);
    assert.match(await page.inputValue(BODY), /^Thanks, a new parcel is on its way\./);
    await page.waitForSelector('[data-testid="notice"]:has-text("Taken back")');
    await page.waitForSelector('[data-testid="outbox-badge"]', { state: 'detached' });
    assert.deepEqual(await outboxState(page), []);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('Discard on a held reply asks first: Escape keeps it; Discard reply removes it for good', async () => {
  const app = await harness.open({ htmlIndex: null, sendHolds: [OWNED] });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Thanks, a new parcel is on its way.');
    const dialog = page.locator(HELD);
    await dialog.getByRole('button', { name: 'Discard' }).click();
    const confirm = page.locator(CONFIRM);
    await confirm.waitFor();
    assert.match(flat(await confirm.textContent()), /^Discard this reply\? The reply and its attachments are removed and will not be sent\./);
    assert.equal(await focused(page), 'Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await dialog.isVisible(), true, 'back to the choice');
    assert.equal((await ipcCalls(page, 'discard_outbox')).length, 0);

    await dialog.getByRole('button', { name: 'Discard' }).click();
    await confirm.getByRole('button', { name: 'Discard reply' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual((await ipcCalls(page, 'discard_outbox')).map((c) => c.args), [{ id }]);
    await page.waitForSelector('[data-testid="notice"]:has-text("Discarded: the reply will not be sent.")');
    assert.deepEqual(await outboxState(page), []);
    assert.deepEqual(await page.evaluate(() => window.__drafts()), []);
    assert.equal((await ipcCalls(page, 'undo_send')).length, 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('held while writing another reply: a notice with Review instead of a dialog under the typing', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Thanks, a new parcel is on its way.');
    await reply(page, 1);
    await page.keyboard.type('Hello Tom');
    await page.evaluate(([i, f]) => window.__holdOutbox(i, f), [id, [replied()]]);
    const notice = page.locator(`[data-testid="notice"]:has-text("Your reply to “Re: ${subjectFor(0)}” is held: Bram from Acme replied first")`);
    await notice.waitFor();
    assert.equal(await page.locator(HELD).count(), 0);
    // Typing goes on where it was.
    await page.keyboard.type(', thanks.');
    assert.match(await page.inputValue(BODY), /^Hello Tom, thanks\./);
    await harness.screenshot(page, 'held-notice');

    await notice.getByRole('button', { name: 'Review' }).click();
    await page.waitForSelector(HELD);
    assert.match(flat(await page.locator(`${HELD} .headline`).textContent()), /^Bram from Acme’s reply went out \d+ s ago$/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('View their reply in the held dialog opens that message; the reply stays held', async () => {
  const app = await harness.open({ htmlIndex: null, sendHolds: [replied()] });
  const { page } = app;
  try {
    await sendReply(page, 'Thanks, a new parcel is on its way.', 1);
    const dialog = page.locator(HELD);
    await dialog.getByRole('button', { name: 'View their reply' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.waitForFunction(() =>
      document.querySelector('article.message[data-message-key="Sent/7/10"]')?.classList.contains('highlighted'),
    );
    await page.waitForSelector('[data-testid="notice"]:has-text("Your reply waits in the Outbox until you choose.")');
    assert.deepEqual(await outboxState(page), ['held']);
    assert.equal((await ipcCalls(page, 'send_held')).length + (await ipcCalls(page, 'undo_send')).length, 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('held in the background: a desktop notification says so, and coming back to the window opens the dialog', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Thanks, a new parcel is on its way.');
    await page.waitForSelector(UNDO);
    await reply(page, 1);
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'plugin:notification|is_permission_granted'));
    await page.evaluate(() => {
      document.hasFocus = () => false;
    });
    await page.evaluate(([i, f]) => window.__holdOutbox(i, f), [id, [replied()]]);
    await page.waitForFunction(() => window.__desktopNotifications.length === 1);
    assert.deepEqual(await page.evaluate(() => window.__desktopNotifications), [
      {
        title: `Your reply to “Re: ${subjectFor(0)}” is held: Bram from Acme replied first`,
        body: 'Nothing has left. Open Baton to send it anyway, edit it or discard it.',
      },
    ]);
    // The composer was open when it happened: the window waits for the member to come back.
    await page.waitForSelector('[data-testid="notice"]:has-text("is held")');
    assert.equal(await page.locator(HELD).count(), 0);

    await page.evaluate(() => {
      document.hasFocus = () => true;
      window.dispatchEvent(new Event('focus'));
    });
    await page.waitForSelector(HELD);
    assert.equal(await focused(page), 'Edit');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('held, in Dutch: the dialog and the Outbox row', async () => {
  const app = await harness.open({ htmlIndex: null, sendHolds: [replied()] }, { locale: 'nl-NL' });
  const { page } = app;
  try {
    const id = await sendReply(page, 'Bedankt, er is een nieuw pakket onderweg.');
    const dialog = page.locator(HELD);
    await dialog.waitFor();
    const text = flat(await dialog.textContent());
    assert.match(text, /^Je antwoord is tegengehouden Later beslissen Er is niets vertrokken\. Voor het verzenden vond Baton:/);
    assert.match(flat(await dialog.locator('.headline').textContent()), /^Het antwoord van Bram from Acme is \d+ s geleden verstuurd$/);
    assert.match(text, /Jouw antwoord toch versturen\? Tot je kiest, wacht het in het Postvak UIT\./);
    assert.deepEqual(await buttons(page, HELD), ['Weggooien', 'Hun antwoord bekijken', 'Bewerken', 'Toch versturen']);
    assert.equal(await focused(page), 'Bewerken');
    await harness.screenshot(page, 'held-dialog-nl');

    await dialog.getByRole('button', { name: 'Later beslissen' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.waitForSelector('[data-testid="notice"]:has-text("Je antwoord wacht in het Postvak UIT tot je kiest.")');
    await page.locator('nav button[data-place="outbox"]').click();
    const row = page.locator(`${OUTBOX} [data-id="${id}"]`);
    await row.waitFor();
    assert.equal(flat(await row.locator('[data-testid="outbox-status"]').textContent()), 'Tegengehouden — Bram from Acme antwoordde eerder');
    assert.match(flat(await row.textContent()), /Er is niets vertrokken\. Verstuur het toch, bewerk het of gooi het weg\./);
    assert.deepEqual(await buttons(page, `${OUTBOX} [data-id="${id}"]`), ['Toch versturen', 'Bewerken', 'Weggooien']);
    await harness.screenshot(page, 'outbox-held-nl');

    // Weggooien here asks the same question as in the dialog.
    await row.getByRole('button', { name: 'Weggooien' }).click();
    const confirm = page.locator(CONFIRM);
    await confirm.waitFor();
    assert.match(flat(await confirm.textContent()), /^Dit antwoord weggooien\?/);
    await confirm.getByRole('button', { name: 'Antwoord weggooien' }).click();
    await row.waitFor({ state: 'detached' });
    assert.deepEqual((await ipcCalls(page, 'discard_outbox')).map((c) => c.args), [{ id }]);
    await page.waitForSelector('[data-testid="notice"]:has-text("Weggegooid: het antwoord wordt niet verstuurd.")');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
