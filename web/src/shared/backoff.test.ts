import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from './backoff';

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
