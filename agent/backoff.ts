/**
 * Reconnect delays: exponential backoff with full jitter (a random delay between zero and the capped
 * exponential), so a fleet that lost its controller does not reconnect in one wave. Pure given `random`.
 */

export type BackoffPolicy = { baseMs: number; capMs: number };

/** The default: 0.5 s doubling up to 30 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 500, capMs: 30_000 });

/** Delay before reconnect attempt number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
