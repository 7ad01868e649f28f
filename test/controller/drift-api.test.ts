// Drift and the audit log through the real controller: a raw agent reports observed states over a
// real WebSocket, the API answers GET /v1/drift, /v1/drift/history, /v1/hosts (summary), /v1/log and
// the drift policy; the CLI prints them. No proxy password in any answer.
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
    for (const [method, path] of [['GET', '/v1/drift'], ['GET', '/v1/drift/history'], ['GET', '/v1/log'], ['PUT', '/v1/groups/ci/drift-policy']] as const) {
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

describe('the drift history', () => {
  it('lists each drift period with its begin, its end (or open) and how long it lasted; filtered by group, host, since and limit', async () => {
    // A host of its own, in a group of its own, so its history is exactly what this test does.
    const { credential } = await t.enrol('bs2', 'ops');
    expect((await t.api('PUT', '/v1/groups/ops/settings', { registryMirrors: [MIRROR] })).status).toBe(201);
    const bs2 = await RawAgent.connect(t.controller.url, credential);
    try {
      await bs2.hello({ appliedRevision: 1, observed: observed([MIRROR]) });
      expect(await bs2.next()).toMatchObject({ type: 'desired', revision: 1 });
      bs2.send({ type: 'apply-result', revision: 1, outcome: 'unchanged', action: 'none', filesChanged: [], verification: { ok: true, detail: 'ok' }, error: null, durationMs: 3 });
      const history = async (query: string) => {
        const result = await t.api('GET', `/v1/drift/history${query}`);
        expect(result.status, result.text).toBe(200);
        return result.body;
      };
      expect(await history('?group=ops')).toEqual({ periods: [], truncated: false });

      // A hand edit, put right about 400 ms later: one period that ended.
      bs2.send({ type: 'observed', observed: observed([OTHER], [MIRROR]) });
      await eventually(async () => ((await history('?host=bs2')).periods.length === 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 400));
      bs2.send({ type: 'observed', observed: observed([MIRROR]) });
      await eventually(async () => ((await history('?host=bs2')).periods[0]?.endedAt ? true : undefined));
      // Then the daemon is not reloaded: a period still open.
      bs2.send({ type: 'observed', observed: observed([MIRROR], [OTHER]) });
      const body = await eventually(async () => {
        const b = await history('?group=ops');
        return b.periods.length === 2 ? b : undefined;
      });
      expect(body).toEqual({
        truncated: false,
        periods: [
          { host: 'bs2', group: 'ops', field: 'registryMirrors', kind: 'file-edited', beganAt: expect.any(String), endedAt: expect.any(String), durationMs: expect.any(Number), detail: `daemon.json has registry mirrors ${OTHER}, revision 1 says ${MIRROR}`, desiredRevision: 1, appliedRevision: 1 },
          { host: 'bs2', group: 'ops', field: 'registryMirrors', kind: 'daemon-not-reloaded', beganAt: expect.any(String), endedAt: null, durationMs: expect.any(Number), detail: expect.any(String), desiredRevision: 1, appliedRevision: 1 },
        ],
      });
      const [ended, open] = body.periods;
      expect(ended.durationMs).toBe(Date.parse(ended.endedAt) - Date.parse(ended.beganAt));
      expect(ended.durationMs).toBeGreaterThanOrEqual(300);
      expect(ended.durationMs).toBeLessThan(5_000);
      expect(Date.parse(open.beganAt)).toBeGreaterThanOrEqual(Date.parse(ended.endedAt));
      // An open period has lasted until now.
      expect(open.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(open.beganAt) + open.durationMs).toBeLessThanOrEqual(Date.now() + 1_000);
      // The open listing shows only the open one; the history keeps both.
      expect((await drift('?host=bs2')).hosts[0].drifts.map((d: any) => d.kind)).toEqual(['daemon-not-reloaded']);

      // Filters: host and group scope it; since keeps periods that lasted until then or later; limit keeps the newest.
      // (An open period's duration grows from one answer to the next.)
      const asBefore = body.periods.map((p: any) => (p.endedAt === null ? { ...p, durationMs: expect.any(Number) } : p));
      expect(await history('?host=bs2')).toEqual({ periods: asBefore, truncated: false });
      const all = await history('');
      expect(all.periods.filter((p: any) => p.host === 'bs2')).toEqual(asBefore);
      expect(all.periods.some((p: any) => p.host === 'bs1')).toBe(true);
      expect((await history('?group=ci')).periods.some((p: any) => p.host === 'bs2')).toBe(false);
      expect((await history(`?host=bs2&since=${encodeURIComponent(ended.endedAt)}`)).periods.map((p: any) => p.kind)).toEqual(['file-edited', 'daemon-not-reloaded']);
      const afterEnd = new Date(Date.parse(ended.endedAt) + 1).toISOString();
      expect((await history(`?host=bs2&since=${encodeURIComponent(afterEnd)}`)).periods.map((p: any) => p.kind)).toEqual(['daemon-not-reloaded']);
      expect(await history('?group=ops&limit=1')).toMatchObject({ periods: [{ kind: 'daemon-not-reloaded', endedAt: null }], truncated: true });
      for (const [query, status] of [['?group=nope', 404], ['?host=nope', 404], ['?since=yesterday', 400], ['?limit=0', 400], ['?limit=5000', 400], ['?colour=red', 400]] as const) {
        expect((await t.api('GET', `/v1/drift/history${query}`)).status, query).toBe(status);
      }

      // The CLI: a table, JSON, --since as a duration, and usage errors.
      const table = await runCli(['drift', '--history', '--host', 'bs2'], env);
      expect(table.code, table.stderr).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^HOST\s+GROUP\s+FIELD\s+KIND\s+BEGAN\s+ENDED\s+DURATION$/);
      expect(lines).toHaveLength(3);
      expect(lines[1]).toMatch(new RegExp(`^bs2\\s+ops\\s+registryMirrors\\s+file-edited\\s+${ended.beganAt}\\s+${ended.endedAt}\\s+${ended.durationMs}ms$`));
      expect(lines[2]).toMatch(new RegExp(`^bs2\\s+ops\\s+registryMirrors\\s+daemon-not-reloaded\\s+${open.beganAt}\\s+open\\s+\\d+(ms|s)$`));
      const json = await runCli(['drift', '--history', '--group', 'ops', '--since', '10m', '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ truncated: false, periods: asBefore });
      const limited = await runCli(['drift', '--history', '--group', 'ops', '--limit', '1'], env);
      expect(limited.stdout.split('\n')[0]).toBe('(earlier periods not shown: use --since or --limit)');
      expect((await runCli(['drift', '--history', '--since', 'last tuesday'], env)).code).toBe(2);
      const sinceAlone = await runCli(['drift', '--since', '10m'], env);
      expect(sinceAlone.code).toBe(2);
      expect(sinceAlone.stderr).toContain('--since goes with --history');
      for (const out of [table, json]) expect(out.stdout).not.toContain(CANARY);
    } finally {
      await bs2.close();
    }
  });
});
