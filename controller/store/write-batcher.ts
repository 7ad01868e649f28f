/**
 * The write batcher: queues small writes (an agent's apply-result, observed report, hello, disconnect)
 * and runs them together in one SQLite transaction, at most `maxDelayMs` after the first was queued or
 * as soon as `maxItems` are waiting. One commit for hundreds of rows instead of one each: with
 * thousands of agents answering a rollout at once, per-row commits are what the controller spends its
 * time on (see bench/README.md).
 *
 * Writes run in the order they were queued, so a host's disconnect never overtakes its hello. A write
 * queued here is not visible to reads on the same connection until the flush: code that reads back
 * what it just wrote must call flush() first, or use `onDurable`. It owns no SQL: each queued item is
 * a function that runs prepared statements. It must not be used for writes a caller answers an HTTP
 * request about (those commit on their own, before the reply).
 */
import type { Logger } from 'pino';
import type { Db } from './database.js';

/** Limits of one batch, with units in the names. */
export const WRITE_BATCHER_DEFAULTS = Object.freeze({
  /** Longest a queued write waits for its commit. */
  maxDelayMs: 20,
  /** A batch this large is committed at once, without waiting for the timer. */
  maxItems: 500,
});

/** A timer the batcher can be given (tests pass a manual one). */
export interface BatchTimer {
  /** Calls `fn` once after `ms`; returns a function that cancels it. */
  schedule(fn: () => void, ms: number): () => void;
}

const realTimer: BatchTimer = {
  schedule(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** What a batcher needs. */
export interface WriteBatcherOptions {
  maxDelayMs?: number;
  maxItems?: number;
  timer?: BatchTimer;
  /** Where a write that failed on its own is reported (the others in its batch are kept). */
  logger?: Logger;
}

interface Queued {
  write: () => void;
  onDurable: ((error: Error | null) => void) | undefined;
}

/** Counters for tests and the bench. */
export interface WriteBatcherStats {
  /** Transactions committed (each holding one or more writes). */
  batches: number;
  /** Writes committed. */
  written: number;
  /** Writes that failed and were dropped. */
  failed: number;
  /** Largest batch committed. */
  largestBatch: number;
}

/** Queues writes and commits them in batches. */
export class WriteBatcher {
  readonly #db: Db;
  readonly #maxDelayMs: number;
  readonly #maxItems: number;
  readonly #timer: BatchTimer;
  readonly #logger: Logger | undefined;
  #queue: Queued[] = [];
  #cancelTimer: (() => void) | null = null;
  #flushing = false;
  #closed = false;
  readonly #stats: WriteBatcherStats = { batches: 0, written: 0, failed: 0, largestBatch: 0 };

  constructor(db: Db, options: WriteBatcherOptions = {}) {
    const maxDelayMs = options.maxDelayMs ?? WRITE_BATCHER_DEFAULTS.maxDelayMs;
    const maxItems = options.maxItems ?? WRITE_BATCHER_DEFAULTS.maxItems;
    if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) throw new RangeError(`write batcher maxDelayMs ${maxDelayMs} must be a number >= 0`);
    if (!Number.isInteger(maxItems) || maxItems < 1) throw new RangeError(`write batcher maxItems ${maxItems} must be a whole number >= 1`);
    this.#db = db;
    this.#maxDelayMs = maxDelayMs;
    this.#maxItems = maxItems;
    this.#timer = options.timer ?? realTimer;
    this.#logger = options.logger;
  }

  /** How many writes wait for a commit. */
  get pending(): number {
    return this.#queue.length;
  }

  /** A copy of the counters. */
  get stats(): WriteBatcherStats {
    return { ...this.#stats };
  }

  /**
   * Queues `write` (a function running prepared statements on this database). `onDurable` is called
   * after its batch committed (error null) or after the write failed (the error), from the flush; a
   * write that fills the batch flushes it inside this call. After close() a write runs at once, in
   * its own transaction.
   */
  enqueue(write: () => void, onDurable?: (error: Error | null) => void): void {
    const item: Queued = { write, onDurable };
    if (this.#closed) {
      this.#commit([item]);
      return;
    }
    this.#queue.push(item);
    if (this.#queue.length >= this.#maxItems && !this.#flushing) {
      this.flush();
    } else if (this.#cancelTimer === null) {
      this.#cancelTimer = this.#timer.schedule(() => {
        this.#cancelTimer = null;
        this.flush();
      }, this.#maxDelayMs);
    }
  }

  /** Commits everything queued now, in batches of at most maxItems; returns how many writes it committed. */
  flush(): number {
    if (this.#flushing) return 0; // a write queued from inside a write joins the running flush
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#flushing = true;
    let committed = 0;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.slice(0, this.#maxItems);
        this.#queue = this.#queue.slice(batch.length);
        committed += this.#commit(batch);
      }
    } finally {
      this.#flushing = false;
    }
    return committed;
  }

  /** Commits what is queued; later writes run at once. Safe to call twice. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  /** Runs `batch` in one transaction; if that fails, each write alone, so one bad write loses only itself. */
  #commit(batch: Queued[]): number {
    let ok = false;
    try {
      this.#db.transaction(() => {
        for (const item of batch) item.write();
      })();
      ok = true;
    } catch {
      // One write threw and rolled the batch back: find it by running each on its own.
    }
    let committed = 0;
    const results: (Error | null)[] = [];
    if (ok) {
      committed = batch.length;
      for (let i = 0; i < batch.length; i++) results.push(null);
      this.#stats.batches++;
    } else {
      for (const item of batch) {
        try {
          this.#db.transaction(item.write)();
          committed++;
          this.#stats.batches++;
          results.push(null);
        } catch (error) {
          const e = error instanceof Error ? error : new Error(String(error));
          this.#stats.failed++;
          this.#logger?.error({ err: e }, 'a batched write failed; it was dropped, the rest of its batch was kept');
          results.push(e);
        }
      }
    }
    this.#stats.written += committed;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, ok ? batch.length : 1);
    batch.forEach((item, i) => {
      if (!item.onDurable) return;
      try {
        item.onDurable(results[i]!);
      } catch (error) {
        this.#logger?.error({ err: error }, 'a write-batcher onDurable callback threw');
      }
    });
    return committed;
  }
}
