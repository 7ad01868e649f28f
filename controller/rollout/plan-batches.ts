/**
 * Pure: which hosts go in which batch. Batch 0 is the canary (when the strategy has one), then batches
 * of `batchSize` in name order. The canary is picked from hosts that are connected and would change,
 * so that it really tests the change; offline hosts keep their place in the batches and are dealt with
 * when their batch comes (see step.ts). Counts and percentages are rounded as strategy.ts says.
 */
import { resolveAmount, type Strategy } from './strategy.js';

/** A host as the planner sees it. */
export interface PlanHost {
  name: string;
  connected: boolean;
  /** Whether the target revision changes anything for it (default true). */
  changes?: boolean;
}

/** The batches, each a list of host names in start order. */
export interface BatchPlan {
  batches: string[][];
  /** Whether batch 0 is a canary. */
  canary: boolean;
  /** Hosts in the canary batch. */
  canarySize: number;
  /** Hosts per batch after the canary. */
  batchSize: number;
}

const byName = (a: PlanHost, b: PlanHost) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** How suitable a host is as a canary: connected and changing first, offline last. */
function canaryRank(host: PlanHost): number {
  return (host.connected ? 0 : 2) + (host.changes === false ? 1 : 0);
}

/** Splits `hosts` into the canary batch and the batches after it. */
export function planBatches(hosts: readonly PlanHost[], strategy: Pick<Strategy, 'canary' | 'batchSize'>): BatchPlan {
  const total = hosts.length;
  const canarySize = resolveAmount(strategy.canary, total);
  const batchSize = resolveAmount(strategy.batchSize, total, true);
  const sorted = [...hosts].sort(byName);
  const canary = canarySize === 0 ? [] : [...sorted].sort((a, b) => canaryRank(a) - canaryRank(b) || byName(a, b)).slice(0, canarySize);
  const inCanary = new Set(canary.map((h) => h.name));
  const rest = sorted.filter((h) => !inCanary.has(h.name)).map((h) => h.name);
  const batches: string[][] = canary.length > 0 ? [canary.map((h) => h.name)] : [];
  for (let i = 0; i < rest.length; i += batchSize) batches.push(rest.slice(i, i + batchSize));
  return { batches, canary: canary.length > 0, canarySize: canary.length, batchSize };
}
