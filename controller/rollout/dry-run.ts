/**
 * What a rollout of a group would be, without starting it: the target revision a request names, the
 * batches its hosts fall into, and per host (a dry run) what would change and what the agent would do.
 * Reads the store, writes nothing; the deciding is done by the pure planners it calls.
 */
import { FleetdockError } from '../../protocol/errors.js';
import type { GroupRow } from '../store/groups.js';
import type { HostRecord } from '../store/hosts.js';
import type { Store } from '../store/index.js';
import type { Revision } from '../store/revisions.js';
import { planBatches, type BatchPlan } from './plan-batches.js';
import { planHostChange, type HostChangePlan } from './plan-changes.js';
import { resolveFailureBudget, type Strategy } from './strategy.js';

/** One host in a dry run. */
export interface PlannedHost extends HostChangePlan {
  host: string;
  connected: boolean;
  batch: number;
  /** The revision the host has applied (null: none yet, nothing managed). */
  fromRevision: number | null;
  toRevision: number;
}

/** What a dry run answers. */
export interface RolloutPlan {
  group: string;
  fromRevision: number;
  toRevision: number;
  strategy: Strategy;
  allowedFailures: number;
  canary: boolean;
  batches: string[][];
  hosts: PlannedHost[];
}

/**
 * The group and the revision a rollout request names (default: the latest). NOT_FOUND for an unknown
 * group or revision; NO_REVISION when the group has no settings (so no current revision) yet.
 */
export function resolveRolloutTarget(store: Store, groupName: string, toRevision: number | undefined): { group: GroupRow & { currentRevision: number }; target: Revision } {
  const group = store.groups.require(groupName);
  const latest = store.revisions.latest(group.id);
  if (!latest || group.currentRevision === null) {
    throw new FleetdockError('NO_REVISION', `group ${group.name} has no settings yet (set them with: fleetdock group set ${group.name} ...)`, { details: { group: group.name } });
  }
  const target = toRevision === undefined ? latest : store.revisions.require(group.id, group.name, toRevision);
  return { group: { ...group, currentRevision: group.currentRevision }, target };
}

/** The batches of a rollout of `hosts` to revision `target`: a host "changes" unless it has the target as desired and applied. */
export function planRolloutBatches(hosts: readonly Pick<HostRecord, 'name' | 'connected' | 'desiredRevision' | 'appliedRevision'>[], target: number, strategy: Strategy): BatchPlan {
  return planBatches(
    hosts.map((h) => ({ name: h.name, connected: h.connected, changes: h.desiredRevision !== target || h.appliedRevision !== target })),
    strategy,
  );
}

/**
 * A dry run: the batches a rollout would have and, per host, what would change from what it has
 * applied, the action the agent would take and whether that stops running containers.
 */
export function planRolloutDryRun(store: Store, groupName: string, toRevision: number | undefined, strategy: Strategy): RolloutPlan {
  const { group, target } = resolveRolloutTarget(store, groupName, toRevision);
  const hosts = store.hosts.list(group.id);
  const batches = planRolloutBatches(hosts, target.number, strategy);
  const batchOf = new Map(batches.batches.flatMap((names, batch) => names.map((name) => [name, batch] as const)));
  const revisions = new Map<number, Revision>([[target.number, target]]);
  const settingsOf = (n: number) => {
    let r = revisions.get(n);
    if (!r) revisions.set(n, (r = store.revisions.require(group.id, group.name, n)));
    return r.settings;
  };
  return {
    group: group.name,
    fromRevision: group.currentRevision,
    toRevision: target.number,
    strategy,
    allowedFailures: resolveFailureBudget(strategy, hosts.length),
    canary: batches.canary,
    batches: batches.batches,
    hosts: hosts.map((h) => ({
      host: h.name,
      connected: h.connected,
      batch: batchOf.get(h.name)!,
      fromRevision: h.appliedRevision,
      toRevision: target.number,
      ...planHostChange(h.appliedRevision === null ? null : settingsOf(h.appliedRevision), target.settings, h.facts),
    })),
  };
}
