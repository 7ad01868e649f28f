/**
 * Test harness for the controller: a real controller on 127.0.0.1 port 0 over a real SQLite file in a
 * temporary directory, serving HTTPS with its own CA as in production (plain HTTP only when a test
 * passes `config: { insecurePlainHttp: true }`), an HTTP helper that returns status and parsed body
 * and trusts that CA alone, the environment for the real CLI, and a raw `ws` agent client (not the
 * real agent) that queues what the controller sends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { resolveControllerConfig, type ControllerConfigInput } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/server.js';
import { sendRequest } from '../../protocol/http-request.js';
import { AGENT_VERSION, PROTOCOL_VERSION } from '../../protocol/version.js';

/** The CA of each controller this process started, by base URL: what RawAgent and httpTo trust. */
const TRUSTED_CAS = new Map<string, string>();

/** The CA PEM to trust for a test controller's URL (undefined: plain HTTP or not started here). */
export function caFor(url: string): string | undefined {
  return TRUSTED_CAS.get(new URL(url).origin);
}

/**
 * One request to a controller, trusting its CA (`ca`, else the one of a controller started here);
 * the answer as the `api` helper gives it.
 */
export async function httpTo(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {}): Promise<HttpResult> {
  const response = await sendRequest(url, { ...init, ca: init.ca ?? caFor(url), maxBodyBytes: 64 * 1024 * 1024 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { status: response.status, headers, text: response.body, body: parsed };
}

/** A clock a test can move. */
export function createClock(start = '2026-11-28T10:00:00.000Z') {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    advance(ms: number) {
      current = new Date(current.getTime() + ms);
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** A started controller with helpers; call `stop()` in afterEach/afterAll. */
export interface TestController {
  controller: RunningController;
  dataDir: string;
  token: string;
  /** FLEETDOCK_URL, FLEETDOCK_TOKEN (admin) and FLEETDOCK_CA_FILE for the real CLI. */
  cliEnv: Record<string, string>;
  /** Calls the API with the admin token (or `token`, or none with `token: null`). */
  api(method: string, path: string, body?: unknown, options?: { token?: string | null; rawBody?: string; contentType?: string }): Promise<HttpResult>;
  /** Creates a group, a join token and enrols `name`; returns the host credential. */
  enrol(name: string, group: string): Promise<{ credential: string; hostId: string }>;
  stop(): Promise<void>;
}

/** Starts a controller in a fresh temporary data directory (or `dataDir`). */
export async function startTestController(
  options: { now?: () => Date; heartbeatIntervalMs?: number; dataDir?: string; rolloutTickIntervalMs?: number; config?: ControllerConfigInput; logger?: Logger } = {},
): Promise<TestController> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fleetdock-controller-'));
  const config = resolveControllerConfig({
    data: dataDir,
    listen: '127.0.0.1:0',
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 15_000,
    ...(options.rolloutTickIntervalMs !== undefined ? { rolloutTickIntervalMs: options.rolloutTickIntervalMs } : {}),
    // Tests start controllers before their agents connect: no reconnect grace unless a test asks for one.
    rolloutReconnectGraceMs: 0,
    ...options.config,
  });
  const controller = await startController(config, { ...(options.now ? { now: options.now } : {}), ...(options.logger ? { logger: options.logger } : {}) });
  const token = controller.adminToken ?? readFileSync(controller.adminTokenPath, 'utf8').trim();
  if (controller.tls) TRUSTED_CAS.set(new URL(controller.url).origin, controller.tls.caPem);
  const cliEnv: Record<string, string> = { FLEETDOCK_URL: controller.url, FLEETDOCK_TOKEN: token, ...(controller.tls ? { FLEETDOCK_CA_FILE: controller.tls.caPath } : {}) };
  const api: TestController['api'] = async (method, path, body, opts = {}) => {
    const headers: Record<string, string> = {};
    const bearer = opts.token === undefined ? token : opts.token;
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    const payload = opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    return httpTo(`${controller.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  };
  const enrol: TestController['enrol'] = async (name, group) => {
    const existing = await api('GET', `/v1/groups/${group}`);
    if (existing.status === 404) await api('POST', '/v1/groups', { name: group });
    const { body: joinToken } = await api('POST', `/v1/groups/${group}/join-tokens`, {});
    const enrolled = await api('POST', '/v1/enrol', { joinToken: joinToken.token, name, facts: FACTS }, { token: null });
    if (enrolled.status !== 201) throw new Error(`enrol failed: ${enrolled.text}`);
    return { credential: enrolled.body.credential, hostId: enrolled.body.hostId };
  };
  return {
    controller,
    dataDir,
    token,
    cliEnv,
    api,
    enrol,
    async stop() {
      await controller.close();
      TRUSTED_CAS.delete(new URL(controller.url).origin);
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Facts a test agent reports. */
export const FACTS = Object.freeze({
  hostname: 'bs1',
  os: 'linux 6.1.0',
  arch: 'x64',
  dockerVersion: '24.0.7',
  serviceManager: 'systemd',
  liveRestore: false,
  agentVersion: AGENT_VERSION,
});

/** A valid hello, with overrides. */
export function hello(overrides: Record<string, unknown> = {}) {
  return { type: 'hello', protocolVersion: PROTOCOL_VERSION, facts: FACTS, appliedRevision: null, observed: null, ...overrides };
}

/** A valid apply-result, with overrides. */
export function applyResult(revision: number, overrides: Record<string, unknown> = {}) {
  return {
    type: 'apply-result',
    revision,
    outcome: 'applied',
    action: 'reload',
    filesChanged: ['/etc/docker/daemon.json'],
    verification: { ok: true, detail: 'mirrors match' },
    error: null,
    durationMs: 120,
    ...overrides,
  };
}

/** A raw WebSocket client speaking as an agent; queues every message the controller sends. */
export class RawAgent {
  readonly ws: WebSocket;
  readonly #queue: any[] = [];
  readonly #waiters: ((message: any) => void)[] = [];
  /** Resolves with the close code and reason when the connection closes. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: RawData) => {
      const message = JSON.parse(String(data));
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#queue.push(message);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Connects with `credential` (none when null); rejects with the HTTP status if the upgrade is refused. */
  static connect(baseUrl: string, credential: string | null, options: { path?: string; autoPong?: boolean } = {}): Promise<RawAgent> {
    const url = `${baseUrl.replace(/^http/, 'ws')}${options.path ?? '/v1/agent'}`;
    const ca = caFor(baseUrl);
    const ws = new WebSocket(url, { headers: credential === null ? {} : { authorization: `Bearer ${credential}` }, autoPong: options.autoPong ?? true, ...(ca ? { ca } : {}) });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawAgent(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  /** Sends an object as JSON, or a string as it is. */
  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message from the controller; rejects after `timeoutMs`. */
  next(timeoutMs = 2_000): Promise<any> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no message from the controller within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (message: any) => {
        clearTimeout(timer);
        resolve(message);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves true if nothing arrives within `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    if (this.#queue.length > 0) return false;
    return this.next(ms).then(
      (message) => {
        this.#queue.unshift(message);
        return false;
      },
      () => true,
    );
  }

  /** Sends hello and returns [welcome, desired?] (desired only if one arrives within `ms`). */
  async hello(overrides: Record<string, unknown> = {}): Promise<any> {
    this.send(hello(overrides));
    return this.next();
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
