/**
 * The steps of `fleetdock bootstrap` for one host: log in, check the host, ask the controller about
 * it, plan, mint a join token only when the host has not enrolled, upload the agent, write agent.env
 * and the unit, let systemd start it, and wait until the controller shows the host connected and
 * converged. Reports the outcome or the exact step that failed; throws nothing. Decisions are made by
 * host-facts.ts and install-plan.ts; this file only sequences them and acts.
 */
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectHost, type SshAccess } from './connect-host.js';
import type { ControllerHost, ControllerPort } from './controller-port.js';
import { interpretRootProbe, ROOT_PROBE_SCRIPT, type LoginFacts, type RootFacts } from './host-facts.js';
import { HostStepError, recordFailure, tailOf, type HostReport, type HostStep } from './host-report.js';
import { AGENT_PATHS, planInstall, renderAgentEnv, type ControllerHostState } from './install-plan.js';
import type { HostTarget } from './inventory.js';
import { AGENT_JOURNAL_SCRIPT, AGENT_PID_SCRIPT, SYSTEMD_AGENT_SCRIPT, UPLOAD_BINARY_SCRIPT, WRITE_FILE_SCRIPT } from './remote-scripts.js';
import type { SshSession } from './ssh-session.js';

/** The agent executable to install. */
export interface AgentBinary {
  path: string;
  sha256: string;
  size: number;
  /** As `uname -m` spells it; null when it cannot be told (then not checked). */
  arch: string | null;
}

/** What every host of one bootstrap run shares. */
export interface BootstrapContext {
  ssh: SshAccess;
  controller: ControllerPort;
  agent: AgentBinary;
  /** The unit file's text (deploy/fleetdock-agent.service, verbatim). */
  unitText: string;
  /** The controller URL written into agent.env. */
  agentControllerUrl: string;
  /** How long a join token minted here is valid, seconds. */
  tokenTtlSeconds: number;
  /** How long to wait for the host to be connected and converged, milliseconds. */
  waitTimeoutMs: number;
  /** Claims a fleet name for this run; returns the target that has it already, or null. */
  claimName(name: string, target: string): string | null;
}

/** Called as a host moves through its steps (`detail`: e.g. upload progress). */
export type StepListener = (step: HostStep, detail?: string) => void;

const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Bootstraps one host; never throws. */
export async function bootstrapHost(target: HostTarget, ctx: BootstrapContext, onStep: StepListener = () => undefined): Promise<HostReport> {
  const started = Date.now();
  const report: HostReport = { target: target.label, name: target.name, group: target.group, outcome: 'failed', step: null, error: null, output: null, changes: [], notes: [], facts: null, durationMs: 0 };
  let step: HostStep = 'connect';
  const enter = (next: HostStep, detail?: string) => {
    step = next;
    onStep(next, detail);
  };
  let session: SshSession | null = null;
  /** The join token minted for this host, until it is known spent (revoked if the bootstrap fails). */
  let mintedTokenId: number | null = null;
  try {
    enter('connect');
    const connected = await connectHost(target, ctx.ssh, ctx.agent.arch);
    session = connected.session;
    enter('check');
    const login = connected.login;
    if (login.problems.length > 0) throw new HostStepError('check', login.problems.join('; '));
    const probe = await session.run(ROOT_PROBE_SCRIPT, { asRoot: true, timeoutMs: 60_000 });
    if (probe.code !== 0) throw new HostStepError('check', `the check as root failed (exit ${probe.code})`, tailOf(probe.stderr));
    const root = interpretRootProbe(probe.stdout);
    report.facts = factsOf(login.facts, root.facts);
    report.notes.push(...root.notes);
    if (root.problems.length > 0) throw new HostStepError('check', root.problems.join('; '));
    const name = target.name ?? login.facts.nodename;
    if (!HOST_NAME_RE.test(name)) throw new HostStepError('check', `the host calls itself ${JSON.stringify(name)}, which is not a valid fleet name: give it a name in the inventory (name:)`);
    report.name = name;
    const holder = ctx.claimName(name, target.label);
    if (holder !== null) throw new HostStepError('check', `the name ${name} is also the name of ${holder} in this run: give each its own name in the inventory (name:)`);

    enter('controller');
    const known = await ctx.controller.findHost(name).catch((error: unknown) => {
      throw new HostStepError('controller', (error as Error).message);
    });
    const plan = planInstall({
      installed: root.facts.agent,
      binarySha256: ctx.agent.sha256,
      unitText: ctx.unitText,
      controller: ctx.agentControllerUrl,
      name,
      group: target.group,
      host: hostState(known),
    });
    if (plan.kind === 'refuse') throw new HostStepError('enrol', plan.reason);

    let joinToken: string | null = null;
    if (plan.mintToken) {
      enter('enrol');
      const minted = await ctx.controller.createJoinToken(target.group, ctx.tokenTtlSeconds).catch((error: unknown) => {
        throw new HostStepError('enrol', `cannot mint a join token for group ${target.group}: ${(error as Error).message}`);
      });
      joinToken = minted.token;
      mintedTokenId = minted.id;
    }

    if (plan.writeBinary) {
      enter('upload', '0%');
      await uploadAgent(session, ctx.agent, (percent) => onStep('upload', `${percent}%`));
      report.changes.push(AGENT_PATHS.binary);
    }
    if (plan.writeEnv || plan.writeUnit) enter('install');
    if (plan.writeEnv) {
      await writeRootFile(session, AGENT_PATHS.env, '0600', renderAgentEnv({ controller: ctx.agentControllerUrl, joinToken, name }));
      report.changes.push(AGENT_PATHS.env);
    }
    if (plan.writeUnit) {
      await writeRootFile(session, AGENT_PATHS.unit, '0644', ctx.unitText);
      report.changes.push(AGENT_PATHS.unit);
    }
    let startedPid: number | null = null;
    if (plan.daemonReload || plan.enable || plan.service !== 'none') {
      enter('start');
      const r = await session.run(SYSTEMD_AGENT_SCRIPT, { asRoot: true, args: [plan.daemonReload ? '1' : '0', plan.enable ? '1' : '0', plan.service], timeoutMs: 90_000 });
      if (r.code !== 0) throw new HostStepError('start', `systemctl failed (exit ${r.code})`, tailOf(`${r.stderr}\n${await journalOf(session)}`));
      if (plan.enable) report.changes.push('enabled fleetdock-agent');
      if (plan.service !== 'none') {
        report.changes.push(`${plan.service === 'start' ? 'started' : 'restarted'} fleetdock-agent`);
        startedPid = parseMainPid(r.stdout);
      }
    }

    const changedNothing = report.changes.length === 0;
    if (changedNothing && known?.connected) {
      report.outcome = 'already-enrolled';
      if (known.status !== 'converged') report.notes.push(`the controller shows it ${known.status}${known.lastError ? ` (${known.lastError})` : ''}`);
    } else {
      enter('wait');
      await waitUntilConverged(session, ctx, name, changedNothing, startedPid);
      report.outcome = plan.mintToken ? 'enrolled' : changedNothing ? 'already-enrolled' : 'updated';
      mintedTokenId = null; // converged: the token is spent
      if (joinToken !== null) {
        // Enrolled: the token is spent and the agent holds its credential; it leaves agent.env.
        await writeRootFile(session, AGENT_PATHS.env, '0600', renderAgentEnv({ controller: ctx.agentControllerUrl, joinToken: null, name }));
      }
    }
  } catch (error) {
    recordFailure(report, error, step);
    if (mintedTokenId !== null) {
      // A token minted for this host must not outlive the failure (it may sit in agent.env on the
      // host): revoked, it enrols nothing; the next bootstrap mints another. A host that did enrol
      // before the failure keeps its own credential.
      await ctx.controller.revokeJoinToken(mintedTokenId).then(
        () => report.notes.push(`the join token minted for it (id ${mintedTokenId}) was revoked`),
        (revokeError: unknown) => report.notes.push(`the join token minted for it (id ${mintedTokenId}) could not be revoked: ${(revokeError as Error).message}; revoke it with \`fleetdock token revoke ${mintedTokenId}\``),
      );
    }
  } finally {
    session?.close();
    report.durationMs = Date.now() - started;
  }
  return report;
}

function hostState(host: ControllerHost | null): ControllerHostState {
  return host === null ? { exists: false } : { exists: true, group: host.group, connected: host.connected, revoked: host.revoked, status: host.status };
}

function factsOf(login: LoginFacts, root: RootFacts): NonNullable<HostReport['facts']> {
  return { os: login.os, arch: login.arch, user: login.user, sudo: login.needsSudo, dockerVersion: root.dockerVersion, liveRestore: root.liveRestore };
}

/** Streams the agent binary to the host (checked against its sha256 there, then renamed into place). */
async function uploadAgent(session: SshSession, agent: AgentBinary, onProgress: (percent: number) => void): Promise<void> {
  let sent = 0;
  let shown = 0;
  // Counts what passes without starting the flow: the file only flows once the SSH channel pulls.
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      const percent = agent.size === 0 ? 100 : Math.floor((sent / agent.size) * 100);
      if (percent >= shown + 5) {
        shown = percent;
        onProgress(percent);
      }
      done(null, chunk);
    },
  });
  const file = createReadStream(agent.path);
  file.once('error', (error) => counter.destroy(error));
  const stream = file.pipe(counter);
  const r = await session.run(UPLOAD_BINARY_SCRIPT, { asRoot: true, args: [AGENT_PATHS.binary, agent.sha256], stdin: stream, timeoutMs: 600_000 }).catch((error: unknown) => {
    throw new HostStepError('upload', (error as Error).message);
  });
  if (r.code !== 0) throw new HostStepError('upload', `writing ${AGENT_PATHS.binary} failed (exit ${r.code})`, tailOf(r.stderr));
}

async function writeRootFile(session: SshSession, path: string, mode: string, text: string): Promise<void> {
  const r = await session.run(WRITE_FILE_SCRIPT, { asRoot: true, args: [path, mode], stdin: text, timeoutMs: 60_000 });
  if (r.code !== 0) throw new HostStepError('install', `writing ${path} failed (exit ${r.code})`, tailOf(r.stderr));
}

async function journalOf(session: SshSession): Promise<string> {
  try {
    const r = await session.run(AGENT_JOURNAL_SCRIPT, { asRoot: true, timeoutMs: 20_000 });
    return r.stdout;
  } catch (error) {
    return `(reading the journal failed: ${(error as Error).message})`;
  }
}

/** The agent's MainPID as SYSTEMD_AGENT_SCRIPT prints it last (`main_pid=N`), or null. */
function parseMainPid(stdout: string): number | null {
  const m = /main_pid=(\d+)\s*$/.exec(stdout);
  return m ? Number(m[1]) : null;
}

/** How long a just started agent must stay up (same pid) before bootstrap believes it runs. */
const SETTLE_MS = 1_000;

/**
 * Polls the controller until the host is connected and converged (only connected, when nothing
 * changed on it). When bootstrap (re)started the agent (`startedPid`), it must also have kept running
 * for SETTLE_MS with the same pid: a connection the old agent left behind, or a new agent that
 * crashes and restarts, does not count. A host whose desired revision fails fails here at once; on a
 * time-out the agent's journal says why.
 */
async function waitUntilConverged(session: SshSession, ctx: BootstrapContext, name: string, connectedIsEnough: boolean, startedPid: number | null): Promise<void> {
  const started = Date.now();
  const deadline = started + ctx.waitTimeoutMs;
  let last: ControllerHost | null = null;
  let pidNote = '';
  for (;;) {
    try {
      last = await ctx.controller.findHost(name);
    } catch {
      // the controller blinked; keep waiting until the deadline
    }
    if (last?.connected) {
      if (last.status === 'failed') {
        throw new HostStepError('wait', `the agent connected, but applying revision ${last.desiredRevision} failed: ${last.lastError ?? 'no error reported'}`);
      }
      if ((connectedIsEnough || last.status === 'converged') && Date.now() - started >= (startedPid === null ? 0 : SETTLE_MS)) {
        if (startedPid === null) return;
        const now = await session.run(AGENT_PID_SCRIPT, { asRoot: true, timeoutMs: 20_000 }).catch(() => null);
        const pid = now === null ? null : parseMainPid(now.stdout);
        if (pid === startedPid) return;
        pidNote = `; the agent's pid went from ${startedPid} to ${pid ?? 'unknown'}: it restarts`;
        startedPid = pid;
      }
    }
    if (Date.now() > deadline) {
      const where = last === null ? 'the controller has no host of that name yet' : last.connected ? `the controller shows it ${last.status}` : 'it is not connected';
      throw new HostStepError('wait', `the host did not show up connected and converged within ${ctx.waitTimeoutMs / 1000} s (${where}${pidNote})`, tailOf(await journalOf(session)));
    }
    await sleep(500);
  }
}
