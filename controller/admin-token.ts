/**
 * The first admin token: on a controller's first start (no operator token exists) one is made, stored
 * as a hash, written to `DATA/admin.token` with mode 0600 and returned so the command can show it
 * once. Later starts only say where the file is.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret, hashSecret } from './secrets.js';
import type { OperatorTokenStore } from './store/operator-tokens.js';

/** Name of the admin token's file inside the data directory. */
export const ADMIN_TOKEN_FILE = 'admin.token';

/** What `ensureAdminToken` did: `token` is set only when it was just made. */
export interface AdminTokenState {
  path: string;
  token?: string;
}

/** Makes the first admin token if no operator token exists yet; see the module comment. */
export function ensureAdminToken(operatorTokens: OperatorTokenStore, dataDir: string, now: Date): AdminTokenState {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (operatorTokens.count() > 0) return { path };
  const token = generateSecret();
  // File first: if writing it fails, no token exists that nobody can know, and the next start retries.
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // the mode above is ignored when the file already existed
  operatorTokens.create('admin', 'admin', hashSecret(token), now);
  return { path, token };
}
