// End-to-end: the real Baton binary under Xvfb, driven through tauri-driver and
// WebKitWebDriver, against the demo shared mailbox. Run by e2e/run.sh, which starts the
// mailbox, the keyring and the driver.
//
//   BATON_APP=<path to the baton binary> BATON_E2E_OUT=<screenshot dir> node e2e/real-app.mjs

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
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

// A colleague at another desk: Bram, through the same engine, from the command line.
const demo = process.env.BATON_DEMO;
const demoDir = process.env.BATON_DEMO_DIR;
const run = promisify(execFile);
async function asBram(subject, what) {
  const { stdout } = await run(demo, ['act', '--dir', demoDir, '--member', 'bram', '--subject', subject, what], {
    timeout: 120_000,
  });
  return stdout;
}

test('a claim in one Baton shows in the other, both ways, through the hosted team server', { timeout: 300_000 }, async () => {
  assert.ok(demo && demoDir, 'BATON_DEMO and BATON_DEMO_DIR must be set');
  const session = await Session.start(driver, {
    browserName: 'wry',
    'tauri:options': { application: app, args: ['--profile', 'anna'] },
  });
  try {
    // Anna's Baton hosts the team server (the demo's default) and joins it.
    await session.waitForScript(
      "return document.querySelector('[data-testid=team-server]')?.dataset.state === 'online'",
      'the team server online',
      120_000,
    );
    const firstSubject = () =>
      session.waitForScript(
        "return document.querySelector('[role=listbox] [role=option] .subject')?.textContent.trim()",
        'a row in the list',
      );

    // Bram claims the known conversation: Anna's Team view shows him holding it.
    await asBram(knownSubject, 'claim');
    const team = await session.find("//nav//button[.//span[contains(@class,'view-name')][normalize-space()='Team']]");
    assert.equal(team.length, 1, 'the Team view is in the sidebar');
    await session.click(team[0]);
    const held = `//*[@role='option'][.//*[contains(@class,'subject')][contains(., ${xpathString(knownSubject)})]]//*[@data-owner='bram']`;
    await session.waitFor(held, 'bram holding the known conversation in the Team view');
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(join(out, 'team-view.png'), await session.screenshot());

    // Anna claims the newest unassigned conversation with the Claim button: Bram's
    // Baton sees her holding it.
    const unassigned = await session.find("//nav//button[.//span[contains(@class,'view-name')][normalize-space()='Unassigned']]");
    await session.click(unassigned[0]);
    const subject = await firstSubject();
    const row = await session.find(`//*[@role='option'][.//*[contains(@class,'subject')][normalize-space()=${xpathString(subject)}]]`);
    await session.click(row[0]);
    const claim = await session.waitFor(
      "//*[@data-testid='conversation-team']//button[@aria-keyshortcuts='c'][contains(@class,'primary')]",
      'the Claim button',
    );
    await session.click(claim);
    await session.waitFor(
      "//*[@data-testid='conversation-team']//*[@data-member='anna']",
      'anna shown as holder in the reading pane',
    );
    const seen = await asBram(subject, 'owner=anna');
    assert.match(seen, /anna holds it/);
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(out, 'claimed.png'), await session.screenshot());
  } catch (error) {
    writeFileSync(join(out, 'team-failure.png'), await session.screenshot().catch(() => Buffer.alloc(0)));
    const state = await session
      .execute("return document.querySelector('[data-testid=team-server]')?.outerHTML ?? 'no team-server element'")
      .catch((e) => String(e));
    throw new Error(`${error.message}\nstatus bar: ${state}`);
  } finally {
    await session.end().catch(() => {});
  }
});

function xpathString(text) {
  if (!text.includes("'")) return `'${text}'`;
  return `concat('${text.split("'").join(`', "'", '`)}')`;
}
