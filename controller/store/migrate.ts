/**
 * The migration runner: applies `NNNN_name.sql` files from a directory in version order, each in its
 * own transaction, and records each in `schema_migrations` (version, name, applied_at). A failing
 * migration is rolled back, leaving the database as it was, and reported as MIGRATION_FAILED naming the
 * file and SQLite's error. Takes the directory as an argument so tests can feed it broken migrations.
 *
 * A migration that rebuilds a table other tables refer to starts with the line
 * `-- fleetdock: foreign-keys-off`: SQLite's way of changing a table's constraints (create the new
 * table, copy, drop the old, rename) needs foreign keys off, and that pragma does nothing inside a
 * transaction. The runner turns them off around that migration's transaction, runs
 * `PRAGMA foreign_key_check` before its commit (any dangling reference rolls it back), and turns
 * them on again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetdockError } from '../../protocol/errors.js';
import type { Db } from './database.js';

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  file: string;
}

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** First line of a migration that must run with foreign keys off (see the header). */
export const FOREIGN_KEYS_OFF_MARKER = '-- fleetdock: foreign-keys-off';

/**
 * Lists the migrations in `dir`, sorted by version. A `.sql` file whose name does not follow
 * `NNNN_name.sql`, or two files with one version, is an error rather than something silently skipped.
 */
export function listMigrations(dir: string): Migration[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new FleetdockError('MIGRATION_FAILED', `cannot read the migrations directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const migrations: Migration[] = [];
  for (const file of entries.filter((f) => f.endsWith('.sql'))) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new FleetdockError('MIGRATION_FAILED', `migration file ${file} in ${dir} is not named NNNN_name.sql (lower-case name)`);
    }
    migrations.push({ version: Number(match[1]), name: match[2]!, file: join(dir, file) });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new FleetdockError('MIGRATION_FAILED', `two migrations have version ${migrations[i]!.version} in ${dir}`);
    }
  }
  return migrations;
}

function fileName(m: Migration): string {
  return `${String(m.version).padStart(4, '0')}_${m.name}.sql`;
}

/**
 * Applies the migrations in `dir` that `db` has not had yet and returns those it applied (none on a
 * database that is up to date). Throws MIGRATION_FAILED when one fails, or when the database has a
 * migration this build does not know (it was written by a newer fleetdock).
 */
export function applyMigrations(db: Db, dir: string, now: () => Date): Migration[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const migrations = listMigrations(dir);
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]));
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...done].filter((v) => !known.has(v)).sort((a, b) => a - b);
  if (unknown.length > 0) {
    throw new FleetdockError(
      'MIGRATION_FAILED',
      `the database has migration ${unknown.join(', ')}, which this fleetdock does not know; it was written by a newer version`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: Migration[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    const sql = readFileSync(migration.file, 'utf8');
    const foreignKeysOff = sql.split('\n', 1)[0]!.trim() === FOREIGN_KEYS_OFF_MARKER;
    const foreignKeysWereOn = foreignKeysOff && db.pragma('foreign_keys', { simple: true }) === 1;
    if (foreignKeysWereOn) {
      db.pragma('foreign_keys = OFF');
      // Ignored inside a transaction: a rebuild would then fail half-way with "FOREIGN KEY constraint failed".
      if (db.pragma('foreign_keys', { simple: true }) !== 0) {
        throw new FleetdockError('MIGRATION_FAILED', `migration ${fileName(migration)} needs foreign keys off, and they could not be turned off (is a transaction open?); nothing was changed`);
      }
    }
    try {
      db.transaction(() => {
        db.exec(sql);
        if (foreignKeysOff) refuseDanglingReferences(db);
        record.run(migration.version, migration.name, now().toISOString());
      })();
    } catch (error) {
      throw new FleetdockError('MIGRATION_FAILED', `migration ${fileName(migration)} failed: ${(error as Error).message}; the database was left as it was before it`, {
        cause: error,
        details: { migration: fileName(migration) },
      });
    } finally {
      if (foreignKeysWereOn) db.pragma('foreign_keys = ON');
    }
    applied.push(migration);
  }
  return applied;
}

/** Throws naming the first rows whose foreign key points nowhere (run before a foreign-keys-off migration commits). */
function refuseDanglingReferences(db: Db): void {
  const dangling = db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[];
  if (dangling.length === 0) return;
  const shown = dangling.slice(0, 5).map((d) => `${d.table} row ${d.rowid ?? '?'} -> ${d.parent}`);
  throw new Error(
    `${dangling.length} row(s) refer to rows that do not exist: ${shown.join(', ')} (delete or repair those rows with the sqlite3 shell, controller stopped, then start it again)`,
  );
}
