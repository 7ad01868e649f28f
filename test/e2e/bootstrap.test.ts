// `fleetdock bootstrap` and `fleetdock uninstall` over real SSH into real build servers (systemd as
// PID 1, Debian's sshd and dockerd, no node inside): an inventory enrols three servers (root, a user
// with passwordless sudo, a host key accepted as new) while every bad host fails on its own with its
// own error (changed host key, wrong key, closed port, no dockerd, sudo wanting a password); the
// agent runs as a systemd service from the single executable; a registry mirror set afterwards
// reaches every server and `docker pull` works through it; a second bootstrap changes nothing; and
// uninstall leaves nothing of the agent behind. The operator's side is the real CLI.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from '../../lab/availability.js';
import { startBuildServer, type BuildServer } from '../../lab/build-server.js';
import { labPaths } from '../../lab/paths.js';
import { findFreePort } from '../../lab/ports.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';
import { FACTS, startTestController, type TestController } from '../controller/harness.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

const lab = requireLab();
const AGENT_BINARY = join(REPO_ROOT, 'dist/agent-bin/fleetdock-agent');
const GOOD = ['bsa', 'bsb', 'bsc'] as const;
type Good = (typeof GOOD)[number];

/** An ed25519 key pair made by ssh-keygen: the private key's path and the public key line. */
function makeKey(dir: string, name: string): { path: string; publicKey: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], { stdio: 'pipe' });
  return { path, publicKey: readFileSync(`${path}.pub`, 'utf8').trim() };
}

/** `type base64` of an OpenSSH public key line. */
function keyOf(publicKeyLine: string): string {
  return publicKeyLine.split(/\s+/).slice(0, 2).join(' ');
}

describe.skipIf(!lab)('fleetdock bootstrap and uninstall over SSH', { timeout: 120_000 }, () => {
  let dir: string;
  let controller: TestController;
  let mirror: RegistryMirror;
  const servers = {} as Record<Good | 'nodocker', BuildServer>;
  const ports = {} as Record<Good | 'nodocker' | 'closed', number>;
  let knownHosts: string;
  let inventoryYaml: string;
  let inventoryLines: string;
  let fleetKey: string;
  const hostKeyOf: Record<string, string> = {};

  const cli = (...args: string[]) => runCli(args, { ...controller.cliEnv, SSH_AUTH_SOCK: undefined }, 110_000);
  const sshArgs = () => ['--known-hosts', knownHosts, '--json'];
  const hostsOnController = async () => (await controller.api('GET', '/v1/hosts?group=fleet')).body.hosts as any[];
  const byTarget = (report: any) => Object.fromEntries((report.hosts as any[]).map((h) => [h.target, h]));
  const sh = async (server: BuildServer, command: string) => (await server.exec(command)).stdout.trim();

  beforeAll(async () => {
    if (!existsSync(join(labPaths.baseRootfs, 'usr/bin/sudo'))) {
      throw new Error(`the build-server rootfs (${labPaths.baseRootfs}) has no sudo: run \`bash lab/install.sh\` as root (it rebuilds the rootfs)`);
    }
    if (!existsSync(AGENT_BINARY)) throw new Error(`${AGENT_BINARY} is not built: run \`npm run build:agent\``);
    dir = mkdtempSync(join(tmpdir(), 'fleetdock-bootstrap-'));
    const fleet = makeKey(dir, 'fleet');
    const wrong = makeKey(dir, 'wrong');
    const stranger = makeKey(dir, 'stranger-host-key');
    fleetKey = fleet.path;
    for (const name of [...GOOD, 'nodocker', 'closed'] as const) ports[name] = await findFreePort();
    const root = { name: 'root', authorizedKeys: [fleet.publicKey] };
    const started = await Promise.all([
      startTestController(),
      startRegistryMirror(),
      startBuildServer({ name: 'bsa', sshPort: ports.bsa, sshOwnHostKey: true, bindNode: false, sshUsers: [root] }),
      startBuildServer({ name: 'bsb', sshPort: ports.bsb, sshOwnHostKey: true, bindNode: false, sshUsers: [{ name: 'bob', authorizedKeys: [fleet.publicKey], sudo: 'nopasswd' }] }),
      startBuildServer({ name: 'bsc', sshPort: ports.bsc, sshOwnHostKey: true, bindNode: false, sshUsers: [root, { name: 'carol', authorizedKeys: [fleet.publicKey], sudo: 'password' }] }),
      startBuildServer({ name: 'bsnd', sshPort: ports.nodocker, sshOwnHostKey: true, bindNode: false, docker: false, sshUsers: [root] }),
    ]);
    [controller, mirror, servers.bsa, servers.bsb, servers.bsc, servers.nodocker] = started as [TestController, RegistryMirror, BuildServer, BuildServer, BuildServer, BuildServer];
    for (const name of [...GOOD, 'nodocker'] as const) hostKeyOf[name] = keyOf(await servers[name].readFile('/etc/ssh/ssh_host_ed25519_key.pub'));

    // known_hosts as an operator has it: bsa plain, bsb hashed (by ssh-keygen -H itself), bsc not
    // yet (accepted as new), bsnd plain, and 127.0.0.2 (bsnd's sshd again) with another key.
    const hashed = join(dir, 'hashed');
    writeFileSync(hashed, `[127.0.0.1]:${ports.bsb} ${hostKeyOf.bsb}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'pipe' });
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(
      knownHosts,
      [
        `[127.0.0.1]:${ports.bsa} ${hostKeyOf.bsa}`,
        readFileSync(hashed, 'utf8').trim(),
        `[127.0.0.1]:${ports.nodocker} ${hostKeyOf.nodocker}`,
        `[127.0.0.2]:${ports.nodocker} ${keyOf(stranger.publicKey)}`,
        '',
      ].join('\n'),
    );
    expect(readFileSync(knownHosts, 'utf8')).toMatch(/^\|1\|/m);

    inventoryYaml = join(dir, 'inventory.yaml');
    writeFileSync(
      inventoryYaml,
      [
        'defaults:',
        '  group: fleet',
        `  key: ${fleet.path}`,
        'hosts:',
        `  - root@127.0.0.1:${ports.bsa}`,
        `  - host: bob@127.0.0.1:${ports.bsb}`,
        `  - root@127.0.0.1:${ports.bsc}`,
        `  - carol@127.0.0.1:${ports.bsc}          # sudo wants a password`,
        `  - host: root@127.0.0.1:${ports.bsb}     # not authorized with this key`,
        `    key: ${wrong.path}`,
        `  - root@127.0.0.1:${ports.closed}        # nothing listens`,
        `  - root@127.0.0.1:${ports.nodocker}      # no dockerd`,
        `  - root@127.0.0.2:${ports.nodocker}      # known_hosts says another key`,
        '',
      ].join('\n'),
    );
    inventoryLines = join(dir, 'hosts.txt');
    writeFileSync(inventoryLines, `# the three good ones\nroot@127.0.0.1:${ports.bsa}\nbob@127.0.0.1:${ports.bsb}\n\nroot@127.0.0.1:${ports.bsc}\n`);
    expect((await cli('group', 'create', 'fleet')).code).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([...Object.values(servers).map((s) => s.stop()), controller?.stop(), mirror?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('enrols the good servers from an inventory; each bad host fails with its own error and stops no other', async () => {
    const out = await cli('bootstrap', '--inventory', inventoryYaml, '--accept-new-host-keys', '--wait-timeout', '60', ...sshArgs());
    expect(out.code, out.stderr).toBe(1);
    const report = JSON.parse(out.stdout);
    const hosts = byTarget(report);
    const at = (user: string, port: number, address = '127.0.0.1') => hosts[`${user}@${address}:${port}`];
    for (const name of GOOD) {
      const h = at(name === 'bsb' ? 'bob' : 'root', ports[name]);
      // A failure shows the report and what the server's sshd logged (a drop before the handshake
      // says nothing on the client's side).
      const sshdLog = h?.outcome === 'enrolled' ? '' : await sh(servers[name], 'journalctl --no-pager -n 30 -u ssh.service').catch((e: Error) => e.message);
      expect(h, `${JSON.stringify(report, null, 2)}\n${name} sshd:\n${sshdLog}`).toMatchObject({ outcome: 'enrolled', name, group: 'fleet', step: null, error: null });
      expect(h.changes).toEqual(expect.arrayContaining(['/usr/local/bin/fleetdock-agent', '/etc/fleetdock/agent.env', '/etc/systemd/system/fleetdock-agent.service']));
    }
    expect(at('bob', ports.bsb).facts).toMatchObject({ user: 'bob', sudo: true, os: 'Linux', arch: 'x86_64' });
    expect(at('carol', ports.bsc)).toMatchObject({ outcome: 'failed', step: 'check', error: 'sudo needs a password for user carol' });
    expect(at('root', ports.bsb)).toMatchObject({ outcome: 'failed', step: 'auth' });
    expect(at('root', ports.bsb).error).toMatch(/^all authentication methods failed/);
    expect(at('root', ports.closed)).toMatchObject({ outcome: 'failed', step: 'connect', error: `ECONNREFUSED 127.0.0.1:${ports.closed}` });
    expect(at('root', ports.nodocker)).toMatchObject({ outcome: 'failed', step: 'check', error: 'no dockerd on the host' });
    const changed = at('root', ports.nodocker, '127.0.0.2');
    expect(changed).toMatchObject({ outcome: 'failed', step: 'host-key' });
    expect(changed.error).toMatch(/^changed \(expected SHA256:[A-Za-z0-9+/]{43}, got SHA256:[A-Za-z0-9+/]{43}\)$/);
    expect(report.summary).toMatchObject({ total: 8, enrolled: 3, failed: 5 });

    // accept-new recorded bsc's key, and only that one: its name hashed, as the file has hashed names
    // already, and OpenSSH's own lookup finds it.
    const lines = readFileSync(knownHosts, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} /);
    expect(lines[4]!.slice(lines[4]!.indexOf(' ') + 1)).toBe(hostKeyOf.bsc);
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${ports.bsc}`, '-f', knownHosts], { encoding: 'utf8' })).toContain(hostKeyOf.bsc);

    // The agent runs from the single executable as a systemd service on servers without node.
    for (const name of GOOD) {
      const server = servers[name];
      expect(await sh(server, 'systemctl is-active fleetdock-agent')).toBe('active');
      expect(await sh(server, 'readlink /proc/$(systemctl show -p MainPID --value fleetdock-agent)/exe')).toBe('/usr/local/bin/fleetdock-agent');
      expect((await server.exec('command -v node')).code).not.toBe(0);
      expect(await sh(server, 'stat -c %a /etc/fleetdock/agent.env')).toBe('600');
      // The join token was never in a process list, and once spent it left agent.env.
      expect(await sh(server, 'tr "\\0" " " < /proc/$(systemctl show -p MainPID --value fleetdock-agent)/cmdline')).not.toContain('FD1');
      expect(await sh(server, 'cat /etc/fleetdock/agent.env')).not.toContain('FLEETDOCK_JOIN_TOKEN');
    }
    const onController = await hostsOnController();
    expect(onController.map((h) => h.name).sort()).toEqual([...GOOD]);
    expect(onController.every((h) => h.connected && h.status === 'converged')).toBe(true);
    // The failed hosts got nothing.
    expect((await servers.nodocker.exec('test -e /usr/local/bin/fleetdock-agent')).code).not.toBe(0);
  });

  it('a registry mirror set afterwards reaches every server and docker pull works through it', async () => {
    const set = await cli('group', 'set', 'fleet', '--registry-mirror', mirror.url);
    expect(set.code, set.stderr).toBe(0);
    const group = (await controller.api('GET', '/v1/groups/fleet')).body;
    if (group.currentRevision !== group.revision.number) {
      const rollout = await cli('rollout', 'start', 'fleet', '--wait');
      expect(rollout.code, rollout.stderr).toBe(0);
    }
    await waitFor('three hosts converged on the mirror', async () => {
      const hosts = await hostsOnController();
      return hosts.every((h) => h.status === 'converged' && h.appliedRevision === group.revision.number) ? hosts : undefined;
    }, 60_000, 200);
    await Promise.all(
      GOOD.map(async (name) => {
        expect((await servers[name].info()).RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
        const pull = await servers[name].exec('docker pull busybox', { timeoutMs: 60_000 });
        expect(pull.code, pull.stderr).toBe(0);
      }),
    );
  });

  it('bootstrapping again changes nothing: no join token, no file written, no agent restarted', async () => {
    const tokensBefore = (await controller.api('GET', '/v1/join-tokens?group=fleet')).body.tokens.length;
    const snapshot = () =>
      Promise.all(
        GOOD.map((name) => sh(servers[name], 'stat -c %Y.%Z /usr/local/bin/fleetdock-agent /etc/fleetdock/agent.env /etc/systemd/system/fleetdock-agent.service; systemctl show -p MainPID --value fleetdock-agent')),
      );
    const before = await snapshot();
    // The line format this time, with the key on the command line.
    const out = await cli('bootstrap', '--inventory', inventoryLines, '--group', 'fleet', '-i', fleetKey, ...sshArgs());
    expect(out.code, out.stdout + out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.hosts.map((h: any) => [h.name, h.outcome, h.changes])).toEqual(GOOD.map((name) => [name, 'already-enrolled', []]));
    expect((await controller.api('GET', '/v1/join-tokens?group=fleet')).body.tokens.length).toBe(tokensBefore);
    expect(await snapshot()).toEqual(before);
    expect(before.every((s) => Number(s.split('\n').at(-1)) > 1)).toBe(true);
  });

  it('uninstall --purge-settings --remove-host leaves no agent unit, binary, state or mirror behind', async () => {
    const out = await cli('uninstall', '--inventory', inventoryLines, '-i', fleetKey, '--purge-settings', '--remove-host', ...sshArgs());
    expect(out.code, out.stdout + out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.hosts.map((h: any) => [h.name, h.outcome])).toEqual(GOOD.map((name) => [name, 'removed']));
    for (const name of GOOD) {
      const server = servers[name];
      const left = await sh(server, 'for p in /etc/systemd/system/fleetdock-agent.service /etc/systemd/system/multi-user.target.wants/fleetdock-agent.service /usr/local/bin/fleetdock-agent /etc/fleetdock /var/lib/fleetdock-agent; do test -e $p && echo $p; done; true');
      expect(left, name).toBe('');
      expect(await sh(server, 'systemctl is-active fleetdock-agent; true')).not.toBe('active');
      expect(await sh(server, 'pgrep -x fleetdock-agent; true')).toBe('');
      const daemonJson = JSON.parse(await server.readFile('/etc/docker/daemon.json'));
      expect(daemonJson).toEqual({ 'storage-driver': 'vfs', iptables: false, bridge: 'none' });
      expect((await server.info()).RegistryConfig.Mirrors ?? []).toEqual([]);
      expect((await controller.api('GET', `/v1/hosts/${name}`)).status).toBe(404);
    }
    // Once more, the host key checked against a fingerprint instead of known_hosts: a wrong one is
    // refused, the right one (as ssh-keygen -lf prints it) lets it in, to find nothing left to remove.
    const fingerprint = execFileSync('ssh-keygen', ['-lf', '-'], { input: hostKeyOf.bsa, encoding: 'utf8' }).split(' ')[1]!;
    const other = execFileSync('ssh-keygen', ['-lf', '-'], { input: hostKeyOf.bsb, encoding: 'utf8' }).split(' ')[1]!;
    const refused = await cli('uninstall', `root@127.0.0.1:${ports.bsa}`, '-i', fleetKey, '--host-key-fingerprint', other, ...sshArgs());
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).hosts[0]).toMatchObject({ outcome: 'failed', step: 'host-key', error: `changed (expected ${other}, got ${fingerprint})` });
    // This time the key comes from an ssh-agent (SSH_AUTH_SOCK), not a file.
    const socket = join(dir, 'agent.sock');
    const sshAgent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await waitFor('ssh-agent socket', () => existsSync(socket), 5_000, 50);
      execFileSync('ssh-add', ['-q', fleetKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'pipe' });
      // Meanwhile another machine enrolled as bsa. This server, without agent.env, cannot say it is that
      // bsa (its uname could be anyone's): --remove-host must leave the controller's bsa alone.
      await controller.enrol('bsa', 'fleet');
      const again = await runCli(['uninstall', `root@127.0.0.1:${ports.bsa}`, '--remove-host', '--host-key-fingerprint', fingerprint, ...sshArgs()], { ...controller.cliEnv, SSH_AUTH_SOCK: socket }, 60_000);
      expect(again.code, again.stderr).toBe(0);
      const host = JSON.parse(again.stdout).hosts[0];
      expect(host.outcome).toBe('not-installed');
      expect(host.notes.join('\n')).toContain('host not removed on the controller: this host has no agent.env saying its fleet name');
      expect((await controller.api('GET', '/v1/hosts/bsa')).status).toBe(200);
    } finally {
      sshAgent.kill('SIGTERM');
    }
  });

  it('a host that fails after its join token was minted does not leave that token usable', async () => {
    // bsc is clean again (uninstalled above). Its agent is told a controller address nobody answers,
    // so it never enrols and the wait for it runs out: the token in its agent.env must not stay valid.
    const out = await cli('bootstrap', `root@127.0.0.1:${ports.bsc}`, '-i', fleetKey, '--group', 'fleet', '--name', 'bsc',
      '--agent-controller-url', `https://127.0.0.1:${ports.closed}`, '--wait-timeout', '3', ...sshArgs());
    expect(out.code, out.stderr).toBe(1);
    const host = JSON.parse(out.stdout).hosts[0];
    expect(host).toMatchObject({ outcome: 'failed', step: 'wait' });
    const revokedNote = (host.notes as string[]).find((n) => /^the join token minted for it \(id \d+\) was revoked$/.test(n));
    expect(revokedNote, host.notes.join('\n')).toBeDefined();
    const id = Number(/id (\d+)/.exec(revokedNote!)![1]);
    const token = ((await controller.api('GET', '/v1/join-tokens?group=fleet')).body.tokens as any[]).find((t) => t.id === id);
    expect(token).toMatchObject({ id, group: 'fleet', usesLeft: 1 });
    expect(token.revokedAt).not.toBeNull();
    // The token left on the host enrols nothing.
    const onHost = /^FLEETDOCK_JOIN_TOKEN=(.*)$/m.exec(await servers.bsc.readFile('/etc/fleetdock/agent.env'))![1]!.replace(/^'|'$/g, '');
    const enrol = await controller.api('POST', '/v1/enrol', { joinToken: onHost, name: 'thief', facts: FACTS }, { token: null });
    expect(enrol.body.error, JSON.stringify(enrol.body)).toMatchObject({ code: 'JOIN_TOKEN_INVALID' });
    expect(enrol.body.error.message).toContain('join token was revoked');
    expect((await controller.api('GET', '/v1/hosts/bsc')).status).toBe(404);
  });
});
