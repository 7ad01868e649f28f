/**
 * The audit log: every operator action and host event, appended to `audit_log` and never changed
 * (SQLite triggers refuse UPDATE and DELETE). Owns the scrubbing that keeps secrets out of it: every
 * string in `details` has URL credentials masked and keys that name a secret are dropped, whatever a
 * caller passes. Must not be used for anything but appending and reading.
 */
import type { Db } from './database.js';

/** The actions fleetdock records; callers may add `area.verb` names of their own. */
export const AUDIT_ACTIONS = [
  'group.create',
  'group.drift-policy',
  'settings.set',
  'token.create',
  'token.revoke',
  'operator.create',
  'operator.revoke',
  'host.revoke',
  'host.remove',
  'rollout.start',
  'rollout.pause',
  'rollout.resume',
  'rollout.abort',
  'rollout.halt',
  'rollout.complete',
  'rollout.undo',
  'host.enrol',
  'host.applied',
  'host.rolled-back',
  'host.failed',
  'host.drifted',
  'host.converged',
  'drift.enforce',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number] | `${string}.${string}`;

/** One entry to append. `actor` is an operator token's name, `host:NAME`, or `controller`. */
export interface AuditEntryInput {
  at: Date | string;
  actor: string;
  action: AuditAction;
  group?: string | null | undefined;
  host?: string | null | undefined;
  fromRevision?: number | null | undefined;
  toRevision?: number | null | undefined;
  /** Structured facts; scrubbed of secrets before they are stored. */
  details?: Record<string, unknown> | null | undefined;
}

/** One stored entry. */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  group: string | null;
  host: string | null;
  fromRevision: number | null;
  toRevision: number | null;
  details: Record<string, unknown> | null;
}

/** What `list` filters on; `since` is an ISO time (inclusive). */
export interface AuditQuery {
  host?: string | undefined;
  group?: string | undefined;
  since?: string | undefined;
  /** At most this many entries, the newest ones (default 100). */
  limit?: number | undefined;
}

/** Largest page `list` returns. */
export const AUDIT_MAX_LIMIT = 1000;

/** Keys whose values are secrets by name: dropped from details, never stored. */
const SECRET_KEYS = /^(password|passwd|secret|token|credential|credentials|authorization|joinToken|apiKey)$/i;
/** `scheme://user:password@` anywhere in a string (greedy up to the last `@`: better too much masked than too little). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"']*@/gi;

/**
 * Pure: a copy of `value` safe for the audit log: URL credentials in every string become
 * `xxxxx:xxxxx@`, values under secret-named keys become `[redacted]`.
 */
export function scrubSecrets(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(URL_CREDENTIALS, '$1xxxxx:xxxxx@');
  if (Array.isArray(value)) return value.map(scrubSecrets);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEYS.test(k) ? '[redacted]' : scrubSecrets(v)]));
  }
  return value;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  group: string | null;
  host: string | null;
  fromRevision: number | null;
  toRevision: number | null;
  details: string | null;
}

const COLUMNS = `id, at, actor, action, group_name AS "group", host_name AS host, from_revision AS fromRevision,
  to_revision AS toRevision, details`;

function toEntry(row: AuditRow): AuditEntry {
  return { ...row, details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>) };
}

/** Appends to and reads the `audit_log` table. */
export class AuditStore {
  readonly #insert;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    // Anonymous parameters, bound in order: the drift monitor appends one entry per apply result (10,000
    // after a rollout of 10,000 hosts), and better-sqlite3 binds named ones from an object for more CPU.
    this.#insert = db.prepare(`INSERT INTO audit_log (at, actor, action, group_name, host_name, from_revision, to_revision, details)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  /** Appends one entry (scrubbed of secrets); returns its id. */
  record(entry: AuditEntryInput): number {
    const details = entry.details ? JSON.stringify(scrubSecrets(entry.details)) : null;
    const { lastInsertRowid } = this.#insert.run(
      typeof entry.at === 'string' ? entry.at : entry.at.toISOString(),
      scrubSecrets(entry.actor) as string,
      entry.action,
      entry.group ?? null,
      entry.host ?? null,
      entry.fromRevision ?? null,
      entry.toRevision ?? null,
      details,
    );
    return Number(lastInsertRowid);
  }

  /**
   * The newest `limit` entries matching the filters, returned oldest first; `truncated` says older
   * matching entries exist.
   */
  list(query: AuditQuery = {}): { entries: AuditEntry[]; truncated: boolean } {
    const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? 100)), AUDIT_MAX_LIMIT);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: limit + 1 };
    if (query.host !== undefined) {
      where.push('host_name = @host');
      params.host = query.host;
    }
    if (query.group !== undefined) {
      where.push('group_name = @group');
      params.group = query.group;
    }
    if (query.since !== undefined) {
      where.push('at >= @since');
      params.since = query.since;
    }
    // A handful of filter combinations: prepared per call, which better-sqlite3 makes cheap.
    const sql = `SELECT ${COLUMNS} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    const rows = this.#db.prepare(sql).all(params) as AuditRow[];
    const truncated = rows.length > limit;
    return { entries: rows.slice(0, limit).reverse().map(toEntry), truncated };
  }
}
