/**
 * SQL for rollouts and their hosts: create a rollout with its batches, read it (with each host's name,
 * connection and last result, for the engine's step and for views), and write state transitions. The
 * engine wraps its writes in transactions; nothing here decides anything.
 */
import type { Action, Outcome } from '../../protocol/messages.js';
import type { HostRolloutState, RolloutState, StepResultReport } from '../rollout/step.js';
import type { Strategy } from '../rollout/strategy.js';
import type { Db } from './database.js';

/** A rollout as stored. */
export interface RolloutRow {
  id: number;
  groupId: number;
  group: string;
  kind: 'rollout' | 'undo';
  fromRevision: number;
  toRevision: number;
  strategy: Strategy;
  state: RolloutState;
  reason: string | null;
  currentBatch: number;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
  haltedAt: string | null;
  finishedAt: string | null;
}

/** One host of a rollout, with what the hosts table says about it now. */
export interface RolloutHostRow {
  hostId: string;
  name: string;
  batch: number;
  position: number;
  state: HostRolloutState;
  reverted: boolean;
  outcome: Outcome | null;
  action: Action | null;
  error: { code: string; message: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
  connected: boolean;
  lastResult: StepResultReport | null;
}

/** A host of a group as a rollout plans it. */
export interface GroupHostRow {
  id: string;
  name: string;
  connected: boolean;
  /** Its own desired revision, else the group's current one. */
  desiredRevision: number | null;
  appliedRevision: number | null;
}

/** The columns of a rollout host the engine writes. */
export type RolloutHostUpdate = Pick<RolloutHostRow, 'state' | 'reverted' | 'outcome' | 'action' | 'error' | 'startedAt' | 'finishedAt'>;

const ROLLOUT_COLUMNS = `r.id, r.group_id AS groupId, g.name AS "group", r.kind, r.from_revision AS fromRevision, r.to_revision AS toRevision,
  r.strategy, r.state, r.reason, r.current_batch AS currentBatch, r.created_at AS createdAt, r.created_by AS createdBy,
  r.updated_at AS updatedAt, r.halted_at AS haltedAt, r.finished_at AS finishedAt`;
const ROLLOUT_SELECT = `SELECT ${ROLLOUT_COLUMNS} FROM rollouts r JOIN groups g ON g.id = r.group_id`;

const ACTIVE = "('running', 'paused', 'rolling-back')";

interface HostJoinRow {
  hostId: string;
  name: string;
  batch: number;
  position: number;
  state: HostRolloutState;
  reverted: number;
  outcome: Outcome | null;
  action: Action | null;
  errorCode: string | null;
  errorMessage: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  connected: number;
  resultRevision: number | null;
  resultOutcome: Outcome | null;
  resultAction: Action | null;
  resultAt: string | null;
  resultErrorCode: string | null;
  resultErrorMessage: string | null;
}

function toRollout(row: Omit<RolloutRow, 'strategy'> & { strategy: string }): RolloutRow {
  return { ...row, strategy: JSON.parse(row.strategy) as Strategy };
}

function toHost(row: HostJoinRow): RolloutHostRow {
  return {
    hostId: row.hostId,
    name: row.name,
    batch: row.batch,
    position: row.position,
    state: row.state,
    reverted: row.reverted === 1,
    outcome: row.outcome,
    action: row.action,
    error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    connected: row.connected === 1,
    lastResult:
      row.resultRevision === null || row.resultOutcome === null || row.resultAction === null || row.resultAt === null
        ? null
        : {
            revision: row.resultRevision,
            outcome: row.resultOutcome,
            action: row.resultAction,
            at: row.resultAt,
            error: row.resultErrorCode === null ? null : { code: row.resultErrorCode, message: row.resultErrorMessage ?? '' },
          },
  };
}

/** Reads and writes the `rollouts` and `rollout_hosts` tables. */
export class RolloutStore {
  readonly #insert;
  readonly #insertHosts;
  readonly #startHosts;
  readonly #get;
  readonly #listForGroup;
  readonly #activeForGroup;
  readonly #needingSteps;
  readonly #hosts;
  readonly #update;
  readonly #updateHost;
  readonly #updateHosts;
  readonly #groupHosts;
  readonly #offRevision;
  readonly #applyingHost;

  constructor(db: Db) {
    this.#applyingHost = db.prepare(`SELECT 1 FROM rollout_hosts WHERE host_id = ? AND state = 'applying' LIMIT 1`).pluck();
    this.#insert = db.prepare(`INSERT INTO rollouts (group_id, kind, from_revision, to_revision, strategy, state, created_at, created_by, updated_at)
      VALUES (@groupId, @kind, @fromRevision, @toRevision, @strategy, 'running', @createdAt, @createdBy, @createdAt) RETURNING id`);
    // Set-based: one statement for thousands of hosts (a JSON array of them) instead of one each. In
    // primary-key order (SQLite sorts faster than JS): each row lands after the one before it, appended
    // instead of splitting pages at random.
    this.#insertHosts = db.prepare(`INSERT INTO rollout_hosts (rollout_id, host_id, batch, position, state, reverted, outcome, action,
        error_code, error_message, started_at, finished_at)
      SELECT @rolloutId, value ->> 0, value ->> 1, value ->> 2, @state, @reverted, @outcome, @action, @errorCode, @errorMessage, @startedAt, @finishedAt
      FROM json_each(@hosts) ORDER BY value ->> 0`);
    // The set-based updates run inside the engine's step transaction. OR FAIL, not the default ABORT:
    // no statement journal (a copy of every page changed, kept so the statement could undo itself); a
    // failure rolls the whole transaction back. (A join with json_each would scan the rollout's rows
    // per id here: IN looks each one up by primary key.)
    this.#startHosts = db.prepare(`UPDATE OR FAIL rollout_hosts SET state = 'applying', outcome = NULL, action = NULL, error_code = NULL, error_message = NULL,
      started_at = ?, finished_at = NULL WHERE rollout_id = ? AND host_id IN (SELECT value FROM json_each(?))`);
    this.#get = db.prepare(`${ROLLOUT_SELECT} WHERE r.id = ?`);
    this.#listForGroup = db.prepare(`${ROLLOUT_SELECT} WHERE r.group_id = ? ORDER BY r.id DESC LIMIT ?`);
    this.#activeForGroup = db.prepare(`${ROLLOUT_SELECT} WHERE r.group_id = ? AND r.state IN ${ACTIVE}`);
    this.#needingSteps = db
      .prepare(`SELECT id FROM rollouts WHERE state IN ${ACTIVE} UNION SELECT DISTINCT rollout_id FROM rollout_hosts WHERE state = 'applying' ORDER BY 1`)
      .pluck();
    this.#hosts = db.prepare(`SELECT rh.host_id AS hostId, h.name, rh.batch, rh.position, rh.state, rh.reverted, rh.outcome, rh.action,
        rh.error_code AS errorCode, rh.error_message AS errorMessage, rh.started_at AS startedAt, rh.finished_at AS finishedAt,
        h.connected, h.last_result_revision AS resultRevision, h.last_result_outcome AS resultOutcome, h.last_result_action AS resultAction,
        h.last_result_at AS resultAt, h.last_result_error_code AS resultErrorCode, h.last_result_error_message AS resultErrorMessage
      FROM rollout_hosts rh JOIN hosts h ON h.id = rh.host_id WHERE rh.rollout_id = ? ORDER BY rh.batch, rh.position`);
    this.#update = db.prepare(`UPDATE rollouts SET state = @state, reason = @reason, current_batch = @currentBatch, updated_at = @updatedAt,
      halted_at = @haltedAt, finished_at = @finishedAt WHERE id = @id`);
    this.#groupHosts = db
      .prepare(`SELECT h.id, h.name, h.connected, COALESCE(h.desired_revision, g.current_revision), h.applied_revision
        FROM hosts h JOIN groups g ON g.id = h.group_id WHERE h.group_id = ? ORDER BY h.name`)
      .raw();
    this.#offRevision = db
      .prepare('SELECT h.id FROM hosts h JOIN groups g ON g.id = h.group_id WHERE h.group_id = ? AND COALESCE(h.desired_revision, g.current_revision) IS NOT ?')
      .pluck();
    this.#updateHost = db.prepare(`UPDATE rollout_hosts SET state = @state, reverted = @reverted, outcome = @outcome, action = @action,
      error_code = @errorCode, error_message = @errorMessage, started_at = @startedAt, finished_at = @finishedAt
      WHERE rollout_id = @rolloutId AND host_id = @hostId`);
    this.#updateHosts = db.prepare(`UPDATE OR FAIL rollout_hosts SET state = @state, reverted = @reverted, outcome = @outcome, action = @action,
      error_code = @errorCode, error_message = @errorMessage, started_at = @startedAt, finished_at = @finishedAt
      WHERE rollout_id = @rolloutId AND host_id IN (SELECT value FROM json_each(@hostIds))`);
  }

  /** Creates a running rollout; returns its id. The unique index refuses a second active one per group. */
  insert(rollout: { groupId: number; kind: RolloutRow['kind']; fromRevision: number; toRevision: number; strategy: Strategy; createdAt: Date; createdBy: string | null }): number {
    const row = this.#insert.get({ ...rollout, strategy: JSON.stringify(rollout.strategy), createdAt: rollout.createdAt.toISOString() }) as { id: number };
    return row.id;
  }

  /**
   * Adds hosts to a rollout, each in its batch at its position with its rollout columns. Hosts whose
   * columns are alike (a batch starting: applying, started at the same time) go in one statement.
   */
  insertHosts(rolloutId: number, hosts: readonly (RolloutHostUpdate & { hostId: string; batch: number; position: number })[]): void {
    const alike = new Map<string, { columns: RolloutHostUpdate; rows: [string, number, number][] }>();
    let run: { columns: RolloutHostUpdate; rows: [string, number, number][] } | undefined;
    for (const h of hosts) {
      // Alike hosts come in runs (hosts are given by batch): a key only where a run ends.
      if (!run || !isAlike(run.columns, h)) {
        // Enums and ISO times cannot contain `|`; the error (free text) comes last.
        const key = `${h.state}|${h.reverted}|${h.outcome}|${h.action}|${h.startedAt}|${h.finishedAt}|${h.error && JSON.stringify([h.error.code, h.error.message])}`;
        run = alike.get(key);
        if (!run) alike.set(key, (run = { columns: h, rows: [] }));
      }
      run.rows.push([h.hostId, h.batch, h.position]);
    }
    for (const { columns, rows } of alike.values()) this.#insertHosts.run({ rolloutId, hosts: JSON.stringify(rows), ...hostColumns(columns) });
  }

  /** Marks hosts of a rollout applying, started `at`; inside a transaction (see the constructor). */
  startHosts(rolloutId: number, hostIds: readonly string[], at: string): void {
    if (hostIds.length > 0) this.#startHosts.run(at, rolloutId, JSON.stringify(hostIds));
  }

  /** Whether a rollout (any, also a halted one still waiting for results) waits for `hostId`'s result. */
  isApplying(hostId: string): boolean {
    return this.#applyingHost.get(hostId) !== undefined;
  }

  /** The rollout with this id, or undefined. */
  get(id: number): RolloutRow | undefined {
    const row = this.#get.get(id) as Parameters<typeof toRollout>[0] | undefined;
    return row && toRollout(row);
  }

  /** The group's rollouts, newest first. */
  listForGroup(groupId: number, limit: number): RolloutRow[] {
    return (this.#listForGroup.all(groupId, limit) as Parameters<typeof toRollout>[0][]).map(toRollout);
  }

  /** The group's running, paused or rolling-back rollout, if any. */
  activeForGroup(groupId: number): RolloutRow | undefined {
    const row = this.#activeForGroup.get(groupId) as Parameters<typeof toRollout>[0] | undefined;
    return row && toRollout(row);
  }

  /** Rollouts the engine must step: active ones, and ended ones with hosts still waiting for a result. */
  idsNeedingSteps(): number[] {
    return this.#needingSteps.all() as number[];
  }

  /** The rollout's hosts by batch and position, with their connection and last result. */
  hosts(rolloutId: number): RolloutHostRow[] {
    return (this.#hosts.all(rolloutId) as HostJoinRow[]).map(toHost);
  }

  /** Writes the rollout's state. */
  update(id: number, update: Pick<RolloutRow, 'state' | 'reason' | 'currentBatch' | 'updatedAt' | 'haltedAt' | 'finishedAt'>): void {
    const { state, reason, currentBatch, updatedAt, haltedAt, finishedAt } = update;
    this.#update.run({ id, state, reason, currentBatch, updatedAt, haltedAt, finishedAt });
  }

  /** The group's hosts with what a rollout plans with (no facts, no observed state: cheap for big groups). */
  groupHosts(groupId: number): GroupHostRow[] {
    // Read as arrays: better-sqlite3 makes a row object far slower than a plain literal (10,000 hosts).
    return (this.#groupHosts.all(groupId) as [string, string, number, number | null, number | null][]).map((row) => ({
      id: row[0],
      name: row[1],
      connected: row[2] === 1,
      desiredRevision: row[3],
      appliedRevision: row[4],
    }));
  }

  /** Ids of the group's hosts whose desired revision is not `revision`. */
  hostIdsOffRevision(groupId: number, revision: number): string[] {
    return this.#offRevision.all(groupId, revision) as string[];
  }

  /** Writes one host's rollout columns. */
  updateHost(rolloutId: number, hostId: string, update: RolloutHostUpdate): void {
    this.#updateHost.run({ rolloutId, hostId, ...hostColumns(update) });
  }

  /** Writes the same rollout columns for many hosts in one statement (thousands of results alike); inside a transaction. */
  updateHosts(rolloutId: number, hostIds: readonly string[], update: RolloutHostUpdate): void {
    if (hostIds.length > 0) this.#updateHosts.run({ rolloutId, hostIds: JSON.stringify(hostIds), ...hostColumns(update) });
  }
}

/** Whether two hosts' rollout columns are the same. */
function isAlike(a: RolloutHostUpdate, b: RolloutHostUpdate): boolean {
  return (
    a.state === b.state &&
    a.reverted === b.reverted &&
    a.outcome === b.outcome &&
    a.action === b.action &&
    a.startedAt === b.startedAt &&
    a.finishedAt === b.finishedAt &&
    (a.error === b.error || (a.error !== null && b.error !== null && a.error.code === b.error.code && a.error.message === b.error.message))
  );
}

/** The bound parameters of a host update. */
function hostColumns(update: RolloutHostUpdate) {
  return {
    state: update.state,
    reverted: update.reverted ? 1 : 0,
    outcome: update.outcome,
    action: update.action,
    errorCode: update.error?.code ?? null,
    errorMessage: update.error?.message ?? null,
    startedAt: update.startedAt,
    finishedAt: update.finishedAt,
  };
}
