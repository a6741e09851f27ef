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

describe('parseSavedTabs (issue 14 point 16)', () => {
  it('reads saved tabs and drops what is malformed', async () => {
    const { parseSavedTabs } = await import('./dashboardController');
    expect(parseSavedTabs(JSON.stringify({ open: [45, 46], active: 46 }))).toEqual({ open: [45, 46], active: 46 });
    expect(parseSavedTabs(JSON.stringify({ open: [45, 'x', -1, 45], active: 9 }))).toEqual({ open: [45], active: 45 });
    expect(parseSavedTabs('not json')).toEqual({ open: [], active: null });
    expect(parseSavedTabs(null)).toEqual({ open: [], active: null });
  });
});
