// A colleague's reply on its way ("sending"): the presence on rows and in the reading
// pane with its countdown, and the guard's `colleague_sending` finding while writing and
// at send time.
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

const LIST = '[data-testid="conversation-list"]';
const READER = '[data-testid="reading-pane"]';
const TEAM = '[data-testid="conversation-team"]';
const COMPOSER = '[data-testid="composer"]';
const BODY = '[data-testid="compose-body"]';
const GUARD = '[data-testid="guard-dialog"]';
const UNDO = '[data-testid="send-undo"]';
const MIN = 60_000;

const row = (i) => `${LIST} [data-index="${i}"]`;
const pill = (i) => `${row(i)} [data-testid="row-sending"]`;
const paneItem = (member) => `${TEAM} [data-testid="conversation-presence"] li[data-member="${member}"]`;
/** The sentence beside the avatar (whose initials are text too). */
const paneLine = (member) => `${paneItem(member)} > span:last-child`;

const sending = (member, leavesAt) => ({ member, activity: 'sending', leaves_at: leavesAt });

/** The number in the first match of `pattern` (a countdown in seconds) in `selector`'s text. */
async function countdown(page, selector, pattern) {
  const text = (await page.textContent(selector)).trim();
  const match = pattern.exec(text);
  assert.ok(match, `“${text}” does not match ${pattern}`);
  return Number(match[1]);
}

/** Waits until the countdown in `selector` is below `n`: it moves by itself. */
function countsDown(page, selector, source, n) {
  return page.waitForFunction(
    ([sel, src, below]) => {
      const match = new RegExp(src).exec(document.querySelector(sel)?.textContent.trim() ?? '');
      return match !== null && Number(match[1]) < below;
    },
    [selector, source, n],
  );
}

/** Presence on a row and for the reading pane (get_presence answers what the event said). */
async function present(page, id, list) {
  await page.evaluate(([i, l]) => {
    window.__scenario.presence[i] = l;
  }, [id, list]);
  await emitEngineEvent(page, { type: 'presence', presence: { id, present: list } });
}

/** “2:30 PM” or “14:30” as the browser (in Amsterdam) writes a time of day. */
function timeOfDay(ms, locale) {
  return new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit', timeZone: 'Europe/Amsterdam' }).format(ms);
}

const sameDayInAmsterdam = (a, b) =>
  new Date(a).toLocaleDateString('en', { timeZone: 'Europe/Amsterdam' }) ===
  new Date(b).toLocaleDateString('en', { timeZone: 'Europe/Amsterdam' });

test('a colleague’s reply on its way: a paper plane and a countdown on the row and in the reading pane', async () => {
  const app = await harness.open({ htmlIndex: null });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await present(page, 'unassigned-0', [sending('bram', Date.now() + 20_000)]);
    await present(page, 'unassigned-2', [sending('chris', null)]);

    // The row: the avatar with the paper plane, the seconds beside it, the sentence for
    // the pointer and screen readers.
    await page.waitForSelector(`${row(0)} [data-member="bram"][data-activity="sending"]`);
    const first = await countdown(page, pill(0), /^(\d+) s$/);
    assert.ok(first >= 15 && first <= 20, `the row counts down from the time it leaves, got ${first}`);
    assert.match(await page.getAttribute(`${row(0)} [data-member="bram"]`, 'title'), /^bram’s reply leaves in \d+ s$/);
    await countsDown(page, pill(0), '^(\\d+) s$', first);
    // Being handed to the mail server: no countdown, just that it is happening.
    assert.equal((await page.textContent(pill(2))).trim(), 'Sending…');
    assert.equal(await page.getAttribute(`${row(2)} [data-member="chris"]`, 'title'), 'chris is sending a reply');

    await page.keyboard.press('Enter');
    await page.waitForSelector(paneLine('bram'));
    const pane = await countdown(page, paneLine('bram'), /^bram’s reply leaves in (\d+) s$/);
    assert.ok(pane >= 10 && pane <= 20, `the pane shows the same countdown, got ${pane}`);
    assert.equal(await page.getAttribute(`${paneItem('bram')} [data-member="bram"]`, 'data-activity'), 'sending');
    await countsDown(page, paneLine('bram'), '^bram’s reply leaves in (\\d+) s$', pane);
    await harness.screenshot(page, 'presence-sending');

    // Send later: minutes, and beyond the hour the time it leaves.
    await present(page, 'unassigned-0', [sending('bram', Date.now() + 3 * MIN + 10_000)]);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.trim() === 'bram’s reply leaves in 3 min',
      paneLine('bram'),
    );
    assert.equal((await page.textContent(pill(0))).trim(), '3 min');
    const later = Date.now() + 2 * 60 * MIN;
    await present(page, 'unassigned-0', [sending('bram', later)]);
    const expected = sameDayInAmsterdam(later, Date.now())
      ? `bram’s reply leaves at ${timeOfDay(later, 'en')}`
      : /^bram’s reply leaves on /;
    await page.waitForFunction((sel) => /leaves (at|on) /.test(document.querySelector(sel)?.textContent ?? ''), paneLine('bram'));
    // ICU may put a narrow no-break space before “PM”, in Node or in Chromium.
    const spaced = (t) => t.replace(/\s/g, ' ').trim();
    if (typeof expected === 'string') assert.equal(spaced(await page.textContent(paneLine('bram'))), spaced(expected));
    else assert.match((await page.textContent(paneLine('bram'))).trim(), expected);

    // Once its moment has passed it is being sent: the countdown gives way by itself.
    await present(page, 'unassigned-0', [sending('bram', Date.now() + 1500)]);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.trim() === 'bram is sending a reply',
      paneLine('bram'),
    );
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.trim() === 'Sending…', pill(0));

    // In Sent: the presence goes, and the row's countdown with it.
    await present(page, 'unassigned-0', []);
    await page.waitForSelector(pill(0), { state: 'detached' });
    await page.waitForSelector(paneItem('bram'), { state: 'detached' });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a colleague’s reply on its way, in Dutch', async () => {
  const app = await harness.open({ htmlIndex: null }, { locale: 'nl-NL' });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    await present(page, 'unassigned-0', [sending('bram', Date.now() + 20_000), { member: 'dana', activity: 'viewing', leaves_at: null }]);
    await present(page, 'unassigned-1', [sending('chris', null)]);
    await page.waitForSelector(pill(0));
    assert.match(await page.getAttribute(`${row(0)} [data-member="bram"]`, 'title'), /^Het antwoord van bram gaat over \d+ s weg$/);
    assert.equal((await page.textContent(pill(1))).trim(), 'Versturen…');
    assert.equal(await page.getAttribute(`${row(1)} [data-member="chris"]`, 'title'), 'chris verstuurt een antwoord');

    await page.keyboard.press('Enter');
    await page.waitForSelector(paneLine('bram'));
    const pane = await countdown(page, paneLine('bram'), /^Het antwoord van bram gaat over (\d+) s weg$/);
    await countsDown(page, paneLine('bram'), '^Het antwoord van bram gaat over (\\d+) s weg$', pane);
    assert.equal((await page.textContent(paneLine('dana'))).trim(), 'dana kijkt mee');
    await harness.screenshot(page, 'presence-sending-nl');

    const later = Date.now() + 2 * 60 * MIN;
    await present(page, 'unassigned-0', [sending('bram', later)]);
    await page.waitForFunction((sel) => /gaat (om|op) /.test(document.querySelector(sel)?.textContent ?? ''), paneLine('bram'));
    if (sameDayInAmsterdam(later, Date.now())) {
      assert.equal(
        (await page.textContent(paneLine('bram'))).replace(/\s/g, ' ').trim(),
        `Het antwoord van bram gaat om ${timeOfDay(later, 'nl-NL')} weg`.replace(/\s/g, ' '),
      );
    }
    await present(page, 'unassigned-0', [sending('bram', null)]);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.trim() === 'bram verstuurt een antwoord',
      paneLine('bram'),
    );
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

async function reply(page, index) {
  await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-${index}"]`);
  await page.click(`${LIST} [data-index="${index}"]`);
  await page.waitForSelector(`${READER} article.message:last-of-type .message-body:not([aria-busy="true"])`);
  await page.click(`${READER} h2`);
  await page.keyboard.press('r');
  await page.waitForSelector(COMPOSER);
  await page.waitForFunction((sel) => document.activeElement?.matches(sel), BODY);
}

test('the guard counts a colleague’s reply on its way as given: a banner while writing, the dialog at Send, Send anyway names it', async () => {
  const onItsWay = { kind: 'colleague_sending', member: 'bram', leaves_at: null, message_id: 'bram-7@example.com' };
  const leaving = { ...onItsWay, leaves_at: Date.now() + 40_000 };
  const app = await harness.open({ htmlIndex: null, guard: [onItsWay], sendGuard: [leaving] });
  const { page } = app;
  try {
    await reply(page, 1);
    const banner = page.locator('[data-testid="guard-banners"] [data-kind="colleague_sending"]');
    await banner.waitFor();
    assert.equal((await banner.textContent()).trim(), 'Bram’s reply is on its way — being sent now');
    assert.match(await banner.getAttribute('class'), /\bstrong\b/, 'as loud as a reply that went out');

    await page.keyboard.type('Sorry for the wait.');
    await page.keyboard.press('Control+Enter');
    const dialog = page.locator(GUARD);
    await dialog.waitFor();
    const finding = `${GUARD} li[data-kind="colleague_sending"]`;
    const headline = `${finding} .headline`;
    const first = await countdown(page, headline, /^Bram’s reply is on its way — leaves in (\d+) s$/);
    assert.ok(first > 0 && first <= 40, `got ${first}`);
    assert.equal(await page.getAttribute(`${finding} [data-member="bram"]`, 'data-activity'), 'sending');
    assert.match(await dialog.textContent(), /Your reply has not been sent/);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent.trim()), 'Keep editing');
    await countsDown(page, headline, '^Bram’s reply is on its way — leaves in (\\d+) s$', first);
    await harness.screenshot(page, 'guard-dialog-sending');

    await dialog.getByRole('button', { name: 'Send anyway' }).click();
    await page.waitForSelector(COMPOSER, { state: 'detached' });
    await page.waitForSelector(UNDO);
    const sends = await ipcCalls(page, 'send_draft');
    assert.deepEqual(sends.map((c) => c.args.options.despite), [[], [leaving]]);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
