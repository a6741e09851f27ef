import { describe, expect, it } from 'vitest';
import { isTerminalCloseCode, ReconnectingSocket, type SocketState } from './socket';
import { FakeScheduler, SocketFactory } from '../test/fakes';
import type { ServerFrame } from './protocol';

function setup(random = () => 0.5) {
  const clock = new FakeScheduler();
  const factory = new SocketFactory();
  const frames: ServerFrame[] = [];
  const states: { state: SocketState; delayMs?: number; closeCode?: number }[] = [];
  let n = 0;
  const socket = new ReconnectingSocket({
    url: () => `ws://x/ws?try=${++n}`,
    onFrame: (f) => frames.push(f),
    onStateChange: (state, info) => states.push({ state, delayMs: info.delayMs, closeCode: info.closeCode }),
    createSocket: factory.create,
    scheduler: clock,
    backoff: { baseMs: 500, capMs: 8000 },
    random,
  });
  return { clock, factory, frames, states, socket };
}

describe('ReconnectingSocket', () => {
  it('parses frames and sends only while open', () => {
    const { factory, frames, socket } = setup();
    socket.start();
    expect(socket.send({ type: 'typing', data: { is_typing: true } })).toBe(false);
    factory.last.open();
    expect(socket.send({ type: 'typing', data: { is_typing: true } })).toBe(true);
    factory.last.receive({ type: 'presence', data: { user_connected: true, supporter_connected: true } });
    factory.last.onmessage?.(new MessageEvent('message', { data: 'garbage' }));
    expect(frames).toHaveLength(1);
    expect(factory.last.sent).toEqual([{ type: 'typing', data: { is_typing: true } }]);
  });

  it('reconnects after an abnormal close with capped, jittered, growing delays, asking the URL again', () => {
    const { clock, factory, states, socket } = setup(() => 0.999);
    socket.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      factory.last.drop(1006);
      const last = states[states.length - 1];
      expect(last.state).toBe('reconnecting');
      delays.push(last.delayMs ?? -1);
      clock.advance(last.delayMs ?? 0);
    }
    expect(delays).toEqual([499, 999, 1998, 3996, 7992, 7992]);
    expect(factory.sockets.map((s) => s.url)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `ws://x/ws?try=${i}`));
  });

  it.each([1006, 1011, 1012, 1013, 1001])('comes back after close code %i', (code) => {
    const { clock, factory, socket } = setup();
    socket.start();
    factory.last.open();
    factory.last.drop(code);
    expect(socket.state).toBe('reconnecting');
    clock.advance(10_000);
    expect(factory.sockets).toHaveLength(2);
  });

  it.each([1000, 1008, 4401, 4404, 4409])('stays down after close code %i', (code) => {
    const { clock, factory, socket, states } = setup();
    socket.start();
    factory.last.open();
    factory.last.drop(code);
    expect(socket.state).toBe('ended');
    expect(states[states.length - 1].closeCode).toBe(code);
    clock.advance(60_000);
    expect(factory.sockets).toHaveLength(1);
    expect(isTerminalCloseCode(code)).toBe(true);
  });

  it('resets the backoff once the connection proves healthy', () => {
    const { clock, factory, states, socket } = setup(() => 0.999);
    socket.start();
    factory.last.drop();
    clock.advance(10_000);
    factory.last.drop();
    clock.advance(10_000);
    factory.last.open();
    socket.markHealthy();
    factory.last.drop();
    expect(states[states.length - 1].delayMs).toBe(499);
  });

  it('stop() closes without reconnecting; reconnectNow() skips the wait', () => {
    const { clock, factory, socket } = setup();
    socket.start();
    factory.last.drop();
    socket.reconnectNow();
    expect(factory.sockets).toHaveLength(2);
    factory.last.open();
    socket.stop();
    expect(factory.last.closedWith).toBe(1000);
    clock.advance(60_000);
    expect(factory.sockets).toHaveLength(2);
    expect(socket.state).toBe('idle');
  });
});

describe('ReconnectingSocket defaults', () => {
  it('uses the browser WebSocket when no factory is given (even if passed as undefined)', () => {
    const created: string[] = [];
    class StubWebSocket {
      readyState = 0;
      onopen = null;
      onclose = null;
      onmessage = null;
      onerror = null;
      constructor(url: string) {
        created.push(url);
      }
      send(): void {}
      close(): void {}
    }
    const original = globalThis.WebSocket;
    globalThis.WebSocket = StubWebSocket as unknown as typeof WebSocket;
    try {
      const s = new ReconnectingSocket({ url: () => 'ws://x/y', onFrame: () => undefined, createSocket: undefined, backoff: undefined });
      s.start();
      expect(created).toEqual(['ws://x/y']);
      expect(s.state).toBe('connecting');
      s.stop();
    } finally {
      globalThis.WebSocket = original;
    }
  });
});
