// The dashboard's agent tools (issue 15) against a fake server: labels in the
// conversation header and on queue rows, the queue's label filter (on the list
// request and on live feed frames), canned responses in the reply box, and the
// admins' settings page.

import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import type { CannedResponse, Ticket } from '../shared/protocol';
import { fakeFetch, type Route } from '../test/fakeFetch';
import { FakeScheduler, FakeWakeSource, SocketFactory, ticket } from '../test/fakes';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';

beforeEach(() => localStorage.clear());

const ALICE = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'agent' as const };
const ADMIN = { id: 1, email: 'admin@example.com', name: 'Ada', role: 'admin' as const };

function setup(tickets: Ticket[], agent: typeof ALICE | typeof ADMIN = ALICE) {
  const canned: CannedResponse[] = [
    { id: 7, shortcut: 'refund', title: 'Refund policy', body: 'Hi {{visitor.name}}, {{agent.name}} here: refunds take 5 days.', uses: 2, updated_at: '2026-01-01T00:00:00Z' },
  ];
  const routes: Route[] = [
    ({ url }) => (url.pathname === '/api/support/agents/me' ? { status: 200, body: agent } : undefined),
    ({ url }) => {
      if (url.pathname !== '/api/support/tickets') return undefined;
      const label = url.searchParams.get('label');
      return { status: 200, body: { tickets: label ? tickets.filter((t) => t.labels.includes(label)) : tickets, next_cursor: null } };
    },
    ({ url }) => (url.pathname === '/api/support/tickets/45/messages' ? { status: 200, body: { messages: [], has_more: false } } : undefined),
    ({ url }) => (url.pathname === '/api/support/labels' ? { status: 200, body: { labels: [{ name: 'billing', count: 4 }, { name: 'vip', count: 1 }] } } : undefined),
    ({ method, url, body }) => {
      if (method !== 'PATCH' || url.pathname !== '/api/support/tickets/45') return undefined;
      const held = tickets.find((t) => t.id === 45) ?? ticket();
      return { status: 200, body: { ...held, ...(body as Partial<Ticket>), updated_at: '2026-01-02T00:00:00Z' } };
    },
    ({ method, url }) => (method === 'GET' && url.pathname === '/api/support/canned' ? { status: 200, body: { canned } } : undefined),
    ({ method, url }) => (method === 'POST' && url.pathname === '/api/support/canned/7/use' ? { status: 204 } : undefined),
    ({ method, url, body }) => {
      if (method !== 'POST' || url.pathname !== '/api/support/canned') return undefined;
      const b = body as { shortcut: string; title: string; body: string };
      if (canned.some((c) => c.shortcut === b.shortcut)) return { status: 409, body: { error: { code: 'conflict', message: 'a canned response with this shortcut already exists' } } };
      if (b.title.trim() === '') return { status: 400, body: { error: { code: 'validation_failed', message: 'title is required', field: 'title' } } };
      const created = { id: 8, ...b, uses: 0, updated_at: '2026-01-03T00:00:00Z' };
      canned.push(created);
      return { status: 201, body: created };
    },
  ];
  const { fetch, calls } = fakeFetch(routes);
  const sockets = new SocketFactory();
  const alerts = new Alerts({ notification: null, createAudio: null });
  alerts.notify = vi.fn();
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
  const feed = () => {
    const ws = sockets.sockets.find((s) => s.url.includes('/ws/support/agent?'));
    if (!ws) throw new Error('no feed socket');
    return ws;
  };
  return { controller, sockets, calls, feed };
}

const queue = () => screen.findByRole('region', { name: 'Ticket queue' });

describe('labels', () => {
  it('shows labels on queue rows and filters the queue by label, on the request and on live frames', async () => {
    const { calls, feed } = setup([ticket({ labels: ['billing', 'vip'] }), ticket({ id: 46, session_id: 's46', subject: 'Plain question' })]);
    const q = await queue();
    const row = await within(q).findByRole('button', { name: /Order not arrived/ });
    expect(within(row).getByLabelText('Labels: billing, vip')).toBeTruthy();
    act(() => feed().open());

    const filter = within(q).getByRole('combobox', { name: 'Label filter' });
    await waitFor(() => expect(within(filter).getAllByRole('option').map((o) => o.textContent)).toEqual(['Any label', 'billing (4)', 'vip (1)']));
    fireEvent.change(filter, { target: { value: 'vip' } });
    await waitFor(() => expect(calls.some((c) => c.path.startsWith('/api/support/tickets?') && c.path.includes('label=vip'))).toBe(true));
    await waitFor(() => expect(within(q).queryByRole('button', { name: /Plain question/ })).toBeNull());

    // Live: a ticket labelled vip elsewhere joins the list; one that loses the label leaves.
    act(() => feed().receive({ type: 'ticket_updated', ticket: ticket({ id: 46, session_id: 's46', subject: 'Plain question', labels: ['vip'], updated_at: '2026-01-05T00:00:00Z' }) }));
    expect(await within(q).findByRole('button', { name: /Plain question/ })).toBeTruthy();
    act(() => feed().receive({ type: 'ticket_updated', ticket: ticket({ labels: ['billing'], updated_at: '2026-01-05T00:00:00Z' }) }));
    await waitFor(() => expect(within(q).queryByRole('button', { name: /Order not arrived/ })).toBeNull());
    act(() => feed().receive({ type: 'ticket_created', ticket: ticket({ id: 48, session_id: 's48', subject: 'No labels yet' }) }));
    expect(within(q).queryByRole('button', { name: /No labels yet/ })).toBeNull();
  });

  it('adds a label from the conversation header with Enter and removes one with its button', async () => {
    const { calls } = setup([ticket({ labels: ['billing'], supporter_id: 3, supporter_name: 'Alice', status: 'assigned' })]);
    fireEvent.click(await within(await queue()).findByRole('button', { name: /Order not arrived/ }));
    const labels = await screen.findByRole('group', { name: 'Labels' });
    const input = within(labels).getByRole('combobox', { name: 'Add a label' });
    // The autocomplete offers the labels in use that the ticket does not have yet.
    const list = document.getElementById(input.getAttribute('list') ?? '');
    await waitFor(() => expect([...(list?.querySelectorAll('option') ?? [])].map((o) => o.value)).toEqual(['vip']));

    fireEvent.change(input, { target: { value: 'two words' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(within(labels).getByRole('alert').textContent).toContain('no spaces');
    expect(calls.some((c) => c.method === 'PATCH')).toBe(false);

    fireEvent.change(input, { target: { value: ' VIP ' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/tickets/45', body: { labels: ['billing', 'vip'] } }));
    expect(await within(labels).findByRole('button', { name: 'Remove label vip' })).toBeTruthy();
    fireEvent.click(within(labels).getByRole('button', { name: 'Remove label billing' }));
    await waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/support/tickets/45', body: { labels: ['vip'] } }));
  });
});

describe('canned responses', () => {
  it('inserts a filled-in canned response with / in the reply box and counts the use', async () => {
    const { calls } = setup([ticket({ supporter_id: 3, supporter_name: 'Alice', status: 'assigned', user_name: 'Jane Roe' })]);
    fireEvent.click(await within(await queue()).findByRole('button', { name: /Order not arrived/ }));
    const reply = await screen.findByRole('textbox', { name: 'Reply' });
    fireEvent.change(reply, { target: { value: '/ref' } });
    expect(await screen.findByRole('option', { name: '/refund Refund policy' })).toBeTruthy();
    fireEvent.keyDown(reply, { key: 'Enter' });
    expect((reply as HTMLTextAreaElement).value).toBe('Hi Jane Roe, Alice here: refunds take 5 days.');
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/api/support/canned/7/use')).toBe(true));
  });

  it('offers the settings page to admins only', async () => {
    setup([ticket()], ALICE);
    await queue();
    expect(screen.queryByRole('button', { name: 'Canned responses' })).toBeNull();
  });

  it('lets an admin create one, with the server errors next to their fields', async () => {
    setup([ticket()], ADMIN);
    fireEvent.click(await screen.findByRole('button', { name: 'Canned responses' }));
    const dialog = await screen.findByRole('dialog', { name: 'Canned responses' });
    expect(await within(dialog).findByText('/refund')).toBeTruthy();
    const form = within(dialog).getByRole('form', { name: 'New canned response' });
    fireEvent.change(within(form).getByLabelText(/Shortcut/), { target: { value: 'refund' } });
    fireEvent.change(within(form).getByLabelText('Title'), { target: { value: 'Again' } });
    fireEvent.change(within(form).getByLabelText('Text'), { target: { value: 'Body' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    expect((await within(form).findByRole('alert')).textContent).toBe('Another canned response has this shortcut.');
    expect(within(form).getByLabelText(/Shortcut/).getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(within(form).getByLabelText(/Shortcut/), { target: { value: 'thanks' } });
    fireEvent.change(within(form).getByLabelText('Title'), { target: { value: ' ' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    expect((await within(form).findByRole('alert')).textContent).toBe('title is required');

    fireEvent.change(within(form).getByLabelText('Title'), { target: { value: 'Thanks' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('/thanks')).toBeTruthy();
    expect(within(dialog).getByRole('status').textContent).toBe('Saved /thanks.');
  });
});
