/**
 * GET /v1/drift/history: every drift period of the scope, the ones that ended too (the open listing
 * of GET /v1/drift is handlers/drift.ts, and stays untouched). Answers what happened: which host
 * drifted in which field, why, from when to when, for how long.
 */
import { FleetdockError } from '../../../protocol/errors.js';
import type { DriftPeriodRecord } from '../../store/drift-history.js';
import type { Handler } from '../context.js';
import { DriftHistoryQuerySchema, type DriftHistory, type DriftPeriodView } from '../drift-history-schemas.js';
import { parseInput } from '../validate.js';

/** Pure: a stored period as the API shows it; an open one's duration runs until `now`. */
export function renderDriftPeriod(record: DriftPeriodRecord, now: Date): DriftPeriodView {
  const end = record.endedAt === null ? now.getTime() : Date.parse(record.endedAt);
  return {
    host: record.host,
    group: record.group,
    field: record.field,
    kind: record.kind,
    beganAt: record.beganAt,
    endedAt: record.endedAt,
    durationMs: Math.max(0, end - Date.parse(record.beganAt)),
    detail: record.detail,
    desiredRevision: record.desiredRevision,
    appliedRevision: record.appliedRevision,
  };
}

/**
 * `{ periods, truncated }`: the newest `limit` (default 100) matching periods by begin time, oldest
 * first; NOT_FOUND for an unknown group or host.
 */
export const getDriftHistory: Handler = ({ query, deps }) => {
  const { group: groupName, host: hostName, since, limit } = parseInput(DriftHistoryQuerySchema, query ?? {}, 'query');
  const { store } = deps;
  const group = groupName === undefined ? undefined : store.groups.require(groupName);
  if (hostName !== undefined && !store.hosts.isNameTaken(hostName)) {
    throw new FleetdockError('NOT_FOUND', `host ${hostName} is not enrolled`, { details: { host: hostName } });
  }
  const now = deps.now();
  const { periods, truncated } = store.driftHistory.list({ groupId: group?.id, host: hostName, since, limit });
  const reply: DriftHistory = { periods: periods.map((p) => renderDriftPeriod(p, now)), truncated };
  return { status: 200, body: reply };
};
