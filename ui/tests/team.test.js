import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { subjectFor } from './harness/fixtures.js';
import { emitEngineEvent, ipcCalls, startHarness } from './support/app.js';

let harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
});

const LIST = '[data-testid="conversation-list"]';
const READER = '[data-testid="reading-pane"]';
const TEAM = '[data-testid="conversation-team"]';
const TEAM_SERVER = '[data-testid="team-server"]';

async function openFirst(page, view = 'unassigned') {
  await page.waitForSelector(`${LIST} [data-conversation-id="${view}-0"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${READER} ${TEAM}`);
}

async function actions(page) {
  return (await ipcCalls(page, 'act_on_conversation')).map((c) => c.args);
}

test('every view renders with its count; rows show holders and status; Team groups by holder', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.textContent('#list-heading'), 'Unassigned');
    // Unassigned rows are all unowned; they carry no marker for it.
    assert.equal(await page.locator(`${LIST} [data-index="0"] [data-owner]`).count(), 0);

    const expected = [
      ['1', 'Unassigned', '100,000'],
      ['2', 'Mine', '3'],
      ['3', 'Team', '12'],
      ['4', 'Waiting', '4'],
      ['5', 'Done', '6'],
      ['6', 'All', '100,025'],
      ['7', 'Sent', '0'],
    ];
    for (const [digit, name, count] of expected) {
      await page.keyboard.press(digit);
      await page.waitForFunction((n) => document.querySelector('#list-heading')?.textContent === n, name);
      await page.waitForFunction(
        (c) => document.querySelector('nav button[aria-current="page"] .total')?.textContent === c,
        count,
      );
      assert.match(await page.textContent('nav button[aria-current="page"]'), new RegExp(name));
    }
    const views = new Set((await ipcCalls(page, 'list_conversations')).map((c) => c.args.view));
    assert.deepEqual([...views].sort(), ['all', 'done', 'mine', 'sent', 'team', 'unassigned', 'waiting']);

    // Team: a header wherever the holder changes, and only there.
    await page.keyboard.press('g');
    await page.keyboard.press('t');
    await page.waitForSelector(`${LIST} [data-conversation-id="team-0"]`);
    // The view fills in as its page arrives; wait for the last holder's rows.
    await page.waitForFunction(
      (sel) => document.querySelectorAll(sel).length >= 3,
      `${LIST} [data-testid="group-header"]`,
    );
    const headers = await page.$$eval(`${LIST} [data-testid="group-header"]`, (h) => h.map((x) => x.textContent));
    assert.deepEqual(headers, ['Held by bram', 'Held by chris', 'Held by dana']);
    await harness.screenshot(page, 'team-view-groups');

    // All: holders as avatars, waiting and done as badges, an empty ring for nobody.
    await page.keyboard.press('g');
    await page.keyboard.press('a');
    await page.waitForSelector(`${LIST} [data-conversation-id="all-0"]`);
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${READER} ${TEAM}`);
    const row = (i) => `${LIST} [data-index="${i}"]`;
    assert.equal(await page.getAttribute(`${row(0)} [data-owner]`, 'data-owner'), '');
    assert.equal(await page.getAttribute(`${row(1)} [data-owner]`, 'data-owner'), 'bram');
    assert.equal(await page.textContent(`${row(1)} [data-owner] .avatar`), 'B');
    assert.equal(await page.getAttribute(`${row(2)} [data-owner] [title]`, 'title'), 'Held by you');
    assert.equal((await page.textContent(`${row(2)} [data-status]`)).trim(), 'Waiting');
    assert.equal((await page.textContent(`${row(4)} [data-status]`)).trim(), 'Done');
    assert.equal(await page.locator(`${row(0)} [data-status]`).count(), 0, 'open needs no badge');
    // One colour per member, wherever they appear.
    const hue = (sel) => page.$eval(sel, (el) => el.style.getPropertyValue('--hue'));
    assert.equal(await hue(`${row(1)} [data-owner] .avatar`), await hue(`${row(7)} [data-owner] .avatar`));
    assert.notEqual(await hue(`${row(1)} [data-owner] .avatar`), await hue(`${row(4)} [data-owner] .avatar`));
    await harness.screenshot(page, 'list-owners-status');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('c claims the conversation, shows it held by me, and c again releases it', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    // From the list, c claims the row under the cursor and opens it.
    await page.keyboard.press('c');
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'act_on_conversation'));
    assert.deepEqual(await actions(page), [{ id: 'unassigned-0', action: { kind: 'claim' } }]);
    await page.waitForSelector(`${TEAM} :text("You hold this conversation")`);
    await page.waitForSelector(`[data-testid="notice"][data-tone="info"]:has-text("Claimed.")`);
    await page.waitForSelector(`${LIST} [data-index="0"] [data-owner="anna"]`);
    assert.equal(await page.textContent(`${READER} h2`), subjectFor(0));

    await page.keyboard.press('c');
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === 'act_on_conversation').length === 2);
    assert.deepEqual((await actions(page))[1], { id: 'unassigned-0', action: { kind: 'release' } });
    await page.waitForSelector(`${TEAM} :text("Nobody holds this conversation")`);

    // w, d and o set the status; the buttons follow it.
    await page.keyboard.press('w');
    await page.waitForSelector(`${TEAM} [data-status="waiting"]`);
    await page.keyboard.press('d');
    await page.waitForSelector(`${TEAM} [data-status="done"]`);
    await page.getByRole('button', { name: 'Reopen' }).click();
    await page.waitForSelector(`${TEAM} [data-status]`, { state: 'detached' });
    assert.deepEqual(
      (await actions(page)).slice(2).map((a) => a.action),
      [
        { kind: 'set_status', status: 'waiting' },
        { kind: 'set_status', status: 'done' },
        { kind: 'set_status', status: 'open' },
      ],
    );
    // Notices go away by themselves.
    await page.waitForSelector('[data-testid="notice"]', { state: 'detached', timeout: 10_000 });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a lost claim race says who holds it, without blocking, and shows the real holder', async () => {
  const heldSince = Date.now() - 3000;
  const app = await harness.open({
    htmlIndex: null,
    actError: {
      code: 'claim_conflict',
      message: 'claimed by bram',
      detail: null,
      holder: 'bram',
      held_since: heldSince,
    },
  });
  const { page } = app;
  try {
    await openFirst(page);
    const listCalls = (await ipcCalls(page, 'list_conversations')).length;
    await page.getByRole('button', { name: 'Claim' }).click();
    const notice = page.locator('[role="alert"] [data-testid="notice"]');
    await notice.waitFor();
    assert.match(await notice.textContent(), /Claimed by bram \d+ s ago/);
    assert.equal(await page.locator('dialog[open]').count(), 0, 'no modal');
    // The header names the winner at once; the list is asked again.
    await page.waitForSelector(`${TEAM} :text("Bram holds this conversation")`);
    await page.waitForSelector(`${LIST} [data-index="0"] [data-owner="bram"]`);
    await page.waitForFunction(
      (n) => window.__ipcCalls.filter((c) => c.cmd === 'list_conversations').length > n,
      listCalls,
    );
    // Held by someone else: no buttons that would only fail.
    assert.equal(await page.getByRole('button', { name: 'Claim' }).count(), 0);
    await harness.screenshot(page, 'claim-conflict');
    // Work goes on: the keyboard still moves through the list.
    await page.keyboard.press('Escape');
    await page.keyboard.press('j');
    assert.equal(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'data-index'), '1');
    await notice.waitFor({ state: 'detached', timeout: 12_000 });
  } finally {
    await app.close();
  }
});

test('the conflict text in Dutch, and team_state_unavailable in plain words', async () => {
  const app = await harness.open(
    {
      htmlIndex: null,
      actError: { code: 'claim_conflict', message: 'x', detail: null, holder: 'bram', held_since: Date.now() - 3000 },
    },
    { locale: 'nl-NL' },
  );
  const { page } = app;
  try {
    await openFirst(page);
    await page.keyboard.press('c');
    const notice = page.locator('[role="alert"] [data-testid="notice"]');
    await notice.waitFor();
    assert.match(await notice.textContent(), /Geclaimd door bram, \d+ s geleden/);
    await page.evaluate(() => {
      window.__scenario.actError = {
        code: 'team_state_unavailable',
        message: 'offline',
        detail: null,
        holder: null,
        held_since: null,
      };
    });
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="reading-pane"] h2')?.textContent.includes('100001'));
    await page.keyboard.press('d');
    await page.waitForSelector('[data-testid="notice"]:has-text("De teamserver bewaart de claims")');
  } finally {
    await app.close();
  }
});

test('h opens the hand-over menu with the colleagues; picking one hands the conversation over', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await openFirst(page);
    await page.keyboard.press('h');
    const menu = page.getByRole('menu', { name: 'Hand over to' });
    await menu.waitFor();
    const items = await menu.getByRole('menuitem').allTextContents();
    assert.deepEqual(
      // The avatar's initials are hidden from assistive tech; the name is the last word.
      items.map((t) => t.trim().split(/\s+/).at(-1)),
      ['bram', 'chris', 'dana'],
      'everyone but me',
    );
    assert.match(await page.evaluate(() => document.activeElement?.textContent.trim()), /bram$/);
    await harness.screenshot(page, 'hand-over-menu');
    // Keys belong to the menu while it is open.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('c');
    assert.equal((await actions(page)).length, 0);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === 'act_on_conversation'));
    assert.deepEqual(await actions(page), [{ id: 'unassigned-0', action: { kind: 'hand_over', to: 'chris' } }]);
    await page.waitForSelector(`${TEAM} :text("Chris holds this conversation")`);
    await page.waitForSelector('[data-testid="notice"]:has-text("Handed over to chris.")');

    // Escape closes the menu and gives focus back to its button.
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (s) => document.querySelector('[data-testid="reading-pane"] h2')?.textContent === s,
      subjectFor(1),
    );
    await page.getByRole('button', { name: 'Hand over…' }).click();
    await menu.waitFor();
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-haspopup')),
      'menu',
    );
  } finally {
    await app.close();
  }
});

test('presence: avatars with eye or pen on rows and in the header; opening and leaving are reported', async () => {
  const app = await harness.open({
    htmlIndex: null,
    presence: {
      'unassigned-0': [
        { member: 'bram', activity: 'viewing' },
        { member: 'anna', activity: 'viewing' },
      ],
    },
  });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await emitEngineEvent(page, {
      type: 'presence',
      presence: { id: 'unassigned-2', present: [{ member: 'dana', activity: 'replying' }] },
    });
    const row2 = `${LIST} [data-index="2"] [data-testid="row-presence"]`;
    await page.waitForSelector(`${row2} [data-member="dana"][data-activity="replying"]`);
    assert.equal(await page.getAttribute(`${row2} [data-member="dana"]`, 'title'), 'dana is replying');

    await page.keyboard.press('Enter');
    const header = `${TEAM} [data-testid="conversation-presence"]`;
    await page.waitForSelector(header);
    // Me is left out: the header is about colleagues.
    assert.deepEqual(await page.$$eval(`${header} li > span:last-child`, (s) => s.map((x) => x.textContent)), [
      'bram is viewing',
    ]);
    await page.waitForSelector(`${LIST} [data-index="0"] [data-member="bram"][data-activity="viewing"]`);
    assert.deepEqual(
      (await ipcCalls(page, 'report_activity')).map((c) => c.args),
      [{ id: 'unassigned-0', activity: 'viewing' }],
    );
    assert.deepEqual((await ipcCalls(page, 'get_presence')).map((c) => c.args.id), ['unassigned-0']);

    await emitEngineEvent(page, {
      type: 'presence',
      presence: {
        id: 'unassigned-0',
        present: [
          { member: 'bram', activity: 'viewing' },
          { member: 'chris', activity: 'replying' },
        ],
      },
    });
    await page.waitForSelector(`${header} :text("chris is replying")`);
    await harness.screenshot(page, 'reading-header-claim-presence');

    // Moving on leaves the first conversation.
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === 'report_activity').length === 3);
    assert.deepEqual((await ipcCalls(page, 'report_activity')).map((c) => c.args).slice(1), [
      { id: 'unassigned-0', activity: null },
      { id: 'unassigned-1', activity: 'viewing' },
    ]);

    // Presence gone: the avatars go too.
    await emitEngineEvent(page, { type: 'presence', presence: { id: 'unassigned-2', present: [] } });
    await page.waitForSelector(row2, { state: 'detached' });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('the status bar says what the team server state means for claims and presence', async () => {
  const offline = {
    state: 'offline',
    problem: { code: 'unreachable', message: 'x', detail: 'Connection refused (os error 111)', holder: null, held_since: null },
    retry_in_secs: 10,
  };
  const app = await harness.open({ team: { me: 'anna', members: ['anna', 'bram'], server: offline, state_home: 'keywords' } });
  const { page } = app;
  try {
    await page.waitForSelector(`${TEAM_SERVER}[data-state="offline"]`);
    assert.equal(
      (await page.textContent(TEAM_SERVER)).trim(),
      'Team server offline — claims still work, live presence paused',
    );
    assert.equal(await page.getAttribute(TEAM_SERVER, 'title'), 'Connection refused (os error 111)');
    await harness.screenshot(page, 'team-server-offline');

    const team = (server, stateHome = 'keywords') => ({
      type: 'team',
      overview: { me: 'anna', members: ['anna', 'bram'], server, state_home: stateHome },
    });
    await emitEngineEvent(page, team({ state: 'online', authoritative: true }, 'team_server'));
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.includes('Team state kept by the team server (mail server has no keywords)'),
      TEAM_SERVER,
    );
    await emitEngineEvent(page, team(offline, 'team_server'));
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.includes('claims wait until it is back'),
      TEAM_SERVER,
    );
    await emitEngineEvent(page, team({ state: 'not_configured' }));
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.trim() === 'No team server — claims work through the mailbox',
      TEAM_SERVER,
    );
    // The mail connection keeps its own place.
    assert.equal(await page.textContent('[data-testid="connectivity"]'), 'Online');
  } finally {
    await app.close();
  }
});

test('the team server state in Dutch', async () => {
  const app = await harness.open(
    {
      team: {
        me: 'anna',
        members: ['anna'],
        server: { state: 'offline', problem: { code: 'timeout', message: 'x', detail: null, holder: null, held_since: null }, retry_in_secs: null },
        state_home: 'keywords',
      },
    },
    { locale: 'nl-NL' },
  );
  const { page } = app;
  try {
    await page.waitForSelector(`${TEAM_SERVER}[data-state="offline"]`);
    assert.equal(
      (await page.textContent(TEAM_SERVER)).trim(),
      'Teamserver offline — claims werken nog, live aanwezigheid gepauzeerd',
    );
  } finally {
    await app.close();
  }
});
