/** Pure: turns a stored rollout and its hosts, or a dry run, into what the API returns. */
import type { RolloutPlan, RolloutRecord } from '../rollout/engine.js';
import { resolveLimits } from '../rollout/engine.js';
import type { RolloutCounts, RolloutPlanResponse, RolloutView } from './rollout-schemas.js';

/** A rollout with its batches in order and the hosts of each in start order, and the counts. */
export function renderRolloutView({ rollout, hosts }: RolloutRecord, options: { hosts?: boolean } = {}): RolloutView {
  const withHosts = options.hosts ?? true;
  const counts: RolloutCounts = { total: hosts.length, succeeded: 0, failed: 0, pending: 0, applying: 0, offline: 0, skipped: 0, rolledBack: 0 };
  const batches: RolloutView['batches'] = [];
  const canary = rollout.strategy.canary !== 0 && rollout.strategy.canary !== '0%';
  for (const h of hosts) {
    counts[h.state === 'rolled-back' ? 'rolledBack' : h.state] += 1;
    let batch = batches.at(-1);
    if (!batch || batch.index !== h.batch) batches.push((batch = { index: h.batch, canary: canary && h.batch === 0, size: 0, hosts: [] }));
    batch.size = (batch.size ?? 0) + 1;
    if (withHosts) batch.hosts.push({ name: h.name, state: h.state, outcome: h.outcome, action: h.action, error: h.error, reverted: h.reverted, startedAt: h.startedAt, finishedAt: h.finishedAt });
  }
  return {
    id: rollout.id,
    group: rollout.group,
    kind: rollout.kind,
    fromRevision: rollout.fromRevision,
    toRevision: rollout.toRevision,
    strategy: rollout.strategy,
    state: rollout.state,
    reason: rollout.reason,
    createdAt: rollout.createdAt,
    createdBy: rollout.createdBy,
    updatedAt: rollout.updatedAt,
    finishedAt: rollout.finishedAt,
    currentBatch: rollout.currentBatch,
    allowedFailures: resolveLimits(rollout.strategy, hosts.length).allowedFailures,
    batches,
    counts,
  };
}

/** A dry run: the batches by name and what each host would do. */
export function renderRolloutPlan(plan: RolloutPlan): RolloutPlanResponse {
  return {
    group: plan.group,
    fromRevision: plan.fromRevision,
    toRevision: plan.toRevision,
    strategy: plan.strategy,
    allowedFailures: plan.allowedFailures,
    batches: plan.batches.map((hosts, index) => ({ index, canary: plan.canary && index === 0, hosts })),
    plan: plan.hosts,
  };
}
