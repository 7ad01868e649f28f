/**
 * The host routes: list hosts (all or one group's) and show one, each with its derived status; revoke
 * a host (credential refused, connection closed) and remove a revoked one (its name is free again).
 */
import { z } from 'zod';
import { FleetdockError } from '../../../protocol/errors.js';
import { summarizeFleet } from '../../drift/summary.js';
import { CLOSE_CODES } from '../../../protocol/messages.js';
import type { Handler } from '../context.js';
import { parseInput } from '../validate.js';
import { renderHostView } from '../views.js';

const HostListQuerySchema = z.strictObject({ group: z.string().min(1).optional() });

/** GET /v1/hosts[?group=G]: `{ hosts: HostView[], summary }` by name (summary: controller/drift/summary.ts); NOT_FOUND for an unknown group. */
export const listHosts: Handler = ({ query, deps }) => {
  const { group: groupName } = parseInput(HostListQuerySchema, query ?? {}, 'query');
  const { store } = deps;
  const group = groupName === undefined ? undefined : store.groups.require(groupName);
  const hosts = store.hosts.list(group?.id).map((h) => renderHostView(h));
  const tampered = store.drift.tamperedHostIds(group?.id);
  const summary = summarizeFleet(hosts.map((h) => ({ status: h.status, tampered: tampered.has(h.id) })));
  return { status: 200, body: { hosts, summary } };
};

/** GET /v1/hosts/:name: one HostView; NOT_FOUND naming it otherwise. */
export const getHost: Handler = ({ params, deps }) => {
  const host = deps.store.hosts.find(params.name!);
  if (!host) throw new FleetdockError('NOT_FOUND', `host ${params.name} is not enrolled`, { details: { host: params.name } });
  return { status: 200, body: renderHostView(host) };
};

function requireHost(deps: Parameters<Handler>[0]['deps'], name: string) {
  const host = deps.store.hosts.find(name);
  if (!host) throw new FleetdockError('NOT_FOUND', `host ${name} is not enrolled`, { details: { host: name } });
  return host;
}

/**
 * POST /v1/hosts/:name/revoke: the host's credential stops working at once (the next upgrade is a
 * 401) and its live connection is closed with 4401 within a second. 200 `{ name, group, revokedAt,
 * changed, disconnected }`; revoking twice changes nothing. The record stays (history, drift) until
 * `DELETE /v1/hosts/:name`; until then the name cannot be enrolled again.
 */
export const revokeHost: Handler = ({ params, operator, deps }) => {
  const { store } = deps;
  const at = deps.now();
  const { host, changed } = store.db.transaction(() => {
    const found = requireHost(deps, params.name!);
    const revoked = store.hostRevocation.revoke(found.id, at);
    if (revoked) store.audit.record({ at, actor: operator!.name, action: 'host.revoke', group: found.group, host: found.name });
    return { host: found, changed: revoked };
  }).immediate();
  // After the commit: a reconnect racing this finds the credential revoked.
  const disconnected = deps.agents?.disconnectHost(host.id, CLOSE_CODES.REVOKED, 'host credential revoked') ?? false;
  if (changed) deps.logger.info({ hostId: host.id, host: host.name, disconnected, by: operator!.name }, 'host revoked');
  return { status: 200, body: { name: host.name, group: host.group, revokedAt: host.revokedAt ?? at.toISOString(), changed, disconnected } };
};

/**
 * DELETE /v1/hosts/:name: removes a revoked host's record (its drift periods and its rows in finished
 * rollouts with it) so the name can be enrolled again. Refused unless the host is revoked
 * (VALIDATION) and in no running, paused or rolling-back rollout (ROLLOUT_ACTIVE).
 */
export const removeHost: Handler = ({ params, operator, deps }) => {
  const { store } = deps;
  const at = deps.now();
  const host = store.db.transaction(() => {
    const found = requireHost(deps, params.name!);
    if (found.revokedAt === null) {
      throw new FleetdockError('VALIDATION', `host ${found.name} is not revoked; revoke it first (fleetdock host revoke ${found.name})`, { details: { host: found.name } });
    }
    const rollout = store.hostRevocation.activeRolloutOf(found.id);
    if (rollout !== undefined) {
      throw new FleetdockError('ROLLOUT_ACTIVE', `host ${found.name} is part of rollout ${rollout}, which is still active; abort it or wait for it to end`, { details: { host: found.name, rollout } });
    }
    store.hostRevocation.remove(found.id);
    store.audit.record({ at, actor: operator!.name, action: 'host.remove', group: found.group, host: found.name });
    return found;
  }).immediate();
  deps.logger.info({ hostId: host.id, host: host.name, by: operator!.name }, 'host removed');
  return { status: 200, body: { name: host.name, group: host.group, removed: true } };
};
