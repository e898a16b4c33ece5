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

// --- Drag-and-drop: the OS reports the drag, the shell keeps the drop, the page only asks ---

const DROP_ZONE = '[data-testid="drop-zone"]';
const ATTACHMENTS = '[data-testid="compose-attachments"] li .name';
const INVOICE = '/home/anna/Documents/invoice-2026-0113.pdf';
const PHOTO = '/home/anna/Pictures/photo-damage.jpg';
const SCANS = '/home/anna/Pictures/Scans';

const dragFiles = (page, step, paths, recorded = true) =>
  page.evaluate(([s, p, r]) => window.__dragFiles[s](p, r), [step, paths, recorded]);
const dropListeners = (page) => page.evaluate(() => window.__listeners('tauri://drag-drop'));

test('files dragged onto the composer: a drop zone while over it, a drop attaches through the shell, folders are named', async () => {
  const app = await harness.open({
    htmlIndex: null,
    droppedFiles: { 'photo-damage.jpg': { mime_type: 'image/jpeg', size: 11_200_000 } },
    droppedFolders: [SCANS],
  });
  const { page } = app;
  try {
    assert.equal(await dropListeners(page), 0, 'nobody listens while no composer is open');
    await reply(page);
    await page.waitForFunction(() => window.__listeners('tauri://drag-drop') === 1);
    const draftId = await page.getAttribute(COMPOSER, 'data-draft-id');

    await dragFiles(page, 'enter', [INVOICE, PHOTO, SCANS]);
    const zone = page.locator(DROP_ZONE);
    await zone.waitFor();
    assert.equal((await zone.locator('.drop-title').textContent()).trim(), 'Drop files here to attach them');
    assert.match(await zone.textContent(), /Only files: folders cannot be attached\./);
    await dragFiles(page, 'over');
    await dragFiles(page, 'leave');
    await zone.waitFor({ state: 'detached' });
    assert.equal((await ipcCalls(page, 'attach_dropped')).length, 0, 'leaving attaches nothing');

    // Text dragged from another app carries no files: no drop zone.
    await dragFiles(page, 'enter', []);
    await dragFiles(page, 'over');
    await page.waitForTimeout(100);
    assert.equal(await zone.count(), 0);
    await dragFiles(page, 'leave');

    await dragFiles(page, 'enter', [INVOICE, PHOTO, SCANS]);
    await dragFiles(page, 'over');
    await zone.waitFor();
    await harness.screenshot(page, 'composer-drop-zone');

    await dragFiles(page, 'drop', [INVOICE, PHOTO, SCANS]);
    await zone.waitFor({ state: 'detached' });
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, ATTACHMENTS);
    // The page names only the draft: the paths are the shell's own record of the drop.
    assert.deepEqual((await ipcCalls(page, 'attach_dropped')).map((c) => c.args), [{ id: draftId }]);
    assert.deepEqual(await page.locator(ATTACHMENTS).allTextContents(), ['invoice-2026-0113.pdf', 'photo-damage.jpg']);
    // The same size warning as files from the picker.
    const warning = page.locator('[data-testid="size-warning"]');
    assert.equal(await warning.getAttribute('data-level'), 'large');
    assert.match(await warning.textContent(), /11\.2 MB of attachments\. Some mail servers refuse messages over 10 MB/);
    assert.equal(
      (await page.textContent('[data-testid="skipped-folders"]')).trim(),
      'Folders cannot be attached: Scans. Drag the files inside it here instead.',
    );
    await harness.screenshot(page, 'composer-dropped');

    // Closing the composer ends the listening; a later drop attaches nothing.
    await page.keyboard.press('Escape');
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    await page.waitForFunction(() => window.__listeners('tauri://drag-drop') === 0);
    await dragFiles(page, 'drop', [INVOICE]);
    await page.waitForTimeout(100);
    assert.equal((await ipcCalls(page, 'attach_dropped')).length, 1);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a drop the shell no longer has, or a file it cannot read, says so in plain words', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await reply(page);
    await page.waitForFunction(() => window.__listeners('tauri://drag-drop') === 1);
    // The page heard a drop the shell no longer has (too old, or used already).
    await dragFiles(page, 'enter', [INVOICE]);
    await dragFiles(page, 'drop', [INVOICE], false);
    const notice = page.locator(`${COMPOSER} [role="alert"]`);
    await notice.waitFor();
    assert.equal(await notice.getAttribute('data-problem-code'), 'not_found');
    assert.equal(
      (await notice.locator('.text').textContent()).replace(/\s+/g, ' ').trim(),
      'Not every file was attached. Baton did not receive the dropped files in time. Drag them here again.',
    );
    assert.equal(await page.locator(DROP_ZONE).count(), 0);

    // A file the shell could not read: the engine's words stay behind Details.
    await page.evaluate(() => {
      window.__scenario.attachDroppedError = {
        code: 'file_failed',
        message: 'could not use /home/anna/locked.pdf',
        detail: 'Permission denied (os error 13)',
        holder: null,
        held_since: null,
      };
    });
    await dragFiles(page, 'enter', ['/home/anna/locked.pdf']);
    await dragFiles(page, 'drop', ['/home/anna/locked.pdf']);
    await page.waitForSelector(`${COMPOSER} [role="alert"][data-problem-code="file_failed"]`);
    assert.equal(
      (await notice.locator('.text').textContent()).replace(/\s+/g, ' ').trim(),
      'Not every file was attached. A file could not be read or copied into the draft.',
    );
    assert.equal((await notice.locator('pre.detail').textContent()).trim(), 'Permission denied (os error 13)');
    await harness.screenshot(page, 'composer-drop-problem');
    assert.equal((await ipcCalls(page, 'attach_dropped')).length, 2);

    // The next drop that works clears the old problem.
    await page.evaluate(() => {
      window.__scenario.attachDroppedError = null;
    });
    await dragFiles(page, 'drop', [INVOICE]);
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, ATTACHMENTS);
    await notice.waitFor({ state: 'detached' });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('drag-and-drop in Dutch: the drop zone, skipped folders and problems', async () => {
  const app = await harness.open({ htmlIndex: null, droppedFolders: [SCANS] }, { locale: 'nl-NL' });
  const { page } = app;
  try {
    await reply(page);
    await page.waitForFunction(() => window.__listeners('tauri://drag-drop') === 1);
    await dragFiles(page, 'enter', [INVOICE, SCANS]);
    const zone = page.locator(DROP_ZONE);
    await zone.waitFor();
    assert.equal(
      (await zone.locator('.drop-title').textContent()).trim(),
      'Zet de bestanden hier neer om ze bij te voegen',
    );
    assert.match(await zone.textContent(), /Alleen bestanden: mappen kunnen niet worden bijgevoegd\./);
    await harness.screenshot(page, 'composer-drop-zone-nl');

    await dragFiles(page, 'drop', [INVOICE, SCANS]);
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, ATTACHMENTS);
    assert.equal(
      (await page.textContent('[data-testid="skipped-folders"]')).trim(),
      'Mappen kunnen niet worden bijgevoegd: Scans. Sleep de bestanden uit de map hierheen.',
    );

    await page.evaluate(() => {
      window.__scenario.attachDroppedError = {
        code: 'message_too_large',
        message: 'the file is too large to send by mail',
        detail: null,
        holder: null,
        held_since: null,
      };
    });
    await dragFiles(page, 'drop', ['/home/anna/Videos/unboxing.mp4']);
    const notice = page.locator(`${COMPOSER} [role="alert"]`);
    await notice.waitFor();
    assert.equal(
      (await notice.locator('.text').textContent()).replace(/\s+/g, ' ').trim(),
      'Niet alle bestanden zijn bijgevoegd. Een bestand is te groot om per mail te versturen. Deel in plaats daarvan een downloadlink.',
    );
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
