// The agent hub over real WebSocket connections, with a raw `ws` client standing in for the agent:
// who may connect, what the controller sends when, what it records, and how it survives bad input.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { FACTS, RawAgent, applyResult, eventually, startTestController, type TestController } from './harness.js';

let t: TestController;
let credential: string;
let hostId: string;
const agents: RawAgent[] = [];

async function connect(cred: string | null = credential, options: { autoPong?: boolean } = {}): Promise<RawAgent> {
  const agent = await RawAgent.connect(t.controller.url, cred, options);
  agents.push(agent);
  return agent;
}

/** An agent's observed state: daemon.json and dockerd both with `mirror`. */
function observedState(at: string, appliedRevision: number | null, mirror: string, daemon: { version?: string; liveRestore?: boolean } = {}) {
  return {
    at,
    appliedRevision,
    files: { daemonJson: 'ok', daemonJsonSha256: null, registryMirrors: [mirror], insecureRegistries: [], daemonJsonProxy: null, dropInProxy: null, clientProxies: {} },
    daemon: { running: true, version: daemon.version ?? '26.1.5', registryMirrors: [mirror], insecureRegistries: [], proxy: { http: null, https: null, noProxy: [] }, liveRestore: daemon.liveRestore ?? true },
  };
}

async function host(name = 'bs1'): Promise<any> {
  return (await t.api('GET', `/v1/hosts/${name}`)).body;
}

beforeEach(async () => {
  t = await startTestController({ heartbeatIntervalMs: 100 });
  ({ credential, hostId } = await t.enrol('bs1', 'ci'));
});

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.ws.terminate();
  await t.stop();
});

describe('connecting', () => {
  it.each([
    ['no credential', null],
    ['an unknown credential', 'A'.repeat(43)],
    ['a malformed header value', 'two words'],
  ])('refuses %s with HTTP 401', async (_name, cred) => {
    const refused = await RawAgent.connect(t.controller.url, cred).catch((e) => e);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body).error.code).toBe('CREDENTIAL_INVALID');
  });

  it('refuses other paths with HTTP 404', async () => {
    const refused = await RawAgent.connect(t.controller.url, credential, { path: '/v1/other' }).catch((e) => e);
    expect(refused.status).toBe(404);
  });

  it('answers hello with welcome and no desired while the group has no revision', async () => {
    const agent = await connect();
    const welcome = await agent.hello();
    expect(welcome).toEqual({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, hostId, name: 'bs1', group: 'ci' });
    expect(await agent.quietFor(200)).toBe(true);
    expect(await host()).toMatchObject({ connected: true, status: 'converged', desiredRevision: null, facts: { hostname: 'bs1' } });
  });

  it('takes the identity from the credential, not from anything the agent says', async () => {
    const { credential: other } = await t.enrol('bs2', 'ci');
    const agent = await connect(other);
    const welcome = await agent.hello({ facts: { hostname: 'bs1', os: 'linux', arch: 'x64', dockerVersion: null, serviceManager: 'signal', liveRestore: null, agentVersion: '0.1.0' } });
    expect(welcome.name).toBe('bs2');
    expect((await host('bs1')).connected).toBe(false);
    expect((await host('bs2')).connected).toBe(true);
  });
});

describe('desired settings', () => {
  beforeEach(async () => {
    await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-1:5000'] });
  });

  it('sends the latest revision after welcome, marked as a re-send (not a request to retry)', async () => {
    const agent = await connect();
    expect((await agent.hello()).type).toBe('welcome');
    expect(await agent.next()).toEqual({
      type: 'desired',
      revision: 1,
      settings: { registryMirrors: ['http://mirror-1:5000'], insecureRegistries: [], daemonProxy: null, clientProxy: null },
      resend: true,
    });
  });

  it('an agent of protocol version 1 (before `resend`) is sent the same desired without the mark', async () => {
    const agent = await connect();
    expect((await agent.hello({ protocolVersion: 1 })).type).toBe('welcome');
    const desired = await agent.next();
    expect(desired).toMatchObject({ type: 'desired', revision: 1 });
    expect('resend' in desired).toBe(false);
  });

  it('sends a later revision only when a rollout moves the host, and only to hosts of the group', async () => {
    const { credential: otherCredential } = await t.enrol('other1', 'other');
    const agent = await connect();
    const other = await connect(otherCredential);
    await agent.hello();
    await agent.next();
    await other.hello();
    const set = await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-2:5000'] });
    expect(set.body).toMatchObject({ revision: 2, changed: true, currentRevision: 1 });
    expect(await agent.quietFor(200)).toBe(true);
    expect((await t.api('POST', '/v1/groups/ci/rollouts', {})).status).toBe(201);
    expect(await agent.next()).toMatchObject({ type: 'desired', revision: 2, settings: { registryMirrors: ['http://mirror-2:5000'] } });
    expect(await other.quietFor(200)).toBe(true);
    // unchanged settings send nothing
    await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-2:5000'] });
    expect(await agent.quietFor(200)).toBe(true);
  });

  it('a repeated failure is recorded only when the controller did not know it, and never audited twice', async () => {
    const agent = await connect();
    await agent.hello();
    await agent.next();
    const repeated = applyResult(1, { outcome: 'rolled-back', action: 'none', filesChanged: [], verification: null, repeated: true, error: { code: 'VERIFY_FAILED', message: 'not tried again: ...' } });
    const audited = async () => ((await t.api('GET', '/v1/log?host=bs1&limit=100')).body.entries as any[]).filter((e) => e.action === 'host.rolled-back').length;
    // The original report was lost (a dropped connection): the repeat is how the controller learns of it.
    agent.send(repeated);
    const failed = await eventually(async () => ((await host()).lastResult?.outcome === 'rolled-back' ? host() : undefined));
    expect(failed.lastResult).toMatchObject({ revision: 1, outcome: 'rolled-back', error: { code: 'VERIFY_FAILED' } });
    await eventually(async () => ((await audited()) === 1 ? true : undefined));
    // Known now: the next repeat (the next reconnect) records nothing.
    const at = failed.lastResult.at;
    agent.send(repeated);
    agent.send({ type: 'observed', observed: null } as any); // a bad message: answered, proves the repeat was handled first
    expect((await agent.next()).type).toBe('error');
    await new Promise((resolve) => setTimeout(resolve, 100)); // past the write batcher's 20 ms
    expect((await host()).lastResult.at).toBe(at);
    expect(await audited()).toBe(1);
    // A known repeat that carries the observed state after it (protocol 3): the state is news, the result is not.
    const observed = observedState('2026-11-28T10:00:02.000Z', null, 'http://old-mirror:5000');
    agent.send({ ...repeated, observed });
    const seen = await eventually(async () => ((await host()).observed?.at === observed.at ? host() : undefined));
    expect(seen.observed).toEqual(observed);
    expect(seen.lastResult.at).toBe(at);
    expect(await audited()).toBe(1);
  });

  it('records apply results: converged on success, failed with the error on a rollback', async () => {
    const agent = await connect();
    await agent.hello();
    await agent.next();
    expect((await host()).status).toBe('pending');

    agent.send(applyResult(1));
    const converged = await eventually(async () => ((await host()).status === 'converged' ? host() : undefined));
    expect(converged).toMatchObject({
      appliedRevision: 1,
      desiredRevision: 1,
      lastResult: { revision: 1, outcome: 'applied', action: 'reload', filesChanged: ['/etc/docker/daemon.json'], verification: { ok: true }, error: null },
    });

    await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-2:5000'] });
    await t.api('POST', '/v1/groups/ci/rollouts', { strategy: { onHalt: 'stop' } });
    await agent.next();
    agent.send(applyResult(2, { outcome: 'rolled-back', action: 'restart', error: { code: 'VERIFY_FAILED', message: 'dockerd did not come back' } }));
    const failed = await eventually(async () => ((await host()).status === 'failed' ? host() : undefined));
    expect(failed).toMatchObject({ appliedRevision: 1, desiredRevision: 2, lastResult: { outcome: 'rolled-back', error: { code: 'VERIFY_FAILED' } } });
    const group = (await t.api('GET', '/v1/groups/ci')).body;
    expect(group.hosts).toMatchObject({ total: 1, failed: 1 });
  });

  it('records observed state', async () => {
    const agent = await connect();
    await agent.hello();
    const observed = observedState('2026-11-28T10:00:00.000Z', 1, 'http://mirror-1:5000', { version: '24.0.7', liveRestore: false });
    agent.send({ type: 'observed', observed });
    const recorded = await eventually(async () => (await host()).observed ?? undefined);
    expect(recorded).toEqual(observed);
  });

  it('records an apply result that carries its observed state (protocol 3) with that state, as one report', async () => {
    const agent = await connect();
    await agent.hello();
    await agent.next();
    const observed = observedState('2026-11-28T10:00:01.000Z', 1, 'http://mirror-1:5000');
    agent.send(applyResult(1, { observed }));
    const recorded = await eventually(async () => ((await host()).status === 'converged' ? host() : undefined));
    expect(recorded).toMatchObject({ appliedRevision: 1, lastResult: { revision: 1, outcome: 'applied' }, observed });
    expect(recorded.observedAt).toBe(recorded.lastResult.at); // one write: the drift monitor has nothing left to wait for
  });

  it('refuses an apply result whose observed state is malformed, and records none of it', async () => {
    const agent = await connect();
    await agent.hello();
    await agent.next();
    agent.send(applyResult(1, { observed: { at: 'yesterday', files: {} } }));
    expect(await agent.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE', message: expect.stringContaining('observed') });
    expect(await host()).toMatchObject({ appliedRevision: null, lastResult: null, observed: null });
  });

  it('gives a reconnecting host the revision made while it was away', async () => {
    const agent = await connect();
    await agent.hello();
    await agent.next();
    agent.send(applyResult(1));
    await agent.close();
    const away = await eventually(async () => ((await host()).connected === false ? host() : undefined));
    expect(away.status).toBe('offline');

    await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-3:5000'] });
    // The host is offline: the rollout skips it and completes; it converges when it is back.
    const rollout = await t.api('POST', '/v1/groups/ci/rollouts', {});
    expect(rollout.body.rollout).toMatchObject({ state: 'completed', counts: { offline: 1 } });
    const again = await connect();
    await again.hello({ appliedRevision: 1 });
    expect(await again.next()).toMatchObject({ type: 'desired', revision: 2, settings: { registryMirrors: ['http://mirror-3:5000'] } });
    expect(await host()).toMatchObject({ connected: true, status: 'pending', appliedRevision: 1 });
  });
});

describe('bad input', () => {
  it.each([
    ['malformed JSON', '{"type": "hello",', 'BAD_JSON'],
    ['an unknown type', { type: 'reboot' }, 'UNKNOWN_MESSAGE_TYPE'],
    ['a hello missing facts', { type: 'hello', protocolVersion: PROTOCOL_VERSION, appliedRevision: null, observed: null }, 'BAD_MESSAGE'],
    ['a non-object', '[1,2]', 'BAD_MESSAGE'],
  ])('answers %s with an error and keeps the connection usable', async (_name, message, code) => {
    const agent = await connect();
    agent.send(message);
    expect(await agent.next()).toMatchObject({ type: 'error', code, message: expect.any(String), fatal: false });
    expect((await agent.hello()).type).toBe('welcome');
    // and once more after hello
    agent.send(message);
    expect(await agent.next()).toMatchObject({ type: 'error', code });
    agent.send(applyResult(1, { outcome: 'unchanged' }));
    await eventually(async () => (await host()).lastResult?.outcome === 'unchanged');
  });

  it('closes a connection whose first message is not hello', async () => {
    const agent = await connect();
    agent.send(applyResult(1));
    expect(await agent.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE', fatal: true });
    expect((await agent.closed).code).toBe(4400);
    expect((await host()).lastResult).toBeNull();
  });

  it('refuses a protocol version it does not speak', async () => {
    const agent = await connect();
    agent.send({ type: 'hello', protocolVersion: 999, facts: FACTS, appliedRevision: null, observed: null });
    expect(await agent.next()).toMatchObject({ type: 'error', code: 'PROTOCOL_VERSION', fatal: true });
    expect((await agent.closed).code).toBe(4400);
    expect((await host()).status).toBe('new');
  });
});

describe('sessions', () => {
  it('lets a second connection with the same credential replace the first', async () => {
    await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-1:5000'] });
    const first = await connect();
    await first.hello();
    await first.next();
    const second = await connect();
    expect(await first.next()).toMatchObject({ type: 'error', code: 'SESSION_REPLACED', fatal: true });
    expect(await first.closed).toEqual({ code: 4409, reason: 'SESSION_REPLACED' });
    await second.hello();
    expect(await second.next()).toMatchObject({ type: 'desired', revision: 1 });
    // the replaced session's close did not mark the host offline
    expect((await host()).connected).toBe(true);
    await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-2:5000'] });
    await t.api('POST', '/v1/groups/ci/rollouts', {});
    expect(await second.next()).toMatchObject({ type: 'desired', revision: 2 });
  });

  it('drops a connection that stops answering pings, and marks the host offline', async () => {
    const agent = await connect(credential, { autoPong: false });
    await agent.hello();
    const closed = await agent.closed;
    expect(closed.code).toBe(1006);
    await eventually(async () => (await host()).status === 'offline');
  });

  it('keeps a connection that answers pings', async () => {
    const agent = await connect();
    await agent.hello();
    expect(await agent.quietFor(450)).toBe(true);
    expect(agent.ws.readyState).toBe(agent.ws.OPEN);
  });

  it('closes agent connections on shutdown, leaving the host offline', async () => {
    const agent = await connect();
    await agent.hello();
    await t.controller.close();
    expect((await agent.closed).code).toBe(1001);
    const restarted = await startTestController({ dataDir: t.dataDir });
    try {
      const hosts = (await restarted.api('GET', '/v1/hosts')).body.hosts;
      expect(hosts.map((h: any) => [h.name, h.connected, h.status])).toEqual([['bs1', false, 'offline']]);
    } finally {
      await restarted.stop();
    }
  });

  it('starts with every host disconnected, even after a crash left them marked connected', async () => {
    const agent = await connect();
    await agent.hello();
    await t.controller.close();
    // what a killed controller leaves behind
    const db = new Database(join(t.dataDir, 'fleetdock.db'));
    db.prepare('UPDATE hosts SET connected = 1').run();
    db.close();
    const restarted = await startTestController({ dataDir: t.dataDir });
    try {
      expect((await restarted.api('GET', '/v1/hosts/bs1')).body).toMatchObject({ connected: false, status: 'offline' });
    } finally {
      await restarted.stop();
    }
  });
});
