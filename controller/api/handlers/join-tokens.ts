/**
 * The join token routes besides creating one (handlers/groups.ts): list tokens with what is left of
 * them (never the token: only its hash is stored) and revoke one by id. Enrolment refuses a revoked,
 * expired or used-up token, each with its own message (controller/enrolment.ts).
 */
import { FleetdockError } from '../../../protocol/errors.js';
import type { JoinTokenRow } from '../../store/join-tokens.js';
import type { Handler } from '../context.js';
import { JoinTokenListQuerySchema, type JoinTokenView } from '../trust-schemas.js';
import { parseInput } from '../validate.js';

/** Pure: a stored join token as the API shows it, with its state at `now`. */
export function renderJoinTokenView(row: JoinTokenRow, now: Date): JoinTokenView {
  const state = row.revokedAt !== null ? 'revoked' : row.expiresAt <= now.toISOString() ? 'expired' : row.usesLeft <= 0 ? 'used-up' : 'usable';
  return {
    id: row.id,
    group: row.group,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    usesTotal: row.usesTotal,
    usesLeft: row.usesLeft,
    revokedAt: row.revokedAt,
    state,
  };
}

/** GET /v1/join-tokens[?group=G]: `{ tokens }`, oldest first; NOT_FOUND for an unknown group. */
export const listJoinTokens: Handler = ({ query, deps }) => {
  const { group: groupName } = parseInput(JoinTokenListQuerySchema, query ?? {}, 'query');
  const group = groupName === undefined ? undefined : deps.store.groups.require(groupName);
  const now = deps.now();
  return { status: 200, body: { tokens: deps.store.joinTokens.list(group?.id).map((t) => renderJoinTokenView(t, now)) } };
};

/** GET /v1/groups/:name/join-tokens: the group's tokens, as listJoinTokens. */
export const listGroupJoinTokens: Handler = ({ params, deps }) => {
  const group = deps.store.groups.require(params.name!);
  const now = deps.now();
  return { status: 200, body: { tokens: deps.store.joinTokens.list(group.id).map((t) => renderJoinTokenView(t, now)) } };
};

/** POST /v1/join-tokens/:id/revoke: 200 `{ token, changed }` (changed false when it was revoked already); NOT_FOUND otherwise. */
export const revokeJoinToken: Handler = ({ params, operator, deps }) => {
  const text = params.id!;
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new FleetdockError('VALIDATION', `join token ${JSON.stringify(text.slice(0, 40))} is not a join token id (1, 2, ...: see fleetdock token list)`);
  }
  const id = Number(text);
  const { store } = deps;
  const at = deps.now();
  const { row, changed } = store.db.transaction(() => {
    const before = store.joinTokens.find(id);
    if (!before) throw new FleetdockError('NOT_FOUND', `join token ${id} does not exist (see fleetdock token list)`, { details: { id } });
    const revoked = store.joinTokens.revoke(id, at);
    if (revoked) store.audit.record({ at, actor: operator!.name, action: 'token.revoke', group: before.group, details: { id } });
    return { row: store.joinTokens.find(id)!, changed: revoked };
  }).immediate();
  if (changed) deps.logger.info({ tokenId: id, group: row.group, by: operator!.name }, 'join token revoked');
  return { status: 200, body: { token: renderJoinTokenView(row, at), changed } };
};
