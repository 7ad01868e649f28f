/**
 * The HTTP API's routes as one explicit table: method and path, the handler, and who may call it.
 * A route not in this table does not exist (404). Roles: `admin` may do everything; `operator`
 * changes settings, rollouts, drift policy, join tokens and hosts; `viewer` only reads. Anonymous
 * callers reach health, the CA certificate and enrolment only (the join token in the body is the proof).
 * test/controller/access-matrix.test.ts walks this table: a new route needs an entry there.
 */
import type { Access } from './auth.js';
import type { Handler } from './context.js';
import { getCa } from './handlers/ca.js';
import { getDrift, putDriftPolicy } from './handlers/drift.js';
import { getDriftHistory } from './handlers/drift-history.js';
import { postEnrol } from './handlers/enrol.js';
import { getGroup, getRevision, listGroups, listRevisions, postGroup, postJoinToken, putSettings } from './handlers/groups.js';
import { getHealth } from './handlers/health.js';
import { getHost, listHosts, removeHost, revokeHost } from './handlers/hosts.js';
import { listGroupJoinTokens, listJoinTokens, revokeJoinToken } from './handlers/join-tokens.js';
import { listOperators, postOperator, revokeOperator } from './handlers/operators.js';
import { abortRollout, getRollout, listRollouts, pauseRollout, postRollout, postUndo, resumeRollout } from './handlers/rollouts.js';
import { getLog } from './handlers/log.js';

/** One API route. */
export interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  access: Access;
  handler: Handler;
}

/** Managing operator tokens. */
const ADMIN = ['admin'] as const;
/** Changing the fleet: groups, settings, rollouts, drift policy, join tokens, hosts. */
const CHANGE = ['admin', 'operator'] as const;
/** Reading the fleet's state and history. */
const READ = ['admin', 'operator', 'viewer'] as const;

/** Every route the controller serves. */
export const ROUTES: readonly Route[] = Object.freeze([
  { method: 'get', path: '/v1/health', access: 'anonymous', handler: getHealth },
  { method: 'get', path: '/v1/ca', access: 'anonymous', handler: getCa },
  { method: 'post', path: '/v1/enrol', access: 'anonymous', handler: postEnrol },
  { method: 'post', path: '/v1/groups', access: CHANGE, handler: postGroup },
  { method: 'get', path: '/v1/groups', access: READ, handler: listGroups },
  { method: 'get', path: '/v1/groups/:name', access: READ, handler: getGroup },
  { method: 'put', path: '/v1/groups/:name/settings', access: CHANGE, handler: putSettings },
  { method: 'get', path: '/v1/groups/:name/revisions', access: READ, handler: listRevisions },
  { method: 'get', path: '/v1/groups/:name/revisions/:number', access: READ, handler: getRevision },
  { method: 'post', path: '/v1/groups/:name/join-tokens', access: CHANGE, handler: postJoinToken },
  { method: 'get', path: '/v1/groups/:name/join-tokens', access: CHANGE, handler: listGroupJoinTokens },
  { method: 'get', path: '/v1/join-tokens', access: CHANGE, handler: listJoinTokens },
  { method: 'post', path: '/v1/join-tokens/:id/revoke', access: CHANGE, handler: revokeJoinToken },
  { method: 'get', path: '/v1/hosts', access: READ, handler: listHosts },
  { method: 'get', path: '/v1/hosts/:name', access: READ, handler: getHost },
  { method: 'post', path: '/v1/hosts/:name/revoke', access: CHANGE, handler: revokeHost },
  { method: 'delete', path: '/v1/hosts/:name', access: CHANGE, handler: removeHost },
  { method: 'post', path: '/v1/groups/:name/rollouts', access: CHANGE, handler: postRollout },
  { method: 'get', path: '/v1/groups/:name/rollouts', access: READ, handler: listRollouts },
  { method: 'post', path: '/v1/groups/:name/rollouts/undo', access: CHANGE, handler: postUndo },
  { method: 'get', path: '/v1/rollouts/:id', access: READ, handler: getRollout },
  { method: 'post', path: '/v1/rollouts/:id/pause', access: CHANGE, handler: pauseRollout },
  { method: 'post', path: '/v1/rollouts/:id/resume', access: CHANGE, handler: resumeRollout },
  { method: 'post', path: '/v1/rollouts/:id/abort', access: CHANGE, handler: abortRollout },
  { method: 'get', path: '/v1/drift', access: READ, handler: getDrift },
  { method: 'get', path: '/v1/drift/history', access: READ, handler: getDriftHistory },
  { method: 'put', path: '/v1/groups/:name/drift-policy', access: CHANGE, handler: putDriftPolicy },
  { method: 'get', path: '/v1/log', access: READ, handler: getLog },
  { method: 'post', path: '/v1/operators', access: ADMIN, handler: postOperator },
  { method: 'get', path: '/v1/operators', access: ADMIN, handler: listOperators },
  { method: 'post', path: '/v1/operators/:name/revoke', access: ADMIN, handler: revokeOperator },
]);
