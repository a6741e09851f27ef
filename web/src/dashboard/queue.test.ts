import { describe, expect, it } from 'vitest';
import type { Notice } from '../shared/protocol';
import { ticket } from '../test/fakes';
import { DEFAULT_FILTERS, feedScope, keepNewerConversation, matchesFilters, waitingLabel, withNotice } from './queue';

const T0 = Date.parse('2025-12-26T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe('queue rows', () => {
  it('takes a Notice\'s preview and waiting time, not one older than the row', () => {
    const n = (seq: number, o: Partial<Notice> = {}): Notice => ({
      ticket_id: 45, seq, at: at(seq), sender_type: 'user', visitor_messages: 1, preview: `line ${seq}`, waiting_since: at(0), unread: seq, ...o,
    });
    let t = ticket({ status: 'assigned', last_seq: 2, updated_at: at(2) });
    t = withNotice(t, n(3));
    expect(t).toEqual({ ...ticket({ status: 'assigned', updated_at: at(2) }), last_seq: 3, last_message_preview: 'line 3', waiting_since: at(0) });
    t = withNotice(t, n(5, { sender_type: 'supporter', visitor_messages: 0, preview: 'Here!', waiting_since: null }));
    expect(t.last_seq).toBe(5);
    expect(t.last_message_preview).toBe('Here!');
    expect(t.waiting_since).toBeNull();
    expect(t.updated_at).toBe(at(2)); // the version of later ticket frames is left alone
    expect(withNotice(t, n(4))).toBe(t); // another node's late Notice
    expect(withNotice(t, n(5, { preview: 'Here!', waiting_since: null }))).toEqual(t); // the same one twice
    expect(withNotice(t, n(6, { ticket_id: 46 }))).toBe(t);
  });

  it('asks the feed for every ticket\'s notices only when the queue shows anyone\'s', () => {
    expect(feedScope('any')).toBe('all');
    expect(feedScope('me')).toBe('mine');
    expect(feedScope('none')).toBe('mine');
  });

  it('labels the wait in whole minutes, hours and days, only while the ticket is worked on', () => {
    const waiting = (since: string | null, minutes: number, status: 'open' | 'resolved' = 'open') =>
      waitingLabel({ waiting_since: since, status }, T0 + minutes * 60_000);
    expect(waiting(at(0), 0.5)).toBe('just now');
    expect(waiting(at(0), 4)).toBe('4 min');
    expect(waiting(at(0), 120)).toBe('2 h');
    expect(waiting(at(0), 125)).toBe('2 h 5 min');
    expect(waiting(at(0), 3 * 24 * 60 + 7)).toBe('3 d');
    expect(waiting(null, 10)).toBeNull();
    expect(waiting(at(0), 10, 'resolved')).toBeNull();
    expect(waiting(at(0), -5)).toBe('just now');
  });

  it('a ticket frame older than the row keeps the newer preview but takes the status', () => {
    const held = ticket({ last_seq: 5, last_message_preview: 'newest', waiting_since: at(1) });
    const late = ticket({ last_seq: 3, status: 'assigned', last_message_preview: 'older', waiting_since: null });
    const row = keepNewerConversation(late, held);
    expect(row.status).toBe('assigned');
    expect(row.last_message_preview).toBe('newest');
    expect(row.waiting_since).toBe(at(1));
    const fresh = ticket({ last_seq: 6, last_message_preview: 'fresh' });
    expect(keepNewerConversation(fresh, held)).toBe(fresh);
  });
});

describe('the label filter', () => {
  it('keeps only tickets carrying the chosen label, and everything without one', () => {
    const vip = ticket({ labels: ['billing', 'vip'] });
    const plain = ticket({ id: 46, labels: [] });
    const byLabel = { ...DEFAULT_FILTERS, label: 'vip' };
    expect(matchesFilters(vip, byLabel, null)).toBe(true);
    expect(matchesFilters(plain, byLabel, null)).toBe(false);
    expect(matchesFilters(ticket({ labels: ['vip-gold'] }), byLabel, null)).toBe(false);
    expect(matchesFilters(plain, DEFAULT_FILTERS, null)).toBe(true);
    expect(matchesFilters(vip, { ...byLabel, priority: 'urgent' }, null)).toBe(false);
  });
});
