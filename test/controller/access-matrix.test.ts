// Who may do what, over a real socket and a real SQLite file: every route of the route table and every
// agent message type against anonymous, an agent (its host credential as bearer), another agent, a
// viewer, an operator and an admin. The matrix below is the specification; a route or message type
// without an entry fails the test, so nothing new is reachable by accident.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../controller/api/routes.js';
import { AGENT_MESSAGE_TYPES } from '../../protocol/messages.js';
import { FACTS, RawAgent, applyResult, createClock, startTestController, type HttpResult, type TestController } from './harness.js';

/** Who may call a route: anyone, any operator token (read), operator or admin (change), admin only. */
type Level = 'anonymous' | 'read' | 'change' | 'admin';

const MATRIX: Record<string, Level> = {
  'GET /v1/health': 'anonymous',
  'GET /v1/ca': 'anonymous',
  'POST /v1/enrol': 'anonymous',
  'POST /v1/groups': 'change',
  'GET /v1/groups': 'read',
  'GET /v1/groups/:name': 'read',
  'PUT /v1/groups/:name/settings': 'change',
  'GET /v1/groups/:name/revisions': 'read',
  'GET /v1/groups/:name/revisions/:number': 'read',
  'POST /v1/groups/:name/join-tokens': 'change',
  'GET /v1/groups/:name/join-tokens': 'change',
  'GET /v1/join-tokens': 'change',
  'POST /v1/join-tokens/:id/revoke': 'change',
  'GET /v1/hosts': 'read',
  'GET /v1/hosts/:name': 'read',
  'POST /v1/hosts/:name/revoke': 'change',
  'DELETE /v1/hosts/:name': 'change',
  'POST /v1/groups/:name/rollouts': 'change',
  'GET /v1/groups/:name/rollouts': 'read',
  'POST /v1/groups/:name/rollouts/undo': 'change',
  'GET /v1/rollouts/:id': 'read',
  'POST /v1/rollouts/:id/pause': 'change',
  'POST /v1/rollouts/:id/resume': 'change',
  'POST /v1/rollouts/:id/abort': 'change',
  'GET /v1/drift': 'read',
  'GET /v1/drift/history': 'read',
  'PUT /v1/groups/:name/drift-policy': 'change',
  'GET /v1/log': 'read',
  'POST /v1/operators': 'admin',
  'GET /v1/operators': 'admin',
  'POST /v1/operators/:name/revoke': 'admin',
};

type Caller = 'anonymous' | 'agent' | 'other-agent' | 'viewer' | 'operator' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'agent', 'other-agent', 'viewer', 'operator', 'admin'];

/** What the matrix allows `caller` on a route of `level`: true, or the refusal status and code. */
function expected(level: Level, caller: Caller): true | { status: number; code: string } {
  if (level === 'anonymous') return true;
  if (caller === 'anonymous' || caller === 'agent' || caller === 'other-agent') return { status: 401, code: 'UNAUTHENTICATED' };
  const allowed = caller === 'admin' || (caller === 'operator' && level !== 'admin') || (caller === 'viewer' && level === 'read');
  return allowed ? true : { status: 403, code: 'FORBIDDEN' };
}

/**
 * Path parameters that let an allowed request through to its handler without harming the fixture: the
 * group exists; hosts, operators, tokens and rollouts named here do not (an allowed call is a 404).
 */
const PARAMS: Record<string, string> = { name: 'ci', number: '1', id: '999' };
const NAME_BY_PREFIX: [string, string][] = [
  ['/v1/hosts/', 'ghost-host'],
  ['/v1/operators/', 'ghost-operator'],
];

function concretePath(path: string): string {
  const name = NAME_BY_PREFIX.find(([prefix]) => path.startsWith(prefix))?.[1] ?? PARAMS.name!;
  return path.replace(/:(\w+)/g, (_m, key: string) => (key === 'name' ? name : PARAMS[key]!));
}

let t: TestController;
const tokens = {} as Record<Caller, string | null>;

beforeAll(async () => {
  // Agents presenting their credential on HTTP are failed logins; the throttle is tested on its own below.
  t = await startTestController({ now: createClock().now, config: { loginThrottle: { maxFailures: 100_000 } } });
  await t.api('POST', '/v1/groups', { name: 'ci' });
  await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['https://mirror.internal:5000'] });
  tokens.anonymous = null;
  tokens.agent = (await t.enrol('bs1', 'ci')).credential;
  tokens['other-agent'] = (await t.enrol('bs2', 'ci')).credential;
  tokens.admin = t.token;
  for (const role of ['viewer', 'operator'] as const) {
    const created = await t.api('POST', '/v1/operators', { name: `m-${role}`, role });
    expect(created.status).toBe(201);
    tokens[role] = created.body.token;
  }
});

afterAll(async () => {
  await t?.stop();
});

function expectRefusal(result: HttpResult, status: number, code: string, what: string) {
  expect(result.status, what).toBe(status);
  expect(result.body, what).toEqual({ error: { code, message: expect.any(String), retryable: false } });
}

describe('the HTTP route matrix', () => {
  it('has an entry for every route, and every entry is a route', () => {
    const routes = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(routes.filter((r) => !(r in MATRIX)), 'routes without a matrix entry').toEqual([]);
    expect(Object.keys(MATRIX).filter((k) => !routes.includes(k)), 'matrix entries without a route').toEqual([]);
  });

  it('the route table gives each route exactly the roles of its level', () => {
    const roles: Record<Level, unknown> = { anonymous: 'anonymous', read: ['admin', 'operator', 'viewer'], change: ['admin', 'operator'], admin: ['admin'] };
    for (const route of ROUTES) {
      const key = `${route.method.toUpperCase()} ${route.path}`;
      expect(route.access, key).toEqual(roles[MATRIX[key]!]);
    }
  });

  it('refuses every caller the matrix refuses, with 401 or 403 and the one error shape, changing nothing', async () => {
    const auditBefore = (await t.api('GET', '/v1/log?limit=1000')).body.entries.length;
    const groupsBefore = (await t.api('GET', '/v1/groups')).body;
    for (const route of ROUTES) {
      const key = `${route.method.toUpperCase()} ${route.path}`;
      for (const caller of CALLERS) {
        const want = expected(MATRIX[key]!, caller);
        if (want === true) continue;
        const body = route.method === 'get' ? undefined : { name: 'intruder', role: 'admin' };
        const result = await t.api(route.method.toUpperCase(), concretePath(route.path), body, { token: tokens[caller] });
        expectRefusal(result, want.status, want.code, `${caller} ${key}`);
        if (want.status === 401) expect(result.headers.get('www-authenticate'), `${caller} ${key}`).toBe('Bearer');
      }
    }
    expect((await t.api('GET', '/v1/log?limit=1000')).body.entries.length).toBe(auditBefore);
    expect((await t.api('GET', '/v1/groups')).body).toEqual(groupsBefore);
  });

  it('lets every caller the matrix allows through to the handler', async () => {
    for (const route of ROUTES) {
      const key = `${route.method.toUpperCase()} ${route.path}`;
      for (const caller of CALLERS) {
        if (expected(MATRIX[key]!, caller) !== true) continue;
        const result = await t.api(route.method.toUpperCase(), concretePath(route.path), undefined, { token: tokens[caller] });
        expect([401, 403, 429], `${caller} ${key}: ${result.text}`).not.toContain(result.status);
        expect(result.body, `${caller} ${key}`).toBeDefined();
      }
    }
  });

  it('names the role needed and the role held in a 403', async () => {
    const result = await t.api('POST', '/v1/operators', { name: 'x', role: 'admin' }, { token: tokens.operator });
    expect(result.body.error.message).toBe('this request needs role admin; token m-operator has role operator');
  });
});

describe('the agent connection matrix', () => {
  it('opens /v1/agent for a host credential only; never for operator tokens or no token', async () => {
    for (const caller of CALLERS) {
      const connecting = RawAgent.connect(t.controller.url, tokens[caller]);
      if (caller === 'agent' || caller === 'other-agent') {
        const agent = await connecting;
        await agent.close();
      } else {
        const refusal = await connecting.then(
          () => ({ status: 101, body: '' }),
          (error: { status: number; body: string }) => error,
        );
        expect(refusal.status, caller).toBe(401);
        expect(JSON.parse(refusal.body).error.code, caller).toBe('CREDENTIAL_INVALID');
      }
    }
  });

  /** One valid message of each type an agent may send, and what it must change on its own host only. */
  const MESSAGES: Record<(typeof AGENT_MESSAGE_TYPES)[number], { message: unknown; field: 'facts' | 'lastResult' | 'observed' | null }> = {
    hello: { message: null, field: 'facts' }, // sent by agent.hello() below
    'apply-result': { message: applyResult(1), field: 'lastResult' },
    observed: {
      message: {
        type: 'observed',
        observed: {
          at: '2026-11-28T10:00:00.000Z',
          appliedRevision: 1,
          files: { daemonJson: 'ok', daemonJsonSha256: null, registryMirrors: [], insecureRegistries: [], daemonJsonProxy: null, dropInProxy: null, clientProxies: {} },
          daemon: { running: true, version: '24.0.7', registryMirrors: [], insecureRegistries: [], proxy: { http: null, https: null, noProxy: [] }, liveRestore: false },
        },
      },
      field: 'observed',
    },
    error: { message: { type: 'error', code: 'WRITE_FAILED', message: 'disk full' }, field: null },
  };

  it('has an entry for every agent message type', () => {
    expect(Object.keys(MESSAGES).sort()).toEqual([...AGENT_MESSAGE_TYPES].sort());
  });

  it.each(AGENT_MESSAGE_TYPES.map((type) => [type]))('a %s message changes the sending host only, the one its credential names', async (type) => {
    const { credential } = await t.enrol(`sender-${type}`, 'ci');
    const { credential: otherCredential } = await t.enrol(`bystander-${type}`, 'ci');
    const sender = await RawAgent.connect(t.controller.url, credential);
    const bystander = await RawAgent.connect(t.controller.url, otherCredential);
    expect((await bystander.hello()).type).toBe('welcome');
    const before = (await t.api('GET', `/v1/hosts/bystander-${type}`)).body;
    const welcome = await sender.hello({ facts: { ...FACTS, hostname: `sender-${type}` } });
    expect(welcome).toMatchObject({ type: 'welcome', name: `sender-${type}` });
    await sender.next(); // desired
    const { message, field } = MESSAGES[type];
    if (message !== null) sender.send(message);
    if (field === null) {
      expect(await sender.quietFor(200)).toBe(true); // accepted, not answered, connection kept
    } else {
      const host = await eventuallyHost(`sender-${type}`, (h) => h[field] !== null && (field !== 'facts' || h.facts.hostname === `sender-${type}`));
      expect(host[field]).not.toBeNull();
    }
    expect((await t.api('GET', `/v1/hosts/bystander-${type}`)).body).toEqual(before);
    await sender.close();
    await bystander.close();
  });

  it('refuses a message that names another host: identity comes from the credential alone', async () => {
    const agent = await RawAgent.connect(t.controller.url, tokens['other-agent']!);
    await agent.hello();
    await agent.next();
    const bs1 = (await t.api('GET', '/v1/hosts/bs1')).body;
    agent.send({ ...applyResult(1), hostId: bs1.id });
    expect(await agent.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    expect((await t.api('GET', '/v1/hosts/bs1')).body.lastResult).toEqual(bs1.lastResult);
    await agent.close();
  });
});

async function eventuallyHost(name: string, check: (host: any) => boolean): Promise<any> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const host = (await t.api('GET', `/v1/hosts/${name}`)).body;
    if (check(host)) return host;
    if (Date.now() > deadline) throw new Error(`host ${name} did not change in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
