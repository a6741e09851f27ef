import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from './api';
import { fakeFetch } from '../test/fakeFetch';
import { ticket } from '../test/fakes';

describe('ApiClient', () => {
  it('speaks the contract paths and query parameters', async () => {
    const { fetch, calls } = fakeFetch([
      () => ({ status: 200, body: { tickets: [], next_cursor: null, messages: [], has_more: false } }),
    ]);
    const api = new ApiClient({ fetch });
    await api.getSessionMessages('s 1', { before_seq: 10, limit: 20 });
    await api.getTicketMessages(45, { after_seq: 3 });
    await api.listTickets({ status: ['open', 'assigned'], priority: ['high'], assigned: 'me', q: ' lost ' });
    await api.listTickets({ status: 'all' });
    await api.assignTicket(45);
    await api.updateTicket(45, { status: 'resolved' });
    expect(calls).toEqual([
      { method: 'GET', path: '/api/support/ticket/s%201/messages?before_seq=10&limit=20', body: undefined },
      { method: 'GET', path: '/api/support/tickets/45/messages?after_seq=3', body: undefined },
      { method: 'GET', path: '/api/support/tickets?status=open%2Cassigned&priority=high&assigned=me&q=lost', body: undefined },
      { method: 'GET', path: '/api/support/tickets?status=all', body: undefined },
      { method: 'POST', path: '/api/support/tickets/45/assign', body: {} },
      { method: 'PATCH', path: '/api/support/tickets/45', body: { status: 'resolved' } },
    ]);
  });

  it('speaks the email routes of issue 18', async () => {
    const { fetch, calls } = fakeFetch([() => ({ status: 202, body: {} })]);
    const api = new ApiClient({ fetch });
    await api.emailTranscript('s 1', 'ada@example.com');
    await api.emailTicketTranscript(45, 'ada@example.com');
    await api.resumeConversation('tok');
    await api.listOutbox();
    await api.listOutbox({ status: 'failed', before: 12, limit: 50 });
    expect(calls).toEqual([
      { method: 'POST', path: '/api/support/ticket/s%201/transcript', body: { email: 'ada@example.com' } },
      { method: 'POST', path: '/api/support/tickets/45/transcript', body: { email: 'ada@example.com' } },
      { method: 'POST', path: '/api/support/resume', body: { token: 'tok' } },
      { method: 'GET', path: '/api/support/outbox', body: undefined },
      { method: 'GET', path: '/api/support/outbox?status=failed&before=12&limit=50', body: undefined },
    ]);
  });

  it('turns error bodies into ApiError with code, field and Retry-After', async () => {
    const { fetch } = fakeFetch([
      ({ url }) =>
        url.pathname === '/api/support/ticket'
          ? { status: 400, body: { error: { code: 'validation_failed', message: 'user_email is not a valid email address', field: 'user_email' } } }
          : undefined,
      () => ({ status: 429, body: { error: { code: 'rate_limited', message: 'Too many' } }, headers: { 'Retry-After': '42' } }),
    ]);
    const api = new ApiClient({ fetch });
    const e1 = await api.createTicket({ user_name: 'J', subject: 'S', user_email: 'bad' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ApiError);
    expect(e1).toMatchObject({ status: 400, code: 'validation_failed', field: 'user_email' });
    const e2 = await api.me().catch((e: unknown) => e);
    expect(e2).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 42 });
  });

  it('returns the parsed body, and nothing for 204', async () => {
    const { fetch } = fakeFetch([
      ({ url }) => (url.pathname === '/api/support/auth/logout' ? { status: 204 } : undefined),
      () => ({ status: 201, body: ticket({ id: 7 }) }),
    ]);
    const api = new ApiClient({ fetch });
    expect((await api.createTicket({ user_name: 'J', subject: 'S' })).id).toBe(7);
    expect(await api.logout()).toBeUndefined();
  });

  it('reports a network failure as an ApiError', async () => {
    const api = new ApiClient({ fetch: async () => { throw new TypeError('Failed to fetch'); } });
    await expect(api.me()).rejects.toMatchObject({ code: 'network_error', status: 0 });
  });
});
