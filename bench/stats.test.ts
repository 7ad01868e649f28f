import { describe, expect, it } from 'vitest';
import { percentile, summarise } from './stats.js';

describe('percentile (nearest rank)', () => {
  it.each([
    { values: [1], p: 50, expected: 1 },
    { values: [1, 2], p: 50, expected: 1 },
    { values: [1, 2, 3, 4], p: 50, expected: 2 },
    { values: Array.from({ length: 100 }, (_, i) => i + 1), p: 99, expected: 99 },
    { values: Array.from({ length: 1000 }, (_, i) => i + 1), p: 99, expected: 990 },
    { values: [5, 7], p: 100, expected: 7 },
    { values: [5, 7], p: 0, expected: 5 },
  ])('p$p of $values.length values is $expected', ({ values, p, expected }) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarise', () => {
  it('sorts, ignores NaN (hosts that never acked are counted out, not as zero) and reports the max', () => {
    expect(summarise([30, NaN, 10, 20])).toEqual({ count: 3, p50: 20, p99: 30, max: 30 });
  });
});
