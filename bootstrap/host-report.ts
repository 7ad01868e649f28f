/**
 * What bootstrap and uninstall say about each host: the steps (with stable codes, shown to people as
 * `host key`, `connect`, `auth`, `check`, ...), the error that names the step it failed in, and the
 * per-host report both commands print and return as JSON. Pure types and helpers.
 */
import { SshStepError } from './ssh-session.js';

/** Each step's code (stable, in JSON) and how it is shown (`check: no dockerd on the host`). */
export const STEP_LABELS = Object.freeze({
  'host-key': 'host key',
  connect: 'connect',
  auth: 'auth',
  check: 'check',
  controller: 'controller',
  enrol: 'enrol',
  upload: 'upload',
  install: 'install',
  start: 'start',
  wait: 'wait',
  stop: 'stop',
  purge: 'purge',
  remove: 'remove',
});
export type HostStep = keyof typeof STEP_LABELS;

/** A host failed in `step`; `output` is what the command there printed, when it helps. */
export class HostStepError extends Error {
  readonly step: HostStep;
  readonly output: string | null;
  constructor(step: HostStep, message: string, output: string | null = null) {
    super(message);
    this.name = 'HostStepError';
    this.step = step;
    this.output = output;
  }
}

/** How a host ended. */
export type HostOutcome =
  /** bootstrap: enrolled now (a join token was minted). */
  | 'enrolled'
  /** bootstrap: agent active, state present, connected: nothing changed. */
  | 'already-enrolled'
  /** bootstrap: enrolled before, but a file or the service had to change (an agent upgrade, a stopped agent). */
  | 'updated'
  /** uninstall: the agent (and what was asked) removed. */
  | 'removed'
  /** uninstall: nothing of the agent was there. */
  | 'not-installed'
  | 'failed';

/** Outcomes that count as success for the exit code. */
export const SUCCESS_OUTCOMES: readonly HostOutcome[] = ['enrolled', 'already-enrolled', 'updated', 'removed', 'not-installed'];

/** One host's result. */
export interface HostReport {
  /** `user@host:port` as the inventory names it. */
  target: string;
  /** The host's name in the fleet, once known. */
  name: string | null;
  group: string | null;
  outcome: HostOutcome;
  /** The step it failed in (failed only). */
  step: HostStep | null;
  /** Why it failed (failed only). */
  error: string | null;
  /** What the failing command printed, trimmed (failed only, when there is any). */
  output: string | null;
  /** What changed on the host (paths, services), in order. */
  changes: string[];
  /** Worth knowing: live-restore, what was left alone, a restart still owed. */
  notes: string[];
  /** What the checks found, when they ran. */
  facts: { os: string; arch: string; user: string; sudo: boolean; dockerVersion: string | null; liveRestore: boolean | null } | null;
  durationMs: number;
}

/** `step: message`, as a report line shows a failure. */
export function describeFailure(report: Pick<HostReport, 'step' | 'error'>): string {
  return report.step ? `${STEP_LABELS[report.step]}: ${report.error ?? ''}` : (report.error ?? '');
}

/** Turns whatever a host job threw into step, message and output. */
export function failureOf(error: unknown, fallbackStep: HostStep): { step: HostStep; error: string; output: string | null } {
  if (error instanceof HostStepError) return { step: error.step, error: error.message, output: error.output };
  if (error instanceof SshStepError) return { step: error.step, error: error.message, output: null };
  return { step: fallbackStep, error: error instanceof Error ? error.message : String(error), output: null };
}

/** Marks `report` failed at the step `error` names (else `fallbackStep`), with its message and output. */
export function recordFailure(report: HostReport, error: unknown, fallbackStep: HostStep): void {
  const failure = failureOf(error, fallbackStep);
  report.outcome = 'failed';
  report.step = failure.step;
  report.error = failure.error;
  report.output = failure.output;
}

/** The last `lines` lines of a command's output, trimmed; null when empty. */
export function tailOf(text: string, lines = 20): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  return trimmed.split('\n').slice(-lines).join('\n');
}
