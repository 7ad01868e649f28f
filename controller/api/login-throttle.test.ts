// The failed-login throttle as a pure unit with a moved clock: blocks after N failures in the window,
// says when to retry, forgets old windows, and remembers a bounded number of addresses.
import { describe, expect, it } from 'vitest';
import { FleetdockError } from '../../protocol/errors.js';
import { LoginThrottle } from './login-throttle.js';

function clock() {
  let ms = Date.parse('2026-11-28T10:00:00.000Z');
  return { now: () => new Date(ms), advance: (d: number) => (ms += d) };
}

function refusal(throttle: LoginThrottle, address: string): FleetdockError | undefined {
  try {
    throttle.check(address);
    return undefined;
  } catch (error) {
    return error as FleetdockError;
  }
}

describe('LoginThrottle', () => {
  const options = { maxFailures: 3, windowMs: 10_000, blockMs: 30_000, maxAddresses: 100 };

  it('blocks an address after maxFailures within the window, with the seconds left', () => {
    const c = clock();
    const throttle = new LoginThrottle(options, c.now);
    throttle.recordFailure('10.0.0.1');
    throttle.recordFailure('10.0.0.1');
    expect(refusal(throttle, '10.0.0.1')).toBeUndefined();
    throttle.recordFailure('10.0.0.1');
    const error = refusal(throttle, '10.0.0.1');
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryable: true, details: { retryAfterSeconds: 30 } });
    expect(refusal(throttle, '10.0.0.2')).toBeUndefined(); // per address
    c.advance(20_500);
    expect(refusal(throttle, '10.0.0.1')?.details).toEqual({ retryAfterSeconds: 10 });
    c.advance(10_000);
    expect(refusal(throttle, '10.0.0.1')).toBeUndefined();
  });

  it('starts counting again when the window has passed', () => {
    const c = clock();
    const throttle = new LoginThrottle(options, c.now);
    throttle.recordFailure('a');
    throttle.recordFailure('a');
    c.advance(10_000);
    throttle.recordFailure('a');
    throttle.recordFailure('a');
    expect(refusal(throttle, 'a')).toBeUndefined();
  });

  it('remembers at most maxAddresses, forgetting the least recently seen', () => {
    const throttle = new LoginThrottle({ ...options, maxAddresses: 2, maxFailures: 1 }, clock().now);
    throttle.recordFailure('a');
    throttle.recordFailure('b');
    throttle.recordFailure('a'); // a is now the most recent
    throttle.recordFailure('c');
    expect(throttle.size).toBe(2);
    expect(refusal(throttle, 'b')).toBeUndefined(); // forgotten
    expect(refusal(throttle, 'a')?.code).toBe('RATE_LIMITED');
    expect(refusal(throttle, 'c')?.code).toBe('RATE_LIMITED');
    for (let i = 0; i < 10_000; i++) throttle.recordFailure(`x${i}`);
    expect(throttle.size).toBe(2);
  });

  it('refuses options that are not whole positive numbers', () => {
    expect(() => new LoginThrottle({ ...options, maxFailures: 0 }, clock().now)).toThrow('login throttle maxFailures 0 must be a whole number of at least 1');
  });
});
