/**
 * Pure: the fleet summary `fleetdock hosts` and `fleetdock drift` show: how many hosts are converged,
 * drifted (on their desired revision but tampered with), behind, offline or failed. Each host counts
 * once, from its status (host-status.ts) and whether it has open tamper drift.
 */
import type { HostStatus } from '../host-status.js';

export const FLEET_SUMMARY_KEYS = ['converged', 'drifted', 'behind', 'offline', 'failed'] as const;
export type FleetSummary = Record<(typeof FLEET_SUMMARY_KEYS)[number], number> & { total: number };

/**
 * Counts hosts: `offline` (not connected, or never connected), `failed` (its desired revision failed
 * or rolled back), `behind` (connected, not on its desired revision yet), `drifted` (on it, but a file
 * or the daemon says otherwise), else `converged`.
 */
export function summarizeFleet(hosts: Iterable<{ status: HostStatus; tampered: boolean; count?: number }>): FleetSummary {
  const summary: FleetSummary = { total: 0, converged: 0, drifted: 0, behind: 0, offline: 0, failed: 0 };
  for (const host of hosts) {
    const n = host.count ?? 1;
    summary.total += n;
    if (host.status === 'offline' || host.status === 'new') summary.offline += n;
    else if (host.status === 'failed') summary.failed += n;
    else if (host.status === 'pending') summary.behind += n;
    else if (host.tampered) summary.drifted += n;
    else summary.converged += n;
  }
  return summary;
}
