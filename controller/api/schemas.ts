/**
 * The HTTP API's wire shapes, as zod schemas: request bodies (strict: unknown fields are refused) that
 * the controller parses at the edge, and responses that the CLI's client parses when they come back.
 * Types are inferred from here and never written twice. Settings inside responses are redacted.
 */
import { z } from 'zod';
import { HostFactsSchema, ObservedStateSchema } from '../../protocol/observed.js';
import { ActionSchema, OutcomeSchema } from '../../protocol/messages.js';
import { SettingsSchema } from '../../protocol/settings.js';
import { HOST_STATUSES } from '../host-status.js';
import { FleetSummarySchema } from './drift-schemas.js';

/** A group name: what an operator types, and a path segment, so deliberately plain. */
export const GroupNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'group name must be 1-63 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit');

// ---- requests ----

/** POST /v1/groups */
export const CreateGroupRequestSchema = z.strictObject({ name: GroupNameSchema });

/** POST /v1/groups/:name/join-tokens */
export const CreateJoinTokenRequestSchema = z.strictObject({
  /** How many hosts may enrol with the token. */
  uses: z.number().int().min(1).max(10_000).default(1),
  /** How long the token is valid, in seconds (default one day, at most a year). */
  ttlSeconds: z.number().int().min(1).max(365 * 86_400).default(86_400),
});

/** PUT /v1/groups/:name/settings takes SettingsSchema's input as its body. */
export const SetSettingsRequestSchema = SettingsSchema;

// ---- responses ----

export const HealthResponseSchema = z.object({ ok: z.literal(true), version: z.string(), protocolVersion: z.number() });

export const HostCountsSchema = z.object({
  total: z.number(),
  converged: z.number(),
  pending: z.number(),
  failed: z.number(),
  offline: z.number(),
  new: z.number(),
});

/** One revision, settings redacted. */
export const RevisionViewSchema = z.object({
  number: z.number(),
  settings: SettingsSchema,
  createdAt: z.string(),
  createdBy: z.string().nullable(),
});

export const GroupSummarySchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  latestRevision: z.number().nullable(),
  /** The revision the group as a whole is on (a rollout moves it to a newer one); null before the first. */
  currentRevision: z.number().nullable(),
  hosts: HostCountsSchema,
});

/** GET /v1/groups/:name and POST /v1/groups */
export const GroupDetailSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  /** The latest revision, or null when the group has none yet. */
  revision: RevisionViewSchema.nullable(),
  /** The revision the group as a whole is on; newer revisions reach hosts through a rollout. */
  currentRevision: z.number().nullable(),
  hosts: HostCountsSchema,
  /** What the group does about drift (GET /v1/groups/:name only): `audit` or `enforce`. */
  driftPolicy: z.enum(['audit', 'enforce']).optional(),
});

export const GroupListSchema = z.object({ groups: z.array(GroupSummarySchema) });

export const RevisionListSchema = z.object({ group: z.string(), revisions: z.array(RevisionViewSchema) });

/**
 * PUT /v1/groups/:name/settings: 201 with a new revision, or 200 `changed: false` with the latest.
 * `currentRevision` is the revision hosts follow: equal to `revision` only for a group's first
 * settings (sent at once); otherwise the new revision waits for `fleetdock rollout start`.
 */
export const SetSettingsResponseSchema = z.object({ revision: z.number(), changed: z.boolean(), currentRevision: z.number().nullable(), settings: SettingsSchema });

export const JoinTokenResponseSchema = z.object({ id: z.number().optional(), token: z.string(), group: z.string(), expiresAt: z.string(), uses: z.number() });

export const LastResultViewSchema = z.object({
  revision: z.number(),
  outcome: OutcomeSchema,
  action: ActionSchema,
  filesChanged: z.array(z.string()),
  verification: z.object({ ok: z.boolean(), detail: z.string() }).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  durationMs: z.number().nullable(),
  at: z.string(),
});

/** One host as the API shows it; `status` is decided by host-status.ts. */
export const HostViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  group: z.string(),
  status: z.enum(HOST_STATUSES),
  connected: z.boolean(),
  lastSeenAt: z.string().nullable(),
  enrolledAt: z.string(),
  facts: HostFactsSchema.nullable(),
  /** What the host should have: its own desired revision while a rollout moves it, else its group's current one. */
  desiredRevision: z.number().nullable(),
  appliedRevision: z.number().nullable(),
  lastResult: LastResultViewSchema.nullable(),
  observed: ObservedStateSchema.nullable(),
  observedAt: z.string().nullable(),
  /** When an operator revoked the host (its credential no longer connects), or null. */
  revokedAt: z.string().nullable().optional(),
});

/** GET /v1/hosts: the hosts and the fleet summary of the same hosts (converged, drifted, behind, offline, failed). */
export const HostListSchema = z.object({ hosts: z.array(HostViewSchema), summary: FleetSummarySchema });

export type HostCounts = z.infer<typeof HostCountsSchema>;
export type RevisionView = z.infer<typeof RevisionViewSchema>;
export type GroupSummary = z.infer<typeof GroupSummarySchema>;
export type GroupDetail = z.infer<typeof GroupDetailSchema>;
export type HostView = z.infer<typeof HostViewSchema>;
export type SetSettingsResponse = z.infer<typeof SetSettingsResponseSchema>;
export type JoinTokenResponse = z.infer<typeof JoinTokenResponseSchema>;
