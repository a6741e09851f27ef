// Issue 15, private notes: an agent writes a note from the dashboard (the yellow
// note mode, before and after joining), a second agent's dashboard shows it live,
// and the visitor's page shows nothing of it, live or after a reload, while the
// visitor's conversation goes on without a gap. Starts its own server.

import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const NOTE = 'VIP customer: refund without asking';
const SECOND_NOTE = 'Order 1234 left the warehouse today';

export default async function notesFlow({ browser }) {
  const { base } = await startServer();
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
  const { token } = await api('POST', '/api/support/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  await api('POST', '/api/support/agents', { email: 'bob@example.com', name: 'Bob Second', password: 'bob-Password-123', role: 'agent' }, token);

  const signIn = async (label, email, password) => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    watch(page, label);
    await page.goto(`${base}/support/dashboard`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('region', { name: 'Ticket queue' }), `${label}: the queue`);
    return page;
  };

  const visitorCtx = await browser.newContext(DESKTOP);
  const visitor = await visitorCtx.newPage();
  watch(visitor, 'visitor-notes');
  await visitor.goto(`${base}/support`);
  await visitor.getByRole('button', { name: 'Open support chat' }).click();
  const chat = visitor.frameLocator('iframe[title="Support chat"]');
  await chat.getByLabel('Name').fill('Nora Visitor');
  await chat.getByLabel('Subject').fill('Refund for order 1234');
  await chat.getByLabel('Message').fill('Where is my refund?');
  await chat.getByRole('button', { name: 'Start chat' }).click();
  const log = chat.getByRole('log', { name: 'Messages' });
  await visible(log.getByText('Where is my refund?'), 'the opening message');

  const admin = await signIn('agent-admin', ADMIN_EMAIL, ADMIN_PASSWORD);
  const bob = await signIn('agent-bob', 'bob@example.com', 'bob-Password-123');
  for (const page of [admin, bob]) {
    await page.getByRole('region', { name: 'Ticket queue' }).getByRole('button', { name: /Refund for order 1234/ }).click();
  }
  const adminPanel = admin.getByRole('tabpanel');
  const bobPanel = bob.getByRole('tabpanel');

  await step('issue 15: a note written before joining reaches the other agent live, marked private; the visitor sees nothing', async () => {
    await adminPanel.getByRole('button', { name: 'Private note' }).click();
    await visible(adminPanel.getByText('Only your team sees this note; the visitor never does.'), 'the note hint');
    await adminPanel.getByRole('textbox', { name: 'Private note' }).fill(NOTE);
    await adminPanel.getByRole('textbox', { name: 'Private note' }).press('Enter');
    for (const [panel, who] of [
      [adminPanel, 'the writer'],
      [bobPanel, 'the other agent'],
    ]) {
      const note = panel.getByRole('log').locator('.ls-msg-note', { hasText: NOTE });
      await visible(note, `${who} sees the note`);
      assert((await note.innerText()).includes('Private note'), `${who}: the note is not marked private`);
    }
    const bubble = adminPanel.getByRole('log').locator('.ls-msg-note .ls-text').first();
    const colour = await bubble.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert(colour === 'rgb(254, 243, 199)', `the note is not yellow: ${colour}`);
    await screenshot(admin, 'notes-written');
    await screenshot(bob, 'notes-seen-by-teammate');
  });

  await step('issue 15: the visitor\'s page never shows a note, and its conversation stays whole', async () => {
    await adminPanel.getByRole('button', { name: 'Reply' }).click();
    await adminPanel.getByRole('button', { name: 'Join and reply' }).click();
    await adminPanel.getByRole('textbox', { name: 'Reply' }).fill('Your refund is on its way');
    await adminPanel.getByRole('textbox', { name: 'Reply' }).press('Enter');
    await adminPanel.getByRole('button', { name: 'Private note' }).click();
    await adminPanel.getByRole('textbox', { name: 'Private note' }).fill(SECOND_NOTE);
    await adminPanel.getByRole('textbox', { name: 'Private note' }).press('Enter');
    await visible(bobPanel.getByRole('log').getByText(SECOND_NOTE), 'the second note, live');
    await visible(log.getByText('Your refund is on its way'), 'the reply reaches the visitor');
    await chat.getByRole('textbox', { name: 'Message' }).fill('Thank you!');
    await chat.getByRole('textbox', { name: 'Message' }).press('Enter');
    await visible(adminPanel.getByRole('log').getByText('Thank you!'), 'the visitor after the notes reaches the agent');
    const check = async (when) => {
      const text = await log.innerText();
      for (const secret of [NOTE, SECOND_NOTE, 'Private note', 'Ticket assigned']) {
        assert(!text.includes(secret), `${when}: the visitor was shown "${secret}": ${text}`);
      }
      for (const expected of ['Where is my refund?', 'Your refund is on its way', 'Thank you!']) {
        assert(text.includes(expected), `${when}: "${expected}" is missing: ${text}`);
      }
    };
    await until('the visitor\'s own line is acknowledged', async () => !(await log.innerText()).includes('Sending'));
    await check('live');
    await screenshot(visitor, 'notes-visitor-live');
    await visitor.reload();
    await visible(log.getByText('Thank you!'), 'history after a reload');
    await check('after a reload');
    await screenshot(visitor, 'notes-visitor-after-reload');
  });

  await visitorCtx.close();
  await admin.context().close();
  await bob.context().close();
}
