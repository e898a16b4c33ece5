import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHarness } from './support/app.js';

let harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
});

const LIST = '[data-testid="conversation-list"]';

test('a Dutch system language gives Dutch labels, dates and numbers', async () => {
  // Mid-day, so the newest row is from today (a run just after midnight saw "Gisteren").
  const app = await harness.open({ htmlIndex: null }, { locale: 'nl-NL', fixedTime: new Date('2026-11-02T14:00:00+01:00') });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    assert.equal(await page.textContent('#list-heading'), 'Niet toegewezen');
    assert.equal((await page.textContent('#list-heading + .count')).trim(), '100.000 gesprekken');
    assert.match(await page.textContent('nav'), /Verzonden/);
    assert.match(await page.textContent('nav'), /Instellingen/);
    assert.match(await page.textContent('footer'), /Online/);
    assert.match(await page.textContent('footer'), /Druk op \? voor sneltoetsen/);
    assert.match(await page.textContent('main'), /Geen gesprek geopend/);
    assert.equal(await page.getAttribute(LIST, 'aria-label'), 'Gesprekken: Niet toegewezen');
    // 24-hour times, as Dutch readers expect.
    assert.match(await page.textContent(`${LIST} [data-index="0"] time`), /^\d{1,2}:\d{2}$/);

    await page.keyboard.press('Enter');
    await page.waitForSelector('article.message:last-of-type .plain');
    assert.match(await page.textContent('article.message:last-of-type'), /Aan/);
    assert.match(await page.textContent('article.message:last-of-type'), /Geciteerde tekst tonen/);

    await page.keyboard.press('?');
    await page.locator('dialog[open]').waitFor();
    assert.match(await page.textContent('dialog[open] h2'), /Sneltoetsen/);
    assert.match(await page.textContent('dialog[open]'), /Volgend gesprek/);
    await harness.screenshot(page, 'shortcuts-nl');
  } finally {
    await app.close();
  }
});

test('the settings menu switches the language and remembers the choice', async () => {
  const app = await harness.open({}, { locale: 'en-US' });
  const { page } = app;
  try {
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.textContent('#list-heading'), 'Unassigned');
    await page.getByRole('button', { name: 'Settings' }).click();
    const menu = page.getByRole('menu');
    await menu.waitFor();
    await harness.screenshot(page, 'settings-menu');
    // Keys inside the menu belong to the menu, not to the list behind it.
    await page.keyboard.press('j');
    assert.equal(await page.getAttribute(`${LIST} [aria-selected="true"]`, 'data-index'), '0');
    await menu.getByRole('menuitemradio', { name: 'Nederlands' }).click();
    await page.waitForFunction(() => document.querySelector('#list-heading')?.textContent === 'Niet toegewezen');
    assert.equal(await page.evaluate(() => localStorage.getItem('baton.language')), 'nl');

    await page.reload();
    await page.waitForFunction(() => window.__harnessReady === true);
    await page.waitForSelector(`${LIST} [data-conversation-id="unassigned-0"]`);
    assert.equal(await page.textContent('#list-heading'), 'Niet toegewezen');

    await page.getByRole('button', { name: 'Instellingen' }).click();
    await page.getByRole('menuitemradio', { name: 'Zelfde als systeem' }).click();
    await page.waitForFunction(() => document.querySelector('#list-heading')?.textContent === 'Unassigned');
    assert.equal(await page.evaluate(() => localStorage.getItem('baton.language')), 'system');
  } finally {
    await app.close();
  }
});

test('the setup form speaks Dutch too, including problem texts', async () => {
  const app = await harness.open(
    {
      configured: false,
      saveAccountError: { code: 'unreachable', message: 'connect failed', detail: null },
    },
    { locale: 'nl-BE' },
  );
  const { page } = app;
  try {
    await page.getByRole('heading', { name: 'Gedeelde mailbox koppelen' }).waitFor();
    await page.getByLabel('Teamlid-id').fill('anna');
    await page.getByLabel('Weergavenaam').fill('Anna');
    await page.getByLabel('Gedeeld adres').fill('support@example.com');
    await page.locator('fieldset:has-text("Inkomende mail") input').first().fill('mail.example.com');
    await page.locator('fieldset:has-text("Uitgaande mail") input').first().fill('mail.example.com');
    await page.getByLabel('Gebruikersnaam').fill('support');
    await page.getByLabel('Wachtwoord').fill('secret');
    await page.getByRole('button', { name: 'Verbinden' }).click();
    await page.locator('text=mail.example.com:993 is niet bereikbaar.').waitFor();
  } finally {
    await app.close();
  }
});
