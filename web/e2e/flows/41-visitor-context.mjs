// Issue 15, point 4: visitor context. A visitor starts a chat on the demo shop; the
// agent's context panel shows their browser, OS, locale and local time, follows them
// live to a product page (a page load) and on to another product (a single-page
// navigation, history.pushState), and lists a previous conversation of the same email,
// which opens as a chat tab. Starts its own server.

import { step, visible, until, assert, screenshot, watch, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const VISITOR = { viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Asia/Tokyo' };
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const EMAIL = 'context.visitor@example.com';

/** The visitor's wall-clock time as the dashboard writes it ("Tue 14:05"). */
function tokyoTime(at) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false }).format(at);
}

export default async function visitorContextFlows({ browser }) {
  const { base } = await startServer();
  // A previous conversation of the same email (in another case: emails match case-insensitively).
  const earlier = await fetch(`${base}/api/support/ticket`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_name: 'Kim Visitor', user_email: EMAIL.toUpperCase(), subject: 'Earlier order question', message: 'Where is order 1001?' }),
  });
  assert(earlier.status === 201, `earlier ticket: ${earlier.status}`);

  const visitorCtx = await browser.newContext(VISITOR);
  const visitor = await visitorCtx.newPage();
  watch(visitor, 'visitor');
  const agentCtx = await browser.newContext(DESKTOP);
  const agent = await agentCtx.newPage();
  watch(agent, 'agent');
  const context = agent.getByRole('complementary', { name: 'Visitor context' });
  const currentPage = context.getByRole('region', { name: 'Current page' });

  await step('visitor context: a visitor starts a chat on the demo shop', async () => {
    await visitor.goto(`${base}/support`);
    await visitor.getByRole('button', { name: 'Open support chat' }).click();
    const chat = visitor.frameLocator('iframe[title="Support chat"]');
    await chat.getByLabel('Name').fill('Kim Visitor');
    await chat.getByLabel('Email').fill(EMAIL);
    await chat.getByLabel('Subject').fill('Which boots for snow');
    await chat.getByLabel('Message').fill('Are the boots good in snow?');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    await visible(chat.getByRole('log', { name: 'Messages' }).getByText('Are the boots good in snow?'), 'first message');
  });

  await step('visitor context: the agent opens the ticket and sees the home page, browser, OS, locale and local time', async () => {
    await agent.goto(`${base}/support/dashboard`);
    await agent.getByLabel('Email').fill(ADMIN_EMAIL);
    await agent.getByLabel('Password').fill(ADMIN_PASSWORD);
    await agent.getByRole('button', { name: 'Sign in' }).click();
    const queue = agent.getByRole('region', { name: 'Ticket queue' });
    await queue.getByRole('button', { name: /Which boots for snow/ }).click();
    await visible(context, 'the context panel');
    await visible(currentPage.getByRole('link', { name: /Acme Outfitters — livesupport demo/ }), 'the home page as the current page');
    const facts = context.locator('dl');
    await until('browser and OS', async () => /Browser\s*Chrome \d+/.test(await facts.innerText()) && /OS\s*Linux/.test(await facts.innerText()));
    await until('locale', async () => /Locale\s*en-GB/.test(await facts.innerText()));
    await until('the visitor\'s local time', async () => {
      const text = await facts.innerText();
      return text.includes('Asia/Tokyo') && (text.includes(tokyoTime(new Date())) || text.includes(tokyoTime(new Date(Date.now() - 60_000))));
    });
    const href = await currentPage.getByRole('link').getAttribute('href');
    assert(href === `${base}/support`, `current page ${href}`);
    await screenshot(agent, 'context-home');
  });

  await step('visitor context: the panel follows the visitor to a product page (a page load)', async () => {
    await visitor.getByRole('link', { name: 'Hiking boots' }).click();
    await visitor.waitForURL(`${base}/support/product/hiking-boots`);
    await visible(currentPage.getByRole('link', { name: /Hiking boots — Acme Outfitters/ }), 'the product page, live');
    const href = await currentPage.getByRole('link').getAttribute('href');
    assert(href === `${base}/support/product/hiking-boots`, `current page ${href}`);
  });

  await step('visitor context: and on a single-page navigation (history.pushState), query string stripped', async () => {
    await visitor.getByRole('link', { name: 'Rain jacket' }).click();
    await visible(visitor.getByRole('heading', { name: 'Rain jacket' }), 'the new product, without a page load');
    await visible(currentPage.getByRole('link', { name: /Rain jacket — Acme Outfitters/ }), 'the SPA page, live');
    // A query string on a further navigation never reaches the agent.
    await visitor.evaluate(() => history.replaceState(null, '', '/support/product/rain-jacket?coupon=SECRET#reviews'));
    await agent.waitForTimeout(1_500);
    assert(!(await context.innerText()).includes('SECRET'), 'the query string reached the agent');
    const pages = context.getByRole('list', { name: 'Recent pages' });
    await until('three pages, newest first', async () => {
      const text = await pages.innerText();
      const jacket = text.indexOf('Rain jacket');
      const boots = text.indexOf('Hiking boots');
      const home = text.indexOf('livesupport demo');
      return jacket >= 0 && boots > jacket && home > boots;
    });
    const listed = await pages.getByRole('listitem').count();
    assert(listed === 3, `${listed} recent pages: the query-only change was listed as a new page`);
    await screenshot(agent, 'context-followed-spa');
    await screenshot(visitor, 'context-visitor-on-product');
  });

  await step('visitor context: a previous conversation of the same email is listed and opens as a tab', async () => {
    const previous = context.getByRole('list', { name: 'Previous conversations' });
    await previous.getByRole('button', { name: 'Earlier order question' }).click();
    await visible(agent.getByRole('tab', { name: /Earlier order question/ }), 'the previous conversation as a tab');
    await visible(agent.getByRole('tabpanel').getByRole('log').getByText('Where is order 1001?'), 'its history');
    await screenshot(agent, 'context-previous-opened');
  });

  await step('visitor context: on a phone the panel folds under "Visitor" and nothing scrolls sideways', async () => {
    const phoneCtx = await browser.newContext(PHONE);
    const phone = await phoneCtx.newPage();
    watch(phone, 'agent-phone');
    await phone.goto(`${base}/support/dashboard`);
    await phone.getByLabel('Email').fill(ADMIN_EMAIL);
    await phone.getByLabel('Password').fill(ADMIN_PASSWORD);
    await phone.getByRole('button', { name: 'Sign in' }).click();
    await phone.getByRole('region', { name: 'Ticket queue' }).getByRole('button', { name: /Which boots for snow/ }).click();
    const panel = phone.getByRole('complementary', { name: 'Visitor context' });
    const toggle = panel.getByRole('button', { name: /^Visitor/ });
    await visible(toggle, 'the Visitor toggle');
    assert((await panel.getByRole('region', { name: 'Current page' }).count()) === 0 || !(await panel.getByRole('region', { name: 'Current page' }).isVisible()), 'the context is unfolded at first');
    await toggle.click();
    await visible(panel.getByRole('region', { name: 'Current page' }).getByRole('link', { name: /Rain jacket/ }), 'the current page once unfolded');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, `the phone layout scrolls sideways by ${overflow}px`);
    await screenshot(phone, 'context-phone');
    await phoneCtx.close();
  });

  await visitorCtx.close();
  await agentCtx.close();
}
