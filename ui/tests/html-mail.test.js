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
const FRAME = `${READER} iframe`;

async function openFirst(page) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(FRAME);
}

async function mailFrame(page) {
  const handle = await page.waitForSelector(FRAME);
  const frame = await handle.contentFrame();
  assert.ok(frame, 'the mail frame has a document');
  return frame;
}

test('hostile HTML passed unsanitized runs no script: the sandbox alone stops it', async () => {
  const app = await harness.open({ hostileIndex: 0, htmlIndex: null });
  const { page } = app;
  try {
    await openFirst(page);
    const frame = await mailFrame(page);
    await frame.waitForSelector('#hostile-title');
    assert.equal(await page.getAttribute(FRAME, 'sandbox'), 'allow-same-origin');

    // Give every payload its chance: onload, onerror, meta refresh after 0 and 1 s,
    // the nested frames, hovering and clicking the inline handlers and the links.
    await frame.hover('#hover');
    await frame.click('#hover');
    await frame.click('#js-link');
    await frame.click('#frame-submit');
    await page.waitForTimeout(1600);

    const parentFlag = await page.evaluate(() => window.__pwned ?? null);
    const frameFlag = await page.$eval(FRAME, (f) => f.contentWindow.__pwned ?? null);
    const innerFlags = await page.$eval(FRAME, (f) =>
      Array.from(f.contentDocument.querySelectorAll('iframe, object')).map((el) => {
        try {
          return el.contentWindow?.__pwned ?? null;
        } catch {
          return null;
        }
      }),
    );
    assert.equal(parentFlag, null, 'nothing ran in the app window');
    assert.equal(frameFlag, null, 'nothing ran in the mail frame');
    assert.ok(innerFlags.every((f) => f === null), 'nothing ran in nested frames');
    assert.deepEqual(app.dialogs, [], 'no alert/confirm dialog appeared');
    // The meta refresh did not navigate the frame away.
    assert.equal(await page.$eval(FRAME, (f) => f.contentDocument.URL), 'about:srcdoc');
    // The javascript: link was swallowed without asking to open anything.
    assert.equal(await page.locator('dialog[open]').count(), 0);
    assert.equal((await ipcCalls(page, 'open_link')).length, 0);
    // The app is still healthy.
    assert.deepEqual(app.errors, []);
    assert.equal(await page.textContent(`${READER} h2`), await page.textContent(`${LIST} [data-index="0"] .subject`));

    // A link whose text pretends to be another site: the confirmation shows the real address.
    await frame.click('#evil-link');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    assert.equal(
      (await dialog.locator('[data-testid="link-url"]').textContent()).trim(),
      'https://evil.example/login?next=%2Fsteal&token=abc',
    );
    assert.match(await dialog.textContent(), /evil\.example/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await ipcCalls(page, 'open_link')).length, 0, 'cancel opens nothing');

    // Typing into a form field inside the mail does not trigger list shortcuts.
    await frame.click('#frame-input');
    await page.keyboard.type('jjk');
    assert.equal(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'data-index'), '0');
    assert.equal(await page.evaluate(() => window.__pwned ?? null), null);
  } finally {
    await app.close();
  }
});

test('a link in HTML mail opens only after confirming the full address', async () => {
  const app = await harness.open();
  const { page } = app;
  try {
    await openFirst(page);
    const frame = await mailFrame(page);
    await frame.click('#track');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    assert.equal(
      (await dialog.locator('[data-testid="link-url"]').textContent()).trim(),
      'https://track.example.com/parcel/AB-123',
    );
    assert.equal(await page.$eval(FRAME, (f) => f.contentDocument.URL), 'about:srcdoc', 'the frame did not navigate');
    await dialog.getByRole('button', { name: 'Open in browser' }).click();
    await page.waitForSelector('dialog[open]', { state: 'detached' }).catch(() => {});
    const opened = await ipcCalls(page, 'open_link');
    assert.deepEqual(opened.map((c) => c.args.url), ['https://track.example.com/parcel/AB-123']);

    // Key presses inside the frame still reach the shortcuts.
    await frame.click('h3');
    await page.keyboard.press('j');
    await page.waitForFunction((sel) => document.querySelector(`${sel} [aria-selected="true"]`)?.dataset.index === '1', LIST);
  } finally {
    await app.close();
  }
});

test('blocked remote images: "Load images" asks again with allowRemoteImages true', async () => {
  const app = await harness.open();
  const { page } = app;
  try {
    await openFirst(page);
    const bar = page.locator(`${READER} [role="status"]:has-text("remote image")`);
    await bar.waitFor();
    assert.match(await bar.textContent(), /1 remote image was blocked/);
    const frame = await mailFrame(page);
    await frame.waitForSelector('img[alt="Banner"]');
    assert.ok(!(await frame.getAttribute('img[alt="Banner"]', 'src')).startsWith('http'));
    assert.ok(!harness.server.requests.includes('/__harness__/remote-banner.svg'), 'no remote request before asking');

    await bar.getByRole('button', { name: 'Load images' }).click();
    await bar.waitFor({ state: 'detached' });
    const calls = await ipcCalls(page, 'get_message_body');
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].args.key, calls[0].args.key);
    assert.equal(calls[0].args.allowRemoteImages, false);
    assert.equal(calls[1].args.allowRemoteImages, true);

    const reloaded = await mailFrame(page);
    await reloaded.waitForFunction(() => {
      const img = document.querySelector('img[alt="Banner"]');
      return img && img.complete && img.naturalWidth > 0 && img.src.includes('remote-banner');
    });
    assert.ok(harness.server.requests.includes('/__harness__/remote-banner.svg'));
    // The frame sizes itself to its content: no inner scrollbar, no clipped text.
    const { frameHeight, contentHeight } = await page.$eval(FRAME, (f) => ({
      frameHeight: f.getBoundingClientRect().height,
      contentHeight: f.contentDocument.documentElement.getBoundingClientRect().height,
    }));
    assert.ok(Math.abs(frameHeight - contentHeight) <= 2, `frame ${frameHeight}px for ${contentHeight}px of content`);
    // The inline logo belongs to the HTML; only real files are listed.
    assert.deepEqual(await page.locator(`${READER} .attachments li .name`).allTextContents(), [
      'invoice-2026-0113.pdf',
      'photo-damage.jpg',
      'notes.txt',
    ]);
    await harness.screenshot(page, 'html-mail');
  } finally {
    await app.close();
  }
});

test('the plain-text toggle shows the text part of an HTML message (dark theme)', async () => {
  const app = await harness.open({}, { colorScheme: 'dark' });
  const { page } = app;
  try {
    await openFirst(page);
    await page.getByRole('button', { name: 'Show plain text' }).click();
    await page.waitForSelector(`${READER} .plain`);
    assert.equal(await page.locator(FRAME).count(), 0);
    await page.locator(`${READER} .fold-toggle`).last().click();
    await harness.screenshot(page, 'main-dark');
    await page.getByRole('button', { name: 'Show formatted' }).click();
    await page.waitForSelector(FRAME);
  } finally {
    await app.close();
  }
});
