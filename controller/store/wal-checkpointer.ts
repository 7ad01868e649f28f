/**
 * The WAL checkpointer: copies the write-ahead log back into the database file from a worker thread,
 * so that the controller's event loop never waits for it.
 *
 * Why: SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1,000 pages, on
 * the connection that commits, and with synchronous=NORMAL a checkpoint is where the fsyncs happen
 * (the WAL before, the database file after). With thousands of agents answering a rollout, every few
 * batch commits carried one: 15-25 ms each of an event loop doing nothing but wait for the disk
 * (bench/README.md). Here the controller's connection has automatic checkpoints off, and a second
 * connection on a worker thread runs PASSIVE checkpoints. A PASSIVE checkpoint never takes the write
 * lock: the controller keeps committing while it runs. SQLite starts the WAL from its beginning again
 * (journal_size_limit trims the file then) only when a write begins with every frame already copied,
 * so the worker checkpoints again `catchUpMs` after every pass that found new frames, and waits
 * `intervalMs` only once a pass found none: it catches up whenever the controller pauses for a
 * moment. Writes that never pause (a commit every few milliseconds) or a reader holding an old
 * snapshot leave it behind all the same, and the WAL grows. When the file passes
 * `truncateAboveBytes` the worker runs a TRUNCATE checkpoint: the controller's writes wait for that
 * one (its busy timeout), but the PASSIVE passes before it have copied nearly everything, so it is
 * short, and it comes once per 64 MiB of WAL instead of SQLite's once per 4 MiB.
 *
 * If the worker cannot open the database, or its checkpoints fail three times in a row, or it dies,
 * the controller's connection goes back to automatic checkpoints (slower commits, nothing lost) and
 * the error is logged. Owns no other SQL.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Db } from './database.js';

/** Defaults, with units in the names. */
export const WAL_CHECKPOINTER_DEFAULTS = Object.freeze({
  /** How often the worker folds the WAL into the database file when the last pass found nothing new. */
  intervalMs: 500,
  /** How soon it checkpoints again after a pass that copied new frames (writes are going on). */
  catchUpMs: 5,
  /** A WAL file larger than this gets a TRUNCATE checkpoint, which holds writers until it is done. */
  truncateAboveBytes: 64 * 1024 * 1024,
  /**
   * Longest a TRUNCATE checkpoint waits for a reader of an old snapshot, holding the controller's
   * writes meanwhile; one that could not finish is tried again only after `truncateRetryMs`.
   */
  truncateWaitMs: 100,
  truncateRetryMs: 5_000,
  /** Checkpoints that fail in a row before the worker gives up (SQLite then checkpoints in the controller). */
  maxConsecutiveFailures: 3,
  /** The WAL file is cut back to this size when SQLite starts it over (it is reused, not deleted). */
  walSizeLimitBytes: 64 * 1024 * 1024,
  /** The pages SQLite's own checkpoint waits for, restored when the worker is gone. */
  fallbackAutocheckpointPages: 1000,
});

/** What the checkpointer needs. */
export interface WalCheckpointerOptions {
  intervalMs?: number;
  catchUpMs?: number;
  truncateAboveBytes?: number;
  truncateRetryMs?: number;
  logger: Logger;
}

/** Counters, for tests and the health of a long-running controller. */
export interface WalCheckpointerStats {
  /** Checkpoints that found new frames in the WAL and copied them. */
  checkpoints: number;
  /** TRUNCATE checkpoints run because the WAL file had grown past `truncateAboveBytes`. */
  truncations: number;
  /** Whether the worker is running; false after stop() or after it failed (then SQLite checkpoints itself). */
  running: boolean;
  /** Why the worker stopped on its own, if it did. */
  failure: string | null;
}

/** What the worker posts to the controller. */
type WorkerReport =
  | { type: 'ready' }
  | { type: 'checkpointed'; walFrames: number }
  | { type: 'truncated'; walBytes: number }
  | { type: 'truncate-busy'; walBytes: number }
  | { type: 'retrying'; message: string }
  | { type: 'failed'; message: string }
  | { type: 'stopped' };

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
  catchUpMs: number;
  truncateAboveBytes: number;
  maxConsecutiveFailures: number;
  truncateWaitMs: number;
  truncateRetryMs: number;
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
    db.pragma(`busy_timeout = ${data.truncateWaitMs}`); // only TRUNCATE waits: PASSIVE never does
  } catch (error) {
    port.postMessage({ type: 'failed', message: `could not open ${data.file}: ${(error as Error).message}` });
    return;
  }
  const { statSync } = require('node:fs') as typeof import('node:fs');
  const walBytes = () => {
    try {
      return statSync(`${data.file}-wal`).size;
    } catch {
      return 0; // no WAL file (yet): nothing to fold in
    }
  };
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = { log: 0, checkpointed: 0 };
  let failures = 0;
  let truncateAgainAt = 0;
  const run = () => {
    let delay = data.intervalMs;
    try {
      // log: frames in the WAL; checkpointed: how many of them are in the database file now. Both count
      // from the WAL's start, and stay as they are until a write starts the WAL over: only a change is news.
      const now = checkpoint.get() as { busy: number; log: number; checkpointed: number };
      if (now.log !== last.log || now.checkpointed !== last.checkpointed) {
        if (now.checkpointed > 0) port.postMessage({ type: 'checkpointed', walFrames: now.log });
        delay = data.catchUpMs; // writes are going on: catch up before the WAL grows further
      }
      last = now;
      const size = walBytes();
      if (size > data.truncateAboveBytes && Date.now() >= truncateAgainAt) {
        const { busy } = truncate.get() as { busy: number };
        if (busy) {
          truncateAgainAt = Date.now() + data.truncateRetryMs; // a reader holds an old snapshot: not now
          port.postMessage({ type: 'truncate-busy', walBytes: size });
        } else {
          last = { log: 0, checkpointed: 0 };
          port.postMessage({ type: 'truncated', walBytes: size });
        }
      }
      failures = 0;
    } catch (error) {
      const message = `checkpoint of ${data.file} failed: ${(error as Error).message}`;
      if (++failures >= data.maxConsecutiveFailures) {
        port.postMessage({ type: 'failed', message });
        db.close();
        return;
      }
      port.postMessage({ type: 'retrying', message });
    }
    timer = setTimeout(run, delay);
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
  const catchUpMs = options.catchUpMs ?? WAL_CHECKPOINTER_DEFAULTS.catchUpMs;
  const truncateAboveBytes = options.truncateAboveBytes ?? WAL_CHECKPOINTER_DEFAULTS.truncateAboveBytes;
  const truncateRetryMs = options.truncateRetryMs ?? WAL_CHECKPOINTER_DEFAULTS.truncateRetryMs;
  for (const [name, value] of Object.entries({ intervalMs, catchUpMs, truncateAboveBytes, truncateRetryMs })) {
    if (!Number.isFinite(value) || value < 1) throw new RangeError(`WAL checkpointer ${name} ${value} must be a number >= 1`);
  }
  if (db.memory || db.pragma('journal_mode', { simple: true }) !== 'wal') throw new RangeError(`the WAL checkpointer needs a database file in WAL mode, not ${db.memory ? 'an in-memory database' : db.name}`);
  const { logger } = options;
  const stats: WalCheckpointerStats = { checkpoints: 0, truncations: 0, running: true, failure: null };
  db.pragma(`journal_size_limit = ${WAL_CHECKPOINTER_DEFAULTS.walSizeLimitBytes}`);
  db.pragma('wal_autocheckpoint = 0');
  const data: WorkerData = {
    sqliteModule: createRequire(import.meta.url).resolve('better-sqlite3'),
    file: db.name,
    intervalMs,
    catchUpMs,
    truncateAboveBytes,
    maxConsecutiveFailures: WAL_CHECKPOINTER_DEFAULTS.maxConsecutiveFailures,
    truncateWaitMs: WAL_CHECKPOINTER_DEFAULTS.truncateWaitMs,
    truncateRetryMs,
  };
  const worker = new Worker(`(${checkpointLoop.toString()})(require('node:worker_threads').workerData)`, { eval: true, workerData: data, name: 'fleetdock-wal-checkpointer' });
  worker.unref(); // never what keeps a process alive
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let stopping: Promise<void> | undefined;
  let terminated: Promise<number> | undefined;
  const terminate = () => (terminated ??= worker.terminate());

  /** The worker is gone: SQLite checkpoints on the controller's connection again. */
  const fallBack = (why: string) => {
    markReady();
    if (stats.failure === null) stats.failure = why;
    if (stopping) {
      logger.warn({ err: why }, 'WAL checkpointer failed while stopping');
      return;
    }
    if (!stats.running) return;
    stats.running = false;
    if (db.open) db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINTER_DEFAULTS.fallbackAutocheckpointPages}`);
    logger.error({ err: why }, 'WAL checkpointer stopped; SQLite checkpoints in the controller again (slower commits under load, no data lost)');
    void terminate();
  };

  worker.on('message', (report: WorkerReport) => {
    if (report.type === 'checkpointed') stats.checkpoints++;
    else if (report.type === 'truncated') {
      stats.truncations++;
      logger.warn({ walBytes: report.walBytes }, 'the WAL had grown past its limit without starting over; it was truncated (writes waited for it)');
    } else if (report.type === 'truncate-busy') {
      logger.warn({ walBytes: report.walBytes }, 'the WAL has grown past its limit and a reader holds an old snapshot; truncating it later');
    } else if (report.type === 'retrying') logger.warn({ err: report.message }, 'WAL checkpoint failed; trying again');
    else if (report.type === 'failed') fallBack(report.message);
    else if (report.type === 'ready') markReady();
  });
  worker.on('error', (error) => fallBack(`worker error: ${error.message}`));
  worker.on('exit', (code) => {
    if (!stopping) fallBack(`worker exited (code ${code})`);
  });

  const stop = () =>
    (stopping ??= (async () => {
      markReady();
      const wasRunning = stats.running;
      stats.running = false;
      if (wasRunning) {
        worker.ref(); // until it has closed its connection: nothing else may be keeping the process alive
        const stopped = new Promise<void>((resolve) => {
          worker.on('message', (report: WorkerReport) => report.type === 'stopped' && resolve());
          worker.once('exit', () => resolve());
        });
        worker.postMessage('stop');
        await stopped;
      }
      await terminate();
      if (db.open) db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINTER_DEFAULTS.fallbackAutocheckpointPages}`);
    })());

  return { stats, ready, stop };
}
