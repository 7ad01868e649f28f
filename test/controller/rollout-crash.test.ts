// A controller killed with SIGKILL in the middle of a rollout, twice, and started again on the same data
// directory: the rollout finishes, every host is changed to the target exactly once (counted at the
// agents), none is skipped, and SQLite's integrity check says ok. The controller runs as the real
// command in a child process; the agents are raw `ws` clients that reconnect the way agents do.
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FACTS, applyResult, eventually, hello, httpTo } from './harness.js';
import { ensureCliBuilt } from '../support/cli.js';
import { findFreePort } from '../../lab/ports.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/fleetdock.js');
const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
/** How long a simulated apply takes before its result is sent, in milliseconds. */
const APPLY_MS = 120;

/** An agent that keeps reconnecting, applies each new revision once, and counts what it was sent. */
class SimAgent {
  applied: number | null = null;
  /** Every `desired` received: revision, and whether it was the answer to a hello. */
  readonly received: { revision: number; afterHello: boolean }[] = [];
  /** How many times it changed to each revision (a desired revision it did not have yet). */
  readonly changes = new Map<number, number>();
  hellos = 0;
  onDesired: ((revision: number) => void) | undefined;
  #ws: WebSocket | undefined;
  #stopped = false;
  #answeringHello = false;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly credential: string,
    /** The controller's CA: the only one trusted, as by the real agent. */
    readonly ca: string,
  ) {}

  start(): void {
    if (this.#stopped) return;
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${this.credential}` }, ca: this.ca });
    this.#ws = ws;
    ws.on('open', () => ws.send(JSON.stringify(hello({ appliedRevision: this.applied, facts: { ...FACTS, hostname: this.name } }))));
    ws.on('message', (data) => this.#receive(ws, JSON.parse(String(data))));
    ws.on('error', () => {});
    ws.on('close', () => setTimeout(() => this.start(), 50));
  }

  stop(): void {
    this.#stopped = true;
    this.#ws?.terminate();
  }

  #receive(ws: WebSocket, message: any): void {
    if (message.type === 'welcome') {
      this.hellos++;
      this.#answeringHello = true;
      return;
    }
    if (message.type !== 'desired') return;
    const afterHello = this.#answeringHello;
    this.#answeringHello = false;
    const revision: number = message.revision;
    this.received.push({ revision, afterHello });
    if (revision === this.applied) {
      ws.send(JSON.stringify(applyResult(revision, { outcome: 'unchanged', action: 'none', filesChanged: [] })));
      return;
    }
    // Applied at once (as a real agent's files are); the result follows after a while, if the
    // connection still stands; otherwise the next hello reports the applied revision.
    this.applied = revision;
    this.changes.set(revision, (this.changes.get(revision) ?? 0) + 1);
    this.onDesired?.(revision);
    setTimeout(() => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(applyResult(revision)));
    }, APPLY_MS);
  }
}

describe('a controller killed during a rollout', { timeout: 120_000 }, () => {
  let dataDir: string;
  let port: number;
  let url: string;
  let child: ChildProcess | undefined;
  let token: string;
  let ca: string;
  const agents: SimAgent[] = [];

  /** Starts `fleetdock controller` on the data dir and port; resolves once it listens. */
  function startController(): Promise<ChildProcess> {
    return new Promise((resolvePromise, reject) => {
      const proc = spawn(process.execPath, [BIN, 'controller', '--data', dataDir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`controller did not start: ${stderr}`)), 15_000);
      proc.stderr!.on('data', (chunk) => {
        stderr += chunk;
        if (stderr.includes('controller listening on')) {
          clearTimeout(timer);
          resolvePromise(proc);
        }
      });
      proc.on('exit', (code) => reject(new Error(`controller exited with ${code}: ${stderr}`)));
    });
  }

  function kill(): Promise<void> {
    const proc = child!;
    child = undefined;
    return new Promise((r) => {
      proc.once('exit', () => r());
      proc.kill('SIGKILL');
    });
  }

  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const response = await httpTo(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ca,
    });
    return response.body;
  }

  beforeAll(async () => {
    await ensureCliBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdock-crash-'));
    port = await findFreePort();
    url = `https://127.0.0.1:${port}`;
    child = await startController();
    token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    ca = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
  }, 180_000);

  afterAll(async () => {
    for (const agent of agents) agent.stop();
    if (child) await kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes the rollout; every host changed to the target exactly once; integrity_check ok', async () => {
    await api('POST', '/v1/groups', { name: 'ci' });
    for (const name of HOSTS) {
      const { token: joinToken } = await api('POST', '/v1/groups/ci/join-tokens', {});
      const enrolled = await httpTo(`${url}/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ joinToken, name, facts: FACTS }), ca });
      agents.push(new SimAgent(name, url, (enrolled.body as { credential: string }).credential, ca));
    }
    expect((await api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-1:5000'] })).revision).toBe(1);
    for (const agent of agents) agent.start();
    await eventually(async () => (await api('GET', '/v1/groups/ci')).hosts.converged === HOSTS.length, 10_000);
    expect((await api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror-2:5000'] })).revision).toBe(2);

    // Kill 1: the moment the second host is told to change (its desired revision is committed, its
    // result not yet received). Kill 2: a while into the run after the restart, wherever it is.
    let killed: Promise<void> | undefined;
    agents[1]!.onDesired = (revision) => {
      if (revision === 2 && !killed) killed = kill();
    };
    // Batches [h1] [h2 h3 h4] [h5 h6], two at a time: a kill finds hosts applying and hosts pending in
    // the current batch, which must wait for their agents to reconnect, not be skipped as offline.
    const started = await api('POST', '/v1/groups/ci/rollouts', { strategy: { canary: 1, batchSize: 3, maxConcurrent: 2 } });
    expect(started.rollout).toMatchObject({ state: 'running', toRevision: 2 });
    const id: number = started.rollout.id;
    await eventually(() => killed !== undefined, 10_000);
    await killed;

    child = await startController();
    await eventually(async () => (await api('GET', `/v1/rollouts/${id}`)).rollout.counts.succeeded >= 3, 20_000);
    await new Promise((r) => setTimeout(r, 70));
    await kill();

    child = await startController();
    const done = await eventually(async () => {
      const { rollout } = await api('GET', `/v1/rollouts/${id}`);
      return rollout.state === 'completed' ? rollout : undefined;
    }, 20_000);
    expect(done.counts).toMatchObject({ total: 6, succeeded: 6, failed: 0, skipped: 0, offline: 0 });
    expect((await api('GET', '/v1/groups/ci')).currentRevision).toBe(2);

    for (const agent of agents) {
      const pushes = agent.received.filter((r) => r.revision === 2 && !r.afterHello).length;
      expect({ host: agent.name, applied: agent.applied, changesTo2: agent.changes.get(2), changesTo1: agent.changes.get(1), pushesOf2: pushes <= 1 }).toEqual({
        host: agent.name,
        applied: 2,
        changesTo2: 1,
        changesTo1: 1,
        pushesOf2: true,
      });
      // never moved back: after the first revision 2, it was only ever sent 2
      const first2 = agent.received.findIndex((r) => r.revision === 2);
      expect(agent.received.slice(first2).every((r) => r.revision === 2)).toBe(true);
    }
    // the hosts were really interrupted: some reconnected more than once
    expect(agents.every((a) => a.hellos >= 3)).toBe(true);

    for (const agent of agents) agent.stop();
    await new Promise<void>((r) => {
      child!.once('exit', () => r());
      child!.kill('SIGTERM');
    });
    child = undefined;
    const db = new Database(join(dataDir, 'fleetdock.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT state, COUNT(*) AS n FROM rollout_hosts WHERE rollout_id = ? GROUP BY state').all(id)).toEqual([{ state: 'succeeded', n: 6 }]);
      expect(db.prepare('SELECT COUNT(*) FROM hosts WHERE desired_revision IS NOT NULL').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });
});
