// The chat app sends the host page the loader reports on the visitor socket (issue 15,
// point 4): nothing before the ticket's socket is ready, then the current page, with
// the browser's language and time zone.
import { act, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { HostToChatEvent } from '../shared/embed';
import type { HostBridge } from './hostBridge';
import { ticket } from '../test/fakes';
import { renderChatApp } from '../test/renderChatApp';

describe('ChatApp page reports', () => {
  it('sends the host page once the ticket socket is ready, never before', async () => {
    let handler: ((e: HostToChatEvent) => void) | null = null;
    const bridge: HostBridge = {
      connected: true,
      post: () => undefined,
      listen: (h) => {
        handler = h;
        return () => (handler = null);
      },
    };
    const { sockets } = renderChatApp({ stored: true, bridge });
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
