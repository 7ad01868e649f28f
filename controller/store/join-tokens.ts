/**
 * SQL for join tokens: the single- or few-use secrets an agent trades for a host credential at
 * enrolment. Stored as hashes with an expiry, a use count and a revocation time.
 */
import type { Db } from './database.js';

/** A join token as stored (without the secret, which is never stored). */
export interface JoinTokenRow {
  id: number;
  groupId: number;
  group: string;
  createdAt: string;
  expiresAt: string;
  usesTotal: number;
  usesLeft: number;
  revokedAt: string | null;
}

/** Reads and writes the `join_tokens` table. */
export class JoinTokenStore {
  readonly #insert;
  readonly #byHash;
  readonly #consume;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO join_tokens (group_id, token_hash, created_at, created_by, expires_at, uses_total, uses_left)
      VALUES (@groupId, @tokenHash, @createdAt, @createdBy, @expiresAt, @uses, @uses) RETURNING id`);
    this.#byHash = db.prepare(`SELECT t.id, t.group_id AS groupId, g.name AS "group", t.created_at AS createdAt, t.expires_at AS expiresAt,
      t.uses_total AS usesTotal, t.uses_left AS usesLeft, t.revoked_at AS revokedAt
      FROM join_tokens t JOIN groups g ON g.id = t.group_id WHERE t.token_hash = ?`);
    this.#consume = db.prepare('UPDATE join_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0');
  }

  /** Stores a new token's hash; returns its id. */
  create(token: { groupId: number; tokenHash: string; createdBy: string | null; uses: number; createdAt: Date; expiresAt: Date }): number {
    const row = this.#insert.get({
      groupId: token.groupId,
      tokenHash: token.tokenHash,
      createdBy: token.createdBy,
      uses: token.uses,
      createdAt: token.createdAt.toISOString(),
      expiresAt: token.expiresAt.toISOString(),
    }) as { id: number };
    return row.id;
  }

  /** The token whose secret hashes to `tokenHash`, or undefined. */
  findByHash(tokenHash: string): JoinTokenRow | undefined {
    return this.#byHash.get(tokenHash) as JoinTokenRow | undefined;
  }

  /** Takes one use; false when none was left (so a race can never take more than there were). */
  consumeOne(id: number): boolean {
    return this.#consume.run(id).changes === 1;
  }
}
