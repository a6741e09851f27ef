// Issue 17, attachments: a visitor pastes a screenshot (a PNG made here, dispatched
// as a paste ClipboardEvent whose DataTransfer holds the File) into the widget's
// message box and sends it with a caption; the agent's dashboard shows the thumbnail,
// the agent opens it, downloads it (the bytes are the pasted ones), joins and sends a
// PDF back through the reply box's file input; the visitor sees the PDF card with its
// name and downloads the same bytes. Starts its own server (files in its temp dir).

import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { step, visible, until, assert, screenshot, watch, startServer, count, contrastReport, ADMIN_EMAIL, ADMIN_PASSWORD } from '../harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 }, acceptDownloads: true };
const CAPTION = 'This is what I see';
const REPLY = 'Here is your invoice';
const SHOT_NAME = 'screenshot.png';
const PDF_NAME = 'invoice-1234.pdf';

// ---------- test files ----------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** A width × height RGB PNG: a blue-to-orange gradient with a white stripe. */
function makePng(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, no interlace
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x += 1) {
      const i = row + 1 + x * 3;
      const stripe = Math.abs(y - height / 2) < 3;
      raw[i] = stripe ? 255 : Math.round((x / width) * 255);
      raw[i + 1] = stripe ? 255 : 100;
      raw[i + 2] = stripe ? 255 : Math.round(255 - (x / width) * 255);
    }
  }
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}
/** A one-page PDF with a line of text, its cross-reference table computed. */
function makePdf(text) {
  const content = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/** Clicks a download link and returns the downloaded bytes and the suggested name. */
async function download(page, link) {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const failure = await dl.failure();
  assert(!failure, `the download failed: ${failure}`);
  return { name: dl.suggestedFilename(), bytes: await readFile(await dl.path()) };
}

export default async function attachmentsFlow({ browser }) {
  const { base } = await startServer();
  const png = makePng(320, 180);
  const pdf = makePdf('Invoice 1234');

  const visitorCtx = await browser.newContext(DESKTOP);
  const visitor = await visitorCtx.newPage();
  watch(visitor, 'visitor-attachments');
  await visitor.goto(`${base}/support`);
  await visitor.getByRole('button', { name: 'Open support chat' }).click();
  const chat = visitor.frameLocator('iframe[title="Support chat"]');
  await chat.getByLabel('Name').fill('Paula Paste');
  await chat.getByLabel('Subject').fill('Broken checkout page');
  await chat.getByLabel('Message').fill('The checkout shows an error');
  await chat.getByRole('button', { name: 'Start chat' }).click();
  const log = chat.getByRole('log', { name: 'Messages' });
  await visible(log.getByText('The checkout shows an error'), 'the opening message');

  await step('issue 17: a screenshot pasted into the widget waits with its preview, then goes with its caption', async () => {
    const box = chat.getByRole('textbox', { name: 'Message' });
    await box.evaluate(
      (el, { b64, name }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, { type: 'image/png' }));
        el.focus();
        el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      },
      { b64: png.toString('base64'), name: SHOT_NAME },
    );
    const tray = chat.getByRole('group', { name: 'File to send' });
    await visible(tray.getByAltText(SHOT_NAME), 'the pasted screenshot\'s preview');
    assert((await box.inputValue()) === '', 'the paste put text into the box');
    await screenshot(visitor, 'attachments-pasted');
    await box.fill(CAPTION);
    await chat.getByRole('button', { name: 'Send' }).click();
    const thumb = log.getByRole('button', { name: SHOT_NAME });
    await visible(thumb, 'the sent screenshot in the visitor\'s log');
    await visible(log.getByText(CAPTION), 'the caption');
    await until('the tray empties', async () => (await tray.count()) === 0);
    await until('the thumbnail loads', () => thumb.locator('img').evaluate((img) => img.complete && img.naturalWidth === 320));
    // Both the upload's answer and the socket bring the message: it shows once.
    await visitor.waitForTimeout(500);
    await count(log.getByRole('button', { name: SHOT_NAME }), 1, 'one copy of the screenshot');
    await screenshot(visitor, 'attachments-sent');
  });

  const agentCtx = await browser.newContext(DESKTOP);
  const agent = await agentCtx.newPage();
  watch(agent, 'agent-attachments');
  await agent.goto(`${base}/support/dashboard`);
  await agent.getByLabel('Email').fill(ADMIN_EMAIL);
  await agent.getByLabel('Password').fill(ADMIN_PASSWORD);
  await agent.getByRole('button', { name: 'Sign in' }).click();
  await agent.getByRole('region', { name: 'Ticket queue' }).getByRole('button', { name: /Broken checkout page/ }).click();
  const panel = agent.getByRole('tabpanel');
  const agentLog = panel.getByRole('log');

  await step('issue 17: the agent sees the thumbnail, opens it large and downloads the very bytes pasted', async () => {
    const thumb = agentLog.getByRole('button', { name: SHOT_NAME });
    await visible(thumb, 'the thumbnail on the dashboard');
    const box = await thumb.locator('img').evaluate((img) => ({ w: img.getBoundingClientRect().width, h: img.getBoundingClientRect().height }));
    assert(Math.round(box.w) === 240 && Math.round(box.h) === 135, `the thumbnail is not 240 × 135: ${JSON.stringify(box)}`);
    await visible(agentLog.getByText(CAPTION), 'the caption on the dashboard');
    await thumb.click();
    const dialog = agent.getByRole('dialog', { name: SHOT_NAME });
    await visible(dialog, 'the image dialog');
    await screenshot(agent, 'attachments-lightbox');
    const got = await download(agent, dialog.getByRole('link', { name: `Download ${SHOT_NAME}` }));
    assert(got.name === SHOT_NAME, `downloaded as ${got.name}`);
    assert(got.bytes.equals(png), `the downloaded image differs from the pasted one (${got.bytes.length} vs ${png.length} bytes)`);
    await agent.keyboard.press('Escape');
    await until('the dialog closes', async () => (await dialog.count()) === 0);
  });

  await step('issue 17: the agent joins and sends a PDF from the reply box\'s file input', async () => {
    await panel.getByRole('button', { name: 'Join and reply' }).click();
    await visible(panel.getByRole('button', { name: 'Attach a file' }), 'the attach button');
    await panel.locator('input[type="file"]').setInputFiles({ name: PDF_NAME, mimeType: 'application/pdf', buffer: pdf });
    const tray = panel.getByRole('group', { name: 'File to send' });
    await visible(tray.getByText(PDF_NAME), 'the PDF waiting in the reply box');
    await panel.getByRole('textbox', { name: 'Reply' }).fill(REPLY);
    await panel.getByRole('textbox', { name: 'Reply' }).press('Enter');
    await visible(agentLog.getByRole('link', { name: `Download ${PDF_NAME}` }), 'the PDF card in the agent\'s log');
    await until('the tray empties', async () => (await tray.count()) === 0);
    await screenshot(agent, 'attachments-pdf-sent');
  });

  await step('issue 17: the visitor sees the PDF card with its name and downloads the same bytes', async () => {
    const link = log.getByRole('link', { name: `Download ${PDF_NAME}` });
    await visible(link, 'the PDF card in the widget');
    await visible(log.getByText(PDF_NAME), 'the PDF\'s name');
    await visible(log.getByText(/^PDF · /), 'the PDF\'s type and size');
    await visible(log.getByText(REPLY), 'the reply as the caption');
    await screenshot(visitor, 'attachments-pdf-received');
    const got = await download(visitor, link);
    assert(got.name === PDF_NAME, `downloaded as ${got.name}`);
    assert(got.bytes.equals(pdf), `the downloaded PDF differs (${got.bytes.length} vs ${pdf.length} bytes)`);
  });

  await step('issue 17: under a dark colour scheme the file cards and thumbnails keep AA text contrast on both sides', async () => {
    for (const page of [visitor, agent]) await page.emulateMedia({ colorScheme: 'dark' });
    const frame = visitor.frames().find((f) => f.url().includes('/support/chat'));
    assert(frame, 'no chat frame');
    for (const [what, target] of [
      ['the widget', frame],
      ['the dashboard', agent],
    ]) {
      const report = await contrastReport(target);
      assert(report.bodyLuminance < 0.1, `${what} is not dark`);
      assert(report.failures.length === 0, `${what}: low contrast: ${report.failures.join('; ')}`);
    }
    await screenshot(visitor, 'attachments-dark-widget');
    await screenshot(agent, 'attachments-dark-dashboard');
  });

  await visitorCtx.close();
  await agentCtx.close();
}
