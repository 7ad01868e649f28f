/**
 * The WAL checkpointer: copies the write-ahead log back into the database file from a worker thread,
 * so that the controller's event loop never waits for it.
 *
 * Why: SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1,000 pages, on
 * the connection that commits, and with synchronous=NORMAL a checkpoint is where the fsyncs happen
 * (the WAL before, the database file after). With thousands of agents answering a rollout, every few
 * batch commits carried one: 15-25 ms each of an event loop doing nothing but wait for the disk
 * (bench/README.md). Here the controller's connection has automatic checkpoints off, and a second
 * connection on a worker thread runs PASSIVE checkpoints on a timer. A PASSIVE checkpoint never takes
 * the write lock: the controller keeps committing while it runs, and the next write transaction after
 * a complete one starts the WAL from its beginning again (journal_size_limit trims the file then).
 *
 * If the worker cannot open the database or dies, the controller's connection goes back to automatic
 * checkpoints (slower commits, nothing lost) and the error is logged. Owns no other SQL.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Db } from './database.js';

/** Defaults, with units in the names. */
export const WAL_CHECKPOINTER_DEFAULTS = Object.freeze({
  /** How often the worker folds the WAL into the database file. */
  intervalMs: 500,
  /** The WAL file is cut back to this size when SQLite starts it over (it is reused, not deleted). */
  walSizeLimitBytes: 64 * 1024 * 1024,
  /** The pages SQLite's own checkpoint waits for, restored when the worker is gone. */
  fallbackAutocheckpointPages: 1000,
});

/** What the checkpointer needs. */
export interface WalCheckpointerOptions {
  intervalMs?: number;
  logger: Logger;
  /** How long the worker's connection waits for a lock before a checkpoint gives up until the next tick. */
  busyTimeoutMs: number;
}

/** Counters, for tests and the health of a long-running controller. */
export interface WalCheckpointerStats {
  /** Checkpoints that found new frames in the WAL and copied them. */
  checkpoints: number;
  /** Whether the worker is running; false after stop() or after it failed (then SQLite checkpoints itself). */
  running: boolean;
  /** Why the worker stopped on its own, if it did. */
  failure: string | null;
}

/** What the worker posts to the controller. */
type WorkerReport = { type: 'ready' } | { type: 'checkpointed'; walFrames: number } | { type: 'failed'; message: string } | { type: 'stopped' };

/** A running checkpointer. */
export interface WalCheckpointer {
  readonly stats: WalCheckpointerStats;
  /** Resolves once the worker has its connection open, or failed (then the fallback is in place). */
  readonly ready: Promise<void>;
  /** Stops the worker and closes its connection; the controller's own close then checkpoints the rest. */
  stop(): Promise<void>;
}

/** What the worker gets. */
interface WorkerData {
  sqliteModule: string;
  file: string;
  intervalMs: number;
  busyTimeoutMs: number;
}

/**
 * The worker thread's whole program. It runs from its source text (`eval`), so that the same code
 * serves the compiled controller and the TypeScript the tests run: it must use nothing from this
 * module's scope, only `require` and its argument.
 */
function checkpointLoop(data: WorkerData): void {
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const port = parentPort!;
  let db: import('better-sqlite3').Database;
  try {
    const Database = require(data.sqliteModule) as typeof import('better-sqlite3');
    db = new Database(data.file, { fileMustExist: true });
    db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
  } catch (error) {
    port.postMessage({ type: 'failed', message: `could not open ${data.file}: ${(error as Error).message}` });
    return;
  }
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = { log: 0, checkpointed: 0 };
  const run = () => {
    try {
      // log: frames in the WAL; checkpointed: how many of them are in the database file now. Both count
      // from the WAL's start, and stay as they are until a write starts the WAL over: only a change is news.
      const now = checkpoint.get() as { busy: number; log: number; checkpointed: number };
      if (now.checkpointed > 0 && (now.log !== last.log || now.checkpointed !== last.checkpointed)) port.postMessage({ type: 'checkpointed', walFrames: now.log });
      last = now;
    } catch (error) {
      port.postMessage({ type: 'failed', message: `checkpoint of ${data.file} failed: ${(error as Error).message}` });
      db.close();
      return;
    }
    timer = setTimeout(run, data.intervalMs);
  };
  port.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    clearTimeout(timer);
    if (db.open) db.close();
    port.postMessage({ type: 'stopped' });
    port.close();
  });
  port.postMessage({ type: 'ready' });
  run();
}

/**
 * Starts checkpointing `db` (a WAL database on a file) from a worker thread and turns the
 * connection's own automatic checkpoints off. Call stop() before closing `db`.
 */
export function startWalCheckpointer(db: Db, options: WalCheckpointerOptions): WalCheckpointer {
  const intervalMs = options.intervalMs ?? WAL_CHECKPOINTER_DEFAULTS.intervalMs;
  if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new RangeError(`WAL checkpointer intervalMs ${intervalMs} must be a number >= 1`);
  if (db.memory || db.pragma('journal_mode', { simple: true }) !== 'wal') throw new RangeError(`the WAL checkpointer needs a database file in WAL mode, not ${db.memory ? 'an in-memory database' : db.name}`);
  const { logger } = options;
  const stats: WalCheckpointerStats = { checkpoints: 0, running: true, failure: null };
  db.pragma(`journal_size_limit = ${WAL_CHECKPOINTER_DEFAULTS.walSizeLimitBytes}`);
  db.pragma('wal_autocheckpoint = 0');
  const data: WorkerData = { sqliteModule: createRequire(import.meta.url).resolve('better-sqlite3'), file: db.name, intervalMs, busyTimeoutMs: options.busyTimeoutMs };
  const worker = new Worker(`(${checkpointLoop.toString()})(require('node:worker_threads').workerData)`, { eval: true, workerData: data, name: 'fleetdock-wal-checkpointer' });
  worker.unref(); // never what keeps a process alive
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let stopping: Promise<void> | undefined;

  /** The worker is gone: SQLite checkpoints on the controller's connection again. */
  const fallBack = (why: string) => {
    if (!stats.running) return;
    stats.running = false;
    stats.failure = why;
    if (db.open) db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINTER_DEFAULTS.fallbackAutocheckpointPages}`);
    logger.error({ err: why }, 'WAL checkpointer stopped; SQLite checkpoints in the controller again (slower commits under load, no data lost)');
    markReady();
    void worker.terminate();
  };

  worker.on('message', (report: WorkerReport) => {
    if (report.type === 'checkpointed') {
      stats.checkpoints++;
    } else if (report.type === 'failed') fallBack(report.message);
    else if (report.type === 'ready') markReady();
  });
  worker.on('error', (error) => fallBack(`worker error: ${error.message}`));
  worker.on('exit', (code) => {
    if (!stopping) fallBack(`worker exited (code ${code})`);
  });

  const stop = () =>
    (stopping ??= (async () => {
      if (!stats.running) return;
      stats.running = false;
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (report: WorkerReport) => report.type === 'stopped' && resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
      if (db.open) db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINTER_DEFAULTS.fallbackAutocheckpointPages}`);
    })());

  return { stats, ready, stop };
}
