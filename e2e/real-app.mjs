// End-to-end: the real Baton binary under Xvfb, driven through tauri-driver and
// WebKitWebDriver, against the demo shared mailbox. Run by e2e/run.sh, which starts the
// mailbox, the keyring and the driver.
//
//   BATON_APP=<path to the baton binary> BATON_E2E_OUT=<screenshot dir> node e2e/real-app.mjs

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Session } from './webdriver.mjs';

const driver = process.env.BATON_WEBDRIVER ?? 'http://127.0.0.1:4444';
const app = process.env.BATON_APP;
const out = process.env.BATON_E2E_OUT ?? 'test-output/e2e';
// A conversation the demo mailbox always holds: the phishing attempt with hostile HTML.
const knownSubject = 'Uw mailbox is bijna vol – bevestig uw account';

test('the real app lists the demo mailbox and opens a conversation', { timeout: 240_000 }, async () => {
  assert.ok(app, 'BATON_APP must name the built app');
  mkdirSync(out, { recursive: true });
  const session = await Session.start(driver, {
    browserName: 'wry',
    'tauri:options': { application: app, args: ['--profile', 'anna'] },
  });
  try {
    await session.waitForScript(
      "return document.querySelector('[data-testid=connectivity]')?.textContent.includes('Online')",
      'online',
    );
    // Rows with their subjects, after the first page arrived.
    const first = await session.waitForScript(
      "return document.querySelector('[role=listbox] [role=option] .subject')?.textContent.trim()",
      'a conversation row with a subject',
    );
    assert.ok(first.length > 0);
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(join(out, 'list.png'), await session.screenshot());

    // Scroll the virtual list until the known conversation is rendered.
    const rowXpath = `//*[@role='option'][.//*[contains(@class,'subject')][contains(., ${xpathString(knownSubject)})]]`;
    let row;
    for (let step = 0; step < 80 && !row; step++) {
      const found = await session.find(rowXpath);
      if (found.length > 0) row = found[0];
      else await session.execute("document.querySelector('[role=listbox]').scrollTop += 500");
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(row, `the known subject "${knownSubject}" is in the list`);
    await session.click(row);

    const heading = await session.waitForScript(
      "return document.querySelector('[data-testid=reading-pane] h2')?.textContent.trim()",
      'the reading pane heading',
    );
    assert.equal(heading, knownSubject);
    // Its body arrives from the server: hostile HTML, shown in the sandboxed frame.
    await session.waitForScript("return !!document.querySelector('[data-testid=reading-pane] iframe')", 'the mail frame');
    const frame = await session.execute(
      "const f = document.querySelector('[data-testid=reading-pane] iframe'); return { sandbox: f.getAttribute('sandbox'), srcdoc: (f.getAttribute('srcdoc') || '').length, pwned: window.__pwned === true };",
    );
    assert.ok(!frame.sandbox.includes('allow-scripts'), `sandbox="${frame.sandbox}"`);
    assert.ok(frame.srcdoc > 0, 'the frame holds the sanitized mail');
    assert.equal(frame.pwned, false);
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(join(out, 'conversation.png'), await session.screenshot());
  } finally {
    await session.end().catch(() => {});
  }
});

function xpathString(text) {
  if (!text.includes("'")) return `'${text}'`;
  return `concat('${text.split("'").join(`', "'", '`)}')`;
}
