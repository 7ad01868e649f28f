/**
 * Writes one rollout step's decisions in ONE transaction: every host transition, the hosts' desired
 * revisions, the group's current revision when the rollout completes, the rollout row and, for a
 * halt or a completion, the audit record. Returns what the engine needs after the commit: the rollout
 * as written, the host updates for its in-memory model, and the `desired` messages to send (only
 * after the commit: see engine.ts on crash safety). Nothing here holds state.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { RolloutHostUpdate, RolloutRow } from '../store/rollouts.js';
import type { ModelHost, RolloutModel } from './rollout-model.js';
import { TERMINAL_ROLLOUT_STATES as TERMINAL, type RolloutState, type StepOutput } from './step.js';

/** What a written step leaves for the engine to do after the commit. */
export interface WrittenStep {
  after: RolloutRow;
  updates: { host: ModelHost; next: RolloutHostUpdate }[];
  sends: { hostId: string; revision: number }[];
}

/** Writes `out` for `model` at `now`; null when the step changes nothing (then nothing is written). */
export function writeStep(store: Store, log: Logger, model: RolloutModel, out: StepOutput, now: Date): WrittenStep | null {
  const before = model.rollout;
  const id = before.id;
  const at = now.toISOString();
  const stateChanged = out.state !== before.state;
  if (!stateChanged && out.currentBatch === before.currentBatch && out.changes.length === 0) return null;

  const sends: { hostId: string; revision: number }[] = [];
  const updates = out.changes.map((c) => {
    const host = model.byId.get(c.id)!;
    const next: RolloutHostUpdate = {
      state: c.state ?? host.state,
      reverted: host.reverted || c.revert === true,
      outcome: c.outcome !== undefined ? c.outcome : host.outcome,
      action: c.action !== undefined ? c.action : host.action,
      error: c.error !== undefined ? c.error : host.error,
      startedAt: c.start ? at : host.startedAt,
      finishedAt: c.finish ? at : c.start ? null : host.finishedAt,
    };
    return { host, change: c, next };
  });
  const after: RolloutRow = {
    ...before,
    state: out.state,
    // Rolled back: keep why it halted in front of the news that the rollback is done.
    reason: out.state === 'rolled-back' && stateChanged && before.reason ? `${before.reason}; ${out.reason}` : (out.reason ?? before.reason),
    currentBatch: out.currentBatch,
    updatedAt: at,
    haltedAt: stateChanged && (out.state === 'halted' || out.state === 'rolling-back') ? at : before.haltedAt,
    finishedAt: stateChanged && TERMINAL.includes(out.state) ? at : before.finishedAt,
  };
    store.db
      .transaction(() => {
        // Starts are alike: one statement each for however many hosts start (a batch of thousands).
        const started = updates.filter((u) => u.change.start).map((u) => u.host.id);
        store.rollouts.startHosts(id, started, at);
        store.hosts.setDesiredRevisions(started, before.toRevision);
        for (const hostId of started) sends.push({ hostId, revision: before.toRevision });
        // Results are alike too: one statement per outcome and action for the hosts that succeeded.
        const finished = new Map<string, { update: RolloutHostUpdate; ids: string[] }>();
        for (const { host, change, next } of updates) {
          if (change.start) continue;
          if (!change.revert && next.state === 'succeeded' && next.error === null && !next.reverted && next.startedAt !== null) {
            const key = `${next.outcome}:${next.action}:${next.startedAt}`;
            const entry = finished.get(key);
            if (entry) entry.ids.push(host.id);
            else finished.set(key, { update: next, ids: [host.id] });
            continue;
          }
          store.rollouts.updateHost(id, host.id, next);
          if (change.revert) {
            // Back to following the group's current revision, which is the rollout's from revision.
            store.hosts.setDesiredRevision(host.id, null);
            sends.push({ hostId: host.id, revision: before.fromRevision });
          }
        }
        if (stateChanged && out.state === 'completed') {
          const moving = store.rollouts.hostIdsOffRevision(before.groupId, before.toRevision);
          store.groups.setCurrentRevision(before.groupId, before.toRevision);
          store.hosts.followCurrentRevision(before.groupId);
          for (const hostId of moving) sends.push({ hostId, revision: before.toRevision });
        }
        for (const { update, ids } of finished.values()) store.rollouts.updateHosts(id, ids, update);
        store.rollouts.update(id, after);
        if (stateChanged) recordTransition(store, log, before, after, model.hosts.length);
      })
      .immediate();
  return { after, updates, sends };
}

function recordTransition(store: Store, log: Logger, before: RolloutRow, after: RolloutRow, hosts: number): void {
  const action = (
    // A halt is recorded once, when the budget is spent (rolling-back → rolled-back is only logged).
    { halted: 'rollout.halt', 'rolling-back': 'rollout.halt', completed: 'rollout.complete' } as Partial<Record<RolloutState, 'rollout.halt' | 'rollout.complete'>>
  )[after.state];
  log.info({ rollout: after.id, group: after.group, from: before.state, to: after.state, reason: after.reason }, 'rollout state changed');
  if (!action) return;
  store.audit.record({
    at: after.updatedAt,
    actor: 'controller',
    action,
    group: after.group,
    fromRevision: after.fromRevision,
    toRevision: after.toRevision,
    details: { rollout: after.id, state: after.state, reason: after.reason, hosts },
  });
}
