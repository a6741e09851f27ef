import { describe, expect, it, vi } from 'vitest';
import { ConversationController } from './conversation';
import { FakeScheduler, SocketFactory, flush, msg, ticket } from '../test/fakes';
import type { PageQuery } from './api';
import type { ChatMessage } from './protocol';

function setup(history: ChatMessage[], lastSeq = history.length) {
  const clock = new FakeScheduler();
  const factory = new SocketFactory();
  const fetchPage = vi.fn(async (page: PageQuery) => {
    if ('before_seq' in page) return { messages: history.filter((m) => m.seq < page.before_seq).slice(-(page.limit ?? 50)), has_more: false };
    return { messages: history.filter((m) => m.seq > (page.after_seq ?? 0)), has_more: false };
  });
  const onReadUpToChange = vi.fn();
  const c = new ConversationController({
    self: 'user',
    loadTicket: async () => ticket({ last_seq: lastSeq }),
    fetchPage,
    socketUrl: (since) => `ws://x/ws/support/user/sess-1?since=${since}`,
    createSocket: factory.create,
    scheduler: clock,
    random: () => 0.5,
    onReadUpToChange,
  });
  return { c, clock, factory, fetchPage, onReadUpToChange };
}

const agentMsg = (seq: number, text = `agent ${seq}`) => msg(seq, { sender_type: 'supporter', sender_name: 'Alice', message: text });

describe('ConversationController (guest side)', () => {
  it('loads the latest history, then follows the socket from its last seq without duplicates', async () => {
    const { c, factory, fetchPage } = setup([msg(1), agentMsg(2)]);
    await c.open();
    expect(fetchPage).toHaveBeenCalledWith({ before_seq: 3, limit: 50 });
    expect(factory.last.url).toBe('ws://x/ws/support/user/sess-1?since=2');
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 3 }), last_seq: 3, replayed: 1 } });
    factory.last.receive({ type: 'message', message: agentMsg(2) });
    factory.last.receive({ type: 'message', message: agentMsg(3) });
    expect(c.state.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(c.state.connection).toBe('online');
  });

  it('queues a message sent while the history still loads, and sends it once the socket is ready', async () => {
    const { c, factory } = setup([msg(1)]);
    const opening = c.open();
    expect(c.send('typed early')).toBeUndefined();
    expect(c.state.outbox.map((p) => [p.message, p.state])).toEqual([['typed early', 'queued']]);
    await opening;
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 1 }), last_seq: 1, replayed: 0 } });
    const sent = factory.last.sentOfType('message');
    expect(sent.map((f) => f.message)).toEqual(['typed early']);
    expect(sent[0].client_msg_id).toBe(c.state.outbox[0].client_msg_id);
  });

  it('shows reconnecting when the server goes silent, and resumes with no gap and no duplicate', async () => {
    const { c, clock, factory } = setup([msg(1), agentMsg(2)]);
    await c.open();
    const frozen = factory.last;
    frozen.open();
    frozen.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 2 }), last_seq: 2, replayed: 0 } });
    frozen.receive({ type: 'message', message: agentMsg(3) });
    expect(c.state.connection).toBe('online');
    clock.advance(15_000 + 30_000);
    expect(c.state.connection).toBe('reconnecting');
    expect(c.state.retryInMs).not.toBeNull();
    expect(c.state.retryInMs ?? Infinity).toBeLessThan(2_000);
    clock.advance(2_000);
    expect(factory.last.url).toBe('ws://x/ws/support/user/sess-1?since=3');
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 4 }), last_seq: 4, replayed: 2 } });
    factory.last.receive({ type: 'message', message: agentMsg(3) });
    factory.last.receive({ type: 'message', message: agentMsg(4) });
    expect(c.state.connection).toBe('online');
    expect(c.state.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it('ignores a ticket copy older than the one it holds', async () => {
    const { c, factory } = setup([msg(1)]);
    await c.open();
    factory.last.open();
    const current = ticket({ last_seq: 1, status: 'assigned', updated_at: '2025-12-26T10:05:00.5Z' });
    factory.last.receive({ type: 'ready', data: { ticket: current, last_seq: 1, replayed: 0 } });
    factory.last.receive({ type: 'ticket_updated', ticket: { ...current, status: 'closed', updated_at: '2025-12-26T10:05:00.4Z' } });
    expect(c.state.ticket?.status).toBe('assigned');
    expect(c.state.endedReason).toBeNull();
    factory.last.receive({ type: 'ticket_updated', ticket: { ...current, status: 'resolved', updated_at: '2025-12-26T10:06:00Z' } });
    expect(c.state.ticket?.status).toBe('resolved');
  });

  it('counts agent messages as unread while hidden, and reads them when shown', async () => {
    const { c, factory, onReadUpToChange } = setup([msg(1)]);
    await c.open();
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 1 }), last_seq: 1, replayed: 0 } });
    c.setAttentive(false);
    factory.last.receive({ type: 'message', message: agentMsg(2) });
    factory.last.receive({ type: 'system', message: msg(3, { sender_type: 'system', message: 'Alice changed the status' }) });
    factory.last.receive({ type: 'message', message: agentMsg(4) });
    expect(c.state.unread).toBe(2);
    c.setAttentive(true);
    expect(c.state.unread).toBe(0);
    expect(onReadUpToChange).toHaveBeenLastCalledWith(4);
    expect(factory.last.sentOfType('read')).toEqual([{ type: 'read', data: { up_to_seq: 4 } }]);
    // while shown, new messages are read at once
    factory.last.receive({ type: 'message', message: agentMsg(5) });
    expect(c.state.unread).toBe(0);
  });

  it('shows the agent typing, and clears it when their message lands', async () => {
    const { c, factory } = setup([]);
    await c.open();
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket(), last_seq: 0, replayed: 0 } });
    factory.last.receive({ type: 'typing', data: { sender_type: 'supporter', sender_name: 'Alice', is_typing: true } });
    expect(c.state.peerTyping).toBe('Alice');
    factory.last.receive({ type: 'typing', data: { sender_type: 'user', sender_name: 'John', is_typing: true } });
    expect(c.state.peerTyping).toBe('Alice');
    factory.last.receive({ type: 'message', message: agentMsg(1) });
    expect(c.state.peerTyping).toBeNull();
  });

  it('marks own messages read when the agent reads them', async () => {
    const { c, factory } = setup([msg(1), msg(2)]);
    await c.open();
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket({ last_seq: 2 }), last_seq: 2, replayed: 0 } });
    factory.last.receive({ type: 'read', data: { reader_type: 'supporter', up_to_seq: 1 } });
    expect(c.state.messages.map((m) => m.is_read)).toEqual([true, false]);
  });

  it('refuses to send an empty or oversized message and sends a valid one', async () => {
    const { c, factory } = setup([]);
    await c.open();
    factory.last.open();
    factory.last.receive({ type: 'ready', data: { ticket: ticket(), last_seq: 0, replayed: 0 } });
    expect(c.send('   ')).toMatch(/empty/);
    expect(c.send('x'.repeat(8193))).toMatch(/8192/);
    expect(c.send('  hello  ')).toBeUndefined();
    expect(factory.last.sentOfType('message')[0].message).toBe('hello');
    expect(c.state.outbox).toHaveLength(1);
  });

  it('pages back through history with before_seq, keeping order and no duplicates', async () => {
    const history = Array.from({ length: 120 }, (_, i) => msg(i + 1));
    const fetchPage = vi.fn(async (page: PageQuery) => {
      if (!('before_seq' in page)) return { messages: [], has_more: false };
      const older = history.filter((m) => m.seq < page.before_seq);
      return { messages: older.slice(-(page.limit ?? 50)), has_more: older.length > (page.limit ?? 50) };
    });
    const c = new ConversationController({
      self: 'supporter',
      loadTicket: async () => ticket({ last_seq: 120 }),
      fetchPage,
      socketUrl: () => 'ws://x',
      createSocket: new SocketFactory().create,
      scheduler: new FakeScheduler(),
    });
    await c.open();
    expect(c.state.messages.map((m) => m.seq)).toEqual(history.slice(70).map((m) => m.seq));
    expect(c.state.hasMoreBefore).toBe(true);
    await c.loadOlder();
    await c.loadOlder();
    expect(fetchPage.mock.calls.map((call) => call[0])).toEqual([
      { before_seq: 121, limit: 50 },
      { before_seq: 71, limit: 50 },
      { before_seq: 21, limit: 50 },
    ]);
    expect(c.state.messages.map((m) => m.seq)).toEqual(history.map((m) => m.seq));
    expect(c.state.hasMoreBefore).toBe(false);
    expect(c.state.unread).toBe(120);
  });

  it('does not connect to a closed ticket', async () => {
    const clock = new FakeScheduler();
    const factory = new SocketFactory();
    const c = new ConversationController({
      self: 'user',
      loadTicket: async () => ticket({ status: 'closed', last_seq: 1 }),
      fetchPage: async () => ({ messages: [msg(1)], has_more: false }),
      socketUrl: () => 'ws://x',
      createSocket: factory.create,
      scheduler: clock,
    });
    await c.open();
    await flush();
    expect(factory.sockets).toHaveLength(0);
    expect(c.state.endedReason).toBe('closed');
  });
});
