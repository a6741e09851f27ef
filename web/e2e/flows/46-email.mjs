// Issue 18, email: the node runs without SMTP_URL, so every email waits `pending` in
// the outbox. A visitor starts a chat with their email; the agent (the admin) joins,
// replies and resolves it; the visitor asks for the transcript from the end screen
// ("Email me the transcript", the address prefilled); the agent's "Email transcript"
// in the chat header queues another one, to another address; the admin's settings
// page lists both transcripts as pending under the warning that no SMTP server is
// configured. Last, the visitor rates the chat and the dashboard shows the new rating
// as a notice that opens the ticket. Starts its own server (manual assignment).

import { step, visible, until, assert, screenshot, watch, startServer, escape, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const VISITOR_EMAIL = 'tessa.transcript@example.com';
const RECORDS_EMAIL = 'records@example.com';
const SUBJECT = 'Email me the chat';
const FIRST = 'Can you send me what we said?';
const REPLY = 'Of course: your order 1234 ships on Monday.';
const NO_SMTP = 'No SMTP server is configured (SMTP_URL): emails wait here until one is.';

export default async function emailFlow({ browser }) {
  // The flow needs a node that cannot send: an SMTP_URL in the runner's environment
  // would reach the server through startServer's environment, so it is left out.
  delete process.env.SMTP_URL;
  const { base } = await startServer();

  const adminCtx = await browser.newContext(DESKTOP);
  const admin = await adminCtx.newPage();
  watch(admin, 'email-admin');
  await admin.goto(`${base}/support/dashboard`);
  await admin.getByLabel('Email').fill(ADMIN_EMAIL);
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  const queue = admin.getByRole('region', { name: 'Ticket queue' });
  await visible(queue, 'the queue');
  const panel = admin.getByRole('tabpanel');

  const visitorCtx = await browser.newContext(DESKTOP);
  const visitor = await visitorCtx.newPage();
  watch(visitor, 'email-visitor');
  const chat = visitor.frameLocator('iframe[title="Support chat"]');

  await step('issue 18 email: a visitor starts a chat with their email; the agent joins, replies and resolves it', async () => {
    await visitor.goto(`${base}/support`);
    await visitor.getByRole('button', { name: 'Open support chat' }).click();
    await chat.getByLabel('Name').fill('Tessa Transcript');
    await chat.getByLabel(/^Email/).fill(VISITOR_EMAIL);
    await chat.getByLabel('Subject').fill(SUBJECT);
    await chat.getByLabel(/^Message/).fill(FIRST);
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText(FIRST), 'the first message');

    await queue.getByRole('button', { name: new RegExp(escape(SUBJECT)) }).click();
    await visible(panel.getByRole('heading', { name: SUBJECT }), 'the chat open');
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
    await until('assigned', async () => (await panel.getByRole('combobox', { name: 'Status' }).inputValue()) !== 'open');
    await panel.getByRole('textbox', { name: 'Reply' }).fill(REPLY);
    await panel.getByRole('button', { name: 'Send' }).click();
    await visible(chat.getByText(REPLY), 'the reply reached the visitor');
    await panel.getByRole('combobox', { name: 'Status' }).selectOption('resolved');
    await until('resolved', async () => (await panel.getByRole('combobox', { name: 'Status' }).inputValue()) === 'resolved');
  });

  await step('issue 18 email: the visitor asks for the transcript from the end screen, their email prefilled', async () => {
    const open = chat.getByRole('button', { name: 'Email me the transcript' });
    await visible(open, '"Email me the transcript" on the end screen');
    await open.click();
    const form = chat.getByRole('form', { name: 'Email the transcript' });
    await visible(form, 'the transcript form');
    const field = form.getByLabel('Email', { exact: true });
    const prefilled = await field.inputValue();
    assert(prefilled === VISITOR_EMAIL, `the email field holds "${prefilled}", not the ticket's email`);
    await screenshot(visitor, 'email-transcript-form');
    await form.getByRole('button', { name: 'Send transcript' }).click();
    await visible(chat.getByText(`We'll send the transcript to ${VISITOR_EMAIL}.`), 'the confirmation');
    await screenshot(visitor, 'email-transcript-sent');
  });

  await step('issue 18 email: the agent\'s "Email transcript" queues one to another address', async () => {
    await panel.getByRole('button', { name: 'Email transcript' }).click();
    const dialog = panel.getByRole('dialog', { name: 'Email the transcript' });
    await visible(dialog, 'the transcript dialog');
    const field = dialog.getByLabel('Send to');
    const prefilled = await field.inputValue();
    assert(prefilled === VISITOR_EMAIL, `the dialog holds "${prefilled}", not the ticket's email`);
    await field.fill(RECORDS_EMAIL);
    await screenshot(admin, 'email-agent-dialog');
    await dialog.getByRole('button', { name: 'Send transcript' }).click();
    await visible(panel.getByText(`Transcript queued for ${RECORDS_EMAIL}.`), 'the confirmation');
    assert((await panel.getByRole('dialog', { name: 'Email the transcript' }).count()) === 0, 'the dialog stayed open');
  });

  await step('issue 18 email: the admin\'s outbox lists both transcripts as pending, with the warning about SMTP', async () => {
    await admin.getByRole('button', { name: 'Settings' }).click();
    const settings = admin.getByRole('dialog', { name: 'Settings' });
    const section = settings.getByRole('region', { name: 'Email outbox' });
    await visible(section, 'the Email outbox section');
    await visible(section.getByText(NO_SMTP), 'the warning that no SMTP server is configured');
    await section.getByLabel('Show').selectOption('pending');
    const table = section.getByRole('table', { name: 'Email outbox' });
    const row = (to) => table.getByRole('row').filter({ hasText: to });
    // Queued at once (202), but give the node a moment: refresh until both are listed.
    await until('both transcripts in the outbox', async () => {
      if ((await row(VISITOR_EMAIL).count()) === 1 && (await row(RECORDS_EMAIL).count()) === 1) return true;
      await section.getByRole('button', { name: 'Refresh' }).click();
      return false;
    });
    for (const to of [VISITOR_EMAIL, RECORDS_EMAIL]) {
      const cells = await row(to).getByRole('cell').allTextContents();
      assert(cells[0] === 'Transcript', `the email to ${to} is a "${cells[0]}", not a Transcript`);
      assert(cells[2].trim() !== '', `the email to ${to} has no subject`);
      assert(cells[3].startsWith('Pending'), `the email to ${to} is "${cells[3]}", not pending`);
      assert(cells[5] === '–', `the email to ${to} says it was sent at ${cells[5]}`);
    }
    const transcripts = await table.getByRole('row').filter({ hasText: 'Transcript' }).count();
    assert(transcripts === 2, `${transcripts} transcript rows, not 2`);
    await section.scrollIntoViewIfNeeded();
    await screenshot(admin, 'email-outbox');
    await settings.getByRole('button', { name: 'Close' }).click();
  });

  await step('issue 18 email: the visitor rates the chat; the dashboard shows the new rating as a notice that opens the ticket', async () => {
    const prompt = chat.getByRole('form', { name: 'How was your conversation?' });
    await visible(prompt, 'the rating prompt');
    await prompt.getByRole('button', { name: 'Good' }).click();
    await prompt.getByRole('button', { name: 'Send rating' }).click();
    await visible(chat.getByText('Thanks for your feedback'), 'the thanks');
    const notice = admin.getByRole('button', { name: new RegExp(`rating on “${escape(SUBJECT)}” \\(#\\d+\\)`) });
    await visible(notice, 'the new-rating notice');
    assert((await notice.textContent()).startsWith('★★★★☆'), `the notice reads "${await notice.textContent()}"`);
    await screenshot(admin, 'email-rating-notice');
    await notice.click();
    await visible(panel.getByRole('heading', { name: SUBJECT }), 'the rated ticket open');
    await until('the notice gone', async () => (await notice.count()) === 0);
  });

  await visitorCtx.close();
  await adminCtx.close();
}
