/**
 * Encryption at rest for the secrets settings carry (proxy passwords): AES-256-GCM under a key kept in
 * `DATA/secret.key` (mode 0600), made on the first start. The IV is derived from the key and the
 * plaintext (a synthetic IV), so the same password always seals to the same text: revisions stay
 * comparable as text, and nothing but equality of two passwords can be learnt from the database.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetdockError } from '../protocol/errors.js';

/** Name of the key file inside the data directory. */
export const SECRET_KEY_FILE = 'secret.key';
const PREFIX = 'fdenc1.';

export interface SecretBox {
  /** Seals a secret into `fdenc1.<iv>.<ciphertext+tag>` (base64url, safe inside a URL's userinfo). */
  seal(plain: string): string;
  /** Opens what `seal` made; other text is returned unchanged. Throws INTERNAL for a wrong key. */
  open(text: string): string;
}

/** Whether `text` is a sealed secret. */
export function isSealed(text: string): boolean {
  return text.startsWith(PREFIX);
}

/** A box over a 32-byte key. */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new FleetdockError('INTERNAL', `the secret key must be 32 bytes, not ${key.length}`);
  return {
    seal(plain) {
      const iv = createHmac('sha256', key).update('fleetdock-siv\0').update(plain, 'utf8').digest().subarray(0, 12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(text) {
      if (!isSealed(text)) return text;
      const [ivText, bodyText] = text.slice(PREFIX.length).split('.');
      const iv = Buffer.from(ivText ?? '', 'base64url');
      const body = Buffer.from(bodyText ?? '', 'base64url');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAuthTag(body.subarray(body.length - 16));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new FleetdockError('INTERNAL', `a sealed secret in the database cannot be opened with ${SECRET_KEY_FILE}: was the key file replaced?`, { cause: error });
      }
    },
  };
}

/** Loads `DATA/secret.key`, making it (mode 0600) on the first start. */
export function loadOrCreateSecretBox(dataDir: string): SecretBox {
  const path = join(dataDir, SECRET_KEY_FILE);
  if (!existsSync(path)) {
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new FleetdockError('INTERNAL', `${path} does not hold a 32-byte base64 key; restore it from a backup (without it, stored proxy passwords cannot be read)`);
  return createSecretBox(key);
}
