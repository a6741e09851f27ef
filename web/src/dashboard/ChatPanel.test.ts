import { describe, expect, it } from 'vitest';
import { joinAction } from './ChatPanel';

describe('joinAction (issue 14 point 13)', () => {
  it('offers Join on an open chat, Assign to me on a teammate’s, nothing on one’s own or a closed one', () => {
    expect(joinAction('open', null, 3)).toBe('join');
    expect(joinAction('assigned', 9, 3)).toBe('take_over');
    expect(joinAction('in_progress', 9, 3)).toBe('take_over');
    expect(joinAction('resolved', null, 3)).toBe('join');
    expect(joinAction('assigned', 3, 3)).toBeNull();
    expect(joinAction('closed', 9, 3)).toBeNull();
    expect(joinAction('open', null, null)).toBeNull();
  });
});
