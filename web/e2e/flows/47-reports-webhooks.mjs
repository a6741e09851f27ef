// Issue 19, reports and webhooks, as the admin. A ticket is created through the API;
// the Reports page (top bar, every agent) counts it among the tickets created in the
// last 7 days, and "Download CSV" saves the tickets with the header row API.md names.
// In Settings → Webhooks the admin adds a webhook to a receiver this flow runs on
// 127.0.0.1 (the node runs with WEBHOOK_ALLOW_PRIVATE=true, see harness.mjs): the
// signing secret is shown once, the webhook is listed, a new ticket reaches the
// receiver signed with that secret and shows in the webhook's deliveries as
// delivered; then the admin deletes the webhook after the confirmation.
// Starts its own server.

import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 900 } };
const FIRST_SUBJECT = 'Counted in the report';
const HOOKED_SUBJECT = 'Sent to the webhook';
const CSV_HEADER =
  'id,created_at,status,priority,subject,visitor_name,visitor_email,agent_id,agent_name,labels,first_response_seconds,queue_wait_seconds,resolution_seconds,rating';
const SECRET_NOTICE = 'This secret is shown only once. Copy it now and keep it with the receiver: it signs every delivery (X-Livesupport-Signature).';

/** A webhook receiver on 127.0.0.1 that answers 204 and keeps every request it got. */
async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const close = () =>
    new Promise((ok) => {
      server.close(ok);
      server.closeAllConnections(); // the node's client keeps its connections alive
    });
  return { received, url: `http://127.0.0.1:${server.address().port}/hook`, close };
}

function parsed(body) {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/** Whether `X-Livesupport-Signature: t=…,v1=…` is the HMAC-SHA256 of "t.body" under the secret (API.md). */
function signedWith(secret, header, body) {
  const parts = Object.fromEntries(String(header ?? '').split(',').map((p) => p.split('=', 2)));
  if (!parts.t || !parts.v1) return false;
  return createHmac('sha256', secret).update(`${parts.t}.${body}`).digest('hex') === parts.v1;
}

export default async function reportsWebhooksFlow({ browser }) {
  const { base } = await startServer();
  const receiver = await startReceiver();
  const createTicket = async (subject) => {
    const res = await fetch(`${base}/api/support/ticket`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_name: 'Rita Report', user_email: 'rita@example.com', subject, message: 'Hello, I need help.' }),
    });
    const text = await res.text();
    assert(res.status === 201, `POST /api/support/ticket: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const first = await createTicket(FIRST_SUBJECT);
  /** The new webhook's signing secret, as the page showed it once. */
  let secret = null;

  const adminCtx = await browser.newContext({ ...DESKTOP, acceptDownloads: true });
  const admin = await adminCtx.newPage();
  watch(admin, 'reports-admin');
  await admin.goto(`${base}/support/dashboard`);
  await admin.getByLabel('Email').fill(ADMIN_EMAIL);
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await visible(admin.getByRole('region', { name: 'Ticket queue' }), 'the queue');

  await step('issue 19 reports: the Reports page counts the new ticket among those created in the last 7 days', async () => {
    await admin.getByRole('button', { name: 'Reports', exact: true }).click();
    const reports = admin.getByRole('dialog', { name: 'Reports' });
    await visible(reports, 'the Reports page');
    await visible(reports.getByText(/^Tickets created from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}/), 'the report of a range');
    const pressed = await reports.getByRole('button', { name: 'Last 7 days' }).getAttribute('aria-pressed');
    assert(pressed === 'true', `"Last 7 days" is not the range shown (aria-pressed=${pressed})`);
    const created = reports.locator('dt', { hasText: /^Tickets created$/ }).locator('xpath=following-sibling::dd[1]');
    await until('the ticket counted', async () => Number(await created.textContent()) >= 1);
    const times = reports.getByRole('table', { name: 'Response times' });
    const firstResponse = await times.getByRole('row', { name: /^First response/ }).getByRole('cell').allTextContents();
    // Nobody answered yet: no first response to measure.
    assert(firstResponse[0] === '—', `the median first response reads "${firstResponse[0]}", not "—"`);
    const heatmap = reports.getByRole('table', { name: 'Tickets created by weekday and hour' });
    const busy = await heatmap.getByRole('cell').filter({ hasText: /^\d+$/ }).count();
    assert(busy >= 1, 'no hour of the heatmap has a ticket');
    await screenshot(admin, 'reports-page');
  });

  await step('issue 19 reports: "Download CSV" saves the tickets with the header row', async () => {
    const reports = admin.getByRole('dialog', { name: 'Reports' });
    const link = reports.getByRole('link', { name: 'Download CSV' });
    const href = await link.getAttribute('href');
    assert(/^\/api\/support\/reports\/tickets\.csv\?from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}&tz=/.test(href ?? ''), `the link points at ${href}`);
    const [download] = await Promise.all([admin.waitForEvent('download'), link.click()]);
    const name = download.suggestedFilename();
    assert(/^tickets-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/.test(name), `the file is named ${name}`);
    const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
    const lines = csv.split(/\r?\n/).filter((l) => l !== '');
    assert(lines[0] === CSV_HEADER, `the header row is "${lines[0]}"`);
    assert(lines.some((l) => l.startsWith(`${first.id},`) && l.includes(FIRST_SUBJECT)), `no row for ticket ${first.id} in:\n${csv.slice(0, 500)}`);
    await reports.getByRole('button', { name: 'Close' }).click();
  });

  await step('issue 19 webhooks: the admin adds a webhook and sees its secret once, and the webhook listed', async () => {
    await admin.getByRole('button', { name: 'Settings' }).click();
    const section = admin.getByRole('dialog', { name: 'Settings' }).getByRole('region', { name: 'Webhooks' });
    await visible(section, 'the Webhooks section');
    const form = section.getByRole('form', { name: 'Add a webhook' });
    await form.getByLabel('URL').fill(receiver.url);
    await form.getByRole('checkbox', { name: /^ticket\.created/ }).check();
    await form.getByRole('checkbox', { name: /^message\.created/ }).check();
    await form.getByRole('button', { name: 'Add webhook' }).click();
    const notice = section.getByRole('region', { name: `Webhook added: ${receiver.url}` });
    await visible(notice, 'the new webhook\'s notice');
    const secretField = notice.getByRole('textbox', { name: 'Signing secret' });
    await visible(secretField, 'the signing secret');
    secret = await secretField.inputValue();
    // Never print the secret itself, even in a failure.
    assert(/^whsec_[0-9a-f]{64}$/.test(secret), `the secret is not whsec_ and 64 hex digits (${secret.length} characters)`);
    await visible(notice.getByText(SECRET_NOTICE), 'the "shown only once" notice');
    const list = section.getByRole('list', { name: 'Webhooks' });
    await visible(list.getByText(receiver.url, { exact: true }), 'the webhook in the list');
    const item = list.getByRole('listitem').filter({ hasText: receiver.url });
    const text = await item.textContent();
    assert(text.includes('ticket.created') && text.includes('message.created'), `the webhook lists "${text}"`);
  });

  await step('issue 19 webhooks: a new ticket reaches the receiver, signed with that secret, and shows as delivered', async () => {
    assert(secret, 'no secret from the step before');
    const ticket = await createTicket(HOOKED_SUBJECT);
    const hook = await until('the ticket.created delivery at the receiver', async () =>
      receiver.received.find((r) => r.headers['x-livesupport-event'] === 'ticket.created' && parsed(r.body)?.data?.ticket?.id === ticket.id),
    );
    assert(hook.method === 'POST' && hook.path === '/hook', `the receiver got ${hook.method} ${hook.path}`);
    assert(signedWith(secret, hook.headers['x-livesupport-signature'], hook.body), 'the delivery is not signed with the secret shown');
    const section = admin.getByRole('dialog', { name: 'Settings' }).getByRole('region', { name: 'Webhooks' });
    await section.getByRole('button', { name: 'I have saved it' }).click();
    assert((await section.getByRole('textbox', { name: 'Signing secret' }).count()) === 0, 'the secret is still shown');
    await section.getByRole('button', { name: `Deliveries to ${receiver.url}` }).click();
    const log = section.getByRole('table', { name: `Deliveries to ${receiver.url}` });
    const row = log.getByRole('row').filter({ hasText: `#${ticket.id}` }).filter({ hasText: 'ticket.created' });
    await until('the delivery listed as delivered', async () => {
      if ((await row.count()) === 1 && (await row.textContent()).includes('Delivered')) return true;
      await section.getByRole('button', { name: `Refresh the deliveries to ${receiver.url}` }).click();
      return false;
    });
    await log.scrollIntoViewIfNeeded();
    await screenshot(admin, 'webhooks-deliveries');
  });

  await step('issue 19 webhooks: the admin deletes the webhook after the confirmation', async () => {
    const section = admin.getByRole('dialog', { name: 'Settings' }).getByRole('region', { name: 'Webhooks' });
    await section.getByRole('button', { name: `Delete the webhook to ${receiver.url}` }).click();
    await section.getByRole('group', { name: `Confirm deleting the webhook to ${receiver.url}` }).getByRole('button', { name: 'Yes, delete' }).click();
    await visible(section.getByText(`Deleted the webhook to ${receiver.url}.`), 'the confirmation');
    const list = section.getByRole('list', { name: 'Webhooks' });
    await until('the webhook gone from the list', async () => (await list.getByText(receiver.url, { exact: true }).count()) === 0);
    const login = await fetch(`${base}/api/support/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    const { token } = await login.json();
    const res = await fetch(`${base}/api/support/webhooks`, { headers: { Authorization: `Bearer ${token}` } });
    const { webhooks } = await res.json();
    assert(res.ok && webhooks.length === 0, `GET /api/support/webhooks still has ${webhooks?.length} webhooks`);
    await screenshot(admin, 'webhooks-deleted');
  });

  await receiver.close();
  await adminCtx.close();
}
