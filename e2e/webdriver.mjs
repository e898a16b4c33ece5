// A minimal W3C WebDriver client over fetch: enough to drive the real app through
// tauri-driver without pulling in a framework.

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, capabilities) {
    const value = await call(base, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, value.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(xpath) {
    const found = await this.cmd('POST', '/elements', { using: 'xpath', value: xpath });
    return found.map((e) => e[ELEMENT]);
  }

  /** Waits until `xpath` matches a visible element; returns its id. */
  async waitFor(xpath, what, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        for (const id of await this.find(xpath)) {
          if (await this.cmd('GET', `/element/${id}/displayed`)) return id;
        }
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what} (${xpath})${last ? `: ${last.message}` : ''}`);
  }

  /** Polls `script` (a function body returning a value) until it returns something truthy. */
  async waitForScript(script, what, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        const value = await this.execute(script);
        if (value) return value;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
  }

  click(id) {
    return this.cmd('POST', `/element/${id}/click`, {});
  }

  text(id) {
    return this.cmd('GET', `/element/${id}/text`);
  }

  keys(id, text) {
    return this.cmd('POST', `/element/${id}/value`, { text });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  end() {
    return call(this.base, 'DELETE', `/session/${this.id}`);
  }
}

async function call(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok || (json.value && json.value.error)) {
    throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value;
}
