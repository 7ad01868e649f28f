// Drift end to end on real bare dockerds (signal mode) with the real agent and the real controller:
// a hand edit of daemon.json reaches `GET /v1/drift` as file-edited within 2 s (measured), `enforce`
// puts the file back, a file changed without a reload is daemon-not-reloaded, a SIGHUP by hand is seen
// through dockerd's event stream, and with a proxy password on dockerd 26 nothing the controller
// records or answers about drift and the audit log holds the password.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle } from '../../agent/agent.js';
import { buildAgentConfig } from '../../agent/config.js';
import { requireLab } from '../../lab/availability.js';
import { startBareDockerd, type BareDockerd } from '../../lab/dockerd.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { waitFor } from '../support/wait.js';

const lab = requireLab();
const silent = pino({ level: 'silent' });
const MIRROR = 'http://mirror-a.test:5000';
const OTHER = 'http://mirror-b.test:5000';
const CANARY = 'canary-7c1e-pw';

/** Polls `probe` every 20 ms; resolves with its value and how long it took from `since`. */
async function measure<T>(what: string, since: number, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<{ value: T; ms: number }> {
  const value = await waitFor(what, probe, timeoutMs, 20);
  return { value, ms: Date.now() - since };
}

describe.skipIf(!lab)('drift on real dockerds, with the real agent and controller', () => {
  let controller: TestController;
  let d20: BareDockerd;
  let d26: BareDockerd;
  const agents: AgentHandle[] = [];
  const stateDirs: string[] = [];
  const latencies: Record<string, number> = {};

  const driftOf = async (host: string) => (await controller.api('GET', `/v1/drift?host=${host}`)).body.hosts[0]?.drifts as any[] | undefined;
  const mirrorsInFile = (d: BareDockerd) => d.readDaemonJson()['registry-mirrors'] as string[] | undefined;

  async function startAgentFor(d: BareDockerd, name: string, group: string): Promise<void> {
    const token = (await controller.api('POST', `/v1/groups/${group}/join-tokens`, {})).body.token;
    const stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    stateDirs.push(stateDir);
    const config = buildAgentConfig(
      {
        controller: controller.controller.url,
        'join-token': token,
        'state-dir': stateDir,
        root: d.root,
        'docker-host': d.dockerHost,
        'service-manager': 'signal',
        pidfile: d.pidfile,
        'restart-command': d.restartCommand,
        name,
        'verify-timeout': '20',
        // The backstop is slow on purpose: what the test measures must come from file and daemon events.
        'check-interval': '60',
      },
      false,
    );
    agents.push(await startAgent(config, silent));
  }

  async function converged(name: string, revision: number) {
    await waitFor(`${name} converged on revision ${revision}`, async () => {
      const h = (await controller.api('GET', `/v1/hosts/${name}`)).body;
      return h?.status === 'converged' && h.appliedRevision === revision && h.observed?.appliedRevision === revision ? h : undefined;
    }, 60_000, 100);
    await waitFor(`${name} without drift`, async () => ((await driftOf(name)) === undefined ? true : undefined), 10_000, 50);
  }

  beforeAll(async () => {
    [controller, d20, d26] = await Promise.all([
      startTestController({ config: { driftEnforceIntervalMs: 5_000 } }),
      startBareDockerd({ version: '20', daemonJson: { 'log-level': 'warn' } }),
      startBareDockerd({ version: '26', daemonJson: { 'log-level': 'warn' } }),
    ]);
    expect((await controller.api('POST', '/v1/groups', { name: 'builders' })).status).toBe(201);
    expect((await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [MIRROR] })).status).toBe(201);
    await startAgentFor(d20, 'bs20', 'builders');
    await converged('bs20', 1);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all([controller?.stop(), d20?.stop(), d26?.stop()]);
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
    console.log(`drift detection latency (hand edit -> GET /v1/drift): ${JSON.stringify(latencies)}`);
  });

  it('reports a hand edit of daemon.json as file-edited registryMirrors within 2 seconds', async () => {
    expect(mirrorsInFile(d20)).toEqual([MIRROR]);
    const edited = Date.now();
    d20.writeDaemonJson({ ...d20.readDaemonJson(), 'registry-mirrors': [OTHER] });
    const { value: drifts, ms } = await measure('file-edited drift', edited, async () => {
      const list = await driftOf('bs20');
      return list?.find((d) => d.field === 'registryMirrors' && d.kind === 'file-edited') ? list : undefined;
    });
    latencies.fileEdited = ms;
    expect(ms).toBeLessThan(2_000);
    expect(drifts).toEqual([expect.objectContaining({ field: 'registryMirrors', kind: 'file-edited', expected: [MIRROR], actual: [OTHER] })]);
    // The daemon was not touched by anyone: it still has the desired mirror.
    expect((await d20.info()).RegistryConfig.Mirrors).toEqual([`${MIRROR}/`]);
  });

  it('in enforce, puts the file back and reloads dockerd; the drift ends', async () => {
    const pid = d20.pid();
    const started = Date.now();
    expect((await controller.api('PUT', '/v1/groups/builders/drift-policy', { policy: 'enforce' })).body.changed).toBe(true);
    await waitFor('daemon.json put back', async () => (mirrorsInFile(d20)?.[0] === MIRROR ? true : undefined), 20_000, 50);
    const { ms } = await measure('no drift', started, async () => ((await driftOf('bs20')) === undefined ? true : undefined));
    latencies.enforcedBack = ms;
    expect(d20.readDaemonJson()['log-level']).toBe('warn');
    expect((await d20.info()).RegistryConfig.Mirrors).toEqual([`${MIRROR}/`]);
    expect(d20.pid()).toBe(pid); // a reload, not a restart
    expect((await controller.api('PUT', '/v1/groups/builders/drift-policy', { policy: 'audit' })).status).toBe(200);
  });

  it('reports a file changed without a reload as daemon-not-reloaded, and sees a SIGHUP by hand at once', async () => {
    // dockerd takes another mirror (edit + SIGHUP), then the file is put right without a reload.
    d20.writeDaemonJson({ ...d20.readDaemonJson(), 'registry-mirrors': [OTHER] });
    d20.reload();
    await waitFor('dockerd on the other mirror', async () => ((await d20.info()).RegistryConfig.Mirrors?.[0] === `${OTHER}/` ? true : undefined), 10_000, 50);
    await waitFor('file-edited first', async () => ((await driftOf('bs20'))?.some((d) => d.kind === 'file-edited') ? true : undefined), 5_000, 20);
    const fixed = Date.now();
    d20.writeDaemonJson({ ...d20.readDaemonJson(), 'registry-mirrors': [MIRROR] });
    const { value: drifts, ms } = await measure('daemon-not-reloaded', fixed, async () => {
      const list = await driftOf('bs20');
      return list?.some((d) => d.field === 'registryMirrors' && d.kind === 'daemon-not-reloaded') ? list : undefined;
    });
    latencies.daemonNotReloaded = ms;
    expect(ms).toBeLessThan(2_000);
    expect(drifts).toEqual([expect.objectContaining({ field: 'registryMirrors', kind: 'daemon-not-reloaded', expected: [MIRROR], actual: [OTHER] })]);

    // Someone reloads dockerd by hand: no file changes, dockerd's `reload` event tells the agent.
    const reloaded = Date.now();
    d20.reload();
    const back = await measure('drift over after the SIGHUP', reloaded, async () => ((await driftOf('bs20')) === undefined ? true : undefined));
    latencies.reloadSeen = back.ms;
    expect(back.ms).toBeLessThan(2_000);
  });

  it('records the host events and operator actions in the audit log', async () => {
    const entries = (await controller.api('GET', '/v1/log?host=bs20&limit=1000')).body.entries as any[];
    const actions = entries.map((e) => e.action);
    expect(actions.slice(0, 2)).toEqual(['host.enrol', 'host.applied']);
    expect(actions).toEqual(expect.arrayContaining(['host.drifted', 'drift.enforce', 'host.converged']));
    expect(actions.filter((a) => a === 'host.drifted').length).toBeGreaterThanOrEqual(3);
    expect(entries.find((e) => e.action === 'host.drifted').details.drifts[0]).toMatchObject({ field: 'registryMirrors', kind: 'file-edited', actual: [OTHER] });
    const groupLog = (await controller.api('GET', '/v1/log?group=builders&limit=1000')).body.entries.map((e: any) => e.action);
    expect(groupLog).toEqual(expect.arrayContaining(['group.create', 'settings.set', 'token.create', 'group.drift-policy']));
  });

  it('keeps a proxy password (dockerd 26, daemon.json proxies) out of drift records, the audit log and the answers', async () => {
    expect((await controller.api('POST', '/v1/groups', { name: 'proxied' })).status).toBe(201);
    const settings = { registryMirrors: [MIRROR], daemonProxy: { http: `http://builder:${CANARY}@127.0.0.1:3128`, noProxy: ['localhost'] } };
    expect((await controller.api('PUT', '/v1/groups/proxied/settings', settings)).status).toBe(201);
    await startAgentFor(d26, 'bs26', 'proxied');
    await converged('bs26', 1);
    expect(d26.readDaemonJson().proxies).toEqual({ 'http-proxy': `http://builder:${CANARY}@127.0.0.1:3128`, 'no-proxy': 'localhost' });

    // Hand edit of the proxy, password and all.
    const edited = Date.now();
    d26.writeDaemonJson({ ...d26.readDaemonJson(), proxies: { 'http-proxy': `http://builder:${CANARY}@10.9.9.9:3128`, 'no-proxy': 'localhost' } });
    const { value: drifts, ms } = await measure('daemonProxy file-edited', edited, async () => {
      const list = await driftOf('bs26');
      return list?.some((d) => d.field === 'daemonProxy' && d.kind === 'file-edited') ? list : undefined;
    });
    latencies.proxyFileEdited = ms;
    expect(ms).toBeLessThan(2_000);
    expect(drifts.find((d) => d.field === 'daemonProxy')).toMatchObject({
      expected: { http: 'http://xxxxx:xxxxx@127.0.0.1:3128', https: null, noProxy: ['localhost'] },
      actual: { http: 'http://xxxxx:xxxxx@10.9.9.9:3128', https: null, noProxy: ['localhost'] },
    });

    const answers = await Promise.all(['/v1/drift', '/v1/log?limit=1000', '/v1/hosts', '/v1/hosts/bs26'].map(async (path) => (await controller.api('GET', path)).text));
    for (const text of answers) expect(text).not.toContain(CANARY);
    const db = new Database(join(controller.dataDir, 'fleetdock.db'), { readonly: true, fileMustExist: true });
    try {
      const dump = (table: string) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all());
      expect(dump('audit_log')).toContain('host.drifted');
      expect(dump('audit_log')).not.toContain(CANARY);
      expect(dump('drift_periods')).toContain('10.9.9.9');
      expect(dump('drift_periods')).not.toContain(CANARY);
      expect(dump('hosts')).not.toContain(CANARY); // the agent reports observed state redacted
    } finally {
      db.close();
    }
    expect(readFileSync(d26.daemonJsonPath, 'utf8')).toContain(CANARY); // the host itself keeps it: it needs it
  });
});
