/**
 * Pure: turns stored records into what the API returns. Every settings or observed value passes
 * through redaction here, so no response can carry a proxy password.
 */
import { countHostStatuses, deriveHostStatus } from '../host-status.js';
import { redactObserved, redactSettings } from '../settings.js';
import type { GroupRow } from '../store/groups.js';
import type { HostRecord } from '../store/hosts.js';
import type { Revision } from '../store/revisions.js';
import type { GroupDetail, GroupSummary, HostCounts, HostView, RevisionView } from './schemas.js';

/** A revision with its settings redacted. */
export function renderRevisionView(revision: Revision): RevisionView {
  return { number: revision.number, settings: redactSettings(revision.settings), createdAt: revision.createdAt, createdBy: revision.createdBy };
}

/** A host with its status against its desired revision (by default its own), observed state redacted. */
export function renderHostView(host: HostRecord, desiredRevision: number | null = host.desiredRevision): HostView {
  return {
    id: host.id,
    name: host.name,
    group: host.group,
    status: deriveHostStatus(host, desiredRevision),
    connected: host.connected,
    lastSeenAt: host.lastSeenAt,
    enrolledAt: host.enrolledAt,
    facts: host.facts,
    desiredRevision,
    appliedRevision: host.appliedRevision,
    lastResult: host.lastResult,
    observed: host.observed && redactObserved(host.observed),
    observedAt: host.observedAt,
    revokedAt: host.revokedAt,
  };
}

/** Host counts by status, each host against its own desired revision. */
export function renderHostCounts(hosts: readonly HostRecord[]): HostCounts {
  return countHostStatuses(hosts.map((h) => deriveHostStatus(h, h.desiredRevision)));
}

/** A group in the list: its latest and current revision numbers and host counts. */
export function renderGroupSummary(group: GroupRow, latestRevision: number | null, hosts: readonly HostRecord[]): GroupSummary {
  return { name: group.name, createdAt: group.createdAt, latestRevision, currentRevision: group.currentRevision, hosts: renderHostCounts(hosts) };
}

/** A group in detail: its latest revision (redacted) and host counts. */
export function renderGroupDetail(group: GroupRow, latest: Revision | undefined, hosts: readonly HostRecord[]): GroupDetail {
  return {
    name: group.name,
    createdAt: group.createdAt,
    revision: latest ? renderRevisionView(latest) : null,
    currentRevision: group.currentRevision,
    hosts: renderHostCounts(hosts),
  };
}
