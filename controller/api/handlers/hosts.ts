/** The host routes: list hosts (all or one group's) and show one, each with its derived status. */
import { z } from 'zod';
import { FleetdockError } from '../../../protocol/errors.js';
import { summarizeFleet } from '../../drift/summary.js';
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
