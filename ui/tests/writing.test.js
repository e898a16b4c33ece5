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
const COMPOSER = '[data-testid="composer"]';
const BODY = '[data-testid="compose-body"]';

async function ready(page) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
}

async function reply(page) {
  await ready(page);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${READER} h2`);
  await page.keyboard.press('r');
  await page.waitForSelector(COMPOSER);
  await page.waitForFunction((sel) => document.activeElement?.matches(sel), BODY);
}

test('attachments: added through the picker, sizes shown, warnings above 10 MB and 25 MB, removable', async () => {
  const app = await harness.open({
    htmlIndex: null,
    attachFiles: [{ name: 'damage-report-scan.pdf', mime_type: 'application/pdf', size: 9_000_000 }],
  });
  const { page } = app;
  try {
    await reply(page);
    const attach = page.getByRole('button', { name: 'Attach files' });
    const list = page.locator('[data-testid="compose-attachments"]');
    const warning = page.locator('[data-testid="size-warning"]');
    await attach.click();
    await list.locator('li').first().waitFor();
    assert.match(await list.textContent(), /damage-report-scan\.pdf\s*9 MB/);
    assert.equal(await warning.count(), 0);

    await attach.click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="compose-attachments"] li').length === 2);
    await warning.waitFor();
    assert.equal(await warning.getAttribute('data-level'), 'large');
    assert.match(await warning.textContent(), /18 MB of attachments\. Some mail servers refuse messages over 10 MB/);

    await attach.click();
    await page.waitForSelector('[data-testid="size-warning"][data-level="too-large"]');
    assert.match(await warning.textContent(), /27 MB of attachments: many mail servers refuse messages this large/);
    await harness.screenshot(page, 'composer-attachments');

    const ids = (await page.evaluate(() => window.__drafts()[0].attachments.map((a) => a.id)));
    await list.getByRole('button', { name: 'Remove damage-report-scan.pdf' }).first().click();
    await page.waitForSelector('[data-testid="size-warning"][data-level="large"]');
    assert.deepEqual((await ipcCalls(page, 'detach_file')).map((c) => c.args.attachment), [ids[0]]);
    assert.equal((await ipcCalls(page, 'attach_files')).length, 3);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a canned reply goes in at the cursor with its placeholders filled', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await reply(page);
    await page.keyboard.type('Hello!\n\n');
    await page.getByRole('button', { name: 'Canned reply' }).click();
    const menu = page.locator('[data-testid="canned-menu"]');
    await menu.getByRole('menuitem').first().waitFor();
    // Only canned replies: the shared signature is not one to pick.
    assert.deepEqual(
      (await menu.locator('.name').allTextContents()).map((t) => t.trim()),
      ['Refund approved', 'Where is my parcel'],
    );
    await harness.screenshot(page, 'canned-menu');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.value.includes('Your parcel is on its way'),
      BODY,
    );
    const body = await page.inputValue(BODY);
    assert.match(body, /^Hello!\n\nHi Marieke,\n\nYour parcel is on its way; the tracking link follows in a separate mail\.\n\nAnna de Vries\n\nAnna\n/);
    // Saved first, so the engine filled the placeholders from what is in the fields.
    const calls = (await ipcCalls(page)).map((c) => c.cmd);
    assert.ok(calls.lastIndexOf('save_draft') < calls.indexOf('fill_template'));
    assert.deepEqual((await ipcCalls(page, 'fill_template')).map((c) => c.args.template), ['tpl-tracking']);
    // The cursor sits after the inserted text, so typing goes on there.
    await page.keyboard.type('PS');
    assert.match(await page.inputValue(BODY), /Anna de VriesPS/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('n writes a new message; an invalid or missing recipient is named next to its field', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await ready(page);
    await page.keyboard.press('n');
    await page.waitForSelector(COMPOSER);
    assert.deepEqual((await ipcCalls(page, 'start_draft')).map((c) => c.args), [
      { kind: 'new', conversation: null, source: null, lang: 'en' },
    ]);
    // Nothing to answer: the cursor starts in To.
    await page.waitForFunction(() => document.activeElement?.dataset.testid === 'compose-to');
    await page.keyboard.press('Control+Enter');
    const error = page.locator('[data-testid="recipient-error"]');
    await error.waitFor();
    assert.equal((await error.textContent()).trim(), 'Add at least one recipient.');

    await page.keyboard.type('marieke@bakkerij-bakker.nl, jan at visser');
    await error.waitFor({ state: 'detached' });
    await page.fill('[data-testid="compose-subject"]', 'Your order');
    await page.getByRole('button', { name: 'Add Cc' }).click();
    await page.fill('[data-testid="compose-cc"]', 'finance@example.com');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await error.waitFor();
    assert.equal((await error.textContent()).trim(), '“jan at visser” is not a valid address.');
    assert.equal(await page.getAttribute('[data-testid="compose-to"]', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'compose-to');
    await harness.screenshot(page, 'composer-invalid-recipient');

    // The same check on Cc puts the message under Cc.
    await page.fill('[data-testid="compose-to"]', 'marieke@bakkerij-bakker.nl');
    await page.fill('[data-testid="compose-cc"]', 'finance@');
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('[data-testid="compose-cc"][aria-invalid="true"]');
    assert.equal(await page.getAttribute('[data-testid="compose-cc"]', 'aria-invalid'), 'true');
    assert.equal(await page.getAttribute('[data-testid="compose-to"]', 'aria-invalid'), 'false');

    await page.fill('[data-testid="compose-cc"]', 'finance@example.com');
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    const sent = await page.evaluate(() => window.__outbox()[0]);
    assert.deepEqual(sent.recipients, ['marieke@bakkerij-bakker.nl', 'finance@example.com']);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('send later passes the chosen moment; Drafts lists what was closed and resumes or discards it', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await reply(page);
    await page.keyboard.type('Later, please.');
    await page.getByRole('button', { name: 'More send options' }).click();
    const later = page.locator('[data-testid="send-later"]');
    await later.waitFor();
    await later.locator('input').fill('2031-03-04T09:30');
    await harness.screenshot(page, 'send-later');
    await later.getByRole('button', { name: 'Schedule' }).click();
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    const send = (await ipcCalls(page, 'send_draft'))[0].args.options;
    assert.equal(send.send_at, await page.evaluate(() => new Date(2031, 2, 4, 9, 30).getTime()));
    assert.match(await page.textContent('[data-testid="send-undo"]'), /Scheduled for Mar 4, 2031, 9:30 AM/);

    // A second reply, closed with Escape, waits under Drafts.
    await page.click(`${READER} h2`);
    await page.keyboard.press('a');
    await page.waitForSelector(COMPOSER);
    assert.equal((await ipcCalls(page, 'start_draft'))[1].args.kind, 'reply_all');
    await page.keyboard.type('Second thoughts');
    await page.keyboard.press('Escape');
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    await page.locator('nav button[data-place="drafts"]').click();
    const item = page.locator('[data-testid="draft-item"]');
    await item.waitFor();
    assert.equal(await item.count(), 1);
    assert.match(await item.textContent(), /Reply to all\s*Re: Order 100000/);
    assert.match(await item.textContent(), /Second thoughts/);
    await item.getByRole('button', { name: 'Continue' }).click();
    await page.waitForSelector(COMPOSER);
    assert.match(await page.inputValue(BODY), /^Second thoughts/);
    await page.getByRole('button', { name: 'Discard' }).click();
    const confirm = page.locator('[data-testid="discard-confirm"]');
    await confirm.getByRole('button', { name: 'Discard draft' }).click();
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    assert.equal((await ipcCalls(page, 'discard_draft')).length, 1);
    await page.waitForSelector('[data-testid="notice"]:has-text("Draft discarded.")');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('the shortcut overlay lists the writing keys', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await ready(page);
    await page.keyboard.press('?');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    const text = await dialog.textContent();
    for (const line of [/r\s*Reply/, /a\s*Reply to all/, /f\s*Forward/, /n\s*New message/, /Ctrl\s*\+\s*Enter\s*Send the message/, /Close the message; the draft stays/]) {
      assert.match(text, line);
    }
  } finally {
    await app.close();
  }
});

test('Writing settings: signature, From name with a live example, undo window, claim on send, canned replies', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await ready(page);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('menuitem', { name: 'Writing…' }).click();
    const dialog = page.locator('[data-testid="writing-settings"]');
    await dialog.waitFor();
    await dialog.locator('[data-testid="canned-list"] li').first().waitFor();
    assert.equal(await page.inputValue('[data-testid="sender-name"]'), '{name} from Acme Support');
    const example = page.locator('[data-testid="sender-example"]');
    assert.equal((await example.textContent()).trim().replace(/\s+/g, ' '), 'Customers see: Anna de Vries from Acme Support <support@example.com>');
    await page.fill('[data-testid="sender-name"]', '{name} at Acme');
    assert.match(await example.textContent(), /Anna de Vries at Acme <support@example\.com>/);
    assert.match(await dialog.textContent(), /\{customer_first\}\s*their first name/);
    assert.equal(await dialog.getByLabel('Shared signature').inputValue(), 'Acme Support · +31 20 123 4567');
    await harness.screenshot(page, 'writing-settings');

    await page.fill('[data-testid="undo-seconds"]', '500');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.locator(':text("Enter a whole number from 0 to 120.")').waitFor();
    assert.equal((await ipcCalls(page, 'save_compose_settings')).length, 0);
    await page.fill('[data-testid="undo-seconds"]', '30');
    await dialog.getByLabel('Your signature').fill('Anna\nTeam lead');
    await dialog.getByLabel('Claim a conversation when I reply and nobody holds it').uncheck();
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForSelector('[data-testid="notice"]:has-text("Writing settings saved.")');
    assert.deepEqual((await ipcCalls(page, 'save_compose_settings')).map((c) => c.args.settings), [
      { signature: 'Anna\nTeam lead', sender_name: '{name} at Acme', undo_seconds: 30, claim_on_send: false },
    ]);

    // A new canned reply, then a change to it, then away with it.
    await dialog.getByRole('button', { name: 'New canned reply' }).click();
    await page.fill('[data-testid="template-name"]', 'Out of stock');
    await page.fill('[data-testid="template-body"]', 'Dear {customer}, {subject} is out of stock.');
    await dialog.getByRole('button', { name: 'Save canned reply' }).click();
    await dialog.locator('[data-testid="canned-list"] .t-name:text("Out of stock")').waitFor();
    const saved = (await ipcCalls(page, 'save_template')).map((c) => c.args.template);
    assert.deepEqual(saved, [{ id: '', kind: 'canned_reply', name: 'Out of stock', body: 'Dear {customer}, {subject} is out of stock.' }]);
    await dialog.getByRole('button', { name: 'Edit Out of stock' }).click();
    await page.fill('[data-testid="template-name"]', 'Sold out');
    await dialog.getByRole('button', { name: 'Save canned reply' }).click();
    await dialog.locator('[data-testid="canned-list"] .t-name:text("Sold out")').waitFor();
    const edited = (await ipcCalls(page, 'save_template'))[1].args.template;
    assert.equal(edited.name, 'Sold out');
    assert.notEqual(edited.id, '');
    await dialog.getByRole('button', { name: 'Delete Sold out' }).click();
    await dialog.locator('[data-testid="canned-list"] .t-name:text("Sold out")').waitFor({ state: 'detached' });
    assert.deepEqual((await ipcCalls(page, 'delete_template')).map((c) => c.args.id), [edited.id]);

    // The shared signature is the one mailbox_signature template.
    await dialog.getByLabel('Shared signature').fill('Acme Support');
    await dialog.getByRole('button', { name: 'Save shared signature' }).click();
    await page.waitForSelector('[data-testid="notice"]:has-text("Shared signature saved.")');
    const signature = (await ipcCalls(page, 'save_template')).at(-1).args.template;
    assert.deepEqual(signature, { id: 'tpl-signature', kind: 'mailbox_signature', name: 'Signature', body: 'Acme Support' });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('writing in Dutch: composer, banners and settings', async () => {
  const app = await harness.open(
    { htmlIndex: null, guard: [{ kind: 'owned_by_other', member: 'bram', since: null }] },
    { locale: 'nl-NL' },
  );
  const { page } = app;
  try {
    await reply(page);
    assert.match(await page.textContent(COMPOSER), /Antwoord/);
    assert.deepEqual((await ipcCalls(page, 'start_draft'))[0].args.lang, 'nl');
    await page.waitForSelector('[data-testid="guard-banners"] :text("Bram heeft dit gesprek")');
    assert.match(await page.textContent(COMPOSER), /Aan.*Onderwerp/s);
    assert.match(await page.textContent(COMPOSER), /Versturen.*Bestanden bijvoegen.*Standaardantwoord.*Weggooien/s);
  } finally {
    await app.close();
  }
});
