// The core flows: a visitor chats from the demo page, an agent answers from the
// dashboard; a phone visitor; history, badges, status, several chats, ending.

import { step, visible, count, until, sleep, assert, screenshot, watch, openWidget, escape, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

export default async function coreFlows({ browser }) {
  const { base } = await startServer();
  console.log(`server up at ${base}`);
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
    await visible(phoneChat.getByRole('log', { name: 'Messages' }), 'phone conversation');
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
    // Opening only watches the chat (issue 14 point 13): the agent joins to reply.
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
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
    await openWidget(visitor); // (an open panel stays open across reloads)
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
    await openWidget(tab);
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
}
