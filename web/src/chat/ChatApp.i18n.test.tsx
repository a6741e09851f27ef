// The chat app in the visitor's language: every string from the catalogue, validation
// included, system notes worded for the visitor, times in their locale.
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { readEmbedConfig } from './embedConfig';
import type { Route } from '../test/fakeFetch';
import { msg, ticket } from '../test/fakes';
import { renderChatApp } from '../test/renderChatApp';

function renderIn(tag: string, stored: boolean) {
  const history = [
    msg(1, { message: 'Hallo', created_at: '2030-05-04T13:07:00Z' }),
    msg(2, { sender_type: 'system', message: 'Alice joined the chat' }),
    msg(3, { sender_type: 'supporter', sender_name: 'Alice', message: 'Wie kann ich helfen?' }),
  ];
  const createTicket: Route = ({ method, url }) => (method === 'POST' && url.pathname === '/api/support/ticket' ? { status: 201, body: ticket({ session_id: 'sess-1' }) } : undefined);
  return renderChatApp({ language: tag, stored, history, routes: [createTicket] });
}

describe('ChatApp in the visitor\'s language', () => {
  it('shows the pre-chat form and its validation in German', async () => {
    renderIn('de', false);
    const form = await screen.findByRole('form', { name: 'Chat starten' });
    expect(within(form).getByLabelText('Name')).toBeTruthy();
    expect(within(form).getByLabelText('Betreff')).toBeTruthy();
    expect(within(form).getAllByText('(optional)')).toHaveLength(2); // E-Mail, Nachricht
    fireEvent.change(within(form).getByLabelText(/^E-Mail/), { target: { value: 'kein-email' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Chat starten' }));
    expect(screen.getByText('Bitte geben Sie Ihren Namen ein.')).toBeTruthy();
    expect(screen.getByText(/gültige E-Mail-Adresse/)).toBeTruthy();
    expect(screen.getByText('Bitte sagen Sie uns, worum es geht.')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1, name: 'Support' })).toBeTruthy();
  });

  it('shows the chat, system notes, receipts, end confirm and the composer\'s errors in German', async () => {
    const { sockets } = renderIn('de', true);
    await waitFor(() => expect(sockets.sockets.length).toBeGreaterThan(0));
    act(() => {
      sockets.last.open();
      sockets.last.receive({ type: 'ready', data: { ticket: ticket({ session_id: 'sess-1', last_seq: 3 }), last_seq: 3, replayed: 0 } });
    });
    const log = await screen.findByRole('log', { name: 'Nachrichten' });
    expect(within(log).getByText('Alice ist dem Chat beigetreten')).toBeTruthy();
    expect(within(log).getByText('Sie')).toBeTruthy();
    expect(within(log).getByText('Gesendet')).toBeTruthy();
    const time = log.querySelector('time')!;
    expect(time.textContent).toBe(new Date('2030-05-04T13:07:00Z').toLocaleTimeString('de', { hour: '2-digit', minute: '2-digit' }));
    expect(screen.getByText('Warten auf einen Mitarbeiter…')).toBeTruthy();
    act(() => sockets.last.receive({ type: 'typing', data: { sender_type: 'supporter', sender_name: 'Alice', is_typing: true } }));
    expect(screen.getByText('Alice schreibt…')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Senden' }));
    expect(screen.getByText('Die Nachricht darf nicht leer sein.')).toBeTruthy();
    expect(screen.getByRole('textbox', { name: 'Nachricht' }).getAttribute('placeholder')).toBe('Nachricht eingeben…');
    fireEvent.click(screen.getByRole('button', { name: 'Chat beenden' }));
    expect(screen.getByText('Diesen Chat beenden?')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Ja, Chat beenden' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Abbrechen' }));
  });

  it('reads the loader\'s locale from the URL, else the browser\'s languages', () => {
    expect(readEmbedConfig('?locale=ar-EG', true, ['en-US']).locale).toEqual({ language: 'ar', tag: 'ar-EG', dir: 'rtl' });
    expect(readEmbedConfig('', false, ['fr-FR']).locale).toEqual({ language: 'fr', tag: 'fr-FR', dir: 'ltr' });
    expect(readEmbedConfig('?locale=xx', false, []).locale.language).toBe('en');
  });
});
