/**
 * Applies one desired revision to the host: plan, keep the previous files, write atomically, take the
 * least action on dockerd, verify through `GET /info`, and roll back on its own when the daemon does
 * not come back right. Returns the result to report and the agent's new state; never throws for a
 * host problem (those become `failed` / `rolled-back` results).
 */
import type { Logger } from 'pino';
import { FleetdockError } from '../protocol/errors.js';
import type { Action, ApplyResult, Desired } from '../protocol/messages.js';
import type { Settings } from '../protocol/settings.js';
import { planApply, type ApplyPlan, type FileChange, type HostSnapshot } from './plan/apply-plan.js';
import { diffDaemon, observeDaemonInfo, type ExpectedDaemon } from './plan/expected-daemon.js';
import { hostPathOf } from './paths.js';
import { backupPath, sha256OrNull, type AgentState } from './state.js';
import { putFile, writeFileAtomic } from './io/files.js';
import { readHostSnapshot, type HostContext } from './io/read-host.js';

export type ApplyDeps = {
  ctx: HostContext;
  stateDir: string;
  /** How long dockerd may take to report the new settings, in milliseconds. */
  verifyTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  log: Logger;
};

export type ApplyOutcome = { result: ApplyResult; state: AgentState };

function errorBody(error: unknown): { code: string; message: string } {
  if (error instanceof FleetdockError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** Polls dockerd until it reports `expected` or `timeoutMs` passes; returns the last differences. */
export async function waitForDaemon(deps: ApplyDeps, expected: ExpectedDaemon, timeoutMs: number): Promise<string[]> {
  const deadline = deps.now() + timeoutMs;
  let problems: string[] = ['dockerd was not checked'];
  for (;;) {
    problems = diffDaemon(expected, observeDaemonInfo(await deps.ctx.docker.info()));
    if (problems.length === 0 || deps.now() >= deadline) return problems;
    await deps.sleep(200);
  }
}

async function act(deps: ApplyDeps, action: Action, daemonReload: boolean): Promise<void> {
  if (action === 'reload') await deps.ctx.service.reload();
  else if (action === 'restart') await deps.ctx.service.restart({ daemonReload });
}

async function writeChanges(changes: readonly FileChange[], pick: (c: FileChange) => string | null): Promise<void> {
  for (const change of changes) await putFile(change.path, pick(change), { mode: change.mode, owner: change.owner, ...(change.dirMode ? { dirMode: change.dirMode } : {}) });
}

/** Restores the files and the daemon as they were before `plan`; returns what is still wrong. */
async function rollBack(deps: ApplyDeps, plan: ApplyPlan, before: HostSnapshot): Promise<string[]> {
  await writeChanges(plan.changes, (c) => c.before);
  const previous: ExpectedDaemon = { registryMirrors: before.daemon.registryMirrors, insecureRegistries: before.daemon.insecureRegistries, proxy: before.daemon.proxy };
  // When the daemon never took the new settings (a reload it ignored, an action that was refused),
  // the restored files are all it takes: acting again would only disturb it.
  if (diffDaemon(previous, observeDaemonInfo(await deps.ctx.docker.info())).length === 0) return [];
  try {
    await act(deps, plan.action, plan.daemonReload);
  } catch (error) {
    return [`restoring dockerd failed: ${errorBody(error).message}`];
  }
  return waitForDaemon(deps, previous, deps.verifyTimeoutMs);
}

/** Applies `desired` on the host; `state` is what the agent applied and owns so far. */
export async function applyDesired(deps: ApplyDeps, state: AgentState, desired: Desired): Promise<ApplyOutcome> {
  const started = deps.now();
  const settings: Settings = desired.settings;
  const result = (fields: Partial<ApplyResult> & Pick<ApplyResult, 'outcome'>): ApplyResult => ({
    type: 'apply-result',
    revision: desired.revision,
    action: 'none',
    filesChanged: [],
    verification: null,
    error: null,
    durationMs: deps.now() - started,
    ...fields,
  });
  const users = [...new Set([...(settings.clientProxy?.users ?? []), ...state.owned.clientUsers])];

  let snapshot: HostSnapshot;
  let plan: ApplyPlan;
  try {
    snapshot = await readHostSnapshot(deps.ctx, users);
    plan = planApply(settings, snapshot, state.owned);
  } catch (error) {
    deps.log.warn({ revision: desired.revision, err: errorBody(error) }, 'desired settings refused before anything was written');
    return { result: result({ outcome: 'failed', error: errorBody(error) }), state };
  }
  const filesChanged = plan.changes.map((c) => hostPathOf(deps.ctx.root, c.path));

  if (plan.changes.length === 0 && plan.action === 'none') {
    const problems = diffDaemon(plan.expected, snapshot.daemon);
    const next: AgentState = { ...state, appliedRevision: desired.revision, owned: plan.owned };
    return {
      result: result({ outcome: 'unchanged', verification: { ok: problems.length === 0, detail: problems.length ? problems.join('; ') : 'dockerd reports the desired settings' } }),
      state: next,
    };
  }

  // Keep the previous version of every file before replacing it.
  try {
    for (const change of plan.changes) {
      if (change.before !== null) await writeFileAtomic(backupPath(deps.stateDir, hostPathOf(deps.ctx.root, change.path)), change.before, { mode: 0o600, dirMode: 0o700 });
    }
    await writeChanges(plan.changes, (c) => c.after);
  } catch (error) {
    await writeChanges(plan.changes, (c) => c.before).catch(() => undefined);
    return { result: result({ outcome: 'failed', error: { code: 'WRITE_FAILED', message: `writing the settings failed and the files were restored: ${errorBody(error).message}` } }), state };
  }
  deps.log.info({ revision: desired.revision, action: plan.action, files: filesChanged, reason: plan.reason }, 'files written');

  let failure: { code: string; message: string } | null = null;
  try {
    await act(deps, plan.action, plan.daemonReload);
    const problems = await waitForDaemon(deps, plan.expected, deps.verifyTimeoutMs);
    if (problems.length > 0) {
      failure = { code: 'VERIFY_FAILED', message: `after the ${plan.action}, within ${Math.round(deps.verifyTimeoutMs / 1000)} s: ${problems.join('; ')}` };
    }
  } catch (error) {
    failure = errorBody(error);
  }

  if (!failure) {
    const written = { ...state.written };
    for (const change of plan.changes) written[hostPathOf(deps.ctx.root, change.path)] = sha256OrNull(change.after);
    return {
      result: result({ outcome: 'applied', action: plan.action, filesChanged, verification: { ok: true, detail: `dockerd reports the desired settings (${plan.reason})` } }),
      state: { ...state, appliedRevision: desired.revision, owned: plan.owned, written },
    };
  }

  deps.log.warn({ revision: desired.revision, err: failure }, 'apply failed; rolling back');
  const left = await rollBack(deps, plan, snapshot);
  if (left.length > 0) {
    return {
      result: result({ outcome: 'failed', action: plan.action, filesChanged, verification: { ok: false, detail: left.join('; ') }, error: { code: 'ROLLBACK_FAILED', message: `${failure.message}; the previous files were restored but dockerd is not back as it was: ${left.join('; ')}` } }),
      state,
    };
  }
  return {
    result: result({ outcome: 'rolled-back', action: plan.action, filesChanged, verification: { ok: false, detail: failure.message }, error: { code: failure.code, message: `${failure.message}; the previous settings were restored and dockerd runs on them` } }),
    state,
  };
}
