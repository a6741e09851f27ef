import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';
import { fakeFetch, type Route } from '../test/fakeFetch';
import { SocketFactory, msg, ticket } from '../test/fakes';
import type { Ticket } from '../shared/protocol';

const AGENT = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'agent' as const };

function setup(initial: Ticket[], signedIn = true) {
  let loggedIn = signedIn;
  const history = [msg(1, { message: 'Where is my order?' }), msg(2, { sender_type: 'supporter', sender_name: 'Alice', message: 'Checking' })];
  const routes: Route[] = [
    ({ url }) => (url.pathname === '/api/support/agents/me' ? (loggedIn ? { status: 200, body: AGENT } : { status: 401, body: { error: { code: 'unauthorized', message: 'Sign in' } } }) : undefined),
    ({ url, body }) => {
      if (url.pathname !== '/api/support/auth/login') return undefined;
      const b = body as { password: string };
      if (b.password !== 'correct horse') return { status: 401, body: { error: { code: 'invalid_credentials', message: 'bad' } } };
      loggedIn = true;
      return { status: 200, body: { token: 't', agent: AGENT } };
    },
    ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: initial, next_cursor: null } } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets/45/messages' ? { status: 200, body: { messages: history, has_more: false } } : undefined),
    ({ method, url }) =>
      method === 'POST' && url.pathname === '/api/support/tickets/45/assign'
        ? { status: 200, body: ticket({ status: 'assigned', supporter_id: 3, supporter_name: 'Alice', last_seq: 2 }) }
        : undefined,
    ({ method, url, body }) =>
      method === 'PATCH' && url.pathname === '/api/support/tickets/45' ? { status: 200, body: ticket({ ...(body as Partial<Ticket>), last_seq: 2 }) } : undefined,
  ];
  const { fetch, calls } = fakeFetch(routes);
  const sockets = new SocketFactory();
  const notify = vi.fn();
  const alerts = new Alerts({ notification: null, createAudio: null });
  alerts.notify = notify;
  const controller = new DashboardController({ api: new ApiClient({ fetch }), alerts, createSocket: sockets.create, isAttentive: () => true });
  render(<Dashboard controller={controller} />);
  return { controller, sockets, calls, notify };
}

const feed = (sockets: SocketFactory) => {
  const ws = sockets.sockets.find((s) => s.url.endsWith('/ws/support/agent'));
  if (!ws) throw new Error('no feed socket');
  return ws;
};

describe('Dashboard', () => {
  it('asks to sign in when the cookie is not valid, and signs in', async () => {
    setup([ticket()], false);
    fireEvent.change(await screen.findByLabelText('Email'), { target: { value: 'alice@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Wrong email or password.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('region', { name: 'Ticket queue' })).toBeTruthy();
  });

  it('shows the queue with badges and follows the agent feed without polling', async () => {
    const { sockets, calls, notify } = setup([ticket({ unread_count: 2, priority: 'high' })]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    expect(await within(queue).findByRole('button', { name: /Order not arrived/ })).toBeTruthy();
    const item = within(queue).getByRole('button', { name: /Order not arrived/ });
    expect(item.textContent).toContain('2 unread');
    expect(item.textContent).toContain('High');
    expect(item.textContent).toContain('Open');
    act(() => feed(sockets).open());
    act(() => feed(sockets).receive({ type: 'ticket_created', ticket: ticket({ id: 46, session_id: 's46', subject: '<b>Refund</b> please', priority: 'urgent' }) }));
    const buttons = within(queue).getAllByRole('button', { name: /Refund|Order/ });
    expect(buttons[0].textContent).toContain('<b>Refund</b> please'); // urgent first, shown literally
    expect(notify).toHaveBeenCalledTimes(1);
    act(() => feed(sockets).receive({ type: 'message', message: msg(1, { ticket_id: 46, message: 'hello?' }) }));
    expect(within(queue).getByRole('button', { name: /Refund/ }).textContent).toContain('1 unread');
    act(() => feed(sockets).receive({ type: 'message', message: msg(1, { ticket_id: 46, message: 'hello?' }) }));
    expect(within(queue).getByRole('button', { name: /Refund/ }).textContent).toContain('1 unread');
    act(() => feed(sockets).receive({ type: 'ticket_updated', ticket: ticket({ id: 46, session_id: 's46', subject: '<b>Refund</b> please', status: 'closed' }) }));
    expect(within(queue).queryByRole('button', { name: /Refund/ })).toBeNull();
    expect(calls.filter((c) => c.path.startsWith('/api/support/tickets?'))).toHaveLength(1);
  });

  it('opens chats in tabs, keeps each draft when switching, assigns and changes status', async () => {
    const { sockets, calls } = setup([ticket({ last_seq: 2 }), ticket({ id: 46, session_id: 's46', subject: 'Second' })]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    fireEvent.click(await within(queue).findByRole('button', { name: /Order not arrived/ }));
    expect(await screen.findByText('Where is my order?')).toBeTruthy();
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/sess-1?since=2'))).toBe(true));
    fireEvent.change(screen.getByRole('textbox', { name: 'Reply' }), { target: { value: 'draft for first' } });

    fireEvent.click(within(queue).getByRole('button', { name: /Second/ }));
    expect(screen.getByRole('tab', { name: /Second/ }).getAttribute('aria-selected')).toBe('true');
    expect((screen.getByRole('textbox', { name: 'Reply' }) as HTMLTextAreaElement).value).toBe('');
    fireEvent.keyDown(screen.getByRole('tab', { name: /Second/ }), { key: 'ArrowLeft' });
    expect(screen.getByRole('tab', { name: /Order not arrived/ }).getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(screen.getByRole('tab', { name: /Order not arrived/ }));
    expect((screen.getByRole('textbox', { name: 'Reply' }) as HTMLTextAreaElement).value).toBe('draft for first');

    fireEvent.click(screen.getByRole('button', { name: 'Assign to me' }));
    expect(await screen.findByRole('button', { name: 'Assigned to you' })).toBeTruthy();
    fireEvent.change(screen.getByRole('combobox', { name: 'Priority' }), { target: { value: 'urgent' } });
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/tickets/45', body: { priority: 'urgent' } }));
    fireEvent.click(screen.getByRole('button', { name: 'Close ticket' }));
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/tickets/45', body: { status: 'closed' } }));
  });

  it('shows the visitor typing and sends the reply on its socket', async () => {
    const { sockets } = setup([ticket({ last_seq: 2 })]);
    fireEvent.click(await screen.findByRole('button', { name: /Order not arrived/ }));
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/'))).toBe(true));
    const ws = sockets.sockets.find((s) => s.url.includes('/ws/support/supporter/'));
    if (!ws) throw new Error('no chat socket');
    act(() => {
      ws.open();
      ws.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 2 }), last_seq: 2, replayed: 0 } });
      ws.receive({ type: 'typing', data: { sender_type: 'user', sender_name: 'John Doe', is_typing: true } });
    });
    expect(screen.getByText('John Doe is typing…')).toBeTruthy();
    const reply = screen.getByRole('textbox', { name: 'Reply' });
    fireEvent.change(reply, { target: { value: 'It ships today' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(ws.sentOfType('typing')[0]).toEqual({ type: 'typing', data: { is_typing: true } });
    expect(ws.sentOfType('message')[0].message).toBe('It ships today');
  });
});
