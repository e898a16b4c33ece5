// End-to-end: the real Baton binary under Xvfb, driven through tauri-driver and
// WebKitWebDriver, against the demo shared mailbox. Run by e2e/run.sh, which starts the
// mailbox, the keyring and the driver.
//
//   BATON_APP=<path to the baton binary> BATON_E2E_OUT=<screenshot dir> node e2e/real-app.mjs

import { execFile, spawn } from 'node:child_process';
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

    // Its history names who did it, from the team server's log, and follows Bram letting
    // it go.
    const knownRow = await session.find(`//*[@role='option'][.//*[contains(@class,'subject')][contains(., ${xpathString(knownSubject)})]]`);
    await session.click(knownRow[0]);
    const historyTab = await session.waitFor("//*[@data-testid='reading-pane']//button[normalize-space()='History']", 'the History tab');
    await session.click(historyTab);
    await session.waitFor("//*[@data-testid='history-item'][contains(., 'Bram claimed it')]", "Bram's claim in the history");
    await asBram(knownSubject, 'release');
    await session.waitFor("//*[@data-testid='history-item'][contains(., 'Bram released it')]", "Bram's release in the history");
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(out, 'history-real.png'), await session.screenshot());

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

// What the demo's Postfix delivered: replies to the demo's customers land in the
// private `sink` mailbox of the demo Dovecot.
async function sinkHas(token) {
  const conf = join(demoDir, 'dovecot', 'dovecot.conf');
  const { stdout } = await run('doveadm', ['-c', conf, 'search', '-u', 'sink', 'mailbox', 'INBOX', 'body', token]);
  return stdout.trim().split('\n').filter((l) => l.trim()).length;
}

test('a reply written in the real app reaches the customer once; the guard and notes work between two Batons', { timeout: 420_000 }, async () => {
  assert.ok(demo && demoDir, 'BATON_DEMO and BATON_DEMO_DIR must be set');
  const session = await Session.start(driver, {
    browserName: 'wry',
    'tauri:options': { application: app, args: ['--profile', 'anna'] },
  });
  try {
    await session.waitForScript(
      "return document.querySelector('[data-testid=team-server]')?.dataset.state === 'online'",
      'the team server online',
      120_000,
    );
    const openFirstUnassigned = async (skip = []) => {
      const unassigned = await session.find("//nav//button[.//span[contains(@class,'view-name')][normalize-space()='Unassigned']]");
      await session.click(unassigned[0]);
      const subject = await session.waitForScript(
        `return [...document.querySelectorAll('[role=listbox] [role=option] .subject')].map((e) => e.textContent.trim()).find((s) => !${JSON.stringify(skip)}.includes(s))`,
        'an unassigned conversation',
      );
      const row = await session.find(`//*[@role='option'][.//*[contains(@class,'subject')][normalize-space()=${xpathString(subject)}]]`);
      await session.click(row[0]);
      await session.waitForScript(
        `return document.querySelector('[data-testid=reading-pane] h2')?.textContent.trim() === ${JSON.stringify(subject)}`,
        'the conversation open',
      );
      return subject;
    };
    const reply = async (text) => {
      const button = await session.waitFor("//*[@data-testid='reading-pane']//button[@aria-keyshortcuts='r']", 'the Reply button');
      await session.click(button);
      await session.waitFor("//*[@data-testid='compose-body']", 'the composer');
      // Typed where the composer puts the caret: above the signature and the quote.
      // (WebDriver's element typing would move the caret to the end first.)
      await session.execute(
        "const b = document.querySelector('[data-testid=compose-body]'); b.focus(); b.setSelectionRange(0, 0); document.execCommand('insertText', false, arguments[0]);",
        [text],
      );
      await session.waitForScript("return document.querySelector('[data-testid=save-state]')?.textContent.trim().length > 0", 'the draft saved');
    };

    // Anna answers a customer: after the undo window it goes through the demo's
    // Postfix and arrives, once.
    const token = `e2e-reply-${Date.now()}`;
    const first = await openFirstUnassigned();
    await reply(`Thank you, it is on its way. ${token}\n`);
    writeFileSync(join(out, 'composer-real.png'), await session.screenshot());
    await session.click(await session.waitFor("//*[@data-testid='send']", 'the Send button'));
    await session.waitFor("//*[@data-testid='send-undo']", 'the undo countdown');
    writeFileSync(join(out, 'send-undo-real.png'), await session.screenshot());
    const deadline = Date.now() + 90_000;
    while ((await sinkHas(token)) === 0) {
      assert.ok(Date.now() < deadline, 'the reply arrived at the customer (the sink mailbox)');
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await sinkHas(token), 1, 'delivered exactly once');

    // A note from Anna reaches Bram's Baton (the engine at the command line).
    const noteText = `@bram the customer asked twice ${token}`;
    const box = await session.waitFor("//*[@data-testid='notes']//textarea", 'the note box');
    await session.keys(box, noteText);
    await session.click(await session.waitFor("//*[@data-testid='notes']//form//button[@type='submit']", 'the add-note button'));
    await session.waitFor(`//*[@data-testid='note-text'][contains(., ${xpathString(token)})]`, 'the note in Anna\'s list');
    const seen = await asBram(first, 'notes');
    assert.match(seen, new RegExp(`note by anna: @bram the customer asked twice ${token}`));
    // And Bram's note shows in Anna's window.
    await asBram(first, `note=Called the customer ${token}`);
    await session.waitFor(`//*[@data-testid='note'][@data-author='bram']`, 'bram\'s note in Anna\'s window', 60_000);
    writeFileSync(join(out, 'notes-real.png'), await session.screenshot());

    // Anna starts a reply to another customer; Bram answers that customer first.
    // Anna's Send meets the guard, naming Bram.
    const second = await openFirstUnassigned([first]);
    await reply('We will look into it.\n');
    await asBram(second, 'reply');
    await session.click(await session.waitFor("//*[@data-testid='send']", 'the Send button'));
    const dialog = await session.waitFor("//*[@data-testid='guard-dialog']", 'the guard dialog', 60_000);
    const said = await session.text(dialog);
    assert.match(said, /Bram/, said);
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(out, 'guard-real.png'), await session.screenshot());
  } catch (error) {
    writeFileSync(join(out, 'send-failure.png'), await session.screenshot().catch(() => Buffer.alloc(0)));
    throw error;
  } finally {
    await session.end().catch(() => {});
  }
});

// Bram presses Send with a 10-second undo window; five seconds later, still inside it,
// Anna replies to the same customer in the real window. Her window shows his reply on its
// way, her Send meets the guard naming him, and the customer gets one reply: his.
test('a colleague\'s reply on its way shows at once and stops a second reply; the customer gets one', { timeout: 300_000 }, async () => {
  assert.ok(demo && demoDir, 'BATON_DEMO and BATON_DEMO_DIR must be set');
  const session = await Session.start(driver, {
    browserName: 'wry',
    'tauri:options': { application: app, args: ['--profile', 'anna'] },
  });
  let bram;
  try {
    await session.waitForScript(
      "return document.querySelector('[data-testid=team-server]')?.dataset.state === 'online'",
      'the team server online',
      120_000,
    );
    const unassigned = await session.find("//nav//button[.//span[contains(@class,'view-name')][normalize-space()='Unassigned']]");
    await session.click(unassigned[0]);
    const subject = await session.waitForScript(
      "return document.querySelector('[role=listbox] [role=option] .subject')?.textContent.trim()",
      'an unassigned conversation',
    );
    const row = await session.find(`//*[@role='option'][.//*[contains(@class,'subject')][normalize-space()=${xpathString(subject)}]]`);
    await session.click(row[0]);
    await session.waitForScript(
      `return document.querySelector('[data-testid=reading-pane] h2')?.textContent.trim() === ${JSON.stringify(subject)}`,
      'the conversation open',
    );
    const token = `e2e-race-${Date.now()}`;
    const button = await session.waitFor("//*[@data-testid='reading-pane']//button[@aria-keyshortcuts='r']", 'the Reply button');
    await session.click(button);
    await session.waitFor("//*[@data-testid='compose-body']", 'the composer');
    await session.execute(
      "const b = document.querySelector('[data-testid=compose-body]'); b.focus(); b.setSelectionRange(0, 0); document.execCommand('insertText', false, arguments[0]);",
      [`Anna here, I will sort it out. ${token}-anna\n`],
    );
    await session.waitForScript("return document.querySelector('[data-testid=save-state]')?.textContent.trim().length > 0", 'the draft saved');

    // Bram sends from his desk, with an undo window of 10 s.
    let said = '';
    const queued = new Promise((resolve, reject) => {
      bram = spawn(demo, ['act', '--dir', demoDir, '--member', 'bram', '--subject', subject, '--undo', '10', `reply=Bram here, done. ${token}-bram`]);
      bram.stdout.on('data', (chunk) => {
        said += chunk;
        if (said.includes('queued')) resolve();
      });
      bram.stderr.on('data', (chunk) => (said += chunk));
      bram.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`baton-demo act: ${code}: ${said}`))));
    });
    await queued;
    const bramQueuedAt = Date.now();
    // Anna's composer shows it on its way, with the time it leaves, and that he holds
    // the conversation now (his Send claimed it).
    const banner = await session.waitFor(
      "//*[@data-testid='guard-banners']//li[contains(., 'Bram’s reply is on its way')][contains(., 'leaves in')]",
      "bram's reply on its way above Anna's reply",
      8_000,
    );
    assert.match(await session.text(banner), /leaves in \d+ s/);
    await session.waitFor("//*[@data-testid='guard-banners']//li[contains(., 'Bram holds this conversation')]", 'his claim');
    writeFileSync(join(out, 'sending-real.png'), await session.screenshot());

    // Five seconds after his Send, still inside his undo window, Anna presses Send.
    await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - bramQueuedAt))));
    await session.click(await session.waitFor("//*[@data-testid='send']", 'the Send button'));
    const dialog = await session.waitFor("//*[@data-testid='guard-dialog']", 'the guard dialog', 30_000);
    const text = await session.text(dialog);
    assert.match(text, /Bram/, text);
    assert.match(text, /on its way|went out|holds/, text);
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(out, 'guard-sending-real.png'), await session.screenshot());
    // She keeps hers as a draft; Bram's goes out, once, and hers never.
    const keep = await session.find("//*[@data-testid='guard-dialog']//button[contains(@class,'primary')]");
    await session.click(keep[0]);
    await new Promise((resolve, reject) => {
      if (bram.exitCode !== null) return bram.exitCode === 0 ? resolve() : reject(new Error(said));
      bram.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`baton-demo act: ${code}: ${said}`))));
    });
    const deadline = Date.now() + 60_000;
    while ((await sinkHas(`${token}-bram`)) === 0) {
      assert.ok(Date.now() < deadline, "bram's reply arrived at the customer");
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await sinkHas(`${token}-bram`), 1, "bram's reply arrived exactly once");
    assert.equal(await sinkHas(`${token}-anna`), 0, "anna's reply did not leave");
  } catch (error) {
    writeFileSync(join(out, 'race-failure.png'), await session.screenshot().catch(() => Buffer.alloc(0)));
    throw error;
  } finally {
    if (bram && bram.exitCode === null) bram.kill();
    await session.end().catch(() => {});
  }
});

function xpathString(text) {
  if (!text.includes("'")) return `'${text}'`;
  return `concat('${text.split("'").join(`', "'", '`)}')`;
}
