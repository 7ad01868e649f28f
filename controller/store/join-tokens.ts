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
  readonly #all;
  readonly #inGroup;
  readonly #byId;
  readonly #revoke;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO join_tokens (group_id, token_hash, created_at, created_by, expires_at, uses_total, uses_left)
      VALUES (@groupId, @tokenHash, @createdAt, @createdBy, @expiresAt, @uses, @uses) RETURNING id`);
    this.#byHash = db.prepare(`SELECT t.id, t.group_id AS groupId, g.name AS "group", t.created_at AS createdAt, t.expires_at AS expiresAt,
      t.uses_total AS usesTotal, t.uses_left AS usesLeft, t.revoked_at AS revokedAt
      FROM join_tokens t JOIN groups g ON g.id = t.group_id WHERE t.token_hash = ?`);
    this.#consume = db.prepare('UPDATE join_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0');
    const select = `SELECT t.id, t.group_id AS groupId, g.name AS "group", t.created_at AS createdAt, t.expires_at AS expiresAt,
      t.uses_total AS usesTotal, t.uses_left AS usesLeft, t.revoked_at AS revokedAt
      FROM join_tokens t JOIN groups g ON g.id = t.group_id`;
    this.#all = db.prepare(`${select} ORDER BY t.id`);
    this.#inGroup = db.prepare(`${select} WHERE t.group_id = ? ORDER BY t.id`);
    this.#byId = db.prepare(`${select} WHERE t.id = ?`);
    this.#revoke = db.prepare('UPDATE join_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
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

  /** Every token (or one group's), oldest first; never the secret, which is not stored. */
  list(groupId?: number): JoinTokenRow[] {
    return (groupId === undefined ? this.#all.all() : this.#inGroup.all(groupId)) as JoinTokenRow[];
  }

  /** The token with this id, or undefined. */
  find(id: number): JoinTokenRow | undefined {
    return this.#byId.get(id) as JoinTokenRow | undefined;
  }

  /** Revokes token `id`; false when it was revoked already (or does not exist). */
  revoke(id: number, at: Date): boolean {
    return this.#revoke.run(at.toISOString(), id).changes === 1;
  }

  /** Takes one use; false when none was left (so a race can never take more than there were). */
  consumeOne(id: number): boolean {
    return this.#consume.run(id).changes === 1;
  }
}
