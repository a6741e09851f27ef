// Issue 15, the agent tools: canned responses and labels. An admin creates a canned
// response on the settings page; an agent inserts it with `/` in the reply box and
// the visitor reads it filled in; the agent labels the ticket from the header with
// the autocomplete, the label shows on the queue row (on a second dashboard too,
// live) and the label filter narrows the queue. Starts its own server.

import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const BEA = { email: 'bea@example.com', name: 'Bea Agent', password: 'bea-Password-123' };

export default async function agentToolsFlows({ browser }) {
  const { base } = await startServer();
  const login = await fetch(`${base}/api/support/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  const { token } = await login.json();
  const api = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  await api('POST', '/api/support/agents', { ...BEA, role: 'agent' });
  const ticketBySubject = async (subject) => {
    const { tickets } = await api('GET', '/api/support/tickets?status=all&limit=100');
    const found = tickets.find((t) => t.subject === subject);
    assert(found, `ticket "${subject}" not in the list`);
    return found;
  };

  const signIn = async (label, email, password) => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    watch(page, label);
    await page.goto(`${base}/support/dashboard`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const queue = page.getByRole('region', { name: 'Ticket queue' });
    await visible(queue, `${label}: queue`);
    return { ctx, page, queue };
  };

  const visitorWithChat = async (label, name, subject) => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    watch(page, label);
    await page.goto(`${base}/support`);
    await page.getByRole('button', { name: 'Open support chat' }).click();
    const chat = page.frameLocator('iframe[title="Support chat"]');
    await chat.getByLabel('Name').fill(name);
    await chat.getByLabel('Subject').fill(subject);
    await chat.getByLabel('Message').fill('Hello, I want my money back.');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText('Hello, I want my money back.'), 'first message');
    return { ctx, page, chat };
  };

  const admin = await signIn('admin', ADMIN_EMAIL, ADMIN_PASSWORD);
  const BODY = 'Hi {{visitor.name}}, this is {{agent.name}}. Refunds for "{{ticket.subject}}" take 5 days.';

  await step('an admin creates a canned response on the settings page (a taken shortcut is explained at its field)', async () => {
    await admin.page.getByRole('button', { name: 'Canned responses' }).click();
    const dialog = admin.page.getByRole('dialog', { name: 'Canned responses' });
    await visible(dialog, 'the settings dialog');
    const form = dialog.getByRole('form', { name: 'New canned response' });
    await form.getByLabel(/Shortcut/).fill('refund');
    await form.getByLabel('Title').fill('Refund policy');
    await form.getByLabel('Text').fill(BODY);
    await form.getByRole('button', { name: 'Create' }).click();
    await visible(dialog.getByText('Saved /refund.'), 'saved');
    await visible(dialog.getByText('/refund', { exact: true }), 'listed');
    // A second one, and the same shortcut again: the conflict shows at the field.
    await form.getByLabel(/Shortcut/).fill('thanks');
    await form.getByLabel('Title').fill('Thank you');
    await form.getByLabel('Text').fill('Thank you, {{visitor.name}}!');
    await form.getByRole('button', { name: 'Create' }).click();
    await visible(dialog.getByText('Saved /thanks.'), 'second saved');
    await form.getByLabel(/Shortcut/).fill('refund');
    await form.getByLabel('Title').fill('Duplicate');
    await form.getByLabel('Text').fill('Duplicate');
    await form.getByRole('button', { name: 'Create' }).click();
    await visible(form.getByRole('alert').filter({ hasText: 'Another canned response has this shortcut.' }), 'the conflict at the shortcut');
    await screenshot(admin.page, 'tools-canned-settings');
    const { canned } = await api('GET', '/api/support/canned');
    assert(canned.map((c) => c.shortcut).join() === 'refund,thanks', `stored: ${JSON.stringify(canned)}`);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await until('dialog closed', async () => (await dialog.count()) === 0);
  });

  const bea = await signIn('bea', BEA.email, BEA.password);
  const visitor = await visitorWithChat('visitor', 'Jane Roe', 'Refund for order 7');
  const ticket = await ticketBySubject('Refund for order 7');
  const panel = bea.page.getByRole('tabpanel');

  await step('an agent types / in the reply box, filters, presses Enter and sends: the visitor reads it filled in', async () => {
    assert((await bea.page.getByRole('button', { name: 'Canned responses' }).count()) === 0, 'a plain agent sees the settings button');
    await bea.queue.getByRole('button', { name: /Refund for order 7/ }).click();
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
    const reply = panel.getByRole('textbox', { name: 'Reply' });
    await visible(reply, 'reply box');
    await reply.click();
    await bea.page.keyboard.type('/');
    const list = panel.getByRole('listbox', { name: 'Canned responses' });
    await visible(list.getByRole('option', { name: '/refund Refund policy' }), 'the list on /');
    await visible(list.getByRole('option', { name: '/thanks Thank you' }), 'every response on a bare /');
    const combo = panel.getByRole('combobox', { name: 'Reply' });
    assert((await combo.getAttribute('aria-expanded')) === 'true', 'the reply box is an expanded combobox');
    await screenshot(bea.page, 'tools-canned-list-open');
    await bea.page.keyboard.type('ref');
    await until('filtered to /refund', async () => (await list.getByRole('option').count()) === 1);
    await bea.page.keyboard.press('Enter');
    const filled = 'Hi Jane Roe, this is Bea Agent. Refunds for "Refund for order 7" take 5 days.';
    await until('the body is inserted, filled in', async () => (await reply.inputValue()) === filled);
    assert((await list.count()) === 0, 'the list stays open after inserting');
    await screenshot(bea.page, 'tools-canned-inserted');
    await reply.press('Enter');
    await visible(visitor.chat.getByRole('log', { name: 'Messages' }).getByText(filled), 'the visitor reads the filled-in text');
    await screenshot(visitor.page, 'tools-canned-visitor');
    await until('the use is counted', async () => (await api('GET', '/api/support/canned')).canned[0].uses === 1);
  });

  await step('the agent labels the ticket from the header with the autocomplete; the row shows it, on a second dashboard live', async () => {
    // Another ticket already carries "billing": it is a label in use.
    const other = await visitorWithChat('visitor-other', 'Otto Other', 'Other question');
    const otherTicket = await ticketBySubject('Other question');
    await api('PATCH', `/api/support/tickets/${otherTicket.id}`, { labels: ['billing'] });
    await other.ctx.close();

    const labels = panel.getByRole('group', { name: 'Labels' });
    const input = labels.getByRole('combobox', { name: 'Add a label' });
    await input.click();
    const listId = await input.getAttribute('list');
    await until('the autocomplete offers billing', async () => (await bea.page.locator(`datalist[id="${listId}"] option[value="billing"]`).count()) === 1);
    await input.fill('billing');
    await input.press('Enter');
    await visible(labels.getByRole('button', { name: 'Remove label billing' }), 'the billing chip');
    await input.fill(' VIP');
    await input.press('Enter');
    await visible(labels.getByRole('button', { name: 'Remove label vip' }), 'the vip chip, lowercased');
    await until('stored', async () => (await api('GET', `/api/support/tickets/${ticket.id}`)).labels.join() === 'billing,vip');
    const beaRow = bea.queue.getByRole('button', { name: /Refund for order 7/ });
    await visible(beaRow.getByLabel('Labels: billing, vip'), 'the labels on the agent\'s queue row');
    // The admin's dashboard never reloaded: the feed brought the labels.
    const adminRow = admin.queue.getByRole('button', { name: /Refund for order 7/ });
    await visible(adminRow.getByLabel('Labels: billing, vip'), 'the labels on the second dashboard, live');
    await screenshot(bea.page, 'tools-labels-header-and-row');
    await screenshot(admin.page, 'tools-labels-second-dashboard');
    // A label removed from the header is gone everywhere.
    await labels.getByRole('button', { name: 'Remove label vip' }).click();
    await visible(adminRow.getByLabel('Labels: billing'), 'the removal on the second dashboard, live');
  });

  await step('the label filter narrows the queue, and keeps following live changes', async () => {
    const filter = bea.queue.getByRole('combobox', { name: 'Label filter' });
    const plain = await visitorWithChat('visitor-plain', 'Paula Plain', 'Unlabelled question');
    await visible(bea.queue.getByRole('button', { name: /Unlabelled question/ }), 'an unlabelled ticket listed');
    await filter.focus();
    await until('billing offered', async () => (await filter.locator('option', { hasText: 'billing' }).count()) === 1);
    await filter.selectOption('billing');
    await until('the queue is narrowed', async () => (await bea.queue.getByRole('button', { name: /Unlabelled question/ }).count()) === 0);
    await visible(bea.queue.getByRole('button', { name: /Refund for order 7/ }), 'the billing ticket stays');
    await visible(bea.queue.getByRole('button', { name: /Other question/ }), 'the other billing ticket too');
    await visible(bea.queue.getByRole('status').filter({ hasText: '2 tickets' }), 'two tickets under billing');
    await screenshot(bea.page, 'tools-label-filter');
    // Labelled elsewhere (the admin's REST call), the unlabelled ticket joins the filtered queue live.
    const plainTicket = await ticketBySubject('Unlabelled question');
    await api('PATCH', `/api/support/tickets/${plainTicket.id}`, { labels: ['billing'] });
    await visible(bea.queue.getByRole('button', { name: /Unlabelled question/ }), 'a ticket labelled elsewhere joins the filter live');
    await filter.selectOption('');
    await visible(bea.queue.getByRole('button', { name: /Refund for order 7/ }), 'every label again');
    await plain.ctx.close();
  });

  await visitor.ctx.close();
  await bea.ctx.close();
  await admin.ctx.close();
}
