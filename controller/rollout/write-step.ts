/**
 * Writes one rollout step's decisions in ONE transaction: every host transition, the hosts' desired
 * revisions, the group's current revision when the rollout completes, the rollout row and, for a
 * halt or a completion, the audit record. Returns what the engine needs after the commit: the rollout
 * as written, the host updates for its in-memory model, and the `desired` messages to send (only
 * after the commit: see engine.ts on crash safety). A new rollout's first step is written with its
 * creation instead (writeFirstStep, inside createRollout's transaction). Nothing here holds state.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { RolloutHostUpdate, RolloutRow } from '../store/rollouts.js';
import type { ModelHost, RolloutModel } from './rollout-model.js';
import { TERMINAL_ROLLOUT_STATES as TERMINAL, type HostChange, type RolloutState, type StepOutput } from './step.js';

/** What a written step leaves for the engine to do after the commit. */
export interface WrittenStep {
  after: RolloutRow;
  updates: { host: ModelHost; next: RolloutHostUpdate }[];
  sends: { hostId: string; revision: number }[];
}

/** A step's decisions as the columns they write: each changed host's row after it, and the rollout's. */
interface PlannedStep {
  before: RolloutRow;
  after: RolloutRow;
  stateChanged: boolean;
  updates: { host: ModelHost; change: HostChange; next: RolloutHostUpdate }[];
}

/** Pure: what `out` makes of `model`'s rows at `now` (ISO `at`). */
function planStepRows(model: RolloutModel, out: StepOutput, at: string): PlannedStep {
  const before = model.rollout;
  const stateChanged = out.state !== before.state;
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
  return { before, after, stateChanged, updates };
}

/** Writes `out` for `model` at `now`; null when the step changes nothing (then nothing is written). */
export function writeStep(store: Store, log: Logger, model: RolloutModel, out: StepOutput, now: Date): WrittenStep | null {
  const before = model.rollout;
  if (out.state === before.state && out.currentBatch === before.currentBatch && out.changes.length === 0) return null;
  const at = now.toISOString();
  const planned = planStepRows(model, out, at);
  let sends: WrittenStep['sends'] = [];
  store.db
    .transaction(() => {
      updateHostStates(store, planned, at);
      sends = writeDesiredAndRollout(store, log, model, planned);
    })
    .immediate();
  return { after: planned.after, updates: planned.updates, sends };
}

/**
 * Writes the first step of a rollout being created, inside createRollout's transaction: its hosts are
 * inserted in their state after this step (a host started now is inserted applying, never pending and
 * then updated), with the rest of what writeStep writes. Unlike writeStep it always writes: the hosts
 * are not stored yet.
 */
export function writeFirstStep(store: Store, log: Logger, model: RolloutModel, out: StepOutput, now: Date): WrittenStep {
  const planned = planStepRows(model, out, now.toISOString());
  const next = new Map(planned.updates.map((u) => [u.host.id, u.next]));
  const rows = model.hosts.map((h) => {
    const { state, reverted, outcome, action, error, startedAt, finishedAt } = next.get(h.id) ?? h;
    return { hostId: h.id, batch: h.batch, position: h.position, state, reverted, outcome, action, error, startedAt, finishedAt };
  });
  store.rollouts.insertHosts(model.rollout.id, rows);
  const sends = writeDesiredAndRollout(store, log, model, planned);
  return { after: planned.after, updates: planned.updates, sends };
}

/** The stored hosts' rollout columns: starts and alike results set-based, the rest one by one. */
function updateHostStates(store: Store, planned: PlannedStep, at: string): void {
  const id = planned.before.id;
  // Starts are alike: one statement for however many hosts start (a batch of thousands).
  store.rollouts.startHosts(id, planned.updates.filter((u) => u.change.start).map((u) => u.host.id), at);
  // Results are alike too: one statement per outcome and action for the hosts that succeeded.
  const finished = new Map<string, { update: RolloutHostUpdate; ids: string[] }>();
  for (const { host, change, next } of planned.updates) {
    if (change.start) continue;
    if (!change.revert && next.state === 'succeeded' && next.error === null && !next.reverted && next.startedAt !== null) {
      const key = `${next.outcome}:${next.action}:${next.startedAt}`;
      const entry = finished.get(key);
      if (entry) entry.ids.push(host.id);
      else finished.set(key, { update: next, ids: [host.id] });
      continue;
    }
    store.rollouts.updateHost(id, host.id, next);
  }
  for (const { update, ids } of finished.values()) store.rollouts.updateHosts(id, ids, update);
}

/**
 * The hosts' desired revisions (started: the target; reverted: the group's current again), the
 * group's current revision on completion, the rollout row and the audit record of a transition.
 * Returns the `desired` messages to send after the commit, in the order they were decided.
 */
function writeDesiredAndRollout(store: Store, log: Logger, model: RolloutModel, planned: PlannedStep): WrittenStep['sends'] {
  const { before, after, stateChanged, updates } = planned;
  const sends: WrittenStep['sends'] = [];
  const started = updates.filter((u) => u.change.start).map((u) => u.host.id);
  store.hosts.setDesiredRevisions(started, before.toRevision);
  for (const hostId of started) sends.push({ hostId, revision: before.toRevision });
  for (const { host, change } of updates) {
    if (change.start || !change.revert) continue;
    // Back to following the group's current revision, which is the rollout's from revision.
    store.hosts.setDesiredRevision(host.id, null);
    sends.push({ hostId: host.id, revision: before.fromRevision });
  }
  if (stateChanged && after.state === 'completed') {
    const moving = store.rollouts.hostIdsOffRevision(before.groupId, before.toRevision);
    store.groups.setCurrentRevision(before.groupId, before.toRevision);
    store.hosts.followCurrentRevision(before.groupId);
    for (const hostId of moving) sends.push({ hostId, revision: before.toRevision });
  }
  store.rollouts.update(before.id, after);
  if (stateChanged) recordTransition(store, log, before, after, model.hosts.length);
  return sends;
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
