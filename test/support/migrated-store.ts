/**
 * A fresh controller store for a test: a SQLite file in its own temp directory with every real
 * migration applied (stamped with the test's clock) and the store over it. `remove()` closes the
 * database and deletes the directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMigrationsDir } from '../../controller/config.js';
import { createSecretBox } from '../../controller/secret-box.js';
import { openDatabase, type Db } from '../../controller/store/database.js';
import { createStore, type Store } from '../../controller/store/index.js';
import { applyMigrations } from '../../controller/store/migrate.js';

export interface MigratedStore {
  dir: string;
  /** The database file inside `dir`. */
  file: string;
  db: Db;
  store: Store;
  remove(): void;
}

/** Opens a new migrated store in a temp directory named after `name`. */
export function openMigratedStore(name: string, now: () => Date): MigratedStore {
  const dir = mkdtempSync(join(tmpdir(), `fleetdock-${name}-`));
  const file = join(dir, 'fleetdock.db');
  const db = openDatabase(file, 1000);
  applyMigrations(db, findMigrationsDir(), now);
  const store = createStore(db, createSecretBox(randomBytes(32)));
  return {
    dir,
    file,
    db,
    store,
    remove() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
