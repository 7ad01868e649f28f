/**
 * SQL for operator tokens: the bearer tokens people and scripts use on the HTTP API, each with a role.
 * Stored as hashes; a revoked token no longer authenticates.
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

/** Reads and writes the `operator_tokens` table. */
export class OperatorTokenStore {
  readonly #count;
  readonly #insert;
  readonly #activeByHash;

  constructor(db: Db) {
    this.#count = db.prepare('SELECT COUNT(*) FROM operator_tokens').pluck();
    this.#insert = db.prepare('INSERT INTO operator_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id');
    this.#activeByHash = db.prepare('SELECT id, name, role, token_hash AS tokenHash FROM operator_tokens WHERE token_hash = ? AND revoked_at IS NULL');
  }

  /** How many operator tokens exist (revoked ones included). */
  count(): number {
    return this.#count.get() as number;
  }

  /** Stores a new token's hash; returns its id. */
  create(name: string, role: OperatorRole, tokenHash: string, at: Date): number {
    return (this.#insert.get(name, role, tokenHash, at.toISOString()) as { id: number }).id;
  }

  /** The operator of a token that exists and is not revoked, or undefined. */
  findActiveByHash(tokenHash: string): Operator | undefined {
    return this.#activeByHash.get(tokenHash) as Operator | undefined;
  }
}
