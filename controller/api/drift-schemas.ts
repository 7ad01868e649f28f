/**
 * Wire shapes of the drift and audit-log routes, as zod schemas: query strings and bodies the
 * controller parses at the edge, and responses the CLI parses when they come back. Every value in a
 * response is redacted (no proxy password ever).
 */
import { z } from 'zod';
import { DRIFT_FIELDS, DRIFT_KINDS } from '../drift/classify.js';
import { DRIFT_POLICIES } from '../store/drift.js';
import { AUDIT_MAX_LIMIT } from '../store/audit.js';

// ---- requests ----

/** GET /v1/drift?group=&host= */
export const DriftQuerySchema = z.strictObject({ group: z.string().min(1).optional(), host: z.string().min(1).optional() });

/** PUT /v1/groups/:name/drift-policy */
export const SetDriftPolicyRequestSchema = z.strictObject({
  /** `audit` reports drift; `enforce` also re-sends the desired revision to tampered hosts. */
  policy: z.enum(DRIFT_POLICIES),
});

const isoTime = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time, e.g. 2026-11-28T10:00:00Z');

/** GET /v1/log?host=&group=&since=&limit= */
export const LogQuerySchema = z.strictObject({
  host: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
  /** Entries at or after this time. */
  since: isoTime.transform((s) => new Date(s).toISOString()).optional(),
  /** At most this many (the newest), 1..1000, default 100. */
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(AUDIT_MAX_LIMIT))
    .optional(),
});

// ---- responses ----

export const FleetSummarySchema = z.object({
  total: z.number(),
  converged: z.number(),
  drifted: z.number(),
  behind: z.number(),
  offline: z.number(),
  failed: z.number(),
});

/** One open drift period of a host. */
export const DriftViewSchema = z.object({
  field: z.enum(DRIFT_FIELDS),
  kind: z.enum(DRIFT_KINDS),
  /** When it began. */
  since: z.string(),
  /** What the desired revision says (redacted JSON). */
  expected: z.unknown(),
  /** What the host's file or daemon says (redacted JSON). */
  actual: z.unknown(),
  detail: z.string(),
});

/** A drifted host and its open drift periods. */
export const DriftHostViewSchema = z.object({
  name: z.string(),
  group: z.string(),
  connected: z.boolean(),
  desiredRevision: z.number().nullable(),
  appliedRevision: z.number().nullable(),
  drifts: z.array(DriftViewSchema),
});

/** GET /v1/drift: drifted hosts (hosts without drift are left out) and the fleet summary of the scope. */
export const DriftListSchema = z.object({ summary: FleetSummarySchema, hosts: z.array(DriftHostViewSchema) });

export const DriftPolicyResponseSchema = z.object({ group: z.string(), policy: z.enum(DRIFT_POLICIES), previous: z.enum(DRIFT_POLICIES), changed: z.boolean() });

export const AuditEntryViewSchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  group: z.string().nullable(),
  host: z.string().nullable(),
  fromRevision: z.number().nullable(),
  toRevision: z.number().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});

/** GET /v1/log: the newest matching entries, oldest first; `truncated` when older ones matched too. */
export const AuditLogSchema = z.object({ entries: z.array(AuditEntryViewSchema), truncated: z.boolean() });

export type FleetSummaryView = z.infer<typeof FleetSummarySchema>;
export type DriftHostView = z.infer<typeof DriftHostViewSchema>;
export type DriftList = z.infer<typeof DriftListSchema>;
export type AuditEntryView = z.infer<typeof AuditEntryViewSchema>;
