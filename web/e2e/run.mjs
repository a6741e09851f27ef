#!/usr/bin/env node
// End-to-end suite: starts the real livesupport server on a free port with a fresh
// SQLite database, drives the demo page (widget + chat iframe) as a visitor and the
// dashboard as an agent in Debian's Chromium through playwright-core, and writes a
// screenshot of every step to web/test-results/. Controls are found by role and
// accessible name only.
//
//   LIVESUPPORT_BIN  server binary (default ../target/debug/livesupport, relative to web/)
//   CHROMIUM         browser (default /usr/bin/chromium)
//   E2E_KEEP=1       keep the temp dir (database, server log) after the run
//
// Prints `e2e: N passed, M failed` last and exits non-zero on any failure.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, createWriteStream, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const WEB = resolve(import.meta.dirname, '..');
const RESULTS = join(WEB, 'test-results');
const BIN = resolve(WEB, process.env.LIVESUPPORT_BIN ?? '../target/debug/livesupport');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_EMAIL = 'e2e-admin@example.com';
const ADMIN_PASSWORD = 'e2e-Admin-password-123';
const TIMEOUT = 15_000;
// A registrable domain of our own, resolved to this machine: the service and a
// storefront on sibling hosts of it are same-site, as in production.
const SITE = 'example.test';

const results = [];
const servers = [];
let browser = null;
const tmps = [];

// ---------- helpers ----------

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, check, timeout = TIMEOUT) {
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

async function visible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    throw new Error(`not visible: ${what}`);
  }
}

async function count(locator, n, what) {
  await until(`${what} ×${n}`, async () => (await locator.count()) === n);
}

/** Opens the widget panel unless it is open already; returns the launcher. */
async function openWidget(page) {
  const launcher = page.getByRole('button', { name: /support chat/ });
  await visible(launcher, 'launcher');
  if ((await launcher.getAttribute('aria-expanded')) !== 'true') await launcher.click();
  await until('panel open', async () => (await launcher.getAttribute('aria-expanded')) === 'true');
  return launcher;
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = join(RESULTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

async function step(name, fn) {
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

const pages = [];
const problems = [];
function watch(page, label) {
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

/** Starts a node with a fresh SQLite database; `host` names it in PUBLIC_URL. */
async function startServer(host = 'localhost') {
  if (!existsSync(BIN)) throw new Error(`server binary not found at ${BIN} (build it, or set LIVESUPPORT_BIN)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'livesupport-e2e-'));
  tmps.push(dir);
  const base = `http://${host}:${port}`;
  const log = createWriteStream(join(RESULTS, `server-${host}.log`));
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
      if (exited) throw new Error(`server ${exited}; see test-results/server-${host}.log`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return res?.status === 200;
    },
    60_000,
  );
  return { base, port };
}

function stopServers() {
  for (const server of servers) if (server.exitCode === null) server.kill('SIGTERM');
}

/**
 * The attacker's storefront page on `shop.example.test`: on load it posts JSON
 * through an `enctype="text/plain"` form and through credentialed no-cors fetches
 * (a new admin, a logout), and frames the dashboard directly and via the asset
 * route; `window.__done` once all of it has settled.
 */
async function serveAttackPage(target) {
  const admin = (n) => JSON.stringify({ email: `mallory${n}@example.com`, name: 'Mallory', password: 'mallory-password-1', role: 'admin' });
  // text/plain form encoding sends `name=value`: the name ends in `"x":"`, the value closes it.
  const formBody = admin(1).slice(0, -1) + ',"x":"';
  const page = `<!doctype html><meta charset="utf-8"><title>Shop</title>
<form id="f" method="POST" enctype="text/plain" action="${target}/api/support/agents" target="sink">
  <input type="hidden" name='${formBody.replace(/'/g, '&#39;')}' value='"}'>
</form>
<iframe name="sink"></iframe>
<iframe name="dashboard" src="${target}/support/dashboard"></iframe>
<iframe name="asset" src="${target}/assets/..%2fdashboard.html"></iframe>
<script>
  document.getElementById('f').submit();
  const post = (path, body, type) => fetch('${target}' + path, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: type ? { 'Content-Type': type } : {}, body });
  Promise.allSettled([
    post('/api/support/agents', ${JSON.stringify(admin(2))}, 'text/plain'),
    fetch('${target}/api/support/agents', { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(admin(3))} }),
    post('/api/support/auth/logout'),
    ...[...document.querySelectorAll('iframe')].map((f) => new Promise((ok) => { f.onload = ok; setTimeout(ok, 5000); })),
  ]).then(() => setTimeout(() => (window.__done = true), 500));
</script>`;
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://shop.${SITE}:${server.address().port}`;
  return { base, close: () => new Promise((ok) => server.close(ok)) };
}

// ---------- the flows ----------

async function main() {
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  const { base } = await startServer();
  console.log(`server up at ${base}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--host-resolver-rules=MAP *.${SITE} 127.0.0.1`],
  });

  const visitorCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const agentCtx = await browser.newContext({ viewport: { width: 1366, height: 850 } });
  const visitor = await visitorCtx.newPage();
  const agent = await agentCtx.newPage();
  watch(visitor, 'visitor');
  watch(agent, 'agent');
  const chat = visitor.frameLocator('iframe[title="Support chat"]');
  const subject = `Order #${Date.now() % 100000} not arrived`;
  const firstMessage = 'Hello, my parcel is late.';
  const reply = 'Sorry about that! It ships today.';
  const payload = '<img src=x onerror="window.__xss=1"><b>bold?</b> & <script>alert(1)</script>';

  await step('visitor starts a chat from the demo page and sends a message', async () => {
    await visitor.goto(`${base}/support`);
    const launcher = visitor.getByRole('button', { name: 'Open support chat' });
    await visible(launcher, 'launcher');
    await launcher.click();
    await visible(chat.getByRole('button', { name: 'Start chat' }), 'pre-chat form');
    // inline validation, as the server would answer
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByText('Please enter your name.'), 'name error');
    await chat.getByLabel('Name').fill('Jane Visitor');
    await chat.getByLabel('Email').fill('jane@example.com');
    await chat.getByLabel('Subject').fill(subject);
    await chat.getByLabel('Message').fill(firstMessage);
    await screenshot(visitor, 'visitor-pre-chat-form');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    const log = chat.getByRole('log', { name: 'Messages' });
    await visible(log.getByText(firstMessage), 'first message in the log');
    const box = chat.getByRole('textbox', { name: 'Message' });
    await box.fill('Do you ship to Norway?');
    await box.press('Enter');
    await visible(log.getByText('Do you ship to Norway?'), 'second message');
    await count(log.getByText('Sending…'), 0, 'acknowledged messages');
    await screenshot(visitor, 'visitor-chat-started');
  });

  await step('agent signs in and sees the ticket in the queue', async () => {
    await agent.goto(`${base}/support/dashboard`);
    await agent.getByLabel('Email').fill(ADMIN_EMAIL);
    await agent.getByLabel('Password').fill(ADMIN_PASSWORD);
    await agent.getByRole('button', { name: 'Sign in' }).click();
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    await visible(queue.getByRole('button', { name: new RegExp(escape(subject)) }), 'ticket in queue');
    await visible(agent.getByRole('status').filter({ hasText: 'Live' }), 'live feed');
    await screenshot(agent, 'agent-queue');
  });

  // A second visitor on a phone: their new ticket must appear in the queue live.
  const phoneCtx = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone = await phoneCtx.newPage();
  watch(phone, 'phone');
  const phoneChat = phone.frameLocator('iframe[title="Support chat"]');
  const phoneSubject = 'Question from my phone';

  await step('a new ticket appears in the queue live (agent feed, no reload)', async () => {
    await phone.goto(`${base}/support`);
    await phone.getByRole('button', { name: 'Open support chat' }).click();
    await phoneChat.getByLabel('Name').fill('Pat Phone');
    await phoneChat.getByLabel('Subject').fill(phoneSubject);
    await phoneChat.getByRole('button', { name: 'Start chat' }).click();
    await visible(phoneChat.getByRole('textbox', { name: 'Message' }), 'phone composer');
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    await visible(queue.getByRole('button', { name: new RegExp(phoneSubject) }), 'live ticket in queue');
    await screenshot(agent, 'agent-queue-live-update');
  });

  await step('the phone layout fits 375 px', async () => {
    const frame = phone.locator('iframe[title="Support chat"]');
    const box = await frame.boundingBox();
    assert(box && box.x >= 0 && box.width <= 375 && box.width >= 360, `iframe box ${JSON.stringify(box)}`);
    const pageWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert(pageWidth <= 375, `host page scrolls sideways: ${pageWidth}`);
    const inner = await (await frame.elementHandle()).contentFrame();
    const innerWidth = await inner.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert(innerWidth[0] <= innerWidth[1] && innerWidth[1] <= 375, `chat scrolls sideways: ${innerWidth}`);
    const send = phoneChat.getByRole('button', { name: 'Send' });
    const sendBox = await send.boundingBox();
    assert(sendBox && sendBox.x + sendBox.width <= 375, `Send button off screen: ${JSON.stringify(sendBox)}`);
    await phoneChat.getByRole('textbox', { name: 'Message' }).fill('Typing on a small screen');
    await phoneChat.getByRole('textbox', { name: 'Message' }).press('Enter');
    await visible(phoneChat.getByRole('log', { name: 'Messages' }).getByText('Typing on a small screen'), 'phone message');
    await screenshot(phone, 'phone-375px');
  });

  await step('agent opens the chat and replies while the visitor sees "typing"', async () => {
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    await queue.getByRole('button', { name: new RegExp(escape(subject)) }).click();
    const panel = agent.getByRole('tabpanel');
    await visible(panel.getByRole('log').getByText(firstMessage), 'history in dashboard');
    await visible(panel.getByRole('log').getByText('Do you ship to Norway?'), 'second message in dashboard');
    const replyBox = panel.getByRole('textbox', { name: 'Reply' });
    await replyBox.pressSequentially('Sorry about that!', { delay: 30 });
    await visible(chat.getByText(/is typing…/), 'typing indicator in the widget');
    await screenshot(visitor, 'visitor-sees-typing');
    await replyBox.fill(reply);
    await panel.getByRole('button', { name: 'Send' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText(reply), 'reply in the widget');
    await count(chat.getByText(/is typing…/), 0, 'typing indicator gone');
    await screenshot(visitor, 'visitor-receives-reply');
    await screenshot(agent, 'agent-chat');
  });

  await step('the visitor typing shows in the dashboard', async () => {
    await chat.getByRole('textbox', { name: 'Message' }).pressSequentially('Thanks', { delay: 30 });
    await visible(agent.getByRole('tabpanel').getByText(/Jane Visitor is typing…/), 'visitor typing in dashboard');
    await chat.getByRole('textbox', { name: 'Message' }).press('Enter');
    await visible(agent.getByRole('tabpanel').getByRole('log').getByText('Thanks'), 'Thanks in dashboard');
  });

  await step('an HTML payload is shown literally on both sides', async () => {
    const box = chat.getByRole('textbox', { name: 'Message' });
    await box.fill(payload);
    await box.press('Enter');
    const agentLog = agent.getByRole('tabpanel').getByRole('log');
    await visible(agentLog.getByText(payload, { exact: true }), 'literal payload in dashboard');
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText(payload, { exact: true }), 'literal payload in widget');
    assert((await agentLog.locator('b, img, script').count()) === 0, 'payload became markup in the dashboard');
    assert((await chat.getByRole('log', { name: 'Messages' }).locator('b, img, script').count()) === 0, 'payload became markup in the widget');
    await sleep(300);
    const inner = await (await visitor.locator('iframe[title="Support chat"]').elementHandle()).contentFrame();
    assert((await agent.evaluate(() => window.__xss)) === undefined, 'script ran in the dashboard');
    assert((await inner.evaluate(() => window.__xss)) === undefined, 'script ran in the chat app');
    await screenshot(agent, 'agent-html-payload-literal');
  });

  await step('the unread badge counts agent messages while the chat is minimised', async () => {
    await chat.getByRole('button', { name: 'Minimise chat' }).click();
    await visible(visitor.getByRole('button', { name: 'Open support chat' }), 'launcher after minimise');
    const panel = agent.getByRole('tabpanel');
    for (const text of ['Are you still there?', 'I have a tracking number for you.']) {
      await panel.getByRole('textbox', { name: 'Reply' }).fill(text);
      await panel.getByRole('button', { name: 'Send' }).click();
      await visible(panel.getByRole('log').getByText(text), `${text} sent`);
    }
    await visible(visitor.getByRole('button', { name: 'Open support chat, 2 unread' }), 'badge with 2 unread');
    await screenshot(visitor, 'visitor-unread-badge');
    await visitor.getByRole('button', { name: 'Open support chat, 2 unread' }).click();
    await visible(chat.getByText('I have a tracking number for you.'), 'unread messages shown');
    await visible(visitor.getByRole('button', { name: 'Close support chat' }), 'launcher while open');
    await visitor.getByRole('button', { name: 'Close support chat' }).click();
    await visible(visitor.getByRole('button', { name: 'Open support chat', exact: true }), 'badge cleared after reading');
  });

  await step('history survives a reload and a new tab, without duplicates', async () => {
    await visitor.reload();
    await visitor.getByRole('button', { name: /^Open support chat/ }).click();
    const log = chat.getByRole('log', { name: 'Messages' });
    for (const text of [firstMessage, 'Do you ship to Norway?', reply, 'Are you still there?', 'I have a tracking number for you.']) {
      await visible(log.getByText(text, { exact: true }), `"${text}" after reload`);
      await count(log.getByText(text, { exact: true }), 1, `"${text}" once`);
    }
    assert((await chat.getByRole('button', { name: 'Start chat' }).count()) === 0, 'pre-chat form shown again after reload');
    // live traffic still flows to the reloaded page
    const panel = agent.getByRole('tabpanel');
    await panel.getByRole('textbox', { name: 'Reply' }).fill('Welcome back');
    await panel.getByRole('button', { name: 'Send' }).click();
    await visible(log.getByText('Welcome back'), 'live message after reload');
    await count(log.getByText('Welcome back', { exact: true }), 1, 'live message once');
    await screenshot(visitor, 'visitor-history-after-reload');

    const tab = await visitorCtx.newPage();
    watch(tab, 'visitor-tab2');
    await tab.goto(`${base}/support`);
    await tab.getByRole('button', { name: /^Open support chat/ }).click();
    const tabLog = tab.frameLocator('iframe[title="Support chat"]').getByRole('log', { name: 'Messages' });
    await visible(tabLog.getByText('Welcome back'), 'same ticket in a new tab');
    await count(tabLog.getByText(firstMessage, { exact: true }), 1, 'first message once in new tab');
    await screenshot(tab, 'visitor-second-tab');
    await tab.close();
  });

  await step('agent changes priority and status; the queue badges follow', async () => {
    const panel = agent.getByRole('tabpanel');
    await panel.getByRole('combobox', { name: 'Priority' }).selectOption('urgent');
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    const item = queue.getByRole('button', { name: new RegExp(escape(subject)) });
    await until('urgent badge', async () => /Urgent/.test(await item.textContent()));
    await panel.getByRole('combobox', { name: 'Status' }).selectOption('resolved');
    await until('resolved status', async () => (await panel.getByRole('combobox', { name: 'Status' }).inputValue()) === 'resolved');
    await screenshot(agent, 'agent-priority-status');
  });

  await step('several chats stay open; switching keeps the draft', async () => {
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    const first = agent.getByRole('tabpanel');
    await first.getByRole('textbox', { name: 'Reply' }).fill('draft that must survive');
    await agent.getByRole('combobox', { name: 'Status filter' }).selectOption('all');
    await queue.getByRole('button', { name: new RegExp(phoneSubject) }).click();
    await visible(agent.getByRole('tab', { name: new RegExp(phoneSubject), selected: true }), 'second chat tab');
    await visible(agent.getByRole('tabpanel').getByText('Typing on a small screen'), 'second chat history');
    await agent.getByRole('tab', { name: new RegExp(escape(subject)) }).click();
    const value = await agent.getByRole('tabpanel').getByRole('textbox', { name: 'Reply' }).inputValue();
    assert(value === 'draft that must survive', `draft lost: "${value}"`);
    await screenshot(agent, 'agent-two-chats');
  });

  await step('visitor ends the chat; the agent sees it closed', async () => {
    await openWidget(visitor);
    await chat.getByRole('button', { name: 'End chat' }).click();
    await chat.getByRole('button', { name: 'Yes, end chat' }).click();
    await visible(chat.getByText(/This chat has ended/), 'ended state');
    await visible(chat.getByRole('button', { name: 'Start a new chat' }), 'new chat button');
    await visible(agent.getByRole('tabpanel').getByText('This ticket is closed.'), 'closed in dashboard');
    await screenshot(visitor, 'visitor-chat-ended');
  });

  await step('a page on a sibling host can neither forge an agent\'s requests nor frame the dashboard', async () => {
    // The service on support.example.test, the attacker's page on shop.example.test:
    // same site, so the SameSite=Strict login cookie goes along with its requests.
    const { base: support, port } = await startServer(`support.${SITE}`);
    const shop = await serveAttackPage(support);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const admin = await ctx.newPage();
    watch(admin, 'sibling-admin');
    await admin.goto(`${support}/support/dashboard`);
    await admin.getByLabel('Email').fill(ADMIN_EMAIL);
    await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await visible(admin.getByRole('region', { name: 'Ticket queue' }), 'signed in');

    const attack = await ctx.newPage();
    await attack.goto(`${shop.base}/attack.html`);
    await until('the attack page has fired', async () => (await attack.evaluate(() => window.__done)) === true);
    await screenshot(attack, 'sibling-attack-page');

    const api = `http://127.0.0.1:${port}`;
    const login = await fetch(`${api}/api/support/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    const { token } = await login.json();
    const list = await fetch(`${api}/api/support/agents`, { headers: { Authorization: `Bearer ${token}` } });
    const { agents } = await list.json();
    const forged = agents.filter((a) => a.email.startsWith('mallory'));
    assert(forged.length === 0, `the sibling page created agents: ${forged.map((a) => a.email).join(', ')}`);
    // …and not because the requests never arrived: the form post, the no-cors post
    // and the logout came with the cookie and were refused as cross-site.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    const refused = Number(/^livesupport_csrf_refused_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert(refused >= 3, `expected the 3 cookie-carrying requests refused as cross-site, counted ${refused}`);

    // The framed dashboard shows nothing: frame-ancestors 'none' blocks it, and the
    // asset route does not serve it at all.
    for (const name of ['dashboard', 'asset']) {
      const frame = attack.frames().find((f) => f.name() === name);
      assert(frame, `no ${name} frame`);
      const framed = await frame.evaluate(() => document.querySelector('#root, form, main') !== null).catch(() => false);
      assert(!framed, `the ${name} frame rendered the dashboard (${frame.url()})`);
    }
    // The forged logout did not end the session either.
    await admin.reload();
    await visible(admin.getByRole('region', { name: 'Ticket queue' }), 'still signed in after the attack');
    await ctx.close();
    await shop.close();
  });

  await step('no CSP violation or uncaught error on any page', async () => {
    assert(problems.length === 0, problems.join('\n'));
  });
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let fatal = null;
try {
  await main();
} catch (err) {
  fatal = err;
  console.log(`not ok - e2e setup: ${err?.message ?? err}`);
  results.push({ name: 'setup', ok: false });
} finally {
  await browser?.close().catch(() => {});
  stopServers();
  if (!process.env.E2E_KEEP) for (const dir of tmps) rmSync(dir, { recursive: true, force: true });
}
if (fatal && existsSync(join(RESULTS, 'server-localhost.log'))) {
  const log = readFileSync(join(RESULTS, 'server-localhost.log'), 'utf8').split('\n').slice(-20).join('\n');
  if (log.trim()) console.log(`--- last server log lines ---\n${log}`);
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
