/**
 * The rollout API's wire shapes, as zod schemas: request bodies (strict) the controller parses at the
 * edge, and the views the CLI parses when they come back. Types are inferred from here.
 */
import { z } from 'zod';
import { ActionSchema, OutcomeSchema } from '../../protocol/messages.js';
import { SETTINGS_FIELDS } from '../rollout/plan-changes.js';
import { HOST_ROLLOUT_STATES, ROLLOUT_STATES } from '../rollout/step.js';
import { StrategySchema } from '../rollout/strategy.js';

const RevisionNumberSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

// ---- requests ----

/** POST /v1/groups/:name/rollouts */
export const StartRolloutRequestSchema = z.strictObject({
  /** Target revision; default: the group's latest. */
  toRevision: RevisionNumberSchema.optional(),
  /** Every field optional; defaults in controller/rollout/strategy.ts. */
  strategy: StrategySchema.optional(),
  /** Only plan: answer 200 `{ plan }` and change nothing. */
  dryRun: z.boolean().default(false),
});

/** POST /v1/groups/:name/rollouts/undo */
export const UndoRolloutRequestSchema = z.strictObject({
  /** Default: the revision the group came from (see RolloutEngine.undo). */
  toRevision: RevisionNumberSchema.optional(),
  strategy: StrategySchema.optional(),
});

/** GET /v1/groups/:name/rollouts?limit=N */
export const RolloutListQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^[1-9]\d{0,2}$/, 'limit must be a whole number from 1 to 100')
    .transform(Number)
    .refine((n) => n <= 100, 'limit must be a whole number from 1 to 100')
    .optional(),
});

// ---- responses ----

const ErrorViewSchema = z.object({ code: z.string(), message: z.string() });

/** One host in a rollout. */
export const RolloutHostViewSchema = z.object({
  name: z.string(),
  state: z.enum(HOST_ROLLOUT_STATES),
  /** Its result for the target revision, once it came. */
  outcome: OutcomeSchema.nullable(),
  action: ActionSchema.nullable(),
  error: ErrorViewSchema.nullable(),
  /** Set back to the group's current revision by a halt with onHalt=rollback. */
  reverted: z.boolean(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

export const RolloutBatchViewSchema = z.object({
  index: z.number(),
  /** Whether this batch is the canary. */
  canary: z.boolean(),
  /** Hosts in the batch (also when `hosts` is left out; absent from controllers before it existed). */
  size: z.number().optional(),
  /** The batch's hosts; empty when asked for without them (`?hosts=false`). */
  hosts: z.array(RolloutHostViewSchema),
});

/**
 * Query of GET /v1/rollouts/:id and of the POSTs that start a rollout: `hosts=false` leaves the
 * per-host entries out of the answer (a cheap poll, or start, of a rollout of thousands of hosts).
 */
export const RolloutViewQuerySchema = z.strictObject({
  hosts: z.enum(['true', 'false'], { message: 'hosts must be true or false' }).optional(),
});

export const RolloutCountsSchema = z.object({
  total: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  pending: z.number(),
  applying: z.number(),
  offline: z.number(),
  skipped: z.number(),
  rolledBack: z.number(),
});

/** GET /v1/rollouts/:id, and every answer that changes a rollout. */
export const RolloutViewSchema = z.object({
  id: z.number(),
  group: z.string(),
  kind: z.enum(['rollout', 'undo']),
  fromRevision: z.number(),
  toRevision: z.number(),
  strategy: StrategySchema,
  state: z.enum(ROLLOUT_STATES),
  /** Why it halted, completed, was paused or aborted. */
  reason: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** The batch being worked on (the first one not finished). */
  currentBatch: z.number(),
  /** Failed hosts the budget tolerates; one more halts. */
  allowedFailures: z.number(),
  batches: z.array(RolloutBatchViewSchema),
  counts: RolloutCountsSchema,
});

export const RolloutResponseSchema = z.object({ rollout: RolloutViewSchema });
export const RolloutListSchema = z.object({ group: z.string(), rollouts: z.array(RolloutViewSchema) });

/** One host in a dry run. */
export const PlannedHostSchema = z.object({
  host: z.string(),
  connected: z.boolean(),
  batch: z.number(),
  /** The revision the host has applied (null: none yet). */
  fromRevision: z.number().nullable(),
  toRevision: z.number(),
  changes: z.array(z.enum(SETTINGS_FIELDS)),
  action: ActionSchema,
  /** A restart without live-restore: running containers stop. */
  stopsContainers: z.boolean(),
  proxyPlacement: z.enum(['daemon-json', 'drop-in', 'none']),
  warning: z.string().nullable(),
});

/** POST /v1/groups/:name/rollouts with dryRun: true */
export const RolloutPlanResponseSchema = z.object({
  group: z.string(),
  fromRevision: z.number(),
  toRevision: z.number(),
  strategy: StrategySchema,
  allowedFailures: z.number(),
  batches: z.array(z.object({ index: z.number(), canary: z.boolean(), hosts: z.array(z.string()) })),
  plan: z.array(PlannedHostSchema),
});

export type RolloutView = z.infer<typeof RolloutViewSchema>;
export type RolloutHostView = z.infer<typeof RolloutHostViewSchema>;
export type RolloutCounts = z.infer<typeof RolloutCountsSchema>;
export type RolloutPlanResponse = z.infer<typeof RolloutPlanResponseSchema>;
export type PlannedHostView = z.infer<typeof PlannedHostSchema>;
