// A revision that failed on a host is not tried again when the agent merely reconnects: the real
// controller on loopback, the real agent, a real bare dockerd 26 in signal mode. Its restart command
// really restarts dockerd, but on a stale copy of daemon.json (a daemon that does not take the change),
// so a daemon proxy (a restart) is rolled back. Then the agent is restarted and the controller is
// restarted: each time the controller re-sends the revision after hello, and dockerd keeps its pid,
// daemon.json its content and mtime, and the controller records the failure again with action none.
// Once the host is fixed, a rollout does retry: one real restart, applied.
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle } from '../../agent/agent.js';
import type { AgentConfig } from '../../agent/config.js';
import { requireLab } from '../../lab/availability.js';
import { startBareDockerd, type BareDockerd } from '../../lab/dockerd.js';
import { findFreePort } from '../../lab/ports.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { bareAgentConfig } from '../support/bare-agent-config.js';
import { waitFor } from '../support/wait.js';

const lab = requireLab();
const silent = pino({ level: 'silent' });
/** What the agent logged (restarted agents too), parsed. */
const agentLines: { time: number; msg: string }[] = [];
const captured = pino({ level: 'info' }, { write: (line: string) => void agentLines.push(JSON.parse(line)) });
const notTriedAgain = () => agentLines.filter((l) => l.msg.startsWith('not tried again'));

const PROXY = { http: 'http://builder:s3cret@127.0.0.1:3128', noProxy: ['localhost'] };
/** restart.sh logs this line each time it starts dockerd: the count of real restarts. */
const RESTART_LINE = '--- restart.sh: starting dockerd again';

describe.skipIf(!lab)('a failed revision is not tried again on reconnect (dockerd 26, signal mode)', () => {
  let controller: TestController;
  let dockerd: BareDockerd;
  let dataDir: string;
  let stateDir: string;
  let port: number;
  let config: AgentConfig;
  let agent: AgentHandle | null = null;
  let revision: number;
  /** Exists once the host is "fixed": the restart command then starts dockerd on the real daemon.json. */
  let fixedFlag: string;

  const host = async () => (await controller.api('GET', '/v1/hosts/bs1')).body;
  const restarts = () => readFileSync(dockerd.logPath, 'utf8').split(RESTART_LINE).length - 1;
  const rolledBackEvents = async () => ((await controller.api('GET', '/v1/log?host=bs1&limit=1000')).body.entries as any[]).filter((e) => e.action === 'host.rolled-back');
  const fileState = (path: string) => ({ text: readFileSync(path, 'utf8'), mtimeMs: statSync(path).mtimeMs, ino: statSync(path).ino });
  /** Every file in the agent's state dir (backups included) with its content and mtime. */
  const stateDirState = () => {
    const walk = (dir: string): [string, unknown][] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [[join(dir, e.name), fileState(join(dir, e.name))] as [string, unknown]]));
    return Object.fromEntries(walk(stateDir));
  };
  const storedState = () => JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));

  /**
   * Waits until the reconnected agent answered the hello's re-send: its `not tried again` log line
   * (number `count + 1`), then the observed report it sends after every `desired` it handled, which
   * the controller records after that line.
   */
  const answeredAgain = async (count: number) => {
    const line = await waitFor('the agent saying it did not try again', async () => notTriedAgain()[count]);
    return waitFor('the observed report after the answer to the re-send', async () => {
      const body = await host();
      return body?.observedAt && Date.parse(body.observedAt) >= line.time ? body : undefined;
    });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdock-controller-'));
    port = await findFreePort();
    [controller, dockerd] = await Promise.all([
      startTestController({ dataDir, config: { listen: `127.0.0.1:${port}` } }),
      startBareDockerd({ version: '26', daemonJson: { 'log-level': 'warn' } }),
    ]);
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));

    // The restart command: the lab's restart.sh, but on a copy of daemon.json taken now, so dockerd
    // really restarts yet never sees what the agent writes; once `fixedFlag` exists, the real one.
    const stale = join(dockerd.root, 'stale-daemon.json');
    copyFileSync(dockerd.daemonJsonPath, stale);
    const script = readFileSync(dockerd.restartCommand, 'utf8');
    const quoted = `'${dockerd.daemonJsonPath}'`;
    expect(script.split(quoted)).toHaveLength(2);
    const staleRestart = join(dockerd.root, 'restart-stale.sh');
    writeFileSync(staleRestart, script.replace(quoted, `'${stale}'`));
    fixedFlag = join(dockerd.root, 'host-fixed');
    const restartCommand = join(dockerd.root, 'restart-switch.sh');
    writeFileSync(restartCommand, `#!/bin/sh\nif [ -e '${fixedFlag}' ]; then exec '${dockerd.restartCommand}'; fi\nexec '${staleRestart}'\n`);
    chmodSync(staleRestart, 0o755);
    chmodSync(restartCommand, 0o755);

    config = await bareAgentConfig(controller, dockerd, { group: 'builders', stateDir, name: 'bs1', verifyTimeoutSeconds: 3, restartCommand });
    agent = await startAgent(config, silent);
    await waitFor('bs1 connected', async () => ((await host())?.connected ? true : undefined));
  });
  afterAll(async () => {
    await agent?.stop();
    await Promise.all([controller?.stop(), dockerd?.stop()]);
    for (const dir of [stateDir, dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a daemon proxy dockerd does not take is rolled back after one restart, and the agent remembers it', async () => {
    const pid = dockerd.pid();
    const set = await controller.api('PUT', '/v1/groups/builders/settings', { daemonProxy: PROXY });
    expect(set.status).toBe(201);
    revision = set.body.revision;
    const h = await waitFor('the first attempt recorded', async () => {
      const body = await host();
      return body?.lastResult?.revision === revision ? body : undefined;
    });
    expect(h.lastResult).toMatchObject({ outcome: 'rolled-back', action: 'restart', filesChanged: ['/etc/docker/daemon.json'] });
    expect(h.lastResult.error.code).toBe('VERIFY_FAILED');
    expect(h.appliedRevision).toBeNull();
    expect(dockerd.pid()).not.toBe(pid);
    expect(restarts()).toBe(1);
    expect(dockerd.readDaemonJson().proxies).toBeUndefined();
    expect((await dockerd.info()).HttpProxy).toBe('');
    expect(storedState().lastFailure).toMatchObject({ revision, outcome: 'rolled-back', error: { code: 'VERIFY_FAILED' } });
    expect(JSON.stringify(storedState())).not.toContain('s3cret');
    expect(await rolledBackEvents()).toHaveLength(1);
  });

  it('a restarted agent is re-sent the revision and answers with the failure: same pid, daemon.json untouched, no restart', async () => {
    const pid = dockerd.pid();
    const daemonJson = fileState(dockerd.daemonJsonPath);
    const agentFiles = stateDirState();
    const count = (await rolledBackEvents()).length;
    await agent!.stop();
    agent = null;
    await waitFor('bs1 offline', async () => ((await host())?.connected === false ? true : undefined));

    const before = await host();
    const answered = notTriedAgain().length;
    agent = await startAgent({ ...config, joinToken: null }, captured);
    const h = await answeredAgain(answered);
    // The agent answered with the failure marked `repeated`: nothing tried, so the controller records
    // nothing new; the host still shows the real attempt (its restart, its error).
    expect(await rolledBackEvents()).toHaveLength(count);
    expect(h.lastResult).toEqual(before.lastResult);
    expect(h.lastResult).toMatchObject({ revision, outcome: 'rolled-back', action: 'restart', error: { code: 'VERIFY_FAILED' } });
    expect(h.appliedRevision).toBeNull();

    expect(dockerd.pid()).toBe(pid);
    expect(restarts()).toBe(1);
    expect(fileState(dockerd.daemonJsonPath)).toEqual(daemonJson);
    expect(stateDirState()).toEqual(agentFiles);
  });

  it('a controller restart (every agent reconnects) changes nothing on the host either', async () => {
    const pid = dockerd.pid();
    const daemonJson = fileState(dockerd.daemonJsonPath);
    const agentFiles = stateDirState();
    const count = (await rolledBackEvents()).length;
    const before = await host();
    const answered = notTriedAgain().length;
    await controller.stop();
    controller = await startTestController({ dataDir, config: { listen: `127.0.0.1:${port}` } });

    const h = await answeredAgain(answered);
    expect(await rolledBackEvents()).toHaveLength(count);
    expect(h.lastResult).toEqual(before.lastResult);

    expect(dockerd.pid()).toBe(pid);
    expect(restarts()).toBe(1);
    expect(fileState(dockerd.daemonJsonPath)).toEqual(daemonJson);
    expect(stateDirState()).toEqual(agentFiles);
  });

  it('a rollout does retry: once the host is fixed, one real restart, the proxy in /info, applied', async () => {
    writeFileSync(fixedFlag, '');
    const pid = dockerd.pid();
    const started = await controller.api('POST', '/v1/groups/builders/rollouts', {});
    expect(started.status).toBe(201);
    const id = started.body.rollout.id;
    const rollout = await waitFor('the rollout finished', async () => {
      const body = (await controller.api('GET', `/v1/rollouts/${id}`)).body;
      return ['completed', 'halted', 'rolled-back', 'aborted'].includes(body?.rollout?.state) ? body.rollout : undefined;
    });
    expect(rollout.state).toBe('completed');
    const h = await host();
    expect(h.lastResult).toMatchObject({ revision, outcome: 'applied', action: 'restart', error: null });
    expect(h.appliedRevision).toBe(revision);
    expect(dockerd.pid()).not.toBe(pid);
    expect(restarts()).toBe(2);
    expect((await dockerd.info()).HttpProxy).toBe('http://xxxxx:xxxxx@127.0.0.1:3128');
    expect(storedState()).toMatchObject({ appliedRevision: revision, lastFailure: null });
  });

  it('after the success a reconnect is the usual no-op: unchanged, no restart', async () => {
    const pid = dockerd.pid();
    const daemonJson = fileState(dockerd.daemonJsonPath);
    const before = (await host()).lastResult.at;
    await agent!.stop();
    agent = null;
    await waitFor('bs1 offline', async () => ((await host())?.connected === false ? true : undefined));
    agent = await startAgent({ ...config, joinToken: null }, silent);
    const h = await waitFor('the re-sent revision answered', async () => {
      const body = await host();
      return body?.lastResult && body.lastResult.at !== before ? body : undefined;
    });
    expect(h.lastResult).toMatchObject({ revision, outcome: 'unchanged', action: 'none', error: null });
    expect(dockerd.pid()).toBe(pid);
    expect(restarts()).toBe(2);
    expect(fileState(dockerd.daemonJsonPath)).toEqual(daemonJson);
  });
});
