/**
 * The controller's store: one object holding the per-table stores over one open database, so handlers
 * and the hub are given a single thing. Owns no SQL itself.
 */
import type { Db } from './database.js';
import { GroupStore } from './groups.js';
import { HostStore } from './hosts.js';
import { JoinTokenStore } from './join-tokens.js';
import { OperatorTokenStore } from './operator-tokens.js';
import { RevisionStore } from './revisions.js';

/** Every table's store, plus the database for transactions that span several. */
export interface Store {
  readonly db: Db;
  readonly groups: GroupStore;
  readonly revisions: RevisionStore;
  readonly hosts: HostStore;
  readonly joinTokens: JoinTokenStore;
  readonly operatorTokens: OperatorTokenStore;
}

/** Prepares the stores over a migrated database. */
export function createStore(db: Db): Store {
  return Object.freeze({
    db,
    groups: new GroupStore(db),
    revisions: new RevisionStore(db),
    hosts: new HostStore(db),
    joinTokens: new JoinTokenStore(db),
    operatorTokens: new OperatorTokenStore(db),
  });
}
