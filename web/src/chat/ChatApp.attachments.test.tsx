// Issue 17 in the visitor's chat app: paste a screenshot, see it pending, send it with
// a caption (multipart, with progress), and see it once even though both the upload's
// answer and the socket bring it.
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeXhr } from '../test/fakeXhr';
import { msg, ticket } from '../test/fakes';
import { renderChatApp } from '../test/renderChatApp';

const renderApp = (language: string | null = null) => renderChatApp({ stored: true, history: [msg(1, { message: 'Hello' })], language });

const screenshot = () => new File([new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])], 'screenshot.png', { type: 'image/png' });
const paste = (box: HTMLElement, file: File) => fireEvent.paste(box, { clipboardData: { files: [file], items: [], types: ['Files'], getData: () => '' } });

describe('ChatApp attachments', () => {
  beforeEach(() => {
    FakeXhr.reset();
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('a pasted screenshot waits with its preview, goes with the caption, and shows once', async () => {
    const { sockets } = renderApp();
    await screen.findByText('Hello');
    const box = screen.getByRole('textbox', { name: 'Message' });
    paste(box, screenshot());
    const tray = screen.getByRole('group', { name: 'File to send' });
    await within(tray).findByAltText('screenshot.png'); // the thumbnail, read as a data: URL
    expect(screen.getByRole('button', { name: 'Attach a file' })).toBeTruthy();

    fireEvent.change(box, { target: { value: 'This is what I see' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    const xhr = FakeXhr.last;
    expect(xhr.url).toBe('/api/support/ticket/sess-1/attachments');
    expect(xhr.fieldNames).toEqual(['client_msg_id', 'caption', 'file']);
    expect(xhr.body?.get('caption')).toBe('This is what I see');
    expect((box as HTMLTextAreaElement).value).toBe('');

    act(() => xhr.progress(4, 8));
    expect((screen.getByRole('progressbar', { name: 'Uploading screenshot.png…' }) as HTMLProgressElement).value).toBe(50);
    expect(screen.getByRole('button', { name: 'Cancel upload' })).toBeTruthy();

    const key = String(xhr.body?.get('client_msg_id'));
    const stored = msg(2, {
      message: 'This is what I see',
      client_msg_id: key,
      attachments: [{ id: 17, filename: 'screenshot.png', content_type: 'image/png', size: 8, width: 1280, height: 720, url: '/api/support/attachments/TOKEN' }],
    });
    act(() => xhr.respond(201, stored));
    const log = screen.getByRole('log', { name: 'Messages' });
    await within(log).findByAltText('screenshot.png');
    expect(screen.queryByRole('group', { name: 'File to send' })).toBeNull();

    // The same message on the socket: still one copy.
    await waitFor(() => expect(sockets.sockets.length).toBeGreaterThan(0));
    act(() => {
      sockets.last.open();
      sockets.last.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 2 }), last_seq: 1, replayed: 0 } });
      sockets.last.receive({ type: 'message', message: stored });
    });
    expect(within(log).getAllByAltText('screenshot.png')).toHaveLength(1);
    expect(within(log).getAllByText('This is what I see')).toHaveLength(1);
  });

  it('a network failure offers Retry with the same client_msg_id; a too large answer says the limit', async () => {
    renderApp();
    await screen.findByText('Hello');
    const box = screen.getByRole('textbox', { name: 'Message' });
    paste(box, new File(['col1,col2'], 'data.csv', { type: 'text/csv' }));
    expect(screen.getByText('data.csv')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    const first = FakeXhr.last;
    act(() => first.fail());
    expect(await screen.findByText('The upload failed: check your connection, then try again.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    const second = FakeXhr.last;
    expect(second).not.toBe(first);
    expect(second.body?.get('client_msg_id')).toBe(first.body?.get('client_msg_id'));

    act(() => second.respond(413, { error: { code: 'payload_too_large', message: 'too large' } }));
    expect(await screen.findByText('This file is too large: the limit is 10 MB.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('group', { name: 'File to send' })).toBeNull();
  });

  it('Cancel upload aborts the request and puts the caption back', async () => {
    renderApp();
    await screen.findByText('Hello');
    const box = screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement;
    paste(box, new File(['%PDF-1.4'], 'invoice.pdf', { type: 'application/pdf' }));
    fireEvent.change(box, { target: { value: 'my invoice' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel upload' }));
    expect(FakeXhr.last.aborted).toBe(true);
    expect(box.value).toBe('my invoice');
    expect(screen.queryByRole('group', { name: 'File to send' })).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('a file dropped on the chat waits to be sent, with a hint while dragging', async () => {
    renderApp();
    await screen.findByText('Hello');
    const chat = document.querySelector('.ls-chat') as HTMLElement;
    const data = { files: [new File(['a,b'], 'orders.csv', { type: 'text/csv' })], types: ['Files'], dropEffect: 'none' };
    fireEvent.dragEnter(chat, { dataTransfer: data });
    expect(screen.getByText('Drop the file here to attach it')).toBeTruthy();
    fireEvent.drop(chat, { dataTransfer: data });
    expect(screen.queryByText('Drop the file here to attach it')).toBeNull();
    expect(within(screen.getByRole('group', { name: 'File to send' })).getByText('orders.csv')).toBeTruthy();
  });

  it('speaks the visitor\'s language, and a file too large for the pre-check is refused in it', async () => {
    renderApp('de');
    await screen.findByText('Hello');
    expect(screen.getByRole('button', { name: 'Datei anhängen' })).toBeTruthy();
    const big = new File([new Uint8Array(10 * 1024 * 1024 + 1)], 'film.pdf', { type: 'application/pdf' });
    paste(screen.getByRole('textbox', { name: 'Nachricht' }), big);
    expect(screen.getByRole('alert').textContent).toContain('Diese Datei ist zu groß: Die Grenze liegt bei 10 MB.');
    expect(FakeXhr.all).toHaveLength(0);
  });
});
