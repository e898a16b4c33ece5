import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emitEngineEvent, ipcCalls, startHarness } from './support/app.js';

let harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
});

const LIST = '[data-testid="conversation-list"]';
const STATUS = '[data-testid="connectivity"]';

test('the status bar shows connectivity in plain words, with a live retry countdown', async () => {
  const app = await harness.open({ connectivity: { state: 'connecting' } });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.textContent(STATUS), 'Connecting…');

    await emitEngineEvent(page, { type: 'connectivity', connectivity: { state: 'online', syncing: false } });
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Online', STATUS);

    await emitEngineEvent(page, {
      type: 'connectivity',
      connectivity: {
        state: 'offline',
        problem: { code: 'unreachable', message: 'connect failed', detail: 'Network is unreachable (os error 101)' },
      },
    });
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'Offline — cannot reach the server',
      STATUS,
    );
    assert.equal(
      await page.getAttribute('[role="status"][aria-label="Connection status"]', 'title'),
      'Network is unreachable (os error 101)',
    );

    await emitEngineEvent(page, {
      type: 'connectivity',
      connectivity: {
        state: 'retrying',
        problem: { code: 'connection_lost', message: 'eof', detail: null },
        in_secs: 3,
      },
    });
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'Offline — the connection dropped. Retrying in 3 s',
      STATUS,
    );
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'Offline — the connection dropped. Retrying in 2 s',
      STATUS,
      { timeout: 2500 },
    );
    await harness.screenshot(page, 'retrying');
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'Offline — the connection dropped. Retrying now…',
      STATUS,
      { timeout: 4000 },
    );

    // No need to wait out the backoff.
    await page.getByRole('button', { name: 'Retry now' }).click();
    assert.equal((await ipcCalls(page, 'retry_now')).length, 1);
    await emitEngineEvent(page, { type: 'connectivity', connectivity: { state: 'connecting' } });
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Connecting…', STATUS);
    assert.equal(await page.getByRole('button', { name: 'Retry now' }).count(), 0);
  } finally {
    await app.close();
  }
});

test('sync_progress shows a progress bar with "x of y" while syncing', async () => {
  const app = await harness.open({ connectivity: { state: 'online', syncing: true } });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.textContent(STATUS), 'Syncing…');
    await emitEngineEvent(page, { type: 'sync_progress', progress: { folder: 'INBOX', done: 1200, total: 5000 } });
    const progress = page.locator('[data-testid="sync-progress"]');
    await progress.waitFor();
    assert.match(await progress.textContent(), /INBOX: 1,200 of 5,000/);
    const bar = progress.getByRole('progressbar');
    assert.equal(await bar.getAttribute('aria-valuenow'), '1200');
    assert.equal(await bar.getAttribute('aria-valuemax'), '5000');
    await harness.screenshot(page, 'syncing');

    await emitEngineEvent(page, { type: 'sync_progress', progress: { folder: 'INBOX', done: 4000, total: 5000 } });
    await page.waitForFunction(() => document.querySelector('[data-testid="sync-progress"]')?.textContent.includes('4,000 of 5,000'));
    await emitEngineEvent(page, { type: 'connectivity', connectivity: { state: 'online', syncing: false } });
    await progress.waitFor({ state: 'detached' });
    assert.equal(await page.textContent(STATUS), 'Online');
  } finally {
    await app.close();
  }
});

test('a cache fetched again because it was damaged says so beside its progress', async () => {
  const app = await harness.open({ connectivity: { state: 'online', syncing: true } });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await emitEngineEvent(page, {
      type: 'sync_progress',
      progress: { folder: 'INBOX', done: 300, total: 20000, rebuilding: true },
    });
    const progress = page.locator('[data-testid="sync-progress"]');
    await progress.waitFor();
    assert.match(
      await progress.textContent(),
      /The copy on this computer was damaged and is fetched again — INBOX: 300 of 20,000/,
    );
    await harness.screenshot(page, 'cache-rebuilding');
    await emitEngineEvent(page, { type: 'sync_progress', progress: { folder: 'INBOX', done: 900, total: 20000, rebuilding: false } });
    await page.waitForFunction(() => {
      const text = document.querySelector('[data-testid="sync-progress"]')?.textContent ?? '';
      return text.includes('INBOX: 900 of 20,000') && !text.includes('damaged');
    });
  } finally {
    await app.close();
  }
});

test('conversations_changed refreshes the list and the open conversation; resync reloads', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('article.message:last-of-type .plain');
    const before = {
      list: (await ipcCalls(page, 'list_conversations')).length,
      detail: (await ipcCalls(page, 'get_conversation')).length,
    };

    // A conversation that is not open: the list refreshes, the reading pane does not.
    await emitEngineEvent(page, { type: 'conversations_changed', ids: ['unassigned-7'] });
    await page.waitForFunction((n) => window.__ipcCalls.filter((c) => c.cmd === 'list_conversations').length > n, before.list);
    assert.equal((await ipcCalls(page, 'get_conversation')).length, before.detail);

    // The open one: its messages are fetched again, without losing what is shown.
    await emitEngineEvent(page, { type: 'conversations_changed', ids: ['unassigned-0'] });
    await page.waitForFunction((n) => window.__ipcCalls.filter((c) => c.cmd === 'get_conversation').length > n, before.detail);
    await page.waitForSelector('article.message:last-of-type .plain');
    assert.equal(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'data-conversation-id'), 'unassigned-0');

    const bodies = (await ipcCalls(page, 'get_message_body')).length;
    await emitEngineEvent(page, { type: 'resync' });
    await page.waitForFunction((n) => window.__ipcCalls.filter((c) => c.cmd === 'get_message_body').length > n, bodies);
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.waitForSelector('article.message:last-of-type .plain');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
