// `fleetdock rollout ...` as an operator runs it: the real CLI in a child process against a real
// controller, raw `ws` agents answering for the hosts. What it prints and how it exits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawAgent, applyResult, eventually, startTestController, type TestController } from './harness.js';
import { ensureCliBuilt, runCli, type CliResult } from '../support/cli.js';


let t: TestController;
const agents: RawAgent[] = [];
/** Hosts whose agent answers the next revision with `rolled-back`. */
const refusing = new Set<string>();
/** Hosts whose agent does not answer at all. */
const silent = new Set<string>();

async function fleetdock(args: string[]): Promise<CliResult> {
  return runCli(args, t.cliEnv);
}

/** Enrols and connects `name` in `group`; its agent answers every desired revision at once. */
async function host(name: string, group: string, facts: Record<string, unknown> = {}): Promise<void> {
  const { credential } = await t.enrol(name, group);
  const agent = await RawAgent.connect(t.controller.url, credential);
  agents.push(agent);
  let applied: number | null = null;
  agent.ws.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.type !== 'desired' || silent.has(name)) return;
    if (refusing.has(name) && message.revision !== applied) {
      agent.send(applyResult(message.revision, { outcome: 'rolled-back', error: { code: 'VERIFY_FAILED', message: 'dockerd did not take it' } }));
      return;
    }
    agent.send(applyResult(message.revision, message.revision === applied ? { outcome: 'unchanged', action: 'none' } : {}));
    applied = message.revision;
  });
  agent.send({ type: 'hello', protocolVersion: 1, facts: { hostname: name, os: 'linux', arch: 'x64', dockerVersion: '26.1.5', serviceManager: 'systemd', liveRestore: false, agentVersion: '0.1.0', ...facts }, appliedRevision: null, observed: null });
}

beforeAll(async () => {
  await ensureCliBuilt();
  t = await startTestController({ rolloutTickIntervalMs: 50 });
  await t.api('POST', '/v1/groups', { name: 'ci' });
  await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-1:5000'] });
  await host('a1', 'ci', { liveRestore: true });
  await host('a2', 'ci');
  await host('a3', 'ci', { dockerVersion: '20.10.24' });
  await eventually(async () => (await t.api('GET', '/v1/groups/ci')).body.hosts.converged === 3);
}, 180_000);

afterAll(async () => {
  for (const agent of agents) agent.ws.terminate();
  await t?.stop();
});

describe('fleetdock rollout', () => {
  it('group set says how to roll out a later revision; plan shows what would change and who loses containers', async () => {
    const set = await fleetdock(['group', 'set', 'ci', '--registry-mirror', 'http://mirror-2:5000', '--http-proxy', 'http://proxy:3128']);
    expect(set).toMatchObject({ code: 0, stdout: 'revision 2\nhosts are on revision 1; roll it out with: fleetdock rollout start ci\n' });

    const plan = await fleetdock(['rollout', 'plan', 'ci']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('plan for group ci: revision 1 → 2 (dry run, nothing changed)');
    expect(plan.stdout).toContain('batches: canary 1, 1, 1');
    expect(plan.stdout).toMatch(/^1\s+a1\s+yes\s+1→2\s+registryMirrors, daemonProxy\s+restart$/m);
    expect(plan.stdout).toMatch(/^2\s+a2\s+yes\s+1→2\s+registryMirrors, daemonProxy\s+restart\s+stops running containers \(no live-restore\)$/m);
    expect(plan.stdout).toContain('restart without live-restore, running containers stop on: a2, a3');

    const json = JSON.parse((await fleetdock(['rollout', 'start', 'ci', '--dry-run', '--json', '--canary', '0', '--batch-size', '50%'])).stdout);
    expect(json.batches.map((b: any) => b.hosts)).toEqual([['a1', 'a2'], ['a3']]);
    expect(json.plan.find((h: any) => h.host === 'a3')).toMatchObject({ proxyPlacement: 'drop-in', stopsContainers: true });
    expect((await t.api('GET', '/v1/groups/ci/rollouts')).body.rollouts).toEqual([]);
  });

  it('start --wait shows progress and exits 0 when the rollout completed; status shows every host', async () => {
    const start = await fleetdock(['rollout', 'start', 'ci', '--batch-size', '1', '--wait']);
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    const lines = start.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^rollout \d+ ci 1→2 running: batch 1\/3, 0\/3 done, 0 failed, 1 applying, 2 pending, 0 offline$/);
    expect(lines.at(-2)).toMatch(/^rollout \d+ ci 1→2 completed: batch 3\/3, 3\/3 done, 0 failed, 0 applying, 0 pending, 0 offline$/);
    expect(lines.at(-1)).toBe('every batch is done: 3 succeeded');

    const status = await fleetdock(['rollout', 'status', 'ci']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^rollout \d+ of ci: revision 1 → 2, completed$/m);
    expect(status.stdout).toMatch(/^\s+batch 1 \(canary\)\s+1 host \[a1\]: 1 succeeded$/m);
    expect(status.stdout).toMatch(/^1\*\s+a1\s+succeeded\s+applied\s+reload$/m);
    const json = JSON.parse((await fleetdock(['rollout', 'status', 'ci', '--json'])).stdout);
    expect(json.rollout).toMatchObject({ group: 'ci', state: 'completed', counts: { succeeded: 3 } });
    expect((await fleetdock(['rollout', 'pause', String(json.rollout.id)]))).toMatchObject({ code: 1, stderr: expect.stringContaining('[ROLLOUT_STATE]') });
  });

  it('start --wait exits 3 when the canary fails and the rollout rolls back; undo and abort work by group', async () => {
    await fleetdock(['group', 'set', 'ci', '--registry-mirror', 'http://mirror-3:5000']);
    refusing.add('a1');
    const start = await fleetdock(['rollout', 'start', 'ci', '--wait', '--json']);
    refusing.delete('a1');
    expect(start.code).toBe(3);
    const { rollout } = JSON.parse(start.stdout);
    expect(rollout).toMatchObject({ state: 'rolled-back', toRevision: 3, counts: { failed: 1, skipped: 2 } });
    expect(rollout.reason).toMatch(/^1 host failed \(a1\)/);

    const undo = await fleetdock(['rollout', 'undo', 'ci', '--canary', '0', '--batch-size', '100%', '--wait']);
    expect(undo.code).toBe(0);
    expect(undo.stdout).toMatch(/^rollout \d+ ci 2→1 completed/m);

    await fleetdock(['group', 'set', 'ci', '--registry-mirror', 'http://mirror-4:5000']);
    silent.add('a1'); // the canary never answers: the rollout is still running when it is aborted
    const started = await fleetdock(['rollout', 'start', 'ci', '--offline', 'wait', '--on-halt', 'stop', '--result-timeout', '600', '--max-concurrent', '1', '--failure-budget', '10%']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('strategy: canary 1, batches of 25%, 1 at once, failure budget 10%, on halt stop, offline wait, result timeout 600 s; up to 1 failure tolerated');
    const aborted = await fleetdock(['rollout', 'abort', 'ci']);
    expect(aborted.code).toBe(0);
    silent.delete('a1');
    expect(aborted.stdout).toMatch(/^rollout \d+ of ci: revision 1 → 4, aborted$/m);
    expect(aborted.stdout).toMatch(/^\s+hosts: 0\/3 done, 0 failed, 1 applying, 0 pending, 0 offline, 2 skipped$/m);
    expect(aborted.stdout).toContain('aborted by admin');
  });

  it.each([
    [['rollout'], 'rollout needs a subcommand'],
    [['rollout', 'start'], 'rollout start needs a GROUP'],
    [['rollout', 'start', 'ci', '--canary', 'x'], "--canary must be a number of hosts or a percentage (e.g. 2 or 10%), not 'x'"],
    [['rollout', 'start', 'ci', '--on-halt', 'pray'], "--on-halt must be stop or rollback, not 'pray'"],
    [['rollout', 'start', 'ci', '--max-concurrent', '0'], "--max-concurrent must be a whole number of at least 1, not '0'"],
    [['rollout', 'plan', 'ci', '--wait'], 'rollout plan changes nothing'],
    [['rollout', 'fly', 'ci'], "unknown rollout subcommand 'fly'"],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await fleetdock(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('says when a group has no rollouts', async () => {
    await t.api('POST', '/v1/groups', { name: 'quiet' });
    const result = await fleetdock(['rollout', 'status', 'quiet']);
    expect(result).toMatchObject({ code: 1, stderr: 'fleetdock: group quiet has no rollouts yet (start one with: fleetdock rollout start quiet) [NOT_FOUND]\n' });
  });
});
