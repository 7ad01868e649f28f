/**
 * One bench run for one fleet size N, against a fresh controller process and database, over HTTPS/WSS
 * with the controller's own CA (the product default) or, with `plainHttp`, insecure plain HTTP:
 * enrol N hosts, connect them all (time to connect), push a new revision to all of them at once
 * (the rollout API with one batch of 100% when the controller has it, else the settings push of
 * PUT /v1/groups/:name/settings) and time, per host, until its ack is durable in SQLite; sample the
 * controller's RSS and CPU; time the drift query. Stops everything it started, also on error.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackTempDir } from './children.js';
import { startControllerProcess, type ControllerProcess } from './controller-process.js';
import { DurableWatcher } from './durable.js';
import { enrolHosts, SimFleet } from './fleet.js';
import { parseJoinToken } from '../protocol/join-token.js';
import { callApi, expectApi, type Endpoint } from './http.js';
import { cpuPercent, runQueuePercent, sampleProcess } from './proc-stats.js';
import { summarise, type Summary } from './stats.js';

/** How one run is made. */
export interface ScenarioOptions {
  agents: number;
  workers: number;
  /** Start the controller with --insecure-plain-http (ws://, http://) instead of its default TLS. */
  plainHttp: boolean;
  /** Handshakes in flight across all workers. */
  connectConcurrency: number;
  enrolConcurrency: number;
  applyDelayMs: number;
  /** Durability watcher: time between two probes for a commit, and between two scans (bench/durable.ts). */
  pollMs: number;
  scanEveryMs: number;
  /** Upper bound for each waiting phase, in milliseconds. */
  phaseTimeoutMs: number;
  /** Times the drift (or hosts) query is repeated. */
  driftRepeats: number;
  /** Share of hosts that report a hand-edited daemon.json before the drift query is timed. */
  driftedPercent: number;
  /** Extra node flags for the controller (e.g. --cpu-prof). */
  controllerNodeArgs: string[];
  /** Nice value for the controller process (negative: it gets the CPU before the simulator), or null to leave it. */
  controllerNice: number | null;
  keepData: boolean;
  repoRoot: string;
  workerScript: string;
  log: (line: string) => void;
}

/** What one run measured. Times in milliseconds, memory in MiB, CPU in % of one core. */
export interface ScenarioResult {
  agents: number;
  workers: number;
  /** HTTPS/WSS with the controller's own CA, or insecure plain HTTP. */
  transport: 'tls' | 'plain';
  /** WebSocket handshakes in flight, all workers together. */
  connectConcurrency: number;
  pushPath: 'rollout-api' | 'settings-push';
  dataDir: string;
  enrolMs: number;
  /** CPU the controller spent on the N enrolments (over TLS: a handshake each), in seconds. */
  enrolCpuSeconds: number;
  connectAllMs: number;
  firstRevisionDurableMs: number;
  /** The rollout start (or settings PUT) request itself. */
  pushRequestMs: number;
  /** Per host, from the moment the push request was sent until its ack was seen durable. */
  durable: Summary;
  /** Per host, from the moment the push request was sent until the agent had `desired`. */
  received: Summary;
  /** Per host, from the agent's ack until it was seen durable. */
  ackToDurable: Summary;
  /** Rollout state once every ack was durable, and when it reached completed (rollout API only). */
  rolloutCompletedMs: number | null;
  durableScans: number;
  durableScanMs: number;
  /** Snapshots the watcher held (about one per commit) and rowid look-ups it made in them. */
  durableSnapshots: number;
  durableLookups: number;
  /** Resolution of the durable times: the longest gap between two probes for a commit. */
  durableMaxGapMs: number;
  controller: {
    rssBeforeConnectMiB: number;
    rssAfterConnectMiB: number;
    /** (RSS connected - RSS before connecting) / N, in KiB: what one agent's connection and session cost. */
    rssPerAgentKiB: number;
    /** CPU the controller spent connecting every agent (TLS handshakes, upgrades, hellos), in seconds. */
    cpuConnectSeconds: number;
    rssAfterPushMiB: number;
    peakRssMiB: number;
    cpuConnectPercent: number;
    cpuPushPercent: number;
    /** CPU the controller spent from the push request until every ack was durable, in seconds: unlike the times, not inflated by other load. */
    cpuPushSeconds: number;
    /** Share of the push phase the controller was runnable but had no CPU (other processes had it). */
    runQueuePushPercent: number;
    cpuSecondsTotal: number;
  };
  workersCpuSeconds: number;
  /** CPU the simulator workers spent from their start until every agent was welcomed, in seconds. */
  workersConnectCpuSeconds: number;
  /** GET /v1/health timed like the drift query: over TLS a new connection and handshake each time. */
  health: { p50: number; max: number };
  drift: {
    path: string;
    p50: number;
    max: number;
    bytes: number;
    status: number;
    /** Hosts that reported a hand-edited daemon.json before the drift queries were timed. */
    handEdited: number;
    /** From their reports until GET /v1/drift listed all of them. */
    detectedMs: number | null;
    /** Wall time of `fleetdock drift --json` (a new node process each time). */
    cliMs: number;
  };
  dropped: number;
}

const GROUP = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fleetdock ARGS` against the controller (trusting `caPath` through FLEETDOCK_CA_FILE when it
 * serves TLS) and returns its wall time in ms (NaN if it failed, with the reason in `onError`).
 */
function timeCli(repoRoot: string, url: string, token: string, caPath: string | null, args: string[], onError: (text: string) => void): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, FLEETDOCK_URL: url, FLEETDOCK_TOKEN: token };
  if (caPath !== null) env.FLEETDOCK_CA_FILE = caPath;
  else delete env.FLEETDOCK_CA_FILE;
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin/fleetdock.js'), ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) onError(`fleetdock ${args.join(' ')} failed: ${String(stderr).trim().slice(0, 500) || error.message}`);
      resolve(error ? NaN : performance.now() - started);
    });
  });
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean, progress?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProgress = Date.now();
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs} ms${progress ? ` (${progress()})` : ''}`);
    if (progress && Date.now() - lastProgress >= 1_000) {
      lastProgress = Date.now();
      progress();
    }
    await sleep(5);
  }
}

function workersCpu(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += sampleProcess(pid).cpuSeconds;
    } catch {
      // gone
    }
  }
  return total;
}

/** Runs the scenario for `options.agents` hosts. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const n = options.agents;
  const log = (line: string) => options.log(`N=${n}: ${line}`);
  const dataDir = mkdtempSync(join(tmpdir(), `fleetdock-bench-${n}-`));
  if (!options.keepData) trackTempDir(dataDir);
  let controller: ControllerProcess | undefined;
  let fleet: SimFleet | undefined;
  let watcher: DurableWatcher | undefined;
  try {
    controller = await startControllerProcess({ repoRoot: options.repoRoot, dataDir, logFile: join(dataDir, 'controller.log'), nodeArgs: options.controllerNodeArgs, plainHttp: options.plainHttp });
    const { url, adminToken, pid, tls } = controller;
    const endpoint: Endpoint = { baseUrl: url, ca: tls?.caPem };
    log(`controller pid ${pid} on ${url}, data in ${dataDir}${tls ? `, CA ${tls.caPath}` : ' (insecure plain HTTP)'}`);
    if (options.controllerNice !== null) {
      try {
        setPriority(pid, options.controllerNice);
      } catch (error) {
        log(`could not set the controller's nice value to ${options.controllerNice} (${(error as Error).message}); it shares the CPU equally with the simulator`);
      }
    }
    const api = (method: string, path: string, body?: unknown, ok = [200, 201]) => expectApi(endpoint, adminToken, method, path, body, ok);

    await api('POST', '/v1/groups', { name: GROUP });
    await api('PUT', `/v1/groups/${GROUP}/settings`, { registryMirrors: ['https://mirror-1.bench.internal'] });
    const { body: token } = await api('POST', `/v1/groups/${GROUP}/join-tokens`, { uses: n, ttlSeconds: 3_600 });
    // The token carries the pin of the CA the bench read from DATA/tls: the one an agent would check.
    const pin = parseJoinToken(token.token as string).pin;
    if (pin !== (tls?.pin ?? null)) throw new Error(`the join token's CA pin ${pin} is not the pin of ${tls?.caPath ?? 'a plain HTTP controller (none)'} (${tls?.pin})`);

    const beforeEnrol = sampleProcess(pid);
    let started = Date.now();
    const agents = await enrolHosts(endpoint, token.token as string, n, options.enrolConcurrency, (done) => log(`enrolled ${done}/${n}`));
    const enrolMs = Date.now() - started;
    log(`enrolled ${n} hosts in ${enrolMs} ms`);

    watcher = new DurableWatcher(join(dataDir, 'fleetdock.db'));
    const beforeConnect = sampleProcess(pid);
    const enrolCpuSeconds = beforeConnect.cpuSeconds - beforeEnrol.cpuSeconds;
    started = Date.now();
    fleet = new SimFleet(options.workerScript, endpoint, agents, options.workers, { concurrency: options.connectConcurrency, applyDelayMs: options.applyDelayMs });
    const f = fleet;
    await waitFor('connecting every agent', options.phaseTimeoutMs, () => (f.assertAlive(), f.totals().done), () => {
      const t = f.totals();
      log(`connected ${t.welcomed}/${n} (failed attempts ${t.failedAttempts}, gave up ${t.gaveUp})`);
      return `${t.welcomed}/${n}`;
    });
    const connectAllMs = Date.now() - started;
    const connectedSample = sampleProcess(pid);
    const workersConnectCpuSeconds = workersCpu(fleet.pids);
    const connected = fleet.totals();
    if (connected.welcomed !== n) throw new Error(`only ${connected.welcomed} of ${n} agents connected (${connected.gaveUp} gave up)`);
    log(`all ${n} agents said hello in ${connectAllMs} ms; controller CPU ${(connectedSample.cpuSeconds - beforeConnect.cpuSeconds).toFixed(1)} s, simulator CPU ${workersConnectCpuSeconds.toFixed(1)} s`);
    await waitFor('first revision durable on every host', options.phaseTimeoutMs, () => watcher!.countAt(1) === n);
    const firstRevisionDurableMs = Date.now() - started;
    const afterConnect = sampleProcess(pid);
    log(`first revision durable everywhere ${firstRevisionDurableMs} ms after connecting began; controller RSS ${afterConnect.rssMiB.toFixed(0)} MiB`);
    await sleep(1_000); // let the observed reports of the connect phase settle

    // ---- the push ----
    const probe = await callApi(endpoint, adminToken, 'GET', `/v1/groups/${GROUP}/rollouts`);
    const pushPath: ScenarioResult['pushPath'] = probe.status === 200 ? 'rollout-api' : 'settings-push';
    log(`push path: ${pushPath} (GET /v1/groups/${GROUP}/rollouts answered ${probe.status})`);
    const beforePush = sampleProcess(pid);
    const workersCpuBefore = workersCpu(fleet.pids);
    const settingsPut = await api('PUT', `/v1/groups/${GROUP}/settings`, { registryMirrors: ['https://mirror-2.bench.internal'] });
    const target = settingsPut.body.revision as number;
    // The clock starts when the push request is sent (the operator's `rollout start`), not when its
    // answer arrives: the answer may come before or after the controller sent every `desired`.
    let pushStartedAt = settingsPut.startedAt;
    let pushRequestMs = settingsPut.ms;
    let rolloutId: string | number | null = null;
    const watching = watcher.watch(target, n, { pollMs: options.pollMs, scanEveryMs: options.scanEveryMs, timeoutMs: options.phaseTimeoutMs, onProgress: (seen) => log(`durable at revision ${target}: ${seen}/${n}`) });
    if (pushPath === 'rollout-api') {
      const strategy = { canary: 0, batchSize: '100%', maxConcurrent: n, failureBudget: 0, offline: 'skip' };
      const rollout = await callApi(endpoint, adminToken, 'POST', `/v1/groups/${GROUP}/rollouts?hosts=false`, { toRevision: target, strategy });
      if (rollout.status !== 201) throw new Error(`POST /v1/groups/${GROUP}/rollouts answered ${rollout.status}: ${JSON.stringify(rollout.body).slice(0, 500)}`);
      pushStartedAt = rollout.startedAt;
      pushRequestMs = rollout.ms;
      rolloutId = rollout.body.rollout?.id ?? null;
    }
    const found = await watching;
    const afterPush = sampleProcess(pid);
    if (!found.complete) throw new Error(`only ${found.seenAt.size} of ${n} acks durable within ${options.phaseTimeoutMs} ms`);
    log(`every ack durable; last ${Math.max(...found.seenAt.values()) - pushStartedAt} ms after the push request was sent`);

    let rolloutCompletedMs: number | null = null;
    if (rolloutId !== null) {
      const deadline = Date.now() + options.phaseTimeoutMs;
      for (;;) {
        const view = await callApi(endpoint, adminToken, 'GET', `/v1/rollouts/${rolloutId}?hosts=false`);
        if (view.body?.rollout?.state === 'completed' || view.body?.state === 'completed') {
          rolloutCompletedMs = view.doneAt - pushStartedAt;
          break;
        }
        if (Date.now() > deadline) {
          log(`rollout ${rolloutId} not completed: ${JSON.stringify(view.body?.rollout?.counts ?? view.body?.counts ?? view.body).slice(0, 300)}`);
          break;
        }
        await sleep(20);
      }
    }

    const times = await fleet.times(target);
    const ids = watcher.idsByName();
    const durableMs: number[] = [];
    const receivedMs: number[] = [];
    const ackToDurableMs: number[] = [];
    times.names.forEach((name, i) => {
      const seen = found.seenAt.get(ids.get(name) ?? '');
      durableMs.push(seen === undefined ? NaN : seen - pushStartedAt);
      receivedMs.push(times.received[i]! - pushStartedAt);
      ackToDurableMs.push(seen === undefined ? NaN : seen - times.acked[i]!);
    });
    const workersCpuSeconds = workersCpu(fleet.pids) - workersCpuBefore;

    // ---- the drift query ----
    const driftProbe = await callApi(endpoint, adminToken, 'GET', '/v1/drift');
    // Before the drift API exists, GET /v1/hosts (what `fleetdock hosts` reads) stands in for it.
    const driftPath = driftProbe.status === 200 ? '/v1/drift' : '/v1/hosts';
    const handEdited = driftPath === '/v1/drift' ? Math.round((n * options.driftedPercent) / 100) : 0;
    let driftDetectedMs: number | null = null;
    if (handEdited > 0) {
      const every = n / handEdited;
      const names = Array.from({ length: handEdited }, (_, i) => agents[Math.floor(i * every)]!.name);
      const sentAt = Date.now();
      fleet.reportHandEdits(names);
      const deadline = sentAt + options.phaseTimeoutMs;
      for (;;) {
        const answer = await callApi(endpoint, adminToken, 'GET', '/v1/drift');
        if (Array.isArray(answer.body?.hosts) && answer.body.hosts.length >= handEdited) {
          driftDetectedMs = answer.doneAt - sentAt;
          break;
        }
        if (Date.now() > deadline) {
          log(`only ${answer.body?.hosts?.length ?? '?'} of ${handEdited} hand edits shown as drift after ${options.phaseTimeoutMs} ms`);
          break;
        }
        await sleep(50);
      }
      log(`${handEdited} hand-edited hosts listed by GET /v1/drift ${driftDetectedMs ?? 'n/a'} ms after they reported`);
    }
    const driftTimes: number[] = [];
    let driftLast = driftProbe;
    for (let i = 0; i < options.driftRepeats; i++) {
      driftLast = await callApi(endpoint, adminToken, 'GET', driftPath);
      driftTimes.push(driftLast.ms);
    }
    const drift = summarise(driftTimes);
    log(`${driftPath}: p50 ${drift.p50.toFixed(1)} ms, max ${drift.max.toFixed(1)} ms, ${driftLast.bytes} bytes, status ${driftLast.status}`);
    const healthTimes: number[] = [];
    for (let i = 0; i < options.driftRepeats; i++) healthTimes.push((await expectApi(endpoint, null, 'GET', '/v1/health', undefined, [200])).ms);
    const health = summarise(healthTimes);
    log(`GET /v1/health: p50 ${health.p50.toFixed(1)} ms, max ${health.max.toFixed(1)} ms (${tls ? 'a new TLS connection each' : 'keep-alive'})`);
    const cliMs = driftPath === '/v1/drift' ? await timeCli(options.repoRoot, url, adminToken, tls?.caPath ?? null, ['drift', '--json'], log) : NaN;
    if (!Number.isNaN(cliMs)) log(`fleetdock drift --json: ${cliMs.toFixed(0)} ms wall, node start-up included`);

    const end = sampleProcess(pid);
    const dropped = fleet.totals().dropped;
    return {
      agents: n,
      workers: fleet.pids.length,
      transport: tls ? 'tls' : 'plain',
      connectConcurrency: options.connectConcurrency,
      pushPath,
      dataDir,
      enrolMs,
      enrolCpuSeconds,
      connectAllMs,
      firstRevisionDurableMs,
      pushRequestMs,
      durable: summarise(durableMs),
      received: summarise(receivedMs),
      ackToDurable: summarise(ackToDurableMs),
      rolloutCompletedMs,
      durableScans: found.scans,
      durableScanMs: found.scanMs,
      durableSnapshots: found.snapshots,
      durableLookups: found.lookups,
      durableMaxGapMs: found.maxGapMs,
      controller: {
        rssBeforeConnectMiB: beforeConnect.rssMiB,
        rssAfterConnectMiB: afterConnect.rssMiB,
        rssPerAgentKiB: ((afterConnect.rssMiB - beforeConnect.rssMiB) * 1024) / n,
        cpuConnectSeconds: connectedSample.cpuSeconds - beforeConnect.cpuSeconds,
        rssAfterPushMiB: afterPush.rssMiB,
        peakRssMiB: end.peakRssMiB,
        cpuConnectPercent: cpuPercent(beforeConnect, afterConnect),
        cpuPushPercent: cpuPercent(beforePush, afterPush),
        cpuPushSeconds: afterPush.cpuSeconds - beforePush.cpuSeconds,
        runQueuePushPercent: runQueuePercent(beforePush, afterPush),
        cpuSecondsTotal: end.cpuSeconds,
      },
      workersCpuSeconds,
      workersConnectCpuSeconds,
      health: { p50: health.p50, max: health.max },
      drift: { path: driftPath, p50: drift.p50, max: drift.max, bytes: driftLast.bytes, status: driftLast.status, handEdited, detectedMs: driftDetectedMs, cliMs },
      dropped,
    };
  } finally {
    watcher?.close();
    await fleet?.stop().catch((e: unknown) => log(`stopping workers: ${String(e)}`));
    await controller?.stop().catch((e: unknown) => log(`stopping the controller: ${String(e)}`));
    if (!options.keepData) {
      rmSync(dataDir, { recursive: true, force: true });
      trackTempDir(dataDir, false);
    }
  }
}

