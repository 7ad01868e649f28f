/**
 * The drift routes: which hosts drifted, in what field, why and since when (open drift periods, with
 * the fleet summary of the same hosts), and a group's drift policy. Values are redacted when stored.
 */
import { FleetdockError } from '../../../protocol/errors.js';
import { summarizeFleet } from '../../drift/summary.js';
import { deriveHostStatus } from '../../host-status.js';
import type { DriftRecord } from '../../store/drift.js';
import type { Handler } from '../context.js';
import { DriftQuerySchema, SetDriftPolicyRequestSchema, type DriftHostView, type DriftList } from '../drift-schemas.js';
import { parseInput } from '../validate.js';

/** Pure: open drift records (sorted by host) grouped into one view per host. */
export function renderDriftHosts(records: readonly DriftRecord[]): DriftHostView[] {
  const hosts: DriftHostView[] = [];
  let current: DriftHostView | undefined;
  for (const r of records) {
    if (current?.name !== r.host) {
      current = { name: r.host, group: r.group, connected: r.connected, desiredRevision: r.desiredRevision, appliedRevision: r.appliedRevision, drifts: [] };
      hosts.push(current);
    }
    current.drifts.push({ field: r.field, kind: r.kind, since: r.since, expected: r.expected, actual: r.actual, detail: r.detail });
  }
  return hosts;
}

/** GET /v1/drift[?group=G][&host=H]: `{ summary, hosts }`, drifted hosts only; NOT_FOUND for an unknown group or host. */
export const getDrift: Handler = ({ query, deps }) => {
  const { group: groupName, host: hostName } = parseInput(DriftQuerySchema, query ?? {}, 'query');
  const { store } = deps;
  const group = groupName === undefined ? undefined : store.groups.require(groupName);
  if (hostName !== undefined && !store.hosts.isNameTaken(hostName)) {
    throw new FleetdockError('NOT_FOUND', `host ${hostName} is not enrolled`, { details: { host: hostName } });
  }
  const scope = hostName !== undefined ? { host: hostName } : { groupId: group?.id };
  const records = store.drift.listOpen(scope).filter((r) => !group || r.group === group.name);
  const summary = summarizeFleet(store.drift.statusGroups(scope).map((g) => ({ status: deriveHostStatus(g.input, g.desiredRevision), tampered: g.tampered, count: g.count })));
  const reply: DriftList = { summary, hosts: renderDriftHosts(records) };
  return { status: 200, body: reply };
};

/** PUT /v1/groups/:name/drift-policy `{ policy }`: 200 `{ group, policy, previous, changed }`; recorded in the audit log. */
export const putDriftPolicy: Handler = ({ params, body, operator, deps }) => {
  const { policy } = parseInput(SetDriftPolicyRequestSchema, body);
  const { store } = deps;
  const group = store.groups.require(params.name!);
  const at = deps.now();
  const previous = store.db.transaction(() => {
    const before = store.drift.setPolicy(group.id, policy);
    if (before !== policy) {
      store.audit.record({ at, actor: operator?.name ?? 'admin', action: 'group.drift-policy', group: group.name, details: { from: before, to: policy } });
    }
    return before;
  })();
  if (previous !== policy) {
    deps.logger.info({ group: group.name, policy, previous, by: operator?.name }, 'drift policy changed');
    deps.drift?.policyChanged(group.id);
  }
  return { status: 200, body: { group: group.name, policy, previous, changed: previous !== policy } };
};
