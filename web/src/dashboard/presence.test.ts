import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { browserScheduler } from '../shared/socket';
import { parseServerFrame, type Agent } from '../shared/protocol';
import { ACTIVITY_INTERVAL_MS, ActivityReporter, byAvailability, describeAgent, isGivenToMe, loadLabel, statusOf, upsertAgent } from './presence';
import { checkMaxChats, checkRouting, settingsErrors } from './deskSettings';
import { ApiError } from '../shared/api';
import { transferCandidates } from './TransferPicker';

const agent = (over: Partial<Agent>): Agent => ({ id: 1, email: 'a@example.com', name: 'Alice', role: 'agent', status: 'online', max_chats: 3, open_chats: 0, ...over });

describe('the team store', () => {
  it('replaces a known agent and adds an unknown one, in name order', () => {
    const team = [agent({ id: 1, name: 'Alice' }), agent({ id: 2, name: 'Carol' })];
    const updated = upsertAgent(team, agent({ id: 2, name: 'Carol', status: 'away', open_chats: 2 }));
    expect(updated.map((a) => [a.id, a.status, a.open_chats])).toEqual([
      [1, 'online', 0],
      [2, 'away', 2],
    ]);
    const added = upsertAgent(updated, agent({ id: 7, name: 'Bob', status: 'offline' }));
    expect(added.map((a) => a.name)).toEqual(['Alice', 'Bob', 'Carol']);
    expect(team[1].status).toBe('online'); // never mutated
  });

  it('describes a teammate as the transfer list does, and reads an old server\'s online flag', () => {
    expect(describeAgent(agent({ name: 'Bob', status: 'online', open_chats: 2, max_chats: 3 }))).toBe('Bob · online · 2/3');
    expect(describeAgent({ id: 9, email: 'x@example.com', name: 'Old', role: 'agent', online: true })).toBe('Old · online');
    expect(statusOf({ online: false })).toBe('offline');
    expect(loadLabel({ open_chats: 0, max_chats: 0 })).toBe('0/0');
  });

  it('offers online teammates with room first, never the holder nor a disabled one', () => {
    const team = [
      agent({ id: 1, name: 'Alice', status: 'away', open_chats: 0 }),
      agent({ id: 2, name: 'Bob', status: 'online', open_chats: 2 }),
      agent({ id: 3, name: 'Carol', status: 'online', open_chats: 0 }),
      agent({ id: 4, name: 'Dan', status: 'offline' }),
      agent({ id: 5, name: 'Eve', status: 'online', disabled: true }),
    ];
    expect(transferCandidates(team, 2).map((a) => a.name)).toEqual(['Carol', 'Alice', 'Dan']);
    expect([...team].sort(byAvailability).map((a) => a.name)).toEqual(['Carol', 'Eve', 'Bob', 'Alice', 'Dan']);
  });
});

describe('a ticket given to me', () => {
  it('is one that names me now, did not before, is being worked on, and was not my own doing', () => {
    const mine = { supporter_id: 3, status: 'assigned' as const };
    expect(isGivenToMe({ supporter_id: null }, mine, 3, false)).toBe(true);
    expect(isGivenToMe(undefined, mine, 3, false)).toBe(true); // first heard of with me on it
    expect(isGivenToMe({ supporter_id: 4 }, mine, 3, false)).toBe(true); // a teammate's transfer
    expect(isGivenToMe({ supporter_id: null }, mine, 3, true)).toBe(false); // my Join
    expect(isGivenToMe({ supporter_id: 3 }, mine, 3, false)).toBe(false); // mine already
    expect(isGivenToMe({ supporter_id: null }, { supporter_id: 4, status: 'assigned' }, 3, false)).toBe(false);
    expect(isGivenToMe({ supporter_id: null }, { supporter_id: 3, status: 'resolved' }, 3, false)).toBe(false);
  });
});

describe('issue 16 frames', () => {
  it('parses agent_updated, queue frames and ready.queue_position; drops malformed ones', () => {
    expect(parseServerFrame(JSON.stringify({ type: 'agent_updated', agent: agent({ status: 'away' }) }))).toEqual({ type: 'agent_updated', agent: agent({ status: 'away' }) });
    expect(parseServerFrame(JSON.stringify({ type: 'agent_updated', agent: { id: 1, name: 'A', status: 'busy' } }))).toBeNull();
    expect(parseServerFrame(JSON.stringify({ type: 'queue', data: { position: 3, agents_online: 2 } }))).toEqual({ type: 'queue', data: { position: 3, agents_online: 2 } });
    expect(parseServerFrame(JSON.stringify({ type: 'queue', data: { position: null, agents_online: 0 } }))).toEqual({ type: 'queue', data: { position: null, agents_online: 0 } });
    expect(parseServerFrame(JSON.stringify({ type: 'queue', data: { position: 0, agents_online: 1 } }))).toBeNull();
    expect(parseServerFrame(JSON.stringify({ type: 'queue', data: { position: 2 } }))).toBeNull();
    const t = { id: 1, session_id: 's', subject: 'x', status: 'open', priority: 'low' };
    const ready = parseServerFrame(JSON.stringify({ type: 'ready', data: { ticket: t, last_seq: 0, replayed: 0, queue_position: 2 } }));
    expect(ready?.type === 'ready' && ready.data.queue_position).toBe(2);
    const old = parseServerFrame(JSON.stringify({ type: 'ready', data: { ticket: t, last_seq: 0, replayed: 0 } }));
    expect(old?.type === 'ready' && 'queue_position' in old.data).toBe(false);
  });
});

describe('ActivityReporter (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends the first input at once, then at most once a minute, the last input of a minute at its end', () => {
    const send = vi.fn(() => true);
    const reporter = new ActivityReporter(send, browserScheduler, () => Date.now());
    reporter.input();
    expect(send).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 20; i += 1) {
      vi.advanceTimersByTime(1_000);
      reporter.input();
    }
    expect(send).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(ACTIVITY_INTERVAL_MS - 20_000);
    expect(send).toHaveBeenCalledTimes(2); // the input within the minute, sent when it ended
    vi.advanceTimersByTime(5 * ACTIVITY_INTERVAL_MS);
    expect(send).toHaveBeenCalledTimes(2); // no input, nothing sent
    reporter.input();
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('does not count a send the closed feed refused, and counts a feed opening as activity', () => {
    let open = false;
    const send = vi.fn(() => open);
    const reporter = new ActivityReporter(send, browserScheduler, () => Date.now());
    reporter.input();
    reporter.input();
    expect(send).toHaveBeenCalledTimes(2);
    open = true;
    reporter.connected();
    reporter.input();
    expect(send).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(ACTIVITY_INTERVAL_MS);
    expect(send).toHaveBeenCalledTimes(3);
    reporter.stop();
    reporter.input();
    expect(send).toHaveBeenCalledTimes(4);
  });
});

describe('settings rules', () => {
  it('checks away_after_minutes (0 to 1440) and max_chats (0 to 50)', () => {
    expect(checkRouting({ assignment: 'manual', away_after_minutes: ' 15 ' })).toEqual({ ok: true, settings: { assignment: 'manual', away_after_minutes: 15 } });
    expect(checkRouting({ assignment: 'auto', away_after_minutes: '0' })).toEqual({ ok: true, settings: { assignment: 'auto', away_after_minutes: 0 } });
    for (const bad of ['', '-1', '1441', '2.5', 'ten']) {
      const r = checkRouting({ assignment: 'auto', away_after_minutes: bad });
      expect(r.ok, bad).toBe(false);
      expect(!r.ok && r.errors.away_after_minutes, bad).toMatch(/0 to 1440/);
    }
    expect(checkMaxChats('50')).toEqual({ ok: true, value: 50 });
    expect(checkMaxChats('0')).toEqual({ ok: true, value: 0 });
    for (const bad of ['51', '-1', '', '3.5']) expect(checkMaxChats(bad).ok, bad).toBe(false);
  });

  it('puts a server error under the field it names', () => {
    expect(settingsErrors(new ApiError(400, { code: 'validation_failed', message: 'must be auto or manual', field: 'assignment' }))).toEqual({ assignment: 'must be auto or manual' });
    expect(settingsErrors(new ApiError(403, { code: 'forbidden', message: 'no' }))).toEqual({ form: 'Only admins can change the settings.' });
    expect(settingsErrors(new ApiError(400, { code: 'validation_failed', message: 'unknown field', field: 'colour' }))).toEqual({ form: 'unknown field' });
  });
});
