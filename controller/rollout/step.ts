/**
 * Pure: the rollout state machine. Given a rollout's state, its hosts (their rollout state, whether
 * they are connected, their last apply result) and the time, says what happens next: which hosts have
 * a result (succeeded / failed), which timed out, which are offline, which to start, and whether the
 * rollout halts, completes or has finished rolling back. The engine runs it on every tick and when a
 * batch may move, and writes what it says in one transaction; while results stream in it takes the
 * cheap step of stepResults (only the hosts that reported). No I/O, no clock of its own.
 *
 * Rollout states:  running ⇄ paused;  running|paused → halted (budget spent, onHalt stop)
 *                  running|paused → rolling-back → rolled-back (budget spent, onHalt rollback)
 *                  running → completed;  running|paused|rolling-back → aborted (operator)
 * Host states:     pending → applying → succeeded | failed;  pending → offline (its batch came while
 *                  it was offline; with `wait`, offline → applying when it is back);
 *                  pending|offline → skipped (the rollout ended first);  applying|succeeded → rolled-back.
 */
import type { Action, Outcome } from '../../protocol/messages.js';
import { isFailureBudgetSpent } from './strategy.js';

export const ROLLOUT_STATES = ['running', 'paused', 'halted', 'aborted', 'completed', 'rolling-back', 'rolled-back'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** States in which a rollout still moves hosts; a group has at most one rollout in them. */
export const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = ['running', 'paused', 'rolling-back'];

export const HOST_ROLLOUT_STATES = ['pending', 'applying', 'succeeded', 'failed', 'offline', 'skipped', 'rolled-back'] as const;
export type HostRolloutState = (typeof HOST_ROLLOUT_STATES)[number];

/** Error code given to a host that sent no result in time. */
export const RESULT_TIMEOUT = 'RESULT_TIMEOUT';

/** The last apply result a host sent (for any revision). */
export interface StepResultReport {
  revision: number;
  outcome: Outcome;
  action: Action;
  /** When the controller received it, ISO 8601. */
  at: string;
  error: { code: string; message: string } | null;
}

/** One host of the rollout. */
export interface StepHost {
  id: string;
  name: string;
  batch: number;
  position: number;
  state: HostRolloutState;
  /** Set back to the group's current revision by a halt with onHalt=rollback. */
  reverted: boolean;
  connected: boolean;
  /** When it was started (desired revision moved to the target), ISO 8601. */
  startedAt: string | null;
  lastResult: StepResultReport | null;
}

/** The strategy, resolved to numbers for this rollout. */
export interface StepLimits {
  maxConcurrent: number;
  /** Failures tolerated; one more halts. */
  allowedFailures: number;
  offline: 'wait' | 'skip';
  onHalt: 'stop' | 'rollback';
  resultTimeoutMs: number;
}

export interface StepInput {
  state: RolloutState;
  fromRevision: number;
  toRevision: number;
  limits: StepLimits;
  hosts: readonly StepHost[];
  /** When the budget was spent (rolling-back waits for confirmations from then). */
  haltedAt: string | null;
  now: Date;
  /**
   * Deadlines count from this time at the earliest: the controller's start. Time the controller was
   * down (killed, restarting) is not held against a host.
   */
  clockFloor: Date;
  /**
   * True shortly after the controller started, while agents are still reconnecting: a host that is
   * not connected is then waited for, never marked offline (nor counted as gone when rolling back).
   */
  holdOffline: boolean;
}

/** What changes for one host. Only the fields given change. */
export interface HostChange {
  id: string;
  state?: HostRolloutState;
  outcome?: Outcome | null;
  action?: Action | null;
  error?: { code: string; message: string } | null;
  /** Start it: desired revision = target, started now. */
  start?: true;
  /** Set it back to the group's current revision. */
  revert?: true;
  /** It reached a final state now. */
  finish?: true;
}

export interface StepOutput {
  /** Host changes, in the order they were decided (starts in start order). */
  changes: HostChange[];
  state: RolloutState;
  /** Why the state changed; null when it did not. */
  reason: string | null;
  /** The batch being worked on (the first one not finished). */
  currentBatch: number;
}

/** States a rollout never leaves. */
export const TERMINAL_ROLLOUT_STATES: readonly RolloutState[] = ['halted', 'aborted', 'completed', 'rolled-back'];
const TERMINAL = TERMINAL_ROLLOUT_STATES;

/** Whether a host has nothing more to do in this rollout. `offline` is final only with offline=skip. */
export function isFinalHostState(state: HostRolloutState, offline: 'wait' | 'skip'): boolean {
  if (state === 'offline') return offline === 'skip';
  return state !== 'pending' && state !== 'applying';
}

/**
 * What a host's last result means for it, if it is applying and the result is for the target revision
 * and arrived after it was started: succeeded (applied, unchanged) or failed. Null otherwise.
 */
export function resultChange(host: StepHost, toRevision: number): HostChange | null {
  const r = host.lastResult;
  if (host.state !== 'applying' || host.startedAt === null || !r || r.revision !== toRevision || r.at < host.startedAt) return null;
  const ok = r.outcome === 'applied' || r.outcome === 'unchanged';
  return { id: host.id, state: ok ? 'succeeded' : 'failed', outcome: r.outcome, action: r.action, error: r.error, finish: true };
}

/** What stepResults needs: the hosts whose result arrived since the last step, and counters of the current batch. */
export interface ResultsStepInput {
  state: RolloutState;
  toRevision: number;
  /** The first batch not finished, as the last step said. */
  currentBatch: number;
  /** Hosts whose apply result arrived since the last step (any state; only applying ones can change). */
  hosts: readonly StepHost[];
  /** Hosts of the current batch that are applying, and that are pending or offline (not started). */
  currentBatchCounts: { applying: number; notStarted: number };
}

/**
 * The cheap step taken while results stream in: proportional to the new results, not to the rollout.
 * Returns the same output stepRollout would, or null when only a full step can tell (a result failed
 * and the budget must be checked; the current batch finishes, or has hosts waiting to start that a
 * freed slot would let in; the rollout is not running or paused). Timeouts are the ticker's full steps.
 */
export function stepResults(input: ResultsStepInput): StepOutput | null {
  if (input.state !== 'running' && input.state !== 'paused') return null;
  if (input.currentBatchCounts.notStarted > 0) return null;
  const changes: HostChange[] = [];
  for (const host of input.hosts) {
    const c = resultChange(host, input.toRevision);
    if (!c) continue;
    if (c.state !== 'succeeded' || host.batch !== input.currentBatch) return null;
    changes.push(c);
  }
  if (input.currentBatchCounts.applying - changes.length <= 0) return null; // the batch is done: the full step moves on
  return { changes, state: input.state, reason: null, currentBatch: input.currentBatch };
}

/**
 * Decides the rollout's next step. See the module comment for the states. `hosts` must be in batch
 * order, and in start order inside a batch (as the store reads them). Linear in the number of hosts,
 * and it copies none of them: it runs after every few results of a rollout of thousands.
 */
export function stepRollout(input: StepInput): StepOutput {
  const { limits, now, toRevision, fromRevision, hosts } = input;
  const nowMs = now.getTime();
  const changes = new Map<string, HostChange>();
  const change = (host: StepHost, patch: Omit<HostChange, 'id'>) => {
    const previous = changes.get(host.id);
    changes.set(host.id, previous ? { ...previous, ...patch } : { id: host.id, ...patch });
  };
  const stateOf = (host: StepHost): HostRolloutState => changes.get(host.id)?.state ?? host.state;
  const result = (state: RolloutState, reason: string | null, currentBatch: number): StepOutput => ({ changes: [...changes.values()], state, reason, currentBatch });
  const firstOpenBatch = () => {
    for (const h of hosts) if (!isFinalHostState(stateOf(h), limits.offline)) return h.batch;
    return -1;
  };
  /**
   * Whether a wait that began at `since` (ISO) is over. ISO times compare as text; a wait never counts
   * from before the controller's start.
   */
  const cutoff = nowMs - limits.resultTimeoutMs < input.clockFloor.getTime() ? null : new Date(nowMs - limits.resultTimeoutMs).toISOString();
  const waitedOut = (since: string) => cutoff !== null && since <= cutoff;

  // 1. Hosts waiting for their result: in every state, so a halted or aborted rollout still records them.
  for (const host of hosts) {
    if (host.state !== 'applying' || host.startedAt === null) continue;
    const verdict = resultChange(host, toRevision);
    if (verdict) {
      changes.set(host.id, verdict);
    } else if (waitedOut(host.startedAt)) {
      const seconds = Math.round(limits.resultTimeoutMs / 1000);
      change(host, { state: 'failed', error: { code: RESULT_TIMEOUT, message: `no verified result for revision ${toRevision} within ${seconds} s` }, finish: true });
    }
  }

  if (TERMINAL.includes(input.state)) return result(input.state, null, Math.max(0, firstOpenBatch()));

  // 2. Rolling back: done once every reverted host reported the old revision, went away, or timed out.
  if (input.state === 'rolling-back') {
    const since = input.haltedAt ?? now.toISOString();
    const waiting = hosts.some((h) => {
      if (!h.reverted) return false;
      if (!h.connected) return input.holdOffline;
      const r = h.lastResult;
      if (r && r.revision === fromRevision && r.at >= since) return false;
      return !waitedOut(since);
    });
    const batchNow = Math.max(0, firstOpenBatch());
    if (waiting) return result('rolling-back', null, batchNow);
    return result('rolled-back', `every host changed by the rollout is back on revision ${fromRevision}`, batchNow);
  }

  // 3. The failure budget, running or paused.
  const failed = hosts.filter((h) => stateOf(h) === 'failed');
  if (isFailureBudgetSpent(failed.length, limits.allowedFailures)) {
    const batchNow = Math.max(0, firstOpenBatch());
    const names = failed.slice(0, 3).map((h) => h.name).join(', ') + (failed.length > 3 ? ` and ${failed.length - 3} more` : '');
    let reason = `${failed.length} host${failed.length === 1 ? '' : 's'} failed (${names}); the failure budget allows ${limits.allowedFailures}`;
    for (const host of hosts) {
      const state = stateOf(host);
      if (state === 'pending' || state === 'offline') change(host, { state: 'skipped', finish: true });
    }
    if (limits.onHalt === 'stop') return result('halted', `${reason}: halted, hosts already changed keep revision ${toRevision}`, batchNow);
    let reverted = 0;
    for (const host of hosts) {
      const state = stateOf(host);
      if (state === 'applying' || state === 'succeeded') {
        change(host, { state: 'rolled-back', revert: true, finish: true });
        reverted++;
      } else if (state === 'failed') {
        change(host, { revert: true });
        reverted++;
      }
    }
    reason = `${reason}: rolling ${reverted} host${reverted === 1 ? '' : 's'} back to revision ${fromRevision}`;
    return result('rolling-back', reason, batchNow);
  }

  if (input.state === 'paused') return result('paused', null, Math.max(0, firstOpenBatch()));

  // 4. Running: work on the first batch that is not finished; the next starts only when it is.
  let capacity = limits.maxConcurrent;
  for (const host of hosts) if (stateOf(host) === 'applying') capacity--;
  let lastBatch = 0;
  for (let begin = 0; begin < hosts.length; ) {
    const batch = hosts[begin]!.batch;
    let end = begin;
    while (end < hosts.length && hosts[end]!.batch === batch) end++;
    const members = hosts.slice(begin, end);
    begin = end;
    lastBatch = batch;
    if (members.every((h) => isFinalHostState(stateOf(h), limits.offline))) continue;
    for (const host of members) {
      if (stateOf(host) === 'pending' && !host.connected && !input.holdOffline) change(host, { state: 'offline', ...(limits.offline === 'skip' ? { finish: true as const } : {}) });
    }
    if (members.every((h) => isFinalHostState(stateOf(h), limits.offline))) continue; // all offline, skipped: next batch
    for (const host of members) {
      if (capacity <= 0) break;
      const state = stateOf(host);
      if (host.connected && (state === 'pending' || state === 'offline')) {
        change(host, { state: 'applying', start: true, outcome: null, action: null, error: null });
        capacity--;
      }
    }
    return result('running', null, batch);
  }
  const count = (s: HostRolloutState) => hosts.filter((h) => stateOf(h) === s).length;
  const parts = [`${count('succeeded')} succeeded`, ...(count('failed') ? [`${count('failed')} failed`] : []), ...(count('offline') ? [`${count('offline')} offline`] : [])];
  return result('completed', `every batch is done: ${parts.join(', ')}`, lastBatch);
}
