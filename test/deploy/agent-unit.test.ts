// deploy/fleetdock-agent.service as shipped, on a real build server (systemd as PID 1, Debian's
// dockerd 20.10, no node): the single executable at /usr/local/bin, the unit and an agent.env,
// started by systemd. Under the unit's sandbox (no capabilities, a read-only system) the agent
// enrols, reloads dockerd for a mirror, writes the proxy drop-in and root-only environment file and
// restarts dockerd for a proxy; users' client configs need the drop-in the deployment docs give.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from '../../lab/availability.js';
import { startBuildServer, type BuildServer } from '../../lab/build-server.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { REPO_ROOT } from '../support/cli.js';
import { waitFor } from '../support/wait.js';
import { ensureAgentBuilt } from './agent-build.js';

const lab = requireLab();
const NAME = 'fd-agent-unit';

describe.skipIf(!lab)('the agent unit on a build server', { timeout: 180_000 }, () => {
  let controller: TestController;
  let mirror: RegistryMirror;
  let server: BuildServer;

  const host = async () => (await controller.api('GET', `/v1/hosts/${NAME}`)).body;
  const sh = async (command: string) => {
    const out = await server.exec(command);
    if (out.code !== 0) throw new Error(`${command} failed (exit ${out.code}): ${out.stderr}${out.stdout}`);
    return out.stdout.trim();
  };
  const journal = async () => `journal of fleetdock-agent:\n${(await server.exec('journalctl -u fleetdock-agent --no-pager -n 40')).stdout}`;
  const resultFor = (revision: number) =>
    waitFor(`${NAME} to report revision ${revision}`, async () => {
      const body = await host();
      return body?.lastResult?.revision === revision ? body : undefined;
    }, 90_000, 200, journal);

  beforeAll(async () => {
    await ensureAgentBuilt();
    [controller, mirror, server] = await Promise.all([
      startTestController(),
      startRegistryMirror(),
      startBuildServer({ name: NAME, binds: [{ host: REPO_ROOT, inside: '/opt/src', readOnly: true }] }),
    ]);
    expect((await controller.api('POST', '/v1/groups', { name: 'builders' })).status).toBe(201);
    const token = (await controller.api('POST', '/v1/groups/builders/join-tokens', {})).body.token;
    // A build server has no node: take away the one the lab mounts.
    await sh('umount /usr/bin/node');
    // What `fleetdock bootstrap` does, step by step.
    await sh('install -m 0755 /opt/src/dist/agent-bin/fleetdock-agent /usr/local/bin/fleetdock-agent');
    await sh('install -m 0644 /opt/src/deploy/fleetdock-agent.service /etc/systemd/system/fleetdock-agent.service');
    await sh('install -d -m 0700 /etc/fleetdock');
    await server.writeFile('/etc/fleetdock/agent.env', `FLEETDOCK_AGENT_OPTS=--controller ${controller.controller.url} --name ${NAME} --verify-timeout 20\nFLEETDOCK_JOIN_TOKEN=${token}\n`);
    await sh('chmod 0600 /etc/fleetdock/agent.env && systemctl daemon-reload && systemctl enable --now fleetdock-agent');
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    await Promise.all([controller?.stop(), mirror?.stop()]);
  });

  it('on a server with no node, systemd starts the agent, which enrols with the join token from agent.env', async () => {
    expect(await sh('command -v node || echo no-node')).toBe('no-node');
    const h = await waitFor(`${NAME} connected`, async () => ((await host())?.connected ? await host() : undefined), 60_000, 200, journal);
    expect(h.group).toBe('builders');
    expect(h.facts.serviceManager).toBe('systemd');
    expect(await sh('systemctl is-active fleetdock-agent')).toBe('active');
    // The token came from the environment: it is not in the agent's arguments, which any user can read.
    expect(await sh('tr "\\0" " " < /proc/$(systemctl show -p MainPID --value fleetdock-agent)/cmdline')).not.toContain('FD1');
  });

  it('a mirror set through the API lands in dockerd with a reload, and docker pull goes through it', async () => {
    const pid = await server.dockerdPid();
    const set = await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [mirror.url] });
    expect(set.status).toBe(201);
    const h = await resultFor(set.body.revision);
    expect(h.lastResult).toMatchObject({ outcome: 'applied', action: 'reload', error: null });
    await waitFor(`${NAME} converged`, async () => ((await host())?.status === 'converged' ? true : undefined), 30_000, 200, journal);
    expect((await server.info()).RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
    expect(await server.dockerdPid()).toBe(pid);
    const pull = await server.exec('docker pull busybox', { timeoutMs: 90_000 });
    expect(pull.code).toBe(0);
    expect(mirror.blobGets()).toBeGreaterThan(0);
    expect(await sh('systemctl is-active fleetdock-agent')).toBe('active');
  });

  it('a daemon proxy (dockerd 20.10) goes into the drop-in and /etc/fleetdock, then systemctl restarts docker, all from inside the sandbox', async () => {
    const pid = await server.dockerdPid();
    const set = await controller.api('PUT', '/v1/groups/builders/settings', {
      registryMirrors: [mirror.url],
      daemonProxy: { http: 'http://proxy.internal:3128', https: 'http://proxy.internal:3128', noProxy: ['localhost', '.internal'] },
    });
    expect(set.status).toBe(201);
    const rollout = await controller.api('POST', '/v1/groups/builders/rollouts', {});
    expect(rollout.status).toBe(201);
    const h = await resultFor(set.body.revision);
    expect(h.lastResult).toMatchObject({ outcome: 'applied', action: 'restart', error: null });
    expect(h.lastResult.filesChanged).toEqual(expect.arrayContaining(['/etc/fleetdock/docker-proxy.env', '/etc/systemd/system/docker.service.d/http-proxy.conf']));
    const info = await server.info();
    expect(info.HttpProxy).toBe('http://proxy.internal:3128');
    expect(info.NoProxy).toBe('localhost,.internal');
    expect(await server.dockerdPid()).not.toBe(pid);
    expect(await sh('stat -c %a /etc/fleetdock/docker-proxy.env')).toBe('600');
    expect(await sh('systemctl is-active fleetdock-agent')).toBe('active');
  });

  it('the sandbox is really in force while it works: no capabilities, and the system read-only for the agent', async () => {
    const pid = await sh('systemctl show -p MainPID --value fleetdock-agent');
    expect(Number(pid)).toBeGreaterThan(0);
    expect(await sh(`grep -E '^Cap(Eff|Prm|Bnd):' /proc/${pid}/status | awk '{print $2}' | sort -u`)).toBe('0000000000000000');
    // In the agent's own mount namespace: /usr and /etc/systemd/system are read-only, what it manages is not.
    const inAgent = (command: string) => server.exec(['nsenter', '-t', pid, '-m', 'sh', '-c', command]);
    expect((await inAgent('touch /usr/local/bin/planted')).stderr).toContain('Read-only file system');
    expect((await inAgent('touch /etc/systemd/system/planted.service')).stderr).toContain('Read-only file system');
    expect((await inAgent('touch /etc/docker/.probe && rm /etc/docker/.probe')).code).toBe(0);
  });

  it("users' client proxy: refused under the unit as shipped (no write access to homes), written with the documented drop-in", async () => {
    await sh('useradd --create-home --shell /bin/sh builder');
    const clientProxy = { http: 'http://proxy.internal:3128', noProxy: ['localhost'], users: ['builder'] };
    const refused = await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [mirror.url], clientProxy });
    expect((await controller.api('POST', '/v1/groups/builders/rollouts', { strategy: { onHalt: 'stop' } })).status).toBe(201);
    const failed = await resultFor(refused.body.revision);
    expect(failed.lastResult.outcome).not.toBe('applied');
    expect(failed.lastResult.error.message).toMatch(/files were restored: (EACCES|EROFS)/);
    expect((await server.exec('test -e /home/builder/.docker/config.json')).code).not.toBe(0);
    // The drop-in the deployment docs give ("Client proxy"), copied from there.
    const block = /```ini\n# \/etc\/systemd\/system\/fleetdock-agent\.service\.d\/client-proxy\.conf\n([\s\S]*?)```/;
    const dropIn = block.exec(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
    expect(dropIn).toBeDefined();
    await server.writeFile('/etc/systemd/system/fleetdock-agent.service.d/client-proxy.conf', dropIn![1]!);
    await sh('systemctl daemon-reload && systemctl restart fleetdock-agent');
    const again = await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [mirror.url], clientProxy: { ...clientProxy, noProxy: ['localhost', '.internal'] } });
    expect((await controller.api('POST', '/v1/groups/builders/rollouts', { strategy: { onHalt: 'stop' } })).status).toBe(201);
    const h = await resultFor(again.body.revision);
    expect(h.lastResult).toMatchObject({ outcome: 'applied', error: null });
    const config = JSON.parse(await server.readFile('/home/builder/.docker/config.json'));
    expect(config.proxies.default).toMatchObject({ httpProxy: 'http://proxy.internal:3128', noProxy: 'localhost,.internal' });
    expect(await sh('stat -c %U /home/builder/.docker/config.json')).toBe('builder');
    expect(await sh('systemctl is-active fleetdock-agent')).toBe('active');
  });
});
