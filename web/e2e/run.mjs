#!/usr/bin/env node
// End-to-end suite: runs every flow file of e2e/flows/ in name order, each
// against real livesupport servers it starts (fresh SQLite databases, free ports),
// driving Debian's Chromium through playwright-core, and writes a screenshot of
// every step to web/test-results/. A flow file exports a default
// `async ({ browser }) => …` that registers its steps with `step()` from
// harness.mjs; it starts its own server, so flows never share data.
//
//   LIVESUPPORT_BIN  server binary (default ../target/debug/livesupport, relative to web/)
//   CHROMIUM         browser (default /usr/bin/chromium)
//   E2E_ONLY         run only the flow files whose name contains this text
//   E2E_KEEP=1       keep the temp dirs (databases, server logs) after the run
//
// Prints `e2e: N passed, M failed` last and exits non-zero on any failure.

import { mkdirSync, rmSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULTS, results, problems, logs, tmps, step, assert, launchBrowser, stopServers } from './harness.mjs';

const FLOWS = join(import.meta.dirname, 'flows');

async function main() {
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  browser = await launchBrowser();
  const only = process.env.E2E_ONLY ?? '';
  const files = readdirSync(FLOWS).filter((f) => f.endsWith('.mjs') && f.includes(only)).sort();
  for (const file of files) {
    console.log(`# ${file}`);
    const flows = await import(pathToFileURL(join(FLOWS, file)).href);
    await flows.default({ browser });
  }
  await step('no CSP violation or uncaught error on any page', async () => {
    assert(problems.length === 0, problems.join('\n'));
  });
}

let browser = null;
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
if (fatal && logs.length > 0 && existsSync(logs[0])) {
  const log = readFileSync(logs[0], 'utf8').split('\n').slice(-20).join('\n');
  if (log.trim()) console.log(`--- last server log lines ---\n${log}`);
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
