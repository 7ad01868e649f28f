/**
 * The simulated fleet: enrols N hosts through the real API (one join token with `uses: N`, bounded
 * concurrency) and runs them in K forked simulator workers. Tracks the workers' progress and stops
 * them by pid.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { renderFacts } from './sim-messages.js';
import { expectApi, type Endpoint } from './http.js';
import { stopChild, trackChild } from './children.js';
import type { ProgressEvent, SimAgent, StartCommand, TimesEvent, WorkerEvent } from './worker-protocol.js';

/**
 * Enrols `count` hosts named `sim-00001`... with `joinToken` (the whole token as `POST join-tokens`
 * returned it: `FD1<pin>::<secret>` on a TLS controller, which strips the pin); returns their
 * credentials. Over TLS each enrolment is a new connection with a full handshake, as a real agent's.
 */
export async function enrolHosts(endpoint: Endpoint, joinToken: string, count: number, concurrency: number, onProgress: (done: number) => void): Promise<SimAgent[]> {
  const agents: SimAgent[] = new Array(count);
  let next = 0;
  let done = 0;
  const width = String(count).length;
  const runner = async () => {
    while (next < count) {
      const i = next++;
      const name = `sim-${String(i + 1).padStart(width, '0')}`;
      const answer = await expectApi(endpoint, null, 'POST', '/v1/enrol', { joinToken, name, facts: renderFacts(name) }, [201]);
      agents[i] = { name, credential: answer.body.credential as string };
      if (++done % 1000 === 0) onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, runner));
  return agents;
}

/** The forked workers holding the agents' connections. */
export class SimFleet {
  readonly #workers: ChildProcess[] = [];
  readonly #progress = new Map<number, ProgressEvent>();
  readonly #timesWaiters = new Map<number, (event: TimesEvent) => void>();
  readonly #exits: string[] = [];

  /**
   * Forks `workerCount` workers of `workerScript` and hands each its share of `agents`, and the
   * controller's CA (wss://) when `endpoint` is https.
   */
  constructor(workerScript: string, endpoint: Endpoint, agents: SimAgent[], workerCount: number, options: { concurrency: number; applyDelayMs: number }) {
    // https://... becomes wss://..., http://... ws://...
    const url = `${endpoint.baseUrl.replace(/^http/, 'ws')}/v1/agent`;
    const per = Math.ceil(agents.length / workerCount);
    for (let w = 0; w < workerCount; w++) {
      const share = agents.slice(w * per, (w + 1) * per);
      if (share.length === 0) break;
      const child = trackChild(fork(workerScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      child.on('message', (event: WorkerEvent) => {
        if (event.type === 'progress') this.#progress.set(child.pid!, event);
        else if (event.type === 'times') this.#timesWaiters.get(child.pid!)?.(event);
      });
      child.on('exit', (code, signal) => this.#exits.push(`worker ${child.pid} exited (${code ?? signal})`));
      const command: StartCommand = { type: 'start', url, ca: endpoint.ca ?? null, agents: share, concurrency: Math.max(1, Math.ceil(options.concurrency / workerCount)), applyDelayMs: options.applyDelayMs };
      child.send(command);
      this.#workers.push(child);
    }
  }

  /** The workers' pids. */
  get pids(): number[] {
    return this.#workers.map((w) => w.pid!);
  }

  /** Sums of the workers' latest counters; `done` when every worker finished connecting. */
  totals(): { welcomed: number; failedAttempts: number; gaveUp: number; dropped: number; done: boolean } {
    const all = [...this.#progress.values()];
    const sum = (key: 'welcomed' | 'failedAttempts' | 'gaveUp' | 'dropped') => all.reduce((n, p) => n + p[key], 0);
    return { welcomed: sum('welcomed'), failedAttempts: sum('failedAttempts'), gaveUp: sum('gaveUp'), dropped: sum('dropped'), done: all.length === this.#workers.length && all.every((p) => p.done) };
  }

  /** Throws when a worker exited on its own. */
  assertAlive(): void {
    if (this.#exits.length > 0) throw new Error(this.#exits.join('; '));
  }

  /** Per-agent receive and ack times for `revision`, from every worker. */
  async times(revision: number): Promise<{ names: string[]; received: number[]; acked: number[] }> {
    const events = await Promise.all(
      this.#workers.map(
        (child) =>
          new Promise<TimesEvent>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`worker ${child.pid} sent no times within 10 s`)), 10_000);
            this.#timesWaiters.set(child.pid!, (event) => {
              clearTimeout(timer);
              resolve(event);
            });
            child.send({ type: 'report', revision });
          }),
      ),
    );
    return { names: events.flatMap((e) => e.names), received: events.flatMap((e) => e.received), acked: events.flatMap((e) => e.acked) };
  }

  /** Makes the agents called `names` report a hand-edited daemon.json. */
  reportHandEdits(names: string[]): void {
    for (const child of this.#workers) child.send({ type: 'drift', names });
  }

  /** Stops every worker (IPC stop, then SIGTERM/SIGKILL by pid). */
  async stop(): Promise<void> {
    for (const child of this.#workers) if (child.connected) child.send({ type: 'stop' });
    await Promise.all(this.#workers.map((child) => stopChild(child, 3_000)));
  }
}
