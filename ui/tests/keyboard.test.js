import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { messageCountFor, subjectFor } from './harness/fixtures.js';
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

async function selectedIndex(page) {
  return Number(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'data-index'));
}

test('j/k and arrows move the selection, Enter opens, bodies load lazily, Escape returns', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'listbox');
    assert.equal(await selectedIndex(page), 0);

    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('ArrowDown');
    assert.equal(await selectedIndex(page), 3);
    await page.keyboard.press('k');
    assert.equal(await selectedIndex(page), 2);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('j');
    assert.equal(await selectedIndex(page), 2);
    assert.equal(
      await page.getAttribute(LIST, 'aria-activedescendant'),
      'conversation-option-2',
      'the listbox points assistive tech at the selected row',
    );
    // Moving the cursor alone does not open anything.
    assert.equal((await ipcCalls(page, 'get_conversation')).length, 0);

    await page.keyboard.press('Enter');
    await page.waitForSelector(`${READER} h2`);
    assert.equal(await page.textContent(`${READER} h2`), subjectFor(2));
    const count = messageCountFor(2);
    assert.equal(await page.locator(`${READER} article.message`).count(), count);

    // Only the newest message is expanded and only its body is requested.
    await page.waitForSelector(`${READER} article.message:last-of-type .plain`);
    const bodies = await ipcCalls(page, 'get_message_body');
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0].args.key.uid, 2 * 10 + count - 1);
    assert.equal(bodies[0].args.allowRemoteImages, false);
    const expanded = await page.$$eval(`${READER} article.message > button`, (b) =>
      b.map((x) => x.getAttribute('aria-expanded')),
    );
    assert.deepEqual(expanded, [...Array(count - 1).fill('false'), 'true']);

    // Expanding an older message loads its body then, with a loading state first.
    await page.click(`${READER} article.message:first-of-type > button`);
    await page.waitForSelector(`${READER} article.message:first-of-type [role="status"]:has-text("Loading message")`);
    await page.waitForSelector(`${READER} article.message:first-of-type .plain`);
    assert.equal((await ipcCalls(page, 'get_message_body')).length, 2);

    // Focus is in the reading pane; Escape goes back to the list, u as well.
    await page.click(`${READER} h2`);
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'listbox');
    await page.keyboard.press('Enter');
    await page.keyboard.press('u');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'listbox');

    // From the reading pane, j opens the next conversation right away.
    await page.keyboard.press('Enter');
    await page.keyboard.press('j');
    await page.waitForFunction(
      ([sel, subject]) => document.querySelector(`${sel} h2`)?.textContent === subject,
      [READER, subjectFor(3)],
    );
    assert.equal(await selectedIndex(page), 3);
    await page.waitForSelector(`${READER} article.message:last-of-type .plain`);
    await harness.screenshot(page, 'main');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('? opens the shortcut overlay listing every shortcut; Escape closes it', async () => {
  const app = await harness.open();
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.keyboard.press('?');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    assert.equal(await dialog.locator('h2').textContent().then((t) => t.trim()), 'Keyboard shortcuts');
    const text = await dialog.textContent();
    for (const phrase of ['Next conversation', 'Previous conversation', 'Open the selected conversation', 'Back to the list', 'Go to Unassigned', 'Go to Mine', 'Go to Team', 'Go to Waiting', 'Go to Done', 'Go to All', 'Go to Sent', 'Claim, or release when you hold it', 'Hand over to a colleague', 'Mark as waiting on the customer', 'Mark as done', 'Reopen', 'Show this list']) {
      assert.ok(text.includes(phrase), `overlay lists “${phrase}”`);
    }
    const keys = await dialog.locator('kbd').allTextContents();
    for (const key of ['j', 'k', '↓', '↑', 'Enter', 'Esc', 'u', 'g', 'm', 't', 'w', 'd', 'a', 's', '1', '7', 'c', 'h', 'o', '?']) {
      assert.ok(keys.includes(key), `overlay shows key ${key}`);
    }
    // Keys do nothing behind the overlay.
    await page.keyboard.press('j');
    assert.equal(await selectedIndex(page), 0);
    await harness.screenshot(page, 'shortcuts');

    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' }).catch(() => {});
    assert.equal(await page.locator('dialog[open]').count(), 0);
    await page.keyboard.press('j');
    assert.equal(await selectedIndex(page), 1);
  } finally {
    await app.close();
  }
});
