// The controller's HTTP API over a real socket and a real SQLite file: who may call it, what it
// refuses and how, revisions, redaction and enrolment.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FACTS, RawAgent, createClock, startTestController, type TestController } from './harness.js';

let t: TestController;
let clock: ReturnType<typeof createClock>;

beforeEach(async () => {
  clock = createClock();
  t = await startTestController({ now: clock.now });
});

afterEach(async () => {
  await t.stop();
});

function expectError(result: { status: number; body: any }, status: number, code: string) {
  expect(result.status).toBe(status);
  expect(result.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String), retryable: expect.any(Boolean) }) });
}

describe('access', () => {
  it('answers health without a token', async () => {
    const result = await t.api('GET', '/v1/health', undefined, { token: null });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ ok: true, version: expect.any(String) });
  });

  it('refuses admin routes without a token and with a wrong one', async () => {
    const none = await t.api('GET', '/v1/groups', undefined, { token: null });
    expectError(none, 401, 'UNAUTHENTICATED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body.error.message).toMatch(/FLEETDOCK_TOKEN/);
    expectError(await t.api('GET', '/v1/groups', undefined, { token: 'not-the-token' }), 401, 'UNAUTHENTICATED');
    expectError(await t.api('POST', '/v1/groups', { name: 'ci' }, { token: `${t.token}x` }), 401, 'UNAUTHENTICATED');
    // nothing was created by the refused request
    expect((await t.api('GET', '/v1/groups')).body.groups).toEqual([]);
  });

  it('answers unknown routes, bad JSON and huge bodies with the one error shape', async () => {
    expectError(await t.api('GET', '/v1/nothing'), 404, 'NOT_FOUND');
    expectError(await t.api('DELETE', '/v1/groups'), 404, 'NOT_FOUND');
    expectError(await t.api('POST', '/v1/groups', undefined, { rawBody: '{"name": ' }), 400, 'BAD_JSON');
    expectError(await t.api('PUT', '/v1/groups/ci/settings', undefined, { rawBody: JSON.stringify({ registryMirrors: ['x'.repeat(300_000)] }) }), 413, 'MESSAGE_TOO_LARGE');
  });
});

describe('groups', () => {
  it('creates a group once and refuses a duplicate', async () => {
    const created = await t.api('POST', '/v1/groups', { name: 'ci' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci', revision: null, hosts: { total: 0 } });
    const again = await t.api('POST', '/v1/groups', { name: 'ci' });
    expectError(again, 409, 'ALREADY_EXISTS');
    expect(again.body.error.message).toBe('group ci already exists');
    expect((await t.api('GET', '/v1/groups')).body.groups.map((g: any) => g.name)).toEqual(['ci']);
  });

  it.each([
    [{ name: 'Bad Name' }, 'name: group name must be'],
    [{ name: '' }, 'name: group name must be'],
    [{}, 'name:'],
    [{ name: 'ci', colour: 'red' }, 'colour'],
  ])('refuses group body %j naming the field', async (body, message) => {
    const result = await t.api('POST', '/v1/groups', body);
    expectError(result, 400, 'VALIDATION');
    expect(result.body.error.message).toContain(message);
  });

  it('says which group does not exist', async () => {
    const result = await t.api('GET', '/v1/groups/nope');
    expectError(result, 404, 'NOT_FOUND');
    expect(result.body.error.message).toContain('group nope does not exist');
  });
});

describe('settings', () => {
  beforeEach(async () => {
    await t.api('POST', '/v1/groups', { name: 'ci' });
  });

  it.each([
    ['a mirror that is not http(s)', { registryMirrors: ['ftp://x'] }, 'registryMirrors[0]: registry mirror "ftp://x" is not an http(s) URL'],
    ['a mirror with a newline', { registryMirrors: ['http://mirror:5000', 'http://mirror\n.example'] }, 'registryMirrors[1]: registry mirror "http://mirror\\n.example" contains a newline'],
    ['a proxy with a double quote', { daemonProxy: { http: 'http://proxy"x:3128' } }, 'daemonProxy.http: proxy "http://proxy\\"x:3128" contains a double quote'],
    ['a registry with a scheme', { insecureRegistries: ['http://registry:5000'] }, 'insecureRegistries[0]: insecure registry "http://registry:5000" must be host[:port] or a CIDR, without a scheme'],
    ['an unknown field', { registryMirrors: [], registryMirror: ['http://mirror:5000'] }, '"registryMirror"'],
    ['an unknown proxy field', { daemonProxy: { http: 'http://proxy:3128', ftp: 'x' } }, 'daemonProxy: Unrecognized key: "ftp"'],
  ])('refuses %s, naming the field, and makes no revision', async (_name, body, message) => {
    const result = await t.api('PUT', '/v1/groups/ci/settings', body);
    expectError(result, 400, 'VALIDATION');
    expect(result.body.error.message).toContain(message);
    expect((await t.api('GET', '/v1/groups/ci')).body.revision).toBeNull();
  });

  it('refuses a settings request without a JSON body instead of clearing the settings', async () => {
    const result = await t.api('PUT', '/v1/groups/ci/settings', undefined, { rawBody: 'registryMirrors=x', contentType: 'text/plain' });
    expectError(result, 400, 'VALIDATION');
    expect(result.body.error.message).toContain('Content-Type: application/json');
  });

  it('makes a new revision only when the normalised settings change, and keeps the history', async () => {
    const first = await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['https://Mirror.Example:5000'] });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ revision: 1, changed: true, settings: { registryMirrors: ['https://mirror.example:5000'] } });

    const same = await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['https://mirror.example:5000'], insecureRegistries: [] });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ revision: 1, changed: false });

    const second = await t.api('PUT', '/v1/groups/ci/settings', { insecureRegistries: ['10.0.0.0/8'] });
    expect(second.status).toBe(201);
    expect(second.body.revision).toBe(2);

    const history = await t.api('GET', '/v1/groups/ci/revisions');
    expect(history.body.revisions.map((r: any) => [r.number, r.settings.registryMirrors, r.settings.insecureRegistries, r.createdBy])).toEqual([
      [1, ['https://mirror.example:5000'], [], 'admin'],
      [2, [], ['10.0.0.0/8'], 'admin'],
    ]);
    expect((await t.api('GET', '/v1/groups/ci/revisions/1')).body.settings.registryMirrors).toEqual(['https://mirror.example:5000']);
    expect((await t.api('GET', '/v1/groups/ci')).body.revision).toMatchObject({ number: 2, settings: { registryMirrors: [], insecureRegistries: ['10.0.0.0/8'] } });
    expectError(await t.api('GET', '/v1/groups/ci/revisions/3'), 404, 'NOT_FOUND');
    expectError(await t.api('GET', '/v1/groups/ci/revisions/zero'), 400, 'VALIDATION');
  });

  it('never shows a proxy password, though agents get it', async () => {
    const password = 's3cret-Pa55';
    const settings = {
      daemonProxy: { http: `http://builder:${password}@proxy.internal:3128`, https: `http://builder:${password}@proxy.internal:3128`, noProxy: ['localhost'] },
      clientProxy: { http: `http://builder:${password}@proxy.internal:3128`, users: ['ci'] },
    };
    const put = await t.api('PUT', '/v1/groups/ci/settings', settings);
    expect(put.status).toBe(201);
    expect(put.text).not.toContain(password);
    expect(put.body.settings.daemonProxy.http).toBe('http://xxxxx:xxxxx@proxy.internal:3128');

    // A host that reports observed state with a password (a faulty agent) must not leak it either.
    const { credential } = await t.enrol('bs1', 'ci');
    const agent = await RawAgent.connect(t.controller.url, credential);
    const leaky = { http: `http://builder:${password}@proxy.internal:3128`, https: null, noProxy: [] };
    await agent.hello({
      observed: {
        at: '2026-11-28T10:00:00.000Z',
        appliedRevision: null,
        files: { daemonJson: 'ok', daemonJsonSha256: null, registryMirrors: [], insecureRegistries: [], daemonJsonProxy: null, dropInProxy: leaky, clientProxies: { ci: leaky } },
        daemon: { running: true, version: '24.0.7', registryMirrors: [], insecureRegistries: [], proxy: leaky, liveRestore: false },
      },
    });
    const desired = await agent.next();
    expect(desired.settings.daemonProxy.http).toContain(password);
    await agent.close();

    for (const path of ['/v1/groups', '/v1/groups/ci', '/v1/groups/ci/revisions', '/v1/groups/ci/revisions/1', '/v1/hosts', '/v1/hosts?group=ci', '/v1/hosts/bs1']) {
      const result = await t.api('GET', path);
      expect(result.status, path).toBe(200);
      expect(result.text, path).not.toContain(password);
    }
    expect((await t.api('GET', '/v1/hosts/bs1')).body.observed.daemon.proxy.http).toBe('http://xxxxx:xxxxx@proxy.internal:3128');
  });
});

describe('join tokens and enrolment', () => {
  beforeEach(async () => {
    await t.api('POST', '/v1/groups', { name: 'ci' });
  });

  async function joinToken(body: unknown = {}) {
    const result = await t.api('POST', '/v1/groups/ci/join-tokens', body);
    expect(result.status).toBe(201);
    return result.body;
  }

  const enrol = (joinTokenText: string, name: string) => t.api('POST', '/v1/enrol', { joinToken: joinTokenText, name, facts: FACTS }, { token: null });

  it('makes a token with one use for one day by default', async () => {
    const token = await joinToken();
    expect(token).toEqual({ id: expect.any(Number), token: expect.stringMatching(/^FD1[0-9a-f]{64}::[A-Za-z0-9_-]{43}$/), group: 'ci', uses: 1, expiresAt: '2026-11-29T10:00:00.000Z' });
  });

  it('enrols one host per use and then refuses the token as used up', async () => {
    const { token } = await joinToken();
    const first = await enrol(token, 'bs1');
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ hostId: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'bs1', group: 'ci', credential: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const second = await enrol(token, 'bs2');
    expectError(second, 401, 'JOIN_TOKEN_INVALID');
    expect(second.body.error.message).toMatch(/used up/);
    expect((await t.api('GET', '/v1/hosts')).body.hosts.map((h: any) => [h.name, h.group, h.status])).toEqual([['bs1', 'ci', 'new']]);
  });

  it('refuses unknown and expired tokens with different messages', async () => {
    const unknown = await enrol('A'.repeat(43), 'bs1');
    expectError(unknown, 401, 'JOIN_TOKEN_INVALID');
    expect(unknown.body.error.message).toMatch(/not known/);

    const { token } = await joinToken({ ttlSeconds: 60 });
    clock.advance(61_000);
    const expired = await enrol(token, 'bs1');
    expectError(expired, 401, 'JOIN_TOKEN_INVALID');
    expect(expired.body.error.message).toMatch(/expired at/);
  });

  it('refuses a taken name without using up the token', async () => {
    const { token } = await joinToken({ uses: 2 });
    expect((await enrol(token, 'bs1')).status).toBe(201);
    const taken = await enrol(token, 'bs1');
    expectError(taken, 409, 'HOST_NAME_TAKEN');
    expect(taken.body.error.message).toBe('host bs1 is already enrolled; choose another --name, or free the name (fleetdock host revoke bs1, then fleetdock host remove bs1)');
    expect((await enrol(token, 'bs2')).status).toBe(201);
    expect((await enrol(token, 'bs3')).body.error.code).toBe('JOIN_TOKEN_INVALID');
  });

  it('refuses bad token requests and tokens for unknown groups', async () => {
    expectError(await t.api('POST', '/v1/groups/ci/join-tokens', { uses: 0 }), 400, 'VALIDATION');
    expectError(await t.api('POST', '/v1/groups/ci/join-tokens', { ttl: 60 }), 400, 'VALIDATION');
    expectError(await t.api('POST', '/v1/groups/nope/join-tokens', {}), 404, 'NOT_FOUND');
    const badEnrol = await t.api('POST', '/v1/enrol', { joinToken: 'x', name: 'bad name', facts: FACTS }, { token: null });
    expectError(badEnrol, 400, 'VALIDATION');
    expect(badEnrol.body.error.message).toContain('name:');
  });

  it('lists hosts by group and refuses an unknown group', async () => {
    await t.enrol('bs1', 'ci');
    await t.enrol('other1', 'other');
    expect((await t.api('GET', '/v1/hosts?group=ci')).body.hosts.map((h: any) => h.name)).toEqual(['bs1']);
    expect((await t.api('GET', '/v1/hosts')).body.hosts.map((h: any) => h.name)).toEqual(['bs1', 'other1']);
    expectError(await t.api('GET', '/v1/hosts?group=nope'), 404, 'NOT_FOUND');
    expectError(await t.api('GET', '/v1/hosts/nope'), 404, 'NOT_FOUND');
  });
});
