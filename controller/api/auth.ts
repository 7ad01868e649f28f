/**
 * Who may call a route: anonymous, or an operator token whose role is in the route's list. Reads the
 * `Authorization: Bearer` header, looks the token up by hash, and refuses with UNAUTHENTICATED (no or
 * unknown token) or FORBIDDEN (a role the route does not allow).
 */
import { FleetdockError } from '../../protocol/errors.js';
import { hashSecret, parseBearer } from '../secrets.js';
import type { Operator, OperatorRole, OperatorTokenStore } from '../store/operator-tokens.js';

/** A route's access rule: open to anyone, or to operator tokens with one of these roles. */
export type Access = 'anonymous' | readonly OperatorRole[];

/**
 * Checks the request's credentials against `access`; returns the operator (null for anonymous routes)
 * or throws UNAUTHENTICATED / FORBIDDEN.
 */
export function authorize(access: Access, authorization: string | undefined, operatorTokens: OperatorTokenStore): Operator | null {
  if (access === 'anonymous') return null;
  const token = parseBearer(authorization);
  if (token === null) {
    throw new FleetdockError(
      'UNAUTHENTICATED',
      "this request needs an operator token: pass --token or --token-file, or set FLEETDOCK_TOKEN (the first admin token is in the controller's data directory, admin.token)",
    );
  }
  // Looked up by sha256: timing reveals nothing useful about the secret itself.
  const operator = operatorTokens.findActiveByHash(hashSecret(token));
  if (!operator) throw new FleetdockError('UNAUTHENTICATED', 'operator token is not valid (unknown or revoked)');
  if (!access.includes(operator.role)) {
    throw new FleetdockError('FORBIDDEN', `this request needs role ${access.join(' or ')}; token ${operator.name} has role ${operator.role}`);
  }
  return operator;
}
