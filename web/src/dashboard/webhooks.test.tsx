// Issue 19's webhooks in the admins' settings page: the list, adding one (the body
// sent, the secret shown once, the server's field errors), deleting after a
// confirmation, and each webhook's delivery log a page at a time. Also: where the
// Reports page and the section are reached from.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import type { DeliveryPage, Webhook, WebhookDelivery } from '../shared/webhookTypes';
import { fakeFetch, type Route } from '../test/fakeFetch';
import { FakeScheduler, FakeWakeSource, SocketFactory } from '../test/fakes';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';
import { lastAnswer } from './WebhookDeliveries';
import { SECRET_NOTICE, WebhooksSection } from './WebhooksSection';
import { Webhooks, checkWebhook } from './webhooks';

const SECRET = `whsec_${'ab'.repeat(32)}`;
const CRM: Webhook = { id: 4, url: 'https://crm.example.com/hooks/chat', events: ['ticket.created'], created_at: '2026-12-01T10:00:00Z' };

function delivery(id: number, overrides: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id,
    event_id: `evt_m_${id}`,
    type: 'message.created',
    ticket_id: 45,
    status: 'delivered',
    attempts: 1,
    last_status_code: 200,
    last_error: null,
    next_attempt_at: null,
    created_at: '2026-12-07T10:00:00Z',
    delivered_at: '2026-12-07T10:00:01Z',
    ...overrides,
  };
}

function setup(extra: Route[] = [], list: Webhook[] = [CRM]) {
  let webhooks = [...list];
  const { fetch, calls } = fakeFetch([
    ...extra,
    ({ method, url }) => (method === 'GET' && url.pathname === '/api/support/webhooks' ? { status: 200, body: { webhooks } } : undefined),
    ({ method, url, body }) => {
      if (method !== 'POST' || url.pathname !== '/api/support/webhooks') return undefined;
      const created = { id: 9, created_at: '2026-12-07T11:00:00Z', ...(body as Pick<Webhook, 'url' | 'events'>) };
      webhooks = [...webhooks, created];
      return { status: 201, body: { ...created, secret: SECRET } };
    },
    ({ method, url }) => {
      const m = /^\/api\/support\/webhooks\/(\d+)$/.exec(url.pathname);
      if (method !== 'DELETE' || !m) return undefined;
      webhooks = webhooks.filter((w) => w.id !== Number(m[1]));
      return { status: 204 };
    },
  ]);
  render(<WebhooksSection id="webhooks" webhooks={new Webhooks(new ApiClient({ fetch }))} />);
  return { calls, section: screen.getByRole('region', { name: 'Webhooks' }) };
}

afterEach(() => {
  Reflect.deleteProperty(navigator, 'clipboard');
});

describe('the webhooks section', () => {
  it('lists the webhooks with their events', async () => {
    const { section } = setup();
    const list = within(section).getByRole('list', { name: 'Webhooks' });
    const item = await within(list).findByText(CRM.url);
    expect(item.closest('li')?.textContent).toContain('ticket.created');
  });

  it('posts the URL and the ticked events, shows the secret once with a copy button, and lists the webhook', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { calls, section } = setup();
    await within(section).findByText(CRM.url);
    const form = within(section).getByRole('form', { name: 'Add a webhook' });
    fireEvent.change(within(form).getByLabelText('URL'), { target: { value: '  http://127.0.0.1:9911/hook ' } });
    fireEvent.click(within(form).getByRole('checkbox', { name: /^ticket\.updated/ }));
    fireEvent.click(within(form).getByRole('checkbox', { name: /^message\.created/ }));
    fireEvent.click(within(form).getByRole('checkbox', { name: /^note\.created/ }));
    fireEvent.click(within(form).getByRole('checkbox', { name: /^note\.created/ })); // changed their mind
    fireEvent.click(within(form).getByRole('button', { name: 'Add webhook' }));

    const notice = await within(section).findByRole('region', { name: 'Webhook added: http://127.0.0.1:9911/hook' });
    const secret = within(notice).getByRole('textbox', { name: 'Signing secret' }) as HTMLInputElement;
    expect(secret.value).toBe(SECRET);
    expect(within(notice).getByText(SECRET_NOTICE)).toBeTruthy();
    expect(calls.filter((c) => c.method === 'POST')).toEqual([
      { method: 'POST', path: '/api/support/webhooks', body: { url: 'http://127.0.0.1:9911/hook', events: ['ticket.updated', 'message.created'] } },
    ]);
    expect(within(within(section).getByRole('list', { name: 'Webhooks' })).getByText('http://127.0.0.1:9911/hook')).toBeTruthy();
    expect((within(form).getByLabelText('URL') as HTMLInputElement).value).toBe('');

    fireEvent.click(within(section).getByRole('button', { name: 'Copy secret' }));
    expect(await within(section).findByText('Copied.')).toBeTruthy();
    expect(writeText).toHaveBeenCalledWith(SECRET);

    // Once closed, the secret is nowhere: the list never has it.
    fireEvent.click(within(section).getByRole('button', { name: 'I have saved it' }));
    expect(within(section).queryByRole('textbox', { name: 'Signing secret' })).toBeNull();
    expect(section.textContent).not.toContain(SECRET);
    expect([...section.querySelectorAll('input')].some((input) => input.value === SECRET)).toBe(false);
  });

  it('checks the form before sending, and shows the server\'s 400 under the field it names', async () => {
    const { calls, section } = setup([
      ({ method, url }) =>
        method === 'POST' && url.pathname === '/api/support/webhooks'
          ? { status: 400, body: { error: { code: 'validation_failed', message: 'private addresses are not allowed', field: 'url' } } }
          : undefined,
    ]);
    await within(section).findByText(CRM.url);
    const form = within(section).getByRole('form', { name: 'Add a webhook' });
    fireEvent.click(within(form).getByRole('button', { name: 'Add webhook' }));
    expect(within(form).getByText('Enter the URL to send events to.')).toBeTruthy();
    expect(within(form).getByText('Pick at least one event.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    fireEvent.change(within(form).getByLabelText('URL'), { target: { value: 'http://10.0.0.8/hook' } });
    fireEvent.click(within(form).getByRole('checkbox', { name: /^rating\.created/ }));
    expect(within(form).queryByText('Pick at least one event.')).toBeNull();
    fireEvent.click(within(form).getByRole('button', { name: 'Add webhook' }));
    const error = await within(form).findByText('private addresses are not allowed');
    expect(within(form).getByLabelText('URL').getAttribute('aria-describedby')).toBe(error.id);
    expect(within(form).getByLabelText('URL').getAttribute('aria-invalid')).toBe('true');
    expect(within(section).queryByRole('textbox', { name: 'Signing secret' })).toBeNull();
    expect((within(form).getByLabelText('URL') as HTMLInputElement).value).toBe('http://10.0.0.8/hook');
  });

  it('deletes a webhook only after the confirmation', async () => {
    const { calls, section } = setup();
    await within(section).findByText(CRM.url);
    fireEvent.click(within(section).getByRole('button', { name: `Delete the webhook to ${CRM.url}` }));
    const confirm = within(section).getByRole('group', { name: `Confirm deleting the webhook to ${CRM.url}` });
    fireEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);

    fireEvent.click(within(section).getByRole('button', { name: `Delete the webhook to ${CRM.url}` }));
    fireEvent.click(within(section).getByRole('button', { name: 'Yes, delete' }));
    expect(await within(section).findByText(`Deleted the webhook to ${CRM.url}.`)).toBeTruthy();
    expect(calls.filter((c) => c.method === 'DELETE')).toEqual([{ method: 'DELETE', path: '/api/support/webhooks/4', body: undefined }]);
    expect(within(section).queryByText(CRM.url)).toBeNull();
  });

  it('opens a webhook\'s deliveries and pages them with next_before', async () => {
    const first: DeliveryPage = {
      deliveries: [
        delivery(991, { status: 'pending', attempts: 2, last_status_code: 500, last_error: 'HTTP 500', next_attempt_at: '2026-12-07T10:05:00Z', delivered_at: null }),
        delivery(990, { type: 'ticket.created', event_id: 'evt_t_45' }),
      ],
      next_before: 990,
    };
    const second: DeliveryPage = { deliveries: [delivery(989, { status: 'failed', attempts: 12, last_status_code: null, last_error: 'timed out', ticket_id: 7 })], next_before: null };
    const { calls, section } = setup([
      ({ method, url }) =>
        method === 'GET' && url.pathname === '/api/support/webhooks/4/deliveries' ? { status: 200, body: url.searchParams.get('before') === '990' ? second : first } : undefined,
    ]);
    await within(section).findByText(CRM.url);
    const open = within(section).getByRole('button', { name: `Deliveries to ${CRM.url}` });
    fireEvent.click(open);
    expect(open.getAttribute('aria-expanded')).toBe('true');
    const table = await within(section).findByRole('table', { name: `Deliveries to ${CRM.url}` });
    let rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell').map((c) => c.textContent))).toEqual([
      ['Pending', 'message.createdevt_m_991', '#45', '2', '500', expect.stringMatching(/\S/), expect.any(String)],
      ['Delivered', 'ticket.createdevt_t_45', '#45', '1', '200', '–', expect.any(String)],
    ]);

    fireEvent.click(within(section).getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(4));
    rows = within(table).getAllByRole('row').slice(1);
    expect(rows[2]!.textContent).toContain('Failed');
    expect(rows[2]!.textContent).toContain('timed out');
    expect(rows[2]!.textContent).toContain('#7');
    expect(within(section).queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(calls.filter((c) => c.path.includes('/deliveries')).map((c) => c.path)).toEqual([
      '/api/support/webhooks/4/deliveries?limit=50',
      '/api/support/webhooks/4/deliveries?limit=50&before=990',
    ]);
  });

  it('explains a 403', async () => {
    const { section } = setup([({ url }) => (url.pathname === '/api/support/webhooks' ? { status: 403, body: { error: { code: 'forbidden', message: 'admins only' } } } : undefined)]);
    expect((await within(section).findByRole('alert')).textContent).toBe('Only admins can manage webhooks.');
  });

  it('checks and words what it sends and shows', () => {
    expect(checkWebhook({ url: 'ftp://example.com', events: ['ticket.created'] })).toEqual({ ok: false, errors: { url: 'The URL must start with http:// or https://.' } });
    expect(checkWebhook({ url: 'https://example.com/h', events: ['rating.created', 'ticket.created'] })).toEqual({
      ok: true,
      body: { url: 'https://example.com/h', events: ['ticket.created', 'rating.created'] },
    });
    expect(lastAnswer(delivery(1, { last_status_code: 500, last_error: 'HTTP 500' }))).toBe('500');
    expect(lastAnswer(delivery(1, { last_status_code: null, last_error: 'connection refused' }))).toBe('connection refused');
    expect(lastAnswer(delivery(1, { last_status_code: null, last_error: null }))).toBe('–');
  });
});

describe('where Reports and Webhooks are reached from', () => {
  function dashboard(role: 'agent' | 'admin') {
    const { fetch } = fakeFetch([
      ({ url }) => (url.pathname === '/api/support/agents/me' ? { status: 200, body: { id: 3, email: 'alice@example.com', name: 'Alice', role } } : undefined),
      ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: [], next_cursor: null } } : undefined),
      ({ url }) => (url.pathname === '/api/support/webhooks' ? { status: 200, body: { webhooks: [CRM] } } : undefined),
      ({ url }) =>
        url.pathname === '/api/support/reports/summary'
          ? {
              status: 200,
              body: {
                from: url.searchParams.get('from'),
                to: url.searchParams.get('to'),
                tz: url.searchParams.get('tz'),
                tickets_created: 0,
                tickets_resolved: 0,
                first_response_seconds: { median: null, p90: null },
                queue_wait_seconds: { median: null, p90: null },
                resolution_seconds: { median: null, p90: null },
                csat: { average: null, count: 0, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 } },
                by_hour: [],
                by_agent: [],
              },
            }
          : undefined,
    ]);
    const controller = new DashboardController({
      api: new ApiClient({ fetch }),
      alerts: new Alerts({ notification: null, createAudio: null }),
      createSocket: new SocketFactory().create,
      isAttentive: () => true,
      scheduler: new FakeScheduler(),
      random: () => 0.5,
      wake: new FakeWakeSource().subscribe,
    });
    render(<Dashboard controller={controller} />);
  }

  it('gives every agent the Reports page, and closes it with Escape', async () => {
    dashboard('agent');
    fireEvent.click(await screen.findByRole('button', { name: 'Reports' }));
    const dialog = await screen.findByRole('dialog', { name: 'Reports' });
    expect(await within(dialog).findByText('No tickets were created in this range.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Settings' })).toBeNull();
    fireEvent.keyDown(within(dialog).getByLabelText('Time zone'), { key: 'Escape' });
    expect(screen.queryByRole('dialog', { name: 'Reports' })).toBeNull();
  });

  it('puts Webhooks in the admins\' settings page', async () => {
    dashboard('admin');
    fireEvent.click(await screen.findByRole('button', { name: 'Settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    expect(within(dialog).getByRole('link', { name: 'Webhooks' })).toBeTruthy();
    const section = within(dialog).getByRole('region', { name: 'Webhooks' });
    expect(await within(section).findByText(CRM.url)).toBeTruthy();
  });
});
