// Issue 18, business hours and the satisfaction rating: (a) the admin sets, on the
// settings page, hours that exclude now (UTC, every day 00:00–24:00, today a holiday)
// with an offline message and a greeting; a visitor (in Tokyo, by the browser) opens
// the widget, reads "We're away, back …" in their own zone, and leaves a message with
// their email; the agent finds it in the queue. (b) The admin turns "Always open" back
// on; a visitor sees the greeting and chats; the agent resolves the ticket; the visitor
// rates it 5 with a comment and is thanked; the agent's dashboard shows the rating.
// Starts its own server (manual assignment).

import { step, visible, until, assert, screenshot, watch, startServer, escape, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const VISITOR = { viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Asia/Tokyo' };
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const OFFLINE_MESSAGE = 'We answer every message the next working day.';
const GREETING = 'Hi! Ask us anything.';
const LEFT = 'My parcel never came. Could you check order 1234 for me, please?';
const COMMENT = 'Quick and kind, thanks!';
/** API.md: a settings change reaches the availability within a couple of seconds. */
const SPREAD_TIMEOUT = 10_000;

/** The visitor's "back …" line, worded as the chat app does (availability.ts). */
function awayLine(nextOpenAt, timeZone, locale) {
  const next = new Date(nextOpenAt);
  const day = (d) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(next);
  if (day(next) === day(new Date())) return `We're away, back at ${time}`;
  return `We're away, back ${new Intl.DateTimeFormat(locale, { timeZone, weekday: 'long' }).format(next)} at ${time}`;
}

export default async function offlineRatingFlow({ browser }) {
  const { base } = await startServer();
  const availability = async () => (await fetch(`${base}/api/support/availability`)).json();

  const adminCtx = await browser.newContext(DESKTOP);
  const admin = await adminCtx.newPage();
  watch(admin, 'offline-admin');
  await admin.goto(`${base}/support/dashboard`);
  await admin.getByLabel('Email').fill(ADMIN_EMAIL);
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  const queue = admin.getByRole('region', { name: 'Ticket queue' });
  await visible(queue, 'the queue');

  const hoursForm = () => admin.getByRole('dialog', { name: 'Settings' }).getByRole('form', { name: 'Hours and messages' });
  const openSettings = async () => {
    await admin.getByRole('button', { name: 'Settings' }).click();
    await visible(hoursForm(), 'the Hours and messages form');
  };
  const saveHours = async () => {
    await hoursForm().getByRole('button', { name: 'Save hours and messages' }).click();
    await visible(hoursForm().getByText('Hours and messages saved.'), 'saved');
  };

  await step('issue 18: the admin sets hours that exclude now on the settings page (UTC, all days, today a holiday)', async () => {
    await openSettings();
    const form = hoursForm();
    const always = form.getByRole('switch', { name: 'Always open' });
    assert(await always.isChecked(), 'a new desk is not always open');
    await always.uncheck();
    await form.getByLabel('Time zone').selectOption('UTC');
    for (const day of DAYS) {
      const group = form.getByRole('group', { name: day, exact: true });
      if ((await group.getByLabel(`${day} range 1 from`).count()) === 0) await group.getByRole('button', { name: `Add a range on ${day}` }).click();
      await group.getByLabel(`${day} range 1 from`).fill('00:00');
      await group.getByLabel(`${day} range 1 until`).fill('00:00'); // the end at 00:00 is midnight: 24:00
    }
    const today = new Date().toISOString().slice(0, 10);
    await form.getByLabel('Holiday date').fill(today);
    await form.getByRole('button', { name: 'Add holiday' }).click();
    await visible(form.getByRole('button', { name: `Remove holiday ${today}` }), 'the holiday listed');
    await form.getByLabel(/^Greeting/).fill(GREETING);
    await form.getByLabel(/^Offline message/).fill(OFFLINE_MESSAGE);
    await screenshot(admin, 'offline-settings-hours');
    await saveHours();
    const a = await until('the desk is outside its hours', async () => {
      const v = await availability();
      return v.reason === 'outside_hours' ? v : null;
    }, SPREAD_TIMEOUT);
    assert(a.next_open_at && new Date(a.next_open_at).toISOString().slice(0, 10) > today, `next_open_at ${a.next_open_at} is not after today`);
    await admin.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Close' }).click();
  });

  const email = 'nora.offline@example.com';
  await step('issue 18: a visitor in Tokyo reads "We\'re away, back …" in their own zone and leaves a message with their email', async () => {
    const { next_open_at } = await availability();
    const ctx = await browser.newContext(VISITOR);
    const page = await ctx.newPage();
    watch(page, 'offline-visitor');
    await page.goto(`${base}/support`);
    await page.getByRole('button', { name: 'Open support chat' }).click();
    const chat = page.frameLocator('iframe[title="Support chat"]');
    const form = chat.getByRole('form', { name: 'Leave a message' });
    await visible(form, 'the leave-a-message form');
    await visible(form.getByText(awayLine(next_open_at, VISITOR.timezoneId, VISITOR.locale), { exact: true }), `"${awayLine(next_open_at, VISITOR.timezoneId, VISITOR.locale)}"`);
    await visible(form.getByText(OFFLINE_MESSAGE), 'the offline message');
    assert((await chat.getByRole('button', { name: 'Start chat' }).count()) === 0, 'the pre-chat form is offered outside the hours');
    await form.getByLabel('Name').fill('Nora Offline');
    await form.getByLabel('Message').fill(LEFT);
    await form.getByRole('button', { name: 'Send message' }).click();
    await visible(form.getByText('Please enter your email so that we can answer you.'), 'the email is required');
    await form.getByLabel('Email').fill(email);
    await form.getByRole('button', { name: 'Send message' }).click();
    await visible(chat.getByText(`We'll answer by email at ${email}.`), 'the thank-you screen');
    await screenshot(page, 'offline-message-left');
    await ctx.close();
  });

  await step('issue 18: the agent finds the message left outside the hours in the queue', async () => {
    const row = queue.getByRole('button', { name: new RegExp(escape('My parcel never came.')) });
    await visible(row, 'the left message in the queue');
    assert((await row.textContent()).includes(email), 'the queue row does not show the visitor\'s email');
    await row.click();
    await visible(admin.getByRole('tabpanel').getByText(LEFT), 'the message in the chat');
    await screenshot(admin, 'offline-agent-queue');
  });

  await step('issue 18: always open again; a visitor sees the greeting, chats, the agent resolves, the visitor rates 5 with a comment', async () => {
    await openSettings();
    await hoursForm().getByRole('switch', { name: 'Always open' }).check();
    await saveHours();
    await admin.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Close' }).click();
    await until('the desk is online', async () => (await availability()).online === true, SPREAD_TIMEOUT);

    const ctx = await browser.newContext(VISITOR);
    const page = await ctx.newPage();
    watch(page, 'rating-visitor');
    await page.goto(`${base}/support`);
    await page.getByRole('button', { name: 'Open support chat' }).click();
    const chat = page.frameLocator('iframe[title="Support chat"]');
    await visible(chat.getByText(GREETING).first(), 'the desk\'s greeting');
    await chat.getByLabel('Name').fill('Rita Rating');
    await chat.getByLabel('Subject').fill('Rate me please');
    await chat.getByLabel('Message').fill('Where is my refund?');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText('Where is my refund?'), 'the first message');

    await queue.getByRole('button', { name: /Rate me please/ }).click();
    const panel = admin.getByRole('tabpanel');
    await visible(panel.getByRole('heading', { name: 'Rate me please' }), 'the chat open');
    await panel.getByRole('button', { name: 'Join', exact: true }).click();
    await until('assigned', async () => (await panel.getByRole('combobox', { name: 'Status' }).inputValue()) !== 'open');
    await panel.getByRole('textbox', { name: 'Reply' }).fill('Your refund went out today.');
    await panel.getByRole('button', { name: 'Send' }).click();
    await visible(chat.getByText('Your refund went out today.'), 'the reply reached the visitor');
    await panel.getByRole('combobox', { name: 'Status' }).selectOption('resolved');

    const prompt = chat.getByRole('form', { name: 'How was your conversation?' });
    await visible(prompt, 'the rating prompt');
    await prompt.getByRole('button', { name: 'Great' }).click();
    await prompt.getByLabel(/^Comment/).fill(COMMENT);
    await screenshot(page, 'rating-prompt');
    await prompt.getByRole('button', { name: 'Send rating' }).click();
    await visible(chat.getByText('Thanks for your feedback'), 'the thanks');
    await screenshot(page, 'rating-thanks');
  });

  await step('issue 18: the agent\'s dashboard shows the rating in the ticket header and the queue row', async () => {
    const panel = admin.getByRole('tabpanel');
    await visible(panel.getByText('Rated 5 of 5'), 'the rating in the header');
    await visible(panel.getByText(COMMENT), 'the comment in the header');
    await admin.getByRole('combobox', { name: 'Status filter' }).selectOption('all');
    const row = queue.getByRole('button', { name: /Rate me please/ });
    await until('the score in the queue row', async () => /★ 5/.test((await row.textContent()) ?? ''));
    await screenshot(admin, 'rating-agent');
  });
}
