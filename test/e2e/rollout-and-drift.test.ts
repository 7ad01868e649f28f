// Rollouts and drift on three real build servers (systemd as PID 1, Debian's dockerd 20.10, the agent
// inside in systemd mode): a canary whose dockerd refuses the change (its unit passes --registry-mirror
// as a flag, as Puppet and Chef set it: dockerd refuses a key given both as a flag and in daemon.json)
// halts the rollout, the others are never touched and `rollout start --wait` exits 3; once the flag is
// gone, a good rollout goes batch by batch; hand edits and a daemon not reloaded are reported as drift
// within seconds, and `enforce` puts the file back. The operator's side is the real CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from '../../lab/availability.js';
import { startBuildServer, type BuildServer } from '../../lab/build-server.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { describeAgents, spawnAgentIn, type AgentInServer } from '../support/agent-in-server.js';
import { waitFor } from '../support/wait.js';

const lab = requireLab();
const BASE_JSON = { 'storage-driver': 'vfs', iptables: false, bridge: 'none' };
/** The mirror rs1's docker unit passes as a flag. */
const FLAG_MIRROR = 'http://127.0.0.1:5999';
/**
 * rs1's docker unit as configuration management leaves it: `--registry-mirror` on dockerd's command
 * line. dockerd then refuses daemon.json `registry-mirrors` (start fails; a reload keeps the old
 * settings), so a revision with a mirror cannot be applied on rs1.
 */
const MIRROR_FLAG_UNIT = `[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock --registry-mirror=${FLAG_MIRROR}\n`;
/** `rollout start --wait` exit status when the rollout halted, rolled back or was aborted (README, Rollouts). */
const EXIT_HALTED = 3;

describe.skipIf(!lab)('rollouts and drift on three build servers', { timeout: 180_000 }, () => {
  let controller: TestController;
  let mirror: RegistryMirror;
  let other: RegistryMirror;
  const servers: Record<string, { server: BuildServer; agent: AgentInServer }> = {};
  let env: Record<string, string>;

  const cli = async (...args: string[]) => {
    const out = await runCli(args, env, 120_000);
    return out;
  };
  const hosts = async () => (await controller.api('GET', '/v1/hosts?group=fleet')).body.hosts as any[];
  const mirrorsInFile = async (name: string) => JSON.parse(await servers[name]!.server.readFile('/etc/docker/daemon.json'))['registry-mirrors'];
  const driftOf = async (name: string) => {
    const out = await cli('drift', '--group', 'fleet', '--json');
    expect(out.code).toBe(0);
    const body = JSON.parse(out.stdout);
    return (body.hosts as any[]).find((h) => h.name === name);
  };

  beforeAll(async () => {
    [controller, mirror, other] = await Promise.all([startTestController(), startRegistryMirror(), startRegistryMirror()]);
    env = controller.cliEnv;
    expect((await cli('group', 'create', 'fleet')).code).toBe(0);
    // The first revision of a new group has nothing to break: it is current at once (here: nothing set).
    expect((await cli('group', 'set', 'fleet')).code).toBe(0);
    const token = (await cli('token', 'create', '--group', 'fleet', '--uses', '3')).stdout.trim();
    await Promise.all(
      ['rs1', 'rs2', 'rs3'].map(async (name) => {
        const server = await startBuildServer({ name, binds: [{ host: REPO_ROOT, inside: '/opt/fleetdock', readOnly: true }], ...(name === 'rs1' ? { dockerUnitDropIn: MIRROR_FLAG_UNIT } : {}) });
        await server.writeFile('/etc/docker/daemon.json', `${JSON.stringify(BASE_JSON)}\n`);
        const agent = spawnAgentIn(server, ['--controller', controller.controller.url, '--join-token', token, '--name', name, '--service-manager', 'systemd', '--verify-timeout', '6', '--check-interval', '5']);
        servers[name] = { server, agent };
      }),
    );
    await waitFor('three converged hosts', async () => {
      const list = await hosts();
      return list.length === 3 && list.every((h) => h.status === 'converged') ? list : undefined;
    }, 90_000, 200, async () => `hosts: ${JSON.stringify(await hosts())}\n${describeAgents(Object.fromEntries(Object.entries(servers).map(([n, s]) => [n, s.agent])))}`);
  });

  afterAll(async () => {
    for (const { server, agent } of Object.values(servers)) {
      agent.child.kill('SIGTERM');
      await server.stop();
    }
    await Promise.all([controller?.stop(), mirror?.stop(), other?.stop()]);
  });

  it('halts after a canary whose dockerd refuses the change; the others are untouched, rs1 keeps its old settings, the CLI exits 3', async () => {
    // What "untouched" and "old settings" mean: the files and dockerd processes as they are now.
    const before: Record<string, { file: string; pid: number }> = {};
    for (const name of ['rs1', 'rs2', 'rs3']) {
      const { server } = servers[name]!;
      before[name] = { file: await server.readFile('/etc/docker/daemon.json'), pid: await server.dockerdPid() };
    }
    expect((await servers.rs1!.server.info()).RegistryConfig.Mirrors).toEqual([`${FLAG_MIRROR}/`]);

    const set = await cli('group', 'set', 'fleet', '--registry-mirror', mirror.url);
    expect(set.code).toBe(0);
    // The canary is picked among connected hosts the change affects, then by name: all three are
    // connected and on revision 1, so rs1 is the canary.
    const plan = await cli('rollout', 'plan', 'fleet', '--batch-size', '1', '--json');
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).batches[0]).toMatchObject({ canary: true, hosts: ['rs1'] });

    const start = await cli('rollout', 'start', 'fleet', '--batch-size', '1', '--wait', '--json');
    expect(start.code, start.stderr).toBe(EXIT_HALTED);
    const rollout = JSON.parse(start.stdout).rollout;
    expect((await controller.api('GET', '/v1/groups/fleet/rollouts?limit=1')).body.rollouts[0].id).toBe(rollout.id);
    // Halted after the canary (on-halt rollback by default): nobody else was started.
    expect(rollout.state).toBe('rolled-back');
    expect(rollout.reason).toMatch(/^1 host failed \(rs1\)/);
    expect(rollout.batches.map((b: any) => [b.canary, b.hosts.map((h: any) => [h.name, h.state])])).toEqual([
      [true, [['rs1', 'failed']]],
      [false, [['rs2', 'skipped']]],
      [false, [['rs3', 'skipped']]],
    ]);
    // The agent either sees the flag before writing (failed, FLAG_CONFLICT) or dockerd rejects the
    // reloaded file and the agent puts the old one back (rolled-back, VERIFY_FAILED).
    const canary = rollout.batches[0].hosts[0];
    expect([['failed', 'FLAG_CONFLICT'], ['rolled-back', 'VERIFY_FAILED']]).toContainEqual([canary.outcome, canary.error?.code]);
    expect(canary.error.message).toContain('--registry-mirror');

    for (const name of ['rs2', 'rs3']) {
      const { server } = servers[name]!;
      expect(await server.readFile('/etc/docker/daemon.json'), name).toBe(before[name]!.file);
      expect(await server.dockerdPid(), name).toBe(before[name]!.pid);
      expect((await server.info()).RegistryConfig.Mirrors ?? [], name).toEqual([]);
    }
    // rs1's dockerd runs on, on its old settings: same process, the flag's mirror, the old file.
    const rs1 = servers.rs1!.server;
    expect((await rs1.exec('systemctl is-active docker')).stdout.trim()).toBe('active');
    expect(await rs1.dockerdPid()).toBe(before.rs1!.pid);
    expect((await rs1.info()).RegistryConfig.Mirrors).toEqual([`${FLAG_MIRROR}/`]);
    expect(await rs1.readFile('/etc/docker/daemon.json')).toBe(before.rs1!.file);
    const list = await hosts();
    for (const name of ['rs1', 'rs2', 'rs3']) expect(list.find((h) => h.name === name), name).toMatchObject({ appliedRevision: rollout.fromRevision, desiredRevision: rollout.fromRevision });
  });

  it('a good rollout reaches all three, batch by batch, each verified before the next starts', async () => {
    // Fix rs1 as its operator would: the flag goes from the unit, and dockerd restarts without it.
    const rs1 = servers.rs1!.server;
    expect((await rs1.exec('rm /etc/systemd/system/docker.service.d/10-lab.conf && systemctl daemon-reload && systemctl restart docker')).code).toBe(0);
    await waitFor('rs1 dockerd without the flag mirror', async () => (((await rs1.info()).RegistryConfig.Mirrors ?? []).length === 0 ? true : undefined), 30_000, 200);
    const start = await cli('rollout', 'start', 'fleet', '--batch-size', '1', '--wait', '--json');
    expect(start.stderr).not.toMatch(/error/i);
    expect(start.code).toBe(0);
    const rollout = (await controller.api('GET', '/v1/groups/fleet/rollouts')).body.rollouts[0];
    expect(rollout.state).toBe('completed');
    expect(rollout.batches.map((b: any) => b.hosts.map((h: any) => h.name))).toEqual([['rs1'], ['rs2'], ['rs3']]);
    for (let i = 1; i < rollout.batches.length; i++) {
      const previous = rollout.batches[i - 1].hosts[0];
      const current = rollout.batches[i].hosts[0];
      expect(Date.parse(current.startedAt)).toBeGreaterThanOrEqual(Date.parse(previous.finishedAt));
    }
    for (const name of ['rs1', 'rs2', 'rs3']) {
      expect(await mirrorsInFile(name)).toEqual([mirror.url]);
      expect((await servers[name]!.server.info()).RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
    }
    expect((await servers.rs3!.server.exec('docker pull busybox', { timeoutMs: 90_000 })).code).toBe(0);
  });

  it('reports a hand edit of daemon.json as drift within 2 seconds', async () => {
    const rs2 = servers.rs2!.server;
    const json = JSON.parse(await rs2.readFile('/etc/docker/daemon.json'));
    const edited = Date.now();
    await rs2.writeFile('/etc/docker/daemon.json', `${JSON.stringify({ ...json, 'registry-mirrors': [other.url] }, null, 2)}\n`);
    const drift = await waitFor('rs2 drift', async () => {
      const h = await driftOf('rs2');
      return h?.drifts?.some((d: any) => d.field === 'registryMirrors' && d.kind === 'file-edited') ? h : undefined;
    }, 10_000, 100);
    expect(Date.now() - edited).toBeLessThan(2_000);
    expect(drift.drifts.find((d: any) => d.kind === 'file-edited').actual).toEqual([other.url]);
  });

  it('in enforce, the hand edit is put back', async () => {
    expect((await cli('group', 'set-policy', 'fleet', 'enforce')).code).toBe(0);
    await waitFor('rs2 put back', async () => ((await mirrorsInFile('rs2'))?.[0] === mirror.url ? true : undefined), 30_000, 200);
    await waitFor('rs2 without drift', async () => ((await driftOf('rs2')) === undefined || (await driftOf('rs2')).drifts.length === 0 ? true : undefined), 30_000, 200);
    expect((await cli('group', 'set-policy', 'fleet', 'audit')).code).toBe(0);
  });

  it('reports a daemon that was not reloaded after a file change', async () => {
    const rs3 = servers.rs3!.server;
    const good = await rs3.readFile('/etc/docker/daemon.json');
    const json = JSON.parse(good);
    // The daemon takes another mirror (edit + reload), then the file is put right without a reload.
    await rs3.writeFile('/etc/docker/daemon.json', `${JSON.stringify({ ...json, 'registry-mirrors': [other.url] }, null, 2)}\n`);
    expect((await rs3.exec('systemctl reload docker')).code).toBe(0);
    await waitFor('rs3 dockerd on the other mirror', async () => ((await rs3.info()).RegistryConfig.Mirrors?.[0] === `${other.url}/` ? true : undefined), 10_000, 100);
    await rs3.writeFile('/etc/docker/daemon.json', good);
    const drift = await waitFor('rs3 daemon-not-reloaded', async () => {
      const h = await driftOf('rs3');
      return h?.drifts?.some((d: any) => d.field === 'registryMirrors' && d.kind === 'daemon-not-reloaded') ? h : undefined;
    }, 15_000, 200);
    expect(drift.drifts.some((d: any) => d.kind === 'file-edited')).toBe(false);
  });
});
