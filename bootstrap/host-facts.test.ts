// The probes' output into facts and the problems that stop a bootstrap, fed with what real hosts print.
import { describe, expect, it } from 'vitest';
import { elfArchitecture, interpretLoginProbe, interpretRootProbe, parseProbeOutput } from './host-facts.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const login = (over: Record<string, string> = {}) =>
  Object.entries({ os: 'Linux', arch: 'x86_64', nodename: 'bs1', uid: '0', user: 'root', pid1: 'systemd', systemd_running: 'yes', sudo: 'present', ...over })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
const rootProbe = (over: Record<string, string | null> = {}) =>
  Object.entries({
    dockerd: '/usr/sbin/dockerd',
    dockerd_version: 'Docker version 20.10.24+dfsg1, build 297e128',
    docker_active: 'active',
    docker_server_version: '20.10.24+dfsg1',
    live_restore: 'false',
    agent_state: 'absent',
    agent_active: 'inactive',
    agent_enabled: 'not-found',
    agent_pid: '0',
    ...over,
  })
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

describe('parseProbeOutput', () => {
  it('reads key=value lines; values may hold =; junk is ignored', () => {
    expect([...parseProbeOutput('a=1\nb=x=y\r\njunk\n=z\nc=\n')]).toEqual([
      ['a', '1'],
      ['b', 'x=y'],
      ['c', ''],
    ]);
  });
});

describe('interpretLoginProbe', () => {
  it('a good root host has no problem and needs no sudo', () => {
    const r = interpretLoginProbe(login(), 'x86_64');
    expect(r.problems).toEqual([]);
    expect(r.facts).toMatchObject({ os: 'Linux', arch: 'x86_64', nodename: 'bs1', uid: 0, needsSudo: false, sudoProblem: null });
  });

  it.each([
    ['another OS', { os: 'FreeBSD' }, 'x86_64', 'the host runs FreeBSD, not Linux'],
    ['another architecture', { arch: 'aarch64' }, 'x86_64', "the host's architecture is aarch64, the agent binary is for x86_64"],
    ['no systemd', { pid1: 'init', systemd_running: 'no' }, 'x86_64', 'PID 1 is init, not systemd (the agent runs as a systemd service)'],
    ['a user without sudo installed', { uid: '1000', user: 'bob', sudo: 'absent' }, 'x86_64', 'user bob is not root and sudo is not installed'],
    ['sudo wanting a password', { uid: '1000', user: 'bob', sudo_ok: 'no', sudo_error: 'sudo: a password is required' }, 'x86_64', 'sudo needs a password for user bob'],
    ['sudo refusing otherwise', { uid: '1000', user: 'bob', sudo_ok: 'no', sudo_error: 'sudo: account validation failure' }, 'x86_64', 'sudo -n true failed for user bob: sudo: account validation failure'],
  ])('%s', (_what, over, arch, problem) => {
    expect(interpretLoginProbe(login(over), arch).problems).toEqual([problem]);
  });

  it('a user with passwordless sudo is fine and goes through sudo', () => {
    const r = interpretLoginProbe(login({ uid: '1000', user: 'bob', sudo_ok: 'yes' }), 'x86_64');
    expect(r.problems).toEqual([]);
    expect(r.facts.needsSudo).toBe(true);
  });

  it('does not check the architecture of a binary it cannot read', () => {
    expect(interpretLoginProbe(login({ arch: 'riscv64' }), null).problems).toEqual([]);
  });

  it('says so when the host did not answer like a shell', () => {
    expect(interpretLoginProbe('This account is currently not available.\n', 'x86_64').problems[0]).toMatch(/did not answer the probe like a POSIX shell/);
  });
});

describe('interpretRootProbe', () => {
  it('reads dockerd, live-restore and what of the agent is installed', () => {
    const r = interpretRootProbe(
      rootProbe({
        live_restore: 'true',
        agent_sha256: 'ab'.repeat(32),
        unit_b64: b64('[Unit]\n'),
        env_b64: b64('FLEETDOCK_AGENT_OPTS=--name bs1\n'),
        agent_state: 'present',
        agent_active: 'active',
        agent_enabled: 'enabled',
        agent_pid: '4242',
      }),
    );
    expect(r.problems).toEqual([]);
    expect(r.notes).toEqual(['live-restore on: a dockerd restart keeps containers running']);
    expect(r.facts).toMatchObject({ dockerd: '/usr/sbin/dockerd', dockerVersion: '20.10.24+dfsg1', dockerActive: 'active', liveRestore: true });
    expect(r.facts.agent).toEqual({ binarySha256: 'ab'.repeat(32), unitText: '[Unit]\n', envText: 'FLEETDOCK_AGENT_OPTS=--name bs1\n', statePresent: true, active: true, enabled: true, pid: 4242 });
  });

  it('no dockerd stops the host', () => {
    const r = interpretRootProbe(rootProbe({ dockerd: '', dockerd_version: null, docker_active: 'inactive', docker_server_version: null, live_restore: null }));
    expect(r.problems).toEqual(['no dockerd on the host']);
    expect(r.notes).toEqual([]);
  });

  it('takes the version from dockerd --version and live-restore from daemon.json while dockerd is down', () => {
    const r = interpretRootProbe(rootProbe({ docker_active: 'failed', docker_server_version: null, live_restore: null, daemon_json_b64: b64('{"live-restore": true}') }));
    expect(r.problems).toEqual([]);
    expect(r.facts.dockerVersion).toBe('20.10.24+dfsg1');
    expect(r.facts.liveRestore).toBe(true);
    expect(r.notes[0]).toBe('docker.service is failed: the agent applies settings once dockerd runs');
  });

  it('a dockerd whose version cannot be read is a problem', () => {
    expect(interpretRootProbe(rootProbe({ dockerd_version: 'segfault', docker_server_version: null })).problems).toEqual([
      'cannot tell dockerd\'s version (dockerd --version said "segfault")',
    ]);
  });

  it('knows nothing of the agent on a fresh host', () => {
    expect(interpretRootProbe(rootProbe()).facts.agent).toEqual({ binarySha256: null, unitText: null, envText: null, statePresent: false, active: false, enabled: false, pid: 0 });
  });
});

describe('elfArchitecture', () => {
  const header = (machine: number, littleEndian = true) => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(0x7f454c46, 0);
    b[5] = littleEndian ? 1 : 2;
    if (littleEndian) b.writeUInt16LE(machine, 18);
    else b.writeUInt16BE(machine, 18);
    return b;
  };
  it.each([
    [header(0x3e), 'x86_64'],
    [header(0xb7), 'aarch64'],
    [header(0x15, false), 'ppc64le'],
    [header(0x9999), null],
    [Buffer.from('#!/bin/sh\nexec node agent.js\n'), null],
  ])('%#', (bytes, arch) => {
    expect(elfArchitecture(bytes)).toBe(arch);
  });

  it('reads the running node binary (an ELF for this machine)', async () => {
    const { openSync, readSync, closeSync } = await import('node:fs');
    const fd = openSync(process.execPath, 'r');
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    closeSync(fd);
    const own = elfArchitecture(head);
    expect(own).toBe(process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : own);
  });
});
