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

// The browser runs in Amsterdam time; "10:42 today" must mean the same here.
process.env.TZ = 'Europe/Amsterdam';

const LIST = '[data-testid="conversation-list"]';
const OUTBOX = '[data-testid="outbox-view"]';
const MIN = 60_000;

function item(id, subject, status, extra = {}) {
  const now = Date.now();
  return {
    id,
    message_id: `${id}@example.com`,
    conversation: null,
    replying_to: null,
    subject,
    recipients: ['marieke@bakkerij-bakker.nl'],
    status,
    queued_at: now - 20 * MIN,
    send_at: now - 19 * MIN,
    attempts: 1,
    ...extra,
  };
}

function scenarioItems() {
  const now = Date.now();
  const server = 'mail.example.com';
  return [
    item('retrying', 'Re: Delivery has not arrived yet', {
      state: 'retrying',
      next_at: now + 2 * MIN + 20_000,
      failure: { kind: 'unreachable', server, code: null, server_text: null },
    }),
    item('unknown', 'Re: Invoice address needs to change', {
      state: 'unknown',
      failure: { kind: 'connection_lost_after_data', server, code: null, server_text: null },
    }),
    item('failed', 'Re: Question about the warranty', {
      state: 'failed',
      failure: {
        kind: 'recipient_refused',
        server,
        code: 550,
        server_text: '5.1.1 <marieke@bakkerij-baker.nl>: Recipient address rejected: User unknown',
      },
    }),
    item('sent', 'Re: Return request for damaged item', {
      state: 'sent',
      at: new Date(new Date().setHours(10, 42, 0, 0)).getTime(),
      sent_copy: true,
    }),
    item(
      'scheduled',
      'Bulk discount for your office',
      { state: 'queued' },
      { queued_at: now - 5 * MIN, send_at: new Date(2031, 2, 4, 9, 0).getTime() },
    ),
  ];
}

async function openOutbox(page, name = 'Outbox') {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
  await page.locator('nav button[data-place="outbox"]').click();
  await page.waitForSelector(`${OUTBOX} [data-testid="outbox-item"]`);
  assert.match(await page.textContent(`${OUTBOX} h2`), new RegExp(name));
}

const row = (id) => `${OUTBOX} [data-id="${id}"]`;

test('the outbox says what happened to each message in plain words, with the right actions', async () => {
  const app = await harness.open({ htmlIndex: null, outbox: scenarioItems() });
  const { page } = app;
  try {
    await page.waitForSelector('[data-testid="outbox-badge"]');
    // Everything but the sent one is still the member's business.
    assert.match(await page.textContent('[data-testid="outbox-badge"]'), /^4/);
    await openOutbox(page);

    const status = async (id) => (await page.textContent(`${row(id)} [data-testid="outbox-status"]`)).trim();
    const buttons = (id) => page.locator(`${row(id)} .actions button`).allTextContents();
    assert.equal((await status('retrying')).trim(), 'Retrying — next try in 2 min (mail.example.com did not answer)');
    assert.deepEqual((await buttons('retrying')).map((t) => t.trim()), ['Try now']);

    assert.match(
      await page.textContent(row('unknown')),
      /The connection broke just after handing the message over\. It may have left — Baton did not send it again, so the customer will not get it twice\./,
    );
    assert.deepEqual((await buttons('unknown')).map((t) => t.trim()), ['Look in Sent again', 'It arrived', 'Send again…']);

    assert.match(await page.textContent(row('failed')), /Not sent\s*The server refused a recipient address\./);
    assert.deepEqual((await buttons('failed')).map((t) => t.trim()), ['Send again', 'Discard']);
    const answer = page.locator(`${row('failed')} details`);
    assert.equal(await answer.locator('[data-testid="server-answer"]').isVisible(), false, 'behind a disclosure');
    await answer.locator('summary:text("Server’s answer")').click();
    assert.match(await answer.locator('[data-testid="server-answer"]').textContent(), /^550 5\.1\.1 <marieke@bakkerij-baker\.nl>: Recipient address rejected/);

    assert.match(await status('sent'), /^Sent 10:42 AM$/);
    assert.match(await page.textContent(row('sent')), /A copy is in Sent\./);
    assert.match(await status('scheduled'), /^Scheduled for Mar 4, 2031, 9:00 AM$/);
    assert.deepEqual((await buttons('scheduled')).map((t) => t.trim()), ['Take back']);
    await harness.screenshot(page, 'outbox');

    // Send again on a message that may have left asks first, and says why.
    await page.locator(row('unknown')).getByRole('button', { name: 'Send again…' }).click();
    const confirm = page.locator('[data-testid="send-again-confirm"]');
    await confirm.waitFor();
    assert.match(await confirm.textContent(), /same message twice/);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent.trim()), 'Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await ipcCalls(page, 'send_again')).length, 0);
    await page.locator(row('unknown')).getByRole('button', { name: 'Send again…' }).click();
    await confirm.getByRole('button', { name: 'Send again anyway' }).click();
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'send_again'));
    assert.deepEqual((await ipcCalls(page, 'send_again')).map((c) => c.args), [{ id: 'unknown' }]);
    await page.waitForSelector(`${row('unknown')}[data-state="queued"]`);

    // The other two ways out of "unknown", and the failed message's Send again.
    await page.locator(row('failed')).getByRole('button', { name: 'Send again' }).click();
    await page.waitForSelector(`${row('failed')}[data-state="queued"]`);
    assert.equal((await ipcCalls(page, 'send_again')).length, 2, 'no confirm: it was never sent');

    // Events keep the list current: the engine reports the retry went through.
    const retried = { ...scenarioItems()[0], status: { state: 'sent', at: Date.now(), sent_copy: false } };
    await emitEngineEvent(page, { type: 'outbox', item: retried });
    await page.waitForSelector(`${row('retrying')}[data-state="sent"]`);
    assert.match(await page.textContent(row('retrying')), /No copy in Sent yet\./);
    assert.match(await page.textContent('[data-testid="outbox-badge"]'), /^3/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a message whose fate is unknown: look in Sent again, or say it arrived', async () => {
  const app = await harness.open({ htmlIndex: null, outbox: scenarioItems().slice(1, 2) });
  const { page } = app;
  try {
    await openOutbox(page);
    await page.getByRole('button', { name: 'Look in Sent again' }).click();
    await page.waitForSelector('[data-testid="notice"]:has-text("Not found in Sent")');
    assert.deepEqual((await ipcCalls(page, 'recheck_sent')).map((c) => c.args), [{ id: 'unknown' }]);
    await page.getByRole('button', { name: 'It arrived' }).click();
    await page.waitForSelector(`${row('unknown')}[data-state="sent"]`);
    assert.deepEqual((await ipcCalls(page, 'mark_sent')).map((c) => c.args), [{ id: 'unknown' }]);
    await page.waitForSelector('[data-testid="outbox-badge"]', { state: 'detached' });
    await page.getByRole('button', { name: 'Remove from list' }).click();
    await page.waitForSelector(`${OUTBOX} :text("Nothing waiting")`);
    assert.deepEqual((await ipcCalls(page, 'discard_outbox')).map((c) => c.args), [{ id: 'unknown' }]);
  } finally {
    await app.close();
  }
});

test('the outbox in Dutch', async () => {
  const app = await harness.open({ htmlIndex: null, outbox: scenarioItems() }, { locale: 'nl-NL' });
  const { page } = app;
  try {
    await openOutbox(page, 'Postvak UIT');
    const status = async (id) => (await page.textContent(`${row(id)} [data-testid="outbox-status"]`)).trim();
    assert.equal(
      (await status('retrying')).trim(),
      'Opnieuw proberen — volgende poging over 2 min (mail.example.com antwoordde niet)',
    );
    assert.match(await page.textContent(row('unknown')), /Baton heeft het niet opnieuw verstuurd, zodat de klant het niet twee keer krijgt/);
    assert.deepEqual(
      (await page.locator(`${row('unknown')} .actions button`).allTextContents()).map((t) => t.trim()),
      ['Opnieuw in Verzonden kijken', 'Het is aangekomen', 'Opnieuw versturen…'],
    );
    assert.match(await page.textContent(row('failed')), /De server weigerde een ontvangeradres\./);
    assert.match(await page.textContent(row('failed')), /Antwoord van de server/);
    assert.deepEqual(
      (await page.locator(`${row('failed')} .actions button`).allTextContents()).map((t) => t.trim()),
      ['Opnieuw versturen', 'Weggooien'],
    );
    assert.match(await status('sent'), /^Verstuurd 10:42$/);
    assert.match(await page.textContent(row('sent')), /Er staat een kopie in Verzonden\./);
    assert.match(await status('scheduled'), /^Ingepland voor 4 mrt 2031/);
    await page.locator(row('unknown')).getByRole('button', { name: 'Opnieuw versturen…' }).click();
    const confirm = page.locator('[data-testid="send-again-confirm"]');
    await confirm.waitFor();
    assert.match(await confirm.textContent(), /Dit bericht opnieuw versturen\?.*twee keer krijgen/s);
    await harness.screenshot(page, 'outbox-nl-confirm');
  } finally {
    await app.close();
  }
});

test('a reply waiting for a last check of the conversation says so, not that the mail server failed', async () => {
  const checking = (nextAt) =>
    item('checking', 'Re: Delivery has not arrived yet', {
      state: 'retrying',
      next_at: nextAt,
      failure: { kind: 'check_failed', server: 'mail.example.com', code: null, server_text: null },
    });
  for (const [locale, waiting, explain, now] of [
    [
      'en-US',
      /^Waiting to check the conversation before sending — next try in (\d+) s$/,
      /The mailbox did not answer in time, so Baton could not look at the conversation once more\. It does not send a reply unchecked\./,
      'Checking the conversation before sending…',
    ],
    [
      'nl-NL',
      /^Wacht op een laatste controle van het gesprek — volgende poging over (\d+) s$/,
      /De mailbox antwoordde niet op tijd, dus Baton kon niet nog één keer naar het gesprek kijken\./,
      'Het gesprek wordt gecontroleerd voor het versturen…',
    ],
  ]) {
    const app = await harness.open({ htmlIndex: null, outbox: [checking(Date.now() + 40_000)] }, { locale });
    const { page } = app;
    try {
      await openOutbox(page, locale === 'en-US' ? 'Outbox' : 'Postvak UIT');
      const status = `${row('checking')} [data-testid="outbox-status"]`;
      const text = (await page.textContent(status)).trim();
      const match = waiting.exec(text);
      assert.ok(match, `“${text}” does not match ${waiting}`);
      assert.ok(Number(match[1]) <= 40 && Number(match[1]) >= 20, `next try counts down from 40 s, got ${match[1]}`);
      assert.match(await page.textContent(row('checking')), explain);
      assert.deepEqual(
        (await page.locator(`${row('checking')} .actions button`).allTextContents()).map((t) => t.trim()),
        [locale === 'en-US' ? 'Try now' : 'Nu proberen'],
      );
      if (locale === 'en-US') await harness.screenshot(page, 'outbox-check-failed');
      // Its moment came and the check runs: no time left to count.
      await emitEngineEvent(page, { type: 'outbox', item: checking(Date.now() - 1000) });
      await page.waitForFunction(([sel, t]) => document.querySelector(sel)?.textContent.trim() === t, [status, now]);
      assert.deepEqual(app.errors, []);
    } finally {
      await app.close();
    }
  }
});
