/**
 * Fuzzes a real controller (in this process, on 127.0.0.1): malformed HTTP bodies, headers, paths and
 * queries on every route of the table, malformed raw HTTP, and malformed WebSocket frames and messages
 * from an enrolled agent (binary, invalid UTF-8, before hello, oversized). Afterwards the controller
 * still answers, no promise rejection went unhandled, every HTTP answer was a 2xx or the one JSON error
 * shape with the catalogue's 4xx status, every WebSocket message it sent was a valid controller
 * message, the database is unchanged and the heap bounded. No write can succeed by construction: write
 * routes only name things that do not exist, or get a body with an unknown field (schemas are strict).
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ROUTES } from '../../controller/api/routes.js';
import { DATABASE_FILE } from '../../controller/server.js';
import { ERROR_CATALOGUE, isErrorCode } from '../../protocol/errors.js';
import { parseAgentMessage, parseControllerMessage } from '../../protocol/messages.js';
import { createClock, eventually, hello, startTestController, type TestController } from '../controller/harness.js';
import { evilValue, fuzzCount, fuzzSeed, hugeString, malformed, malformedValue, NASTY_CHARS, oversized, Raw, Rng, serialize, withKey } from './generate.js';
import { AGENT_MESSAGES, SETTINGS } from './samples.js';

const GROUP = 'fuzz';
const HOST = 'fuzz-host';
/** Heap growth tolerated over the whole run (after a gc). */
const MAX_HEAP_GROWTH_BYTES = 64 * 1024 * 1024;
/** Requests in flight at once (keep-alive connections). */
const CONCURRENCY = 16;

function getGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The start of a fuzz phase: its seed, count and generator, the database and heap to compare with. */
function beginPhase(dataDir: string, salt: number) {
  const seed = fuzzSeed();
  const count = Math.ceil(fuzzCount(100_000) / 25);
  const rng = new Rng(seed ^ salt);
  const gc = getGc();
  const before = snapshotDatabase(dataDir);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  /** Seconds since the start and heap growth after a gc. */
  const end = () => {
    const seconds = (performance.now() - started) / 1000;
    gc();
    return { seconds, heapGrowth: process.memoryUsage().heapUsed - heapBefore };
  };
  return { seed, count, rng, before, end };
}

/** Every table's row count and a hash of its rows, read through a separate read-only connection. */
function snapshotDatabase(dataDir: string): Record<string, { rows: number; sha256: string }> {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    const out: Record<string, { rows: number; sha256: string }> = {};
    for (const table of tables) {
      // Sorted here: some tables are WITHOUT ROWID.
      const rows = (db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[]).map((r) => JSON.stringify(r)).sort();
      out[table] = { rows: rows.length, sha256: createHash('sha256').update(rows.join('\n')).digest('hex') };
    }
    return out;
  } finally {
    db.close();
  }
}

/** Bodies worth mutating, by route path (the rest get a mutated settings object or nothing). */
const BODIES: Record<string, unknown> = {
  '/v1/enrol': { joinToken: 'x'.repeat(43), name: 'bs9', facts: hello().facts },
  '/v1/groups': { name: 'new-group' },
  '/v1/groups/:name/settings': SETTINGS,
  '/v1/groups/:name/join-tokens': { uses: 2, ttlSeconds: 60 },
  '/v1/groups/:name/rollouts': { toRevision: 1, strategy: { canary: 1, batchSize: '25%', maxConcurrent: 5, failureBudget: 0, onHalt: 'rollback', offline: 'skip', resultTimeoutSeconds: 60 }, dryRun: true },
  '/v1/groups/:name/rollouts/undo': { toRevision: 1 },
  '/v1/groups/:name/drift-policy': { policy: 'enforce' },
  '/v1/operators': { name: 'ops', role: 'viewer' },
};

/** Path segments that exist (for reads only) and ones that do not (anything may use them). */
const EXISTING = { name: [GROUP, HOST], number: ['1'], id: ['1'] } as Record<string, string[]>;
const MISSING_SEGMENTS = ['nope', 'x', '0', '-1', '999999', '1e3', '99999999999999999999', 'abc', '%ZZ', '%', '%00', '%2e%2e', '..%2f..%2fetc', '%E2%80%A8', '%C0%80', '%FF', '__proto__', 'constructor', 'prototype', 'toString', encodeURIComponent('a\nb'), 'A'.repeat(300)];

const AUTH_JUNK = [undefined, 'Bearer', 'Bearer ', 'Bearer x', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'a'.repeat(600)}`, 'Bearer a b', 'Bearer \u00e9', 'Bearer %00'];
const CONTENT_TYPES = [undefined, 'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/json; charset=', 'APPLICATION/JSON', 'application/*+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset="utf-8"; x=y'];
const ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip', 'GZIP'];
const QUERIES = ['limit=0', 'limit=101', 'limit=-1', 'limit=1e2', 'limit=abc', 'group=nope', 'group=', 'group=a&group=b', 'group[x]=1', '__proto__[polluted]=1', 'constructor[prototype][polluted]=1', 'since=yesterday', 'since=2026-13-45', 'since=%00', 'host=%ZZ', 'unknown=1', `group=${'a'.repeat(5000)}`, 'limit=%E2%80%A8'];

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  /** Whether a 2xx would mean a write went through. */
  write: boolean;
}

function segment(rng: Rng, param: string, write: boolean): string {
  if (!write && rng.chance(0.5)) return rng.pick(EXISTING[param] ?? ['x']);
  return rng.chance(0.2) ? encodeURIComponent(`${rng.pick(['a', 'fuzz', ''])}${rng.pick(NASTY_CHARS.filter((c) => !/[\ud800-\udfff]/.test(c)))}`) : rng.pick(MISSING_SEGMENTS);
}

function makeRequest(rng: Rng, token: string): Request {
  const route = rng.pick(ROUTES);
  const method = rng.chance(0.9) ? route.method.toUpperCase() : rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
  const write = method !== 'GET';
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  let path = route.path;
  for (const p of params) path = path.replace(`:${p}`, segment(rng, p, write));
  if (rng.chance(0.05)) path += rng.pick(['/', '//', '/extra', '%2F', '.json', '?', '#x']);
  if (rng.chance(0.3)) path += `${path.includes('?') ? '&' : '?'}${rng.pick(QUERIES)}`;

  const headers: Record<string, string> = {};
  const authorization = rng.chance(0.75) ? `Bearer ${token}` : rng.pick(AUTH_JUNK);
  if (authorization !== undefined) headers.authorization = authorization;
  const contentType = rng.chance(0.6) ? 'application/json' : rng.pick(CONTENT_TYPES);
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (rng.chance(0.08)) headers['content-encoding'] = rng.pick(ENCODINGS);
  if (rng.chance(0.05)) headers['x-forwarded-for'] = rng.pick(['1.2.3.4', '::1', 'x'.repeat(4000), '127.0.0.1, 10.0.0.1']);

  let body: string | Buffer | undefined;
  if (method !== 'GET' || rng.chance(0.1)) {
    const base = BODIES[route.path] ?? SETTINGS;
    // A write route that names nothing (POST /v1/groups, /v1/operators, /v1/enrol) could succeed on a
    // valid body: its body always keeps an unknown top-level field, which the strict schemas refuse.
    const unnamed = params.length === 0 && write;
    if (rng.chance(0.05)) body = oversized(rng, base);
    else if (rng.chance(0.05)) body = undefined;
    else if (unnamed) {
      const mutated = rng.chance(0.5) ? structuredClone(base) : malformedValue(rng, base);
      const object = mutated !== null && typeof mutated === 'object' && !Array.isArray(mutated) && !(mutated instanceof Raw) ? mutated : null;
      body = serialize(object ? withKey(object, 'fuzzUnknownField', evilValue(rng)) : mutated);
    } else body = malformed(rng, base);
  }
  return { method, path, headers, body, write };
}

/** Raw HTTP the fetch client would refuse to send. */
function rawRequests(rng: Rng, token: string): string[] {
  const route = () => rng.pick(ROUTES).path.replace(/:\w+/g, 'nope');
  return [
    'GARBAGE\r\n\r\n',
    `GET ${route()} HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n`,
    `GET ${route()} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    `POST ${route()} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    `POST ${route()} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}{}{}`,
    `PUT ${route()} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}`,
    `GET /v1/health\x00 HTTP/1.1\r\nHost: x\r\n\r\n`,
    `GET ${route()} HTTP/9.9\r\nHost: x\r\n\r\n`,
    `GET ${route()} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\u2028\r\n\r\n`,
    `GET ${route()} HTTP/1.1\r\nHost: x\r\nX: \x01\x02\x7f\r\n\r\n`,
    `${hugeString(rng, 70_000)}\r\n\r\n`,
  ];
}

/** Sends one raw request; resolves with the status line's code (0 when the server only closed). */
function sendRaw(port: number, text: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
    });
    socket.end(Buffer.from(text, 'latin1'));
  });
}

describe('API and WebSocket fuzz', () => {
  const clock = createClock();
  let tc: TestController;
  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    tc = await startTestController({
      now: clock.now,
      // The fuzzer presents bad tokens on purpose: a throttle that blocked 127.0.0.1 would stop every
      // later request at the door and hide the handlers from the fuzz.
      // Plain HTTP on loopback (--insecure-plain-http): the fuzz aims at the API and the hub behind the
      // TLS layer, and malformed raw HTTP needs a plain socket to reach the parser at all.
      config: { loginThrottle: { maxFailures: 1_000_000_000 }, insecurePlainHttp: true },
    });
    expect((await tc.api('POST', '/v1/groups', { name: GROUP })).status).toBe(201);
    expect((await tc.api('PUT', `/v1/groups/${GROUP}/settings`, SETTINGS)).status).toBe(201);
    const { credential } = await tc.enrol(HOST, GROUP);
    // One hello and a clean close, so the host row is as the fuzz will leave it.
    const ws = await openAgent(tc.controller.url, credential);
    ws.send(JSON.stringify(hello()));
    await new Promise((r) => setTimeout(r, 200));
    ws.close();
    await eventually(async () => (await tc.api('GET', `/v1/hosts/${HOST}`)).body?.connected === false);
    credentialOf.value = credential;
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await tc?.stop();
  });

  const credentialOf = { value: '' };

  it('refuses every malformed request with the error shape and changes nothing', async () => {
    const { seed, count, rng, before, end } = beginPhase(tc.dataDir, 0xa11);

    const problems: string[] = [];
    const statuses: Record<string, number> = {};
    let clientRefused = 0;
    let writesAccepted = 0;
    let sent = 0;
    const worker = async () => {
      while (sent < count) {
        sent++;
        const request = makeRequest(rng, tc.token);
        let response: Response;
        try {
          response = await fetch(`${tc.controller.url}${request.path}`, {
            method: request.method,
            headers: request.headers,
            ...(request.body !== undefined ? { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) } : {}),
          });
        } catch {
          clientRefused++; // fetch refused to send it (an invalid header value): nothing reached the server
          continue;
        }
        const text = await response.text();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        const where = `${request.method} ${request.path.slice(0, 120)}`;
        let body: any;
        try {
          body = JSON.parse(text);
        } catch {
          problems.push(`${where}: ${response.status} answer is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
          continue;
        }
        if (response.status >= 200 && response.status < 300) {
          if (request.write) {
            writesAccepted++;
            problems.push(`${where}: a write was accepted (${response.status})`);
          }
        } else if (response.status >= 400 && response.status < 500) {
          const error = body?.error;
          if (!isErrorCode(error?.code) || typeof error.message !== 'string' || typeof error.retryable !== 'boolean') {
            problems.push(`${where}: ${response.status} without the error shape: ${text.slice(0, 200)}`);
          } else if (ERROR_CATALOGUE[error.code as keyof typeof ERROR_CATALOGUE].status !== response.status) {
            problems.push(`${where}: ${error.code} answered with ${response.status}`);
          }
        } else {
          problems.push(`${where}: status ${response.status}: ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const rawStatuses: number[] = [];
    for (const text of rawRequests(rng, tc.token)) rawStatuses.push(await sendRaw(tc.controller.port, text));

    const health = await tc.api('GET', '/v1/health', undefined, { token: null });
    const { seconds, heapGrowth } = end();
    console.log(`fuzz api: seed=${seed} requests=${count} raw=${rawStatuses.length} clientRefused=${clientRefused} seconds=${seconds.toFixed(1)} heapGrowth=${Math.round(heapGrowth / 1024)}KiB`);
    console.log(`fuzz api: statuses ${JSON.stringify(statuses)} raw ${JSON.stringify(rawStatuses)}`);

    expect(problems.slice(0, 10), `${problems.length} bad answers (seed=${seed})`).toEqual([]);
    expect(writesAccepted).toBe(0);
    // Raw HTTP the parser refuses gets a 4xx status line, or the connection is closed.
    for (const status of rawStatuses) expect(status === 0 || (status >= 400 && status < 500), `raw answer ${status}`).toBe(true);
    expect(health.status).toBe(200);
    expect(unhandled).toBe(0);
    expect(snapshotDatabase(tc.dataDir)).toEqual(before);
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });

  it('answers every malformed WebSocket message with an error and records nothing', async () => {
    const { seed, count, rng, before, end } = beginPhase(tc.dataDir, 0x3e5);

    const problems: string[] = [];
    const received: Record<string, number> = {};
    const closeCodes: Record<number, number> = {};
    let connections = 0;
    let skippedValid = 0;
    let agent: FuzzAgent | undefined;
    const note = (message: string | null) => {
      if (message === null) return;
      const key = message.startsWith('{') ? describeReply(message, problems) : message;
      received[key] = (received[key] ?? 0) + 1;
    };

    for (let i = 0; i < count; i++) {
      if (!agent || agent.closedWith !== null) {
        if (agent?.closedWith) closeCodes[agent.closedWith] = (closeCodes[agent.closedWith] ?? 0) + 1;
        agent = await FuzzAgent.open(tc.controller.url, credentialOf.value);
        connections++;
        // Mostly a hello first (welcome and desired come back); sometimes malformed messages come first.
        if (rng.chance(0.7)) {
          agent.ws.send(JSON.stringify(hello()));
          note(await agent.reply());
          note(await agent.reply());
        }
      }
      const kind = rng.int(100);
      let input: string | Buffer;
      let binary = false;
      if (kind < 5) {
        input = Buffer.from(serialize(rng.pick(AGENT_MESSAGES)));
        binary = true;
      } else if (kind < 6) {
        input = oversized(rng, rng.pick(AGENT_MESSAGES));
      } else {
        input = malformed(rng, rng.pick(AGENT_MESSAGES), { keepTypeOften: true });
        let valid = false;
        try {
          parseAgentMessage(input);
          valid = true;
        } catch {
          // malformed, as wanted
        }
        if (valid) {
          skippedValid++; // a valid apply-result or observed would be recorded: not what this test is about
          continue;
        }
        // Invalid UTF-8 closes the connection (1007): keep some, mend the rest so the parser sees them.
        if (typeof input !== 'string' && !isUtf8(input) && rng.chance(0.8)) input = input.toString('utf8');
      }
      agent.ws.send(input, { binary });
      // Each message gets exactly one answer: an error, or a close (invalid UTF-8: 1007, too big: 1009,
      // a fatal protocol error: 4400 after the error).
      const answer = await agent.reply();
      if (answer === null && agent.closedWith === null) problems.push(`no answer to message #${i}: ${describeInput(input)}`);
      note(answer);
      if (answer !== null && agent.closedWith === null && /"fatal":true/.test(answer)) await agent.closed;
    }
    if (agent?.closedWith) closeCodes[agent.closedWith] = (closeCodes[agent.closedWith] ?? 0) + 1;
    agent?.ws.close();
    await eventually(async () => (await tc.api('GET', `/v1/hosts/${HOST}`)).body?.connected === false);

    const health = await tc.api('GET', '/v1/health', undefined, { token: null });
    const { seconds, heapGrowth } = end();
    console.log(`fuzz ws: seed=${seed} messages=${count - skippedValid} skippedValid=${skippedValid} connections=${connections} seconds=${seconds.toFixed(1)} heapGrowth=${Math.round(heapGrowth / 1024)}KiB`);
    console.log(`fuzz ws: received ${JSON.stringify(received)} closeCodes ${JSON.stringify(closeCodes)}`);

    expect(problems, `seed=${seed}`).toEqual([]);
    expect((received['error:BAD_MESSAGE'] ?? 0) + (received['error:BAD_JSON'] ?? 0)).toBeGreaterThan(count / 2);
    expect(health.status).toBe(200);
    expect(unhandled).toBe(0);
    expect(snapshotDatabase(tc.dataDir)).toEqual(before);
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });
});

function describeInput(input: string | Buffer): string {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  return `${text.length} characters: ${JSON.stringify(text.slice(0, 160))}`;
}

/** Checks a controller message is one its agent can read; returns `type` or `error:CODE`. */
function describeReply(text: string, problems: string[]): string {
  try {
    const message = parseControllerMessage(text);
    return message.type === 'error' ? `error:${message.code}` : message.type;
  } catch (error) {
    if (problems.length < 10) problems.push(`controller sent something its agent cannot read (${(error as Error).message.slice(0, 200)}): ${text.slice(0, 200)}`);
    return 'unreadable';
  }
}

/** A raw agent connection that hands out the controller's messages one by one, or null once closed. */
class FuzzAgent {
  readonly #queue: (string | null)[] = [];
  readonly #waiters: ((text: string | null) => void)[] = [];
  closedWith: number | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => this.#push(isBinary ? 'binary frame' : String(data)));
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closedWith = code;
        this.#push(null);
        resolve();
      }),
    );
  }

  static async open(baseUrl: string, credential: string): Promise<FuzzAgent> {
    return new FuzzAgent(await openAgent(baseUrl, credential));
  }

  #push(text: string | null): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(text);
    else this.#queue.push(text);
  }

  /** The next message, or null when the connection closed or nothing came within `timeoutMs`. */
  reply(timeoutMs = 2_000): Promise<string | null> {
    if (this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      if (next === null) this.#queue.unshift(null); // stays closed
      return Promise.resolve(next);
    }
    if (this.closedWith !== null) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        resolve(null);
      }, timeoutMs);
      const waiter = (text: string | null) => {
        clearTimeout(timer);
        resolve(text);
      };
      this.#waiters.push(waiter);
    });
  }
}

function openAgent(baseUrl: string, credential: string): Promise<WebSocket> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${credential}` } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
