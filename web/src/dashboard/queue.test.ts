import { describe, expect, it } from 'vitest';
import { msg, ticket } from '../test/fakes';
import { DEFAULT_FILTERS, keepNewerConversation, matchesFilters, waitingLabel, withMessage } from './queue';

const T0 = Date.parse('2025-12-26T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe('queue rows', () => {
  it('waits from the first unanswered visitor message until an agent writes', () => {
    let t = ticket({ status: 'assigned' });
    t = withMessage(t, msg(1, { message: 'Hello?', created_at: at(0) }));
    expect(t.waiting_since).toBe(at(0));
    t = withMessage(t, msg(2, { message: 'Anyone?', created_at: at(2) }));
    expect(t.waiting_since).toBe(at(0));
    expect(t.last_message_preview).toBe('Anyone?');
    t = withMessage(t, msg(3, { sender_type: 'system', message: 'Alice joined', created_at: at(3) }));
    expect(t.last_message_preview).toBe('Anyone?');
    expect(t.waiting_since).toBe(at(0));
    t = withMessage(t, msg(4, { sender_type: 'supporter', message: 'Here!', created_at: at(4) }));
    expect(t.waiting_since).toBeNull();
    expect(t.last_message_preview).toBe('Here!');
    expect(t.last_seq).toBe(4);
    t = withMessage(t, msg(5, { sender_type: 'system', visibility: 'internal', message: 'Priority changed', created_at: at(5) }));
    expect(t.last_message_preview).toBe('Here!');
  });

  it('previews 140 characters, not UTF-16 units', () => {
    const long = '😀'.repeat(200);
    const t = withMessage(ticket(), msg(1, { message: long }));
    expect(Array.from(t.last_message_preview ?? '')).toHaveLength(140);
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
