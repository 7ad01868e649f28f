/**
 * Wire shapes of the drift history route (GET /v1/drift/history), as zod schemas: the query string the
 * controller parses at the edge and the answer the CLI parses when it comes back. Every value in it
 * was redacted before it was stored (no proxy password ever).
 */
import { z } from 'zod';
import { DRIFT_FIELDS, DRIFT_KINDS } from '../drift/classify.js';
import { DRIFT_HISTORY_MAX_LIMIT } from '../store/drift-history.js';

const isoTime = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time, e.g. 2026-11-28T10:00:00Z');

/** GET /v1/drift/history?group=&host=&since=&limit= */
export const DriftHistoryQuerySchema = z.strictObject({
  group: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  /** Periods that lasted until this time or later: ended at or after it, or still open. */
  since: isoTime.transform((s) => new Date(s).toISOString()).optional(),
  /** At most this many periods (the ones that began last), 1..1000, default 100. */
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(DRIFT_HISTORY_MAX_LIMIT))
    .optional(),
});

/** One drift period, ended or open. */
export const DriftPeriodViewSchema = z.object({
  host: z.string(),
  group: z.string(),
  field: z.enum(DRIFT_FIELDS),
  kind: z.enum(DRIFT_KINDS),
  /** When it began, ISO 8601. */
  beganAt: z.string(),
  /** When it ended, ISO 8601; null while it is still open. */
  endedAt: z.string().nullable(),
  /** How long it lasted, or has lasted so far when open, in milliseconds. */
  durationMs: z.number(),
  /** The last sentence the controller wrote for it. */
  detail: z.string(),
  desiredRevision: z.number().nullable(),
  appliedRevision: z.number().nullable(),
});

/** GET /v1/drift/history: the periods that began last, oldest first; `truncated` when earlier ones matched too. */
export const DriftHistorySchema = z.object({ periods: z.array(DriftPeriodViewSchema), truncated: z.boolean() });

export type DriftPeriodView = z.infer<typeof DriftPeriodViewSchema>;
export type DriftHistory = z.infer<typeof DriftHistorySchema>;
