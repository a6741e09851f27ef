import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ChatToHostEvent, HostToChatEvent } from '../shared/embed';
import type { HostBridge } from './hostBridge';
import { SessionStore } from './session';
import type { Route } from '../test/fakeFetch';
import { msg, ticket, type SocketFactory } from '../test/fakes';
import { renderChatApp } from '../test/renderChatApp';
import type { ChatMessage } from '../shared/protocol';

function fakeBridge() {
  const posted: ChatToHostEvent[] = [];
  let handler: ((e: HostToChatEvent) => void) | null = null;
  const bridge: HostBridge = {
    connected: true,
    post: (e) => posted.push(e),
    listen: (h) => {
      handler = h;
      return () => (handler = null);
    },
  };
  return { bridge, posted, send: (e: HostToChatEvent) => act(() => handler?.(e)) };
}

const createTicketRoute: Route = ({ method, url }) =>
  method === 'POST' && url.pathname === '/api/support/ticket' ? { status: 201, body: ticket({ session_id: 'sess-1', last_seq: 1 }) } : undefined;

const agent = (seq: number, text: string) => msg(seq, { sender_type: 'supporter', sender_name: 'Alice', message: text });

function renderApp(history: ChatMessage[], opts: { stored?: boolean; embedded?: boolean } = {}) {
  const host = fakeBridge();
  const app = renderChatApp({ history, stored: opts.stored, bridge: opts.embedded ? host.bridge : undefined, greeting: 'Hi! How can we help?', routes: [createTicketRoute] });
  return { ...app, host };
}

async function connected(sockets: SocketFactory, lastSeq: number) {
  await waitFor(() => expect(sockets.sockets.length).toBeGreaterThan(0));
  act(() => {
    sockets.last.open();
    sockets.last.receive({ type: 'ready', data: { ticket: ticket({ session_id: 'sess-1', last_seq: lastSeq }), last_seq: lastSeq, replayed: 0 } });
  });
}

describe('ChatApp', () => {
  it('starts a chat from the pre-chat form and keeps the session for a reload', async () => {
    const { calls, sockets, sessions } = renderApp([msg(1, { message: 'My order is late' })]);
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'John Doe' } });
    fireEvent.change(screen.getByLabelText(/Email/), { target: { value: 'john@example.com' } });
    fireEvent.change(screen.getByLabelText('Subject'), { target: { value: 'Order not arrived' } });
    fireEvent.change(screen.getByLabelText(/^Message/), { target: { value: 'My order is late' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start chat' }));
    await screen.findByText('My order is late');
    // (after the availability: GET /api/support/availability, issue 18)
    expect(calls.find((c) => c.method === 'POST')).toEqual({
      method: 'POST',
      path: '/api/support/ticket',
      body: { user_name: 'John Doe', subject: 'Order not arrived', user_email: 'john@example.com', message: 'My order is late' },
    });
    expect(sessions.load()?.session_id).toBe('sess-1');
    expect(sessions.loadVisitor()).toEqual({ user_name: 'John Doe', user_email: 'john@example.com' });
    await waitFor(() => expect(sockets.sockets).toHaveLength(1));
    expect(sockets.last.url).toMatch(/^ws:\/\/[^/]+\/ws\/support\/user\/sess-1\?since=1$/);
    // typing goes straight into the message box
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole('textbox', { name: 'Message' })));
  });

  it('resumes a stored session: history once, socket since its last seq, live replies and typing', async () => {
    const { sockets } = renderApp([msg(1, { message: 'hello' }), agent(2, 'Hi John')], { stored: true });
    expect(await screen.findByText('Hi John')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Start chat' })).toBeNull();
    await connected(sockets, 2);
    expect(sockets.last.url).toContain('since=2');
    act(() => {
      sockets.last.receive({ type: 'message', message: agent(2, 'Hi John') });
      sockets.last.receive({ type: 'typing', data: { sender_type: 'supporter', sender_name: 'Alice', is_typing: true } });
    });
    expect(screen.getAllByText('Hi John')).toHaveLength(1);
    expect(screen.getByText('Alice is typing…')).toBeTruthy();
    act(() => sockets.last.receive({ type: 'message', message: agent(3, '<b>not bold</b>') }));
    expect(screen.getByText('<b>not bold</b>')).toBeTruthy();
    expect(screen.queryByText('Alice is typing…')).toBeNull();
  });

  it('sends with Enter, shows the message as sending until its echo, and shows reconnecting', async () => {
    const { sockets } = renderApp([], { stored: true });
    await connected(sockets, 0);
    const box = await screen.findByRole('textbox', { name: 'Message' });
    fireEvent.change(box, { target: { value: 'Where is my parcel?' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(screen.getByText('Sending…')).toBeTruthy();
    const sent = sockets.last.sentOfType('message')[0];
    expect(sent.message).toBe('Where is my parcel?');
    act(() => sockets.last.receive({ type: 'message', message: msg(1, { message: 'Where is my parcel?', client_msg_id: sent.client_msg_id }) }));
    expect(screen.queryByText('Sending…')).toBeNull();
    expect(screen.getByText('Sent')).toBeTruthy();
    act(() => sockets.last.drop(1006));
    expect(screen.getByText(/Reconnecting…/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Reconnect now' })).toBeTruthy();
  });

  it('reports unread agent messages to the host while minimised, and clears them when opened', async () => {
    const { sockets, host } = renderApp([], { stored: true, embedded: true });
    await connected(sockets, 0);
    act(() => {
      sockets.last.receive({ type: 'message', message: agent(1, 'one') });
      sockets.last.receive({ type: 'message', message: agent(2, 'two') });
    });
    expect(host.posted).toContainEqual({ type: 'livesupport:ready' });
    const lastUnread = () => host.posted.filter((e) => e.type === 'livesupport:unread').pop();
    expect(lastUnread()).toEqual({ type: 'livesupport:unread', count: 2 });
    expect(host.posted[host.posted.length - 1]).toEqual({ type: 'livesupport:preview', preview: { name: 'Alice', text: 'two' } });
    host.send({ type: 'livesupport:open' });
    expect(lastUnread()).toEqual({ type: 'livesupport:unread', count: 0 });
    expect(host.posted[host.posted.length - 1]).toEqual({ type: 'livesupport:preview', preview: null });
    expect(sockets.last.sentOfType('read')).toEqual([{ type: 'read', data: { up_to_seq: 2 } }]);
    fireEvent.click(screen.getByRole('button', { name: 'Minimise chat' }));
    expect(host.posted[host.posted.length - 1]).toEqual({ type: 'livesupport:close' });
  });

  it('tells the host the visitor has a conversation (the loader then loads the app early)', async () => {
    const resumed = renderApp([], { stored: true, embedded: true });
    await connected(resumed.sockets, 0);
    expect(resumed.host.posted).toContainEqual({ type: 'livesupport:conversation', active: true });
    expect(resumed.host.posted).not.toContainEqual({ type: 'livesupport:conversation', active: false });
  });

  it('tells the host when there is no conversation (the pre-chat form)', async () => {
    const fresh = renderApp([], { embedded: true });
    await screen.findByRole('button', { name: 'Start chat' });
    // Posted by an effect after the form renders.
    await waitFor(() => expect(fresh.host.posted).toContainEqual({ type: 'livesupport:conversation', active: false }));
    expect(fresh.host.posted).not.toContainEqual({ type: 'livesupport:conversation', active: true });
  });

  it('ends the chat and offers a new one', async () => {
    const closed = ticket({ session_id: 'sess-1', status: 'closed' });
    const { sessions } = renderChatApp({
      stored: true,
      routes: [({ url }) => (url.pathname === '/api/support/ticket/sess-1/close' ? { status: 200, body: closed } : undefined)],
    });
    fireEvent.click(await screen.findByRole('button', { name: 'End chat' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, end chat' }));
    expect(await screen.findByRole('heading', { name: 'This chat has ended' })).toBeTruthy();
    expect(screen.getByText('Chat ended')).toBeTruthy();
    expect(screen.queryByRole('textbox', { name: 'Message' })).toBeNull();
    sessions.saveVisitor({ user_name: 'Jane', user_email: 'jane@example.com' });
    fireEvent.click(await screen.findByRole('button', { name: 'Start a new chat' }));
    expect(await screen.findByRole('button', { name: 'Start chat' })).toBeTruthy();
    expect(sessions.load()).toBeNull();
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('Jane');
    expect((screen.getByLabelText(/Email/) as HTMLInputElement).value).toBe('jane@example.com');
  });

  it('shows the agent in the header with an initials avatar once one joined', async () => {
    const { sockets } = renderApp([], { stored: true });
    await connected(sockets, 0);
    expect(screen.getByRole('heading', { level: 1, name: 'Support' })).toBeTruthy();
    act(() => sockets.last.receive({ type: 'ticket_updated', ticket: ticket({ session_id: 'sess-1', supporter_name: 'Alice Martin', status: 'in_progress', updated_at: '2030-01-01T00:00:00Z' }) }));
    expect(screen.getByRole('heading', { level: 1, name: 'Alice Martin' })).toBeTruthy();
    expect(screen.getByText('AM').getAttribute('aria-hidden')).toBe('true');
  });

  it('forgets a session the server no longer knows', async () => {
    new SessionStore(localStorage).save({ session_id: 'gone', last_seq: 3, read_up_to: 0 });
    const { sessions } = renderChatApp();
    expect(await screen.findByText(/could not be found/)).toBeTruthy();
    expect(sessions.load()).toBeNull();
  });
});
