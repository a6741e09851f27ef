// Weight and theme (issue 14, points 10 and 12): a storefront page with the widget
// loads the loader only until the visitor shows intent; a conversation to follow
// loads the chat app after the host page's load event; the chat app and the
// dashboard follow a dark colour scheme (prefers-color-scheme), text at WCAG AA contrast.

import { createServer } from 'node:http';
import WebSocket from 'ws';
import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD, SITE, contrastReport } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** A storefront on shop.example.test whose pages embed the widget of `support()`. */
async function serveShop(support) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop ${req.url}</title><script src="${support()}/widget.js" async></script></head>
<body><h1>Shop page ${req.url}</h1><p>${'Things to buy. '.repeat(40)}</p><a href="/next">Next page</a></body></html>`);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { base: `http://shop.${SITE}:${server.address().port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** Requests of `page` to the service that belong to the chat app (the iframe's page and the bundles). */
function chatRequests(page, support) {
  const seen = [];
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith(`${support}/support/chat`) || url.startsWith(`${support}/assets/`)) seen.push(url);
  });
  return seen;
}

/** The iframe's resource entry and the navigation's load event, in the page's clock. */
const frameTiming = (page) =>
  page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const frame = performance.getEntriesByType('resource').find((e) => e.name.includes('/support/chat'));
    return { loadEventStart: nav.loadEventStart, frameStart: frame ? frame.startTime : null };
  });

async function agentSays(support, subject, text) {
  const login = await fetch(`${support}/api/support/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  const { token } = await login.json();
  const list = await (await fetch(`${support}/api/support/tickets`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const ticket = list.tickets.find((t) => t.subject === subject);
  assert(ticket, `no ticket "${subject}"`);
  const ws = new WebSocket(`${support.replace('http', 'ws')}/ws/support/supporter/${ticket.session_id}`, { headers: { Authorization: `Bearer ${token}` } });
  await new Promise((ok, fail) => {
    ws.once('error', fail);
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw));
      if (frame.type === 'ready') ws.send(JSON.stringify({ type: 'message', message: text }));
      if (frame.type === 'message' && frame.message.message === text) ok();
    });
  });
  ws.close();
}

function assertDarkAndReadable(report, what) {
  assert(report.bodyLuminance < 0.05, `${what}: the background is not dark (luminance ${report.bodyLuminance.toFixed(3)})`);
  assert(report.checked >= 5, `${what}: only ${report.checked} texts checked`);
  assert(report.failures.length === 0, `${what}: text under AA contrast: ${report.failures.join('; ')}`);
}

export default async function weightThemeFlows({ browser }) {
  let support = '';
  const shop = await serveShop(() => support);
  process.env.ALLOWED_ORIGINS = shop.base;
  const server = await startServer(`support.${SITE}`);
  support = server.base;
  // Node reaches the service by address (the browser maps the test site's names).
  const api = `http://127.0.0.1:${server.port}`;
  delete process.env.ALLOWED_ORIGINS;
  const subject = 'Lazy widget question';

  const ctx = await browser.newContext(DESKTOP);
  const page = await ctx.newPage();
  watch(page, 'weight-desktop');
  const chat = page.frameLocator('iframe[title="Support chat"]');
  const requests = chatRequests(page, support);

  await step('weight: a storefront page loads no chat app until intent; hover starts it, the click opens a working chat (desktop)', async () => {
    await page.goto(`${shop.base}/`, { waitUntil: 'load' });
    const launcher = page.getByRole('button', { name: 'Open support chat' });
    await visible(launcher, 'launcher');
    await page.waitForTimeout(1500);
    assert(requests.length === 0, `chat app loaded without intent: ${requests.join(', ')}`);
    assert((await page.locator('iframe').count()) === 0, 'an iframe without intent');
    await screenshot(page, 'weight-launcher-only');
    await launcher.hover();
    await until('hover starts loading the chat app', async () => requests.some((u) => u.includes('/support/chat')));
    assert((await launcher.getAttribute('aria-expanded')) === 'false', 'hover opened the panel');
    await launcher.click();
    await chat.getByLabel('Name').fill('Lena Lazy');
    assert((await page.locator('[aria-busy="true"]').count()) === 0, 'the panel still shows its loading spinner over the running app');
    await chat.getByLabel('Subject').fill(subject);
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }), 'conversation');
    const box = chat.getByRole('textbox', { name: 'Message' });
    await box.fill('Is the widget light now?');
    await box.press('Enter');
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText('Is the widget light now?'), 'message in the log');
    await screenshot(page, 'weight-chat-open-after-intent');
  });

  await step('weight: with a conversation, the next page view loads the app after the load event and shows a reply as unread', async () => {
    await chat.getByRole('button', { name: 'Minimise chat' }).click();
    requests.length = 0;
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForLoadState('load');
    await until('the chat app loads by itself', async () => requests.some((u) => u.includes('/support/chat')));
    const timing = await frameTiming(page);
    assert(timing.frameStart !== null && timing.frameStart >= timing.loadEventStart, `the iframe started at ${timing.frameStart} ms, before the load event at ${timing.loadEventStart} ms`);
    await agentSays(api, subject, 'Yes, it waits for you now.');
    await visible(page.getByRole('button', { name: 'Open support chat, 1 unread' }), 'unread badge on the next page');
    await screenshot(page, 'weight-unread-on-next-page');
  });

  await step('weight: on a phone, no chat app until the tap; the tap opens the chat (390×844, touch)', async () => {
    const phoneCtx = await browser.newContext(PHONE);
    const phone = await phoneCtx.newPage();
    watch(phone, 'weight-phone');
    const seen = chatRequests(phone, support);
    await phone.goto(`${shop.base}/`, { waitUntil: 'load' });
    const launcher = phone.getByRole('button', { name: 'Open support chat' });
    await visible(launcher, 'launcher');
    await phone.waitForTimeout(1500);
    assert(seen.length === 0, `chat app loaded without intent: ${seen.join(', ')}`);
    await launcher.tap();
    await visible(phone.frameLocator('iframe[title="Support chat"]').getByRole('button', { name: 'Start chat' }), 'pre-chat form after the tap');
    await screenshot(phone, 'weight-phone-open-after-tap');
    await phoneCtx.close();
  });

  await step('theme: the chat app and the dashboard follow a dark colour scheme, text at AA contrast (desktop)', async () => {
    const dark = await browser.newContext({ ...DESKTOP, colorScheme: 'dark' });
    const visitor = await dark.newPage();
    watch(visitor, 'dark-chat');
    await visitor.goto(`${support}/support/chat`);
    await visitor.getByLabel('Name').fill('Dana Dark');
    await visitor.getByLabel('Subject').fill('Dark theme question');
    assertDarkAndReadable(await contrastReport(visitor), 'pre-chat form');
    await screenshot(visitor, 'theme-dark-prechat');
    await visitor.getByRole('button', { name: 'Start chat' }).click();
    // The pre-chat form has a "Message" box too: wait for the conversation.
    await visible(visitor.getByRole('log', { name: 'Messages' }), 'conversation');
    const box = visitor.getByRole('textbox', { name: 'Message' });
    await box.fill('Is it dark in here?');
    await box.press('Enter');
    await visible(visitor.getByRole('log', { name: 'Messages' }).getByText('Is it dark in here?'), 'message');
    await agentSays(api, 'Dark theme question', 'Lights are off, text is readable.');
    await visible(visitor.getByText('Lights are off, text is readable.'), 'agent reply');
    assertDarkAndReadable(await contrastReport(visitor), 'chat');
    await screenshot(visitor, 'theme-dark-chat');

    const agent = await dark.newPage();
    watch(agent, 'dark-dashboard');
    await agent.goto(`${support}/support/dashboard`);
    await visible(agent.getByLabel('Email'), 'login form');
    await agent.getByLabel('Email').fill(ADMIN_EMAIL);
    assertDarkAndReadable(await contrastReport(agent), 'login');
    await screenshot(agent, 'theme-dark-login');
    await agent.getByLabel('Password').fill(ADMIN_PASSWORD);
    await agent.getByRole('button', { name: 'Sign in' }).click();
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    await queue.getByRole('button', { name: /Dark theme question/ }).click();
    await visible(agent.getByRole('tabpanel').getByText('Lights are off, text is readable.'), 'conversation in the dashboard');
    assertDarkAndReadable(await contrastReport(agent), 'dashboard');
    await screenshot(agent, 'theme-dark-dashboard');
    await dark.close();
  });

  await step('theme: the chat app is dark on a phone too (390×844)', async () => {
    const dark = await browser.newContext({ ...PHONE, colorScheme: 'dark' });
    const phone = await dark.newPage();
    watch(phone, 'dark-phone');
    await phone.goto(`${support}/support/chat`);
    await phone.getByLabel('Name').fill('Dana Dark');
    assertDarkAndReadable(await contrastReport(phone), 'phone pre-chat form');
    await screenshot(phone, 'theme-dark-phone');
    await dark.close();
  });

  await ctx.close();
  await shop.close();
}
