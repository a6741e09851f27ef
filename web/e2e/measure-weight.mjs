#!/usr/bin/env node
// What the widget costs a storefront (issue 14, point 10), on a throttled profile:
// bytes and time to the launcher, to an open chat (the pre-chat form shown), and the
// host page's load event with and without the widget; medians of several runs, each
// in a fresh browser context (cold cache), plus one warm repeat view per run.
// Not part of `npm run e2e` (it takes a minute); rerun it with
//
//   npm run build && node e2e/measure-weight.mjs [--runs 7] [--json out.json]
//
// LIVESUPPORT_BIN and CHROMIUM as for the e2e suite. The service runs on
// support.example.test and the storefront on shop.example.test (same site, so the
// chat iframe shares the page's renderer and the page's network throttling covers
// it). The profile, "Slow 4G": 150 ms added round trip, 1.6 Mbps down, 750 kbps up,
// applied with CDP Network.emulateNetworkConditions to every request of the page.

import { createServer } from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { RESULTS, SITE, startServer, stopServers, launchBrowser, tmps } from './harness.mjs';

const PROFILE = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 5;
/** How long the pointer rests on the launcher before the click, in the hover measure. */
const HOVER_MS = 500;
const JSON_OUT = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;

/** A small storefront page: some markup and one stylesheet, with or without the widget. */
function storefront(support, withWidget) {
  const products = Array.from({ length: 12 }, (_, i) => `<article><h2>Product ${i + 1}</h2><p>${'A fine thing to own. '.repeat(8)}</p><p>$${20 + i}</p><button type="button">Add to cart</button></article>`).join('\n');
  const widget = withWidget ? `<script src="${support}/widget.js" async data-color="#2563eb"></script>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title><link rel="stylesheet" href="/shop.css">${widget}</head>
<body><header><h1>Shop</h1></header><main>${products}</main></body></html>`;
}
const CSS = `body{font:16px system-ui,sans-serif;margin:0}main{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px;padding:16px}${'article{border:1px solid #ddd;padding:12px}'.repeat(20)}`;

/** The storefront; `support()` names the service's origin once it runs. */
async function serveShop(support) {
  const server = createServer((req, res) => {
    if (req.url === '/shop.css') {
      res.writeHead(200, { 'Content-Type': 'text/css', 'Cache-Control': 'no-cache' });
      return res.end(CSS);
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.end(storefront(support(), req.url === '/with'));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { base: `http://shop.${SITE}:${server.address().port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** Counts the bytes on the wire (headers included) of every response the page's session sees. */
async function throttledPage(ctx) {
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', PROFILE);
  const meter = { bytes: 0, urls: [] };
  const urls = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    meter.bytes += e.encodedDataLength;
    meter.urls.push(urls.get(e.requestId) ?? '?');
  });
  // The moment the loader has drawn its launcher, in the page's clock.
  await page.addInitScript(() => {
    const seen = () => {
      if (document.getElementById('livesupport-widget') && !window.__launcherAt) window.__launcherAt = performance.now();
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true });
  });
  return { page, meter };
}

const loadEventAt = (page) => page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventStart);
/** Waits until no response finished for `quiet` ms: the page view has settled. */
async function settle(meter, quiet = 1500, max = 15_000) {
  const start = Date.now();
  let last = meter.urls.length;
  let since = Date.now();
  while (Date.now() - start < max) {
    await new Promise((r) => setTimeout(r, 100));
    if (meter.urls.length !== last) {
      last = meter.urls.length;
      since = Date.now();
    } else if (Date.now() - since >= quiet) return;
  }
}

async function oneRun(browser, shop) {
  const row = {};
  // Without the widget.
  {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const { page, meter } = await throttledPage(ctx);
    await page.goto(`${shop.base}/without`, { waitUntil: 'load' });
    row.loadWithout = await loadEventAt(page);
    await settle(meter);
    row.bytesWithout = meter.bytes;
    await ctx.close();
  }
  // With the widget: page view, then a click on the launcher.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page, meter } = await throttledPage(ctx);
  await page.goto(`${shop.base}/with`, { waitUntil: 'load' });
  row.loadWith = await loadEventAt(page);
  row.bytesAtLoad = meter.bytes;
  const launcher = page.getByRole('button', { name: /support chat/ });
  await launcher.waitFor({ state: 'visible' });
  row.launcherAt = await page.evaluate(() => window.__launcherAt ?? null);
  await settle(meter);
  row.bytesPageView = meter.bytes;
  row.filesPageView = meter.urls.length;
  const clicked = Date.now();
  await launcher.click();
  await page.frameLocator('iframe[title="Support chat"]').getByRole('button', { name: 'Start chat' }).waitFor({ state: 'visible', timeout: 30_000 });
  row.openChatMs = Date.now() - clicked;
  await settle(meter, 1000);
  row.bytesOpenChat = meter.bytes;
  // A second page view of the same shop, warm cache, no interaction.
  const before = meter.bytes;
  await page.goto(`${shop.base}/with`, { waitUntil: 'load' });
  row.loadRepeat = await loadEventAt(page);
  await settle(meter);
  row.bytesRepeat = meter.bytes - before;
  await ctx.close();
  // A visitor who rests the pointer on the launcher for HOVER_MS before the click
  // (the loader starts the app on hover), cold cache again.
  {
    const hoverCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const { page: p } = await throttledPage(hoverCtx);
    await p.goto(`${shop.base}/with`, { waitUntil: 'load' });
    const l = p.getByRole('button', { name: /support chat/ });
    await l.hover();
    await p.waitForTimeout(HOVER_MS);
    const t = Date.now();
    await l.click();
    await p.frameLocator('iframe[title="Support chat"]').getByRole('button', { name: 'Start chat' }).waitFor({ state: 'visible', timeout: 30_000 });
    row.openChatAfterHoverMs = Date.now() - t;
    await hoverCtx.close();
  }
  return row;
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  let support = '';
  const shop = await serveShop(() => support);
  // The storefront may frame the chat app.
  process.env.ALLOWED_ORIGINS = shop.base;
  ({ base: support } = await startServer(`support.${SITE}`));
  const browser = await launchBrowser();
  const rows = [];
  try {
    await oneRun(browser, shop); // warm-up: the server's first reads of web/dist
    for (let i = 0; i < RUNS; i += 1) {
      const row = await oneRun(browser, shop);
      rows.push(row);
      console.log(`run ${i + 1}: ${JSON.stringify(row)}`);
    }
  } finally {
    await browser.close();
    await shop.close();
    stopServers();
    for (const dir of tmps) rmSync(dir, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, median(rows.map((r) => r[k]))]));
  const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
  const ms = (t) => `${Math.round(t)} ms`;
  console.log(`\nmedians of ${RUNS} runs, Slow 4G (150 ms RTT, 1.6 Mbps down), cold cache:`);
  console.log(`| measure | value |\n| --- | --- |`);
  console.log(`| host page load event, without the widget | ${ms(m.loadWithout)} (${kb(m.bytesWithout)}) |`);
  console.log(`| host page load event, with the widget | ${ms(m.loadWith)} (${kb(m.bytesAtLoad)} by then) |`);
  console.log(`| launcher drawn | ${ms(m.launcherAt)} |`);
  console.log(`| bytes of a page view without intent (settled) | ${kb(m.bytesPageView)}, ${m.filesPageView} responses; the widget's share ${kb(m.bytesPageView - m.bytesWithout)} |`);
  console.log(`| click on the launcher to the pre-chat form | ${ms(m.openChatMs)} |`);
  console.log(`| pointer on the launcher for ${HOVER_MS} ms, then the click, to the pre-chat form | ${ms(m.openChatAfterHoverMs)} |`);
  console.log(`| bytes with the chat open | ${kb(m.bytesOpenChat)}; the widget's share ${kb(m.bytesOpenChat - m.bytesWithout)} |`);
  console.log(`| repeat page view (warm cache): load event, bytes | ${ms(m.loadRepeat)}, ${kb(m.bytesRepeat)} |`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ runs: rows, medians: m }, null, 2));
}

await main();
