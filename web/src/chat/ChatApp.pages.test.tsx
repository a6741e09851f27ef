// The chat app sends the host page the loader reports on the visitor socket (issue 15,
// point 4): nothing before the ticket's socket is ready, then the current page, with
// the browser's language and time zone.
import { act, render, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../shared/api';
import type { HostToChatEvent } from '../shared/embed';
import { ChatApp } from './ChatApp';
import type { HostBridge } from './hostBridge';
import { SessionStore } from './session';
import { fakeFetch } from '../test/fakeFetch';
import { SocketFactory, ticket } from '../test/fakes';
import { pickLocale } from '../shared/i18n/locale';

describe('ChatApp page reports', () => {
  it('sends the host page once the ticket socket is ready, never before', async () => {
    const { fetch } = fakeFetch([
      ({ url }) => (url.pathname === '/api/support/ticket/sess-1' ? { status: 200, body: ticket({ session_id: 'sess-1', last_seq: 0 }) } : undefined),
      ({ url }) => (url.pathname === '/api/support/ticket/sess-1/messages' ? { status: 200, body: { messages: [], has_more: false } } : undefined),
    ]);
    const sessions = new SessionStore(localStorage);
    sessions.save({ session_id: 'sess-1', last_seq: 0, read_up_to: 0 });
    let handler: ((e: HostToChatEvent) => void) | null = null;
    const bridge: HostBridge = {
      connected: true,
      post: () => undefined,
      listen: (h) => {
        handler = h;
        return () => (handler = null);
      },
    };
    const sockets = new SocketFactory();
    render(
      <ChatApp
        config={{ hostOrigin: 'https://shop.example.com', embedded: true, color: '#2563eb', greeting: '', locale: pickLocale(null) }}
        api={new ApiClient({ fetch })}
        sessions={sessions}
        bridge={bridge}
        createSocket={sockets.create}
      />,
    );
    const report = (url: string, title: string) => act(() => handler?.({ type: 'livesupport:page', url, title, referrer: '' }));
    report('https://shop.example.com/', 'Home');
    await waitFor(() => expect(sockets.sockets.length).toBeGreaterThan(0));
    act(() => sockets.last.open());
    expect(sockets.last.sentOfType('page')).toEqual([]); // open, but not ready yet
    act(() => sockets.last.receive({ type: 'ready', data: { ticket: ticket({ session_id: 'sess-1' }), last_seq: 0, replayed: 0 } }));
    const pages = sockets.last.sentOfType('page');
    expect(pages).toHaveLength(1);
    expect(pages[0].data).toMatchObject({ url: 'https://shop.example.com/', title: 'Home', referrer: '', locale: navigator.language });
    expect(typeof pages[0].data.timezone).toBe('string');
  });
});
