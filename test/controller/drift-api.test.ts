// Drift and the audit log through the real controller: a raw agent reports observed states over a
// real WebSocket, the API answers GET /v1/drift, /v1/hosts (summary), /v1/log and the drift policy;
// the CLI prints them. No proxy password in any answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawAgent, eventually, startTestController, type TestController } from './harness.js';
import { ensureCliBuilt, runCli } from '../support/cli.js';

const MIRROR = 'http://mirror.internal:5000';
const OTHER = 'http://evil.example:5000';
const CANARY = 'canary-pw-7f3a';

function observed(mirrors: string[], daemonMirrors = mirrors, appliedRevision = 1) {
  return {
    at: new Date().toISOString(),
    appliedRevision,
    files: { daemonJson: 'ok', daemonJsonSha256: null, registryMirrors: mirrors, insecureRegistries: [], daemonJsonProxy: null, dropInProxy: { http: 'http://xxxxx:xxxxx@proxy.internal:3128', https: null, noProxy: [] }, clientProxies: {} },
    daemon: { running: true, version: '20.10.24', registryMirrors: daemonMirrors, insecureRegistries: [], proxy: { http: 'http://xxxxx:xxxxx@proxy.internal:3128', https: null, noProxy: [] }, liveRestore: false },
  };
}

let t: TestController;
let agent: RawAgent;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureCliBuilt();
  t = await startTestController({ config: { driftEnforceIntervalMs: 60_000 } });
  env = t.cliEnv;
  const { credential } = await t.enrol('bs1', 'ci');
  const set = await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: [MIRROR], daemonProxy: { http: `http://builder:${CANARY}@proxy.internal:3128` } });
  expect(set.status).toBe(201);
  agent = await RawAgent.connect(t.controller.url, credential);
  await agent.hello({ appliedRevision: 1, observed: observed([MIRROR]) });
  expect(await agent.next()).toMatchObject({ type: 'desired', revision: 1 });
  agent.send({ type: 'apply-result', revision: 1, outcome: 'unchanged', action: 'none', filesChanged: [], verification: { ok: true, detail: 'ok' }, error: null, durationMs: 3 });
}, 180_000);

afterAll(async () => {
  await agent?.close();
  await t?.stop();
});

const drift = async (query = '') => (await t.api('GET', `/v1/drift${query}`)).body;

describe('drift over the API', () => {
  it('refuses callers without an operator token', async () => {
    for (const [method, path] of [['GET', '/v1/drift'], ['GET', '/v1/log'], ['PUT', '/v1/groups/ci/drift-policy']] as const) {
      expect((await t.api(method, path, method === 'PUT' ? { policy: 'enforce' } : undefined, { token: null })).status).toBe(401);
    }
  });

  it('shows a converged host as no drift, and a hand edit as file-edited within moments', async () => {
    await eventually(async () => ((await drift()).summary.converged === 1 ? true : undefined));
    expect(await drift()).toEqual({ summary: { total: 1, converged: 1, drifted: 0, behind: 0, offline: 0, failed: 0 }, hosts: [] });

    const sent = Date.now();
    agent.send({ type: 'observed', observed: observed([OTHER], [MIRROR]) });
    const body = await eventually(async () => {
      const b = await drift('?group=ci');
      return b.hosts.length ? b : undefined;
    });
    expect(Date.now() - sent).toBeLessThan(1_000);
    expect(body.hosts).toEqual([
      {
        name: 'bs1',
        group: 'ci',
        connected: true,
        desiredRevision: 1,
        appliedRevision: 1,
        drifts: [{ field: 'registryMirrors', kind: 'file-edited', since: expect.any(String), expected: [MIRROR], actual: [OTHER], detail: `daemon.json has registry mirrors ${OTHER}, revision 1 says ${MIRROR}` }],
      },
    ]);
    expect(body.summary).toMatchObject({ total: 1, drifted: 1, converged: 0 });
    expect((await t.api('GET', '/v1/hosts')).body.summary).toEqual(body.summary);
    expect((await drift('?host=bs1')).hosts).toHaveLength(1);
    expect((await t.api('GET', '/v1/drift?group=nope')).status).toBe(404);
    expect((await t.api('GET', '/v1/drift?host=nope')).status).toBe(404);
    expect((await t.api('GET', '/v1/drift?colour=red')).status).toBe(400);
  });

  it('in enforce, re-sends the desired revision to the drifted host at once, and only once per interval', async () => {
    expect((await t.api('PUT', '/v1/groups/ci/drift-policy', { policy: 'sometimes' })).status).toBe(400);
    expect((await t.api('PUT', '/v1/groups/nope/drift-policy', { policy: 'enforce' })).status).toBe(404);
    const set = await t.api('PUT', '/v1/groups/ci/drift-policy', { policy: 'enforce' });
    expect(set.body).toEqual({ group: 'ci', policy: 'enforce', previous: 'audit', changed: true });
    expect((await t.api('GET', '/v1/groups/ci')).body.driftPolicy).toBe('enforce');
    expect(await agent.next()).toMatchObject({ type: 'desired', revision: 1, settings: { registryMirrors: [MIRROR] } });
    // Edited once more right away: within the interval, nothing is re-sent.
    agent.send({ type: 'observed', observed: observed([`${OTHER}0`], [MIRROR]) });
    expect(await agent.quietFor(300)).toBe(true);
    // The agent puts it back.
    agent.send({ type: 'apply-result', revision: 1, outcome: 'applied', action: 'reload', filesChanged: ['/etc/docker/daemon.json'], verification: { ok: true, detail: 'ok' }, error: null, durationMs: 40 });
    agent.send({ type: 'observed', observed: observed([MIRROR]) });
    await eventually(async () => ((await drift()).hosts.length === 0 ? true : undefined));
    expect((await t.api('PUT', '/v1/groups/ci/drift-policy', { policy: 'enforce' })).body.changed).toBe(false);
    expect((await t.api('PUT', '/v1/groups/ci/drift-policy', { policy: 'audit' })).body).toMatchObject({ policy: 'audit', previous: 'enforce' });
  });

  it('reports a daemon that was not reloaded', async () => {
    agent.send({ type: 'observed', observed: observed([MIRROR], [OTHER]) });
    const body = await eventually(async () => {
      const b = await drift();
      return b.hosts.length ? b : undefined;
    });
    expect(body.hosts[0].drifts).toMatchObject([{ field: 'registryMirrors', kind: 'daemon-not-reloaded', expected: [MIRROR], actual: [OTHER] }]);
    agent.send({ type: 'observed', observed: observed([MIRROR]) });
    await eventually(async () => ((await drift()).hosts.length === 0 ? true : undefined));
  });
});

describe('the audit log', () => {
  it('holds operator actions and host events, in order, filtered, and never a password', async () => {
    const log = await t.api('GET', '/v1/log?limit=1000');
    expect(log.status).toBe(200);
    const actions = log.body.entries.map((e: any) => e.action);
    expect(actions).toEqual([
      'group.create',
      'token.create',
      'host.enrol',
      'settings.set',
      'host.drifted',
      'group.drift-policy',
      'drift.enforce',
      'host.applied',
      'host.converged',
      'group.drift-policy',
      'host.drifted',
      'host.converged',
    ]);
    expect(log.body.entries.find((e: any) => e.action === 'settings.set')).toMatchObject({ actor: 'admin', group: 'ci', fromRevision: null, toRevision: 1, details: { changed: ['registryMirrors', 'daemonProxy'], current: true } });
    expect(log.body.entries.find((e: any) => e.action === 'drift.enforce')).toMatchObject({ actor: 'controller', host: 'bs1', toRevision: 1, details: { drifts: [{ field: 'registryMirrors', kind: 'file-edited' }] } });
    expect(log.text).not.toContain(CANARY);
    expect((await t.api('GET', '/v1/drift')).text).not.toContain(CANARY);

    const hostOnly = (await t.api('GET', '/v1/log?host=bs1')).body.entries.map((e: any) => e.action);
    expect(hostOnly).toEqual(['host.enrol', 'host.drifted', 'drift.enforce', 'host.applied', 'host.converged', 'host.drifted', 'host.converged']);
    const last = log.body.entries.at(-1);
    expect((await t.api('GET', `/v1/log?since=${encodeURIComponent(last.at)}`)).body.entries.map((e: any) => e.id)).toContain(last.id);
    expect((await t.api('GET', '/v1/log?since=2999-01-01T00:00:00Z')).body).toEqual({ entries: [], truncated: false });
    expect((await t.api('GET', '/v1/log?limit=2')).body).toMatchObject({ entries: [{ action: 'host.drifted' }, { action: 'host.converged' }], truncated: true });
    expect((await t.api('GET', '/v1/log?since=yesterday')).status).toBe(400);
    expect((await t.api('GET', '/v1/log?limit=0')).status).toBe(400);
    expect((await t.api('GET', '/v1/log?limit=5000')).status).toBe(400);
  });
});

describe('the CLI', () => {
  it('fleetdock drift, log, group set-policy and the summary in hosts', async () => {
    agent.send({ type: 'observed', observed: observed([OTHER], [MIRROR]) });
    await eventually(async () => ((await drift()).hosts.length ? true : undefined));

    const table = await runCli(['drift'], env);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^HOST\s+GROUP\s+FIELD\s+KIND\s+SINCE\s+EXPECTED\s+ACTUAL$/);
    expect(table.stdout).toMatch(new RegExp(`bs1\\s+ci\\s+registryMirrors\\s+file-edited\\s+\\d+s ago\\s+${MIRROR}\\s+${OTHER}`));
    expect(table.stdout).toContain('1 host: 0 converged, 1 drifted, 0 behind, 0 offline, 0 failed');
    const json = await runCli(['drift', '--group', 'ci', '--json'], env);
    expect(JSON.parse(json.stdout).hosts[0]).toMatchObject({ name: 'bs1', drifts: [{ field: 'registryMirrors', kind: 'file-edited', actual: [OTHER] }] });

    const hosts = await runCli(['hosts'], env);
    expect(hosts.stdout).toContain('1 host: 0 converged, 1 drifted, 0 behind, 0 offline, 0 failed');

    const policy = await runCli(['group', 'set-policy', 'ci', 'enforce'], env);
    expect(policy).toMatchObject({ code: 0, stdout: 'group ci: drift policy enforce\n' });
    expect((await runCli(['group', 'set-policy', 'ci', 'never'], env)).code).toBe(2);
    expect((await runCli(['group', 'show', 'ci'], env)).stdout).toMatch(/^drift policy +enforce$/m);
    expect(await agent.next()).toMatchObject({ type: 'desired', revision: 1 });
    expect((await runCli(['group', 'set-policy', 'ci', 'audit'], env)).code).toBe(0);

    const log = await runCli(['log', '--host', 'bs1', '--since', '10m'], env);
    expect(log.code).toBe(0);
    expect(log.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+GROUP\s+HOST\s+REVISION\s+DETAILS$/);
    expect(log.stdout).toMatch(/host:bs1\s+host\.enrol\s+ci\s+bs1/);
    expect(log.stdout).toMatch(/controller\s+drift\.enforce\s+ci\s+bs1\s+1->1/);
    const logJson = JSON.parse((await runCli(['log', '--group', 'ci', '--json', '--limit', '3'], env)).stdout);
    expect(logJson.entries).toHaveLength(3);
    expect(logJson.truncated).toBe(true);
    const bad = await runCli(['log', '--since', 'last tuesday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "last tuesday" is neither an ISO time');
    for (const out of [table, json, hosts, log]) expect(out.stdout).not.toContain(CANARY);
  });
});
