// Issue 16, presence and automatic routing: two agents online (two browser contexts;
// the second agent created through the admin REST API), both with max_chats 3; five
// visitors arrive and are spread 3 + 2, each agent's dashboard opening its own chats
// by itself; the agent with room sets Away from the header switch and the teammates
// see it live; the full agent resolves a chat, and the next visitor goes to them, not
// to the away agent; then two visitors wait, and their widgets show their place in
// the queue, the honest "nobody is online" when both agents are away, and the chat
// once an agent is back. Starts its own server, in automatic assignment.

import { step, visible, until, assert, screenshot, watch, startServer, escape, contrastReport, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const DARK_PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' };
const BOB = { email: 'bob-router@example.com', name: 'Bob Router', password: 'bob-Password-123' };
/** Auto-assignment runs on each change and every 2 s; a dashboard hears of it within a few. */
const ROUTING_TIMEOUT = 20_000;

export default async function routingFlow({ browser }) {
  const { base } = await startServer('localhost', { assignment: 'auto' });
  const api = async (method, path, body, token) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const { token, agent: admin } = await api('POST', '/api/support/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  const bob = await api('POST', '/api/support/agents', { ...BOB, role: 'agent' }, token);
  for (const id of [admin.id, bob.id]) {
    const patched = await api('PATCH', `/api/support/agents/${id}`, { max_chats: 3 }, token);
    assert(patched.max_chats === 3, `max_chats not set: ${JSON.stringify(patched)}`);
  }
  const agentById = async (id) => (await api('GET', '/api/support/agents', undefined, token)).agents.find((a) => a.id === id);
  const ticketById = (id) => api('GET', `/api/support/tickets/${id}`, undefined, token);
  let visitors = 0;
  /** A visitor who starts a chat through the REST API (as the widget does). */
  const restVisitor = async (subject) => {
    visitors += 1;
    return api('POST', '/api/support/ticket', { user_name: `Visitor ${visitors}`, subject, message: `Hello from visitor ${visitors}` });
  };

  const signIn = async (label, email, password, options = DESKTOP) => {
    const ctx = await browser.newContext(options);
    const page = await ctx.newPage();
    watch(page, label);
    await page.goto(`${base}/support/dashboard`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('region', { name: 'Ticket queue' }), `${label}: the queue`);
    return page;
  };
  const adminPage = await signIn('routing-admin', ADMIN_EMAIL, ADMIN_PASSWORD);
  const bobPage = await signIn('routing-bob', BOB.email, BOB.password);
  const desks = [
    { agent: admin, page: adminPage, label: 'admin' },
    { agent: bob, page: bobPage, label: 'bob' },
  ];
  const tabs = (page) => page.getByRole('tablist', { name: 'Open chats' }).getByRole('tab');
  const statusSwitch = (page) => page.getByRole('combobox', { name: 'Your status' });

  await step('issue 16: two agents signed in are online, each with max_chats 3', async () => {
    for (const { agent, page, label } of desks) {
      await until(`${label} online`, async () => (await agentById(agent.id)).status === 'online', ROUTING_TIMEOUT);
      assert((await statusSwitch(page).inputValue()) === 'online', `${label}: the header switch does not say online`);
    }
  });

  const subjects = ['Routing one', 'Routing two', 'Routing three', 'Routing four', 'Routing five'];
  const created = [];
  // Which desk holds 3 and which 2, once spread.
  let full = null;
  let light = null;

  await step('issue 16: five visitors are spread 3 + 2, and each dashboard opens its own chats by itself', async () => {
    for (const subject of subjects) created.push(await restVisitor(subject));
    await until(
      'every ticket assigned, 3 + 2',
      async () => {
        const loads = [(await agentById(admin.id)).open_chats, (await agentById(bob.id)).open_chats].sort();
        return loads[0] === 2 && loads[1] === 3;
      },
      ROUTING_TIMEOUT,
    );
    const holders = await Promise.all(created.map(async (t) => (await ticketById(t.id)).supporter_id));
    assert(holders.every((h) => h === admin.id || h === bob.id), `a ticket has no agent: ${holders}`);
    const adminLoad = (await agentById(admin.id)).open_chats;
    [full, light] = adminLoad === 3 ? [desks[0], desks[1]] : [desks[1], desks[0]];
    for (const desk of desks) {
      const mine = created.filter((_, i) => holders[i] === desk.agent.id);
      await until(`${desk.label}: ${mine.length} chats opened`, async () => (await tabs(desk.page).count()) === mine.length, ROUTING_TIMEOUT);
      for (const t of mine) await visible(tabs(desk.page).filter({ hasText: t.subject }), `${desk.label}: the tab of ${t.subject}`);
      await visible(desk.page.getByText('Assigned to you:').first(), `${desk.label}: the notice`);
      await screenshot(desk.page, `routing-spread-${desk.label}`);
    }
  });

  await step('issue 16: the agent with room sets Away in the header; the teammate sees it live next to their name', async () => {
    await statusSwitch(light.page).selectOption('away');
    await until('away on the server', async () => (await agentById(light.agent.id)).status === 'away', ROUTING_TIMEOUT);
    assert((await statusSwitch(light.page).inputValue()) === 'away', 'the switch went back');
    // The full agent's queue shows the away agent's tickets with an "away" dot.
    const lightTicket = (await Promise.all(created.map((t) => ticketById(t.id)))).find((t) => t.supporter_id === light.agent.id);
    const row = full.page.getByRole('region', { name: 'Ticket queue' }).getByRole('button', { name: new RegExp(escape(lightTicket.subject)) });
    await visible(row.getByRole('img', { name: 'away' }), 'the away dot on the teammate\'s ticket');
    await screenshot(full.page, 'routing-teammate-away');
  });

  await step('issue 16: after the full agent resolves a chat, the next visitor goes to them, not to the away agent', async () => {
    const panel = full.page.getByRole('tabpanel');
    await visible(panel.getByRole('combobox', { name: 'Status' }), 'the open chat');
    await panel.getByRole('combobox', { name: 'Status' }).selectOption('resolved');
    await until('room made', async () => (await agentById(full.agent.id)).open_chats === 2, ROUTING_TIMEOUT);
    const sixth = await restVisitor('Routing six');
    await until('the sixth is assigned', async () => (await ticketById(sixth.id)).supporter_id !== null, ROUTING_TIMEOUT);
    const holder = (await ticketById(sixth.id)).supporter_id;
    assert(holder === full.agent.id, `the sixth went to agent ${holder}, not to the online agent ${full.agent.id}`);
    await visible(tabs(full.page).filter({ hasText: 'Routing six' }), 'the sixth opened on the full agent\'s dashboard');
    assert((await tabs(light.page).filter({ hasText: 'Routing six' }).count()) === 0, 'the away agent got the sixth');
    await screenshot(full.page, 'routing-sixth');
  });

  /** A visitor on the demo shop's widget. */
  const widgetVisitor = async (label, subject) => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    watch(page, label);
    await page.goto(`${base}/support`);
    await page.getByRole('button', { name: 'Open support chat' }).click();
    const chat = page.frameLocator('iframe[title="Support chat"]');
    await chat.getByLabel('Name').fill(label);
    await chat.getByLabel('Subject').fill(subject);
    await chat.getByLabel('Message').fill('Is anybody there?');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText('Is anybody there?'), `${label}: the first message`);
    return { ctx, page, chat };
  };
  const queueLine = (chat) => chat.locator('.ls-queue[role="status"]');
  const waitFor = async (chat, text, what) => until(what, async () => ((await queueLine(chat).textContent()) ?? '').trim() === text, ROUTING_TIMEOUT);
  let first = null;
  let second = null;

  await step('issue 16: waiting visitors see their place in the queue, live', async () => {
    first = await widgetVisitor('Queue First', 'Routing seven');
    await waitFor(first.chat, 'You are next', 'the first waiting visitor is next');
    second = await widgetVisitor('Queue Second', 'Routing eight');
    await waitFor(second.chat, 'You are number 2 in the queue', 'the second waiting visitor is number 2');
    assert((await queueLine(first.chat).textContent()).trim() === 'You are next', 'the first moved');
    await screenshot(second.page, 'routing-queue-position');
  });

  await step('issue 16: with every agent away the widget says so honestly; an agent back online takes the first visitor', async () => {
    await statusSwitch(full.page).selectOption('away');
    for (const [v, label] of [
      [first, 'first'],
      [second, 'second'],
    ]) {
      await until(`${label}: nobody online`, async () => /^All our agents are away right now/.test(((await queueLine(v.chat).textContent()) ?? '').trim()), ROUTING_TIMEOUT);
    }
    await screenshot(first.page, 'routing-nobody-online');
    // The light agent (2 of 3) comes back: the first visitor is theirs.
    await statusSwitch(light.page).selectOption('online');
    await visible(first.chat.getByText(`You are chatting with ${light.agent.name}`), 'the first visitor\'s agent');
    await waitFor(first.chat, '', 'the first visitor\'s queue line is gone');
    await visible(tabs(light.page).filter({ hasText: 'Routing seven' }), 'the chat opened on the agent\'s dashboard');
    // The agent is full again (3 of 3): the second visitor is next, with an agent online.
    await waitFor(second.chat, 'You are next', 'the second visitor moved up');
    await screenshot(second.page, 'routing-next');
    await screenshot(light.page, 'routing-back-online');
  });

  await step('issue 16: the admin\'s Settings page (dark, phone): Routing, and Team with open chats of max; max_chats is set there', async () => {
    const page = await signIn('routing-settings-dark-phone', ADMIN_EMAIL, ADMIN_PASSWORD, DARK_PHONE);
    await page.getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await visible(dialog.getByRole('radio', { name: /^Automatic/ }), 'the routing section');
    assert(await dialog.getByRole('radio', { name: /^Automatic/ }).isChecked(), 'automatic assignment is not shown as chosen');
    assert((await dialog.getByLabel(/Away after inactivity/).inputValue()) === '10', 'the default away_after_minutes');
    await visible(dialog.getByText(/open chats? of 3/).first(), 'the team\'s loads');
    const max = dialog.getByRole('spinbutton', { name: `Max chats for ${BOB.name}` });
    await max.fill('51');
    await dialog.getByRole('button', { name: `Save max chats for ${BOB.name}` }).click();
    await visible(dialog.getByText(/from 0 to 50/), 'the range, under the field');
    await max.fill('4');
    await dialog.getByRole('button', { name: `Save max chats for ${BOB.name}` }).click();
    await until('max_chats 4 stored', async () => (await agentById(bob.id)).max_chats === 4);
    const report = await contrastReport(page);
    assert(report.failures.length === 0, `settings, dark: text under AA contrast: ${report.failures.join('; ')}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(wide <= 0, `the settings page is ${wide}px wider than the phone`);
    await screenshot(page, 'routing-settings-dark-phone');
    await dialog.getByRole('button', { name: 'Close' }).click();
    const switchReport = await contrastReport(page);
    assert(switchReport.failures.length === 0, `dashboard with the status switch, dark: ${switchReport.failures.join('; ')}`);
    await page.context().close();
  });

  await first?.ctx.close();
  await second?.ctx.close();
  await adminPage.context().close();
  await bobPage.context().close();
}
