/**
 * The agent's memory of its last failed apply, and the decisions it drives. The controller re-sends a
 * host's desired revision after every hello (level-triggered); a re-send (`resend: true`) of the very
 * revision and settings whose last attempt here ended `rolled-back` or `failed` is answered with that
 * failure again, without touching the host: otherwise every reconnect would mean another restart and
 * rollback restart of dockerd. A `desired` without the mark (a rollout, a group's first revision, or
 * the re-send to a host a rollout waits for) is an explicit request and is applied as always; the
 * repeated answer is marked `repeated` and the controller records nothing for it.
 * Pure: no I/O and no clock; the record lives in the agent's state (state.ts), written by agent.ts.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { renderCanonicalJson } from '../../protocol/canonical-json.js';
import type { ApplyResult, Desired } from '../../protocol/messages.js';
import type { Settings } from '../../protocol/settings.js';

/** Longest error message the wire takes (protocol/messages.ts ErrorBodySchema). */
const MAX_ERROR_MESSAGE_CHARS = 4096;

/** The last attempt that did not end well, as kept in the agent's state. */
export const FailedAttemptSchema = z.object({
  /** The revision that was tried. */
  revision: z.number().int().positive(),
  /** sha256 hex of the canonical JSON of the settings tried (digestSettings). */
  settingsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  outcome: z.enum(['rolled-back', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }),
  /** When the attempt ended (ISO 8601). */
  at: z.string(),
});
export type FailedAttempt = z.infer<typeof FailedAttemptSchema>;

/** sha256 hex of the canonical JSON of `settings`: equal exactly when the settings say the same. */
export function digestSettings(settings: Settings): string {
  return createHash('sha256').update(renderCanonicalJson(settings)).digest('hex');
}

/** What to do with a `desired` message: apply it, or answer with the remembered failure. */
export type DesiredPlan = { kind: 'apply' } | { kind: 'repeat'; failure: FailedAttempt; result: ApplyResult };

/**
 * Decides whether `desired` is applied or answered with `lastFailure` again: the latter only for a
 * re-send after a hello whose revision and settings are those of the failed attempt. `group` names the
 * host's group in the answer (what to run to try again).
 */
export function planDesired(desired: Desired, lastFailure: FailedAttempt | null, group: string): DesiredPlan {
  if (desired.resend !== true || lastFailure === null) return { kind: 'apply' };
  if (desired.revision !== lastFailure.revision || digestSettings(desired.settings) !== lastFailure.settingsSha256) return { kind: 'apply' };
  return { kind: 'repeat', failure: lastFailure, result: renderRepeatedResult(lastFailure, group) };
}

/**
 * The `desired` to keep waiting when `incoming` arrives while `waiting` (not yet started) waits: always
 * the newer one, but a re-send does not turn an explicit request for the same revision and settings
 * (a rollout's, sent just before the connection dropped) into a mere re-send.
 */
export function mergePending(waiting: Desired | null, incoming: Desired): Desired {
  if (!waiting || waiting.resend === true || incoming.resend !== true) return incoming;
  if (waiting.revision !== incoming.revision || digestSettings(waiting.settings) !== digestSettings(incoming.settings)) return incoming;
  const { resend: _resend, ...explicit } = incoming;
  return explicit;
}

/** The apply-result that repeats `failure`: same outcome and error code, nothing done, and why. */
export function renderRepeatedResult(failure: FailedAttempt, group: string): ApplyResult {
  const why =
    `not tried again: revision ${failure.revision} with these settings ended ${failure.outcome} on this host at ${failure.at}, ` +
    `and the controller only re-sent it after a reconnect; nothing was written and dockerd was not touched. ` +
    `A new revision or 'fleetdock rollout start ${group}' tries it again. That attempt: `;
  const message = `${why}${failure.error.message}`;
  return {
    type: 'apply-result',
    revision: failure.revision,
    outcome: failure.outcome,
    action: 'none',
    filesChanged: [],
    verification: null,
    error: { code: failure.error.code, message: message.length > MAX_ERROR_MESSAGE_CHARS ? `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…` : message },
    durationMs: 0,
    repeated: true,
  };
}

/**
 * The failed attempt to remember after applying `desired` with `result` at `at`: this one when it
 * failed after touching the host (files written, or dockerd reloaded or restarted: what a repeat would
 * cost again); none when an apply succeeded (`applied` or `unchanged`, of any revision) or failed
 * before touching anything (dockerd unreachable, a flag conflict, a broken daemon.json: cheap to try
 * again, and the host converges on a reconnect once the cause is fixed).
 */
export function rememberAttempt(desired: Desired, result: ApplyResult, at: Date): FailedAttempt | null {
  if (result.outcome === 'applied' || result.outcome === 'unchanged') return null;
  if (result.action === 'none' && result.filesChanged.length === 0) return null;
  return {
    revision: desired.revision,
    settingsSha256: digestSettings(desired.settings),
    outcome: result.outcome,
    error: result.error ?? { code: 'INTERNAL', message: `the apply ended ${result.outcome} without an error` },
    at: at.toISOString(),
  };
}
