import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
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
const NEWEST = `${READER} article.message:last-of-type`;

async function open(page, index) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-${index}"]`);
  await page.click(`${LIST} [data-index="${index}"]`);
  await page.waitForSelector(`${NEWEST} .message-body:not([aria-busy="true"])`);
}

test('plain text keeps line breaks, links URLs as anchors, folds quotes and dims the signature', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await open(page, 1);
    const body = page.locator(`${NEWEST} .plain .body`);
    assert.equal(await body.evaluate((el) => getComputedStyle(el).whiteSpace), 'pre-wrap');
    assert.match(await body.textContent(), /Hello,\n\nThis is message/);

    // The URL is a real anchor, but a click asks first; its trailing punctuation stays text.
    // Only full http(s) URLs become links; balanced brackets stay in, closing ones go out.
    assert.deepEqual(await body.locator('a').allTextContents(), [
      'https://track.example.com/parcel/AB-123?lang=en',
      'https://docs.example.com/kettle_(v2)',
    ]);
    const link = body.locator('a').first();
    await link.click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    assert.equal(
      (await dialog.locator('[data-testid="link-url"]').textContent()).trim(),
      'https://track.example.com/parcel/AB-123?lang=en',
    );
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' }).catch(() => {});
    assert.equal((await ipcCalls(page, 'open_link')).length, 0);

    // No mail text is ever parsed as HTML.
    const elements = await body.evaluate((el) => Array.from(el.querySelectorAll('*')).map((e) => e.tagName));
    assert.deepEqual(elements, ['A', 'A']);

    // Quotes are folded until asked for; each depth adds a bar.
    const toggle = page.locator(`${NEWEST} .fold-toggle`);
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.locator(`${NEWEST} .quote`).count(), 0);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.deepEqual(await page.locator(`${NEWEST} .quote`).evaluateAll((q) => q.map((e) => e.dataset.depth)), ['1', '2']);
    const [pad1, pad2] = await page
      .locator(`${NEWEST} .quote`)
      .evaluateAll((q) => q.map((e) => parseFloat(getComputedStyle(e).paddingLeft)));
    assert.ok(pad2 > pad1, 'deeper quotes sit further in');

    const signature = page.locator(`${NEWEST} .signature`);
    assert.match(await signature.textContent(), /Bakkerij Bakker/);
    const [sigColor, bodyColor] = await Promise.all([
      signature.evaluate((el) => getComputedStyle(el).color),
      body.evaluate((el) => getComputedStyle(el).color),
    ]);
    assert.notEqual(sigColor, bodyColor, 'the signature is dimmed');

    // Headers: sender, recipients, cc, and the subject only where it differs.
    const first = page.locator(`${READER} article.message:first-of-type`);
    await first.locator('> button').click();
    await first.locator('.plain').waitFor();
    assert.match(await first.locator('dl.fields').textContent(), /To\s*Tom Hendriks <tom\.hendriks@example\.org>/);
    assert.equal(await first.locator('dd.subject').count(), 0, '"Re:" alone is not a different subject');
  } finally {
    await app.close();
  }
});

test('attachments: save shows the path, a cancelled dialog or the error', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await open(page, 3);
    const items = page.locator(`${NEWEST} .attachments li`);
    // Without an HTML part to show it in, the inline image is listed as a file too.
    assert.equal(await items.count(), 4);
    assert.match(await items.nth(2).textContent(), /logo\.png/);
    assert.match(await items.nth(0).textContent(), /invoice-2026-0113\.pdf.*application\/pdf · 48\.2 KB/s);
    assert.match(await items.nth(1).textContent(), /2\.4 MB/);

    await items.nth(0).getByRole('button').click();
    await items.nth(0).locator('text=Saved to /home/anna/Downloads/invoice-2026-0113.pdf').waitFor();
    await items.nth(1).getByRole('button').click();
    await items.nth(1).locator('text=Not saved.').waitFor();
    await items.nth(3).getByRole('button').click();
    await items.nth(3).locator('text=Could not save: The file could not be written.').waitFor();

    const saves = await ipcCalls(page, 'save_attachment');
    assert.deepEqual(saves.map((c) => c.args.index), [0, 1, 3]);
    assert.equal(saves[0].args.key.uid, 3 * 10 + 3);
  } finally {
    await app.close();
  }
});

test('a message body that fails shows the problem in plain words, with details and a retry', async () => {
  const app = await harness.open({ htmlIndex: null, failBodyUid: 2 * 10 + 2 });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-2"]`);
    await page.click(`${LIST} [data-index="2"]`);
    const notice = page.locator(`${NEWEST} [role="alert"]`);
    await notice.waitFor();
    assert.match(await notice.textContent(), /This message could not be shown\.\s*This message could not be read\./);
    await notice.locator('summary').click();
    assert.match(await notice.locator('pre').textContent(), /unexpected end of multipart/);
    await notice.getByRole('button', { name: 'Try again' }).click();
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === 'get_message_body').length === 2);
  } finally {
    await app.close();
  }
});
