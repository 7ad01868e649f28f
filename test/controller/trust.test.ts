// Trust over a real socket and a real SQLite file: operator tokens (roles, revocation at once, names in
// the audit log), join token listing and revocation, host revocation (disconnected within a second, no
// reconnect, no re-enrolment until removed), and failed logins slowed down with 429.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FACTS, RawAgent, createClock, startTestController, type TestController } from './harness.js';

let t: TestController;
let clock: ReturnType<typeof createClock>;

beforeEach(async () => {
  clock = createClock();
  t = await startTestController({ now: clock.now, config: { loginThrottle: { maxFailures: 5, windowMs: 60_000, blockMs: 60_000 } } });
  await t.api('POST', '/v1/groups', { name: 'ci' });
});

afterEach(async () => {
  await t.stop();
});

async function createOperator(name: string, role: string): Promise<string> {
  const created = await t.api('POST', '/v1/operators', { name, role });
  expect(created.status).toBe(201);
  return created.body.token;
}

async function auditActions(): Promise<[string, string, string | null][]> {
  return (await t.api('GET', '/v1/log?limit=1000')).body.entries.map((e: any) => [e.actor, e.action, e.host]);
}

describe('operators', () => {
  it('creates a token shown once and stored hashed, lists names and roles, never tokens', async () => {
    const created = await t.api('POST', '/v1/operators', { name: 'alice', role: 'operator' });
    expect(created.body).toEqual({ name: 'alice', role: 'operator', token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), createdAt: '2026-11-28T10:00:00.000Z' });
    const list = await t.api('GET', '/v1/operators');
    expect(list.body.operators).toEqual([
      { name: 'admin', role: 'admin', createdAt: expect.any(String), revokedAt: null },
      { name: 'alice', role: 'operator', createdAt: '2026-11-28T10:00:00.000Z', revokedAt: null },
    ]);
    expect(list.text).not.toContain(created.body.token);
    const again = await t.api('POST', '/v1/operators', { name: 'alice', role: 'viewer' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_EXISTS');
    expect((await t.api('POST', '/v1/operators', { name: 'bob', role: 'root' })).body.error.code).toBe('VALIDATION');
    expect((await t.api('POST', '/v1/operators', { name: 'Bob Smith', role: 'viewer' })).body.error.message).toContain('name: operator name must be');
  });

  it("records the token's name as the actor, and a revoked token stops working at once", async () => {
    const alice = await createOperator('alice', 'operator');
    expect((await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['https://mirror.internal:5000'] }, { token: alice })).status).toBe(201);
    expect(await auditActions()).toEqual(
      expect.arrayContaining([
        ['admin', 'operator.create', null],
        ['alice', 'settings.set', null],
      ]),
    );
    const revoked = await t.api('POST', '/v1/operators/alice/revoke');
    expect(revoked.body).toEqual({ name: 'alice', role: 'operator', revokedAt: '2026-11-28T10:00:00.000Z' });
    const refused = await t.api('GET', '/v1/groups', undefined, { token: alice });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'UNAUTHENTICATED', message: 'operator token is not valid (unknown or revoked)' });
    expect((await t.api('POST', '/v1/operators/alice/revoke')).status).toBe(404);
    expect(await auditActions()).toContainEqual(['admin', 'operator.revoke', null]);
    // the name may be given to a new token
    const alice2 = await createOperator('alice', 'viewer');
    expect((await t.api('GET', '/v1/groups', undefined, { token: alice2 })).status).toBe(200);
  });

  it('refuses to revoke the last admin token, but not one of two', async () => {
    const last = await t.api('POST', '/v1/operators/admin/revoke');
    expect(last.status).toBe(403);
    expect(last.body.error.message).toContain('last admin token');
    const root = await createOperator('root', 'admin');
    expect((await t.api('POST', '/v1/operators/admin/revoke', undefined, { token: root })).status).toBe(200);
    expect((await t.api('GET', '/v1/groups')).status).toBe(401);
  });
});

describe('join tokens', () => {
  it('lists tokens with their state, never the token, and refuses revoked, expired and used-up tokens distinctly', async () => {
    const a = (await t.api('POST', '/v1/groups/ci/join-tokens', { uses: 1 })).body.token;
    const b = (await t.api('POST', '/v1/groups/ci/join-tokens', { ttlSeconds: 60 })).body.token;
    const c = (await t.api('POST', '/v1/groups/ci/join-tokens', {})).body.token;
    await t.api('POST', '/v1/groups', { name: 'other' });
    await t.api('POST', '/v1/groups/other/join-tokens', {});
    const enrol = (token: string, name: string) => t.api('POST', '/v1/enrol', { joinToken: token, name, facts: FACTS }, { token: null });
    expect((await enrol(a, 'bs1')).status).toBe(201);
    const revoked = await t.api('POST', '/v1/join-tokens/3/revoke');
    expect(revoked.body).toMatchObject({ changed: true, token: { id: 3, group: 'ci', state: 'revoked', revokedAt: '2026-11-28T10:00:00.000Z' } });
    expect((await t.api('POST', '/v1/join-tokens/3/revoke')).body.changed).toBe(false);
    clock.advance(61_000);

    const list = await t.api('GET', '/v1/groups/ci/join-tokens');
    expect(list.body.tokens.map((x: any) => [x.id, x.group, x.usesLeft, x.usesTotal, x.state])).toEqual([
      [1, 'ci', 0, 1, 'used-up'],
      [2, 'ci', 1, 1, 'expired'],
      [3, 'ci', 1, 1, 'revoked'],
    ]);
    for (const secret of [a, b, c]) expect(list.text).not.toContain(secret);
    expect((await t.api('GET', '/v1/join-tokens')).body.tokens.map((x: any) => x.group)).toEqual(['ci', 'ci', 'ci', 'other']);
    expect((await t.api('GET', '/v1/join-tokens?group=other')).body.tokens).toHaveLength(1);
    expect((await t.api('POST', '/v1/join-tokens/99/revoke')).status).toBe(404);
    expect((await t.api('POST', '/v1/join-tokens/x/revoke')).status).toBe(400);

    expect((await enrol(a, 'bs2')).body.error.message).toMatch(/used up/);
    expect((await enrol(b, 'bs2')).body.error.message).toMatch(/expired at/);
    expect((await enrol(c, 'bs2')).body.error.message).toMatch(/revoked at/);
    expect(await auditActions()).toContainEqual(['admin', 'token.revoke', null]);
  });
});

describe('host revocation', () => {
  it('closes the live connection within a second (4401), refuses the reconnect and a re-enrolment until removed', async () => {
    const operator = await createOperator('oscar', 'operator');
    const { credential } = await t.enrol('bs1', 'ci');
    const agent = await RawAgent.connect(t.controller.url, credential);
    expect((await agent.hello()).type).toBe('welcome');

    const started = Date.now();
    const revoked = await t.api('POST', '/v1/hosts/bs1/revoke', undefined, { token: operator });
    expect(revoked.body).toEqual({ name: 'bs1', group: 'ci', revokedAt: '2026-11-28T10:00:00.000Z', changed: true, disconnected: true });
    const closed = await agent.closed;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(closed.code).toBe(4401);

    const reconnect = await RawAgent.connect(t.controller.url, credential).then(
      () => ({ status: 101, body: '' }),
      (error: { status: number; body: string }) => error,
    );
    expect(reconnect.status).toBe(401);
    expect(JSON.parse(reconnect.body).error.message).toContain('host bs1 was revoked');
    const host = (await t.api('GET', '/v1/hosts/bs1')).body;
    expect(host).toMatchObject({ connected: false, revokedAt: '2026-11-28T10:00:00.000Z' });
    expect((await t.api('POST', '/v1/hosts/bs1/revoke')).body).toMatchObject({ changed: false, disconnected: false });

    const { body: join } = await t.api('POST', '/v1/groups/ci/join-tokens', { uses: 2 });
    const again = await t.api('POST', '/v1/enrol', { joinToken: join.token, name: 'bs1', facts: FACTS }, { token: null });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain('fleetdock host remove bs1');

    expect((await t.api('DELETE', '/v1/hosts/bs1', undefined, { token: operator })).body).toEqual({ name: 'bs1', group: 'ci', removed: true });
    expect((await t.api('GET', '/v1/hosts/bs1')).status).toBe(404);
    expect((await t.api('POST', '/v1/enrol', { joinToken: join.token, name: 'bs1', facts: FACTS }, { token: null })).status).toBe(201);
    expect(await auditActions()).toEqual(expect.arrayContaining([['oscar', 'host.revoke', 'bs1'], ['oscar', 'host.remove', 'bs1']]));
  });

  it('refuses to remove a host that is not revoked', async () => {
    await t.enrol('bs1', 'ci');
    const refused = await t.api('DELETE', '/v1/hosts/bs1');
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('fleetdock host revoke bs1');
    expect((await t.api('GET', '/v1/hosts/bs1')).status).toBe(200);
  });
});

describe('failed logins', () => {
  it('answers 429 with Retry-After after repeated bad tokens from one address, even for a good token, until the block ends', async () => {
    for (let i = 0; i < 5; i++) expect((await t.api('GET', '/v1/groups', undefined, { token: `wrong-${i}` })).status).toBe(401);
    const blocked = await t.api('GET', '/v1/groups');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(blocked.body.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    const upgrade = await RawAgent.connect(t.controller.url, 'x').then(
      () => 101,
      (error: { status: number }) => error.status,
    );
    expect(upgrade).toBe(429);
    clock.advance(60_000);
    expect((await t.api('GET', '/v1/groups')).status).toBe(200);
  });

  it('counts bad join tokens and bad host credentials, not requests without a token', async () => {
    for (let i = 0; i < 10; i++) expect((await t.api('GET', '/v1/groups', undefined, { token: null })).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await t.api('POST', '/v1/enrol', { joinToken: `guess-${i}`, name: 'bs1', facts: FACTS }, { token: null })).status).toBe(401);
    for (let i = 0; i < 2; i++) await RawAgent.connect(t.controller.url, `guess-${i}`).catch(() => undefined);
    expect((await t.api('GET', '/v1/groups')).status).toBe(429);
  });
});
