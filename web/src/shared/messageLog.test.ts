import { describe, expect, it } from 'vitest';
import { applyRead, countUnread, mergeMessages, readMarkFromHistory } from './messageLog';
import { msg } from '../test/fakes';

describe('message log', () => {
  it('merges pages and live frames by seq, without duplicates, ascending', () => {
    const merged = mergeMessages([msg(3), msg(4)], [msg(1), msg(2), msg(4), msg(5)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('counts the other side\'s unread messages after the read mark', () => {
    const list = [msg(1), msg(2, { sender_type: 'supporter' }), msg(3, { sender_type: 'supporter' }), msg(4, { sender_type: 'system' }), msg(5, { sender_type: 'supporter', is_read: true })];
    expect(countUnread(list, 'supporter', 0)).toBe(2);
    expect(countUnread(list, 'supporter', 2)).toBe(1);
    expect(countUnread(list, 'supporter', 3)).toBe(0);
    expect(countUnread(list, 'user', 0)).toBe(1);
  });

  it('applies a read receipt to the reader\'s counterpart messages only', () => {
    const list = [msg(1), msg(2, { sender_type: 'supporter' }), msg(3)];
    const read = applyRead(list, 'supporter', 2);
    expect(read.map((m) => m.is_read)).toEqual([true, false, false]);
    expect(applyRead(read, 'supporter', 2)).toBe(read);
  });

  it('derives the read mark from history flags', () => {
    expect(readMarkFromHistory([msg(1, { sender_type: 'supporter', is_read: true }), msg(2, { sender_type: 'supporter' })], 'supporter')).toBe(1);
  });
});
