// Issue 16: while the visitor waits, the chat app shows their place in the queue
// (ready.data.queue_position, then `queue` frames), or that nobody is online, in a
// polite live region that an identical frame does not touch.
import { act, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { msg, ticket, type SocketFactory } from '../test/fakes';
import { renderChatApp, socketReady } from '../test/renderChatApp';
import { queueText } from './queueStatus';

const renderWaiting = (language = 'en') => renderChatApp({ stored: true, history: [msg(1)], language });

const ready = (sockets: SocketFactory, queuePosition: number | null | undefined) =>
  socketReady(sockets, { last_seq: 1 }, queuePosition === undefined ? {} : { queue_position: queuePosition });

const region = (): HTMLElement => {
  const el = document.querySelector<HTMLElement>('.ls-queue');
  if (!el) throw new Error('no queue region');
  return el;
};

describe('the queue position in the chat app', () => {
  it('shows the position from ready, then follows queue frames: 3, next, nobody online, and clears on null', async () => {
    const { sockets } = renderWaiting();
    await ready(sockets, 3);
    expect(region().getAttribute('aria-live')).toBe('polite');
    expect(region().getAttribute('role')).toBe('status');
    expect(region().textContent).toBe('You are number 3 in the queue');
    act(() => sockets.last.receive({ type: 'queue', data: { position: 1, agents_online: 2 } }));
    expect(region().textContent).toBe('You are next');
    act(() => sockets.last.receive({ type: 'queue', data: { position: 1, agents_online: 0 } }));
    expect(region().textContent).toMatch(/^All our agents are away right now/);
    act(() => sockets.last.receive({ type: 'queue', data: { position: null, agents_online: 0 } }));
    expect(region().textContent).toBe('');
  });

  it('clears when an agent joins', async () => {
    const { sockets } = renderWaiting();
    await ready(sockets, 2);
    expect(region().textContent).toBe('You are number 2 in the queue');
    act(() =>
      sockets.last.receive({
        type: 'supporter_joined',
        message: msg(2, { sender_type: 'system', sender_name: 'System', message: 'Alice joined the chat' }),
        data: { supporter_id: 3, supporter_name: 'Alice' },
      }),
    );
    expect(region().textContent).toBe('');
    // A late queue frame for a ticket that has an agent shows nothing either.
    act(() => sockets.last.receive({ type: 'ticket_updated', ticket: ticket({ session_id: 'sess-1', status: 'assigned', supporter_id: 3, supporter_name: 'Alice', updated_at: '2025-12-26T10:01:00Z' }) }));
    act(() => sockets.last.receive({ type: 'queue', data: { position: 1, agents_online: 1 } }));
    expect(screen.getByText('You are chatting with Alice')).toBeTruthy();
    expect(region().textContent).toBe('');
  });

  it('does not touch the live region for an identical frame (nothing is announced again)', async () => {
    const { sockets } = renderWaiting();
    await ready(sockets, undefined);
    expect(region().textContent).toBe('');
    act(() => sockets.last.receive({ type: 'queue', data: { position: 4, agents_online: 1 } }));
    expect(region().textContent).toBe('You are number 4 in the queue');
    const mutations: MutationRecord[] = [];
    const observer = new MutationObserver((m) => mutations.push(...m));
    observer.observe(region(), { childList: true, characterData: true, subtree: true, attributes: true });
    act(() => sockets.last.receive({ type: 'queue', data: { position: 4, agents_online: 1 } }));
    act(() => sockets.last.receive({ type: 'queue', data: { position: 4, agents_online: 1 } }));
    await new Promise((r) => setTimeout(r, 0));
    observer.disconnect();
    expect(mutations).toEqual([]);
  });

  it('speaks the visitor\'s language', async () => {
    const { sockets } = renderWaiting('de');
    await ready(sockets, 3);
    expect(region().textContent).toBe('Sie sind Nummer 3 in der Warteschlange');
    act(() => sockets.last.receive({ type: 'queue', data: { position: 3, agents_online: 0 } }));
    expect(region().textContent).toMatch(/^Gerade ist niemand/);
  });
});

describe('queueText', () => {
  it('says nothing without a queue, when not waiting, or after the chat', () => {
    expect(queueText(null, true)).toBeNull();
    expect(queueText({ position: 2, agentsOnline: 1 }, false)).toBeNull();
    expect(queueText({ position: 2, agentsOnline: null }, true)).toEqual({ key: 'queue.position', params: { position: 2 } });
    expect(queueText({ position: 1, agentsOnline: null }, true)).toEqual({ key: 'queue.next' });
    expect(queueText({ position: 5, agentsOnline: 0 }, true)).toEqual({ key: 'queue.nobodyOnline' });
  });
});
