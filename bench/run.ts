/**
 * `npm run bench -- --agents 1000,10000`: the scale bench of issue #3. For each fleet size it starts a
 * fresh controller process (HTTPS/WSS with its own CA, the product default; --insecure-plain-http to
 * compare with plain HTTP), N simulated agents in forked workers (bench/sim-worker.ts), and prints
 * what bench/README.md explains: time to connect all, time from the push to every ack durable in
 * SQLite (p50/p99 per host), controller RSS and CPU, and the drift query's response time. Progress
 * goes to stderr, the table to stdout (and JSON to --json FILE). Stops every process it started.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAllChildren, removeTempDirs } from './children.js';
import { readControllerNodeFlags } from './controller-flags.js';
import { runScenario, type ScenarioResult } from './scenario.js';

const USAGE = `usage: npm run bench -- [options]

options:
  --agents LIST            fleet sizes, comma-separated (default 1000,10000)
  --workers N              simulator processes (default: one per 5,000 agents)
  --insecure-plain-http    start the controller with --insecure-plain-http (http://, ws://) instead
                           of its default HTTPS/WSS with its own CA, to compare
  --controller-nice N      nice value of the controller (default -10: the agents would run on other
                           machines, so the controller gets the CPU before the simulator; 0 to share)
  --connect-concurrency N  WebSocket handshakes in flight, all workers together (default 256)
  --enrol-concurrency N    POST /v1/enrol in flight (default 32)
  --apply-delay-ms MS      simulated apply time before each ack (default 0: all acks at once)
  --poll-ms MS             how often the durability watcher probes SQLite for a commit (default 5):
                           the resolution of the ack times
  --scan-every-ms MS       how often it scans the hosts it has not seen durable yet (default 250)
  --timeout-s S            limit for each waiting phase (default 300: connecting 10,000 agents over
                           TLS takes about 100 s on a loaded 2-core machine)
  --drift-repeats N        drift queries timed, and as many GET /v1/health (default 20)
  --drifted PCT            % of hosts that report a hand-edited daemon.json first (default 10)
  --cpu-prof DIR           run the controller with --cpu-prof, profiles into DIR
  --node-option=FLAG       an extra node flag for the controller (repeatable; write it with "=",
                           e.g. --node-option=--cpu-prof), after those of the ExecStart of
                           deploy/fleetdock-controller.service, which it always gets
  --keep                   keep each run's data directory (database, controller.log)
  --json FILE              also write the results as JSON
`;

const here = dirname(fileURLToPath(import.meta.url));
/** The checkout: dist/bench/run.js is two levels below it. */
const repoRoot = resolve(here, '..', '..');

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} ${JSON.stringify(text)} must be a whole number >= ${min}`);
  return value;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

/** Renders the results as a table, one column per fleet size. */
export function renderTable(results: ScenarioResult[]): string {
  const rows: [string, (r: ScenarioResult) => string, string][] = [
    ['transport', (r) => (r.transport === 'tls' ? 'HTTPS/WSS' : 'plain HTTP'), ''],
    ['push path', (r) => (r.pushPath === 'rollout-api' ? 'rollout API' : 'settings PUT'), ''],
    ['simulator workers', (r) => String(r.workers), ''],
    ['enrol all (POST /v1/enrol)', (r) => ms(r.enrolMs), ''],
    ['  CPU controller', (r) => `${r.enrolCpuSeconds.toFixed(1)} s`, ''],
    ['connect all (hello answered)', (r) => ms(r.connectAllMs), 'held'],
    ['  handshakes in flight', (r) => String(r.connectConcurrency), ''],
    ['  CPU controller / simulator', (r) => `${r.controller.cpuConnectSeconds.toFixed(1)} s / ${r.workersConnectCpuSeconds.toFixed(1)} s`, ''],
    ['  + first revision durable on all', (r) => ms(r.firstRevisionDurableMs), ''],
    ['push request (rollout start)', (r) => ms(r.pushRequestMs), ''],
    ['desired received p50 / p99', (r) => `${ms(r.received.p50)} / ${ms(r.received.p99)}`, ''],
    ['ack durable p50', (r) => ms(r.durable.p50), '< 1 s'],
    ['ack durable p99', (r) => ms(r.durable.p99), '< 3 s'],
    ['ack durable max (all)', (r) => ms(r.durable.max), ''],
    ['  (resolution: longest probe gap)', (r) => ms(r.durableMaxGapMs), ''],
    ['  (watcher: snapshots / scans)', (r) => `${r.durableSnapshots} / ${r.durableScans} (${r.durableScanMs.toFixed(0)} ms)`, ''],
    ['ack sent -> durable p50 / p99', (r) => `${ms(r.ackToDurable.p50)} / ${ms(r.ackToDurable.p99)}`, ''],
    ['rollout completed', (r) => (r.rolloutCompletedMs === null ? 'n/a' : ms(r.rolloutCompletedMs)), ''],
    ['controller RSS before connect', (r) => `${r.controller.rssBeforeConnectMiB.toFixed(0)} MiB`, ''],
    ['controller RSS connected / pushed', (r) => `${r.controller.rssAfterConnectMiB.toFixed(0)} / ${r.controller.rssAfterPushMiB.toFixed(0)} MiB`, ''],
    ['  per agent connected', (r) => `${r.controller.rssPerAgentKiB.toFixed(1)} KiB`, ''],
    ['controller peak RSS (VmHWM)', (r) => `${r.controller.peakRssMiB.toFixed(0)} MiB`, '< 600 MB'],
    ['controller CPU connect / push', (r) => `${r.controller.cpuConnectPercent.toFixed(0)}% / ${r.controller.cpuPushPercent.toFixed(0)}%`, ''],
    ['controller CPU time for the push', (r) => `${r.controller.cpuPushSeconds.toFixed(2)} s`, ''],
    ['controller waiting for a CPU (push)', (r) => `${r.controller.runQueuePushPercent.toFixed(0)}% of the time`, ''],
    ['controller CPU total', (r) => `${r.controller.cpuSecondsTotal.toFixed(1)} s`, ''],
    ['drift query p50 / max', (r) => `${r.drift.p50.toFixed(1)} / ${r.drift.max.toFixed(1)} ms`, '< 100 ms'],
    ['  (endpoint, response bytes)', (r) => `${r.drift.path} ${r.drift.bytes}`, ''],
    ['  hosts drifted / listed after', (r) => `${r.drift.handEdited} / ${r.drift.detectedMs === null ? 'n/a' : ms(r.drift.detectedMs)}`, ''],
    ['fleetdock drift --json (wall)', (r) => ms(r.drift.cliMs), ''],
    ['GET /v1/health p50 / max', (r) => `${r.health.p50.toFixed(1)} / ${r.health.max.toFixed(1)} ms`, ''],
    ['connections dropped', (r) => String(r.dropped), '0'],
  ];
  const header = ['', ...results.map((r) => `N=${r.agents}`), 'target'];
  const table = [header, ...rows.map(([label, cell, target]) => [label, ...results.map(cell), target])];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: 'string' },
      workers: { type: 'string' },
      'insecure-plain-http': { type: 'boolean' },
      'controller-nice': { type: 'string' },
      'connect-concurrency': { type: 'string' },
      'enrol-concurrency': { type: 'string' },
      'apply-delay-ms': { type: 'string' },
      'poll-ms': { type: 'string' },
      'scan-every-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
      'drift-repeats': { type: 'string' },
      drifted: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'node-option': { type: 'string', multiple: true },
      keep: { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const sizes = (values.agents ?? '1000,10000').split(',').map((s) => positiveInt('agents', s.trim(), 0));
  if (sizes.some((n) => n > 10_000)) throw new Error('--agents: at most 10000 (one join token allows 10,000 uses; the controller holds one fd per agent under a 20,000 limit)');
  const controllerNice = values['controller-nice'] === undefined ? -10 : Number(values['controller-nice']);
  if (!Number.isInteger(controllerNice) || controllerNice < -20 || controllerNice > 19) throw new Error(`--controller-nice ${values['controller-nice']} must be a whole number from -20 to 19`);
  const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const log = (line: string) => process.stderr.write(`[bench ${stamp()}] ${line}\n`);
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`;
  log(`controller node flags (from deploy/fleetdock-controller.service): ${readControllerNodeFlags(repoRoot).join(' ') || 'none'}`);
  log(`controller transport: ${values['insecure-plain-http'] ? 'insecure plain HTTP (--insecure-plain-http)' : 'HTTPS/WSS with its own CA (the default)'}`);
  log(`machine: ${machine}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine skews every number)`);
  const results: ScenarioResult[] = [];
  for (const n of sizes) {
    results.push(
      await runScenario({
        agents: n,
        workers: positiveInt('workers', values.workers, Math.max(1, Math.ceil(n / 5_000))),
        plainHttp: values['insecure-plain-http'] ?? false,
        connectConcurrency: positiveInt('connect-concurrency', values['connect-concurrency'], 256),
        enrolConcurrency: positiveInt('enrol-concurrency', values['enrol-concurrency'], 32),
        applyDelayMs: positiveInt('apply-delay-ms', values['apply-delay-ms'], 0, 0),
        pollMs: positiveInt('poll-ms', values['poll-ms'], 5),
        scanEveryMs: positiveInt('scan-every-ms', values['scan-every-ms'], 250),
        phaseTimeoutMs: positiveInt('timeout-s', values['timeout-s'], 300) * 1000,
        driftRepeats: positiveInt('drift-repeats', values['drift-repeats'], 20),
        driftedPercent: Math.min(100, positiveInt('drifted', values.drifted, 10, 0)),
        controllerNodeArgs: [...readControllerNodeFlags(repoRoot), ...(values['node-option'] ?? []), ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=controller-${n}.cpuprofile`] : [])],
        keepData: values.keep ?? false,
        controllerNice: controllerNice === 0 ? null : controllerNice,
        repoRoot,
        workerScript: join(here, 'sim-worker.js'),
        log,
      }),
    );
  }
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const transport = values['insecure-plain-http'] ? 'insecure plain HTTP' : 'HTTPS/WSS';
  process.stdout.write(`fleetdock bench: ${machine}; ${transport}; load average at the end ${load}\n\n${renderTable(results)}\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine, results }, null, 2)}\n`);
  return 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`[bench] ${signal}: stopping every process the bench started\n`);
    killAllChildren();
    // The controller is gone (SIGKILL is immediate), so its files can go; give the kernel a moment.
    setTimeout(() => {
      removeTempDirs();
      process.exit(130);
    }, 200);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAllChildren();
    process.exitCode = 1;
  },
);
