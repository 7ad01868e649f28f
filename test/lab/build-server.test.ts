// Build servers with systemd as PID 1 (systemd-nspawn): what fleetdock's end-to-end tests rely on.
// docker.service up, reload without restart, drop-ins, node and the checkout inside, the machine's
// loopback reachable, long-running processes, several at once, and a clean stop.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findFreePort,
  requireLab,
  startBuildServer,
  startRegistryMirror,
  type BuildServer,
  type RegistryMirror,
} from '../../lab/index.js';
import { isProcessAlive } from '../../lab/processes.js';

const labReady = requireLab();
const checkout = process.cwd();

describe.skipIf(!labReady)('build server', () => {
  let bs1: BuildServer;
  let bs2: BuildServer;
  let mirror: RegistryMirror;
  let sshPort: number;
  beforeAll(async () => {
    sshPort = await findFreePort();
    [bs1, bs2, mirror] = await Promise.all([
      startBuildServer({ name: 'lab-bs1', binds: [{ host: checkout, inside: '/opt/fleetdock', readOnly: true }], sshPort }),
      // Like a Puppet-managed host: the mirror is a dockerd flag in the unit, not in daemon.json.
      startBuildServer({
        name: 'lab-bs2',
        dockerUnitDropIn: [
          '[Service]',
          'ExecStart=',
          'ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock --registry-mirror http://127.0.0.1:5999',
          '',
        ].join('\n'),
      }),
      startRegistryMirror(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([bs1?.stop(), bs2?.stop(), mirror?.stop()]);
  });

  it('boots with systemd as PID 1 and docker.service active, named as asked', async () => {
    expect((await bs1.exec(['systemctl', 'is-active', 'docker'])).stdout.trim()).toBe('active');
    expect((await bs1.exec('cat /proc/1/comm; hostname')).stdout).toBe('systemd\nlab-bs1\n');
    expect((await bs2.exec(['hostname'])).stdout.trim()).toBe('lab-bs2');
    const info = await bs1.info();
    expect(info.ServerVersion).toMatch(/^20\.10\./);
    expect(info.Name).toBe('lab-bs1');
    expect(info.Driver).toBe('vfs');
  });

  it('`systemctl reload docker` applies a new daemon.json mirror and keeps dockerd\'s pid', async () => {
    const pid = await bs1.dockerdPid();
    expect(pid).toBeGreaterThan(1);
    const daemonJson = JSON.parse(await bs1.readFile('/etc/docker/daemon.json'));
    await bs1.writeFile('/etc/docker/daemon.json', JSON.stringify({ ...daemonJson, 'registry-mirrors': [mirror.url] }));
    const reload = await bs1.exec(['systemctl', 'reload', 'docker']);
    expect(reload.code, reload.stderr).toBe(0);
    await expect.poll(async () => (await bs1.info()).RegistryConfig.Mirrors, { timeout: 10_000 }).toEqual([`${mirror.url}/`]);
    expect(await bs1.dockerdPid()).toBe(pid);
  });

  it('pulls busybox through a mirror on this machine\'s loopback', async () => {
    const before = mirror.blobGets();
    const pull = await bs1.exec(['docker', 'pull', 'busybox']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(mirror.blobGets()).toBeGreaterThan(before);
  });

  it('has node and the checkout (read-only) inside', async () => {
    const r = await bs1.exec(['node', '-e', 'console.log(require("/opt/fleetdock/package.json").name, process.version)']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`fleetdock ${process.version}`);
    const write = await bs1.exec('touch /opt/fleetdock/should-not-exist');
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  it('starts docker with the unit drop-in in place (a --registry-mirror flag)', async () => {
    expect((await bs2.info()).RegistryConfig.Mirrors).toEqual(['http://127.0.0.1:5999/']);
    const execStart = await bs2.exec(['systemctl', 'show', '-p', 'ExecStart', 'docker']);
    expect(execStart.stdout).toContain('--registry-mirror http://127.0.0.1:5999');
  });

  it('takes drop-ins written inside: daemon-reload + restart sets the proxy environment', async () => {
    await bs2.writeFile('/etc/systemd/system/docker.service.d/http-proxy.conf', '[Service]\nEnvironment="HTTP_PROXY=http://127.0.0.1:3128"\n');
    const pid = await bs2.dockerdPid();
    const r = await bs2.exec('systemctl daemon-reload && systemctl restart docker && systemctl show --property=Environment docker');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('HTTP_PROXY=http://127.0.0.1:3128');
    expect((await bs2.info()).HttpProxy).toBe('http://127.0.0.1:3128');
    expect(await bs2.dockerdPid()).not.toBe(pid);
  });

  it('runs a long-running process inside with piped stdio; kill() reaches it and its exit code comes back', async () => {
    const child = bs1.spawn(['sh', '-c', 'echo ready; trap "echo stopping; exit 3" TERM; while :; do sleep 0.1; done'], {
      env: { ROLE: 'agent' },
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await expect.poll(() => out, { timeout: 10_000 }).toContain('ready');
    const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    child.kill('SIGTERM');
    expect(await exited).toEqual([3, null]);
    expect(out).toContain('stopping');
  });

  it('runs exec with env, cwd and stdin', async () => {
    const r = await bs1.exec('pwd; echo "$GREETING"; cat', { env: { GREETING: 'hi' }, cwd: '/etc/docker', input: 'from stdin' });
    expect(r).toEqual({ code: 0, stdout: '/etc/docker\nhi\nfrom stdin', stderr: '' });
  });

  it('runs sshd on the port asked for, reachable on this machine\'s loopback', async () => {
    const banner = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: sshPort });
      socket.once('data', (b: Buffer) => {
        socket.destroy();
        resolve(b.toString());
      });
      socket.once('error', reject);
    });
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
  });

  it('stop() shuts the server down and leaves no process behind', async () => {
    const server = await startBuildServer({ name: 'lab-bs3' });
    const agent = server.spawn(['sleep', '600']); // left running on purpose
    const t0 = Date.now();
    await server.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(isProcessAlive(server.nspawnPid)).toBe(false);
    expect(isProcessAlive(server.leaderPid)).toBe(false);
    expect(agent.exitCode !== null || agent.signalCode !== null).toBe(true);
  });
});
