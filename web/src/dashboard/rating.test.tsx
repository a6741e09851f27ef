// Issue 18 on the dashboard: the visitor's rating in the ticket's header and a small
// score in the queue row, live from the feed's `ticket_updated`.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import { fakeFetch } from '../test/fakeFetch';
import { FakeScheduler, FakeWakeSource, SocketFactory, msg, ticket } from '../test/fakes';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';

const ALICE = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'agent' as const };
const resolved = ticket({ supporter_id: 3, supporter_name: 'Alice', status: 'resolved', last_seq: 1, rating: null });

function setup() {
  const { fetch } = fakeFetch([
    ({ url }) => (url.pathname === '/api/support/agents/me' ? { status: 200, body: ALICE } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: [resolved], next_cursor: null } } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets/45/messages' ? { status: 200, body: { messages: [msg(1)], has_more: false } } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets/45' ? { status: 200, body: resolved } : undefined),
  ]);
  const alerts = new Alerts({ notification: null, createAudio: null });
  alerts.notify = vi.fn();
  const sockets = new SocketFactory();
  const controller = new DashboardController({
    api: new ApiClient({ fetch }),
    alerts,
    createSocket: sockets.create,
    isAttentive: () => true,
    scheduler: new FakeScheduler(),
    random: () => 0.5,
    wake: new FakeWakeSource().subscribe,
  });
  render(<Dashboard controller={controller} />);
  return { sockets };
}

beforeEach(() => localStorage.clear());

describe('the rating on the dashboard', () => {
  it('appears in the queue row and the ticket header when the feed brings it', async () => {
    const { sockets } = setup();
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    fireEvent.change(within(queue).getByLabelText('Status filter'), { target: { value: 'all' } });
    fireEvent.click(await within(queue).findByRole('button', { name: /Order not arrived/ }));
    const panel = await screen.findByRole('tabpanel');
    await within(panel).findByRole('heading', { name: 'Order not arrived' });
    expect(within(panel).queryByText(/^Rated/)).toBeNull();

    await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/agent?'))).toBe(true));
    const feed = sockets.sockets.find((s) => s.url.includes('/ws/support/agent?'))!;
    act(() => {
      feed.open();
      feed.receive({
        type: 'ticket_updated',
        ticket: { ...resolved, updated_at: '2025-12-26T10:09:00Z', rating: { score: 4, comment: 'Quick and kind', created_at: '2025-12-26T10:09:00Z' } },
      });
    });
    expect(await within(panel).findByText('Rated 4 of 5')).toBeTruthy();
    expect(within(panel).getByText('Quick and kind')).toBeTruthy();
    const row = within(queue).getByRole('button', { name: /Order not arrived/ });
    expect(row.querySelector('.db-rating')?.textContent).toBe('★ 4 of 5');
  });
});
