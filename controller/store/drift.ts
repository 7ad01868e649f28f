/**
 * SQL for drift: each group's drift policy, the drift periods of hosts (open while they last), what
 * the classifier needs to know about a host, and the sweep queries that find hosts whose drift may
 * have changed without a message (gone away a while ago, desired revision moved). Values written
 * here were redacted by the classifier.
 */
import type { Outcome } from '../../protocol/messages.js';
import type { ObservedState } from '../../protocol/observed.js';
import type { DriftField, DriftFinding, DriftKind } from '../drift/classify.js';
import type { OpenPeriod } from '../drift/periods.js';
import type { HostStatusInput } from '../host-status.js';
import type { Db } from './database.js';

export const DRIFT_POLICIES = ['audit', 'enforce'] as const;
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];

/**
 * SQL for a host's effective desired revision (`h` = hosts, `g` = groups): its own while a rollout
 * moves it, else its group's current one (migration 0002). Before rollouts existed this was the
 * group's latest revision, `(SELECT MAX(r.number) FROM revisions r WHERE r.group_id = h.group_id)`.
 */
export const DESIRED_REVISION_SQL = 'COALESCE(h.desired_revision, g.current_revision)';

/** What the classifier and the monitor need about one host. */
export interface DriftHostState {
  id: string;
  name: string;
  groupId: number;
  group: string;
  policy: DriftPolicy;
  connected: boolean;
  lastSeenAt: string | null;
  enrolledAt: string;
  appliedRevision: number | null;
  desiredRevision: number | null;
  lastResult: { revision: number; outcome: Outcome; error: { code: string; message: string } | null } | null;
  observed: ObservedState | null;
  /** The observed state is older than the last apply result (its report is on its way; see monitor.ts). */
  observedBeforeResult: boolean;
  /** When the last apply result was recorded (ISO), or null. */
  resultAt: string | null;
  dockerVersion: string | null;
}

/** An open drift period as the API shows it. */
export interface DriftRecord {
  host: string;
  group: string;
  field: DriftField;
  kind: DriftKind;
  since: string;
  expected: unknown;
  actual: unknown;
  detail: string;
  desiredRevision: number | null;
  appliedRevision: number | null;
  connected: boolean;
}

interface StateRow {
  id: string;
  name: string;
  groupId: number;
  group: string;
  policy: DriftPolicy;
  connected: number;
  lastSeenAt: string | null;
  enrolledAt: string;
  appliedRevision: number | null;
  desiredRevision: number | null;
  resultRevision: number | null;
  resultOutcome: Outcome | null;
  resultErrorCode: string | null;
  resultErrorMessage: string | null;
  observed: string | null;
  dockerVersion: string | null;
  observedBeforeResult: number;
  resultAt: string | null;
}

/** Hosts that share what their status depends on. */
export interface HostStatusGroup {
  input: HostStatusInput;
  desiredRevision: number | null;
  tampered: boolean;
  count: number;
}

interface StatusRow {
  connected: number;
  seen: number;
  hasDesired: number;
  appliedIsDesired: number;
  resultIsDesired: number;
  hasResult: number;
  outcome: Outcome | null;
  tampered: number;
  count: number;
}

interface RecordRow extends Omit<DriftRecord, 'expected' | 'actual' | 'connected'> {
  expected: string | null;
  actual: string | null;
  connected: number;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** Reads and writes drift periods and drift policies. */
export class DriftStore {
  readonly #state;
  readonly #open;
  readonly #insert;
  readonly #update;
  readonly #close;
  readonly #policy;
  readonly #setPolicy;
  readonly #listAll;
  readonly #listGroup;
  readonly #listHost;
  readonly #tamperHosts;
  readonly #hostsWithOpen;
  readonly #tamperInGroup;
  readonly #offlineCandidates;
  readonly #revisionCandidates;
  readonly #statusAll;
  readonly #statusGroup;
  readonly #statusHost;

  constructor(db: Db) {
    const desired = DESIRED_REVISION_SQL;
    this.#state = db.prepare(`SELECT h.id, h.name, h.group_id AS groupId, g.name AS "group", g.drift_policy AS policy, h.connected,
      h.last_seen_at AS lastSeenAt, h.enrolled_at AS enrolledAt, h.applied_revision AS appliedRevision, ${desired} AS desiredRevision,
      h.last_result_revision AS resultRevision, h.last_result_outcome AS resultOutcome, h.last_result_error_code AS resultErrorCode,
      h.last_result_error_message AS resultErrorMessage, h.observed, json_extract(h.facts, '$.dockerVersion') AS dockerVersion,
      (h.last_result_at IS NOT NULL AND (h.observed_at IS NULL OR h.observed_at < h.last_result_at)) AS observedBeforeResult,
      h.last_result_at AS resultAt
      FROM hosts h JOIN groups g ON g.id = h.group_id WHERE h.id = ?`);
    this.#open = db.prepare(`SELECT id, field, kind, expected, actual, detail, desired_revision AS desiredRevision, applied_revision AS appliedRevision
      FROM drift_periods WHERE host_id = ? AND ended_at IS NULL`);
    this.#insert = db.prepare(`INSERT INTO drift_periods (host_id, field, kind, began_at, expected, actual, detail, desired_revision, applied_revision, updated_at)
      VALUES (@hostId, @field, @kind, @beganAt, @expected, @actual, @detail, @desiredRevision, @appliedRevision, @at)`);
    this.#update = db.prepare(`UPDATE drift_periods SET expected = @expected, actual = @actual, detail = @detail, desired_revision = @desiredRevision,
      applied_revision = @appliedRevision, updated_at = @at WHERE id = @id AND ended_at IS NULL`);
    this.#close = db.prepare('UPDATE drift_periods SET ended_at = MAX(began_at, @at), updated_at = @at WHERE id = @id AND ended_at IS NULL');
    this.#policy = db.prepare('SELECT drift_policy FROM groups WHERE id = ?').pluck();
    this.#setPolicy = db.prepare('UPDATE groups SET drift_policy = ? WHERE id = ?');
    const list = `SELECT h.name AS host, g.name AS "group", d.field, d.kind, d.began_at AS since, d.expected, d.actual, d.detail,
      d.desired_revision AS desiredRevision, d.applied_revision AS appliedRevision, h.connected
      FROM drift_periods d JOIN hosts h ON h.id = d.host_id JOIN groups g ON g.id = h.group_id WHERE d.ended_at IS NULL`;
    const order = 'ORDER BY h.name, d.field, d.kind';
    this.#listAll = db.prepare(`${list} ${order}`);
    this.#listGroup = db.prepare(`${list} AND h.group_id = ? ${order}`);
    this.#listHost = db.prepare(`${list} AND h.name = ? ${order}`);
    this.#hostsWithOpen = db.prepare('SELECT DISTINCT host_id FROM drift_periods WHERE ended_at IS NULL').pluck();
    this.#tamperHosts = db.prepare(`SELECT DISTINCT host_id FROM drift_periods WHERE ended_at IS NULL AND kind IN ('file-edited', 'daemon-not-reloaded')`).pluck();
    this.#tamperInGroup = db.prepare(`SELECT DISTINCT d.host_id FROM drift_periods d JOIN hosts h ON h.id = d.host_id
      WHERE d.ended_at IS NULL AND d.kind IN ('file-edited', 'daemon-not-reloaded') AND h.group_id = ?`).pluck();
    this.#offlineCandidates = db.prepare(`SELECT h.id FROM hosts h WHERE h.connected = 0
      AND (h.last_seen_at <= @cutoff OR (h.last_seen_at IS NULL AND h.enrolled_at <= @cutoff))
      AND NOT EXISTS (SELECT 1 FROM drift_periods d WHERE d.host_id = h.id AND d.field = 'host' AND d.kind = 'offline' AND d.ended_at IS NULL)`).pluck();
    this.#revisionCandidates = db.prepare(`SELECT h.id FROM hosts h JOIN groups g ON g.id = h.group_id
      WHERE ${desired} IS NOT NULL AND h.applied_revision IS NOT ${desired}
        AND NOT EXISTS (SELECT 1 FROM drift_periods d WHERE d.host_id = h.id AND d.ended_at IS NULL
          AND d.kind IN ('behind', 'apply-failed') AND d.desired_revision IS ${desired})
      UNION
      SELECT h.id FROM drift_periods d JOIN hosts h ON h.id = d.host_id JOIN groups g ON g.id = h.group_id
      WHERE d.ended_at IS NULL AND d.kind IN ('behind', 'apply-failed') AND d.desired_revision IS NOT ${desired}`).pluck();
    // Host status only compares revisions for equality with the desired one, so hosts are grouped by
    // those comparisons: a handful of rows for any fleet size, and the status rules stay in one place.
    const status = (where: string) => `SELECT h.connected, h.last_seen_at IS NOT NULL AS seen, ${desired} IS NOT NULL AS hasDesired,
      h.applied_revision IS ${desired} AS appliedIsDesired, h.last_result_revision IS ${desired} AS resultIsDesired,
      h.last_result_revision IS NOT NULL AS hasResult, h.last_result_outcome AS outcome,
      EXISTS (SELECT 1 FROM drift_periods d WHERE d.host_id = h.id AND d.ended_at IS NULL AND d.kind IN ('file-edited', 'daemon-not-reloaded')) AS tampered,
      COUNT(*) AS count
      FROM hosts h JOIN groups g ON g.id = h.group_id ${where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`;
    this.#statusAll = db.prepare(status(''));
    this.#statusGroup = db.prepare(status('WHERE h.group_id = ?'));
    this.#statusHost = db.prepare(status('WHERE h.name = ?'));
  }

  /** What the classifier needs about host `id`, or undefined when it is not enrolled. */
  hostState(id: string): DriftHostState | undefined {
    const row = this.#state.get(id) as StateRow | undefined;
    if (!row) return undefined;
    return {
      id: row.id,
      name: row.name,
      groupId: row.groupId,
      group: row.group,
      policy: row.policy,
      connected: row.connected === 1,
      lastSeenAt: row.lastSeenAt,
      enrolledAt: row.enrolledAt,
      appliedRevision: row.appliedRevision,
      desiredRevision: row.desiredRevision,
      lastResult:
        row.resultRevision === null || row.resultOutcome === null
          ? null
          : { revision: row.resultRevision, outcome: row.resultOutcome, error: row.resultErrorCode === null ? null : { code: row.resultErrorCode, message: row.resultErrorMessage ?? '' } },
      observed: parse(row.observed) as ObservedState | null,
      observedBeforeResult: row.observedBeforeResult === 1,
      resultAt: row.resultAt,
      dockerVersion: row.dockerVersion,
    };
  }

  /** The host's open drift periods. */
  openPeriods(hostId: string): OpenPeriod[] {
    return this.#open.all(hostId) as OpenPeriod[];
  }

  /** Begins a period for `finding` (at `finding.since` when it says, else `at`). */
  begin(hostId: string, finding: DriftFinding, revisions: { desiredRevision: number | null; appliedRevision: number | null }, at: string): void {
    this.#insert.run({
      hostId,
      field: finding.field,
      kind: finding.kind,
      beganAt: finding.since && finding.since < at ? finding.since : at,
      expected: JSON.stringify(finding.expected ?? null),
      actual: JSON.stringify(finding.actual ?? null),
      detail: finding.detail,
      ...revisions,
      at,
    });
  }

  /** Updates an open period's values. */
  update(id: number, finding: DriftFinding, revisions: { desiredRevision: number | null; appliedRevision: number | null }, at: string): void {
    this.#update.run({ id, expected: JSON.stringify(finding.expected ?? null), actual: JSON.stringify(finding.actual ?? null), detail: finding.detail, ...revisions, at });
  }

  /** Ends an open period at `at`. */
  end(id: number, at: string): void {
    this.#close.run({ id, at });
  }

  /** The group's drift policy. */
  policy(groupId: number): DriftPolicy {
    return (this.#policy.get(groupId) as DriftPolicy | undefined) ?? 'audit';
  }

  /** Sets the group's drift policy; returns the one it had. */
  setPolicy(groupId: number, policy: DriftPolicy): DriftPolicy {
    const before = this.policy(groupId);
    this.#setPolicy.run(policy, groupId);
    return before;
  }

  /** Open drift periods, of one group or one host, by host name. */
  listOpen(filter: { groupId?: number | undefined; host?: string | undefined } = {}): DriftRecord[] {
    const rows = (filter.host !== undefined ? this.#listHost.all(filter.host) : filter.groupId !== undefined ? this.#listGroup.all(filter.groupId) : this.#listAll.all()) as RecordRow[];
    const out: DriftRecord[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      out[i] = { ...r, expected: parse(r.expected), actual: parse(r.actual), connected: r.connected === 1 };
    }
    return out;
  }

  /** Ids of hosts with at least one open drift period (the monitor keeps this set in memory). */
  hostIdsWithOpenPeriods(): Set<string> {
    return new Set(this.#hostsWithOpen.all() as string[]);
  }

  /** Ids of hosts with open tamper drift (file-edited, daemon-not-reloaded), all or one group's. */
  tamperedHostIds(groupId?: number): Set<string> {
    return new Set((groupId === undefined ? this.#tamperHosts.all() : this.#tamperInGroup.all(groupId)) as string[]);
  }

  /**
   * Hosts grouped by what their status depends on (all, one group's, or one host), each group with a
   * representative status input (revision 1 stands for "the desired revision", 0 for another one)
   * and whether its hosts have open tamper drift: enough for the fleet summary, without reading a row
   * per host into JavaScript.
   */
  statusGroups(filter: { groupId?: number | undefined; host?: string | undefined } = {}): HostStatusGroup[] {
    const rows = (filter.host !== undefined ? this.#statusHost.all(filter.host) : filter.groupId !== undefined ? this.#statusGroup.all(filter.groupId) : this.#statusAll.all()) as StatusRow[];
    return rows.map((r) => ({
      input: {
        connected: r.connected === 1,
        lastSeenAt: r.seen ? 'seen' : null,
        appliedRevision: r.appliedIsDesired ? 1 : 0,
        lastResult: r.hasResult && r.outcome !== null ? { revision: r.resultIsDesired ? 1 : 0, outcome: r.outcome } : null,
      },
      desiredRevision: r.hasDesired ? 1 : null,
      tampered: r.tampered === 1,
      count: r.count,
    }));
  }

  /**
   * Hosts whose drift may have changed without a message: disconnected and unseen since `cutoff`
   * without an open offline period, or whose desired revision moved away from (or back to) what their
   * open behind/apply-failed periods say.
   */
  sweepCandidates(cutoff: string): string[] {
    const ids = new Set(this.#offlineCandidates.all({ cutoff }) as string[]);
    for (const id of this.#revisionCandidates.all() as string[]) ids.add(id);
    return [...ids];
  }
}
