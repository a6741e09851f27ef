// Capped exponential backoff with full jitter: the n-th retry waits a uniformly random
// time in [0, min(cap, base * 2^n)). Full jitter (rather than "equal" or no jitter)
// spreads a crowd of clients that lost the same node, so they do not return in waves.

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

export function backoffCeiling(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  // 2 ** attempt grows past any cap quickly; clamp the exponent to stay finite.
  const exp = Math.min(Math.max(attempt, 0), 30);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exp);
}

export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}
