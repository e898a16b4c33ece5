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

async function renderedRows(page) {
  return page.$$eval(`${LIST} [role="option"]`, (rows) =>
    rows.map((row) => ({
      index: Number(row.dataset.index),
      id: row.dataset.conversationId ?? null,
      text: row.textContent ?? '',
    })),
  );
}

test('a view of 100,000 conversations renders a small window of rows, paged on scroll', async () => {
  const app = await harness.open();
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [role="option"][data-conversation-id="unassigned-0"]`);
    assert.match(await page.textContent('#list-heading + .count'), /100,000 conversations/);

    const first = await renderedRows(page);
    assert.ok(first.length > 5 && first.length < 40, `rendered ${first.length} rows at the top`);
    assert.equal(first[0].index, 0);
    assert.ok(first[0].text.includes(subjectFor(0)));
    assert.equal(await page.getAttribute(LIST, 'role'), 'listbox');
    assert.equal(await page.getAttribute(`${LIST} [data-index="0"]`, 'aria-selected'), 'true');
    assert.equal(await page.getAttribute(`${LIST} [data-index="0"]`, 'aria-setsize'), '100000');

    // Jump to the middle, as a dragged scrollbar would.
    const rowHeight = await page.$eval(`${LIST} [data-index="0"]`, (el) => el.getBoundingClientRect().height);
    const middle = 50_000;
    await page.$eval(LIST, (el, top) => (el.scrollTop = top), middle * rowHeight);
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-${middle}"]`);
    const rows = await renderedRows(page);
    assert.ok(rows.length < 40, `rendered ${rows.length} rows in the middle`);
    assert.ok(rows.every((r) => Math.abs(r.index - middle) < 40), 'only rows near the middle are in the DOM');
    for (const row of rows.filter((r) => r.id)) {
      assert.equal(row.id, `unassigned-${row.index}`);
      assert.ok(row.text.includes(subjectFor(row.index)), `row ${row.index} shows its own subject`);
    }
    // The visible row at the top of the viewport is the one at scrollTop / rowHeight.
    const topVisible = await page.$eval(LIST, (el) => {
      const box = el.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + 40, box.top + 5);
      return hit?.closest('[role="option"]')?.getAttribute('data-index');
    });
    assert.equal(Number(topVisible), middle);

    // Only the pages around the viewport were fetched, 100 rows at a time.
    const fetched = await ipcCalls(page, 'list_conversations');
    assert.ok(fetched.every((c) => c.args.limit === 100 && c.args.view === 'unassigned'));
    assert.ok(fetched.some((c) => c.args.offset === 50_000));
    assert.ok(fetched.length <= 6, `fetched ${fetched.length} pages`);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('scrolling through the list stays within a bounded DOM', async () => {
  const app = await harness.open();
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.hover(LIST);
    for (let i = 0; i < 30; i++) await page.mouse.wheel(0, 900);
    await page.waitForFunction(
      (sel) => document.querySelector(sel).scrollTop > 20000,
      LIST,
    );
    const count = await page.$$eval(`${LIST} [role="option"]`, (rows) => rows.length);
    assert.ok(count < 40, `rendered ${count} rows after scrolling`);
    const spacer = await page.$eval(`${LIST} > div`, (el) => el.getBoundingClientRect().height);
    assert.ok(spacer > 100_000 * 50, 'the scroll area is as tall as all rows together');
  } finally {
    await app.close();
  }
});

test('an empty view shows its empty state; views switch with 7, g u and 1', async () => {
  const app = await harness.open();
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.keyboard.press('7');
    await page.waitForSelector('text=Nothing has been sent from the shared mailbox yet.');
    assert.equal(await page.textContent('#list-heading'), 'Sent');
    assert.equal(await page.getAttribute('nav button[aria-current="page"]', 'aria-current'), 'page');
    assert.match(await page.textContent('nav button[aria-current="page"]'), /Sent/);

    await page.keyboard.press('g');
    await page.keyboard.press('u');
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.textContent('#list-heading'), 'Unassigned');

    await page.keyboard.press('g');
    await page.keyboard.press('s');
    await page.waitForSelector('text=Nothing has been sent from the shared mailbox yet.');
    await page.keyboard.press('1');
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    const views = (await ipcCalls(page, 'list_conversations')).map((c) => c.args.view);
    assert.deepEqual([...new Set(views)].sort(), ['sent', 'unassigned']);
  } finally {
    await app.close();
  }
});

test('End jumps to the last of 100,000 rows and Enter opens it as soon as its page arrives', async () => {
  const app = await harness.open({ htmlIndex: null, latency: { list_conversations: 200 } });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (subject) => document.querySelector('[data-testid="reading-pane"] h2')?.textContent === subject,
      subjectFor(99_999),
    );
    assert.equal(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'data-index'), '99999');
    assert.equal(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'aria-posinset'), '100000');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Home');
    await page.waitForSelector(`${LIST} [aria-selected="true"][data-conversation-id="unassigned-0"]`);
  } finally {
    await app.close();
  }
});
