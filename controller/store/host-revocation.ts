/**
 * SQL for taking a host out of the fleet: revoking it (its credential stops authenticating at once:
 * `HostStore.findByCredentialHash` reports `revokedAt` and the hub refuses it) and removing a revoked
 * host's record so its name is free for a new enrolment. Kept apart from hosts.ts, which the hot path
 * of agent reports owns. Must not close connections: the API handler asks the hub for that.
 */
import type { Db } from './database.js';

/** Revokes and removes hosts. */
export class HostRevocationStore {
  readonly #revoke;
  readonly #inActiveRollout;
  readonly #deleteDrift;
  readonly #deleteRolloutHosts;
  readonly #deleteHost;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#revoke = db.prepare('UPDATE hosts SET revoked_at = ?, connected = 0 WHERE id = ? AND revoked_at IS NULL');
    this.#inActiveRollout = db
      .prepare(`SELECT r.id FROM rollout_hosts rh JOIN rollouts r ON r.id = rh.rollout_id
        WHERE rh.host_id = ? AND r.state IN ('running', 'paused', 'rolling-back') LIMIT 1`)
      .pluck();
    this.#deleteDrift = db.prepare('DELETE FROM drift_periods WHERE host_id = ?');
    this.#deleteRolloutHosts = db.prepare('DELETE FROM rollout_hosts WHERE host_id = ?');
    this.#deleteHost = db.prepare('DELETE FROM hosts WHERE id = ?');
  }

  /** Marks host `id` revoked (and not connected) at `at`; false when it was revoked already. */
  revoke(id: string, at: Date): boolean {
    return this.#revoke.run(at.toISOString(), id).changes === 1;
  }

  /** The id of a running, paused or rolling-back rollout that holds host `id`, or undefined. */
  activeRolloutOf(id: string): number | undefined {
    return this.#inActiveRollout.get(id) as number | undefined;
  }

  /**
   * Deletes host `id` with its drift periods and its rows in finished rollouts, in one transaction.
   * The audit log keeps its history (entries name hosts, they do not reference rows).
   */
  remove(id: string): void {
    this.#db.transaction(() => {
      this.#deleteDrift.run(id);
      this.#deleteRolloutHosts.run(id);
      this.#deleteHost.run(id);
    })();
  }
}
