import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait.js';
import { openDatabase, type Db } from './database.js';
import { startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';

let dir: string;
let file: string;
let db: Db;
let checkpointer: WalCheckpointer | undefined;
const lines: { level: number; msg: string; err?: string }[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetdock-wal-'));
  file = join(dir, 'fleetdock.db');
  db = openDatabase(file, 1000);
  db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  lines.length = 0;
});

afterEach(async () => {
  await checkpointer?.stop();
  checkpointer = undefined;
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Commits `transactions` transactions of 100 rows of 2 KB each (a 4 KiB page per row: 100 pages per transaction). */
function writeRows(transactions: number, from = 0): number {
  const insert = db.prepare('INSERT INTO rows (id, body) VALUES (?, ?)');
  let id = from;
  for (let t = 0; t < transactions; t++) {
    db.transaction(() => {
      for (let i = 0; i < 100; i++, id++) insert.run(id, `${id}:`.padEnd(2048, 'x'));
    })();
  }
  return id - from;
}

/** The rows a reader finds in the database file alone, as a copy without the WAL would hold them. */
function rowsInDatabaseFileAlone(): number {
  const copy = join(dir, 'copy.db');
  copyFileSync(file, copy);
  const reader = new Database(copy, { readonly: true });
  try {
    return reader.prepare('SELECT COUNT(*) FROM rows').pluck().get() as number;
  } finally {
    reader.close();
  }
}

describe('startWalCheckpointer', () => {
  it('copies committed transactions into the database file from its worker, never in the committing connection', async () => {
    checkpointer = startWalCheckpointer(db, { logger, intervalMs: 20 });
    await checkpointer.ready;
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // 3,000 pages: SQLite's own checkpoint (at 1,000 pages) would have run in three of these commits.
    const written = writeRows(30);
    await waitFor('the worker to checkpoint every row', () => rowsInDatabaseFileAlone() === written, 10_000, 20);
    expect(checkpointer.stats).toMatchObject({ running: true, failure: null });
    expect(checkpointer.stats.checkpoints).toBeGreaterThanOrEqual(1);
  });

  it('lets SQLite start the WAL over once the worker caught up, so it does not grow without end', async () => {
    checkpointer = startWalCheckpointer(db, { logger, intervalMs: 10 });
    await checkpointer.ready;
    let written = 0;
    // 49 MB committed in 8 rounds; after each, the worker catches up before the next round begins.
    for (let round = 0; round < 8; round++) {
      written += writeRows(15, written);
      await waitFor('the round in the database file', () => rowsInDatabaseFileAlone() === written, 10_000, 10);
    }
    // One round is about 6 MB of WAL: a log never started over would hold all 49. (A round may begin
    // while the worker is inside its next checkpoint: then SQLite cannot start over and appends.)
    expect(statSync(`${file}-wal`).size).toBeLessThan(20 * 1024 * 1024);
  });

  it('keeps the WAL under its limit while writes go on without a pause', async () => {
    checkpointer = startWalCheckpointer(db, { logger, truncateAboveBytes: 8 * 1024 * 1024 });
    await checkpointer.ready;
    // A commit of 10 pages every 2 ms for 3 s: 15,000 pages, 60 MB through the WAL.
    const insert = db.prepare('INSERT INTO rows (id, body) VALUES (?, ?)');
    let id = 0;
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      db.transaction(() => {
        for (let i = 0; i < 10; i++, id++) insert.run(id, `${id}:`.padEnd(2048, 'x'));
      })();
      await new Promise((r) => setTimeout(r, 2));
    }
    // Commits land while each PASSIVE checkpoint runs, so the WAL is never all copied when a write
    // begins and never starts over on its own: without the truncations it would hold all 60 MB.
    expect(statSync(`${file}-wal`).size).toBeLessThan(12 * 1024 * 1024);
    expect(checkpointer.stats.truncations).toBeGreaterThanOrEqual(3);
    expect(db.prepare('SELECT COUNT(*) FROM rows').pluck().get()).toBe(id); // every commit went through
  });

  it('truncates a WAL that a long-held snapshot let grow past its limit, once the snapshot is gone', async () => {
    checkpointer = startWalCheckpointer(db, { logger, intervalMs: 20, truncateAboveBytes: 2 * 1024 * 1024, truncateRetryMs: 300 });
    await checkpointer.ready;
    const reader = new Database(file, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT COUNT(*) FROM rows').get(); // holds the snapshot: no frame after it can be copied
      writeRows(40); // 16 MB of WAL
      await waitFor('a truncation the reader kept from finishing', () => lines.some((l) => l.msg.startsWith('the WAL has grown past its limit and a reader holds')), 5_000, 10);
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(8 * 1024 * 1024);
      expect(writeRows(1, 4000)).toBe(100); // the controller writes on: the truncation gave up waiting
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
    // The file alone would stay at 16 MB (journal_size_limit trims only at 64 MB): the truncation cut it.
    await waitFor('the WAL truncated', () => checkpointer!.stats.truncations > 0 && statSync(`${file}-wal`).size < 1024 * 1024, 10_000, 20);
    expect(rowsInDatabaseFileAlone()).toBe(4100);
    expect(lines.find((l) => l.msg.startsWith('the WAL had grown past its limit'))).toMatchObject({ level: 40 });
  });

  it('falls back to SQLite checkpointing in the connection when its worker cannot open the database', async () => {
    unlinkSync(file); // the controller's connection keeps the deleted file; a new one cannot open it
    unlinkSync(`${file}-wal`);
    checkpointer = startWalCheckpointer(db, { logger, intervalMs: 20 });
    await checkpointer.ready;
    expect(checkpointer.stats.running).toBe(false);
    expect(checkpointer.stats.failure).toContain(`could not open ${file}`);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(lines.find((l) => l.msg.startsWith('WAL checkpointer stopped'))).toMatchObject({ level: 50, err: expect.stringContaining(file) });
    expect(writeRows(2)).toBe(200); // the controller goes on writing
  });

  it('stops its worker, and the closing connection folds in the rest and removes the WAL', async () => {
    checkpointer = startWalCheckpointer(db, { logger, intervalMs: 60_000 });
    await checkpointer.ready;
    const written = writeRows(5);
    await checkpointer.stop();
    expect(checkpointer.stats.running).toBe(false);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(rowsInDatabaseFileAlone()).toBe(written);
  });

  it('settles ready and records the failure when it is stopped before its worker reported', async () => {
    unlinkSync(file);
    unlinkSync(`${file}-wal`);
    checkpointer = startWalCheckpointer(db, { logger });
    await checkpointer.stop(); // at once: the worker has not even tried to open the file yet
    await checkpointer.ready;
    expect(checkpointer.stats.running).toBe(false);
    await waitFor('the failure recorded', () => checkpointer!.stats.failure?.includes(`could not open ${file}`), 5_000, 10);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('refuses a database that has no WAL to checkpoint', () => {
    const memory = openDatabase(':memory:', 1000);
    try {
      expect(() => startWalCheckpointer(memory, { logger })).toThrow(/needs a database file in WAL mode, not an in-memory database/);
    } finally {
      memory.close();
    }
  });
});
