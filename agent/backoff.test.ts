import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

describe('backoffDelay (exponential, full jitter)', () => {
  it.each([
    [0, 500],
    [1, 1000],
    [2, 2000],
    [5, 16_000],
    [6, 30_000],
    [50, 30_000],
  ])('attempt %i waits at most %i ms', (attempt, ceiling) => {
    expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999)).toBe(ceiling - 1);
    expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0)).toBe(0);
  });

  it('spreads a fleet out: many agents do not pick the same delay', () => {
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(4)));
    expect(delays.size).toBeGreaterThan(50);
  });
});
