/**
 * The rollout engine's writes on behalf of operators: creating a rollout with its batches and its
 * first step (refused while another one of the group is active or when there is nothing to do), and
 * pausing, resuming or aborting one. Each is one transaction with its audit record. The engine decides
 * when to call them and keeps its in-memory copies in step.
 */
import type { Logger } from 'pino';
import { FleetdockError } from '../../protocol/errors.js';
import type { Store } from '../store/index.js';
import type { RolloutRow } from '../store/rollouts.js';
import { planRolloutBatches, resolveRolloutTarget } from './dry-run.js';
import { newModel, type RolloutModel } from './rollout-model.js';
import { TERMINAL_ROLLOUT_STATES as TERMINAL, type RolloutState, type StepOutput } from './step.js';
import type { Strategy } from './strategy.js';
import { writeFirstStep, type WrittenStep } from './write-step.js';

/** An operator's change of a rollout's state. */
export interface RolloutTransition {
  id: number;
  actor: string;
  /** The states it may be changed from; ROLLOUT_STATE otherwise. */
  from: readonly RolloutState[];
  to: RolloutState;
  action: 'rollout.pause' | 'rollout.resume' | 'rollout.abort';
  reason: string | null;
}

/** A rollout just created and its first step, committed together. */
export interface CreatedRollout {
  /** The model the engine steps, as it was before the first step (the engine applies `first` to it). */
  model: RolloutModel;
  first: WrittenStep;
}

/**
 * Creates a rollout of `groupName` to `toRevision` (default: latest) with its hosts planned in batches,
 * and writes its first step (`decideFirstStep`, the engine's decisions for the new model: which hosts
 * start now) in the same transaction: each host is inserted in its state after that step. Returns the
 * model and the written step; the engine follows it and sends its `desired` messages after the
 * commit. NO_REVISION, ROLLOUT_ACTIVE, ROLLOUT_NOTHING_TO_DO as engine.startRollout says.
 */
export function createRollout(
  store: Store,
  log: Logger,
  now: Date,
  request: { groupName: string; toRevision: number | undefined; strategy: Strategy; actor: string; kind: RolloutRow['kind'] },
  decideFirstStep: (model: RolloutModel) => StepOutput,
): CreatedRollout {
  const { groupName, toRevision, strategy, actor, kind } = request;
  let started: Record<string, unknown> = {};
  const created = store.db
    .transaction((): CreatedRollout => {
      const { group, target } = resolveRolloutTarget(store, groupName, toRevision);
      refuseActive(store, group.id, group.name);
      const hosts = store.rollouts.groupHosts(group.id);
      if (target.number === group.currentRevision && hosts.every((h) => h.desiredRevision === target.number && h.appliedRevision === target.number)) {
        throw new FleetdockError('ROLLOUT_NOTHING_TO_DO', `group ${group.name} is on revision ${target.number} already, and every host has applied it`, {
          details: { group: group.name, revision: target.number },
        });
      }
      const plan = planRolloutBatches(hosts, target.number, strategy);
      const rolloutId = store.rollouts.insert({ groupId: group.id, kind, fromRevision: group.currentRevision, toRevision: target.number, strategy, createdAt: now, createdBy: actor });
      const byName = new Map(hosts.map((h) => [h.name, h]));
      // The model the engine steps, built here rather than read back: results from before the start
      // never count for it (a result counts only from the moment its host was started).
      const members = plan.batches.flatMap((names, batch) =>
        names.map((name, position) => {
          const host = byName.get(name)!;
          return { id: host.id, hostId: host.id, name, batch, position, state: 'pending' as const, reverted: false, outcome: null, action: null, error: null, startedAt: null, finishedAt: null, connected: host.connected, lastResult: null };
        }),
      );
      store.audit.record({
        at: now,
        actor,
        action: kind === 'undo' ? 'rollout.undo' : 'rollout.start',
        group: group.name,
        fromRevision: group.currentRevision,
        toRevision: target.number,
        details: { rollout: rolloutId, hosts: hosts.length, batches: plan.batches.length, strategy },
      });
      started = { rollout: rolloutId, group: group.name, from: group.currentRevision, to: target.number, hosts: hosts.length, batches: plan.batches.length, by: actor };
      const model = newModel(store.rollouts.get(rolloutId)!, members);
      return { model, first: writeFirstStep(store, log, model, decideFirstStep(model), now) };
    })
    .immediate();
  // After the commit: a first step that failed rolled the rollout back, and its id may be used again.
  log.info(started, 'rollout started');
  return created;
}

/** Pauses, resumes or aborts rollout `change.id` (aborting skips the hosts not started); ROLLOUT_STATE or NOT_FOUND otherwise. */
export function transitionRollout(store: Store, log: Logger, now: Date, change: RolloutTransition): void {
  const { id, actor, from, to, action, reason } = change;
  store.db
    .transaction(() => {
      const rollout = store.rollouts.get(id);
      if (!rollout) throw new FleetdockError('NOT_FOUND', `rollout ${id} does not exist`, { details: { rollout: id } });
      const hosts = store.rollouts.hosts(id);
      if (!from.includes(rollout.state)) {
        const verb = action.slice('rollout.'.length);
        throw new FleetdockError('ROLLOUT_STATE', `rollout ${id} is ${rollout.state}; only a ${from.join(', ')} rollout can be ${verb === 'abort' ? 'aborted' : `${verb}d`}`, {
          details: { rollout: id, state: rollout.state },
        });
      }
      const at = now.toISOString();
      if (to === 'aborted') {
        for (const h of hosts) {
          if (h.state === 'pending' || h.state === 'offline') {
            store.rollouts.updateHost(id, h.hostId, { ...h, state: 'skipped', finishedAt: at });
          }
        }
      }
      store.rollouts.update(id, {
        state: to,
        reason: reason ?? rollout.reason,
        currentBatch: rollout.currentBatch,
        updatedAt: at,
        haltedAt: rollout.haltedAt,
        finishedAt: TERMINAL.includes(to) ? at : rollout.finishedAt,
      });
      store.audit.record({ at, actor, action, group: rollout.group, fromRevision: rollout.fromRevision, toRevision: rollout.toRevision, details: { rollout: id, state: to } });
      log.info({ rollout: id, group: rollout.group, from: rollout.state, to, by: actor }, 'rollout state changed');
    })
    .immediate();
}

/** ROLLOUT_ACTIVE when another rollout of the group is running, paused or rolling back. */
export function refuseActive(store: Store, groupId: number, groupName: string): void {
  const active = store.rollouts.activeForGroup(groupId);
  if (active) {
    throw new FleetdockError('ROLLOUT_ACTIVE', `rollout ${active.id} of group ${groupName} is ${active.state}; wait for it, or abort it first (fleetdock rollout abort ${active.id})`, {
      details: { group: groupName, rollout: active.id, state: active.state },
    });
  }
}
