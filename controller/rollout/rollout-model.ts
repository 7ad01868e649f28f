/**
 * The in-memory copy of an unfinished rollout that the engine steps between writes: its row, its hosts
 * (by id too), the hosts that reported since the last step, and how many hosts each batch has in each
 * state. Plain data and the functions that keep it in step with what was committed.
 */
import type { RolloutHostRow, RolloutHostUpdate, RolloutRow } from '../store/rollouts.js';

export type ModelHost = RolloutHostRow & { id: string };

/** A rollout the engine is stepping, held in memory between steps (written through to SQLite). */
export interface RolloutModel {
  rollout: RolloutRow;
  hosts: ModelHost[];
  byId: Map<string, ModelHost>;
  /** Hosts whose apply result arrived since the last step. */
  reported: Set<string>;
  /** Hosts per batch and state (`${batch}:${state}`), kept with every committed change. */
  counts: Map<string, number>;
}

function countHosts(hosts: readonly ModelHost[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const h of hosts) counts.set(`${h.batch}:${h.state}`, (counts.get(`${h.batch}:${h.state}`) ?? 0) + 1);
  return counts;
}

export function newModel(rollout: RolloutRow, hosts: ModelHost[]): RolloutModel {
  return { rollout, hosts, byId: new Map(hosts.map((h) => [h.id, h])), reported: new Set(), counts: countHosts(hosts) };
}

/** After a commit: each host takes its written update, and the per-batch counts follow. */
export function followCommittedUpdates(model: RolloutModel, updates: readonly { host: ModelHost; next: RolloutHostUpdate }[], after: RolloutRow): void {
  for (const { host, next } of updates) {
    if (next.state !== host.state) {
      const from = `${host.batch}:${host.state}`;
      const to = `${host.batch}:${next.state}`;
      model.counts.set(from, (model.counts.get(from) ?? 0) - 1);
      model.counts.set(to, (model.counts.get(to) ?? 0) + 1);
    }
    Object.assign(host, next);
  }
  model.rollout = after;
}
