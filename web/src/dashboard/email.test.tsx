// Issue 18's emails on the dashboard: "Email transcript" in the chat header, the
// admins' email outbox in the settings page, and the notice of a new rating that the
// feed's `rating_created` brings.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import type { OutboxEmail, OutboxPage } from '../shared/protocol';
import { fakeFetch, type Route } from '../test/fakeFetch';
import { FakeScheduler, FakeWakeSource, SocketFactory, msg, ticket, type FakeWebSocket } from '../test/fakes';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';
import { Outbox } from './outbox';
import { NO_SMTP_WARNING, OutboxSection, deliveryDetails } from './OutboxSection';

const ADMIN = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'admin' as const };
const RESOLVED = ticket({ supporter_id: 3, supporter_name: 'Alice', status: 'resolved', last_seq: 1, user_email: 'ada@example.com', subject: 'Where is my order?' });

function email(id: number, overrides: Partial<OutboxEmail> = {}): OutboxEmail {
  return {
    id,
    kind: 'transcript',
    ticket_id: 45,
    to: 'ada@example.com',
    subject: 'Transcript: Where is my order?',
    status: 'pending',
    attempts: 0,
    last_error: null,
    next_attempt_at: '2025-12-26T10:05:00Z',
    created_at: '2025-12-26T10:00:00Z',
    sent_at: null,
    ...overrides,
  };
}

function setup(extra: Route[] = []) {
  const { fetch, calls } = fakeFetch([
    ...extra,
    ({ url }) => (url.pathname === '/api/support/agents/me' ? { status: 200, body: ADMIN } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: [RESOLVED], next_cursor: null } } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets/45/messages' ? { status: 200, body: { messages: [msg(1)], has_more: false } } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets/45' ? { status: 200, body: RESOLVED } : undefined),
  ]);
  const alerts = new Alerts({ notification: null, createAudio: null });
  const notify = vi.fn();
  alerts.notify = notify;
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
  return { calls, sockets, notify };
}

async function openTicket(): Promise<HTMLElement> {
  const queue = await screen.findByRole('region', { name: 'Ticket queue' });
  fireEvent.change(within(queue).getByLabelText('Status filter'), { target: { value: 'all' } });
  fireEvent.click(await within(queue).findByRole('button', { name: /Where is my order\?/ }));
  const panel = await screen.findByRole('tabpanel');
  await within(panel).findByRole('heading', { name: 'Where is my order?' });
  return panel;
}

async function feedOf(sockets: SocketFactory): Promise<FakeWebSocket> {
  await waitFor(() => expect(sockets.sockets.some((s) => s.url.includes('/ws/support/agent?'))).toBe(true));
  const feed = sockets.sockets.find((s) => s.url.includes('/ws/support/agent?'))!;
  act(() => feed.open());
  return feed;
}

beforeEach(() => localStorage.clear());

describe('"Email transcript" in the chat header', () => {
  const transcript =
    (status: number, body: unknown): Route =>
    ({ method, url }) =>
      method === 'POST' && url.pathname === '/api/support/tickets/45/transcript' ? { status, body } : undefined;

  it('opens a dialog with the ticket\'s email, queues the transcript and confirms', async () => {
    const { calls } = setup([transcript(202, email(9))]);
    const panel = await openTicket();
    const button = within(panel).getByRole('button', { name: 'Email transcript' });
    fireEvent.click(button);
    const dialog = within(panel).getByRole('dialog', { name: 'Email the transcript' });
    const input = within(dialog).getByLabelText('Send to') as HTMLInputElement;
    expect(input.value).toBe('ada@example.com');
    expect(input.type).toBe('email');
    expect(document.activeElement).toBe(input);
    fireEvent.change(input, { target: { value: 'boss@example.com' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Send transcript' }));
    expect(await within(panel).findByText('Transcript queued for boss@example.com.')).toBeTruthy();
    expect(within(panel).queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(button);
    expect(calls.filter((c) => c.path.endsWith('/transcript'))).toEqual([{ method: 'POST', path: '/api/support/tickets/45/transcript', body: { email: 'boss@example.com' } }]);
  });

  it('shows a 400 under the field and a 429 for the dialog; Escape closes it', async () => {
    let answer = { status: 400, body: { error: { code: 'validation_failed', message: 'email is not a valid email address', field: 'email' } } } as { status: number; body: unknown };
    setup([({ method, url }) => (method === 'POST' && url.pathname === '/api/support/tickets/45/transcript' ? answer : undefined)]);
    const panel = await openTicket();
    fireEvent.click(within(panel).getByRole('button', { name: 'Email transcript' }));
    const dialog = within(panel).getByRole('dialog', { name: 'Email the transcript' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Send transcript' }));
    const error = await within(dialog).findByText('email is not a valid email address');
    expect(within(dialog).getByLabelText('Send to').getAttribute('aria-describedby')).toBe(error.id);
    answer = { status: 429, body: { error: { code: 'rate_limited', message: 'slow down', retry_after: 60 } } };
    fireEvent.click(within(dialog).getByRole('button', { name: 'Send transcript' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('You asked for several transcripts already: try again later.');
    fireEvent.keyDown(within(dialog).getByLabelText('Send to'), { key: 'Escape' });
    expect(within(panel).queryByRole('dialog')).toBeNull();
  });

  it('asks for an address before sending when the ticket has none', async () => {
    const { calls } = setup([
      ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: [{ ...RESOLVED, user_email: null }], next_cursor: null } } : undefined),
    ]);
    const panel = await openTicket();
    fireEvent.click(within(panel).getByRole('button', { name: 'Email transcript' }));
    const dialog = within(panel).getByRole('dialog', { name: 'Email the transcript' });
    expect((within(dialog).getByLabelText('Send to') as HTMLInputElement).value).toBe('');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Send transcript' }));
    expect(within(dialog).getByText('Enter the address to send the transcript to.')).toBeTruthy();
    expect(calls.some((c) => c.path.endsWith('/transcript'))).toBe(false);
  });
});

describe('the email outbox', () => {
  function outboxSetup(pages: (query: URLSearchParams) => { status: number; body: OutboxPage | unknown }) {
    const { fetch, calls } = fakeFetch([({ method, url }) => (method === 'GET' && url.pathname === '/api/support/outbox' ? pages(url.searchParams) : undefined)]);
    const outbox = new Outbox(new ApiClient({ fetch }));
    render(<OutboxSection id="outbox" outbox={outbox} />);
    return { calls, outbox };
  }

  it('lists the newest emails with their delivery, warns without SMTP, filters, pages and refreshes', async () => {
    const first: OutboxPage = {
      emails: [
        email(12, { kind: 'follow_up', subject: 'New reply: Where is my order?', attempts: 2, last_error: 'connection refused' }),
        email(11, { status: 'sent', next_attempt_at: null, attempts: 1, sent_at: '2025-12-26T10:01:00Z' }),
      ],
      next_before: 11,
      smtp_configured: false,
    };
    const second: OutboxPage = { emails: [email(10, { status: 'failed', attempts: 12, next_attempt_at: null, last_error: '550 no such user' })], next_before: null, smtp_configured: false };
    const { calls } = outboxSetup((q) => ({ status: 200, body: q.get('before') === '11' ? second : first }));
    const table = await screen.findByRole('table', { name: 'Email outbox' });
    expect(screen.getByText(NO_SMTP_WARNING)).toBeTruthy();
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByText('Follow-up')).toBeTruthy();
    expect(within(rows[0]).getByText('New reply: Where is my order?')).toBeTruthy();
    expect(rows[0].textContent).toContain('Pending');
    expect(rows[0].textContent).toContain('2 attempts');
    expect(rows[0].textContent).toContain('connection refused');
    expect(rows[0].textContent).toContain('next try');
    expect(within(rows[1]).getByText('Transcript')).toBeTruthy();
    expect(rows[1].textContent).not.toContain('attempt');

    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(4));
    expect(within(table).getAllByRole('row')[3].textContent).toContain('550 no such user');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();

    fireEvent.change(screen.getByLabelText('Show'), { target: { value: 'failed' } });
    await waitFor(() => expect(calls[calls.length - 1].path).toBe('/api/support/outbox?status=failed&limit=50'));
    fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await waitFor(() => expect(calls.filter((c) => c.path === '/api/support/outbox?status=failed&limit=50')).toHaveLength(2));
    expect(calls.map((c) => c.path)).toContain('/api/support/outbox?before=11&limit=50');
  });

  it('has no warning with SMTP, says when there is nothing, and explains a 403', async () => {
    let answer: { status: number; body: unknown } = { status: 200, body: { emails: [], next_before: null, smtp_configured: true } };
    outboxSetup(() => answer);
    expect(await screen.findByText('No emails.')).toBeTruthy();
    expect(screen.queryByText(NO_SMTP_WARNING)).toBeNull();
    answer = { status: 403, body: { error: { code: 'forbidden', message: 'admins only' } } };
    fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Only admins can see the email outbox.');
  });

  it('words the delivery of each status', () => {
    expect(deliveryDetails(email(1, { attempts: 1, next_attempt_at: null }))).toBe('1 attempt');
    expect(deliveryDetails(email(1, { status: 'sent', attempts: 3, last_error: 'old' }))).toBe('');
    expect(deliveryDetails(email(1, { status: 'failed', attempts: 12, next_attempt_at: '2025-12-26T10:05:00Z', last_error: '550 no such user' }))).toBe('12 attempts · 550 no such user');
  });

  it('is a section of the admins\' settings page', async () => {
    setup([({ url }) => (url.pathname === '/api/support/outbox' ? { status: 200, body: { emails: [email(3)], next_before: null, smtp_configured: false } } : undefined)]);
    fireEvent.click(await screen.findByRole('button', { name: 'Settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    expect(within(dialog).getByRole('link', { name: 'Email outbox' })).toBeTruthy();
    expect(await within(dialog).findByRole('table', { name: 'Email outbox' })).toBeTruthy();
    expect(within(dialog).getByText(NO_SMTP_WARNING)).toBeTruthy();
  });
});

describe('a new rating on the feed', () => {
  const rating = { score: 4, comment: 'Quick and kind', created_at: '2025-12-26T10:09:00Z' };

  it('shows a notice that opens the ticket, and a quiet desktop notification', async () => {
    const { sockets, notify } = setup();
    await screen.findByRole('region', { name: 'Ticket queue' });
    const feed = await feedOf(sockets);
    act(() => {
      feed.receive({ type: 'ticket_updated', ticket: { ...RESOLVED, updated_at: '2025-12-26T10:09:00Z', rating } });
      feed.receive({ type: 'rating_created', data: { ticket_id: 45, rating } });
    });
    const notice = await screen.findByRole('button', { name: /rating on “Where is my order\?” \(#45\)/ });
    expect(notice.textContent).toBe('★★★★☆4 of 5 stars rating on “Where is my order?” (#45)');
    expect(notify).toHaveBeenCalledWith('★★★★☆ rating on “Where is my order?” (#45)', 'Quick and kind', 'rating-45', expect.any(Function), false);
    fireEvent.click(notice);
    const panel = await screen.findByRole('tabpanel');
    expect(await within(panel).findByRole('heading', { name: 'Where is my order?' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: /rating on “Where is my order\?”/ })).toBeNull();
  });

  it('can be dismissed, and a rating of a ticket the dashboard never saw is ignored', async () => {
    const { sockets, notify } = setup();
    await screen.findByText('Where is my order?', { exact: false });
    const feed = await feedOf(sockets);
    act(() => feed.receive({ type: 'rating_created', data: { ticket_id: 999, rating } }));
    expect(screen.queryByText(/rating on/)).toBeNull();
    expect(notify).not.toHaveBeenCalled();
    act(() => feed.receive({ type: 'rating_created', data: { ticket_id: 45, rating: { ...rating, score: 2 } } }));
    expect(await screen.findByText(/rating on/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss the rating on Where is my order?' }));
    expect(screen.queryByText(/rating on/)).toBeNull();
    expect(screen.queryByRole('tabpanel')).toBeNull();
  });
});
