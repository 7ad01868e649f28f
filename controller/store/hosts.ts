/**
 * SQL for enrolled hosts and what they last reported: facts, applied revision, the last apply result
 * and the observed state, plus the connected flag and last-seen time the agent hub keeps up to date.
 * Identity lookups go by credential hash only.
 */
import type { ApplyResult } from '../../protocol/messages.js';
import type { HostFacts, ObservedState } from '../../protocol/observed.js';
import type { Db } from './database.js';

/** The identity a credential stands for. */
export interface HostIdentity {
  id: string;
  name: string;
  groupId: number;
  group: string;
  /** When an operator revoked the host (its credential no longer connects), or null. */
  revokedAt: string | null;
}

/** The last apply-result a host sent. */
export interface StoredResult {
  revision: number;
  outcome: ApplyResult['outcome'];
  action: ApplyResult['action'];
  filesChanged: string[];
  verification: ApplyResult['verification'];
  error: { code: string; message: string } | null;
  durationMs: number | null;
  at: string;
}

/** A host with what it last reported. JSON columns are decoded; they were checked when received. */
export interface HostRecord {
  id: string;
  name: string;
  groupId: number;
  group: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  connected: boolean;
  facts: HostFacts | null;
  appliedRevision: number | null;
  /**
   * The revision the host should be on: its own desired revision while a rollout moves it, otherwise
   * its group's current revision; null when the group has none yet.
   */
  desiredRevision: number | null;
  lastResult: StoredResult | null;
  observed: ObservedState | null;
  observedAt: string | null;
  /** When an operator revoked the host, or null. */
  revokedAt: string | null;
}

/** What enrolment writes for a new host. */
export interface NewHost {
  id: string;
  name: string;
  groupId: number;
  credentialHash: string;
  joinTokenId: number;
  facts: HostFacts;
}

interface HostRow {
  id: string;
  name: string;
  groupId: number;
  group: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  connected: number;
  facts: string | null;
  appliedRevision: number | null;
  desiredRevision: number | null;
  resultRevision: number | null;
  resultOutcome: ApplyResult['outcome'] | null;
  resultAction: ApplyResult['action'] | null;
  resultFiles: string | null;
  resultVerification: string | null;
  resultErrorCode: string | null;
  resultErrorMessage: string | null;
  resultDurationMs: number | null;
  resultAt: string | null;
  observed: string | null;
  observedAt: string | null;
  revokedAt: string | null;
}

const RECORD_SELECT = `SELECT h.id, h.name, h.group_id AS groupId, g.name AS "group", h.enrolled_at AS enrolledAt,
  h.last_seen_at AS lastSeenAt, h.connected, h.facts, h.applied_revision AS appliedRevision,
  COALESCE(h.desired_revision, g.current_revision) AS desiredRevision, h.last_result_revision AS resultRevision, h.last_result_outcome AS resultOutcome, h.last_result_action AS resultAction,
  h.last_result_files AS resultFiles, h.last_result_verification AS resultVerification,
  h.last_result_error_code AS resultErrorCode, h.last_result_error_message AS resultErrorMessage,
  h.last_result_duration_ms AS resultDurationMs, h.last_result_at AS resultAt, h.observed, h.observed_at AS observedAt, h.revoked_at AS revokedAt
  FROM hosts h JOIN groups g ON g.id = h.group_id`;

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

function toRecord(row: HostRow): HostRecord {
  const lastResult: StoredResult | null =
    row.resultRevision === null || row.resultOutcome === null || row.resultAction === null || row.resultAt === null
      ? null
      : {
          revision: row.resultRevision,
          outcome: row.resultOutcome,
          action: row.resultAction,
          filesChanged: parseJson<string[]>(row.resultFiles) ?? [],
          verification: parseJson<ApplyResult['verification']>(row.resultVerification),
          error: row.resultErrorCode === null ? null : { code: row.resultErrorCode, message: row.resultErrorMessage ?? '' },
          durationMs: row.resultDurationMs,
          at: row.resultAt,
        };
  return {
    id: row.id,
    name: row.name,
    groupId: row.groupId,
    group: row.group,
    enrolledAt: row.enrolledAt,
    lastSeenAt: row.lastSeenAt,
    connected: row.connected === 1,
    facts: parseJson<HostFacts>(row.facts),
    appliedRevision: row.appliedRevision,
    desiredRevision: row.desiredRevision,
    lastResult,
    observed: parseJson<ObservedState>(row.observed),
    observedAt: row.observedAt,
    revokedAt: row.revokedAt,
  };
}

/**
 * The columns an apply result sets, with anonymous parameters bound by `resultValues`, in this order.
 * Not named ones: better-sqlite3 binds a dozen named parameters for more CPU than SQLite takes to
 * write the row (bench/record-write.ts: 46.5 -> 34.9 µs per host).
 */
const RESULT_SET = `last_result_revision = ?, last_result_outcome = ?, last_result_action = ?, last_result_files = ?,
  last_result_verification = ?, last_result_error_code = ?, last_result_error_message = ?, last_result_duration_ms = ?,
  last_result_at = ?, applied_revision = CASE WHEN ? IN ('applied', 'unchanged') THEN ? ELSE applied_revision END`;

/** Pure: the values of RESULT_SET's parameters for `result`, received at `at` (ISO text). */
function resultValues(result: ApplyResult, at: string): (string | number | null)[] {
  return [
    result.revision,
    result.outcome,
    result.action,
    JSON.stringify(result.filesChanged),
    result.verification === null ? null : JSON.stringify(result.verification),
    result.error?.code ?? null,
    result.error?.message ?? null,
    result.durationMs,
    at,
    result.outcome,
    result.revision,
  ];
}

/** Reads and writes the `hosts` table. */
export class HostStore {
  readonly #insert;
  readonly #nameTaken;
  readonly #byCredential;
  readonly #hello;
  readonly #result;
  readonly #resultAndObserved;
  readonly #observed;
  readonly #disconnect;
  readonly #disconnectAll;
  readonly #byName;
  readonly #all;
  readonly #inGroup;
  readonly #desiredOf;
  readonly #lastResultOf;
  readonly #setDesired;
  readonly #setDesiredMany;
  readonly #followCurrent;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO hosts (id, name, group_id, credential_hash, join_token_id, enrolled_at, facts)
      VALUES (@id, @name, @groupId, @credentialHash, @joinTokenId, @enrolledAt, @facts)`);
    this.#nameTaken = db.prepare('SELECT 1 FROM hosts WHERE name = ?').pluck();
    this.#byCredential = db.prepare(`SELECT h.id, h.name, h.group_id AS groupId, g.name AS "group",
      h.revoked_at AS revokedAt FROM hosts h JOIN groups g ON g.id = h.group_id WHERE h.credential_hash = ?`);
    this.#hello = db.prepare(`UPDATE hosts SET facts = @facts, applied_revision = @appliedRevision, connected = 1, last_seen_at = @at,
      observed = COALESCE(@observed, observed), observed_at = CASE WHEN @observed IS NULL THEN observed_at ELSE @at END WHERE id = @id`);
    this.#result = db.prepare(`UPDATE hosts SET ${RESULT_SET}, last_seen_at = ? WHERE id = ?`);
    this.#resultAndObserved = db.prepare(`UPDATE hosts SET ${RESULT_SET}, observed = ?, observed_at = ?, last_seen_at = ? WHERE id = ?`);
    this.#observed = db.prepare('UPDATE hosts SET observed = @observed, observed_at = @at, last_seen_at = @at WHERE id = @id');
    this.#disconnect = db.prepare('UPDATE hosts SET connected = 0, last_seen_at = ? WHERE id = ? AND connected = 1');
    this.#disconnectAll = db.prepare('UPDATE hosts SET connected = 0, last_seen_at = COALESCE(?, last_seen_at) WHERE connected = 1');
    this.#byName = db.prepare(`${RECORD_SELECT} WHERE h.name = ?`);
    this.#all = db.prepare(`${RECORD_SELECT} ORDER BY h.name`);
    this.#inGroup = db.prepare(`${RECORD_SELECT} WHERE h.group_id = ? ORDER BY h.name`);
    this.#desiredOf = db.prepare('SELECT COALESCE(h.desired_revision, g.current_revision) FROM hosts h JOIN groups g ON g.id = h.group_id WHERE h.id = ?').pluck();
    this.#lastResultOf = db.prepare('SELECT last_result_revision AS revision, last_result_outcome AS outcome FROM hosts WHERE id = ?');
    this.#setDesired = db.prepare('UPDATE hosts SET desired_revision = ? WHERE id = ?');
    // Both write thousands of rows in one statement, always inside a caller's transaction (a rollout
    // step). OR FAIL instead of the default ABORT: a statement that may abort half-way first copies every
    // page it changes to a statement journal so that it can undo itself (the whole hosts table, for a
    // group of 10,000), and the transaction around it is rolled back whole on any error anyway.
    // The join reads the ids in the order given, with no temporary index of them as `IN (...)` builds.
    this.#setDesiredMany = db.prepare('UPDATE OR FAIL hosts SET desired_revision = ? FROM json_each(?) AS j WHERE hosts.id = j.value');
    this.#followCurrent = db.prepare('UPDATE OR FAIL hosts SET desired_revision = NULL WHERE group_id = ? AND desired_revision IS NOT NULL');
  }

  /** The revision and outcome of host `id`'s last recorded apply result, or null. */
  lastResultOf(id: string): { revision: number; outcome: string } | null {
    const row = this.#lastResultOf.get(id) as { revision: number | null; outcome: string | null } | undefined;
    return row && row.revision !== null && row.outcome !== null ? { revision: row.revision, outcome: row.outcome } : null;
  }

  /** The revision host `id` should be on (its own desired revision, else its group's current), or null. */
  desiredRevisionOf(id: string): number | null {
    return (this.#desiredOf.get(id) as number | null | undefined) ?? null;
  }

  /** Sets the host's own desired revision; null makes it follow its group's current revision. */
  setDesiredRevision(id: string, revision: number | null): void {
    this.#setDesired.run(revision, id);
  }

  /**
   * Sets the desired revision of many hosts in one statement (a rollout starting a batch of thousands).
   * Call it inside a transaction: a failure leaves the hosts before it changed (see the constructor).
   */
  setDesiredRevisions(ids: readonly string[], revision: number | null): void {
    if (ids.length > 0) this.#setDesiredMany.run(revision, JSON.stringify(ids));
  }

  /** Makes every host of the group follow the group's current revision again; inside a transaction. */
  followCurrentRevision(groupId: number): void {
    this.#followCurrent.run(groupId);
  }

  /** Inserts a newly enrolled host (enrolment checks the name first, in the same transaction). */
  insert(host: NewHost, at: Date): void {
    this.#insert.run({ ...host, facts: JSON.stringify(host.facts), enrolledAt: at.toISOString() });
  }

  /** Whether an enrolled host already has this name. */
  isNameTaken(name: string): boolean {
    return this.#nameTaken.get(name) !== undefined;
  }

  /** The host whose credential hashes to `credentialHash`, or undefined. */
  findByCredentialHash(credentialHash: string): HostIdentity | undefined {
    return this.#byCredential.get(credentialHash) as HostIdentity | undefined;
  }

  /** Records a hello: the host is connected, with these facts, this applied revision and (if sent) observed state. */
  recordHello(id: string, hello: { facts: HostFacts; appliedRevision: number | null; observed: ObservedState | null }, at: Date): void {
    this.#hello.run({
      id,
      facts: JSON.stringify(hello.facts),
      appliedRevision: hello.appliedRevision,
      observed: hello.observed === null ? null : JSON.stringify(hello.observed),
      at: at.toISOString(),
    });
  }

  /** Records an apply result; the applied revision moves only when the outcome is applied or unchanged. */
  recordApplyResult(id: string, result: ApplyResult, at: Date): void {
    const atText = at.toISOString();
    this.#result.run(...resultValues(result, atText), atText, id);
  }

  /**
   * Records an apply result and the observed state the host sent right after it, in one row write (the
   * agent sends both at the end of every apply; one write instead of two halves the cost per host).
   * `observedJson` is the state as `JSON.stringify` gave it: the caller serialises it when the message
   * arrives, so that a write waiting for its batch keeps one string alive instead of the whole object.
   */
  recordApplyResultAndObserved(id: string, result: ApplyResult, at: Date, observedJson: string, observedAt: Date): void {
    const observedAtText = observedAt.toISOString();
    this.#resultAndObserved.run(...resultValues(result, at.toISOString()), observedJson, observedAtText, observedAtText, id);
  }

  /** Records the observed state the host sent. */
  recordObserved(id: string, observed: ObservedState, at: Date): void {
    this.#observed.run({ id, observed: JSON.stringify(observed), at: at.toISOString() });
  }

  /** Marks the host disconnected, last seen `at`, if it was connected (a host that never said hello stays new). */
  markDisconnected(id: string, at: Date): void {
    this.#disconnect.run(at.toISOString(), id);
  }

  /**
   * Marks every connected host disconnected: at start (`at` null: when they went is unknown) no agent
   * can be connected yet; at shutdown (`at` now) none will be.
   */
  markAllDisconnected(at: Date | null): number {
    return this.#disconnectAll.run(at?.toISOString() ?? null).changes;
  }

  /** The host called `name`, or undefined. */
  find(name: string): HostRecord | undefined {
    const row = this.#byName.get(name) as HostRow | undefined;
    return row && toRecord(row);
  }

  /** All hosts, or those of one group, by name. */
  list(groupId?: number): HostRecord[] {
    const rows = (groupId === undefined ? this.#all.all() : this.#inGroup.all(groupId)) as HostRow[];
    return rows.map(toRecord);
  }
}
