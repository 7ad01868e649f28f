// Bare dockerd hosts (20.10 and 26): start, /info, SIGHUP reload, the generated restart script that
// fleetdock's agent runs in "signal" mode, and a stop that leaves nothing behind.
import { existsSync, readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab, startBareDockerd, type BareDockerd } from '../../lab/index.js';
import { pidsWithArgument } from '../../lab/processes.js';

const labReady = requireLab();
const run = promisify(execFile);

/**
 * Runs the restart script the way the agent will: a plain command, exit code and output. With an empty
 * environment, so the script cannot lean on the test's PATH or proxy variables.
 */
async function runRestartScript(d: BareDockerd): Promise<{ code: number; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    const r = await run(d.restartCommand, [], { timeout: 60_000, env: {} });
    return { code: 0, stderr: r.stderr, ms: Date.now() - t0 };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stderr: err.stderr ?? '', ms: Date.now() - t0 };
  }
}

describe.skipIf(!labReady).each(['20', '26'] as const)('bare dockerd %s', (version) => {
  let d: BareDockerd;
  beforeAll(async () => {
    d = await startBareDockerd({ version, daemonJson: { 'log-level': 'info' } });
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('reports its version and the lab settings in /info', async () => {
    const info = await d.info();
    expect(info.ServerVersion).toMatch(version === '20' ? /^20\.10\./ : /^26\./);
    expect(info.Driver).toBe('vfs');
    expect(info.RegistryConfig.Mirrors ?? []).toEqual([]);
    expect(d.readDaemonJson()).toEqual({ 'storage-driver': 'vfs', iptables: false, bridge: 'none', 'log-level': 'info' });
    const cli = await d.docker(['version', '--format', '{{.Server.Version}}']);
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim()).toBe(info.ServerVersion);
  });

  it('reloads registry-mirrors and insecure-registries on SIGHUP, same pid', async () => {
    const pid = d.pid();
    d.writeDaemonJson({ ...d.readDaemonJson(), 'registry-mirrors': ['http://127.0.0.1:5999'], 'insecure-registries': ['registry.test:5999'] });
    d.reload();
    await expect.poll(async () => (await d.info()).RegistryConfig.Mirrors, { timeout: 10_000 }).toEqual(['http://127.0.0.1:5999/']);
    expect(Object.keys((await d.info()).RegistryConfig.IndexConfigs)).toContain('registry.test:5999');
    expect(d.pid()).toBe(pid);
  });

  it('restart.sh restarts dockerd with the same arguments: new pid, settings kept', async () => {
    const before = d.pid();
    const r = await runRestartScript(d);
    expect(r.code, r.stderr).toBe(0);
    expect(d.pid()).not.toBe(before);
    const info = await d.info();
    expect(info.RegistryConfig.Mirrors).toEqual(['http://127.0.0.1:5999/']);
    expect(info.Driver).toBe('vfs');
  });

  it('restart.sh fails fast when dockerd rejects daemon.json, and works again once it is fixed', async () => {
    const good = d.readDaemonJson();
    d.writeDaemonJson({ ...good, 'no-such-option': true });
    const bad = await runRestartScript(d);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unable to configure the Docker daemon|don't match any configuration option/);
    expect(bad.ms).toBeLessThan(20_000);
    d.writeDaemonJson(good);
    const fixed = await runRestartScript(d);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await d.info()).ServerVersion).toMatch(version === '20' ? /^20\./ : /^26\./);
  });

  it('stop() ends dockerd and its containerd, even after restarts, and removes its dir', async () => {
    const root = d.root;
    expect(pidsWithArgument(root + '/').length).toBeGreaterThanOrEqual(2); // dockerd + containerd
    await d.stop();
    expect(pidsWithArgument(root + '/')).toEqual([]);
    expect(existsSync(root)).toBe(false);
  });
});

describe.skipIf(!labReady)('bare dockerd options', () => {
  it('passes env to dockerd: HTTP_PROXY shows in /info', async () => {
    const d = await startBareDockerd({ version: '20', env: { HTTP_PROXY: 'http://127.0.0.1:3128', NO_PROXY: 'localhost' } });
    try {
      const info = await d.info();
      expect(info.HttpProxy).toBe('http://127.0.0.1:3128');
      expect(info.NoProxy).toBe('localhost');
    } finally {
      await d.stop();
    }
  });

  it('runs two at once, each its own daemon', async () => {
    const [a, b] = await Promise.all([startBareDockerd({ version: '20' }), startBareDockerd({ version: '26' })]);
    try {
      expect(a.socketPath).not.toBe(b.socketPath);
      expect((await a.info()).ID).not.toBe((await b.info()).ID);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('rejects with dockerd\'s own error when daemon.json is invalid at start, leaving nothing behind', async () => {
    const labDirs = (): string[] => readdirSync('/tmp').filter((n) => n.startsWith('fdl-')).sort();
    const before = labDirs();
    // dockerd 20.10 does not know daemon.json `proxies` (Docker >= 23) and refuses to start.
    const err = await startBareDockerd({ version: '20', daemonJson: { proxies: { 'http-proxy': 'http://x:1' } } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited during start[\s\S]*don't match any configuration option/);
    expect(labDirs()).toEqual(before);
  });
});
