/**
 * The operator routes (admin only): create an operator token with a role (the token is answered once
 * and stored only as its hash), list tokens (never a token or hash), revoke one by name (it stops
 * working on the next request). Every change is in the audit log under the acting token's name.
 */
import { FleetdockError } from '../../../protocol/errors.js';
import { generateSecret, hashSecret } from '../../secrets.js';
import type { Handler } from '../context.js';
import { CreateOperatorRequestSchema, type OperatorView } from '../trust-schemas.js';
import { parseInput } from '../validate.js';

/** POST /v1/operators `{ name, role }`: 201 `{ name, role, token, createdAt }`; ALREADY_EXISTS while `name` has a live token. */
export const postOperator: Handler = ({ body, operator, deps }) => {
  const { name, role } = parseInput(CreateOperatorRequestSchema, body);
  const { store } = deps;
  const token = generateSecret();
  const at = deps.now();
  store.db.transaction(() => {
    if (store.operatorTokens.findActiveByName(name)) {
      throw new FleetdockError('ALREADY_EXISTS', `operator ${name} already has a token; revoke it first (fleetdock operator revoke ${name})`, { details: { name } });
    }
    store.operatorTokens.create(name, role, hashSecret(token), at);
    store.audit.record({ at, actor: operator!.name, action: 'operator.create', details: { name, role } });
  }).immediate();
  deps.logger.info({ operator: name, role, by: operator!.name }, 'operator token created');
  return { status: 201, body: { name, role, token, createdAt: at.toISOString() } };
};

/** GET /v1/operators: `{ operators }`, revoked ones included, by name. */
export const listOperators: Handler = ({ deps }) => {
  const operators: OperatorView[] = deps.store.operatorTokens.list().map(({ name, role, createdAt, revokedAt }) => ({ name, role, createdAt, revokedAt }));
  return { status: 200, body: { operators } };
};

/**
 * POST /v1/operators/:name/revoke: 200 `{ name, role, revokedAt }`; NOT_FOUND when `name` has no live
 * token; FORBIDDEN for the last admin token (nobody could manage operators any more).
 */
export const revokeOperator: Handler = ({ params, operator, deps }) => {
  const name = params.name!;
  const { store } = deps;
  const at = deps.now();
  const revoked = store.db.transaction(() => {
    const target = store.operatorTokens.findActiveByName(name);
    if (!target) throw new FleetdockError('NOT_FOUND', `operator ${name} has no live token`, { details: { name } });
    if (target.role === 'admin' && store.operatorTokens.activeAdminCount() <= 1) {
      throw new FleetdockError('FORBIDDEN', `operator ${name} holds the last admin token; create another admin first (fleetdock operator create NAME --role admin)`);
    }
    store.operatorTokens.revoke(target.id, at);
    store.audit.record({ at, actor: operator!.name, action: 'operator.revoke', details: { name, role: target.role } });
    return target;
  }).immediate();
  deps.logger.info({ operator: name, role: revoked.role, by: operator!.name }, 'operator token revoked');
  return { status: 200, body: { name, role: revoked.role, revokedAt: at.toISOString() } };
};
