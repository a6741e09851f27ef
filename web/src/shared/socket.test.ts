import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserWakeSource,
  isTerminalCloseCode,
  LIVENESS_TIMEOUT_MS,
  PING_INTERVAL_MS,
  ReconnectingSocket,
  type SocketState,
} from './socket';
import type { BackoffPolicy } from './backoff';
import { FakeScheduler, FakeWakeSource, SocketFactory } from '../test/fakes';
import type { ServerFrame } from './protocol';

function setup(random = () => 0.5, backoff: BackoffPolicy = { baseMs: 500, capMs: 8000 }) {
  const clock = new FakeScheduler();
  const factory = new SocketFactory();
  const wake = new FakeWakeSource();
  const frames: ServerFrame[] = [];
  const states: { state: SocketState; delayMs?: number; closeCode?: number }[] = [];
  let n = 0;
  const socket = new ReconnectingSocket({
    url: () => `ws://x/ws?try=${++n}`,
    onFrame: (f) => frames.push(f),
    onStateChange: (state, info) => states.push({ state, delayMs: info.delayMs, closeCode: info.closeCode }),
    createSocket: factory.create,
    scheduler: clock,
    backoff,
    random,
    wake: wake.subscribe,
  });
  return { clock, factory, frames, states, socket, wake };
}

const lastState = (states: { state: SocketState; delayMs?: number; closeCode?: number }[]) => states[states.length - 1];

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

describe('ReconnectingSocket liveness', () => {
  it('pings every 15 s while open, and only while open', () => {
    const { clock, factory, socket } = setup();
    socket.start();
    clock.advance(PING_INTERVAL_MS);
    expect(factory.last.sentOfType('ping')).toHaveLength(0); // not open yet
    factory.last.open();
    clock.advance(PING_INTERVAL_MS - 1);
    expect(factory.last.sentOfType('ping')).toHaveLength(0);
    clock.advance(1);
    expect(factory.last.sent).toEqual([{ type: 'ping' }]);
    factory.last.receive({ type: 'pong' });
    clock.advance(PING_INTERVAL_MS);
    expect(factory.last.sentOfType('ping')).toHaveLength(2);
    socket.stop();
    clock.advance(5 * PING_INTERVAL_MS);
    expect(factory.last.sentOfType('ping')).toHaveLength(2);
  });

  it('stays up as long as pongs answer, and hands no pong on', () => {
    const { clock, factory, frames, socket } = setup();
    socket.start();
    factory.last.open();
    // each ping answered 5 s after it went out
    for (let i = 0; i < 20; i++) {
      clock.advance(5_000);
      factory.last.receive({ type: 'pong' });
      clock.advance(PING_INTERVAL_MS - 5_000); // the next ping goes out now
    }
    // a slow answer, just inside 30 s of the oldest unanswered ping, still counts
    clock.advance(LIVENESS_TIMEOUT_MS - 1);
    factory.last.receive({ type: 'pong' });
    clock.advance(10_000);
    expect(factory.last.sentOfType('ping').length).toBeGreaterThan(20);
    expect(factory.sockets).toHaveLength(1);
    expect(socket.state).toBe('open');
    expect(frames).toEqual([]);
  });

  it('counts any frame, even one it cannot parse, as a sign of life', () => {
    const { clock, factory, frames, socket } = setup();
    socket.start();
    factory.last.open();
    for (let i = 0; i < 10; i++) {
      clock.advance(20_000);
      if (i % 2 === 0) factory.last.receive({ type: 'presence', data: { user_connected: true, supporter_connected: false } });
      else factory.last.onmessage?.(new MessageEvent('message', { data: 'not a frame we know' }));
    }
    expect(factory.sockets).toHaveLength(1);
    expect(socket.state).toBe('open');
    expect(frames).toHaveLength(5);
  });

  it('gives a silent socket up 30 s after the first unanswered ping, like a 1006 close, and comes back', () => {
    const { clock, factory, states, socket } = setup();
    socket.start();
    const first = factory.last;
    first.open();
    // ping at 15 s (deadline 45 s); the ping at 30 s must not move the deadline on
    clock.advance(PING_INTERVAL_MS + LIVENESS_TIMEOUT_MS - 1);
    expect(first.sentOfType('ping')).toHaveLength(2);
    expect(socket.state).toBe('open');
    clock.advance(1);
    expect(socket.state).toBe('reconnecting');
    expect(lastState(states)).toMatchObject({ state: 'reconnecting', closeCode: 1006 });
    // closed by us without a code: never the terminal 1000 path
    expect(first.closeCalls).toEqual([undefined]);
    expect(states.some((s) => s.state === 'ended')).toBe(false);
    // a late close event from the dead socket changes nothing
    first.drop(1000);
    expect(socket.state).toBe('reconnecting');
    clock.advance(2_000);
    expect(factory.sockets).toHaveLength(2);
    expect(socket.state).toBe('connecting');
  });

  it('restarts the deadline from the next ping once the server has been heard', () => {
    const { clock, factory, socket } = setup();
    socket.start();
    factory.last.open();
    clock.advance(40_000); // pings at 15 s and 30 s, deadline 45 s
    factory.last.receive({ type: 'pong' });
    clock.advance(34_999); // ping at 45 s: new deadline 75 s
    expect(socket.state).toBe('open');
    clock.advance(1);
    expect(socket.state).toBe('reconnecting');
  });

  it('gives up a connection that never opens after the same 30 s', () => {
    const { clock, factory, socket } = setup();
    socket.start();
    clock.advance(LIVENESS_TIMEOUT_MS - 1);
    expect(socket.state).toBe('connecting');
    clock.advance(1);
    expect(socket.state).toBe('reconnecting');
    expect(factory.sockets[0].closeCalls).toEqual([undefined]);
  });
});

describe('ReconnectingSocket retries', () => {
  it('makes the first retry within 2 s even under a slow policy, then backs off', () => {
    const { clock, factory, states, socket } = setup(() => 0.999, { baseMs: 10_000, capMs: 60_000 });
    socket.start();
    factory.last.open();
    clock.advance(10_000); // healthy for a while: attempts reset
    factory.last.drop(1012);
    expect(lastState(states).delayMs).toBe(1998);
    clock.advance(1998);
    expect(factory.sockets).toHaveLength(2);
    factory.last.drop(1006);
    expect(lastState(states).delayMs).toBe(19_980);
  });

  it('makes the first retry after a liveness timeout within 2 s', () => {
    const { clock, factory, socket } = setup(() => 0.999);
    socket.start();
    factory.last.open();
    clock.advance(PING_INTERVAL_MS + LIVENESS_TIMEOUT_MS);
    expect(socket.state).toBe('reconnecting');
    clock.advance(1_999);
    expect(factory.sockets).toHaveLength(2);
  });

  it('retries at once when woken while reconnecting, dropping the pending wait', () => {
    const { clock, factory, socket, wake } = setup(() => 0.999, { baseMs: 500, capMs: 30_000 });
    socket.start();
    for (let i = 0; i < 5; i++) {
      factory.last.drop(1006);
      clock.advance(30_000);
    }
    factory.last.drop(1006); // now waiting up to 16 s
    expect(socket.state).toBe('reconnecting');
    const before = factory.sockets.length;
    wake.fire();
    expect(factory.sockets).toHaveLength(before + 1);
    expect(socket.state).toBe('connecting');
    // the old backoff timer is gone: only the new socket's open timeout is pending
    expect(clock.pending).toEqual([LIVENESS_TIMEOUT_MS]);
    factory.last.open();
    wake.fire(); // open: nothing to do
    expect(factory.sockets).toHaveLength(before + 1);
  });

  it('listens for wake-ups only between start and the final stop or end, and leaves no timer behind', () => {
    const { clock, factory, socket, wake } = setup();
    expect(wake.listenerCount).toBe(0);
    socket.start();
    factory.last.open();
    clock.advance(PING_INTERVAL_MS); // a ping out, its deadline armed
    expect(wake.listenerCount).toBe(1);
    socket.stop();
    expect(wake.listenerCount).toBe(0);
    expect(clock.pending).toEqual([]);
    wake.fire();
    expect(factory.sockets).toHaveLength(1);

    socket.start();
    socket.start(); // no second subscription
    expect(wake.listenerCount).toBe(1);
    factory.last.open();
    clock.advance(PING_INTERVAL_MS);
    factory.last.drop(4401);
    expect(socket.state).toBe('ended');
    expect(wake.listenerCount).toBe(0);
    expect(clock.pending).toEqual([]);
  });
});

describe('browserWakeSource', () => {
  let visibility: DocumentVisibilityState = 'visible';
  beforeAll(() => {
    // jsdom's own visibilityState never changes; shadow it on this document.
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
  });
  afterAll(() => {
    Reflect.deleteProperty(document, 'visibilityState');
  });

  it('wakes on online and on the page becoming visible, until unsubscribed', () => {
    let wakes = 0;
    const unsubscribe = browserWakeSource(() => (wakes += 1));
    window.dispatchEvent(new Event('online'));
    expect(wakes).toBe(1);
    visibility = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(wakes).toBe(1);
    visibility = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(wakes).toBe(2);
    unsubscribe();
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    expect(wakes).toBe(2);
  });
});
