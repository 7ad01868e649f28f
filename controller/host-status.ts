/**
 * Pure: what state a host is in, from what it last reported and its group's desired revision. The one
 * place the status rules live; the API, the group counts and the CLI all show what this decides.
 */
import type { Outcome } from '../protocol/messages.js';

/** A host's status, as shown to operators. */
export const HOST_STATUSES = ['converged', 'pending', 'failed', 'offline', 'new'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** What the status depends on. */
export interface HostStatusInput {
  connected: boolean;
  /** Null until the host's first hello. */
  lastSeenAt: string | null;
  appliedRevision: number | null;
  lastResult: { revision: number; outcome: Outcome } | null;
}

/**
 * Decides the status, first rule that matches:
 * - `new`: never said hello;
 * - `offline`: not connected now;
 * - `failed`: its last result, for the desired revision, rolled back or failed;
 * - `converged`: applied == desired (or the group has no revision yet) and the last outcome was
 *   applied/unchanged;
 * - `pending`: connected and behind (or not yet answered).
 */
export function deriveHostStatus(host: HostStatusInput, desiredRevision: number | null): HostStatus {
  if (host.lastSeenAt === null) return 'new';
  if (!host.connected) return 'offline';
  if (desiredRevision === null) return 'converged';
  const result = host.lastResult;
  if (result && result.revision === desiredRevision && (result.outcome === 'rolled-back' || result.outcome === 'failed')) return 'failed';
  if (host.appliedRevision === desiredRevision && result && (result.outcome === 'applied' || result.outcome === 'unchanged')) return 'converged';
  return 'pending';
}

/** How many hosts are in each status, every status present (zero when none). */
export function countHostStatuses(statuses: Iterable<HostStatus>): Record<HostStatus, number> & { total: number } {
  const counts = { total: 0, converged: 0, pending: 0, failed: 0, offline: 0, new: 0 };
  for (const status of statuses) {
    counts[status] += 1;
    counts.total += 1;
  }
  return counts;
}
