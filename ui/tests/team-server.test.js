import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HOST_FINGERPRINT, INVITE_CODE } from './harness/fixtures.js';
import { emitEngineEvent, ipcCalls, startHarness } from './support/app.js';

let harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
});

const LIST = '[data-testid="conversation-list"]';
const DIALOG = '[data-testid="team-server-dialog"]';
const NOT_CONFIGURED = { me: 'anna', members: ['anna', 'bram'], server: { state: 'not_configured' }, state_home: 'keywords' };

/** The invitation text the host side makes, computed independently of the app's code. */
function invitationFor(invite) {
  return 'baton-invite:' + Buffer.from(JSON.stringify(invite), 'utf8').toString('base64url');
}

function decodeInvitation(text) {
  assert.match(text, /^baton-invite:[A-Za-z0-9_-]+$/, 'one line, base64url after the prefix');
  return JSON.parse(Buffer.from(text.slice('baton-invite:'.length), 'base64url').toString('utf8'));
}

async function openDialog(page, { keyboard = false } = {}) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
  if (keyboard) {
    await page.getByRole('button', { name: /Settings|Instellingen/ }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menu').waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'menuitemradio');
    // Focus starts on the language chosen (the system's), then come English, Dutch, Team server.
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
  } else {
    await page.getByRole('button', { name: /Settings|Instellingen/ }).click();
    await page.getByRole('menuitem', { name: /Team server|Teamserver/ }).click();
  }
  await page.waitForSelector(`dialog[open] ${DIALOG}`);
}

async function mode(page) {
  return page.getAttribute(DIALOG, 'data-mode');
}

test('host flow: defaults, busy state, address and fingerprint, an invitation that works once, stop', async () => {
  const app = await harness.open({ htmlIndex: null, team: NOT_CONFIGURED });
  const { page, context } = app;
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  try {
    await openDialog(page);
    assert.equal(await mode(page), 'none');
    const dialog = page.locator(DIALOG);
    assert.match(await dialog.textContent(), /must be on for live presence/);
    assert.match(await dialog.textContent(), /claims still work through the mailbox/);
    assert.equal(await page.inputValue('[data-testid="host-port"]'), '7467');
    assert.equal(await dialog.getByLabel('Colleagues on other computers can connect').isChecked(), true);
    assert.equal(await dialog.getByRole('radio', { name: /Host the team server on this computer/ }).isChecked(), true);
    await harness.screenshot(page, 'team-settings-empty');

    // A port that cannot be: said in place, nothing sent.
    await page.fill('[data-testid="host-port"]', '70000');
    await dialog.getByRole('button', { name: 'Host the team server' }).click();
    await page.waitForSelector(`${DIALOG} :text("Enter a port between 1 and 65535.")`);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'host-port');
    assert.equal((await ipcCalls(page, 'host_team_server')).length, 0);

    await page.fill('[data-testid="host-port"]', '7467');
    await dialog.getByRole('button', { name: 'Host the team server' }).click();
    await page.waitForSelector(`${DIALOG} [role="status"]:has-text("Starting the team server…")`);
    assert.equal(await dialog.getByRole('button', { name: 'Host the team server' }).isDisabled(), true);
    await page.waitForSelector(`${DIALOG}[data-mode="hosting"]`);
    assert.deepEqual((await ipcCalls(page, 'host_team_server')).map((c) => c.args), [
      { host: { port: 7467, open_to_network: true } },
    ]);
    assert.equal((await page.textContent('[data-testid="fingerprint"]')).trim(), HOST_FINGERPRINT);
    assert.match(await dialog.textContent(), /Colleagues compare this with the fingerprint they were given/);
    assert.equal(await page.inputValue('[data-testid="share-address"]'), 'wss://127.0.0.1:7467/');
    assert.match(await dialog.textContent(), /127\.0\.0\.1 reaches only this computer/);
    await page.waitForSelector(`${DIALOG} [data-testid="team-server-state"][data-state="online"]`);
    await page.waitForSelector('[data-testid="notice"]:has-text("This computer now hosts the team server.")');
    // Focus moved to the new part, not lost on a button that went away.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'This computer hosts the team server');

    // The fingerprint's copy button puts exactly the fingerprint on the clipboard.
    await dialog.locator('.with-copy:has([data-testid="fingerprint"]) button').click();
    await page.waitForSelector(`${DIALOG} .with-copy:has([data-testid="fingerprint"]) button:has-text("Copied")`);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), HOST_FINGERPRINT);
    await harness.screenshot(page, 'team-settings-hosting');

    // The host writes the address colleagues can reach; invitations carry it.
    await page.fill('[data-testid="share-address"]', 'wss://office-pc.local:7467/');

    // A member id that cannot be is refused before the engine is asked.
    await page.fill('[data-testid="invite-member"]', 'Bram Jansen');
    await dialog.getByRole('button', { name: 'Create invitation' }).click();
    await page.waitForSelector(`${DIALOG} :text("Use 1–32 lowercase letters")`);
    assert.equal((await ipcCalls(page, 'invite_colleague')).length, 0);

    await page.fill('[data-testid="invite-member"]', 'bram');
    await dialog.getByRole('button', { name: 'Create invitation' }).click();
    await page.waitForSelector('[data-testid="invitation-text"]');
    assert.deepEqual((await ipcCalls(page, 'invite_colleague')).map((c) => c.args), [{ member: 'bram' }]);
    const text = await page.inputValue('[data-testid="invitation-text"]');
    assert.deepEqual(decodeInvitation(text), {
      settings: { url: 'wss://office-pc.local:7467/', fingerprint: HOST_FINGERPRINT, mailbox: 'shared' },
      member: 'bram',
      code: INVITE_CODE,
    });
    assert.equal(await page.textContent('[data-testid="invite-code"]'), INVITE_CODE);
    assert.match(await page.textContent('[data-testid="invitation"]'), /works once/);
    assert.match(await page.textContent('[data-testid="invitation"]'), /Invitation for bram/);
    // The invitation box has focus and its text selected, ready for Ctrl+C.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'invitation-text');
    await dialog.getByRole('button', { name: 'Copy invitation' }).click();
    await page.waitForSelector(`${DIALOG} [data-testid="invitation"] button:has-text("Copied")`);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text);
    await harness.screenshot(page, 'team-settings-invite');

    // The engine's refusal shows in plain words, with its own sentence behind Details.
    await page.fill('[data-testid="invite-member"]', 'anna');
    await dialog.getByRole('button', { name: 'Create invitation' }).click();
    const problem = page.locator(`${DIALOG} [data-testid="team-server-problem"]`);
    await problem.waitFor();
    assert.match(await problem.textContent(), /The invitation could not be created\. Some settings are not valid\./);
    assert.match(await problem.locator('pre').textContent(), /anna has already joined the team server/);

    // Keys typed in the dialog stay there: no claim behind it.
    await dialog.getByRole('button', { name: 'Create invitation' }).focus();
    await page.keyboard.press('c');
    assert.equal((await ipcCalls(page, 'act_on_conversation')).length, 0);

    await dialog.getByRole('button', { name: 'Stop hosting' }).click();
    await page.waitForSelector(`${DIALOG}[data-mode="none"]`);
    assert.equal((await ipcCalls(page, 'stop_hosting')).length, 1);
    await page.waitForSelector('[data-testid="notice"]:has-text("The team server on this computer has stopped.")');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('hosting for this computer only: no fingerprint, the address as it is', async () => {
  const app = await harness.open({ htmlIndex: null, team: NOT_CONFIGURED });
  const { page } = app;
  try {
    await openDialog(page);
    const dialog = page.locator(DIALOG);
    await page.fill('[data-testid="host-port"]', '9000');
    await dialog.getByLabel('Colleagues on other computers can connect').uncheck();
    await dialog.getByRole('button', { name: 'Host the team server' }).click();
    await page.waitForSelector(`${DIALOG}[data-mode="hosting"]`);
    assert.deepEqual((await ipcCalls(page, 'host_team_server'))[0].args, { host: { port: 9000, open_to_network: false } });
    assert.equal(await page.locator('[data-testid="fingerprint"]').count(), 0);
    assert.equal(await page.textContent('[data-testid="share-address-fixed"]'), 'ws://127.0.0.1:9000/');
    assert.match(await dialog.textContent(), /Only this computer can connect/);
  } finally {
    await app.close();
  }
});

test('a failed start is said in the dialog, and the form stays for another try', async () => {
  const app = await harness.open({
    htmlIndex: null,
    team: NOT_CONFIGURED,
    teamServerErrors: {
      host_team_server: { code: 'unreachable', message: 'port 7467 is in use', detail: 'Address already in use (os error 98)', holder: null, held_since: null },
    },
  });
  const { page } = app;
  try {
    await openDialog(page);
    await page.locator(DIALOG).getByRole('button', { name: 'Host the team server' }).click();
    const problem = page.locator(`${DIALOG} [data-testid="team-server-problem"]`);
    await problem.waitFor();
    assert.match(await problem.textContent(), /The team server could not be started\./);
    assert.match(await problem.locator('pre').textContent(), /Address already in use/);
    assert.equal(await mode(page), 'none');
    assert.equal(await page.locator(DIALOG).getByRole('button', { name: 'Host the team server' }).isDisabled(), false);
  } finally {
    await app.close();
  }
});

test('join flow: a pasted invitation fills the form and join_team_server gets exactly that invite; leave', async () => {
  const app = await harness.open({ htmlIndex: null, team: NOT_CONFIGURED });
  const { page } = app;
  try {
    await openDialog(page, { keyboard: true });
    const dialog = page.locator(DIALOG);
    // Keyboard: the second choice by arrow key, like any radio group.
    await dialog.getByRole('radio', { name: /Host the team server/ }).focus();
    await page.keyboard.press('ArrowDown');
    await page.waitForSelector('[data-testid="team-server-join"]');
    assert.equal(await page.inputValue('[data-field="member"]'), 'anna', 'prefilled with me');

    const paste = dialog.getByRole('textbox', { name: 'Invitation text' });
    await paste.fill('hello, this is not it');
    await page.waitForSelector('[data-testid="invitation-state"][data-state="invalid"]');
    assert.match(await page.textContent('[data-testid="invitation-state"]'), /This is not a Baton invitation/);

    const invite = {
      settings: { url: 'wss://office-pc.local:7467/', fingerprint: HOST_FINGERPRINT, mailbox: 'shared' },
      member: 'anna',
      code: INVITE_CODE,
    };
    const text = invitationFor(invite);
    // As a mail client delivers it: a sentence before, the line broken in two.
    await paste.fill(`Here is your invitation:\n${text.slice(0, 60)}\n${text.slice(60)}\n`);
    await page.waitForSelector('[data-testid="invitation-state"][data-state="read"]');
    assert.equal(
      await page.textContent('[data-testid="invitation-state"]'),
      'Invitation read: for anna at wss://office-pc.local:7467/.',
    );
    assert.equal(await page.inputValue('[data-field="url"]'), invite.settings.url);
    assert.equal(await page.inputValue('[data-field="fingerprint"]'), HOST_FINGERPRINT);
    assert.equal(await page.inputValue('[data-field="mailbox"]'), 'shared');
    assert.equal(await page.inputValue('[data-field="code"]'), INVITE_CODE);
    await harness.screenshot(page, 'team-settings-join');

    await dialog.getByRole('button', { name: 'Join', exact: true }).click();
    await page.waitForSelector(`${DIALOG} [role="status"]:has-text("Joining the team server…")`);
    await page.waitForSelector(`${DIALOG}[data-mode="joined"]`);
    assert.deepEqual((await ipcCalls(page, 'join_team_server')).map((c) => c.args), [{ invite }]);
    await page.waitForSelector('[data-testid="notice"]:has-text("Joined the team server.")');
    await page.waitForSelector(`${DIALOG} [data-testid="team-server-state"][data-state="connecting"]`);

    await emitEngineEvent(page, {
      type: 'team',
      overview: { ...NOT_CONFIGURED, server: { state: 'online', authoritative: false } },
    });
    await page.waitForSelector(`${DIALOG} [data-testid="team-server-state"][data-state="online"]`);
    assert.equal((await page.textContent(`${DIALOG} [data-testid="team-server-state"]`)).trim(), 'Online');
    await harness.screenshot(page, 'team-settings-joined');

    await emitEngineEvent(page, {
      type: 'team',
      overview: {
        ...NOT_CONFIGURED,
        server: {
          state: 'offline',
          problem: { code: 'tls_failed', message: 'x', detail: 'certificate fingerprint mismatch', holder: null, held_since: null },
          retry_in_secs: 30,
        },
      },
    });
    await page.waitForSelector(`${DIALOG} [data-testid="team-server-state"][data-state="offline"]`);
    const state = await page.textContent(`${DIALOG} [data-testid="team-server-state"]`);
    assert.match(state, /Offline — no secure connection possible/);
    assert.match(state, /Trying again in 30 s\. certificate fingerprint mismatch/);

    await dialog.getByRole('button', { name: 'Leave team server' }).click();
    await page.waitForSelector(`${DIALOG}[data-mode="none"]`);
    assert.equal((await ipcCalls(page, 'leave_team_server')).length, 1);
    await page.waitForSelector('[data-testid="notice"]:has-text("Left the team server")');

    // Escape closes the dialog and gives focus back to the Settings button.
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    assert.match(await page.evaluate(() => document.activeElement?.textContent ?? ''), /Settings/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('join by hand: every field checked before the engine is asked; an invite for someone else is flagged', async () => {
  const app = await harness.open({ htmlIndex: null, team: NOT_CONFIGURED });
  const { page } = app;
  try {
    await openDialog(page);
    const dialog = page.locator(DIALOG);
    await dialog.getByText("Join a colleague’s team server").click();
    await page.fill('[data-field="url"]', 'https://office-pc.local:7467/');
    await page.fill('[data-field="fingerprint"]', 'AB:CD');
    await page.fill('[data-field="member"]', 'Anna');
    await dialog.getByRole('button', { name: 'Join', exact: true }).click();
    await page.waitForSelector(`${DIALOG} :text("Enter an address starting with wss://")`);
    assert.match(await dialog.textContent(), /A fingerprint is 64 hexadecimal digits/);
    assert.match(await dialog.textContent(), /Use 1–32 lowercase letters/);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-field')), 'url');
    assert.equal((await ipcCalls(page, 'join_team_server')).length, 0);

    // Pasted JSON works too, and no fingerprint means the system's authorities.
    const invite = { settings: { url: 'wss://team.example.com/', fingerprint: null, mailbox: 'support' }, member: 'bram', code: 'X1' };
    await dialog.getByRole('textbox', { name: 'Invitation text' }).fill(JSON.stringify(invite));
    await page.waitForSelector('[data-testid="invitation-state"][data-state="read"]');
    assert.match(await dialog.textContent(), /This invitation is for bram, and you are anna in Baton/);
    await dialog.getByRole('button', { name: 'Join', exact: true }).click();
    await page.waitForSelector(`${DIALOG}[data-mode="joined"]`);
    assert.deepEqual((await ipcCalls(page, 'join_team_server'))[0].args, { invite });
  } finally {
    await app.close();
  }
});

test('already on a team server at start: joined, in Dutch, and a refused leave is said in place', async () => {
  const app = await harness.open(
    {
      htmlIndex: null,
      team: { ...NOT_CONFIGURED, server: { state: 'connecting' } },
      teamServerErrors: {
        leave_team_server: { code: 'credential_store_failed', message: 'keyring locked', detail: null, holder: null, held_since: null },
      },
    },
    { locale: 'nl-NL' },
  );
  const { page } = app;
  try {
    await openDialog(page);
    assert.equal(await mode(page), 'joined');
    const dialog = page.locator(DIALOG);
    assert.match(await dialog.textContent(), /Deze computer gebruikt een teamserver/);
    assert.match(await page.textContent(`${DIALOG} [data-testid="team-server-state"]`), /Verbinden…/);
    await dialog.getByRole('button', { name: 'Teamserver verlaten' }).click();
    const problem = page.locator(`${DIALOG} [data-testid="team-server-problem"]`);
    await problem.waitFor();
    assert.match(await problem.textContent(), /De teamserver verlaten lukte niet\./);
    assert.equal(await mode(page), 'joined');
  } finally {
    await app.close();
  }
});

test('the reading-pane header follows the detail: a colleague’s claim shows after the row has left the view', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  const TEAM = '[data-testid="conversation-team"]';
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${TEAM} :text("Nobody holds this conversation")`);
    // Another view: the open conversation's row is no longer in the list.
    await page.keyboard.press('2');
    await page.waitForSelector(`${LIST} [data-conversation-id="mine-0"]`);
    const heldSince = Date.now() - 5 * 60_000;
    await page.evaluate((since) => window.__changeConversation('unassigned-0', { owner: 'bram', held_since: since }), heldSince);
    await emitEngineEvent(page, { type: 'conversations_changed', ids: ['unassigned-0'] });
    await page.waitForSelector(`${TEAM} :text("Bram holds this conversation")`);
    assert.match(await page.getAttribute(`${TEAM} .holder-text`, 'title'), /^Held since /);
    // Held by someone else: no buttons that would only fail.
    assert.equal(await page.getByRole('button', { name: 'Claim' }).count(), 0);

    await page.evaluate(() => window.__changeConversation('unassigned-0', { owner: null, held_since: null, status: 'done' }));
    await emitEngineEvent(page, { type: 'conversations_changed', ids: ['unassigned-0'] });
    await page.waitForSelector(`${TEAM} :text("Nobody holds this conversation")`);
    await page.waitForSelector(`${TEAM} [data-status="done"]`);
    const detailCalls = (await ipcCalls(page, 'get_conversation')).filter((c) => c.args.id === 'unassigned-0');
    assert.equal(detailCalls.length, 3, 'opened once, refetched on each change');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
