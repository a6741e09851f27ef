// Issue 17 on the dashboard: an agent's reply box attaches a file (attach button),
// uploads it to the ticket's agent route with the reply as its caption, and the chat
// shows the visitor's screenshot as a thumbnail and the sent PDF as a card.

import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../shared/api';
import { fakeFetch } from '../test/fakeFetch';
import { FakeXhr } from '../test/fakeXhr';
import { FakeScheduler, FakeWakeSource, SocketFactory, msg, ticket } from '../test/fakes';
import { Alerts } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';

const ALICE = { id: 3, email: 'alice@example.com', name: 'Alice', role: 'agent' as const };
const SHOT = { id: 17, filename: 'screenshot.png', content_type: 'image/png', size: 48213, width: 1280, height: 720, url: '/api/support/attachments/IMG' };

function setup() {
  const mine = ticket({ supporter_id: 3, supporter_name: 'Alice', status: 'assigned', last_seq: 1 });
  const { fetch } = fakeFetch([
    ({ url }) => (url.pathname === '/api/support/agents/me' ? { status: 200, body: ALICE } : undefined),
    ({ url }) => (url.pathname === '/api/support/tickets' ? { status: 200, body: { tickets: [mine], next_cursor: null } } : undefined),
    ({ url }) =>
      url.pathname === '/api/support/tickets/45/messages' ? { status: 200, body: { messages: [msg(1, { message: '', attachments: [SHOT] })], has_more: false } } : undefined,
  ]);
  const alerts = new Alerts({ notification: null, createAudio: null });
  alerts.notify = vi.fn();
  const controller = new DashboardController({
    api: new ApiClient({ fetch }),
    alerts,
    createSocket: new SocketFactory().create,
    isAttentive: () => true,
    scheduler: new FakeScheduler(),
    random: () => 0.5,
    wake: new FakeWakeSource().subscribe,
  });
  render(<Dashboard controller={controller} />);
}

describe('attachments on the dashboard', () => {
  beforeEach(() => {
    localStorage.clear();
    FakeXhr.reset();
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('shows the visitor\'s screenshot and sends a file with the reply as its caption to the agent route', async () => {
    setup();
    const queue = await screen.findByRole('region', { name: 'Ticket queue' });
    const row = await within(queue).findByRole('button', { name: /Order not arrived/ });
    fireEvent.click(row);
    const panel = await screen.findByRole('tabpanel');
    const thumb = await within(panel).findByAltText('screenshot.png');
    expect(thumb.getAttribute('width')).toBe('240');

    const input = panel.querySelector<HTMLInputElement>('input[type="file"]');
    expect(within(panel).getByRole('button', { name: 'Attach a file' })).toBeTruthy();
    const pdf = new File(['%PDF-1.4\n'], 'invoice.pdf', { type: 'application/pdf' });
    fireEvent.change(input!, { target: { files: [pdf] } });
    const tray = within(panel).getByRole('group', { name: 'File to send' });
    expect(within(tray).getByText('invoice.pdf')).toBeTruthy();

    fireEvent.change(within(panel).getByRole('textbox', { name: 'Reply' }), { target: { value: 'Here is your invoice' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Send' }));
    const xhr = FakeXhr.last;
    expect(xhr.url).toBe('/api/support/tickets/45/attachments');
    expect(xhr.fieldNames).toEqual(['client_msg_id', 'caption', 'file']);
    act(() =>
      xhr.respond(201, msg(2, {
        sender_type: 'supporter',
        sender_name: 'Alice',
        message: 'Here is your invoice',
        client_msg_id: String(xhr.body?.get('client_msg_id')),
        attachments: [{ id: 18, filename: 'invoice.pdf', content_type: 'application/pdf', size: 9, url: '/api/support/attachments/PDF' }],
      })),
    );
    const link = await within(panel).findByRole('link', { name: 'Download invoice.pdf' });
    expect(link.getAttribute('href')).toBe('/api/support/attachments/PDF');
    await waitFor(() => expect(within(panel).queryByRole('group', { name: 'File to send' })).toBeNull());
  });
});
