/**
 * Secrets the controller hands out (the admin token, join tokens, host credentials): 32 random bytes
 * in base64url, stored only as their sha256 hex. Lookups go by hash; where a secret is compared with a
 * stored hash, the comparison takes constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new secret: 32 random bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The sha256 hex of a secret, the only form in which it is stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `storedHash`, compared in constant time. */
export function secretMatchesHash(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Takes the secret out of an `Authorization: Bearer <secret>` header value; null when the header is
 * missing or of another scheme. Bounded, so a huge header never reaches the hash.
 */
export function parseBearer(header: string | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/.exec(header.trim());
  return match ? match[1]! : null;
}
