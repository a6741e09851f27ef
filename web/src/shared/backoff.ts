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

/** The first retry after a drop never waits longer than this, whatever the policy. */
export const FIRST_RETRY_MAX_MS = 2_000;

/**
 * Delay before reconnect try number `attempt` (0 = the first try after a drop).
 *
 * The first try waits a uniformly random time in [0, min(first ceiling, 2 s)): with the
 * default 500 ms base that is [0, 500), so a blip costs almost nothing while a crowd that
 * lost the same node still spreads out; the 2 s bound holds for any injected policy.
 * Later tries use the capped, fully jittered backoff above, so the ceilings keep growing
 * from the first one instead of dipping back (as a fixed [0, 2 s) first window would).
 */
export function reconnectDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (attempt <= 0) return Math.floor(random() * Math.min(backoffCeiling(0, policy), FIRST_RETRY_MAX_MS));
  return backoffDelay(attempt, policy, random);
}
