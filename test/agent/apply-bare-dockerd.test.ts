// The agent's apply pipeline against real bare dockerds (20.10 and 26) in signal mode: real files
// under a temporary root, real SIGHUP and restart, verification through the real GET /info.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDesired, type ApplyDeps } from '../../agent/apply.js';
import { createDockerApi } from '../../agent/io/docker-api.js';
import { createSignalManager } from '../../agent/io/service-manager.js';
import { backupPath, INITIAL_STATE, type AgentState } from '../../agent/state.js';
import { SettingsSchema, type SettingsInput } from '../../protocol/settings.js';
import type { Desired } from '../../protocol/messages.js';
import { requireLab } from '../../lab/availability.js';
import { startBareDockerd, type BareDockerd } from '../../lab/dockerd.js';
import { startProxy, type LabProxy } from '../../lab/proxy.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';

const lab = requireLab();
const silent = pino({ level: 'silent' });

function desired(revision: number, settings: SettingsInput): Desired {
  return { type: 'desired', revision, settings: SettingsSchema.parse(settings) };
}

function depsFor(dockerd: BareDockerd, stateDir: string, options: { pidfile?: string; verifyTimeoutMs?: number } = {}): ApplyDeps {
  return {
    ctx: {
      root: dockerd.root,
      docker: createDockerApi(dockerd.socketPath),
      service: createSignalManager(options.pidfile ?? dockerd.pidfile, dockerd.restartCommand),
    },
    stateDir,
    verifyTimeoutMs: options.verifyTimeoutMs ?? 15_000,
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: silent,
  };
}

describe.skipIf(!lab)('apply on a real dockerd 20.10 (signal mode)', () => {
  let dockerd: BareDockerd;
  let mirror: RegistryMirror;
  let stateDir: string;
  let state: AgentState = structuredClone(INITIAL_STATE);

  beforeAll(async () => {
    mirror = await startRegistryMirror();
    dockerd = await startBareDockerd({ version: '20', daemonJson: { 'log-level': 'warn' } });
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-state-'));
  });
  afterAll(async () => {
    await dockerd?.stop();
    await mirror?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('sets a registry mirror with a reload: same pid, the mirror in /info, the pull works, foreign keys kept', async () => {
    const before = await dockerd.docker(['pull', 'busybox'], { timeoutMs: 60_000 });
    expect(before.code).not.toBe(0);
    const pid = dockerd.pid();
    const out = await applyDesired(depsFor(dockerd, stateDir), state, desired(1, { registryMirrors: [mirror.url] }));
    state = out.state;
    expect(out.result).toMatchObject({ outcome: 'applied', action: 'reload', filesChanged: ['/etc/docker/daemon.json'], error: null });
    expect(dockerd.pid()).toBe(pid);
    const info = await dockerd.info();
    expect(info.RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
    const json = dockerd.readDaemonJson();
    expect(json['log-level']).toBe('warn');
    expect(json['storage-driver']).toBe('vfs');
    expect(json['registry-mirrors']).toEqual([mirror.url]);
    const pull = await dockerd.docker(['pull', 'busybox'], { timeoutMs: 60_000 });
    expect(pull.stderr + pull.stdout).toContain('busybox');
    expect(pull.code).toBe(0);
    expect(state.appliedRevision).toBe(1);
  });

  it('does nothing for the same revision twice', async () => {
    const text = readFileSync(dockerd.daemonJsonPath, 'utf8');
    const out = await applyDesired(depsFor(dockerd, stateDir), state, desired(1, { registryMirrors: [mirror.url] }));
    expect(out.result).toMatchObject({ outcome: 'unchanged', action: 'none', filesChanged: [] });
    expect(out.result.verification?.ok).toBe(true);
    expect(readFileSync(dockerd.daemonJsonPath, 'utf8')).toBe(text);
  });

  it('refuses a daemon proxy on dockerd 20.10 without systemd and writes nothing', async () => {
    const text = readFileSync(dockerd.daemonJsonPath, 'utf8');
    const out = await applyDesired(depsFor(dockerd, stateDir), state, desired(2, { registryMirrors: [mirror.url], daemonProxy: { http: 'http://127.0.0.1:3128' } }));
    expect(out.result.outcome).toBe('failed');
    expect(out.result.error?.code).toBe('PROXY_NEEDS_SYSTEMD');
    expect(readFileSync(dockerd.daemonJsonPath, 'utf8')).toBe(text);
  });

  it('reports a broken daemon.json and leaves it byte for byte', async () => {
    const broken = readFileSync(dockerd.daemonJsonPath, 'utf8').replace(/}\s*$/, '');
    writeFileSync(dockerd.daemonJsonPath, broken);
    try {
      const out = await applyDesired(depsFor(dockerd, stateDir), state, desired(3, { registryMirrors: [] }));
      expect(out.result.outcome).toBe('failed');
      expect(out.result.error?.code).toBe('DAEMON_JSON_INVALID');
      expect(out.result.error?.message).toContain('/etc/docker/daemon.json');
      expect(readFileSync(dockerd.daemonJsonPath, 'utf8')).toBe(broken);
      expect(await createDockerApi(dockerd.socketPath).ping()).toBe(true);
    } finally {
      writeFileSync(dockerd.daemonJsonPath, `${broken}}\n`);
    }
  });

  it('rolls back when dockerd cannot be reloaded (stale pidfile) and keeps the old mirror', async () => {
    const stalePidfile = join(stateDir, 'stale.pid');
    writeFileSync(stalePidfile, `${process.pid}\n`);
    const text = readFileSync(dockerd.daemonJsonPath, 'utf8');
    const out = await applyDesired(depsFor(dockerd, stateDir, { pidfile: stalePidfile, verifyTimeoutMs: 3000 }), state, desired(4, { registryMirrors: ['http://127.0.0.1:1'] }));
    expect(out.result.outcome).toBe('rolled-back');
    expect(out.result.error?.code).toBe('ACTION_FAILED');
    expect(out.result.error?.message).toContain('not dockerd');
    expect(readFileSync(dockerd.daemonJsonPath, 'utf8')).toBe(text);
    expect((await dockerd.info()).RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
    expect(out.state.appliedRevision).toBe(state.appliedRevision);
  });

  it('clears the mirror it owns and reloads', async () => {
    const out = await applyDesired(depsFor(dockerd, stateDir), state, desired(5, {}));
    state = out.state;
    expect(out.result).toMatchObject({ outcome: 'applied', action: 'reload' });
    expect(dockerd.readDaemonJson()['registry-mirrors']).toEqual([]);
    expect(dockerd.readDaemonJson()['log-level']).toBe('warn');
    expect((await dockerd.info()).RegistryConfig.Mirrors ?? []).toEqual([]);
  });
});

describe.skipIf(!lab)('apply on a real dockerd 26 (signal mode)', () => {
  let dockerd: BareDockerd;
  let stateDir: string;

  beforeAll(async () => {
    dockerd = await startBareDockerd({ version: '26', daemonJson: { 'log-level': 'warn' } });
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-state-'));
  });
  afterAll(async () => {
    await dockerd?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('puts a daemon proxy into daemon.json "proxies", restarts once, and /info shows it masked', async () => {
    const pid = dockerd.pid();
    const out = await applyDesired(depsFor(dockerd, stateDir), structuredClone(INITIAL_STATE), desired(1, { daemonProxy: { http: 'http://builder:s3cret@127.0.0.1:3128', noProxy: ['localhost', '.internal'] } }));
    expect(out.result).toMatchObject({ outcome: 'applied', action: 'restart', filesChanged: ['/etc/docker/daemon.json'] });
    expect(dockerd.pid()).not.toBe(pid);
    expect(dockerd.readDaemonJson().proxies).toEqual({ 'http-proxy': 'http://builder:s3cret@127.0.0.1:3128', 'no-proxy': 'localhost,.internal' });
    expect(dockerd.readDaemonJson()['log-level']).toBe('warn');
    const info = await dockerd.info();
    expect(info.HttpProxy).toBe('http://xxxxx:xxxxx@127.0.0.1:3128');
    expect(info.NoProxy).toBe('localhost,.internal');
    expect(JSON.stringify(out.result)).not.toContain('s3cret');
  });
});

describe.skipIf(!lab)('a daemon proxy on a real dockerd 26 carries its pulls (real tinyproxy)', () => {
  let dockerd: BareDockerd;
  /** A private registry named registry.test: only the proxy resolves that name (TLS: tinyproxy mangles plain-HTTP pulls by tag). */
  let registry: RegistryMirror;
  let proxy: LabProxy;
  let stateDir: string;

  beforeAll(async () => {
    [registry, proxy, dockerd] = await Promise.all([
      startRegistryMirror({ tls: { names: ['registry.test'] }, seed: ['team/tool'] }),
      startProxy({ hosts: { 'registry.test': '127.0.0.1' } }),
      startBareDockerd({ version: '26', daemonJson: { 'log-level': 'warn' } }),
    ]);
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-state-'));
  });
  afterAll(async () => {
    await Promise.all([dockerd?.stop(), registry?.stop(), proxy?.stop()]);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('sets tinyproxy as the daemon proxy: "proxies" in daemon.json, /info shows it, and a pull of registry.test goes through it', async () => {
    const registryHost = `registry.test:${registry.port}`;
    const image = `${registryHost}/team/tool`;
    // Without the proxy dockerd cannot even resolve the registry's name: a pull that works later went through the proxy.
    const direct = await dockerd.docker(['pull', image], { timeoutMs: 60_000 });
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/no such host|server misbehaving|lookup registry\.test/);
    expect(proxy.requests()).toEqual([]);

    const proxyUrl = proxy.url.replace('http://', 'http://build:s3cret@');
    const before = readFileSync(dockerd.daemonJsonPath, 'utf8');
    const out = await applyDesired(depsFor(dockerd, stateDir), structuredClone(INITIAL_STATE), desired(1, {
      insecureRegistries: [registryHost],
      daemonProxy: { http: proxyUrl, https: proxyUrl, noProxy: ['localhost'] },
    }));
    expect(out.result).toMatchObject({ outcome: 'applied', action: 'restart', filesChanged: ['/etc/docker/daemon.json'], error: null });
    const json = dockerd.readDaemonJson();
    expect(json.proxies).toEqual({ 'http-proxy': proxyUrl, 'https-proxy': proxyUrl, 'no-proxy': 'localhost' });
    expect(json['insecure-registries']).toEqual([registryHost]);
    expect(json['log-level']).toBe('warn');
    // The previous daemon.json is kept in the state dir.
    expect(readFileSync(backupPath(stateDir, '/etc/docker/daemon.json'), 'utf8')).toBe(before);
    const info = await dockerd.info();
    const masked = proxy.url.replace('http://', 'http://xxxxx:xxxxx@');
    expect(info.HttpProxy).toBe(masked);
    expect(info.HttpsProxy).toBe(masked);
    expect(info.NoProxy).toBe('localhost');

    const blobGets = registry.blobGets('team/tool');
    const pull = await dockerd.docker(['pull', image], { timeoutMs: 90_000 });
    expect(pull.code, pull.stderr).toBe(0);
    // HTTPS to an insecure registry: dockerd opens a CONNECT tunnel through the proxy.
    expect(proxy.requests()).toContain(`CONNECT ${registryHost} HTTP/1.1`);
    expect(registry.blobGets('team/tool')).toBeGreaterThan(blobGets);
    expect((await dockerd.docker(['image', 'inspect', image])).code).toBe(0);
  });
});

describe.skipIf(!lab)('flag conflicts on a real dockerd', () => {
  let dockerd: BareDockerd;
  let stateDir: string;

  beforeAll(async () => {
    dockerd = await startBareDockerd({ version: '20', extraArgs: ['--registry-mirror=http://127.0.0.1:5999'] });
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-state-'));
  });
  afterAll(async () => {
    await dockerd?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('finds a --registry-mirror flag before writing, reports it, and dockerd runs on its old settings', async () => {
    const text = readFileSync(dockerd.daemonJsonPath, 'utf8');
    const pid = dockerd.pid();
    const out = await applyDesired(depsFor(dockerd, stateDir), structuredClone(INITIAL_STATE), desired(1, { registryMirrors: ['http://127.0.0.1:5000'] }));
    expect(out.result.outcome).toBe('failed');
    expect(out.result.error?.code).toBe('FLAG_CONFLICT');
    expect(out.result.error?.message).toContain('--registry-mirror');
    expect(readFileSync(dockerd.daemonJsonPath, 'utf8')).toBe(text);
    expect(dockerd.pid()).toBe(pid);
    expect((await dockerd.info()).RegistryConfig.Mirrors).toEqual(['http://127.0.0.1:5999/']);
  });
});
