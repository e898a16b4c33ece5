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
// A conversation the demo mailbox always holds (the corpus is generated from a fixed seed).
const knownSubject = process.env.BATON_E2E_SUBJECT;

test('the real app lists the demo mailbox and opens a conversation', { timeout: 240_000 }, async () => {
  assert.ok(app, 'BATON_APP must name the built app');
  mkdirSync(out, { recursive: true });
  const session = await Session.start(driver, {
    browserName: 'wry',
    'tauri:options': { application: app, args: ['--profile', 'anna'] },
  });
  try {
    // The first sync of the demo mailbox fills the list.
    await session.waitFor("//*[@data-testid='connectivity'][contains(., 'Online') or contains(., 'Verbonden')]", 'online');
    if (knownSubject) {
      await session.waitFor(`//*[@role='option'][contains(., ${xpathString(knownSubject)})]`, `the row "${knownSubject}"`);
    }
    const first = await session.waitFor("//*[@role='listbox']//*[@role='option']", 'a conversation row');
    writeFileSync(join(out, 'list.png'), await session.screenshot());

    const target = knownSubject
      ? await session.waitFor(`//*[@role='option'][contains(., ${xpathString(knownSubject)})]`, 'the known row')
      : first;
    const rowText = await session.text(target);
    await session.click(target);
    const heading = await session.waitFor("//*[@data-testid='reading-pane']//h2", 'the reading pane heading');
    const subject = await session.text(heading);
    assert.ok(subject.length > 0, 'the conversation has a subject');
    assert.ok(rowText.includes(subject.slice(0, 20)), `the row "${rowText}" opened "${subject}"`);
    // A body arrives from the server and renders (plain text or the sandboxed frame).
    await session.waitFor(
      "//*[@data-testid='reading-pane']//*[contains(@class,'plain') or self::iframe]",
      'a message body',
    );
    writeFileSync(join(out, 'conversation.png'), await session.screenshot());
  } finally {
    await session.end().catch(() => {});
  }
});

function xpathString(text) {
  if (!text.includes("'")) return `'${text}'`;
  return `concat('${text.split("'").join(`', "'", '`)}')`;
}
