import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, type FetchLike } from '../shared/api';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';
import { fakeFetch, type Route } from '../test/fakeFetch';
import { FakeScheduler, FakeWakeSource, SocketFactory, msg, notice, noticesFrame, ticket, type FakeWebSocket } from '../test/fakes';
import type { Ticket } from '../shared/protocol';

// Open tabs are kept in localStorage (issue 14 point 16): every test starts without.
beforeEach(() => localStorage.clear());

const AGENT = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'agent' as const };

function setup(initial: Ticket[], signedIn = true, opts: { wrapFetch?: (f: FetchLike) => FetchLike } = {}) {
  let loggedIn = signedIn;
  let failedNote = false;
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
    ({ method, url, body }) => {
      if (method !== 'POST' || url.pathname !== '/api/support/tickets/45/notes') return undefined;
      const b = body as { message: string; client_msg_id: string };
      if (b.message === 'fail once' && !failedNote) {
        failedNote = true;
        return { status: 503, body: { error: { code: 'unavailable', message: 'The service is busy; try again.' } } };
      }
      return { status: 201, body: msg(3, { sender_type: 'supporter', sender_name: 'Alice', message: b.message, visibility: 'internal', client_msg_id: b.client_msg_id }) };
    },
  ];
  const { fetch, calls } = fakeFetch(routes);
  const sockets = new SocketFactory();
  const notify = vi.fn();
  const alerts = new Alerts({ notification: null, createAudio: null });
  alerts.notify = notify;
  const clock = new FakeScheduler();
  const wake = new FakeWakeSource();
  const controller = new DashboardController({
    api: new ApiClient({ fetch: opts.wrapFetch ? opts.wrapFetch(fetch) : fetch }),
    alerts,
    createSocket: sockets.create,
    isAttentive: () => true,
    scheduler: clock,
    random: () => 0.5,
    wake: wake.subscribe,
  });
  render(<Dashboard controller={controller} />);
  return { controller, sockets, calls, notify, clock, wake };
}

/** The newest feed socket (a reconnect opens another). */
const liveFeed = (sockets: SocketFactory): FakeWebSocket => {
  const all = sockets.sockets.filter((s) => s.url.includes('/ws/support/agent?'));
  const ws = all[all.length - 1];
  if (!ws) throw new Error('no feed socket');
  return ws;
};

const listCalls = (calls: { method: string; path: string }[]) => calls.filter((c) => c.method === 'GET' && c.path.startsWith('/api/support/tickets?'));

const feed = (sockets: SocketFactory) => {
  const ws = sockets.sockets.find((s) => s.url.includes('/ws/support/agent?'));
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
    act(() => feed(sockets).receive(noticesFrame(notice(1, { ticket_id: 46, preview: 'hello?' }))));
    expect(within(queue).getByRole('button', { name: /Refund/ }).textContent).toContain('1 unread');
    expect(within(queue).getByRole('button', { name: /Refund/ }).textContent).toContain('hello?');
    expect(notify).toHaveBeenCalledTimes(2);
    // The same Notice twice (two nodes): applied again, no second alert.
    act(() => feed(sockets).receive(noticesFrame(notice(1, { ticket_id: 46, preview: 'hello?' }))));
    expect(within(queue).getByRole('button', { name: /Refund/ }).textContent).toContain('1 unread');
    expect(notify).toHaveBeenCalledTimes(2);
    act(() => feed(sockets).receive({ type: 'ticket_updated', ticket: ticket({ id: 46, session_id: 's46', subject: '<b>Refund</b> please', status: 'closed' }) }));
    expect(within(queue).queryByRole('button', { name: /Refund/ })).toBeNull();
    expect(calls.filter((c) => c.path.startsWith('/api/support/tickets?'))).toHaveLength(1);
  });

  it('queue rows show the newest line and a ticking wait, live from the feed', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    try {
      vi.setSystemTime(new Date('2025-12-26T10:05:00Z'));
      const { sockets } = setup([
        ticket({ unread_count: 1, last_seq: 1, last_message_preview: 'Where is my order?', waiting_since: '2025-12-26T10:00:00Z' }),
      ]);
      const queue = await screen.findByRole('region', { name: 'Ticket queue' });
      const row = () => within(queue).getByRole('button', { name: /Order not arrived/ });
      await within(queue).findByRole('button', { name: /Order not arrived/ });
      expect(row().textContent).toContain('Where is my order?');
      expect(row().textContent).toContain('Waiting 5 min');
      act(() => {
        vi.advanceTimersByTime(60_000);
      });
      expect(row().textContent).toContain('Waiting 6 min');
      act(() => feed(sockets).open());
      act(() => feed(sockets).receive(noticesFrame(notice(2, { sender_type: 'supporter', visitor_messages: 0, preview: 'On its way', waiting_since: null, unread: 0 }))));
      expect(row().textContent).toContain('On its way');
      expect(row().textContent).not.toContain('Waiting');
      act(() => feed(sockets).receive(noticesFrame(notice(3, { at: '2025-12-26T10:06:00Z', preview: 'Thanks!', waiting_since: '2025-12-26T10:06:00Z' }))));
      expect(row().textContent).toContain('Thanks!');
      expect(row().textContent).toContain('Waiting just now');
    } finally {
      vi.useRealTimers();
    }
  });

  it('opens chats in tabs, keeps each draft when switching, assigns and changes status', async () => {
    const { sockets, calls } = setup([ticket({ last_seq: 2 }), ticket({ id: 46, session_id: 's46', subject: 'Second', status: 'assigned', supporter_id: 3, supporter_name: 'Alice' })]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    fireEvent.click(await within(queue).findByRole('button', { name: /Order not arrived/ }));
    expect(await screen.findByText('Where is my order?')).toBeTruthy();
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/sess-1?since=2'))).toBe(true));
    // Opening only watches (issue 14 point 13): read-only until the agent joins.
    expect(screen.queryByRole('textbox', { name: 'Reply' })).toBeNull();
    expect(calls.some((c) => c.path.endsWith('/assign'))).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Join' }));
    expect(await screen.findByText('Assigned to you')).toBeTruthy();
    expect(calls).toContainEqual({ method: 'POST', path: '/api/support/tickets/45/assign', body: { join: true } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Reply' }), { target: { value: 'draft for first' } });

    fireEvent.click(within(queue).getByRole('button', { name: /Second/ }));
    expect(screen.getByRole('tab', { name: /Second/ }).getAttribute('aria-selected')).toBe('true');
    expect(((await screen.findByRole('textbox', { name: 'Reply' })) as HTMLTextAreaElement).value).toBe('');
    fireEvent.keyDown(screen.getByRole('tab', { name: /Second/ }), { key: 'ArrowLeft' });
    expect(screen.getByRole('tab', { name: /Order not arrived/ }).getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(screen.getByRole('tab', { name: /Order not arrived/ }));
    expect((screen.getByRole('textbox', { name: 'Reply' }) as HTMLTextAreaElement).value).toBe('draft for first');

    fireEvent.change(screen.getByRole('combobox', { name: 'Priority' }), { target: { value: 'urgent' } });
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/tickets/45', body: { priority: 'urgent' } }));
    // Closing asks first (issue 14 point 14): Cancel sends nothing.
    fireEvent.click(screen.getByRole('button', { name: 'Close ticket' }));
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'PATCH' && JSON.stringify(c.body) === '{"status":"closed"}')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Close ticket' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, close ticket' }));
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/tickets/45', body: { status: 'closed' } }));
  });

  it('shows the visitor typing and sends the reply on its socket', async () => {
    const mine = { last_seq: 2, status: 'assigned', supporter_id: 3, supporter_name: 'Alice' } as const;
    const { sockets } = setup([ticket(mine)]);
    fireEvent.click(await screen.findByRole('button', { name: /Order not arrived/ }));
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/'))).toBe(true));
    const ws = sockets.sockets.find((s) => s.url.includes('/ws/support/supporter/'));
    if (!ws) throw new Error('no chat socket');
    act(() => {
      ws.open();
      ws.receive({ type: 'ready', data: { ticket: ticket(mine), last_seq: 2, replayed: 0 } });
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

describe('Dashboard private notes (issue 15)', () => {
  it('writes a note in the yellow note mode, keeps its key across a failure, and shows notes marked', async () => {
    const { sockets, calls } = setup([ticket({ last_seq: 2 })]);
    fireEvent.click(await screen.findByRole('button', { name: /Order not arrived/ }));
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/'))).toBe(true));
    const ws = sockets.sockets.find((s) => s.url.includes('/ws/support/supporter/'));
    if (!ws) throw new Error('no chat socket');
    act(() => {
      ws.open();
      ws.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 2 }), last_seq: 2, replayed: 0 } });
    });
    // Not joined: no reply box, but a note can be written.
    expect(screen.queryByRole('textbox', { name: 'Reply' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Private note' }));
    expect(screen.getByRole('button', { name: 'Private note' }).getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByText('Only your team sees this note; the visitor never does.')).toBeTruthy();
    const box = screen.getByRole('textbox', { name: 'Private note' });
    fireEvent.change(box, { target: { value: 'fail once' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(await screen.findByText('The service is busy; try again.')).toBeTruthy();
    expect((screen.getByRole('textbox', { name: 'Private note' }) as HTMLTextAreaElement).value).toBe('fail once');
    fireEvent.keyDown(screen.getByRole('textbox', { name: 'Private note' }), { key: 'Enter' });
    await waitFor(() => expect((screen.getByRole('textbox', { name: 'Private note' }) as HTMLTextAreaElement).value).toBe(''));
    const posted = calls.filter((c) => c.path === '/api/support/tickets/45/notes').map((c) => c.body as { client_msg_id: string });
    expect(posted).toHaveLength(2);
    expect(posted[0].client_msg_id).toBe(posted[1].client_msg_id);
    expect(ws.sentOfType('message')).toHaveLength(0);
    act(() => ws.receive({ type: 'note', message: msg(3, { sender_type: 'supporter', sender_id: 9, sender_name: 'Bob', message: 'VIP, refund at once', visibility: 'internal' }) }));
    const note = (await screen.findByText('VIP, refund at once')).closest('.ls-msg');
    expect(note?.className).toContain('ls-msg-note');
    expect(note?.textContent).toContain('Private note · only your team sees this');
    fireEvent.click(screen.getByRole('button', { name: 'Reply' }));
    expect(screen.queryByRole('textbox', { name: 'Private note' })).toBeNull();
  });
});

describe('Dashboard feed recovery', () => {
  it('reloads the queue with its current filters on resync_required, keeping open chats', async () => {
    const initial = [ticket({ last_seq: 2 })];
    const { sockets, calls, controller } = setup(initial);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    act(() => liveFeed(sockets).open());
    fireEvent.click(await within(queue).findByRole('button', { name: /Order not arrived/ }));
    expect(await screen.findByText('Where is my order?')).toBeTruthy();
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/'))).toBe(true));
    const chat = sockets.sockets.find((s) => s.url.includes('/ws/support/supporter/'));
    act(() => controller.setFilters({ assigned: 'none' }));
    await waitFor(() => expect(listCalls(calls)).toHaveLength(2));

    // the broker lost frames: a ticket the feed never announced exists now
    initial.push(ticket({ id: 47, session_id: 's47', subject: 'Missed during the outage' }));
    act(() => liveFeed(sockets).receive({ type: 'resync_required', data: { scope: 'queue' } }));
    expect(await within(queue).findByRole('button', { name: /Missed during the outage/ })).toBeTruthy();
    const reloads = listCalls(calls);
    expect(reloads).toHaveLength(3);
    expect(new URL(reloads[2].path, 'http://x').searchParams.get('assigned')).toBe('none');
    // the open chat is untouched
    expect(screen.getByRole('tab', { name: /Order not arrived/ })).toBeTruthy();
    expect(screen.getByText('Where is my order?')).toBeTruthy();
    expect(chat?.closeCalls).toEqual([]);
    expect(sockets.sockets.filter((s) => s.url.includes('/ws/support/supporter/'))).toHaveLength(1);
  });

  it('reloads the queue after the feed comes back from a silent server', async () => {
    const initial = [ticket()];
    const { sockets, calls, clock } = setup(initial);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    await within(queue).findByRole('button', { name: /Order not arrived/ });
    const first = liveFeed(sockets);
    act(() => first.open());
    expect(screen.getByText('Live')).toBeTruthy();
    expect(listCalls(calls)).toHaveLength(1);

    initial.push(ticket({ id: 47, session_id: 's47', subject: 'Created while the feed was down' }));
    act(() => clock.advance(15_000 + 30_000));
    expect(first.sentOfType('ping').length).toBeGreaterThan(0);
    expect(first.closeCalls).toEqual([undefined]);
    expect(screen.getByText('Reconnecting…')).toBeTruthy();
    act(() => clock.advance(2_000));
    const second = liveFeed(sockets);
    expect(second).not.toBe(first);
    act(() => second.open());
    expect(await within(queue).findByRole('button', { name: /Created while the feed was down/ })).toBeTruthy();
    expect(listCalls(calls)).toHaveLength(2);
    expect(screen.getByText('Live')).toBeTruthy();
  });

  it('ignores a ticket frame older than the copy it holds, and takes a newer one', async () => {
    const held = ticket({ status: 'in_progress', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:05:00.000002Z' });
    const { sockets, notify } = setup([held]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    const item = () => within(queue).getByRole('button', { name: /Order not arrived/ });
    await within(queue).findByRole('button', { name: /Order not arrived/ });
    act(() => liveFeed(sockets).open());
    expect(item().textContent).toContain('In progress');

    // a late, retried publish from before the last change (one microsecond older)
    act(() => liveFeed(sockets).receive({ type: 'ticket_updated', ticket: { ...held, status: 'assigned', updated_at: '2025-12-26T10:05:00.000001Z' } }));
    expect(item().textContent).toContain('In progress');
    act(() => liveFeed(sockets).receive({ type: 'ticket_created', ticket: { ...held, status: 'open', priority: 'low', updated_at: '2025-12-26T10:00:00Z' } }));
    expect(item().textContent).toContain('In progress');
    expect(item().textContent).not.toContain('Low');

    // the server's recovery may repeat ticket_created for a ticket we hold: it upserts, no new alert
    act(() => liveFeed(sockets).receive({ type: 'ticket_created', ticket: { ...held, priority: 'urgent', updated_at: '2025-12-26T10:06:00Z' } }));
    expect(item().textContent).toContain('Urgent');
    act(() => liveFeed(sockets).receive({ type: 'ticket_updated', ticket: { ...held, status: 'resolved', updated_at: '2025-12-26T10:07:00Z' } }));
    expect(within(queue).queryByRole('button', { name: /Order not arrived/ })).toBeNull(); // resolved leaves the active queue
    expect(notify).not.toHaveBeenCalled();
  });

  it('inserts a ticket_updated for a ticket the queue has not seen', async () => {
    const { sockets } = setup([ticket()]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    await within(queue).findByRole('button', { name: /Order not arrived/ });
    act(() => liveFeed(sockets).open());
    act(() =>
      liveFeed(sockets).receive({
        type: 'ticket_updated',
        ticket: ticket({ id: 48, session_id: 's48', subject: 'Only heard of through an update', priority: 'high', status: 'assigned', unread_count: 3 }),
      }),
    );
    const item = within(queue).getByRole('button', { name: /Only heard of through an update/ });
    expect(item.textContent).toContain('Assigned');
    expect(item.textContent).toContain('3 unread');
    // priority order holds: high before medium
    expect(within(queue).getAllByRole('button', { name: /Only heard|Order not arrived/ })[0]).toBe(item);
  });

  it('keeps what the feed said while a reload was on its way', async () => {
    let gate: (() => void) | null = null;
    let listed = 0;
    const wrapFetch = (f: FetchLike): FetchLike => async (input, init) => {
      if (String(input).startsWith('/api/support/tickets?') && ++listed === 2) await new Promise<void>((r) => (gate = r));
      return f(input, init);
    };
    const snapshot = [ticket({ updated_at: '2025-12-26T10:00:00Z' })];
    const { sockets } = setup(snapshot, true, { wrapFetch });
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    await within(queue).findByRole('button', { name: /Order not arrived/ });
    act(() => liveFeed(sockets).open());
    act(() => liveFeed(sockets).receive({ type: 'resync_required', data: { scope: 'queue' } }));
    await waitFor(() => expect(gate).not.toBeNull());
    // while the list request is out, the feed moves on (the snapshot will not have these)
    act(() => {
      liveFeed(sockets).receive({ type: 'ticket_updated', ticket: ticket({ status: 'assigned', supporter_id: 3, updated_at: '2025-12-26T10:01:00Z' }) });
      liveFeed(sockets).receive({ type: 'ticket_created', ticket: ticket({ id: 49, session_id: 's49', subject: 'Brand new', updated_at: '2025-12-26T10:01:00Z' }) });
    });
    await act(async () => {
      gate?.();
      await Promise.resolve();
    });
    await waitFor(() => expect(screen.queryByText('Loading tickets…')).toBeNull());
    expect(within(queue).getByRole('button', { name: /Order not arrived/ }).textContent).toContain('Assigned');
    expect(within(queue).getByRole('button', { name: /Brand new/ })).toBeTruthy();
  });
});

describe('Dashboard feed notices (issue 20)', () => {
  const row = (queue: HTMLElement, name: RegExp) => within(queue).getByRole('button', { name });

  it('a Notice updates the row\'s preview, waiting time and unread count; an older one is ignored', async () => {
    const { sockets, notify, controller } = setup([
      ticket({ last_seq: 2, unread_count: 1, last_message_preview: 'Where is my order?', waiting_since: '2025-12-26T10:00:00Z', updated_at: '2025-12-26T10:01:00Z' }),
    ]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    await within(queue).findByRole('button', { name: /Order not arrived/ });
    act(() => liveFeed(sockets).open());
    expect(row(queue, /Order not arrived/).textContent).toContain('1 unread');

    act(() => liveFeed(sockets).receive(noticesFrame(notice(4, { visitor_messages: 2, preview: 'Anyone there?', unread: 3 }))));
    expect(row(queue, /Order not arrived/).textContent).toContain('Anyone there?');
    expect(row(queue, /Order not arrived/).textContent).toContain('3 unread');
    const held = controller.state.tickets[0];
    expect(held.last_seq).toBe(4);
    expect(held.waiting_since).toBe('2025-12-26T10:00:00Z');
    expect(held.updated_at).toBe('2025-12-26T10:01:00Z'); // a notice is no ticket version

    // Another node's late Notice (seq 3 < 4) changes nothing and does not alert.
    notify.mockClear();
    act(() => liveFeed(sockets).receive(noticesFrame(notice(3, { preview: 'older line', unread: 2 }))));
    expect(row(queue, /Order not arrived/).textContent).toContain('Anyone there?');
    expect(row(queue, /Order not arrived/).textContent).toContain('3 unread');
    expect(controller.state.tickets[0].last_seq).toBe(4);
    expect(notify).not.toHaveBeenCalled();

    // An agent answered: the wait ends, the unread count follows the server.
    act(() => liveFeed(sockets).receive(noticesFrame(notice(5, { sender_type: 'supporter', visitor_messages: 0, preview: 'On its way', waiting_since: null, unread: 0 }))));
    expect(row(queue, /Order not arrived/).textContent).toContain('On its way');
    expect(row(queue, /Order not arrived/).textContent).not.toContain('unread');
    expect(controller.state.tickets[0].waiting_since).toBeNull();

    // A Notice for a ticket the queue does not list is ignored (no row, no alert).
    act(() => liveFeed(sockets).receive(noticesFrame(notice(9, { ticket_id: 99, preview: 'Not listed' }))));
    expect(controller.state.tickets.map((t) => t.id)).toEqual([45]);
    expect(controller.state.unread[99]).toBeUndefined();
    expect(notify).not.toHaveBeenCalled();
  });

  it('alerts on visitor messages like before, not on agents\' or system lines', async () => {
    const { sockets, notify } = setup([ticket({ last_seq: 2 }), ticket({ id: 46, session_id: 's46', subject: 'Second', user_name: 'Mary', last_seq: 1 })]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    await within(queue).findByRole('button', { name: /Second/ });
    act(() => liveFeed(sockets).open());
    // One frame carries the Notices of several tickets.
    act(() =>
      liveFeed(sockets).receive(
        noticesFrame(
          notice(3, { sender_type: 'system', visitor_messages: 0, preview: null, unread: 0 }),
          notice(2, { ticket_id: 46, visitor_messages: 1, preview: 'Hi, anyone?', unread: 1 }),
        ),
      ),
    );
    expect(notify).toHaveBeenCalledTimes(1);
    expect(notify).toHaveBeenCalledWith('Mary (Second)', 'Hi, anyone?', 'ticket-46', expect.any(Function));
    expect(row(queue, /Second/).textContent).toContain('1 unread');
    // The notification's click opens the chat.
    act(() => (notify.mock.calls[0][3] as () => void)());
    expect(screen.getByRole('tab', { name: /Second/ }).getAttribute('aria-selected')).toBe('true');
    // A Notice whose newest line is the agent's still alerts for the visitor lines it covers.
    act(() => liveFeed(sockets).receive(noticesFrame(notice(5, { sender_type: 'supporter', visitor_messages: 1, preview: 'Checking now', waiting_since: null, unread: 1 }))));
    expect(notify).toHaveBeenCalledTimes(2);
    expect(notify).toHaveBeenLastCalledWith('John Doe (Order not arrived)', 'Checking now', 'ticket-45', expect.any(Function));
  });

  it('keeps unread at 0 and stays quiet while the agent watches the chat; a chat behind another tab still alerts', async () => {
    const { sockets, notify } = setup([ticket({ last_seq: 2 }), ticket({ id: 46, session_id: 's46', subject: 'Second', last_seq: 1 })]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    act(() => liveFeed(sockets).open());
    fireEvent.click(await within(queue).findByRole('button', { name: /Order not arrived/ }));
    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/supporter/sess-1'))).toBe(true));
    const chat = sockets.sockets.find((s) => s.url.includes('/ws/support/supporter/sess-1'))!;
    act(() => {
      chat.open();
      chat.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 2 }), last_seq: 2, replayed: 0 } });
      chat.receive({ type: 'message', message: msg(3, { message: 'Still there?' }) });
    });
    // The chat's socket had the line first; the Notice still updates the row.
    act(() => liveFeed(sockets).receive(noticesFrame(notice(3, { preview: 'Still there?', unread: 1 }))));
    expect(row(queue, /Order not arrived/).textContent).toContain('Still there?');
    expect(row(queue, /Order not arrived/).textContent).not.toContain('unread');
    expect(notify).not.toHaveBeenCalled();

    // The agent turns to another chat: ticket 45 is behind a tab, not watched.
    fireEvent.click(row(queue, /Second/));
    act(() => chat.receive({ type: 'message', message: msg(4, { message: 'Hello??' }) }));
    act(() => liveFeed(sockets).receive(noticesFrame(notice(4, { preview: 'Hello??', unread: 1 }))));
    expect(row(queue, /Order not arrived/).textContent).toContain('1 unread');
    expect(notify).toHaveBeenCalledWith('John Doe (Order not arrived)', 'Hello??', 'ticket-45', expect.any(Function));
  });

  it('asks for the feed\'s scope on the URL, on every opening and when the assignee filter changes', async () => {
    const { sockets, clock } = setup([ticket()]);
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    await within(queue).findByRole('button', { name: /Order not arrived/ });
    const first = liveFeed(sockets);
    expect(new URL(first.url).searchParams.get('scope')).toBe('all');
    act(() => first.open());
    expect(first.sentOfType('scope')).toEqual([{ type: 'scope', data: { scope: 'all' } }]);

    const assignee = screen.getByRole('combobox', { name: 'Assignee filter' });
    fireEvent.change(assignee, { target: { value: 'me' } });
    expect(first.sentOfType('scope').at(-1)).toEqual({ type: 'scope', data: { scope: 'mine' } });
    fireEvent.change(assignee, { target: { value: 'none' } });
    expect(first.sentOfType('scope')).toHaveLength(3);
    expect(first.sentOfType('scope').at(-1)).toEqual({ type: 'scope', data: { scope: 'mine' } });
    // Other filters leave the scope alone.
    fireEvent.change(screen.getByRole('combobox', { name: 'Priority filter' }), { target: { value: 'high' } });
    expect(first.sentOfType('scope')).toHaveLength(3);

    // A reconnect asks with the current filter, on the URL and in a frame.
    act(() => first.drop(1006));
    act(() => clock.advance(2_000));
    const second = liveFeed(sockets);
    expect(second).not.toBe(first);
    expect(new URL(second.url).searchParams.get('scope')).toBe('mine');
    act(() => second.open());
    expect(second.sentOfType('scope')).toEqual([{ type: 'scope', data: { scope: 'mine' } }]);
    fireEvent.change(assignee, { target: { value: 'any' } });
    expect(second.sentOfType('scope').at(-1)).toEqual({ type: 'scope', data: { scope: 'all' } });
    await waitFor(() => expect(screen.queryByText('Loading tickets…')).toBeNull());
  });
});
