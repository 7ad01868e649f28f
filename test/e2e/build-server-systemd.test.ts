// End to end on real build servers: systemd as PID 1 (systemd-nspawn), Debian's dockerd 20.10 and its
// real docker.service, the agent inside in systemd mode, a real registry mirror and tinyproxy, the
// controller and the CLI on this machine. What an operator does, and what dockerd then really does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from '../../lab/availability.js';
import { startBuildServer, type BuildServer } from '../../lab/build-server.js';
import { startProxy, type LabProxy } from '../../lab/proxy.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { describeAgents, spawnAgentIn, type AgentInServer } from '../support/agent-in-server.js';
import { waitFor } from '../support/wait.js';

const lab = requireLab();
const FOREIGN = { 'storage-driver': 'vfs', iptables: false, bridge: 'none', 'log-level': 'warn' };

type Server = { server: BuildServer; agent: AgentInServer };

/** systemd's catalog ids of "Starting <unit>..." (every start attempt, one that fails too) and "Started <unit>." */
const UNIT_STARTING = '7d4958e842da4a758f6c1cdc7b36dcc5';
const UNIT_STARTED = '39f53479d3a045ac8e11786248231fbf';

/** The server's journal position now, to count what systemd logs after it. */
async function journalCursor(server: BuildServer): Promise<string> {
  const r = await server.exec(['journalctl', '-n', '0', '--show-cursor', '--quiet', '--no-pager']);
  const cursor = /^-- cursor: (.+)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || !cursor) throw new Error(`no journal cursor in build server ${server.name} (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return cursor;
}

/**
 * systemd's own start messages for docker.service since `cursor`: each start of dockerd (a restart
 * is a stop, then a start) logs one "Starting" and, when it came up, one "Started". Restart counters
 * (NRestarts) count only Restart= restarts, and the pid or InvocationID only tell before from after.
 */
async function dockerStartsSince(server: BuildServer, cursor: string): Promise<{ starting: number; started: number; lines: string[] }> {
  // --sync: journald has stored everything sent to it before this call, so no start is still in flight.
  const sync = await server.exec(['journalctl', '--sync']);
  if (sync.code !== 0) throw new Error(`journalctl --sync failed in build server ${server.name}: ${sync.stderr}`);
  const r = await server.exec(['journalctl', '-u', 'docker', `--after-cursor=${cursor}`, '-o', 'json', '--output-fields=MESSAGE_ID,MESSAGE', '--quiet', '--no-pager']);
  if (r.code !== 0) throw new Error(`journalctl -u docker failed in build server ${server.name}: ${r.stderr}`);
  const entries = r.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { MESSAGE_ID?: string; MESSAGE?: unknown });
  const systemdLines = entries.filter((e) => e.MESSAGE_ID !== undefined);
  return {
    starting: systemdLines.filter((e) => e.MESSAGE_ID === UNIT_STARTING).length,
    started: systemdLines.filter((e) => e.MESSAGE_ID === UNIT_STARTED).length,
    lines: systemdLines.map((e) => String(e.MESSAGE)),
  };
}

describe.skipIf(!lab)('build servers with systemd', { timeout: 180_000 }, () => {
  let controller: TestController;
  let mirror: RegistryMirror;
  /** A private registry reached by name through the proxy (TLS: tinyproxy mangles dockerd's plain-HTTP Accept headers). */
  let privateRegistry: RegistryMirror;
  let proxy: LabProxy;
  const servers: Record<string, Server> = {};
  let env: Record<string, string>;

  const host = async (name: string) => (await controller.api('GET', `/v1/hosts/${name}`)).body;
  const resultFor = (name: string, revision: number) =>
    waitFor(`${name} to report revision ${revision}`, async () => {
      const body = await host(name);
      return body?.lastResult?.revision === revision ? body : undefined;
    }, 90_000, 200, async () => `host: ${JSON.stringify(await host(name))}\n${describeAgents({ [name]: servers[name]!.agent })}`);
  const setGroup = async (args: string[]) => {
    const out = await runCli(['group', 'set', ...args], env);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const m = /revision (\d+)/.exec(out.stdout);
    expect(m).not.toBeNull();
    // A group's first revision reaches its servers at once; a later one through a rollout. With
    // --on-halt stop a server that refuses the change keeps it as its desired revision and reports
    // the failure for it, which is what these tests look at.
    if (out.stdout.includes('fleetdock rollout start')) {
      const rollout = await runCli(['rollout', 'start', args[0]!, '--on-halt', 'stop'], env);
      expect(rollout.stderr).toBe('');
      expect(rollout.code).toBe(0);
    }
    return Number(m![1]);
  };

  async function boot(name: string, group: string, dockerUnitDropIn?: string): Promise<Server> {
    const server = await startBuildServer({ name, binds: [{ host: REPO_ROOT, inside: '/opt/fleetdock', readOnly: true }], ...(dockerUnitDropIn ? { dockerUnitDropIn } : {}) });
    await server.writeFile('/etc/docker/daemon.json', `${JSON.stringify(FOREIGN, null, 2)}\n`);
    expect((await server.exec('systemctl restart docker && systemctl is-active docker')).stdout.trim()).toBe('active');
    const token = (await runCli(['token', 'create', '--group', group], env)).stdout.trim();
    const agent = spawnAgentIn(server, ['--controller', controller.controller.url, '--join-token', token, '--name', name, '--service-manager', 'systemd', '--verify-timeout', '8']);
    const entry = { server, agent };
    servers[name] = entry;
    await waitFor(`${name} connected`, async () => ((await host(name))?.connected ? true : undefined), 60_000, 100, () => describeAgents({ [name]: agent }));
    return entry;
  }

  beforeAll(async () => {
    [controller, mirror, privateRegistry, proxy] = await Promise.all([
      startTestController(),
      startRegistryMirror(),
      startRegistryMirror({ tls: { names: ['registry.test'] }, seed: ['team/tool'] }),
      startProxy({ hosts: { 'registry.test': '127.0.0.1' } }),
    ]);
    env = controller.cliEnv;
    for (const group of ['builders', 'puppet', 'quirky']) expect((await runCli(['group', 'create', group], env)).code).toBe(0);
    await Promise.all([
      boot('bs1', 'builders'),
      // As Puppet and Chef configure it: the mirror passed as a flag in the unit.
      boot('bs2', 'puppet', '[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock --registry-mirror=http://127.0.0.1:5999\n'),
      // A unit whose reload does nothing: dockerd never takes the new file.
      boot('bs3', 'quirky', '[Service]\nExecReload=\nExecReload=/bin/true\n'),
    ]);
  });

  afterAll(async () => {
    for (const [name, { server, agent }] of Object.entries(servers)) {
      agent.child.kill('SIGTERM');
      if (process.env.FLEETDOCK_TEST_VERBOSE) process.stderr.write(describeAgents({ [name]: agent }));
      await server.stop();
    }
    await Promise.all([controller?.stop(), mirror?.stop(), privateRegistry?.stop(), proxy?.stop()]);
  });

  it('a registry mirror set with the CLI reaches the server: reload, same dockerd pid, and the pull works', async () => {
    const { server } = servers.bs1!;
    const before = await server.exec('docker pull busybox', { timeoutMs: 90_000 });
    expect(before.code).not.toBe(0);
    const pid = await server.dockerdPid();
    const revision = await setGroup(['builders', '--registry-mirror', mirror.url]);
    const h = await resultFor('bs1', revision);
    expect(h.lastResult).toMatchObject({ outcome: 'applied', action: 'reload', filesChanged: ['/etc/docker/daemon.json'] });
    expect(h.status).toBe('converged');
    expect(await server.dockerdPid()).toBe(pid);
    const pull = await server.exec('docker pull busybox', { timeoutMs: 90_000 });
    expect(pull.code).toBe(0);
    expect(mirror.blobGets()).toBeGreaterThan(0);
    expect(JSON.parse(await server.readFile('/etc/docker/daemon.json'))).toEqual({ ...FOREIGN, 'registry-mirrors': [mirror.url] });
  });

  it('a daemon proxy on dockerd 20.10 goes into a root-only environment file; one restart; pulls go through tinyproxy', async () => {
    const { server } = servers.bs1!;
    const registryHost = `registry.test:${privateRegistry.port}`;
    // Credentials with characters systemd would otherwise read: a %-escape (specifier) and a $.
    const proxyUrl = proxy.url.replace('http://', 'http://build:p%25x$y@');
    const pid = await server.dockerdPid();
    const cursor = await journalCursor(server);
    const revision = await setGroup(['builders', '--registry-mirror', mirror.url, '--insecure-registry', registryHost, '--http-proxy', proxyUrl, '--https-proxy', proxyUrl, '--no-proxy', 'localhost,.internal']);
    const h = await resultFor('bs1', revision);
    expect(h.lastResult).toMatchObject({ outcome: 'applied', action: 'restart' });
    expect(h.lastResult.filesChanged).toEqual(expect.arrayContaining(['/etc/fleetdock/docker-proxy.env', '/etc/systemd/system/docker.service.d/http-proxy.conf']));
    // Exactly one start of dockerd: not none, not a restart and a rollback's restart, not a failed try first.
    const starts = await dockerStartsSince(server, cursor);
    expect(starts, starts.lines.join('\n')).toMatchObject({ starting: 1, started: 1 });
    const newPid = await server.dockerdPid();
    expect(newPid).not.toBe(pid);
    // dockerd's own environment has the proxy exactly as given...
    const environ = (await server.readFile(`/proc/${newPid}/environ`)).split('\0');
    expect(environ).toContain(`HTTP_PROXY=${proxyUrl}`);
    expect(environ).toContain(`HTTPS_PROXY=${proxyUrl}`);
    expect(environ).toContain('NO_PROXY=localhost,.internal');
    // ...but `systemctl show`, which every local user may run, does not print the password.
    const shown = (await server.exec('systemctl show docker')).stdout;
    expect(shown).not.toContain('p%25x');
    expect(shown).toContain('EnvironmentFiles=/etc/fleetdock/docker-proxy.env');
    expect((await server.exec('stat -c %a /etc/fleetdock/docker-proxy.env')).stdout.trim()).toBe('600');
    expect((await server.exec('systemctl cat docker')).stdout).not.toContain('p%25x');
    const json = JSON.parse(await server.readFile('/etc/docker/daemon.json'));
    expect(json.proxies).toBeUndefined();
    expect(json['log-level']).toBe('warn');
    // registry.test resolves only where tinyproxy runs: the pull can only have gone through the proxy.
    expect((await server.exec('getent hosts registry.test')).code).not.toBe(0);
    const pull = await server.exec(`docker pull ${registryHost}/team/tool`, { timeoutMs: 90_000 });
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(proxy.requests().some((r) => r.includes(registryHost))).toBe(true);
    expect(privateRegistry.log()).toContain('/v2/team/tool/manifests/');
  });

  it('a broken daemon.json is reported and left as it is; dockerd runs on', async () => {
    const { server } = servers.bs1!;
    const good = await server.readFile('/etc/docker/daemon.json');
    const broken = good.replace(/}\s*$/, '');
    await server.writeFile('/etc/docker/daemon.json', broken);
    try {
      const revision = await setGroup(['builders', '--registry-mirror', mirror.url]);
      const h = await resultFor('bs1', revision);
      expect(h.lastResult.outcome).toBe('failed');
      expect(h.lastResult.error.code).toBe('DAEMON_JSON_INVALID');
      expect(h.status).toBe('failed');
      expect(await server.readFile('/etc/docker/daemon.json')).toBe(broken);
      expect((await server.exec('systemctl is-active docker')).stdout.trim()).toBe('active');
    } finally {
      await server.writeFile('/etc/docker/daemon.json', good);
    }
  });

  it('a unit that passes --registry-mirror as a flag: the conflict is reported before writing, dockerd runs on its old settings', async () => {
    const { server } = servers.bs2!;
    const before = await server.readFile('/etc/docker/daemon.json');
    const pid = await server.dockerdPid();
    const revision = await setGroup(['puppet', '--registry-mirror', mirror.url]);
    const h = await resultFor('bs2', revision);
    expect(h.lastResult.outcome).toBe('failed');
    expect(h.lastResult.error.code).toBe('FLAG_CONFLICT');
    expect(h.lastResult.error.message).toContain('--registry-mirror');
    expect(await server.readFile('/etc/docker/daemon.json')).toBe(before);
    expect(await server.dockerdPid()).toBe(pid);
    expect((await server.info()).RegistryConfig.Mirrors).toEqual(['http://127.0.0.1:5999/']);
  });

  it('a daemon that does not take the change is rolled back: the old file is back and the report says why', async () => {
    const { server } = servers.bs3!;
    const before = await server.readFile('/etc/docker/daemon.json');
    const revision = await setGroup(['quirky', '--registry-mirror', mirror.url]);
    const h = await resultFor('bs3', revision);
    expect(h.lastResult.outcome).toBe('rolled-back');
    expect(h.lastResult.error.code).toBe('VERIFY_FAILED');
    expect(h.lastResult.error.message).toContain('registry mirrors');
    expect(await server.readFile('/etc/docker/daemon.json')).toBe(before);
    expect((await server.exec('systemctl is-active docker')).stdout.trim()).toBe('active');
    expect((await server.info()).RegistryConfig.Mirrors ?? []).toEqual([]);
  });
});
