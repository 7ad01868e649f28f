// The packaged agent (npm run build:agent): the single executable runs where there is no node at
// all, and as the agent of a real dockerd it enrols, applies the group's mirror and reports, exactly
// like `fleetdock agent`; its logs are JSON lines and it stops cleanly on SIGTERM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from '../../lab/availability.js';
import { startBareDockerd, type BareDockerd } from '../../lab/dockerd.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';
import { AGENT_VERSION } from '../../protocol/version.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { waitFor } from '../support/wait.js';
import { AGENT_BUNDLE, AGENT_EXECUTABLE, ensureAgentBuilt } from './agent-build.js';

const lab = requireLab();
/** No node (nor anything else) can be found through PATH. */
const NO_NODE = { PATH: '/nonexistent' };

type Run = { code: number; stdout: string; stderr: string };
function runFile(file: string, args: string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: NO_NODE, timeout: 30_000, ...options }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe.skipIf(process.platform !== 'linux')('the packaged agent', () => {
  let alone: string;
  beforeAll(async () => {
    await ensureAgentBuilt();
    alone = mkdtempSync(join(tmpdir(), 'fleetdock-agent-bin-'));
  }, 120_000);
  afterAll(() => {
    if (alone) rmSync(alone, { recursive: true, force: true });
  });

  it('the executable, copied alone into an empty directory, runs with no node on PATH and prints its version', async () => {
    const copy = join(alone, 'fleetdock-agent');
    copyFileSync(AGENT_EXECUTABLE, copy);
    const out = await runFile(copy, ['--version'], { cwd: alone });
    expect(out).toEqual({ code: 0, stdout: `${AGENT_VERSION}\n`, stderr: '' });
  });

  it('the bundle runs under a host node and prints the same version', async () => {
    const out = await runFile(process.execPath, [AGENT_BUNDLE, '--version']);
    expect(out).toEqual({ code: 0, stdout: `${AGENT_VERSION}\n`, stderr: '' });
  });

  it('takes the flags of `fleetdock agent`: a missing --controller is a usage error (exit 2) naming it', async () => {
    const out = await runFile(AGENT_EXECUTABLE, ['--name', 'bs1']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--controller URL is required');
    expect(out.stderr).toContain('--check-interval SECONDS');
  });
});

describe.skipIf(!lab)('the single executable as the agent of a real dockerd 26', { timeout: 120_000 }, () => {
  let controller: TestController;
  let dockerd: BareDockerd;
  let mirror: RegistryMirror;
  let stateDir: string;
  let agent: ChildProcess | null = null;
  let output = '';
  let exited: Promise<number | null>;

  const host = async (name: string) => (await controller.api('GET', `/v1/hosts/${name}`)).body;
  const logLines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));

  beforeAll(async () => {
    await ensureAgentBuilt();
    [controller, dockerd, mirror] = await Promise.all([startTestController(), startBareDockerd({ version: '26' }), startRegistryMirror()]);
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-sea-'));
    expect((await controller.api('POST', '/v1/groups', { name: 'builders' })).status).toBe(201);
    expect((await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [mirror.url] })).status).toBe(201);
  }, 300_000);
  afterAll(async () => {
    agent?.kill('SIGKILL');
    await Promise.all([controller?.stop(), dockerd?.stop(), mirror?.stop()]);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('enrols with a join token, applies the group mirror with a reload, and the host is converged; the pull goes through the mirror', async () => {
    const token = (await controller.api('POST', '/v1/groups/builders/join-tokens', {})).body.token;
    const pid = dockerd.pid();
    agent = spawn(
      AGENT_EXECUTABLE,
      [
        '--controller', controller.controller.url,
        '--join-token', token,
        '--state-dir', stateDir,
        '--root', dockerd.root,
        '--docker-host', dockerd.dockerHost,
        '--service-manager', 'signal',
        '--pidfile', dockerd.pidfile,
        '--restart-command', dockerd.restartCommand,
        '--name', 'sea1',
        '--verify-timeout', '10',
      ],
      { env: NO_NODE, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    agent.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    exited = new Promise((resolve) => agent!.once('exit', (code) => resolve(code)));

    const h = await waitFor('sea1 converged', async () => {
      const body = await host('sea1');
      return body?.status === 'converged' && body.lastResult ? body : undefined;
    }, 60_000, 200, () => `agent output:\n${output.slice(-4_000)}`);
    expect(h.lastResult).toMatchObject({ outcome: 'applied', action: 'reload' });
    expect(h.facts).toMatchObject({ agentVersion: AGENT_VERSION, serviceManager: 'signal' });
    expect(h.facts.dockerVersion).toMatch(/^26\./);
    expect(dockerd.pid()).toBe(pid);
    expect((await dockerd.info()).RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
    const pull = await dockerd.docker(['pull', 'busybox'], { timeoutMs: 60_000 });
    expect(pull.code).toBe(0);
    expect(mirror.blobGets()).toBeGreaterThan(0);
  });

  it('logs JSON lines on stdout and nothing else, and stops cleanly on SIGTERM', async () => {
    expect(agent).not.toBeNull();
    agent!.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = output.trim().split('\n');
    // Every line is a JSON log record: no Node warning (an SEA prints one for a require() it cannot serve).
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual([]);
    const messages = logLines().map((record) => record.msg);
    expect(messages).toEqual(expect.arrayContaining(['agent starting', 'enrolled', 'apply finished', 'agent stopped']));
    expect(logLines().find((record) => record.msg === 'apply finished')).toMatchObject({ name: 'fleetdock-agent', outcome: 'applied', action: 'reload' });
    agent = null;
  });
});
