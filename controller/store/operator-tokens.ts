/**
 * SQL for operator tokens: the bearer tokens people and scripts use on the HTTP API, each with a name
 * and a role. Stored as hashes; a revoked token no longer authenticates (the lookup filters on
 * `revoked_at`, so revocation takes effect on the next request). At most one live token per name.
 */
import type { Db } from './database.js';

/** The roles an operator token can carry, most powerful first. */
export const OPERATOR_ROLES = ['admin', 'operator', 'viewer'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** Who a valid operator token stands for. */
export interface Operator {
  id: number;
  name: string;
  role: OperatorRole;
  tokenHash: string;
}

/** An operator token as listed (never the hash). */
export interface OperatorTokenRow {
  id: number;
  name: string;
  role: OperatorRole;
  createdAt: string;
  revokedAt: string | null;
}

/** Reads and writes the `operator_tokens` table. */
export class OperatorTokenStore {
  readonly #count;
  readonly #insert;
  readonly #activeByHash;
  readonly #activeByName;
  readonly #list;
  readonly #revoke;
  readonly #activeAdmins;

  constructor(db: Db) {
    this.#count = db.prepare('SELECT COUNT(*) FROM operator_tokens').pluck();
    this.#insert = db.prepare('INSERT INTO operator_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id');
    this.#activeByHash = db.prepare('SELECT id, name, role, token_hash AS tokenHash FROM operator_tokens WHERE token_hash = ? AND revoked_at IS NULL');
    this.#activeByName = db.prepare('SELECT id, name, role, created_at AS createdAt, revoked_at AS revokedAt FROM operator_tokens WHERE name = ? AND revoked_at IS NULL');
    this.#list = db.prepare('SELECT id, name, role, created_at AS createdAt, revoked_at AS revokedAt FROM operator_tokens ORDER BY name, id');
    this.#revoke = db.prepare('UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.#activeAdmins = db.prepare("SELECT COUNT(*) FROM operator_tokens WHERE role = 'admin' AND revoked_at IS NULL").pluck();
  }

  /** How many operator tokens exist (revoked ones included). */
  count(): number {
    return this.#count.get() as number;
  }

  /** Stores a new token's hash; returns its id. Throws SQLITE_CONSTRAINT_UNIQUE when `name` has a live token. */
  create(name: string, role: OperatorRole, tokenHash: string, at: Date): number {
    return (this.#insert.get(name, role, tokenHash, at.toISOString()) as { id: number }).id;
  }

  /** The operator of a token that exists and is not revoked, or undefined. */
  findActiveByHash(tokenHash: string): Operator | undefined {
    return this.#activeByHash.get(tokenHash) as Operator | undefined;
  }

  /** The live (not revoked) token called `name`, or undefined. */
  findActiveByName(name: string): OperatorTokenRow | undefined {
    return this.#activeByName.get(name) as OperatorTokenRow | undefined;
  }

  /** Every token, revoked ones included, by name. */
  list(): OperatorTokenRow[] {
    return this.#list.all() as OperatorTokenRow[];
  }

  /** Revokes token `id`; false when it was revoked already. */
  revoke(id: number, at: Date): boolean {
    return this.#revoke.run(at.toISOString(), id).changes === 1;
  }

  /** How many admin tokens still work. */
  activeAdminCount(): number {
    return this.#activeAdmins.get() as number;
  }
}
