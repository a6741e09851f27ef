// Renders the chat app the way main.tsx does, against a fake service: the ticket of
// session `sess-1` with its history, a stored session when asked, fake sockets, and
// the visitor's language. Extra routes come first, so a test can answer differently.

import { act, render, waitFor } from '@testing-library/react';
import { expect } from 'vitest';
import { ApiClient } from '../shared/api';
import { i18nFor } from '../shared/i18n/catalogues';
import { I18nContext } from '../shared/i18n/context';
import { pickLocale } from '../shared/i18n/locale';
import type { ChatMessage, Ticket } from '../shared/protocol';
import { ChatApp } from '../chat/ChatApp';
import type { HostBridge } from '../chat/hostBridge';
import { SessionStore } from '../chat/session';
import { fakeFetch, type Route } from './fakeFetch';
import { SocketFactory, ticket } from './fakes';

export const SESSION = 'sess-1';

/** The chat app opened as a page (not in a frame): posts nowhere, hears nothing. */
export const STANDALONE: HostBridge = { connected: false, post: () => undefined, listen: () => () => undefined };

export interface ChatAppSetup {
  /** Answered before the ticket's own routes. */
  routes?: Route[];
  /** The messages of `sess-1` (default none). */
  history?: ChatMessage[];
  /** `GET /api/support/ticket/sess-1` (last_seq defaults to the history's length). */
  ticket?: Partial<Ticket>;
  /** Keeps `sess-1` in the session store, as a reload finds it. */
  stored?: boolean;
  /** A language tag for the visitor (default: the browser's, English in jsdom). */
  language?: string | null;
  bridge?: HostBridge;
  greeting?: string;
  resumeToken?: string | null;
}

export function renderChatApp(setup: ChatAppSetup = {}) {
  const history = setup.history ?? [];
  const { fetch, calls } = fakeFetch([
    ...(setup.routes ?? []),
    ({ url }) => (url.pathname === `/api/support/ticket/${SESSION}` ? { status: 200, body: ticket({ session_id: SESSION, last_seq: history.length, ...setup.ticket }) } : undefined),
    ({ url }) => (url.pathname === `/api/support/ticket/${SESSION}/messages` ? { status: 200, body: { messages: history, has_more: false } } : undefined),
  ]);
  const sessions = new SessionStore(localStorage);
  if (setup.stored) sessions.save({ session_id: SESSION, last_seq: history.length, read_up_to: 0 });
  const sockets = new SocketFactory();
  const locale = pickLocale(setup.language ?? null);
  const bridge = setup.bridge ?? STANDALONE;
  render(
    <I18nContext value={i18nFor(locale)}>
      <ChatApp
        config={{ hostOrigin: bridge.connected ? 'https://shop.example.com' : null, embedded: bridge.connected, color: '#2563eb', greeting: setup.greeting ?? '', locale }}
        api={new ApiClient({ fetch })}
        sessions={sessions}
        bridge={bridge}
        createSocket={sockets.create}
        resumeToken={setup.resumeToken}
      />
    </I18nContext>,
  );
  return { calls, sockets, sessions };
}

/** Waits for the ticket's socket, opens it and sends `ready` with the ticket. */
export async function socketReady(sockets: SocketFactory, t: Partial<Ticket> = {}, extra: { queue_position?: number | null } = {}): Promise<void> {
  await waitFor(() => expect(sockets.sockets.length).toBeGreaterThan(0));
  const lastSeq = t.last_seq ?? 0;
  act(() => {
    sockets.last.open();
    sockets.last.receive({ type: 'ready', data: { ticket: ticket({ session_id: SESSION, ...t, last_seq: lastSeq }), last_seq: lastSeq, replayed: 0, ...extra } });
  });
}
