/**
 * SQL for the drift history: every drift period, ended or still open, of all hosts, one group's or
 * one host's, newest first up to a limit. Separate from drift.ts on purpose: the open-period listing
 * there (`GET /v1/drift`) is a hot path with indexes of its own; nothing here touches it. Values were
 * redacted before they were stored.
 */
import type { DriftField, DriftKind } from '../drift/classify.js';
import type { Db } from './database.js';

/** Largest page `list` returns. */
export const DRIFT_HISTORY_MAX_LIMIT = 1000;
/** Page size when none is asked for. */
export const DRIFT_HISTORY_DEFAULT_LIMIT = 100;

/** One drift period as stored. */
export interface DriftPeriodRecord {
  id: number;
  host: string;
  group: string;
  field: DriftField;
  kind: DriftKind;
  /** When it began, ISO 8601. */
  beganAt: string;
  /** When it ended, ISO 8601; null while it lasts. */
  endedAt: string | null;
  /** The last sentence the classifier wrote for it. */
  detail: string;
  desiredRevision: number | null;
  appliedRevision: number | null;
}

/** What `list` filters on. */
export interface DriftHistoryQuery {
  groupId?: number | undefined;
  host?: string | undefined;
  /** Periods that lasted until this time or later (ended at or after it, or still open); ISO 8601. */
  since?: string | undefined;
  /** At most this many periods, the ones that began last (default 100, at most 1000). */
  limit?: number | undefined;
}

/** Reads drift periods for the history. */
export class DriftHistoryStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * The `limit` matching periods that began last, returned oldest first; `truncated` says periods
   * that began earlier match too.
   */
  list(query: DriftHistoryQuery = {}): { periods: DriftPeriodRecord[]; truncated: boolean } {
    const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? DRIFT_HISTORY_DEFAULT_LIMIT)), DRIFT_HISTORY_MAX_LIMIT);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: limit + 1 };
    if (query.host !== undefined) {
      where.push('h.name = @host');
      params.host = query.host;
    }
    if (query.groupId !== undefined) {
      where.push('h.group_id = @groupId');
      params.groupId = query.groupId;
    }
    if (query.since !== undefined) {
      where.push('(d.ended_at IS NULL OR d.ended_at >= @since)');
      params.since = query.since;
    }
    // A handful of filter combinations: prepared per call, which better-sqlite3 makes cheap. With a
    // host, drift_periods_host (host_id, began_at) serves the order.
    const sql = `SELECT d.id, h.name AS host, g.name AS "group", d.field, d.kind, d.began_at AS beganAt, d.ended_at AS endedAt, d.detail,
        d.desired_revision AS desiredRevision, d.applied_revision AS appliedRevision
      FROM drift_periods d JOIN hosts h ON h.id = d.host_id JOIN groups g ON g.id = h.group_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY d.began_at DESC, d.id DESC LIMIT @limit`;
    const rows = this.#db.prepare(sql).all(params) as DriftPeriodRecord[];
    const truncated = rows.length > limit;
    return { periods: rows.slice(0, limit).reverse(), truncated };
  }
}
