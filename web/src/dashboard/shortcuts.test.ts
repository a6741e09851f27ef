import { describe, expect, it } from 'vitest';
import { shortcutFor, stepTicket } from './shortcuts';

const key = (k: string, more: Partial<{ ctrlKey: boolean; target: EventTarget | null }> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, target: null, ...more });

describe('dashboard shortcuts (issue 14 point 19)', () => {
  it('maps single keys, not while typing or with a modifier', () => {
    expect(shortcutFor(key('j'))).toBe('next');
    expect(shortcutFor(key('k'))).toBe('previous');
    expect(shortcutFor(key('r'))).toBe('reply');
    expect(shortcutFor(key('a'))).toBe('assign');
    expect(shortcutFor(key('e'))).toBe('resolve');
    expect(shortcutFor(key('?'))).toBe('help');
    expect(shortcutFor(key('j', { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key('j', { target: document.createElement('textarea') }))).toBeNull();
    expect(shortcutFor(key('x'))).toBeNull();
  });

  it('steps through the queue, wrapping', () => {
    expect(stepTicket([4, 5, 6], null, 1)).toBe(4);
    expect(stepTicket([4, 5, 6], null, -1)).toBe(6);
    expect(stepTicket([4, 5, 6], 6, 1)).toBe(4);
    expect(stepTicket([4, 5, 6], 4, -1)).toBe(6);
    expect(stepTicket([], 4, 1)).toBeNull();
  });
});
