import { describe, expect, it, vi } from 'vitest';
import { rateLimitDelayMs, TicketChannel, type ChannelState, type PendingMessage } from './ticketChannel';
import { FakeScheduler, SocketFactory, flush, msg, ticket } from '../test/fakes';
import type { ChatMessage, MessagePage, ServerFrame } from './protocol';

function setup(opts: { initialSeq?: number; initialOutbox?: PendingMessage[]; fetchAfter?: (after: number) => Promise<MessagePage> } = {}) {
  const clock = new FakeScheduler();
  const factory = new SocketFactory();
  const delivered: ChatMessage[] = [];
  const frames: ServerFrame[] = [];
  const states: ChannelState[] = [];
  let outbox: readonly PendingMessage[] = [];
  let id = 0;
  const channel = new TicketChannel({
    url: (since) => `ws://x/ws/support/user/s?since=${since}`,
    initialSeq: opts.initialSeq ?? 0,
    initialOutbox: opts.initialOutbox,
    fetchAfter: opts.fetchAfter ?? (async () => ({ messages: [], has_more: false })),
    createSocket: factory.create,
    scheduler: clock,
    random: () => 0.5,
    newId: () => `key-${++id}`,
    listener: {
      onMessages: (m) => delivered.push(...m),
      onFrame: (f) => frames.push(f),
      onState: (s) => states.push(s),
      onOutbox: (o) => (outbox = o),
    },
  });
  return { clock, factory, delivered, frames, states, channel, outbox: () => outbox };
}

const ready = (lastSeq: number, replayed = 0) => ({ type: 'ready', data: { ticket: ticket({ last_seq: lastSeq }), last_seq: lastSeq, replayed } });

describe('TicketChannel', () => {
  it('connects with since = the last seq already held', () => {
    const { factory, channel } = setup({ initialSeq: 7 });
    channel.start();
    expect(factory.last.url).toBe('ws://x/ws/support/user/s?since=7');
  });

  it('delivers in seq order exactly once, dropping duplicates', () => {
    const { factory, delivered, channel } = setup({ initialSeq: 2 });
    channel.start();
    factory.last.open();
    factory.last.receive(ready(4, 2));
    factory.last.receive({ type: 'message', message: msg(2) });
    factory.last.receive({ type: 'message', message: msg(3) });
    factory.last.receive({ type: 'message', message: msg(3) });
    factory.last.receive({ type: 'system', message: msg(4, { sender_type: 'system' }) });
    expect(delivered.map((m) => m.seq)).toEqual([3, 4]);
    expect(channel.lastSeq).toBe(4);
  });

  it('resumes after a drop with since = last delivered seq: no gap, no duplicate', async () => {
    const { clock, factory, delivered, channel, states } = setup({ initialSeq: 0 });
    channel.start();
    factory.last.open();
    factory.last.receive(ready(0));
    factory.last.receive({ type: 'message', message: msg(1) });
    factory.last.receive({ type: 'message', message: msg(2) });
    factory.last.drop(1012);
    expect(states[states.length - 1]).toBe('reconnecting');
    clock.advance(30_000);
    expect(factory.last.url).toContain('since=2');
    factory.last.open();
    factory.last.receive(ready(4, 2));
    factory.last.receive({ type: 'message', message: msg(3) });
    factory.last.receive({ type: 'message', message: msg(4) });
    await flush();
    expect(delivered.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(states[states.length - 1]).toBe('online');
  });

  it('after a silent server (no frame 30 s after a ping) reconnects with since: no gap, no duplicate', async () => {
    const { clock, factory, delivered, channel, states, outbox } = setup({ initialSeq: 0 });
    channel.start();
    const frozen = factory.last;
    frozen.open();
    frozen.receive(ready(0));
    frozen.receive({ type: 'message', message: msg(1) });
    frozen.receive({ type: 'message', message: msg(2) });
    frozen.receive({ type: 'message', message: msg(3) });
    channel.send('sent into the void');
    expect(outbox()[0].state).toBe('sent');
    // the server freezes: a ping at 15 s, nothing back by 45 s
    clock.advance(45_000);
    expect(frozen.sentOfType('ping').length).toBeGreaterThan(0);
    expect(states[states.length - 1]).toBe('reconnecting');
    expect(outbox()[0].state).toBe('queued');
    // whatever the dead socket still says is not delivered
    frozen.receive({ type: 'message', message: msg(4) });
    clock.advance(2_000);
    const ws = factory.last;
    expect(ws).not.toBe(frozen);
    expect(ws.url).toBe('ws://x/ws/support/user/s?since=3');
    ws.open();
    ws.receive(ready(6, 3));
    ws.receive({ type: 'message', message: msg(3) }); // overlap with what we hold
    ws.receive({ type: 'message', message: msg(4) });
    ws.receive({ type: 'message', message: msg(5) });
    ws.receive({ type: 'message', message: msg(6, { message: 'sent into the void', client_msg_id: 'key-1' }) });
    await flush();
    expect(delivered.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(states[states.length - 1]).toBe('online');
    // the echo arrived in the replay, so the message is not sent a second time
    expect(ws.sentOfType('message')).toEqual([]);
    expect(outbox()).toEqual([]);
  });

  it('keeps unsent messages and resends them with the same client_msg_id after the replay', async () => {
    const { clock, factory, channel, outbox, delivered } = setup({ initialSeq: 1 });
    channel.start();
    channel.send('queued while connecting');
    expect(outbox()[0]).toMatchObject({ client_msg_id: 'key-1', state: 'queued' });
    factory.last.open();
    factory.last.receive(ready(1));
    expect(factory.last.sentOfType('message')).toEqual([{ type: 'message', message: 'queued while connecting', client_msg_id: 'key-1' }]);
    expect(outbox()[0].state).toBe('sent');

    // The connection dies before the echo: the message must go again, same key.
    channel.send('second');
    factory.last.drop(1006);
    expect(outbox().map((p) => p.state)).toEqual(['queued', 'queued']);
    clock.advance(30_000);
    const ws = factory.last;
    ws.open();
    ws.receive(ready(2, 1));
    // replay in progress: nothing is resent yet (the replay may carry the echo)
    expect(ws.sentOfType('message')).toEqual([]);
    ws.receive({ type: 'message', message: msg(2, { message: 'queued while connecting', client_msg_id: 'key-1' }) });
    await flush();
    expect(ws.sentOfType('message')).toEqual([{ type: 'message', message: 'second', client_msg_id: 'key-2' }]);
    ws.receive({ type: 'message', message: msg(3, { message: 'second', client_msg_id: 'key-2' }) });
    expect(outbox()).toEqual([]);
    expect(delivered.map((m) => m.message)).toEqual(['queued while connecting', 'second']);
  });

  it('flushes the outbox even when the announced replay never fully comes', () => {
    const { clock, factory, channel } = setup({ initialSeq: 0 });
    channel.start();
    factory.last.open();
    channel.send('hello');
    factory.last.receive(ready(3, 3));
    expect(factory.last.sentOfType('message')).toHaveLength(0);
    clock.advance(3000);
    expect(factory.last.sentOfType('message')).toHaveLength(1);
  });

  it('resends messages restored from storage (a reload) with their original keys', () => {
    const stored: PendingMessage[] = [{ client_msg_id: 'old-key', message: 'typed before reload', created_at: '', state: 'sent' }];
    const { factory, channel } = setup({ initialSeq: 5, initialOutbox: stored });
    channel.start();
    factory.last.open();
    factory.last.receive(ready(5));
    expect(factory.last.sentOfType('message')).toEqual([{ type: 'message', message: 'typed before reload', client_msg_id: 'old-key' }]);
  });

  it('marks a refused message failed, and retries it with the same key', () => {
    const { factory, channel, outbox } = setup();
    channel.start();
    factory.last.open();
    factory.last.receive(ready(0));
    channel.send('bad');
    factory.last.receive({ type: 'error', error: { code: 'validation_failed', message: 'Too long' }, client_msg_id: 'key-1' });
    expect(outbox()[0]).toMatchObject({ state: 'failed', error: { code: 'validation_failed' } });
    channel.retry('key-1');
    expect(factory.last.sentOfType('message').map((f) => f.client_msg_id)).toEqual(['key-1', 'key-1']);
    channel.discard('key-1');
    expect(outbox()).toEqual([]);
  });

  it('after a rate limit keeps the refused messages queued and sends them again by itself after the delay', () => {
    const { clock, factory, channel, outbox } = setup();
    channel.start();
    factory.last.open();
    factory.last.receive(ready(0));
    channel.send('one');
    channel.send('two');
    factory.last.receive({ type: 'error', error: { code: 'rate_limited', message: 'Slow down' }, client_msg_id: 'key-1' });
    factory.last.receive({ type: 'error', error: { code: 'rate_limited', message: 'Slow down' }, client_msg_id: 'key-2' });
    expect(outbox().map((p) => p.state)).toEqual(['queued', 'queued']);
    channel.send('three'); // held too: it would only be refused
    expect(factory.last.sentOfType('message')).toHaveLength(2);
    clock.advance(1999);
    expect(factory.last.sentOfType('message')).toHaveLength(2);
    clock.advance(1);
    expect(factory.last.sentOfType('message').map((f) => f.client_msg_id)).toEqual(['key-1', 'key-2', 'key-1', 'key-2', 'key-3']);
    expect(outbox().map((p) => p.state)).toEqual(['sent', 'sent', 'sent']);
    expect(outbox()[0].error).toBeUndefined();
  });

  it('waits the retry_after the server gives, and longer after refusals in a row', () => {
    expect(rateLimitDelayMs({ code: 'rate_limited', message: '', retry_after: 7 }, 1)).toBe(7000);
    expect(rateLimitDelayMs({ code: 'rate_limited', message: '' }, 1)).toBe(2000);
    expect(rateLimitDelayMs({ code: 'rate_limited', message: '' }, 2)).toBe(4000);
    expect(rateLimitDelayMs({ code: 'rate_limited', message: '' }, 9)).toBe(16000);
    const { clock, factory, channel } = setup();
    channel.start();
    factory.last.open();
    factory.last.receive(ready(0));
    channel.send('one');
    factory.last.receive({ type: 'error', error: { code: 'rate_limited', message: 'Slow down', retry_after: 5 }, client_msg_id: 'key-1' });
    clock.advance(4999);
    expect(factory.last.sentOfType('message')).toHaveLength(1);
    clock.advance(1);
    expect(factory.last.sentOfType('message')).toHaveLength(2);
  });

  it('on resync_required pages through REST from the last seq, then reconnects with since', async () => {
    const pages: Record<number, MessagePage> = {
      2: { messages: [msg(3), msg(4)], has_more: true },
      4: { messages: [msg(5)], has_more: false },
    };
    const fetchAfter = vi.fn(async (after: number) => pages[after] ?? { messages: [], has_more: false });
    const { factory, channel, delivered } = setup({ initialSeq: 2, fetchAfter });
    channel.start();
    factory.last.open();
    factory.last.receive(ready(5));
    // ready announces more than it replays: caught up through REST
    factory.last.receive({ type: 'resync_required', data: { after_seq: 2 } });
    await flush();
    await flush();
    expect(fetchAfter.mock.calls.map((c) => c[0])).toEqual([2, 4]);
    expect(delivered.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(factory.last.url).toContain('since=5');
  });

  it('fills a gap in the live stream from REST instead of showing a hole', async () => {
    const fetchAfter = vi.fn(async () => ({ messages: [msg(2), msg(3)], has_more: false }));
    const { factory, channel, delivered } = setup({ initialSeq: 0, fetchAfter });
    channel.start();
    factory.last.open();
    factory.last.receive(ready(0));
    factory.last.receive({ type: 'message', message: msg(1) });
    factory.last.receive({ type: 'message', message: msg(3) });
    await flush();
    await flush();
    expect(delivered.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(factory.last.url).toContain('since=3');
  });

  it('sends read receipts once connected, and again after a reconnect', () => {
    const { clock, factory, channel } = setup();
    channel.markRead(3);
    channel.start();
    factory.last.open();
    factory.last.receive(ready(0));
    expect(factory.last.sentOfType('read')).toEqual([{ type: 'read', data: { up_to_seq: 3 } }]);
    channel.markRead(2);
    expect(factory.last.sentOfType('read')).toHaveLength(1);
    factory.last.drop();
    clock.advance(30_000);
    factory.last.open();
    factory.last.receive(ready(0));
    expect(factory.last.sentOfType('read')).toEqual([{ type: 'read', data: { up_to_seq: 3 } }]);
  });

  it('ends on a closed ticket (4409) without reconnecting', () => {
    const { clock, factory, channel, states } = setup();
    channel.start();
    factory.last.open();
    factory.last.drop(4409);
    clock.advance(60_000);
    expect(states[states.length - 1]).toBe('ended');
    expect(factory.sockets).toHaveLength(1);
  });
});
