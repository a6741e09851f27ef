// The visitor's side, product grade (issue 14 points 1, 3–8, 11): the chat opens at
// the newest message and reads only what was on screen, the first click counts, the
// message box takes the focus, the panel stays open across pages, links, right-to-left
// text and long messages, the end state, the dialog and Escape, the launcher, preview,
// agent header and brand contrast, the phone, and rate-limited messages resent by
// themselves; and the visitor's language (point 9): data-locale on the script tag, else
// the browser's, German, Arabic right to left, French, times in that locale. The agent side is a raw supporter socket (not the dashboard), so these
// steps test the widget alone.

import WebSocket from 'ws';
import { step, visible, count, until, sleep, assert, screenshot, watch, openWidget, startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

/** An agent on one ticket's supporter socket: sends replies, records the visitor's read marks. */
async function agentOn(port, token, sessionId) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/support/supporter/${sessionId}`, { headers: { Authorization: `Bearer ${token}` } });
  const reads = [];
  const seqs = [];
  ws.on('message', (raw) => {
    const f = JSON.parse(String(raw));
    if (f.type === 'read' && f.data.reader_type === 'user') reads.push(f.data.up_to_seq);
    if (f.type === 'message' && f.message.sender_type === 'supporter') seqs.push(f.message.seq);
  });
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  let sent = 0;
  return {
    reads,
    /** Highest read mark the visitor has sent. */
    readUpTo: () => (reads.length ? Math.max(...reads) : 0),
    /** Sends replies and waits for their echoes; returns the last one's seq. */
    async say(...texts) {
      for (const t of texts) ws.send(JSON.stringify({ type: 'message', message: t }));
      sent += texts.length;
      await until('agent replies stored', async () => seqs.length >= sent);
      return seqs[seqs.length - 1];
    },
    send: (frame) => ws.send(JSON.stringify(frame)),
    close: () => ws.close(),
  };
}

/** Whether the message log inside the chat frame is scrolled to its end. */
const atBottom = (log) => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 50);

/** A storefront page on the service's origin whose script tag carries `attrs` (e.g. data-locale). */
async function shopWith(ctx, base, path, attrs) {
  await ctx.route(`${base}${path}`, (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop ${path}</title>
<script src="/widget.js" async ${attrs}></script></head><body><h1>Shop ${path}</h1><p>${'Things to buy. '.repeat(30)}</p></body></html>`,
    }),
  );
  return `${base}${path}`;
}

/** Whether every message time in the chat frame reads as Intl formats it in `locale`. */
const timesIn = (frame, locale) =>
  frame.evaluate((tag) => {
    const times = [...document.querySelectorAll('.ls-messages time')];
    const wrong = times
      .map((t) => ({ shown: t.textContent, want: new Date(t.dateTime).toLocaleTimeString(tag, { hour: '2-digit', minute: '2-digit' }) }))
      .filter((t) => t.shown !== t.want);
    return { count: times.length, wrong };
  }, locale);

/** The agent (by bearer token) joins the visitor's chat: the visitor is told in a system note. */
async function joinChat(api, token, sessionId) {
  const t = await (await fetch(`${api}/api/support/ticket/${sessionId}`)).json();
  const res = await fetch(`${api}/api/support/tickets/${t.id}/assign`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{"join":true}' });
  assert(res.ok, `join: ${res.status}`);
}

/** The session id the chat app keeps in the service origin's localStorage. */
const sessionOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('livesupport:session')).session_id);

export default async function visitorFlows({ browser }) {
  const { base, port } = await startServer();
  const api = `http://127.0.0.1:${port}`;
  const login = await (await fetch(`${api}/api/support/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  })).json();
  const token = login.token;
  const agentName = login.agent.name;

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  watch(page, 'visitor-desktop');
  const chat = page.frameLocator('iframe[title="Support chat"]');
  const log = chat.getByRole('log', { name: 'Messages' });
  const launcher = page.getByRole('button', { name: /support chat/ });
  const focusedLabel = () =>
    page.frames().find((f) => f.url().includes('/support/chat'))?.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.id ?? '');
  let agent = null;
  let sessionId = null;
  let lastReply = 0;

  await step('visitor: the first click on "Start chat" counts while the name field has the focus', async () => {
    await page.goto(`${base}/support`);
    await openWidget(page);
    await chat.getByLabel('Subject').fill('Where is my order?');
    const name = chat.getByLabel('Name');
    await name.focus();
    // One click on the upper part of the button, with the (empty) name field focused:
    // the form answers it (an error shown on blur would push the button from under it).
    await chat.getByRole('button', { name: 'Start chat' }).click({ position: { x: 40, y: 6 } });
    await visible(chat.getByText('Please enter your name.'), 'name error');
    await until('the submit moved the focus to the name field', async () => (await name.evaluate((el) => el === document.activeElement)) === true, 3000);
    await name.fill('Jane Visitor');
    await chat.getByLabel('Email').fill('jane@example.com');
    await name.focus();
    await chat.getByRole('button', { name: 'Start chat' }).click({ position: { x: 40, y: 6 } });
    // The pre-chat form has a "Message" box too: wait for the conversation.
    await visible(chat.getByRole('log', { name: 'Messages' }), 'chat started with one click');
    await screenshot(page, 'visitor-first-click-starts');
  });

  await step('visitor: (setup) an agent joins the chat on a supporter socket', async () => {
    sessionId = await page.evaluate(() => JSON.parse(localStorage.getItem('livesupport:session')).session_id);
    const t = await (await fetch(`${api}/api/support/ticket/${sessionId}`)).json();
    await fetch(`${api}/api/support/tickets/${t.id}/assign`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' });
    agent = await agentOn(port, token, sessionId);
  });

  await step('visitor: after "Start chat" the message box has the focus, so typing goes in', async () => {
    await until('message box focused', async () => (await focusedLabel()) === 'Message', 5000);
    await page.keyboard.type('My parcel is late.');
    await page.keyboard.press('Enter');
    await visible(log.getByText('My parcel is late.'), 'typed message sent');
    await count(log.getByText('Sending…'), 0, 'acknowledged');
    await screenshot(page, 'visitor-composer-focused');
  });

  await step('visitor: the header shows the agent\'s name and initials avatar once one joined', async () => {
    await visible(chat.getByRole('heading', { level: 1, name: agentName }), 'agent name in the header');
    const initials = agentName.trim().split(/\s+/).map((w) => w[0]).filter((_, i, a) => i === 0 || i === a.length - 1).join('').toUpperCase();
    await visible(chat.locator('.ls-avatar').getByText(initials, { exact: true }), 'initials avatar');
    await screenshot(page, 'visitor-agent-header');
  });

  await step('visitor: minimised, agent replies are not read; a preview shows next to the launcher', async () => {
    await chat.getByRole('button', { name: 'Minimise chat' }).click();
    await until('panel closed', async () => (await launcher.getAttribute('aria-expanded')) === 'false');
    const before = agent.readUpTo();
    // (an agent's socket may send 20 at once)
    const replies = Array.from({ length: 14 }, (_, i) => `Reply number ${i + 1} about your parcel.`);
    lastReply = await agent.say(...replies);
    await visible(page.getByRole('button', { name: /Open support chat, 14 unread/ }), 'unread badge');
    const preview = page.getByRole('button', { name: /^New message from/ });
    await visible(preview, 'reply preview');
    assert((await preview.textContent()).includes('Reply number 14'), 'the preview shows the newest reply');
    await sleep(500);
    assert(agent.readUpTo() === before, `read sent while minimised: ${agent.readUpTo()} (last reply ${lastReply})`);
    await screenshot(page, 'visitor-preview-minimised');
  });

  await step('visitor: opening after the unread badge shows the newest message and reads it', async () => {
    await launcher.click();
    await visible(log.getByText('Reply number 14 about your parcel.'), 'newest reply');
    await until('log scrolled to the newest message', () => atBottom(log), 5000);
    await until('read sent for the newest reply', async () => agent.readUpTo() >= lastReply, 5000);
    await screenshot(page, 'visitor-opens-at-newest');
  });

  await step('visitor: the panel stays open across pages, at the newest message', async () => {
    await page.getByRole('link', { name: 'Acme Outfitters' }).click();
    await page.waitForLoadState('load');
    await until('panel open after navigation', async () => (await page.getByRole('button', { name: /support chat/ }).getAttribute('aria-expanded')) === 'true');
    await visible(log.getByText('Reply number 14 about your parcel.'), 'history after navigation');
    await until('at the newest message after navigation', () => atBottom(log), 5000);
    await screenshot(page, 'visitor-open-after-navigation');
  });

  await step('visitor: scrolled up, a new reply shows a "New messages" pill and is not read until seen', async () => {
    await log.evaluate((el) => (el.scrollTop = 0));
    await sleep(300);
    const readBefore = agent.readUpTo();
    const seq = await agent.say('A reply you have not scrolled to yet.');
    const pill = chat.getByRole('button', { name: 'New messages' });
    await visible(pill, 'new messages pill');
    await sleep(600);
    assert(agent.readUpTo() < seq, `the unseen reply was reported read (read ${agent.readUpTo()}, before ${readBefore}, reply ${seq})`);
    await screenshot(page, 'visitor-new-messages-pill');
    await pill.click();
    await until('at the bottom after the pill', () => atBottom(log), 3000);
    await until('read once seen', async () => agent.readUpTo() >= seq, 5000);
    await count(pill, 0, 'pill gone');
  });

  await step('visitor: while at the bottom new replies are followed', async () => {
    await agent.say('Following you down here.');
    await visible(log.getByText('Following you down here.'), 'followed reply');
    await until('still at the bottom', () => atBottom(log), 3000);
  });

  await step('visitor: links are clickable and safe, right-to-left text is marked, a long message collapses', async () => {
    const long = `Terms: ${'lorem ipsum dolor sit amet '.repeat(300)}`; // ~8,000 characters
    await agent.say('Track it at https://tracking.example.com/p/42 or javascript:alert(1).', 'مرحبا، كيف يمكنني مساعدتك؟', long);
    const link = log.getByRole('link', { name: 'https://tracking.example.com/p/42' });
    await visible(link, 'link');
    assert((await link.getAttribute('target')) === '_blank', 'target');
    assert((await link.getAttribute('rel')) === 'noopener noreferrer nofollow', 'rel');
    assert((await log.getByRole('link').count()) === 1, 'only the http(s) URL is a link');
    const rtl = log.getByText('مرحبا، كيف يمكنني مساعدتك؟');
    assert((await rtl.getAttribute('dir')) === 'auto', 'dir=auto on message text');
    assert((await rtl.evaluate((el) => getComputedStyle(el).direction)) === 'rtl', 'Arabic text reads right to left');
    const more = log.getByRole('button', { name: 'Show more' });
    await visible(more, 'Show more');
    const bubble = log.locator('p', { hasText: 'Terms: lorem' });
    const collapsed = (await bubble.boundingBox()).height;
    assert(collapsed < 400, `collapsed long message is ${collapsed}px tall`);
    await screenshot(page, 'visitor-links-rtl-collapsed');
    await more.click();
    const expanded = (await bubble.boundingBox()).height;
    assert(expanded > collapsed * 3, `expanded ${expanded} vs ${collapsed}`);
    await log.getByRole('button', { name: 'Show less' }).click();
  });

  await step('visitor: the panel is a labelled dialog; Escape from the host page closes it', async () => {
    const dialog = page.getByRole('dialog', { name: 'Support chat' });
    await visible(dialog, 'dialog');
    await page.getByRole('heading', { name: 'Gear for every trail' }).click();
    await page.keyboard.press('Escape');
    await until('closed by Escape on the host page', async () => (await launcher.getAttribute('aria-expanded')) === 'false', 3000);
    await count(page.getByRole('dialog', { name: 'Support chat' }), 0, 'dialog hidden');
    await screenshot(page, 'visitor-escape-from-host');
  });

  await step('visitor: the launcher turns into a close (✕) while open', async () => {
    const icons = () => launcher.evaluate((b) => [...b.querySelectorAll('svg')].map((s) => getComputedStyle(s).display !== 'none'));
    assert(JSON.stringify(await icons()) === '[true,false]', `closed: ${JSON.stringify(await icons())}`);
    await launcher.click();
    await until('open', async () => (await launcher.getAttribute('aria-expanded')) === 'true');
    assert((await launcher.getAttribute('aria-label')) === 'Close support chat', 'accessible name');
    assert(JSON.stringify(await icons()) === '[false,true]', `open: ${JSON.stringify(await icons())}`);
    await screenshot(page, 'visitor-launcher-close');
  });

  await step('visitor: after the chat ends a clear end state, and "Start a new chat" remembers name and email', async () => {
    await chat.getByRole('button', { name: 'End chat' }).click();
    await chat.getByRole('button', { name: 'Yes, end chat' }).click();
    await visible(chat.getByRole('heading', { name: 'This chat has ended' }), 'end state');
    await visible(chat.getByText('Chat ended'), 'subheader says ended');
    await count(chat.getByRole('textbox', { name: 'Message' }), 0, 'no composer');
    await screenshot(page, 'visitor-chat-ended');
    await chat.getByRole('button', { name: 'Start a new chat' }).click();
    await visible(chat.getByRole('button', { name: 'Start chat' }), 'pre-chat form');
    assert((await chat.getByLabel('Name').inputValue()) === 'Jane Visitor', 'name remembered');
    assert((await chat.getByLabel('Email').inputValue()) === 'jane@example.com', 'email remembered');
    assert((await chat.getByLabel('Subject').inputValue()) === '', 'subject fresh');
    await screenshot(page, 'visitor-new-chat-prefilled');
    agent.close();
  });

  await step('visitor: after a rate limit, queued messages are resent by themselves', async () => {
    await chat.getByLabel('Subject').fill('Many questions');
    await chat.getByRole('button', { name: 'Start chat' }).click();
    // The pre-chat form has a "Message" box too: typing there before the conversation
    // shows would lose the text with the form.
    await visible(log, 'the conversation');
    const box = chat.getByRole('textbox', { name: 'Message' });
    // A socket may send 20 at once, then one a second: 24 quick messages get some refused.
    for (let i = 1; i <= 24; i += 1) {
      await box.fill(`Question ${i}`);
      await box.press('Enter');
    }
    await visible(log.getByText(/Waiting to send/), 'refused messages waiting to be resent');
    await screenshot(page, 'visitor-rate-limited-waiting');
    await until('every message delivered without a click', async () => (await log.getByText(/Sending…|Waiting to send|Not sent/).count()) === 0, 45_000);
    await count(log.getByText(/^Question \d+$/), 24, 'all 24 questions');
    await screenshot(page, 'visitor-rate-limit-recovered');
  });

  await step('visitor: a brand colour too light for white text gets dark text (WCAG AA)', async () => {
    const p = await ctx.newPage();
    watch(p, 'visitor-contrast');
    await p.goto(`${base}/support/chat?color=%23facc15`);
    const header = p.locator('header');
    await visible(header, 'header');
    const color = await header.evaluate((el) => getComputedStyle(el).color);
    assert(color === 'rgb(17, 24, 39)', `header text on yellow is ${color}`);
    await screenshot(p, 'visitor-contrast-yellow');
    await p.close();
  });

  // ---------- the visitor's language (issue 14, point 9) ----------

  await step('languages: data-locale="de" shows the launcher, the pre-chat form and the chat in German (browser in en-US)', async () => {
    const deCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const p = await deCtx.newPage();
    watch(p, 'visitor-de');
    await p.goto(await shopWith(deCtx, base, '/shop-de', 'data-locale="de" data-color="#2563eb"'));
    const deLauncher = p.getByRole('button', { name: 'Support-Chat öffnen' });
    await visible(deLauncher, 'German launcher');
    await deLauncher.click();
    await visible(p.getByRole('dialog', { name: 'Support-Chat' }), 'German dialog label');
    const de = p.frameLocator('iframe[title="Support-Chat"]');
    const form = de.getByRole('form', { name: 'Chat starten' });
    await visible(form, 'German pre-chat form');
    await form.getByRole('button', { name: 'Chat starten' }).click();
    await visible(de.getByText('Bitte geben Sie Ihren Namen ein.'), 'German name error');
    await visible(de.getByText('Bitte sagen Sie uns, worum es geht.'), 'German subject error');
    await screenshot(p, 'lang-de-prechat-errors');
    await de.getByLabel('Name').fill('Jana Besucherin');
    await de.getByLabel('Betreff').fill('Wo ist meine Bestellung?');
    await de.getByLabel(/^Nachricht/).fill('Mein Paket ist spät dran.');
    await form.getByRole('button', { name: 'Chat starten' }).click();
    const deLog = de.getByRole('log', { name: 'Nachrichten' });
    await visible(de.getByRole('textbox', { name: 'Nachricht' }), 'German composer');
    await visible(de.getByText('Warten auf einen Mitarbeiter…'), 'waiting for an agent, in German');
    await visible(deLog.getByText('Gesendet'), 'German receipt');
    const frame = p.frames().find((f) => f.url().includes('/support/chat'));
    assert(new URL(frame.url()).searchParams.get('locale') === 'de', `the loader passed locale=${new URL(frame.url()).searchParams.get('locale')}`);
    assert((await frame.evaluate(() => document.documentElement.lang)) === 'de', 'html lang');
    const times = await timesIn(frame, 'de');
    assert(times.count > 0 && times.wrong.length === 0, `times not in German: ${JSON.stringify(times)}`);

    const sid = await sessionOf(p);
    await joinChat(api, token, sid);
    await visible(deLog.getByText(`${agentName} ist dem Chat beigetreten`), 'the join note in German');
    await visible(de.getByText(`Sie chatten mit ${agentName}`), 'chatting with, in German');
    const deAgent = await agentOn(port, token, sid);
    await sleep(300);
    deAgent.send({ type: 'typing', data: { is_typing: true } });
    await visible(de.getByText(`${agentName} schreibt…`), 'typing indicator in German');
    await screenshot(p, 'lang-de-chat');

    await de.getByRole('button', { name: 'Chat minimieren' }).click();
    await deAgent.say('Ihr Paket kommt morgen.');
    await visible(p.getByRole('button', { name: 'Support-Chat öffnen, 1 ungelesen' }), 'German unread label');
    await visible(p.getByRole('button', { name: `Neue Nachricht von ${agentName}: Ihr Paket kommt morgen.` }), 'German reply preview');
    await screenshot(p, 'lang-de-preview');
    await p.getByRole('button', { name: 'Support-Chat öffnen, 1 ungelesen' }).click();
    assert((await p.getByRole('button', { name: 'Support-Chat schließen' }).count()) === 1, 'German close label');
    await de.getByRole('button', { name: 'Chat beenden' }).click();
    await visible(de.getByText('Diesen Chat beenden?'), 'German end confirm');
    await de.getByRole('button', { name: 'Ja, Chat beenden' }).click();
    await visible(de.getByRole('heading', { name: 'Dieser Chat wurde beendet' }), 'German end state');
    await visible(de.getByRole('button', { name: 'Neuen Chat starten' }), 'German new chat');
    await screenshot(p, 'lang-de-ended');
    deAgent.close();
    await deCtx.close();
  });

  await step('languages: data-locale="ar" gives <html lang="ar" dir="rtl">, Arabic strings and a mirrored layout', async () => {
    const arCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const p = await arCtx.newPage();
    watch(p, 'visitor-ar');
    await p.goto(await shopWith(arCtx, base, '/shop-ar', 'data-locale="ar"'));
    await p.getByRole('button', { name: 'فتح دردشة الدعم' }).click();
    const ar = p.frameLocator('iframe[title="دردشة الدعم"]');
    await visible(ar.getByRole('form', { name: 'بدء محادثة' }), 'Arabic pre-chat form');
    const frame = p.frames().find((f) => f.url().includes('/support/chat'));
    const html = await frame.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir, direction: getComputedStyle(document.body).direction }));
    assert(html.lang === 'ar' && html.dir === 'rtl' && html.direction === 'rtl', `html ${JSON.stringify(html)}`);
    // Labels start at the right edge of the form.
    const label = await ar.getByText('الاسم', { exact: true }).boundingBox();
    const field = await ar.getByLabel('الاسم').boundingBox();
    assert(label.x + label.width > field.x + field.width - 4, `label not at the right: label ${JSON.stringify(label)} field ${JSON.stringify(field)}`);
    await screenshot(p, 'lang-ar-prechat');
    await ar.getByLabel('الاسم').fill('سارة');
    await ar.getByLabel('الموضوع').fill('سؤال عن الطلب');
    await ar.getByRole('button', { name: 'بدء المحادثة' }).click();
    const box = ar.getByRole('textbox', { name: 'الرسالة' });
    await visible(box, 'Arabic composer');
    await box.fill('مرحبا');
    await ar.getByRole('button', { name: 'إرسال' }).click();
    const arLog = ar.getByRole('log', { name: 'الرسائل' });
    await visible(arLog.getByText('مُرسلة'), 'Arabic receipt');
    await visible(ar.getByText('في انتظار أحد الموظفين…'), 'Arabic waiting line');
    // Mirrored: own messages on the left, the Send button left of the message box.
    const own = await arLog.locator('.ls-msg-own .ls-text').first().boundingBox();
    const logBox = await arLog.boundingBox();
    assert(own.x - logBox.x < logBox.width / 2 - own.width / 2, `own message not on the left: ${JSON.stringify(own)} in ${JSON.stringify(logBox)}`);
    const send = await ar.getByRole('button', { name: 'إرسال' }).boundingBox();
    const text = await box.boundingBox();
    assert(send.x < text.x, `Send not left of the box: ${send.x} vs ${text.x}`);
    const times = await timesIn(frame, 'ar');
    assert(times.count > 0 && times.wrong.length === 0, `times not in Arabic: ${JSON.stringify(times)}`);
    await screenshot(p, 'lang-ar-chat');
    await arCtx.close();
  });

  await step('languages: a browser in fr-FR and no data-locale gets French, times formatted for fr-FR', async () => {
    const frCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR' });
    const p = await frCtx.newPage();
    watch(p, 'visitor-fr');
    await p.goto(`${base}/support`);
    await p.getByRole('button', { name: "Ouvrir le chat d'assistance" }).click();
    const fr = p.frameLocator(`iframe[title="Chat d'assistance"]`);
    await visible(fr.getByRole('form', { name: 'Démarrer une conversation' }), 'French pre-chat form');
    await fr.getByLabel('Nom').fill('Jeanne');
    await fr.getByLabel('Objet').fill('Ma commande');
    await fr.getByLabel(/^Message/).fill('Où est mon colis ?');
    await fr.getByRole('button', { name: 'Démarrer la conversation' }).click();
    const frLog = fr.getByRole('log', { name: 'Messages' });
    await visible(frLog, 'French conversation');
    await visible(frLog.getByText('Envoyé'), 'French receipt');
    await visible(fr.getByText("En attente d'un conseiller…"), 'French waiting line');
    const frame = p.frames().find((f) => f.url().includes('/support/chat'));
    assert(new URL(frame.url()).searchParams.get('locale') === 'fr-FR', `locale=${new URL(frame.url()).searchParams.get('locale')}`);
    assert((await frame.evaluate(() => document.documentElement.lang)) === 'fr', 'html lang fr');
    const times = await timesIn(frame, 'fr-FR');
    assert(times.count > 0 && times.wrong.length === 0, `times not in fr-FR: ${JSON.stringify(times)}`);
    await screenshot(p, 'lang-fr-chat');
    await frCtx.close();
  });

  // The phone: 390×844, touch.
  const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone = await phoneCtx.newPage();
  watch(phone, 'visitor-phone');
  const phoneChat = phone.frameLocator('iframe[title="Support chat"]');
  const phoneFrame = () => phone.frames().find((f) => f.url().includes('/support/chat'));

  await step('phone: inputs are 16 px and every control is at least 44 px to tap', async () => {
    await phone.goto(`${base}/support`);
    await phone.getByRole('button', { name: 'Open support chat' }).tap();
    await visible(phoneChat.getByRole('button', { name: 'Start chat' }), 'form');
    const sizes = await phoneFrame().evaluate(() => [...document.querySelectorAll('input, textarea')].map((e) => parseFloat(getComputedStyle(e).fontSize)));
    assert(sizes.every((s) => s >= 16), `form field font sizes ${sizes}`);
    await phoneChat.getByLabel('Name').fill('Pat Phone');
    await phoneChat.getByLabel('Subject').fill('From my phone');
    await phoneChat.getByRole('button', { name: 'Start chat' }).tap();
    // The pre-chat form has a "Message" box too: measure the conversation, not the form.
    await visible(phoneChat.getByRole('log', { name: 'Messages' }), 'conversation');
    const small = await phoneFrame().evaluate(() =>
      [...document.querySelectorAll('button, input, textarea')]
        .filter((e) => e.getClientRects().length > 0)
        .map((e) => ({ name: e.getAttribute('aria-label') || e.textContent.trim(), h: e.getBoundingClientRect().height, fs: parseFloat(getComputedStyle(e).fontSize), tag: e.tagName }))
        .filter((e) => e.h < 44 || (e.tag !== 'BUTTON' && e.fs < 16)),
    );
    assert(small.length === 0, `too small to tap or zooming: ${JSON.stringify(small)}`);
    await screenshot(phone, 'phone-tap-targets');
  });

  await step('phone: the host page does not scroll behind the full-screen panel', async () => {
    const whileOpen = await phone.evaluate(() => getComputedStyle(document.documentElement).overflow);
    await screenshot(phone, 'phone-open-full-screen');
    await phoneChat.getByRole('button', { name: 'Minimise chat' }).tap();
    await until('closed', async () => (await phone.getByRole('button', { name: /support chat/ }).getAttribute('aria-expanded')) === 'false');
    assert(whileOpen === 'hidden', `host scroll not locked while open (overflow ${whileOpen})`);
    assert((await phone.evaluate(() => getComputedStyle(document.documentElement).overflow)) !== 'hidden', 'scroll given back');
    await screenshot(phone, 'phone-closed-scroll-back');
  });

  await step('phone: reopening does not focus a field (no keyboard popping up)', async () => {
    await phone.getByRole('button', { name: /Open support chat/ }).tap();
    await visible(phoneChat.getByRole('textbox', { name: 'Message' }), 'composer');
    await sleep(400);
    const active = await phoneFrame().evaluate(() => document.activeElement?.tagName);
    assert(active !== 'TEXTAREA' && active !== 'INPUT', `focused ${active} on reopen`);
    await screenshot(phone, 'phone-reopen-no-keyboard');
  });

  await step('phone: Arabic on a phone is right to left, full screen, with nothing wider than the screen', async () => {
    const arPhoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'ar-EG' });
    const p = await arPhoneCtx.newPage();
    watch(p, 'visitor-phone-ar');
    await p.goto(`${base}/support`);
    await p.getByRole('button', { name: 'فتح دردشة الدعم' }).tap();
    const ar = p.frameLocator('iframe[title="دردشة الدعم"]');
    await visible(ar.getByRole('button', { name: 'بدء المحادثة' }), 'Arabic form');
    const frame = p.frames().find((f) => f.url().includes('/support/chat'));
    const layout = await frame.evaluate(() => ({ dir: document.documentElement.dir, lang: document.documentElement.lang, wide: document.documentElement.scrollWidth > document.documentElement.clientWidth }));
    assert(layout.dir === 'rtl' && layout.lang === 'ar' && !layout.wide, `phone layout ${JSON.stringify(layout)}`);
    await ar.getByLabel('الاسم').fill('سارة');
    await ar.getByLabel('الموضوع').fill('من هاتفي');
    await ar.getByRole('button', { name: 'بدء المحادثة' }).tap();
    await visible(ar.getByRole('textbox', { name: 'الرسالة' }), 'Arabic composer on the phone');
    assert(!(await frame.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth)), 'chat wider than the phone');
    await screenshot(p, 'phone-lang-ar-chat');
    await arPhoneCtx.close();
  });
}
