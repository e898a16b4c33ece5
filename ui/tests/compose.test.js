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
const COMPOSER = '[data-testid="composer"]';
const BODY = '[data-testid="compose-body"]';
const UNDO = '[data-testid="send-undo"]';
const GUARD = '[data-testid="guard-dialog"]';
const MIN = 60_000;

async function openConversation(page, index = 0) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-${index}"]`);
  await page.click(`${LIST} [data-index="${index}"]`);
  await page.waitForSelector(`${READER} article.message:last-of-type .message-body:not([aria-busy="true"])`);
}

async function reply(page, index = 0) {
  await openConversation(page, index);
  await page.click(`${READER} h2`);
  await page.keyboard.press('r');
  await page.waitForSelector(COMPOSER);
  await page.waitForFunction((sel) => document.activeElement?.matches(sel), BODY);
}

test('r opens a reply with the quote; typing autosaves; Ctrl+Enter queues it with a countdown; Undo restores it', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await reply(page);
    assert.deepEqual((await ipcCalls(page, 'start_draft')).map((c) => c.args), [
      { kind: 'reply', conversation: 'unassigned-0', source: null, lang: 'en' },
    ]);
    assert.equal(await page.inputValue('[data-testid="compose-to"]'), 'Marieke Bakker <marieke@bakkerij-bakker.nl>');
    assert.equal(await page.inputValue('[data-testid="compose-subject"]'), `Re: ${subjectFor(0)}`);
    const body = await page.inputValue(BODY);
    assert.match(body, /Marieke Bakker wrote:\n> Hi, I ordered last week/);
    assert.match(body, /Anna\nAcme Support/, 'both signatures');
    // Colleagues see it being answered; the engine reports that itself on start_draft.
    assert.equal(await page.getAttribute(COMPOSER, 'aria-labelledby') !== null, true);

    // The cursor starts above the signature and quote.
    await page.keyboard.type('Thanks, a replacement is on its way.');
    assert.match(await page.inputValue(BODY), /^Thanks, a replacement is on its way\.\n\nAnna/);
    await page.waitForSelector('[data-testid="save-state"]:text("Saved")', { timeout: 5000 });
    const saves = await ipcCalls(page, 'save_draft');
    assert.equal(saves.length, 1, 'one save after the pause, not one per key');
    assert.match(saves[0].args.edit.body, /^Thanks, a replacement/);
    await harness.screenshot(page, 'composer');

    await page.keyboard.press('Control+Enter');
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    const sends = await ipcCalls(page, 'send_draft');
    assert.equal(sends.length, 1);
    assert.deepEqual(sends[0].args.options, { send_at: null, despite: [] });
    const undo = page.locator(UNDO);
    await undo.waitFor();
    const first = Number(/Sending in (\d+) s/.exec(await undo.textContent())[1]);
    assert.ok(first >= 9 && first <= 10, `countdown starts at the undo window, got ${first}`);
    await harness.screenshot(page, 'send-undo');
    await page.waitForFunction(
      (n) => {
        const m = /Sending in (\d+) s/.exec(document.querySelector('[data-testid="send-undo"]')?.textContent ?? '');
        return m && Number(m[1]) < n;
      },
      first,
    );
    // The outbox holds it, and says so on the sidebar.
    assert.equal((await page.textContent('[data-testid="outbox-badge"]')).trim().charAt(0), '1');

    await undo.getByRole('button', { name: 'Undo' }).click();
    await page.waitForSelector(COMPOSER);
    assert.deepEqual((await ipcCalls(page, 'undo_send')).map((c) => c.args), [{ id: sends[0].args.id }]);
    assert.match(await page.inputValue(BODY), /^Thanks, a replacement is on its way\./);
    await page.waitForSelector('[data-testid="notice"]:has-text("Taken back")');
    await page.waitForSelector(UNDO, { state: 'detached' });
    await page.waitForSelector('[data-testid="outbox-badge"]', { state: 'detached' });

    // Esc closes; the draft stays and the conversation offers to continue it.
    await page.keyboard.press('Escape');
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    await page.waitForSelector('[data-testid="notice"]:has-text("Draft saved")');
    await page.getByRole('button', { name: 'Continue writing' }).click();
    await page.waitForSelector(COMPOSER);
    assert.match(await page.inputValue(BODY), /^Thanks, a replacement/);
    assert.equal((await ipcCalls(page, 'start_draft')).length, 1, 'resumed, not started again');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

const BRAM_REPLY = {
  kind: 'colleague_replied',
  by: 'Bram from Acme',
  at: Date.now() - 3 * MIN,
  preview: 'Hi Tom, we sent a replacement parcel this morning.',
  message: { folder: 'Sent', uid_validity: 7, uid: 10 },
};
const CHRIS_REPLYING = { kind: 'colleague_replying', member: 'chris' };

test('the guard stops a send: the dialog names who, when and what; Keep editing keeps the draft; Send anyway names exactly what was shown', async () => {
  const app = await harness.open({ htmlIndex: null, sendGuard: [BRAM_REPLY, CHRIS_REPLYING] });
  const { page } = app;
  try {
    await reply(page, 1);
    await page.keyboard.type('Sorry for the wait.');
    await page.keyboard.press('Control+Enter');
    const dialog = page.locator(GUARD);
    await dialog.waitFor();
    const text = await dialog.textContent();
    assert.match(text, /Your reply has not been sent/);
    assert.match(text, /Bram from Acme replied 3 min ago/);
    assert.match(text, /we sent a replacement parcel this morning/);
    assert.match(text, /Chris is replying to this right now/);
    // The safe choice has focus.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent.trim()), 'Keep editing');
    await harness.screenshot(page, 'guard-dialog');

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.match(await page.inputValue(BODY), /^Sorry for the wait\./);
    assert.equal(await page.locator(UNDO).count(), 0, 'nothing was queued');

    await page.keyboard.press('Control+Enter');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Keep editing' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.waitForSelector(COMPOSER);

    await page.keyboard.press('Control+Enter');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Send anyway' }).click();
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    await page.waitForSelector(UNDO);
    const sends = await ipcCalls(page, 'send_draft');
    assert.equal(sends.length, 4);
    assert.deepEqual(sends.slice(0, 3).map((c) => c.args.options.despite), [[], [], []]);
    assert.deepEqual(sends[3].args.options, { send_at: null, despite: [BRAM_REPLY, CHRIS_REPLYING] });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('"View their reply" puts the draft away and opens the conversation at that message', async () => {
  const app = await harness.open({ htmlIndex: null, sendGuard: [BRAM_REPLY] });
  const { page } = app;
  try {
    await reply(page, 1);
    await page.keyboard.type('Draft text');
    await page.keyboard.press('Control+Enter');
    await page.locator(GUARD).getByRole('button', { name: 'View their reply' }).click();
    await page.waitForSelector(GUARD, { state: 'detached' });
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    const message = page.locator(`${READER} article.message[data-message-key="Sent/7/10"]`);
    await message.waitFor();
    await page.waitForFunction(() =>
      document.querySelector('article.message[data-message-key="Sent/7/10"]')?.classList.contains('highlighted'),
    );
    assert.equal(await message.locator('> button').getAttribute('aria-expanded'), 'true');
    // The draft is kept; continuing brings the text back.
    await page.getByRole('button', { name: 'Continue writing' }).click();
    await page.waitForSelector(COMPOSER);
    assert.match(await page.inputValue(BODY), /^Draft text/);
    assert.equal((await ipcCalls(page, 'discard_draft')).length, 0);
  } finally {
    await app.close();
  }
});

test('live banners: a colleague starting to reply shows at once; new customer mail after a change', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await reply(page);
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'check_draft'));
    assert.equal(await page.locator('[data-testid="guard-banners"]').count(), 0);
    const checks = (await ipcCalls(page, 'check_draft')).map((c) => c.args.live);
    assert.deepEqual([...new Set(checks)], [false], 'banners never read the mailbox live');

    await page.evaluate(() => {
      window.__scenario.guard = [{ kind: 'colleague_replying', member: 'bram' }];
    });
    // Presence for another conversation does not ask again.
    const before = (await ipcCalls(page, 'check_draft')).length;
    await emitEngineEvent(page, { type: 'presence', presence: { id: 'unassigned-5', present: [] } });
    await emitEngineEvent(page, {
      type: 'presence',
      presence: { id: 'unassigned-0', present: [{ member: 'bram', activity: 'replying' }] },
    });
    const banner = page.locator('[data-testid="guard-banners"] [data-kind="colleague_replying"]');
    await banner.waitFor();
    assert.equal((await banner.textContent()).trim(), 'Bram is replying to this right now');
    assert.equal((await ipcCalls(page, 'check_draft')).length, before + 1);

    await page.evaluate((at) => {
      window.__scenario.guard = [
        { kind: 'colleague_replying', member: 'bram' },
        {
          kind: 'customer_wrote',
          from: { name: 'Marieke Bakker', address: 'marieke@bakkerij-bakker.nl' },
          at,
          preview: 'Never mind, it just arrived!',
          message: { folder: 'INBOX', uid_validity: 7, uid: 1 },
        },
        { kind: 'colleague_replied', by: '', at: null, preview: '', message: null },
      ];
    }, Date.now() - 2 * MIN);
    await emitEngineEvent(page, { type: 'conversations_changed', ids: ['unassigned-0'] });
    await page.waitForSelector('[data-testid="guard-banners"] [data-kind="customer_wrote"]');
    assert.equal(
      (await page.textContent('[data-testid="guard-banners"] [data-kind="customer_wrote"] .text')).trim(),
      'The customer wrote again 2 min ago: Never mind, it just arrived!',
    );
    assert.equal(
      (await page.textContent('[data-testid="guard-banners"] [data-kind="colleague_replied"]')).trim(),
      'Someone answered this from another mail app',
    );
    // Typing goes on: the banners do not take focus.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'compose-body');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
