import { describe, expect, it } from 'vitest';
import { isAtBottom, nextReadMark, SeenTracker } from './readOnSight';

describe('read on sight', () => {
  it('answers the highest seq that has been on screen, not the newest one held', () => {
    const t = new SeenTracker();
    // opened at the newest messages: 8..10 on screen, 11 below the fold
    expect(t.update([{ seq: 8, visible: true }, { seq: 9, visible: true }, { seq: 10, visible: true }, { seq: 11, visible: false }])).toBe(10);
    // the reader scrolls up: 10 leaves, 6 and 7 come in; what was seen stays seen
    expect(t.update([{ seq: 10, visible: false }, { seq: 6, visible: true }, { seq: 7, visible: true }])).toBe(10);
    expect(t.visible()).toEqual([6, 7, 8, 9]);
    // and down to the end
    expect(t.update([{ seq: 11, visible: true }])).toBe(11);
  });

  it('counts nothing as seen before anything was on screen (the panel hidden)', () => {
    const t = new SeenTracker();
    expect(t.update([{ seq: 3, visible: false }, { seq: 4, visible: false }])).toBe(0);
    t.update([{ seq: 3, visible: true }]);
    t.reset();
    expect(t.visible()).toEqual([]);
    expect(t.update([])).toBe(3);
  });

  it('moves the read mark only forwards', () => {
    expect(nextReadMark(0, 4)).toBe(4);
    expect(nextReadMark(4, 4)).toBeNull();
    expect(nextReadMark(7, 3)).toBeNull();
  });

  it('counts a list within a few pixels of the end as at the bottom', () => {
    expect(isAtBottom({ scrollHeight: 1000, scrollTop: 600, clientHeight: 400 })).toBe(true);
    expect(isAtBottom({ scrollHeight: 1000, scrollTop: 560, clientHeight: 400 })).toBe(true);
    expect(isAtBottom({ scrollHeight: 1000, scrollTop: 300, clientHeight: 400 })).toBe(false);
  });
});
