/**
 * Opens the controller's SQLite database with the settings every connection must have: WAL (readers
 * never wait for the writer), foreign keys enforced, and a busy timeout instead of instant SQLITE_BUSY.
 * Does not create tables; migrate.ts does.
 */
import Database from 'better-sqlite3';

/** An open better-sqlite3 database. */
export type Db = Database.Database;

/** Opens (creating if needed) the database at `file`, `:memory:` for tests that need no file. */
export function openDatabase(file: string, busyTimeoutMs: number): Db {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    // WAL with synchronous=NORMAL is durable across application crashes and fast; only a power loss
    // can drop the last transactions, which agents re-report on reconnect anyway.
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
