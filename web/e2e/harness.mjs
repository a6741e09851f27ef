// The e2e harness: the server, the browser, and the step runner every flow file
// in e2e/flows/ uses. Controls are found by role and accessible name only.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, createWriteStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const WEB = resolve(import.meta.dirname, '..');
export const RESULTS = join(WEB, 'test-results');
const BIN = resolve(WEB, process.env.LIVESUPPORT_BIN ?? '../target/debug/livesupport');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ADMIN_EMAIL = 'e2e-admin@example.com';
export const ADMIN_PASSWORD = 'e2e-Admin-password-123';
export const TIMEOUT = 15_000;
// A registrable domain of our own, resolved to this machine: the service and a
// storefront on sibling hosts of it are same-site, as in production.
export const SITE = 'example.test';

export const results = [];
export const servers = [];
export const tmps = [];
/** Server log files, in start order. */
export const logs = [];

// ---------- helpers ----------

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, check, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(100);
  }
}

export async function visible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    throw new Error(`not visible: ${what}`);
  }
}

export async function count(locator, n, what) {
  let seen;
  try {
    await until(`${what} ×${n}`, async () => (seen = await locator.count()) === n);
  } catch (err) {
    throw new Error(`${err.message} (last seen: ${seen})`);
  }
}

/** Opens the widget panel unless it is open already; returns the launcher. */
export async function openWidget(page) {
  const launcher = page.getByRole('button', { name: /support chat/ });
  await visible(launcher, 'launcher');
  if ((await launcher.getAttribute('aria-expanded')) !== 'true') await launcher.click();
  await until('panel open', async () => (await launcher.getAttribute('aria-expanded')) === 'true');
  return launcher;
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

let shot = 0;
export async function screenshot(page, name) {
  shot += 1;
  const file = join(RESULTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

export async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok ${results.length} - ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`not ok ${results.length} - ${name}\n    ${String(err?.stack ?? err).split('\n').slice(0, 4).join('\n    ')}`);
    for (const p of pages) await p.screenshot({ path: join(RESULTS, `failed-${results.length}-${p.__label}.png`) }).catch(() => {});
  }
}

export const pages = [];
export const problems = [];
export function watch(page, label) {
  page.__label = label;
  page.setDefaultTimeout(TIMEOUT);
  pages.push(page);
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) problems.push(`${label}: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: uncaught ${e.message}`));
}

// ---------- server ----------

/** How long a settings change may take to reach a node (API.md: "within a couple of seconds"). */
const SETTINGS_SPREAD_MS = 2_500;

/**
 * Starts a node with a fresh SQLite database; `host` names it in PUBLIC_URL.
 * `assignment`: the flows written before issue 16 expect tickets to wait until an
 * agent takes them, so they get `manual` (the admin sets it through the API once the
 * node is up); the routing flow asks for `auto`, the server's default.
 */
export async function startServer(host = 'localhost', { assignment = 'manual' } = {}) {
  if (!existsSync(BIN)) throw new Error(`server binary not found at ${BIN} (build it, or set LIVESUPPORT_BIN)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'livesupport-e2e-'));
  tmps.push(dir);
  const base = `http://${host}:${port}`;
  const logFile = join(RESULTS, `server-${host}-${port}.log`);
  logs.push(logFile);
  const log = createWriteStream(logFile);
  const isScript = /\.(mjs|cjs|js)$/.test(BIN);
  const server = spawn(isScript ? process.execPath : BIN, isScript ? [BIN] : [], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: `sqlite://${join(dir, 'e2e.db')}`,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      PUBLIC_URL: base,
      LOG_FORMAT: 'json',
      // Attachments (issue 17) go to the temp dir, never into the repository.
      STORAGE_URL: `file://${join(dir, 'attachments')}`,
      // Webhooks (issue 19): the flows' receivers listen on 127.0.0.1, a private address.
      WEBHOOK_ALLOW_PRIVATE: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.push(server);
  server.stdout.pipe(log);
  server.stderr.pipe(log);
  let exited = null;
  server.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  await until(
    'GET /healthz = 200',
    async () => {
      if (exited) throw new Error(`server ${exited}; see ${logFile}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return res?.status === 200;
    },
    60_000,
  );
  if (assignment !== 'auto') await setAssignment(`http://127.0.0.1:${port}`, assignment);
  return { base, port };
}

/** Sets the desk's assignment mode as the e2e admin; a server before issue 16 has none (404). */
async function setAssignment(origin, assignment) {
  const login = await fetch(`${origin}/api/support/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  if (!login.ok) throw new Error(`admin login for the settings: ${login.status} ${await login.text()}`);
  const { token } = await login.json();
  const res = await fetch(`${origin}/api/support/settings`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ assignment }),
  });
  if (res.status === 404 || res.status === 405) return;
  if (!res.ok) throw new Error(`PUT /api/support/settings: ${res.status} ${await res.text()}`);
  await sleep(SETTINGS_SPREAD_MS);
}

export function stopServers() {
  for (const server of servers) if (server.exitCode === null) server.kill('SIGTERM');
}

/** Debian's Chromium, headless, with the test site's hosts resolved here. */
export function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--host-resolver-rules=MAP *.${SITE} 127.0.0.1`],
  });
}

/**
 * In the page: the relative luminance of the body's background, and every visible
 * piece of text whose contrast with the background behind it is under WCAG AA
 * (4.5:1; 3:1 for large text). Disabled controls are exempt, as WCAG has it.
 */
export const contrastReport = (frame) =>
  frame.evaluate(() => {
    const rgba = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const failures = [];
    let checked = 0;
    for (const el of document.querySelectorAll('body *')) {
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
      const field = el.matches('input, textarea') && el.value;
      if ((!text && !field) || el.getClientRects().length === 0 || el.closest('[disabled], [aria-hidden="true"]')) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden') continue;
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const r = ratio(rgba(style.color), background(el));
      checked += 1;
      if (r < (large ? 3 : 4.5)) failures.push(`${el.tagName.toLowerCase()}.${el.className} "${(text || field).slice(0, 30)}" ${r.toFixed(2)}:1`);
    }
    return { bodyLuminance: lum(background(document.body)), checked, failures };
  });

export function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

