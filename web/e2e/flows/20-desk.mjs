// Issue 14, the agent's side and what internal changes the visitor sees: system
// notes by audience (point 2) and the dashboard points this flow covers. Starts
// its own server; REST calls as the admin stand in for a second agent.

import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

export default async function deskFlows({ browser }) {
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
  const teammate = await api('POST', '/api/support/agents', { email: 'bea@example.com', name: 'Bea Teammate', password: 'bea-Password-123', role: 'agent' });
  const ticketBySubject = async (subject) => {
    const { tickets } = await api('GET', '/api/support/tickets?status=all&limit=100');
    const found = tickets.find((t) => t.subject === subject);
    assert(found, `ticket "${subject}" not in the list`);
    return found;
  };

  /** A visitor on the demo page with a started chat; returns the page and the chat frame. */
  const visitorWithChat = async (profile, label, name, subject) => {
    const ctx = await browser.newContext(profile);
    const page = await ctx.newPage();
    watch(page, label);
    await page.goto(`${base}/support`);
    await page.getByRole('button', { name: 'Open support chat' }).click();
    const chat = page.frameLocator('iframe[title="Support chat"]');
    await chat.getByLabel('Name').fill(name);
    await chat.getByLabel('Subject').fill(subject);
    await chat.getByLabel('Message').fill('Hello, I need help.');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText('Hello, I need help.'), 'first message');
    return { ctx, page, chat };
  };

  for (const [profile, label] of [
    [DESKTOP, 'desktop'],
    [PHONE, 'phone'],
  ]) {
    await step(`point 2 (${label}): the visitor sees no priority or assignment note, and a resolve in plain words`, async () => {
      const subject = `Audience check ${label}`;
      const { ctx, page, chat } = await visitorWithChat(profile, `visitor-${label}`, 'Jane Visitor', subject);
      const ticket = await ticketBySubject(subject);
      await api('PATCH', `/api/support/tickets/${ticket.id}`, { priority: 'high' });
      await api('POST', `/api/support/tickets/${ticket.id}/assign`, { supporter_id: teammate.id });
      await api('PATCH', `/api/support/tickets/${ticket.id}`, { status: 'resolved' });
      const log = chat.getByRole('log', { name: 'Messages' });
      await visible(log.getByText('This conversation was marked as resolved — write to reopen it'), 'the resolve, in plain words');
      const text = await log.innerText();
      for (const internal of ['Priority', 'assigned', 'Status changed', 'in_progress', 'Bea Teammate']) {
        assert(!text.includes(internal), `the visitor was shown "${internal}": ${text}`);
      }
      // A reload reads the REST history: still nothing internal, nothing refetched in a loop.
      await page.reload(); // the panel stays open across page loads

      await visible(log.getByText('This conversation was marked as resolved — write to reopen it'), 'the resolve after a reload');
      const again = await log.innerText();
      assert(!again.includes('Priority') && !again.includes('assigned'), `after a reload the visitor was shown: ${again}`);
      await screenshot(page, `desk-point2-visitor-${label}`);
      await ctx.close();
    });
  }

  /** Opens the dashboard in `page` and signs in (with `password`, the admin's by default). */
  const signIn = async (page, password = ADMIN_PASSWORD) => {
    await page.goto(`${base}/support/dashboard`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  // ---------- the dashboard ----------
  const agentCtx = await browser.newContext(DESKTOP);
  const agent = await agentCtx.newPage();
  watch(agent, 'agent');
  await signIn(agent);
  const queue = agent.getByRole('region', { name: 'Ticket queue' });
  await visible(queue, 'queue');

  const desk = await visitorWithChat(DESKTOP, 'visitor-desk', 'Jane Doe', 'Where is my parcel');
  const deskLog = desk.chat.getByRole('log', { name: 'Messages' });
  const deskTicket = await ticketBySubject('Where is my parcel');

  await step('point 13: opening a ticket does not claim it; Join is explicit and the visitor is told only then', async () => {
    await queue.getByRole('button', { name: /Where is my parcel/ }).click();
    const panel = agent.getByRole('tabpanel');
    await visible(panel.getByRole('log').getByText('Hello, I need help.'), 'history in the dashboard');
    await visible(panel.getByRole('button', { name: 'Join', exact: true }), 'Join button');
    assert((await panel.getByRole('textbox', { name: 'Reply' }).count()) === 0, 'the reply box is shown before joining');
    const watched = await api('GET', `/api/support/tickets/${deskTicket.id}`);
    assert(watched.status === 'open' && watched.supporter_id === null, `opening claimed the ticket: ${watched.status} ${watched.supporter_id}`);
    assert(!(await deskLog.innerText()).includes('joined'), 'the visitor was told of a join before it happened');
    await screenshot(agent, 'desk-point13-read-only');
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
    await visible(panel.getByRole('textbox', { name: 'Reply' }), 'reply box after joining');
    await visible(deskLog.getByText(/joined the chat/), 'the visitor is told of the join');
    await screenshot(desk.page, 'desk-point13-visitor-told');
  });

  await step('point 13 / issue 16: transfer to a teammate from the ticket (listed with status and load); the visitor is told who joined', async () => {
    const panel = agent.getByRole('tabpanel');
    await panel.getByRole('button', { name: 'Transfer' }).click();
    const list = panel.getByRole('group', { name: 'Transfer to a teammate' });
    // Bea never signed in: offline, no chats, the default capacity of 3.
    const bea = list.getByRole('button', { name: /^Bea Teammate · offline · \d+\/3$/ });
    await visible(bea, 'Bea in the transfer list with status and load');
    await bea.click();
    await until('transferred to Bea', async () => (await api('GET', `/api/support/tickets/${deskTicket.id}`)).supporter_id === teammate.id);
    await visible(panel.getByText(/assigned to Bea Teammate/), 'the header names the teammate');
    await visible(panel.getByRole('button', { name: 'Assign to me', exact: true }), 'take it back');
    await visible(deskLog.getByText('Bea Teammate joined the chat'), 'the visitor is told who joined');
    await screenshot(agent, 'desk-point13-transferred-to-teammate');
    await panel.getByRole('button', { name: 'Assign to me', exact: true }).click();
    await visible(panel.getByRole('textbox', { name: 'Reply' }), 'reply box once taken back');
  });

  await step('point 14: "Close ticket" asks first; a resolved ticket can be reopened', async () => {
    const panel = agent.getByRole('tabpanel');
    await panel.getByRole('button', { name: 'Close ticket' }).click();
    const dialog = panel.getByRole('alertdialog');
    await visible(dialog, 'the confirmation');
    await screenshot(agent, 'desk-point14-confirm-close');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert((await api('GET', `/api/support/tickets/${deskTicket.id}`)).status !== 'closed', 'Cancel closed the ticket');
    await panel.getByRole('combobox', { name: 'Status' }).selectOption('resolved');
    await visible(panel.getByRole('button', { name: 'Reopen' }), 'Reopen on a resolved ticket');
    await panel.getByRole('button', { name: 'Reopen' }).click();
    await until('reopened', async () => (await api('GET', `/api/support/tickets/${deskTicket.id}`)).status === 'in_progress');
    await panel.getByRole('button', { name: 'Close ticket' }).click();
    await panel.getByRole('alertdialog').getByRole('button', { name: 'Yes, close ticket' }).click();
    await visible(panel.getByText('This ticket is closed.'), 'closed after confirming');
    await visible(deskLog.getByText('This chat has ended'), 'the visitor is told in plain words');
    await screenshot(agent, 'desk-point14-closed');
  });

  const focused = (page) => page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}:${el.getAttribute('aria-label') ?? el.textContent ?? ''}:${el.id}` : '';
  });

  await step('point 16: opening a ticket focuses Join, then the reply box once joined', async () => {
    const other = await visitorWithChat(DESKTOP, 'visitor-focus', 'Jane Focus', 'Focus check');
    await queue.getByRole('button', { name: /Focus check/ }).click();
    const panel = agent.getByRole('tabpanel');
    await until('Join focused', async () => (await focused(agent)).startsWith('button:Join'));
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
    await until('reply box focused', async () => (await focused(agent)).startsWith('textarea'));
    await agent.keyboard.type('typed straight away');
    assert((await panel.getByRole('textbox', { name: 'Reply' }).inputValue()) === 'typed straight away', 'typing did not reach the reply box');
    await screenshot(agent, 'desk-point16-reply-focused');
    await other.ctx.close();
  });

  await step('point 16: open chat tabs survive a reload', async () => {
    await visible(agent.getByRole('tab', { name: /Focus check/, selected: true }), 'tab before the reload');
    await agent.reload();
    await visible(agent.getByRole('tab', { name: /Where is my parcel/ }), 'first tab after the reload');
    await visible(agent.getByRole('tab', { name: /Focus check/, selected: true }), 'the active tab after the reload');
    await screenshot(agent, 'desk-point16-tabs-after-reload');
  });

  await step('point 16: after a failed sign-in focus is back on the form', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    watch(page, 'agent-login');
    await signIn(page, 'not-the-password');
    await visible(page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }), 'the error');
    await until('password focused', async () => (await focused(page)).endsWith(':db-password'));
    await screenshot(page, 'desk-point16-login-failed-focus');
    await ctx.close();
  });

  await step('point 15: queue rows show the newest line, the visitor\'s wait and an unread count with the opening message', async () => {
    const visitor = await visitorWithChat(DESKTOP, 'visitor-queue-row', 'Quinn Row', 'Queue row check');
    const row = queue.getByRole('button', { name: /Queue row check/ });
    await visible(row, 'the new ticket in the queue');
    await until('the row counts the opening message as unread', async () => (await row.innerText()).includes('1 unread'));
    let text = await row.innerText();
    assert(text.includes('Hello, I need help.'), `no preview of the opening message: ${text}`);
    assert(/Waiting (just now|\d+ min)/.test(text), `no waiting time: ${text}`);
    await visitor.chat.getByRole('textbox', { name: 'Message' }).fill('Second line from Quinn');
    await visitor.chat.getByRole('textbox', { name: 'Message' }).press('Enter');
    await until('the row previews the newest line', async () => (await row.innerText()).includes('Second line from Quinn'));
    text = await row.innerText();
    assert(text.includes('2 unread') && /Waiting/.test(text), `after a second visitor line: ${text}`);
    await screenshot(agent, 'desk-point15-queue-row-waiting');
    await row.click();
    const panel = agent.getByRole('tabpanel');
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
    await panel.getByRole('textbox', { name: 'Reply' }).fill('We are on it, Quinn');
    await panel.getByRole('textbox', { name: 'Reply' }).press('Enter');
    await until('the row previews the reply and nobody waits', async () => {
      const t = await row.innerText();
      return t.includes('We are on it, Quinn') && !/Waiting/.test(t);
    });
    await screenshot(agent, 'desk-point15-queue-row-answered');
    await visitor.ctx.close();
  });

  await step('point 17: "visitor online" turns off when the visitor leaves; ending the chat is told by name', async () => {
    const other = await visitorWithChat(DESKTOP, 'visitor-presence', 'Jane Leaves', 'Presence check');
    await queue.getByRole('button', { name: /Presence check/ }).click();
    const panel = agent.getByRole('tabpanel');
    await visible(panel.getByText(/visitor online/), 'visitor online');
    await other.chat.getByRole('button', { name: 'End chat' }).click();
    await other.chat.getByRole('button', { name: 'Yes, end chat' }).click();
    await visible(panel.getByRole('log').getByText('Jane Leaves ended the chat'), 'the end, by name');
    await other.ctx.close();
    await visible(panel.getByText(/visitor offline/), 'visitor offline once the socket is gone');
    await screenshot(agent, 'desk-point17-visitor-left');
  });

  await step('point 19: single-key shortcuts (j/k, a, r, e), a ? overlay that lists them, and a skip link', async () => {
    const other = await visitorWithChat(DESKTOP, 'visitor-keys', 'Jane Keys', 'Shortcut check');
    const ticket = await ticketBySubject('Shortcut check');
    await visible(queue.getByRole('button', { name: /Shortcut check/ }), 'the new ticket in the queue');
    await agent.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await agent.keyboard.press('?');
    const help = agent.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await visible(help, 'the shortcuts overlay');
    await screenshot(agent, 'desk-point19-shortcuts-overlay');
    await agent.keyboard.press('Escape');
    await until('overlay closed', async () => (await help.count()) === 0);
    const selected = agent.getByRole('tab', { name: /Shortcut check/, selected: true });
    for (let i = 0; i < 10 && (await selected.count()) === 0; i += 1) {
      await agent.keyboard.press('j');
      await agent.waitForTimeout(150);
      await agent.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    }
    await visible(selected, 'j reached the ticket');
    await agent.keyboard.press('a');
    await until('joined with a', async () => (await api('GET', `/api/support/tickets/${ticket.id}`)).status === 'assigned');
    await agent.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await agent.keyboard.press('r');
    await until('r focuses the reply box', async () => (await focused(agent)).startsWith('textarea'));
    await agent.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await agent.keyboard.press('e');
    await until('e resolves', async () => (await api('GET', `/api/support/tickets/${ticket.id}`)).status === 'resolved');
    // The skip link is the first stop of the page and moves focus to the chats.
    await agent.reload();
    await visible(queue, 'queue after reload');
    await agent.keyboard.press('Tab');
    const skip = agent.getByRole('link', { name: 'Skip to the open chat' });
    await until('skip link focused first', async () => (await focused(agent)).startsWith('a:'));
    await visible(skip, 'the skip link shows when focused');
    await screenshot(agent, 'desk-point19-skip-link');
    await agent.keyboard.press('Enter');
    await until('focus in the chats', async () => (await focused(agent)).endsWith(':db-chats'));
    await other.ctx.close();
  });

  await step('point 18 (phone): the dashboard shows the queue, then the chat with a way back, never wider than the screen', async () => {
    const other = await visitorWithChat(DESKTOP, 'visitor-phone-desk', 'Jane Small', 'Phone desk check');
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    watch(page, 'agent-phone');
    await signIn(page);
    const phoneQueue = page.getByRole('region', { name: 'Ticket queue' });
    await visible(phoneQueue.getByRole('button', { name: /Phone desk check/ }), 'the ticket in the phone queue');
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    assert((await width()) <= 390, `the queue scrolls sideways: ${await width()} px`);
    await screenshot(page, 'desk-point18-phone-queue');
    await phoneQueue.getByRole('button', { name: /Phone desk check/ }).click();
    const panel = page.getByRole('tabpanel');
    await visible(panel.getByRole('log').getByText('Hello, I need help.'), 'the chat on the phone');
    assert(!(await phoneQueue.isVisible()), 'the queue still takes the screen beside the chat');
    assert((await width()) <= 390, `the chat scrolls sideways: ${await width()} px`);
    await screenshot(page, 'desk-point18-phone-chat');
    await page.getByRole('button', { name: 'Back to the queue' }).click();
    await visible(phoneQueue, 'the queue again');
    await ctx.close();
    await other.ctx.close();
  });
}
