// Cross-site attacks from a page on a sibling host of the service's site:
// request forgery with the agent's cookie, and framing the dashboard.

import { createServer as createHttpServer } from 'node:http';
import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD, SITE } from '../harness.mjs';

export default async function crossSiteFlows({ browser }) {
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
