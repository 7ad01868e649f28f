/**
 * Wire shapes of the trust routes: operator tokens (create, list, revoke), join token listings and
 * revocation, host revocation and removal. Requests are strict; no response ever holds a stored hash,
 * and only the create answers hold the secret, once.
 */
import { z } from 'zod';
import { OPERATOR_ROLES } from '../store/operator-tokens.js';

/** An operator token's name: what appears in the audit log as the actor, so plain. */
export const OperatorNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{0,62}$/, 'operator name must be 1-63 lower-case letters, digits, dots, dashes, underscores or @, starting with a letter or digit');

/** POST /v1/operators */
export const CreateOperatorRequestSchema = z.strictObject({ name: OperatorNameSchema, role: z.enum(OPERATOR_ROLES) });

/** POST /v1/operators: the token, shown this once. */
export const CreateOperatorResponseSchema = z.object({ name: z.string(), role: z.enum(OPERATOR_ROLES), token: z.string(), createdAt: z.string() });

/** One operator token as listed. */
export const OperatorViewSchema = z.object({ name: z.string(), role: z.enum(OPERATOR_ROLES), createdAt: z.string(), revokedAt: z.string().nullable() });

/** GET /v1/operators */
export const OperatorListSchema = z.object({ operators: z.array(OperatorViewSchema) });

/** POST /v1/operators/:name/revoke */
export const RevokeOperatorResponseSchema = z.object({ name: z.string(), role: z.enum(OPERATOR_ROLES), revokedAt: z.string() });

/** One join token as listed: never the token. */
export const JoinTokenViewSchema = z.object({
  id: z.number(),
  group: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  usesTotal: z.number(),
  usesLeft: z.number(),
  revokedAt: z.string().nullable(),
  /** `usable`, `revoked`, `expired` or `used-up`, decided at the time of the request. */
  state: z.enum(['usable', 'revoked', 'expired', 'used-up']),
});

/** GET /v1/join-tokens[?group=G] and GET /v1/groups/:name/join-tokens */
export const JoinTokenListSchema = z.object({ tokens: z.array(JoinTokenViewSchema) });

/** GET /v1/join-tokens query. */
export const JoinTokenListQuerySchema = z.strictObject({ group: z.string().min(1).optional() });

/** POST /v1/join-tokens/:id/revoke */
export const RevokeJoinTokenResponseSchema = z.object({ token: JoinTokenViewSchema, changed: z.boolean() });

/** POST /v1/hosts/:name/revoke */
export const RevokeHostResponseSchema = z.object({ name: z.string(), group: z.string(), revokedAt: z.string(), changed: z.boolean(), disconnected: z.boolean() });

/** DELETE /v1/hosts/:name */
export const RemoveHostResponseSchema = z.object({ name: z.string(), group: z.string(), removed: z.literal(true) });

export type JoinTokenView = z.infer<typeof JoinTokenViewSchema>;
export type OperatorView = z.infer<typeof OperatorViewSchema>;
