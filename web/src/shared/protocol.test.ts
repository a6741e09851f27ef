import { describe, expect, it } from 'vitest';
import { isNote, isVisibleToVisitor, parseServerFrame, serializeClientFrame, type Notice } from './protocol';
import { msg, ticket } from '../test/fakes';

describe('parseServerFrame', () => {
  it('parses every frame type of the contract', () => {
    const frames = [
      { type: 'ready', data: { ticket: ticket(), last_seq: 12, replayed: 3 } },
      { type: 'message', message: msg(1) },
      { type: 'system', message: msg(2, { sender_type: 'system' }) },
      { type: 'supporter_joined', message: msg(3, { sender_type: 'system' }), data: { supporter_id: 3, supporter_name: 'Alice' } },
      { type: 'typing', data: { sender_type: 'supporter', sender_name: 'Alice', is_typing: true } },
      { type: 'read', data: { reader_type: 'user', up_to_seq: 7 } },
      { type: 'presence', data: { user_connected: true, supporter_connected: false } },
      { type: 'ticket_updated', ticket: ticket() },
      { type: 'ticket_created', ticket: ticket() },
      { type: 'resync_required', data: { after_seq: 12 } },
      { type: 'resync_required', data: { scope: 'queue' } },
      { type: 'notices', data: { notices: [] } },
      { type: 'rating_created', data: { ticket_id: 45, rating: { score: 4, comment: null, created_at: '2025-12-26T10:09:00Z' } } },
      { type: 'pong' },
      { type: 'error', error: { code: 'rate_limited', message: 'slow down' }, client_msg_id: 'k1' },
    ];
    for (const f of frames) {
      const parsed = parseServerFrame(JSON.stringify(f));
      expect(parsed, f.type).not.toBeNull();
      expect(parsed?.type).toBe(f.type);
    }
  });

  it('reads rating_created, and drops one without a ticket id or a score', () => {
    const rating = { score: 5, comment: 'Great', created_at: '2025-12-26T10:09:00Z' };
    expect(parseServerFrame(JSON.stringify({ type: 'rating_created', data: { ticket_id: 45, rating } }))).toEqual({ type: 'rating_created', data: { ticket_id: 45, rating } });
    expect(parseServerFrame(JSON.stringify({ type: 'rating_created', data: { rating } }))).toBeNull();
    expect(parseServerFrame(JSON.stringify({ type: 'rating_created', data: { ticket_id: 45, rating: { comment: 'x' } } }))).toBeNull();
  });

  it('reads the feed\'s notices (issue 20), leaving out a malformed one', () => {
    const notice: Notice = {
      ticket_id: 45,
      seq: 7,
      at: '2025-12-26T10:06:00Z',
      sender_type: 'user',
      visitor_messages: 2,
      preview: 'Anyone there?',
      waiting_since: '2025-12-26T10:05:00Z',
      unread: 3,
    };
    const quiet: Notice = { ...notice, ticket_id: 46, seq: 2, sender_type: 'system', visitor_messages: 0, preview: null, waiting_since: null, unread: 0 };
    const malformed = [{ ...notice, seq: '7' }, { ...notice, sender_type: 'bot' }, { ...notice, preview: 5 }, { ...notice, unread: -1 }, { ticket_id: 47 }, null];
    const raw = JSON.stringify({ type: 'notices', data: { notices: [notice, ...malformed, quiet] } });
    expect(parseServerFrame(raw)).toEqual({ type: 'notices', data: { notices: [notice, quiet] } });
    // A Notice without `at` still counts: the dashboard does not need it.
    const { at: _at, ...noAt } = notice;
    expect(parseServerFrame(JSON.stringify({ type: 'notices', data: { notices: [noAt] } }))).toEqual({ type: 'notices', data: { notices: [{ ...notice, at: '' }] } });
    expect(parseServerFrame('{"type":"notices","data":{}}')).toBeNull();
    expect(parseServerFrame('{"type":"notices"}')).toBeNull();
  });

  it('writes the feed\'s scope frame', () => {
    expect(JSON.parse(serializeClientFrame({ type: 'scope', data: { scope: 'mine' } }))).toEqual({ type: 'scope', data: { scope: 'mine' } });
  });

  it('keeps the client_msg_id of an error frame', () => {
    const parsed = parseServerFrame(JSON.stringify({ type: 'error', error: { code: 'rate_limited', message: 'x' }, client_msg_id: 'abc' }));
    expect(parsed).toEqual({ type: 'error', error: { code: 'rate_limited', message: 'x' }, client_msg_id: 'abc' });
  });

  it('keeps the retry_after of a rate_limited error frame, when it is a positive number', () => {
    const frame = (retry_after: unknown) => parseServerFrame(JSON.stringify({ type: 'error', error: { code: 'rate_limited', message: 'x', retry_after } }));
    expect(frame(3)).toEqual({ type: 'error', error: { code: 'rate_limited', message: 'x', retry_after: 3 } });
    expect(frame('3')).toEqual({ type: 'error', error: { code: 'rate_limited', message: 'x' } });
    expect(frame(-1)).toEqual({ type: 'error', error: { code: 'rate_limited', message: 'x' } });
  });

  it('drops malformed or unknown frames instead of throwing', () => {
    const bad = ['not json', '[]', '{"type":42}', '{"type":"nope"}', '{"type":"message"}', '{"type":"message","message":{"seq":"1"}}',
      '{"type":"ready","data":{}}', '{"type":"resync_required","data":{}}', '{"type":"typing","data":{"sender_type":"hacker","is_typing":true}}', '{"type":"error","error":"x"}'];
    for (const raw of bad) expect(parseServerFrame(raw), raw).toBeNull();
    expect(parseServerFrame(new ArrayBuffer(2))).toBeNull();
  });
});

describe('message visibility (issue 14 point 2, issue 15)', () => {
  it('parses note frames, and the visitor view skips internal messages and legacy empty placeholders', () => {
    const note = msg(4, { sender_type: 'supporter', sender_name: 'Alice', message: 'VIP', visibility: 'internal' });
    const frame = parseServerFrame(JSON.stringify({ type: 'note', message: note }));
    expect(frame?.type).toBe('note');
    const parsed = frame && frame.type === 'note' ? frame.message : null;
    expect(parsed?.seq).toBe(4);
    expect(parsed && isNote(parsed)).toBe(true);
    expect(isVisibleToVisitor(note)).toBe(false);
    // An agents-only note stored before migration 0006 reaches the visitor as an empty system line.
    const legacy = { ...msg(5, { sender_type: 'system', message: '' }), sender_name: null };
    expect(isVisibleToVisitor(legacy)).toBe(false);
    expect(isNote(msg(6, { sender_type: 'system', message: 'Priority changed', visibility: 'internal' }))).toBe(false);
    expect(isVisibleToVisitor(msg(7, { sender_type: 'system', message: 'This chat has ended' }))).toBe(true);
    expect(isVisibleToVisitor({ ...msg(8), visibility: 'public' })).toBe(true);
  });
});
