/**
 * The controller's store: one object holding the per-table stores over one open database, so handlers
 * and the hub are given a single thing. Owns no SQL itself.
 */
import { AuditStore } from './audit.js';
import { ControllerRollbackStore } from './controller-rollbacks.js';
import type { Db } from './database.js';
import { DriftHistoryStore } from './drift-history.js';
import { DriftStore } from './drift.js';
import { GroupStore } from './groups.js';
import { HostRevocationStore } from './host-revocation.js';
import { HostStore } from './hosts.js';
import { JoinTokenStore } from './join-tokens.js';
import { OperatorTokenStore } from './operator-tokens.js';
import { RevisionStore } from './revisions.js';
import type { SecretBox } from '../secret-box.js';
import { RolloutStore } from './rollouts.js';

/** Every table's store, plus the database for transactions that span several. */
export interface Store {
  readonly db: Db;
  readonly groups: GroupStore;
  readonly revisions: RevisionStore;
  readonly hosts: HostStore;
  /** Revoking hosts and removing revoked ones. */
  readonly hostRevocation: HostRevocationStore;
  readonly joinTokens: JoinTokenStore;
  readonly operatorTokens: OperatorTokenStore;
  /** The append-only audit log: `store.audit.record({ at, actor, action, group?, host?, ... })`. */
  readonly audit: AuditStore;
  /** Drift periods and each group's drift policy. */
  readonly drift: DriftStore;
  /** Drift periods, ended ones included, for the history (GET /v1/drift/history). */
  readonly driftHistory: DriftHistoryStore;
  /** Rollouts and their per-host states (controller/rollout/ drives them). */
  readonly rollouts: RolloutStore;
  /** Which apply results confirm a rollback the controller ordered on a halt (for the audit log). */
  readonly rollbacks: ControllerRollbackStore;
}

/** Prepares the stores over a migrated database; `box` seals the secrets settings carry. */
export function createStore(db: Db, box: SecretBox): Store {
  return Object.freeze({
    db,
    groups: new GroupStore(db),
    revisions: new RevisionStore(db, box),
    hosts: new HostStore(db),
    hostRevocation: new HostRevocationStore(db),
    joinTokens: new JoinTokenStore(db),
    operatorTokens: new OperatorTokenStore(db),
    audit: new AuditStore(db),
    drift: new DriftStore(db),
    driftHistory: new DriftHistoryStore(db),
    rollouts: new RolloutStore(db),
    rollbacks: new ControllerRollbackStore(db),
  });
}
