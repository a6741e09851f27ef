// Issue 16 in the dashboard: the team's statuses live from `agent_updated`, the
// agent's own status switch (optimistic, rolled back on error), `activity` on the
// feed at most once a minute, the Transfer list, the admin settings page, and a chat
// given to me by the router opening by itself (but not after my own Join).
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import type { Agent, Settings, Ticket } from '../shared/protocol';
import { fakeFetch, type Route } from '../test/fakeFetch';
import { FakeScheduler, FakeWakeSource, SocketFactory, msg, ticket, type FakeWebSocket } from '../test/fakes';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';
import { ACTIVITY_INTERVAL_MS } from './presence';

beforeEach(() => localStorage.clear());

const ME: Agent = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'admin', status: 'online', max_chats: 3, open_chats: 0 };
const BOB: Agent = { id: 4, email: 'bob@example.com', name: 'Bob', role: 'agent', status: 'online', max_chats: 3, open_chats: 2 };
const CAROL: Agent = { id: 5, email: 'carol@example.com', name: 'Carol', role: 'agent', status: 'away', max_chats: 3, open_chats: 0 };

interface Options {
  statusFails?: boolean;
  /** Holds the answer of POST …/assign until released. */
  holdAssign?: boolean;
  me?: Agent;
}

function setup(initial: Ticket[], opts: Options = {}) {
  let settings: Settings = { assignment: 'auto', away_after_minutes: 10 };
  let releaseAssign: (() => void) | null = null;
  const assignHeld = new Promise<void>((r) => (releaseAssign = r));
  const routes: Route[] = [
    ({ url }) => (url.pathname === '/api/support/agents/me' ? { status: 200, body: opts.me ?? ME } : undefined),
    ({ method, url }) => (method === 'GET' && url.pathname === '/api/support/agents' ? { status: 200, body: { agents: [opts.me ?? ME, BOB, CAROL] } } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: initial, next_cursor: null } } : undefined),
    ({ url }) => (/^\/api\/support\/tickets\/\d+\/messages$/.test(url.pathname) ? { status: 200, body: { messages: [msg(1)], has_more: false } } : undefined),
    ({ url }) => (/^\/api\/support\/tickets\/\d+\/context$/.test(url.pathname) ? { status: 200, body: { pages: [], user_agent: null, browser: null, os: null, locale: null, timezone: null, previous_tickets: [] } } : undefined),
    ({ method, url, body }) => {
      if (method !== 'PUT' || url.pathname !== '/api/support/agents/me/status') return undefined;
      if (opts.statusFails) return { status: 503, body: { error: { code: 'unavailable', message: 'The service is busy.' } } };
      return { status: 200, body: { ...(opts.me ?? ME), status: (body as { status: string }).status } };
    },
    ({ method, url, body }) =>
      method === 'POST' && url.pathname === '/api/support/tickets/45/transfer'
        ? { status: 200, body: ticket({ status: 'assigned', supporter_id: (body as { supporter_id: number }).supporter_id, supporter_name: 'Bob', updated_at: '2025-12-26T10:02:00Z' }) }
        : undefined,
    ({ method, url, body }) => {
      if (method === 'GET' && url.pathname === '/api/support/settings') return { status: 200, body: settings };
      if (method !== 'PUT' || url.pathname !== '/api/support/settings') return undefined;
      const b = body as Partial<Settings>;
      if (b.away_after_minutes === 999) return { status: 400, body: { error: { code: 'validation_failed', message: 'away_after_minutes is out of range', field: 'away_after_minutes' } } };
      settings = { ...settings, ...b };
      return { status: 200, body: settings };
    },
    ({ method, url, body }) =>
      method === 'PATCH' && url.pathname === '/api/support/agents/4' ? { status: 200, body: { ...BOB, ...(body as Partial<Agent>) } } : undefined,
  ];
  const { fetch: routed, calls } = fakeFetch(routes);
  // POST …/assign (Join) may be held, so the feed's copy can arrive first.
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    if (init?.method === 'POST' && input.endsWith('/tickets/46/assign')) {
      calls.push({ method: 'POST', path: '/api/support/tickets/46/assign', body: JSON.parse(String(init.body)) as unknown });
      if (opts.holdAssign) await assignHeld;
      return new Response(JSON.stringify(ticket({ id: 46, session_id: 's46', subject: 'Joined', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:03:00Z' })), { status: 200 });
    }
    return routed(input, init);
  };
  const sockets = new SocketFactory();
  const notify = vi.fn();
  const alerts = new Alerts({ notification: null, createAudio: null });
  alerts.notify = notify;
  const clock = new FakeScheduler();
  const controller = new DashboardController({
    api: new ApiClient({ fetch }),
    alerts,
    createSocket: sockets.create,
    isAttentive: () => true,
    scheduler: clock,
    now: () => clock.now,
    random: () => 0.5,
    // No pings: the test moves the clock by minutes without answering them.
    liveness: { pingIntervalMs: 1e12, timeoutMs: 1e12 },
    wake: new FakeWakeSource().subscribe,
  });
  render(<Dashboard controller={controller} />);
  return { controller, sockets, calls, notify, clock, release: () => releaseAssign?.() };
}

const feed = (sockets: SocketFactory): FakeWebSocket => {
  const ws = sockets.sockets.find((s) => s.url.includes('/ws/support/agent?'));
  if (!ws) throw new Error('no feed socket');
  return ws;
};

async function signedIn(sockets: SocketFactory) {
  await screen.findByRole('region', { name: 'Ticket queue' });
  await waitFor(() => expect(sockets.sockets.length).toBeGreaterThan(0));
  act(() => feed(sockets).open());
}

describe('presence in the dashboard (issue 16)', () => {
  it('keeps the team live from agent_updated: the queue row\'s dot, a new agent, and my own status', async () => {
    const { sockets, controller } = setup([ticket({ status: 'assigned', supporter_id: 4, supporter_name: 'Bob' })]);
    await signedIn(sockets);
    const queue = screen.getByRole('region', { name: 'Ticket queue' });
    await waitFor(() => expect(within(queue).getByRole('img', { name: 'online' })).toBeTruthy());
    act(() => feed(sockets).receive({ type: 'agent_updated', agent: { ...BOB, status: 'away' } }));
    expect(within(queue).getByRole('img', { name: 'away' })).toBeTruthy();
    act(() => feed(sockets).receive({ type: 'agent_updated', agent: { id: 9, email: 'dan@example.com', name: 'Dan', role: 'agent', status: 'online', max_chats: 2, open_chats: 0 } }));
    expect(controller.team.agents.map((a) => a.name)).toEqual(['Alice', 'Bob', 'Carol', 'Dan']);
    // The server put me away (inactivity): the switch follows.
    act(() => feed(sockets).receive({ type: 'agent_updated', agent: { ...ME, status: 'away' } }));
    expect((screen.getByRole('combobox', { name: 'Your status' }) as HTMLSelectElement).value).toBe('away');
  });

  it('the status switch PUTs the choice, shows it at once, and puts it back when the server refuses', async () => {
    const ok = setup([]);
    await signedIn(ok.sockets);
    const select = screen.getByRole('combobox', { name: 'Your status' }) as HTMLSelectElement;
    expect(select.value).toBe('online');
    fireEvent.change(select, { target: { value: 'away' } });
    expect(select.value).toBe('away'); // optimistic
    await waitFor(() => expect(ok.calls).toContainEqual({ method: 'PUT', path: '/api/support/agents/me/status', body: { status: 'away' } }));
    await waitFor(() => expect(ok.controller.state.savingStatus).toBe(false));
    expect(select.value).toBe('away');
    ok.controller.dispose();
  });

  it('rolls the switch back with an error when the PUT fails', async () => {
    const failing = setup([], { statusFails: true });
    await signedIn(failing.sockets);
    const select = screen.getByRole('combobox', { name: 'Your status' }) as HTMLSelectElement;
    fireEvent.change(select, { target: { value: 'away' } });
    expect(select.value).toBe('away');
    expect(await screen.findByText(/Your status could not be changed: The service is busy\./)).toBeTruthy();
    expect(select.value).toBe('online');
  });

  it('sends activity on input at most once a minute', async () => {
    const { sockets, clock } = setup([]);
    await signedIn(sockets);
    const activity = (): number => feed(sockets).sentOfType('activity').length;
    // The feed opening counts as activity on the server: nothing to send yet.
    fireEvent.keyDown(document.body, { key: 'x' });
    expect(activity()).toBe(0);
    act(() => clock.advance(ACTIVITY_INTERVAL_MS));
    expect(activity()).toBe(1); // the keydown of that minute, at its end
    fireEvent.pointerDown(document.body);
    fireEvent.focusIn(document.body);
    fireEvent.keyDown(document.body, { key: 'y' });
    expect(activity()).toBe(1);
    act(() => clock.advance(ACTIVITY_INTERVAL_MS));
    expect(activity()).toBe(2);
    act(() => clock.advance(5 * ACTIVITY_INTERVAL_MS));
    expect(activity()).toBe(2); // idle: nothing
    fireEvent.pointerDown(document.body);
    expect(activity()).toBe(3); // first input after a quiet minute: at once
  });

  it('Transfer lists teammates with status and load and POSTs the transfer', async () => {
    const { sockets, calls } = setup([ticket({ last_seq: 1, status: 'assigned', supporter_id: 3, supporter_name: 'Alice' })]);
    await signedIn(sockets);
    fireEvent.click(screen.getByRole('button', { name: /Order not arrived/ }));
    const panel = await screen.findByRole('tabpanel');
    fireEvent.click(await within(panel).findByRole('button', { name: 'Transfer' }));
    const list = within(panel).getByRole('group', { name: 'Transfer to a teammate' });
    const options = within(list).getAllByRole('button').map((b) => b.textContent?.trim());
    expect(options).toEqual(['Bob · online · 2/3', 'Carol · away · 0/3']); // not the holder (me)
    expect(document.activeElement?.textContent?.trim()).toBe('Bob · online · 2/3');
    fireEvent.keyDown(list, { key: 'Escape' });
    expect(within(panel).queryByRole('group', { name: 'Transfer to a teammate' })).toBeNull();
    expect(document.activeElement).toBe(within(panel).getByRole('button', { name: 'Transfer' }));
    fireEvent.click(within(panel).getByRole('button', { name: 'Transfer' }));
    fireEvent.click(within(panel).getByRole('button', { name: 'Bob · online · 2/3' }));
    await waitFor(() => expect(calls).toContainEqual({ method: 'POST', path: '/api/support/tickets/45/transfer', body: { supporter_id: 4 } }));
    expect(await within(panel).findByText(/assigned to Bob/)).toBeTruthy();
  });
});

describe('a chat given to me (issue 16)', () => {
  it('opens by itself with a notice and a notification when the router assigns it to me', async () => {
    const { sockets, notify, controller } = setup([ticket({ id: 46, session_id: 's46', subject: 'Auto one', status: 'open' })]);
    await signedIn(sockets);
    await screen.findByRole('button', { name: /Auto one/ });
    act(() =>
      feed(sockets).receive({
        type: 'ticket_updated',
        ticket: ticket({ id: 46, session_id: 's46', subject: 'Auto one', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:01:00Z' }),
      }),
    );
    expect(controller.state.openChats).toEqual([46]);
    expect(screen.getByRole('tab', { name: /Auto one/ }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByText('Assigned to you:')).toBeTruthy();
    expect(notify).toHaveBeenCalledWith('Assigned to you: Auto one', 'John Doe', 'assigned-46', expect.any(Function));
    // The same state again (reconciliation) neither reopens nor notifies.
    act(() =>
      feed(sockets).receive({
        type: 'ticket_updated',
        ticket: ticket({ id: 46, session_id: 's46', subject: 'Auto one', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:01:00Z' }),
      }),
    );
    expect(notify.mock.calls.filter((c) => c[2] === 'assigned-46')).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss: Auto one' }));
    expect(screen.queryByText('Assigned to you:')).toBeNull();
  });

  it('also opens a known ticket given to me while the feed was away (the reload after a reconnect)', async () => {
    const list = [ticket({ id: 48, session_id: 's48', subject: 'During the gap' })];
    const { sockets, clock, controller } = setup(list);
    await signedIn(sockets);
    await screen.findByRole('button', { name: /During the gap/ });
    act(() => feed(sockets).drop());
    list[0] = ticket({ id: 48, session_id: 's48', subject: 'During the gap', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:04:00Z' });
    act(() => clock.advance(2_000));
    const reopened = sockets.sockets.filter((s) => s.url.includes('/ws/support/agent?'));
    act(() => reopened[reopened.length - 1].open());
    await waitFor(() => expect(controller.state.openChats).toEqual([48]));
    expect(screen.getByText('Assigned to you:')).toBeTruthy();
  });

  it('adds the tab behind the chat I am in, without taking it away', async () => {
    const { sockets, controller } = setup([ticket({ last_seq: 1 }), ticket({ id: 47, session_id: 's47', subject: 'Behind' })]);
    await signedIn(sockets);
    fireEvent.click(await screen.findByRole('button', { name: /Order not arrived/ }));
    act(() =>
      feed(sockets).receive({ type: 'ticket_updated', ticket: ticket({ id: 47, session_id: 's47', subject: 'Behind', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:01:00Z' }) }),
    );
    expect(controller.state.openChats).toEqual([45, 47]);
    expect(controller.state.activeChat).toBe(45);
    fireEvent.click(screen.getByRole('button', { name: 'Show chat' }));
    expect(controller.state.activeChat).toBe(47);
  });

  it('does not treat my own Join as an assignment, even when the feed is faster than the answer', async () => {
    const { sockets, notify, calls, release } = setup([ticket({ id: 46, session_id: 's46', subject: 'Joined', status: 'open', last_seq: 1 })], { holdAssign: true });
    await signedIn(sockets);
    fireEvent.click(await screen.findByRole('button', { name: /Joined/ }));
    const panel = await screen.findByRole('tabpanel');
    fireEvent.click(await within(panel).findByRole('button', { name: 'Join' }));
    await waitFor(() => expect(calls.some((c) => c.path === '/api/support/tickets/46/assign')).toBe(true));
    act(() =>
      feed(sockets).receive({ type: 'ticket_updated', ticket: ticket({ id: 46, session_id: 's46', subject: 'Joined', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:03:00Z' }) }),
    );
    await act(async () => release());
    await waitFor(() => expect(within(panel).getByText('Assigned to you')).toBeTruthy());
    expect(screen.queryByText('Assigned to you:')).toBeNull();
    expect(notify.mock.calls.some((c) => c[2] === 'assigned-46')).toBe(false);
  });
});

describe('the settings page (issue 16)', () => {
  it('checks the routing form, saves it, and shows the server\'s 400 under its field', async () => {
    const { sockets, calls } = setup([]);
    await signedIn(sockets);
    fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    const minutes = (await within(dialog).findByLabelText(/Away after inactivity/)) as HTMLInputElement;
    expect(minutes.value).toBe('10');
    fireEvent.change(minutes, { target: { value: '2000' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save routing' }));
    expect(within(dialog).getByText(/from 0 to 1440/)).toBeTruthy();
    expect(minutes.getAttribute('aria-invalid')).toBe('true');
    expect(calls.some((c) => c.method === 'PUT' && c.path === '/api/support/settings')).toBe(false);

    fireEvent.change(minutes, { target: { value: '999' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save routing' }));
    expect(await within(dialog).findByText('away_after_minutes is out of range')).toBeTruthy();
    expect(minutes.getAttribute('aria-describedby')).toBeTruthy();
    expect(document.getElementById(minutes.getAttribute('aria-describedby') ?? '')?.textContent).toBe('away_after_minutes is out of range');

    fireEvent.click(within(dialog).getByLabelText(/^Manual/));
    fireEvent.change(minutes, { target: { value: '5' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save routing' }));
    expect(await within(dialog).findByText('Routing settings saved.')).toBeTruthy();
    expect(calls).toContainEqual({ method: 'PUT', path: '/api/support/settings', body: { assignment: 'manual', away_after_minutes: 5 } });
  });

  it('lists the team with open chats of max and edits max_chats (0 to 50)', async () => {
    const { sockets, calls } = setup([]);
    await signedIn(sockets);
    fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    await waitFor(() => expect(within(dialog).getByText('2 open chats of 3')).toBeTruthy());
    const max = within(dialog).getByLabelText('Max chats for Bob') as HTMLInputElement;
    fireEvent.change(max, { target: { value: '51' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save max chats for Bob' }));
    expect(within(dialog).getByText(/from 0 to 50/)).toBeTruthy();
    expect(calls.some((c) => c.method === 'PATCH')).toBe(false);
    fireEvent.change(max, { target: { value: '5' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save max chats for Bob' }));
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/agents/4', body: { max_chats: 5 } }));
    expect(await within(dialog).findByText('2 open chats of 5')).toBeTruthy();
  });

  it('is for admins only', async () => {
    const { sockets } = setup([], { me: { ...ME, role: 'agent' } });
    await signedIn(sockets);
    expect(screen.queryByRole('button', { name: 'Settings' })).toBeNull();
    expect(screen.getByRole('combobox', { name: 'Your status' })).toBeTruthy();
  });
});
