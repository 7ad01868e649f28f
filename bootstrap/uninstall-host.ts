/**
 * The steps of `fleetdock uninstall` for one host: log in, find what of the agent is there, stop and
 * disable it and remove its unit, binary, agent.env and state dir; with --purge-settings also what the
 * agent wrote for dockerd (planned by uninstall-plan.ts), and dockerd told; with --remove-host the
 * host's record on the controller. Reports the outcome or the step that failed; throws nothing.
 */
import { connectHost, type SshAccess } from './connect-host.js';
import type { ControllerPort } from './controller-port.js';
import { HOST_PATHS } from '../agent/paths.js';
import { HostStepError, recordFailure, tailOf, type HostReport, type HostStep } from './host-report.js';
import type { HostTarget } from './inventory.js';
import { AGENT_PATHS } from './install-plan.js';
import { DAEMON_RELOAD_SCRIPT, DOCKER_ACTION_SCRIPT, REMOVE_AGENT_SCRIPT, REMOVE_FILES_SCRIPT, REMOVE_STATE_SCRIPT, UNINSTALL_PROBE_SCRIPT, WRITE_FILE_SCRIPT } from './remote-scripts.js';
import type { SshSession } from './ssh-session.js';
import { agentFilesPresent, parseUninstallProbe, planPurge } from './uninstall-plan.js';
import type { StepListener } from './bootstrap-host.js';

/** What every host of one uninstall run shares. */
export interface UninstallContext {
  ssh: SshAccess;
  controller: ControllerPort;
  /** --purge-settings */
  purgeSettings: boolean;
  /** --restart-docker: a purge may restart dockerd even with live-restore off. */
  allowDockerRestart: boolean;
  /** --remove-host */
  removeHost: boolean;
}

/** Uninstalls the agent from one host; never throws. */
export async function uninstallHost(target: HostTarget, ctx: UninstallContext, onStep: StepListener = () => undefined): Promise<HostReport> {
  const started = Date.now();
  const report: HostReport = { target: target.label, name: target.name, group: null, outcome: 'failed', step: null, error: null, output: null, changes: [], notes: [], facts: null, durationMs: 0 };
  let step: HostStep = 'connect';
  const enter = (next: HostStep) => {
    step = next;
    onStep(next);
  };
  let session: SshSession | null = null;
  try {
    enter('connect');
    const connected = await connectHost(target, ctx.ssh, null);
    session = connected.session;
    enter('check');
    if (connected.login.facts.sudoProblem !== null) throw new HostStepError('check', connected.login.facts.sudoProblem);
    const probe = await session.run(UNINSTALL_PROBE_SCRIPT, { asRoot: true, timeoutMs: 60_000 });
    if (probe.code !== 0) throw new HostStepError('check', `the check as root failed (exit ${probe.code})`, tailOf(probe.stderr));
    const facts = parseUninstallProbe(probe.stdout);
    const name = target.name ?? facts.envName ?? connected.login.facts.nodename;
    report.name = name;

    const agentFiles = agentFilesPresent(facts);
    if (agentFiles.length > 0 || facts.agentLoaded) {
      enter('stop');
      const r = await session.run(REMOVE_AGENT_SCRIPT, { asRoot: true, timeoutMs: 90_000 });
      if (r.code !== 0) throw new HostStepError('stop', `removing the agent failed (exit ${r.code})`, tailOf(r.stderr));
      if (facts.agentActive) report.changes.push('stopped fleetdock-agent');
      report.changes.push(...agentFiles);
    }

    if (ctx.purgeSettings) {
      enter('purge');
      await purgeSettings(session, ctx, facts, report);
    }
    if (facts.present.includes(AGENT_PATHS.stateDir)) {
      // Last: a purge that failed finds the state again when uninstall is run once more.
      const r = await session.run(REMOVE_STATE_SCRIPT, { asRoot: true, timeoutMs: 60_000 });
      if (r.code !== 0) throw new HostStepError(ctx.purgeSettings ? 'purge' : 'stop', `removing ${AGENT_PATHS.stateDir} failed (exit ${r.code})`, tailOf(r.stderr));
    }

    // Only a name the host or the inventory gave: a guess from uname could name another fleet host.
    const nameIsKnown = target.name !== null || facts.envName !== null;
    if (ctx.removeHost && !nameIsKnown) {
      report.notes.push(`host not removed on the controller: this host has no agent.env saying its fleet name, and ${name} (its uname) could be another host; give it name: in the inventory, or run fleetdock host revoke/remove NAME`);
    } else if (ctx.removeHost) {
      enter('remove');
      const removed = await ctx.controller.removeHost(name).catch((error: unknown) => {
        throw new HostStepError('remove', `removing host ${name} on the controller failed: ${(error as Error).message}`);
      });
      if (removed) report.changes.push(`host ${name} removed on the controller`);
      else report.notes.push(`the controller has no host ${name}`);
    }
    report.outcome = report.changes.length === 0 ? 'not-installed' : 'removed';
  } catch (error) {
    recordFailure(report, error, step);
  } finally {
    session?.close();
    report.durationMs = Date.now() - started;
  }
  return report;
}

async function runOrFail(session: SshSession, script: string, args: string[], what: string, input?: string): Promise<void> {
  const r = await session.run(script, { asRoot: true, args, timeoutMs: 120_000, ...(input !== undefined ? { stdin: input } : {}) });
  if (r.code !== 0) throw new HostStepError('purge', `${what} failed (exit ${r.code})`, tailOf(r.stderr));
}

async function purgeSettings(session: SshSession, ctx: UninstallContext, facts: ReturnType<typeof parseUninstallProbe>, report: HostReport): Promise<void> {
  const plan = planPurge(facts, ctx.allowDockerRestart);
  if (plan.daemonJsonEmptied !== null) {
    await runOrFail(session, WRITE_FILE_SCRIPT, [HOST_PATHS.daemonJson, '0644'], `writing ${HOST_PATHS.daemonJson}`, plan.daemonJsonEmptied);
  }
  if (plan.removeFiles.length > 0) {
    await runOrFail(session, REMOVE_FILES_SCRIPT, plan.removeFiles, 'removing files');
    report.changes.push(...plan.removeFiles);
  }
  if (plan.reload) {
    await runOrFail(session, DOCKER_ACTION_SCRIPT, [plan.daemonReload ? '1' : '0', 'reload'], 'systemctl reload docker');
  }
  if (plan.daemonJsonFinal !== null) {
    await runOrFail(session, WRITE_FILE_SCRIPT, [HOST_PATHS.daemonJson, '0644'], `writing ${HOST_PATHS.daemonJson}`, plan.daemonJsonFinal);
    report.changes.push(`${HOST_PATHS.daemonJson}: removed ${plan.removedKeys.join(', ')}`);
  }
  if (plan.restart) {
    await runOrFail(session, DOCKER_ACTION_SCRIPT, [plan.daemonReload ? '1' : '0', 'restart'], 'systemctl restart docker');
    report.changes.push('restarted docker');
  } else if (plan.reload) {
    report.changes.push('reloaded docker');
  } else if (plan.daemonReload) {
    await runOrFail(session, DAEMON_RELOAD_SCRIPT, [], 'systemctl daemon-reload');
  }
  report.notes.push(...plan.notes);
}
