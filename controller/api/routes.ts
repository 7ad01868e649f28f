/**
 * The HTTP API's routes as one explicit table: method and path, the handler, and who may call it.
 * A route not in this table does not exist (404). Roles other than admin come later; the table
 * already carries them.
 */
import type { Access } from './auth.js';
import type { Handler } from './context.js';
import { getDrift, putDriftPolicy } from './handlers/drift.js';
import { postEnrol } from './handlers/enrol.js';
import { getGroup, getRevision, listGroups, listRevisions, postGroup, postJoinToken, putSettings } from './handlers/groups.js';
import { getHealth } from './handlers/health.js';
import { getHost, listHosts } from './handlers/hosts.js';
import { abortRollout, getRollout, listRollouts, pauseRollout, postRollout, postUndo, resumeRollout } from './handlers/rollouts.js';
import { getLog } from './handlers/log.js';

/** One API route. */
export interface Route {
  method: 'get' | 'post' | 'put';
  path: string;
  access: Access;
  handler: Handler;
}

const ADMIN = ['admin'] as const;

/** Every route the controller serves. */
export const ROUTES: readonly Route[] = Object.freeze([
  { method: 'get', path: '/v1/health', access: 'anonymous', handler: getHealth },
  { method: 'post', path: '/v1/enrol', access: 'anonymous', handler: postEnrol },
  { method: 'post', path: '/v1/groups', access: ADMIN, handler: postGroup },
  { method: 'get', path: '/v1/groups', access: ADMIN, handler: listGroups },
  { method: 'get', path: '/v1/groups/:name', access: ADMIN, handler: getGroup },
  { method: 'put', path: '/v1/groups/:name/settings', access: ADMIN, handler: putSettings },
  { method: 'get', path: '/v1/groups/:name/revisions', access: ADMIN, handler: listRevisions },
  { method: 'get', path: '/v1/groups/:name/revisions/:number', access: ADMIN, handler: getRevision },
  { method: 'post', path: '/v1/groups/:name/join-tokens', access: ADMIN, handler: postJoinToken },
  { method: 'get', path: '/v1/hosts', access: ADMIN, handler: listHosts },
  { method: 'get', path: '/v1/hosts/:name', access: ADMIN, handler: getHost },
  { method: 'post', path: '/v1/groups/:name/rollouts', access: ADMIN, handler: postRollout },
  { method: 'get', path: '/v1/groups/:name/rollouts', access: ADMIN, handler: listRollouts },
  { method: 'post', path: '/v1/groups/:name/rollouts/undo', access: ADMIN, handler: postUndo },
  { method: 'get', path: '/v1/rollouts/:id', access: ADMIN, handler: getRollout },
  { method: 'post', path: '/v1/rollouts/:id/pause', access: ADMIN, handler: pauseRollout },
  { method: 'post', path: '/v1/rollouts/:id/resume', access: ADMIN, handler: resumeRollout },
  { method: 'post', path: '/v1/rollouts/:id/abort', access: ADMIN, handler: abortRollout },
  { method: 'get', path: '/v1/drift', access: ADMIN, handler: getDrift },
  { method: 'put', path: '/v1/groups/:name/drift-policy', access: ADMIN, handler: putDriftPolicy },
  { method: 'get', path: '/v1/log', access: ADMIN, handler: getLog },
]);
