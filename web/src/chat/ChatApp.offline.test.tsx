// Issue 18 in the chat app: the availability on start (online with the reply time,
// outside the hours with the next opening and the leave-a-message form, nobody in),
// and the satisfaction rating once the ticket is resolved or closed.
import { act, fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Route } from '../test/fakeFetch';
import { msg, ticket, type SocketFactory } from '../test/fakes';
import { renderChatApp, socketReady } from '../test/renderChatApp';
import type { Availability, Ticket } from '../shared/protocol';
import { english } from '../shared/i18n/translate';
import { awayText } from './availability';

const ONLINE: Availability = {
  online: true,
  reason: null,
  next_open_at: null,
  timezone: 'Europe/Berlin',
  greeting: '',
  offline_message: '',
  csat: true,
  typical_reply_seconds: 95,
};

function renderApp(availability: Availability | null, opts: { stored?: boolean; routes?: Route[]; ticket?: Partial<Ticket> } = {}) {
  const availabilityRoute: Route = ({ url }) => (availability && url.pathname === '/api/support/availability' ? { status: 200, body: availability } : undefined);
  return renderChatApp({ routes: [...(opts.routes ?? []), availabilityRoute], history: [msg(1)], stored: opts.stored, ticket: opts.ticket, language: 'en' });
}

const ready = (sockets: SocketFactory, t: Partial<Ticket> = {}) => socketReady(sockets, { last_seq: 1, ...t });

const later = (t: Partial<Ticket>) => ticket({ session_id: 'sess-1', last_seq: 1, updated_at: '2025-12-26T10:05:00Z', ...t });

describe('the availability in the chat app', () => {
  it('online: the desk\'s greeting and an honest reply time above the pre-chat form', async () => {
    renderApp({ ...ONLINE, greeting: 'Hi! Ask us anything.' });
    expect(await screen.findByText('Hi! Ask us anything.')).toBeTruthy();
    expect(screen.getByText('Usually replies in 2 min')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Start chat' })).toBeTruthy();
  });

  it('online without a greeting or reply data: the app\'s own words, no reply time', async () => {
    renderApp({ ...ONLINE, typical_reply_seconds: null });
    expect(await screen.findByText(english('prechat.greeting'))).toBeTruthy();
    expect(screen.queryByText(/Usually replies/)).toBeNull();
  });

  it('no agents within the hours: the normal pre-chat form with the all-away line', async () => {
    renderApp({ ...ONLINE, online: false, reason: 'no_agents' });
    expect(await screen.findByText(/^All our agents are away right now/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Start chat' })).toBeTruthy();
    expect(screen.queryByRole('form', { name: 'Leave a message' })).toBeNull();
  });

  it('outside the hours: when the desk is back, in the visitor\'s zone, its offline message and the leave-a-message form', async () => {
    const next = new Date(Date.now() + 3 * 3600_000).toISOString();
    renderApp({ ...ONLINE, online: false, reason: 'outside_hours', next_open_at: next, offline_message: 'We answer every message the next working day.' });
    expect(await screen.findByRole('form', { name: 'Leave a message' })).toBeTruthy();
    // The test's own zone and locale, like the visitor's browser.
    expect(screen.getByText(awayText(next, english, { locale: 'en' }))).toBeTruthy();
    expect(screen.getByText(/^We're away, back /)).toBeTruthy();
    expect(screen.getByText('We answer every message the next working day.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Start chat' })).toBeNull();
  });

  it('a stored session resumes the chat whatever the availability', async () => {
    const { sockets } = renderApp({ ...ONLINE, online: false, reason: 'outside_hours', next_open_at: null }, { stored: true });
    await ready(sockets);
    expect(await screen.findByRole('textbox', { name: 'Message' })).toBeTruthy();
    expect(screen.queryByRole('form', { name: 'Leave a message' })).toBeNull();
  });

  it('an unknown availability (an error) falls back to the pre-chat form', async () => {
    renderApp(null);
    expect(await screen.findByRole('button', { name: 'Start chat' })).toBeTruthy();
  });
});

describe('the leave-a-message form', () => {
  const away: Availability = { ...ONLINE, online: false, reason: 'outside_hours', next_open_at: null };

  it('requires the email and the message before sending anything', async () => {
    const { calls } = renderApp(away);
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'Jane' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));
    expect(screen.getByText('Please enter your email so that we can answer you.')).toBeTruthy();
    expect(screen.getByText('Please write your message.')).toBeTruthy();
    expect(screen.getByLabelText('Email').getAttribute('aria-invalid')).toBe('true');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it('sends a ticket with a subject from the message, then thanks with the email', async () => {
    const { calls, sessions } = renderApp(away, {
      routes: [({ method, url }) => (method === 'POST' && url.pathname === '/api/support/ticket' ? { status: 201, body: ticket({ session_id: 'sess-9' }) } : undefined)],
    });
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'Jane' } });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'jane@example.com' } });
    fireEvent.change(screen.getByLabelText('Message'), { target: { value: 'Where is my order?\nIt was due Friday.' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));
    expect(await screen.findByText("We'll answer by email at jane@example.com.")).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      user_name: 'Jane',
      user_email: 'jane@example.com',
      subject: 'Where is my order?',
      message: 'Where is my order?\nIt was due Friday.',
    });
    // No chat to resume: the answer comes by email.
    expect(sessions.load()).toBeNull();
  });

  it('shows the server\'s 400 at the field it names', async () => {
    renderApp(away, {
      routes: [
        ({ method, url }) =>
          method === 'POST' && url.pathname === '/api/support/ticket'
            ? { status: 400, body: { error: { code: 'validation_failed', message: 'user_email is not a valid address', field: 'user_email' } } }
            : undefined,
      ],
    });
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'Jane' } });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'jane@example.com' } });
    fireEvent.change(screen.getByLabelText('Message'), { target: { value: 'Hello' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));
    const error = await screen.findByText('user_email is not a valid address');
    expect(screen.getByLabelText('Email').getAttribute('aria-describedby')).toBe(error.id);
  });
});

describe('the satisfaction rating', () => {
  const rateRoute =
    (status: number, body: unknown): Route =>
    ({ method, url }) =>
      method === 'POST' && url.pathname === '/api/support/ticket/sess-1/rating' ? { status, body } : undefined;

  it('asks once the ticket is resolved, sends the score and comment, thanks, and never asks again', async () => {
    const rated = later({ status: 'resolved', rating: { score: 5, comment: 'Quick and kind', created_at: '2025-12-26T10:06:00Z' }, updated_at: '2025-12-26T10:06:00Z' });
    const { sockets, calls } = renderApp(ONLINE, { stored: true, routes: [rateRoute(201, rated)] });
    await ready(sockets, { supporter_name: 'Alice', supporter_id: 3 });
    expect(screen.queryByText('How was your conversation?')).toBeNull();
    act(() => sockets.last.receive({ type: 'ticket_updated', ticket: later({ status: 'resolved', rating: null }) }));
    expect(await screen.findByText('How was your conversation?')).toBeTruthy();
    const send = screen.getByRole('button', { name: 'Send rating' });
    expect((send as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Great' }));
    expect(screen.getByRole('button', { name: 'Great' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.change(screen.getByLabelText(/^Comment/), { target: { value: '  Quick and kind ' } });
    fireEvent.click(send);
    expect(await screen.findByText('Thanks for your feedback')).toBeTruthy();
    expect(calls.find((c) => c.path.endsWith('/rating'))?.body).toEqual({ score: 5, comment: 'Quick and kind' });
    // The rated ticket again (its echo on the socket): no second prompt.
    act(() => sockets.last.receive({ type: 'ticket_updated', ticket: rated }));
    expect(screen.queryByText('How was your conversation?')).toBeNull();
  });

  it('a 409 (rated already, e.g. in another tab) just shows the thanks', async () => {
    const { sockets } = renderApp(ONLINE, {
      stored: true,
      routes: [rateRoute(409, { error: { code: 'conflict', message: 'This ticket was already rated' } })],
    });
    await ready(sockets, { status: 'closed', closed_at: '2025-12-26T10:04:00Z' });
    expect(await screen.findByText('How was your conversation?')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Bad' }));
    fireEvent.click(screen.getByRole('button', { name: 'Send rating' }));
    expect(await screen.findByText('Thanks for your feedback')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('is not asked when the desk turned csat off', async () => {
    const { sockets } = renderApp({ ...ONLINE, csat: false }, { stored: true });
    await ready(sockets, { status: 'resolved' });
    await screen.findByText(/marked as resolved|This chat has ended|Chat ended|Waiting/);
    expect(screen.queryByText('How was your conversation?')).toBeNull();
  });

  it('is not asked for a ticket rated already', async () => {
    const { sockets } = renderApp(ONLINE, { stored: true });
    await ready(sockets, { status: 'closed', rating: { score: 4, comment: null, created_at: '2025-12-26T10:06:00Z' } });
    await screen.findByRole('button', { name: 'Start a new chat' });
    expect(screen.queryByText('How was your conversation?')).toBeNull();
  });
});
