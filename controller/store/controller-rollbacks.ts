/**
 * SQL that tells a host's apply result apart when it is the controller putting the host back: a
 * rollout that halted with on-halt rollback set the host back to the rollout's from revision, and
 * the host now reports that revision applied. The drift monitor asks this before it writes the
 * result's audit entry, so the log says `host.rolled-back`, not `host.applied` of an old revision.
 * Reads only; decides nothing else.
 */
import type { Db } from './database.js';

/** The rollout whose halt sent a host back, as the audit entry of the rollback names it. */
export interface ControllerRollback {
  rolloutId: number;
  /** The revision the rollout moved the host to, and it is rolled back from. */
  fromRevision: number;
  /** The revision it is put back on (the rollout's from revision). */
  toRevision: number;
}

/** Finds controller-driven rollbacks that a host's result confirms. */
export class ControllerRollbackStore {
  readonly #find;

  constructor(db: Db) {
    // Only the host's newest rollout counts (a later rollout or undo moved it since), only after that
    // rollout halted, and only once: a second `applied` of the same revision (enforce re-sent it after
    // a hand edit) is an ordinary apply again.
    this.#find = db.prepare(`SELECT r.id AS rolloutId, r.to_revision AS fromRevision, r.from_revision AS toRevision
      FROM rollout_hosts rh JOIN rollouts r ON r.id = rh.rollout_id
      WHERE rh.host_id = @hostId
        AND rh.rollout_id = (SELECT MAX(rollout_id) FROM rollout_hosts WHERE host_id = @hostId)
        AND rh.reverted = 1 AND r.from_revision = @revision AND r.halted_at IS NOT NULL AND r.halted_at <= @at
        AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.host_name = @hostName AND a.action = 'host.rolled-back'
          AND a.at >= r.halted_at AND json_extract(a.details, '$.rollout') = r.id)`);
  }

  /**
   * The rollout that set host `hostId` (named `hostName`) back to `revision` and whose rollback has
   * not been recorded yet, when the host's `applied` result for `revision`, received `at` (ISO),
   * confirms it; undefined for any other result.
   */
  confirmedBy(hostId: string, hostName: string, revision: number, at: string): ControllerRollback | undefined {
    return this.#find.get({ hostId, hostName, revision, at }) as ControllerRollback | undefined;
  }
}
