// Test support: serves the built UI with the IPC harness injected, drives Debian's
// Chromium through playwright-core, and opens the app with a scenario.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(UI_DIR, 'dist');
const HARNESS = join(UI_DIR, 'tests', 'harness');
const TAURI_API = join(UI_DIR, 'node_modules', '@tauri-apps', 'api');
export const SCREENSHOT_DIR = resolve(UI_DIR, '..', 'test-output', 'ui');

const CHROMIUM = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** Resolves `path` under `root`, refusing anything that climbs out of it. */
function within(root, path) {
  const full = normalize(join(root, decodeURIComponent(path)));
  return full === root || full.startsWith(root + sep) ? full : null;
}

function indexWithHarness() {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  // Module scripts run in document order: the harness installs the mock before the
  // app's first invoke. The built files themselves stay exactly as shipped.
  const tag = '<script type="module" src="./__harness__/harness.js"></script>';
  const at = html.indexOf('<script');
  if (at < 0) throw new Error('dist/index.html has no script tag');
  return html.slice(0, at) + tag + '\n    ' + html.slice(at);
}

/** Serves dist/ plus the harness on 127.0.0.1, port 0. Records every path requested. */
export async function startServer() {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: run \`npm run build\` before \`npm test\``);
  }
  const requests = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    let file = null;
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' });
      res.end(indexWithHarness());
      return;
    }
    if (path.startsWith('/__harness__/api/')) file = within(TAURI_API, path.slice('/__harness__/api/'.length));
    else if (path.startsWith('/__harness__/')) file = within(HARNESS, path.slice('/__harness__/'.length));
    else file = within(DIST, path.slice(1));
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** Launches Chromium with a fresh temporary profile; fails loudly when it cannot. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (install Debian's chromium, or set BATON_CHROMIUM)`);
  }
  try {
    // launch() gives every run its own throw-away user-data-dir.
    return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
  } catch (error) {
    throw new Error(`Chromium at ${CHROMIUM} could not start: ${error instanceof Error ? error.message : error}`);
  }
}

/**
 * Everything a test file needs: one server and one browser, shared by its tests.
 * Each `open()` gets a fresh browser context (fresh storage, chosen locale).
 */
export async function startHarness() {
  const server = await startServer();
  let browser;
  try {
    browser = await launchBrowser();
  } catch (error) {
    await server.close();
    throw error;
  }

  /**
   * `fixedTime` pins the page's clock (timers keep running), for assertions on how
   * today's times read that must not depend on when the test runs.
   */
  async function open(scenario = {}, { locale = 'en-US', storage = {}, colorScheme = 'light', fixedTime } = {}) {
    const context = await browser.newContext({
      locale,
      viewport: { width: 1280, height: 800 },
      deviceScaleFactor: 1,
      colorScheme,
      timezoneId: 'Europe/Amsterdam',
    });
    await context.addInitScript(
      ({ scenario, storage }) => {
        // Runs in every frame, including the mail frame; it only sets test inputs.
        if (window.top !== window) return;
        window.__BATON_SCENARIO__ = scenario;
        for (const [key, value] of Object.entries(storage)) localStorage.setItem(key, value);
      },
      { scenario, storage },
    );
    const page = await context.newPage();
    const dialogs = [];
    const errors = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => errors.push(error));
    if (fixedTime) await page.clock.setFixedTime(fixedTime);
    await page.goto(server.url);
    await page.waitForFunction(() => window.__harnessReady === true);
    return { page, context, dialogs, errors, close: () => context.close() };
  }

  async function screenshot(page, name) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const path = join(SCREENSHOT_DIR, `${name}.png`);
    await page.screenshot({ path });
    return path;
  }

  return {
    server,
    browser,
    open,
    screenshot,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** The IPC calls the app made, optionally only those of one command. */
export async function ipcCalls(page, cmd) {
  const calls = await page.evaluate(() => window.__ipcCalls);
  return cmd ? calls.filter((c) => c.cmd === cmd) : calls;
}

export async function emitEngineEvent(page, payload) {
  await page.evaluate((p) => window.__emitEngineEvent(p), payload);
}
