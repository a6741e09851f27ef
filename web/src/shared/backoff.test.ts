import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, FIRST_RETRY_MAX_MS, reconnectDelay } from './backoff';

describe('capped exponential backoff with full jitter', () => {
  const policy = { baseMs: 500, capMs: 30_000 };

  it('doubles the ceiling per attempt until the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffCeiling(a, policy))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffCeiling(1000, policy)).toBe(30_000);
  });

  it('draws uniformly between zero and the ceiling (full jitter)', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, policy, () => 0.999999)).toBe(3999);
  });

  it('never exceeds the cap, whatever the attempt', () => {
    for (let a = 0; a < 100; a++) {
      const d = backoffDelay(a, policy, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(30_000);
    }
  });
});

describe('reconnect delays', () => {
  it('makes the first retry within 2 s whatever the policy', () => {
    for (const policy of [{ baseMs: 500, capMs: 30_000 }, { baseMs: 10_000, capMs: 60_000 }, { baseMs: 2_000, capMs: 1_000 }]) {
      expect(reconnectDelay(0, policy, () => 0.999999)).toBeLessThan(FIRST_RETRY_MAX_MS);
      expect(reconnectDelay(0, policy, () => 0)).toBe(0);
    }
    expect(reconnectDelay(0, { baseMs: 500, capMs: 30_000 }, () => 0.5)).toBe(250);
  });

  it('backs off as before from the second retry on', () => {
    const policy = { baseMs: 10_000, capMs: 60_000 };
    for (let a = 1; a < 8; a++) expect(reconnectDelay(a, policy, () => 0.75)).toBe(backoffDelay(a, policy, () => 0.75));
  });
});
