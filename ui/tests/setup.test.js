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

async function fill(page) {
  await page.getByLabel('Member id').fill('anna');
  await page.getByLabel('Display name').fill('Anna de Vries');
  await page.getByLabel('Shared address').fill('support@example.com');
  await page.locator('fieldset:has-text("Incoming mail") input').first().fill('mail.example.com');
  await page.locator('fieldset:has-text("Outgoing mail") input').first().fill('smtp.example.com');
  await page.getByLabel('User name').fill('support@example.com');
  await page.getByLabel('Password').fill('correct horse');
}

test('first run shows the setup form with sensible defaults and client-side validation', async () => {
  const app = await harness.open({ configured: false });
  const { page } = app;
  try {
    await page.getByRole('heading', { name: 'Connect the shared mailbox' }).waitFor();
    const imap = page.locator('fieldset:has-text("Incoming mail")');
    const smtp = page.locator('fieldset:has-text("Outgoing mail")');
    assert.equal(await imap.getByLabel('Port').inputValue(), '993');
    assert.equal(await imap.getByLabel('Security').inputValue(), 'tls');
    assert.equal(await smtp.getByLabel('Port').inputValue(), '465');
    // STARTTLS moves a default port to its STARTTLS default.
    await smtp.getByLabel('Security').selectOption('start_tls');
    assert.equal(await smtp.getByLabel('Port').inputValue(), '587');
    await smtp.getByLabel('Security').selectOption('tls');
    assert.equal(await smtp.getByLabel('Port').inputValue(), '465');

    // Submitting an empty form asks nothing of Rust and points at the fields.
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('text=Some fields need attention.').waitFor();
    assert.equal((await ipcCalls(page, 'save_account')).length, 0);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-invalid')), 'true');

    await page.getByLabel('Member id').fill('Anna Smith');
    await page.getByLabel('Member id').blur();
    await page.locator('text=Use 1–32 lowercase letters').waitFor();
    await imap.getByLabel('Server').fill('https://mail.example.com');
    await imap.getByLabel('Port').fill('99999');
    await page.getByLabel('Shared address').fill('support');
    await page.getByLabel('Display name').click();
    assert.equal(await imap.locator('text=Enter a host name such as mail.example.com').count(), 1);
    assert.equal(await imap.locator('text=Enter a port between 1 and 65535.').count(), 1);
    assert.equal(await page.locator('text=Enter an address like support@example.com.').count(), 1);
    await page.setViewportSize({ width: 1280, height: 1260 });
    await page.$eval('.page', (el) => (el.scrollTop = 0));
    await harness.screenshot(page, 'setup-invalid');
  } finally {
    await app.close();
  }
});

test('damaged saved settings: set-up says so and fills in what could be read, in English and Dutch', async () => {
  const recovered = {
    member_id: 'anna',
    display_name: 'Anna de Vries',
    shared_address: 'support@example.com',
    imap_host: 'mail.example.com',
    imap_port: 1993,
    smtp_host: null,
    smtp_port: null,
    username: null,
    extra_ca_file: null,
  };
  const app = await harness.open({ configured: false, recovered });
  const { page } = app;
  try {
    await page.getByRole('heading', { name: 'Connect the shared mailbox' }).waitFor();
    assert.match(
      await page.textContent('[data-testid="setup-recovered"]'),
      /saved settings on this computer were damaged/,
    );
    assert.equal(await page.getByLabel('Member id').inputValue(), 'anna');
    assert.equal(await page.getByLabel('Display name').inputValue(), 'Anna de Vries');
    assert.equal(await page.getByLabel('Shared address').inputValue(), 'support@example.com');
    const imap = page.locator('fieldset:has-text("Incoming mail")');
    assert.equal(await imap.locator('input').first().inputValue(), 'mail.example.com');
    assert.equal(await imap.getByLabel('Port').inputValue(), '1993');
    const smtp = page.locator('fieldset:has-text("Outgoing mail")');
    assert.equal(await smtp.locator('input').first().inputValue(), '', 'not recovered: empty');
    assert.equal(await smtp.getByLabel('Port').inputValue(), '465', 'the default');
    await harness.screenshot(page, 'setup-recovered');

    await page.selectOption('select[aria-label="Language"]', 'nl');
    assert.match(
      await page.textContent('[data-testid="setup-recovered"]'),
      /opgeslagen instellingen op deze computer waren beschadigd/,
    );
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('setup shows plain words for auth_failed, with the server detail under Details', async () => {
  const app = await harness.open({
    configured: false,
    saveAccountError: {
      code: 'auth_failed',
      message: 'authentication failed',
      detail: 'NO [AUTHENTICATIONFAILED] Authentication failed.',
    },
  });
  const { page } = app;
  try {
    await page.getByRole('heading', { name: 'Connect the shared mailbox' }).waitFor();
    await fill(page);
    await page.getByRole('button', { name: 'Connect' }).click();
    const alert = page.locator('[role="alert"][data-problem-code="auth_failed"]');
    await alert.waitFor();
    assert.match(await alert.textContent(), /The server refused the password\./);
    assert.ok(!(await alert.locator('pre').isVisible()), 'details stay folded');
    await alert.locator('summary', { hasText: 'Details' }).click();
    assert.equal(await alert.locator('pre').textContent(), 'NO [AUTHENTICATIONFAILED] Authentication failed.');

    const [call] = await ipcCalls(page, 'save_account');
    assert.equal(call.args.password, 'correct horse');
    assert.deepEqual(call.args.settings, {
      member_id: 'anna',
      display_name: 'Anna de Vries',
      shared_address: 'support@example.com',
      imap: { host: 'mail.example.com', port: 993, security: 'tls' },
      smtp: { host: 'smtp.example.com', port: 465, security: 'tls' },
      username: 'support@example.com',
      extra_ca_file: null,
    });
    // Tall enough for the whole form and its error in one picture.
    await page.setViewportSize({ width: 1280, height: 1260 });
    await page.$eval('.page', (el) => (el.scrollTop = 0));
    await harness.screenshot(page, 'setup');
  } finally {
    await app.close();
  }
});

test('setup shows "Could not reach host:port." for unreachable, with the host and port typed', async () => {
  const app = await harness.open({
    configured: false,
    saveAccountError: { code: 'unreachable', message: 'connect failed', detail: 'Connection refused (os error 111)' },
  });
  const { page } = app;
  try {
    await page.getByRole('heading', { name: 'Connect the shared mailbox' }).waitFor();
    await fill(page);
    const imap = page.locator('fieldset:has-text("Incoming mail")');
    await imap.getByLabel('Server').fill('imap.example.net');
    await imap.getByLabel('Port').fill('1993');
    await page.getByRole('button', { name: 'Connect' }).click();
    const alert = page.locator('[role="alert"][data-problem-code="unreachable"]');
    await alert.waitFor();
    assert.match(await alert.textContent(), /Could not reach imap\.example\.net:1993\./);
  } finally {
    await app.close();
  }
});

test('a successful setup goes straight to the mailbox', async () => {
  const app = await harness.open({ configured: false });
  const { page } = app;
  try {
    await page.getByRole('heading', { name: 'Connect the shared mailbox' }).waitFor();
    await fill(page);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.waitForSelector('[data-testid="conversation-list"] [data-conversation-id="unassigned-0"]');
    assert.equal((await ipcCalls(page, 'get_setup')).length, 2);
  } finally {
    await app.close();
  }
});

test('every connection problem gets its own plain words, naming the server typed', async () => {
  const app = await harness.open({ configured: false });
  const { page } = app;
  const cases = [
    ['timeout', /mail\.example\.com:993 did not answer in time\./],
    ['tls_failed', /Could not set up a secure connection with mail\.example\.com\..*add it under Advanced\./],
    ['start_tls_unavailable', /mail\.example\.com:993 does not offer STARTTLS\./],
    ['protocol_error', /did not answer like a mail server\. Check the port\./],
    ['password_missing', /No password is stored for this account\./],
  ];
  try {
    await page.getByRole('heading', { name: 'Connect the shared mailbox' }).waitFor();
    await fill(page);
    for (const [code, words] of cases) {
      await page.evaluate((c) => {
        window.__scenario.saveAccountError = { code: c, message: `engine says ${c}`, detail: null };
      }, code);
      await page.getByRole('button', { name: 'Connect' }).click();
      const alert = page.locator(`[role="alert"][data-problem-code="${code}"]`);
      await alert.waitFor();
      const text = await alert.textContent();
      assert.match(text, words);
      assert.ok(!text.includes('engine says'), 'the engine’s English is never shown as the message');
      assert.equal(await alert.locator('details').count(), 0, 'no Details without a detail');
      if (code === 'tls_failed') {
        // A TLS problem opens the advanced section, where the extra CA goes.
        assert.equal(await page.locator('details.advanced').getAttribute('open'), '');
      }
    }
  } finally {
    await app.close();
  }
});
