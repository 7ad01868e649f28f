/**
 * Parses a request body or query with a zod schema at the edge: the result is typed and trusted
 * inside; a failure is VALIDATION with a message naming each bad field (`registryMirrors[0]: ...`).
 */
import type { z } from 'zod';
import { FleetdockError } from '../../protocol/errors.js';
import { describeIssues } from '../../protocol/messages.js';

/** Parses `value` with `schema`; throws VALIDATION naming the fields that are wrong. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.output<S> {
  if (value === undefined) {
    throw new FleetdockError('VALIDATION', `${what} is missing: send a JSON object with Content-Type: application/json`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new FleetdockError('VALIDATION', describeIssues(result.error), {
      details: { issues: result.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String), message: i.message })) },
    });
  }
  return result.data;
}

/** Parses a path segment that must be a revision number (1, 2, ...); VALIDATION otherwise. */
export function parseRevisionNumber(text: string): number {
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new FleetdockError('VALIDATION', `revision ${JSON.stringify(text.slice(0, 40))} is not a revision number (1, 2, ...)`);
  }
  return Number(text);
}
