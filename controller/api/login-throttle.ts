/**
 * Slows down guessing: counts failed logins (a bearer token or join token that is not valid) per
 * remote address, and once an address has failed `maxFailures` times within `windowMs` it is refused
 * with RATE_LIMITED (HTTP 429, Retry-After) for `blockMs`, before its token is even looked at, so a
 * guess made while blocked tells the guesser nothing. Memory is bounded: at most `maxAddresses`
 * addresses are remembered, the least recently seen forgotten first (a Map keeps insertion order).
 * The clock is injected. Owns no HTTP: the caller decides what counts as a failure.
 */
import { FleetdockError } from '../../protocol/errors.js';

/** How the throttle behaves. */
export interface LoginThrottleOptions {
  /** Failures within the window that block the address. */
  maxFailures: number;
  /** The window failures are counted in, in milliseconds. */
  windowMs: number;
  /** How long a blocked address is refused, in milliseconds. */
  blockMs: number;
  /** Addresses remembered at most. */
  maxAddresses: number;
}

/** Defaults: 10 bad tokens a minute block an address for a minute; 10,000 addresses remembered. */
export const LOGIN_THROTTLE_DEFAULTS: Readonly<LoginThrottleOptions> = Object.freeze({
  maxFailures: 10,
  windowMs: 60_000,
  blockMs: 60_000,
  maxAddresses: 10_000,
});

interface Entry {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

/** Per-address failed-login counter; see the module comment. */
export class LoginThrottle {
  readonly #options: LoginThrottleOptions;
  readonly #now: () => Date;
  readonly #entries = new Map<string, Entry>();

  constructor(options: LoginThrottleOptions, now: () => Date) {
    for (const key of ['maxFailures', 'windowMs', 'blockMs', 'maxAddresses'] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1) {
        throw new FleetdockError('VALIDATION', `login throttle ${key} ${options[key]} must be a whole number of at least 1`);
      }
    }
    this.#options = { ...options };
    this.#now = now;
  }

  /** How many addresses are remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Throws RATE_LIMITED (with `details.retryAfterSeconds`) when `address` is blocked now. */
  check(address: string): void {
    const entry = this.#entries.get(address);
    if (!entry) return;
    const now = this.#now().getTime();
    if (entry.blockedUntil > now) {
      const retryAfterSeconds = Math.max(1, Math.ceil((entry.blockedUntil - now) / 1000));
      throw new FleetdockError('RATE_LIMITED', `too many failed logins from ${address}; try again in ${retryAfterSeconds} s`, { details: { retryAfterSeconds } });
    }
  }

  /** Counts a failed login from `address`; the one that reaches `maxFailures` blocks it. */
  recordFailure(address: string): void {
    const now = this.#now().getTime();
    let entry = this.#entries.get(address);
    if (entry) {
      this.#entries.delete(address); // re-inserted below: most recently seen last
    }
    if (!entry || now - entry.windowStart >= this.#options.windowMs) {
      entry = { windowStart: now, failures: 0, blockedUntil: entry?.blockedUntil ?? 0 };
    }
    entry.failures += 1;
    if (entry.failures >= this.#options.maxFailures) {
      entry.blockedUntil = now + this.#options.blockMs;
      entry.failures = 0;
      entry.windowStart = now;
    }
    this.#entries.set(address, entry);
    while (this.#entries.size > this.#options.maxAddresses) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }
}
