// Issue 18's emails in the chat app: the link back into a conversation (`?resume=`),
// traded once for the session and kept like a conversation started here, and "Email
// me the transcript" on the end screen, with the server's answers worded for the visitor.
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Route } from '../test/fakeFetch';
import { msg, ticket } from '../test/fakes';
import { renderChatApp, SESSION, socketReady } from '../test/renderChatApp';
import type { Ticket } from '../shared/protocol';

const TOKEN = 'v1.tok3n-SECRET';
const HISTORY = [msg(1, { message: 'Where is my order?' }), msg(2, { sender_type: 'supporter', sender_name: 'Alice', message: 'It ships today.' })];

const resumeRoute =
  (status: number, body: unknown): Route =>
  ({ method, url }) =>
    method === 'POST' && url.pathname === '/api/support/resume' ? { status, body } : undefined;
const resumed = (t: Partial<Ticket> = {}) => ({ session_id: SESSION, ticket: ticket({ session_id: SESSION, user_name: 'Ada', user_email: 'ada@example.com', last_seq: 2, ...t }) });
const errorBody = (code: string, message: string) => ({ error: { code, message } });

describe('the link back into a conversation', () => {
  it('trades the token once, keeps the session as a started chat, and opens the conversation with its history', async () => {
    const { calls, sessions } = renderChatApp({ resumeToken: TOKEN, history: HISTORY, routes: [resumeRoute(200, resumed())] });
    expect(await screen.findByText('It ships today.')).toBeTruthy();
    expect(screen.getByText('Where is my order?')).toBeTruthy();
    expect(calls.filter((c) => c.path === '/api/support/resume')).toEqual([{ method: 'POST', path: '/api/support/resume', body: { token: TOKEN } }]);
    // As after "Start chat": from the start (the history was read on sight since).
    expect(sessions.load()).toMatchObject({ session_id: SESSION, last_seq: 0 });
    expect(sessions.loadVisitor()).toEqual({ user_name: 'Ada', user_email: 'ada@example.com' });
    // The token goes nowhere else: no other request and nothing on the page carry it.
    expect(calls.filter((c) => c.path.includes(TOKEN) || (c.path !== '/api/support/resume' && JSON.stringify(c.body ?? '').includes(TOKEN)))).toEqual([]);
    expect(document.body.textContent).not.toContain(TOKEN);
    expect(screen.queryByRole('button', { name: 'Start chat' })).toBeNull();
  });

  it('keeps what the browser knew of the same conversation', async () => {
    const { sessions } = renderChatApp({ resumeToken: TOKEN, history: HISTORY, stored: true, routes: [resumeRoute(200, resumed())] });
    await screen.findByText('It ships today.');
    expect(sessions.load()).toMatchObject({ session_id: SESSION, last_seq: 2 });
  });

  it('replaces another conversation the browser had', async () => {
    localStorage.setItem('livesupport:session', JSON.stringify({ session_id: 'older', last_seq: 9, read_up_to: 9 }));
    localStorage.setItem('livesupport:outbox:older', JSON.stringify([{ client_msg_id: 'x', message: 'unsent', state: 'failed' }]));
    const { sessions, calls } = renderChatApp({ resumeToken: TOKEN, history: HISTORY, routes: [resumeRoute(200, resumed())] });
    await screen.findByText('It ships today.');
    expect(sessions.load()).toMatchObject({ session_id: SESSION, last_seq: 0 });
    expect(localStorage.getItem('livesupport:outbox:older')).toBeNull();
    expect(calls.some((c) => c.path.includes('older'))).toBe(false);
  });

  it('a link that is not ours says so, then offers the pre-chat form', async () => {
    renderChatApp({ resumeToken: TOKEN, routes: [resumeRoute(404, errorBody('not_found', 'Not found'))] });
    expect((await screen.findByRole('alert')).textContent).toContain('This link is not valid.');
    expect(await screen.findByRole('button', { name: 'Start chat' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss notice' }));
    expect(screen.queryByText('This link is not valid.')).toBeNull();
  });

  it('an expired link says so, then opens the conversation the browser already had', async () => {
    const { sessions } = renderChatApp({ resumeToken: TOKEN, stored: true, history: HISTORY, routes: [resumeRoute(403, errorBody('forbidden', 'this link has expired'))] });
    expect(await screen.findByText('This link has expired.')).toBeTruthy();
    expect(await screen.findByText('It ships today.')).toBeTruthy();
    expect(sessions.load()?.session_id).toBe(SESSION);
  });

  it('speaks the visitor\'s language', async () => {
    renderChatApp({ resumeToken: TOKEN, language: 'de', routes: [resumeRoute(403, errorBody('forbidden', 'this link has expired'))] });
    expect(await screen.findByText('Dieser Link ist abgelaufen.')).toBeTruthy();
  });
});

describe('"Email me the transcript"', () => {
  const transcriptRoute =
    (status: number, body: unknown): Route =>
    ({ method, url }) =>
      method === 'POST' && url.pathname === `/api/support/ticket/${SESSION}/transcript` ? { status, body } : undefined;
  const queued = { id: 7, kind: 'transcript', ticket_id: 45, to: 'ada@example.com', subject: 'Transcript', status: 'pending', attempts: 0, last_error: null, next_attempt_at: null, created_at: '2025-12-26T10:10:00Z', sent_at: null };

  async function endScreen(route: Route, t: Partial<Ticket> = { status: 'resolved' }, language?: string) {
    const app = renderChatApp({ stored: true, history: HISTORY, routes: [route], language });
    await socketReady(app.sockets, { last_seq: 2, user_email: 'john@example.com', ...t });
    return app;
  }
  const openForm = async (): Promise<HTMLInputElement> => {
    fireEvent.click(await screen.findByRole('button', { name: 'Email me the transcript' }));
    const form = screen.getByRole('form', { name: 'Email the transcript' });
    return within(form).getByLabelText('Email') as HTMLInputElement;
  };

  it('is not offered while the chat goes on', async () => {
    await endScreen(transcriptRoute(202, queued), { status: 'in_progress' });
    await screen.findByRole('textbox', { name: 'Message' });
    expect(screen.queryByRole('button', { name: 'Email me the transcript' })).toBeNull();
  });

  it('once resolved: the ticket\'s email prefilled, editable, sent, and confirmed', async () => {
    const { calls } = await endScreen(transcriptRoute(202, queued));
    const email = await openForm();
    expect(email.value).toBe('john@example.com');
    expect(email.type).toBe('email');
    expect(email.required).toBe(true);
    await waitFor(() => expect(document.activeElement).toBe(email));
    fireEvent.change(email, { target: { value: ' ada@example.com ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send transcript' }));
    expect(await screen.findByText("We'll send the transcript to ada@example.com.")).toBeTruthy();
    expect(calls.filter((c) => c.path.endsWith('/transcript'))).toEqual([{ method: 'POST', path: `/api/support/ticket/${SESSION}/transcript`, body: { email: 'ada@example.com' } }]);
  });

  it('after the visitor ends the chat too', async () => {
    const closed = ticket({ session_id: SESSION, status: 'closed', last_seq: 2, updated_at: '2025-12-26T10:05:00Z' });
    const app = renderChatApp({
      stored: true,
      history: HISTORY,
      routes: [({ method, url }) => (method === 'POST' && url.pathname === `/api/support/ticket/${SESSION}/close` ? { status: 200, body: closed } : undefined)],
    });
    await socketReady(app.sockets, { last_seq: 2 });
    fireEvent.click(await screen.findByRole('button', { name: 'End chat' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, end chat' }));
    expect(await screen.findByRole('button', { name: 'Email me the transcript' })).toBeTruthy();
  });

  it('needs an address, and checks it before sending', async () => {
    const { calls } = await endScreen(transcriptRoute(202, queued), { status: 'closed', user_email: null });
    const email = await openForm();
    expect(email.value).toBe('');
    fireEvent.click(screen.getByRole('button', { name: 'Send transcript' }));
    const error = screen.getByText('Please enter your email address.');
    expect(email.getAttribute('aria-describedby')).toBe(error.id);
    expect(email.getAttribute('aria-invalid')).toBe('true');
    fireEvent.change(email, { target: { value: 'not an address' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send transcript' }));
    expect(screen.getByText('Please enter a valid email address.')).toBeTruthy();
    expect(calls.some((c) => c.path.endsWith('/transcript'))).toBe(false);
  });

  it('shows the server\'s 400 next to the field', async () => {
    await endScreen(transcriptRoute(400, { error: { code: 'validation_failed', message: 'email is not a valid email address', field: 'email' } }));
    const email = await openForm();
    fireEvent.click(screen.getByRole('button', { name: 'Send transcript' }));
    const error = await screen.findByText('email is not a valid email address');
    expect(email.getAttribute('aria-describedby')).toBe(error.id);
  });

  it('a 429 says the visitor asked several times already; any other failure asks to retry', async () => {
    await endScreen(transcriptRoute(429, { error: { code: 'rate_limited', message: 'Too many requests', retry_after: 1200 } }));
    await openForm();
    fireEvent.click(screen.getByRole('button', { name: 'Send transcript' }));
    expect((await screen.findByRole('alert')).textContent).toBe('You asked for several transcripts already: try again later.');
  });

  it('a failure of the service asks to try again, and the form stays', async () => {
    await endScreen(transcriptRoute(503, { error: { code: 'unavailable', message: 'busy' } }));
    await openForm();
    fireEvent.click(screen.getByRole('button', { name: 'Send transcript' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The transcript could not be requested. Please try again.');
    expect((screen.getByRole('button', { name: 'Send transcript' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('Cancel closes the form and gives the focus back', async () => {
    await endScreen(transcriptRoute(202, queued));
    await openForm();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    const opener = screen.getByRole('button', { name: 'Email me the transcript' });
    await waitFor(() => expect(document.activeElement).toBe(opener));
  });

  it('speaks the visitor\'s language', async () => {
    await endScreen(transcriptRoute(202, queued), { status: 'resolved' }, 'fr');
    fireEvent.click(await screen.findByRole('button', { name: 'M’envoyer la conversation par e-mail' }));
    fireEvent.click(screen.getByRole('button', { name: 'Envoyer la conversation' }));
    expect(await screen.findByText('Nous enverrons la conversation à john@example.com.')).toBeTruthy();
  });
});
