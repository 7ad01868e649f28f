import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetdockError } from '../../protocol/errors.js';
import { findMigrationsDir } from '../config.js';
import { openDatabase, type Db } from './database.js';
import { applyMigrations, FOREIGN_KEYS_OFF_MARKER, listMigrations } from './migrate.js';
import { RolloutStore } from './rollouts.js';

const MIGRATIONS = findMigrationsDir();
const now = () => new Date('2026-11-28T10:00:00.000Z');

let dir: string;
let db: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetdock-migrate-'));
  db = openDatabase(join(dir, 'fleetdock.db'), 1000);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Applies the real migrations up to `version` only: a database as an older controller left it. */
function migrateUpTo(version: number): void {
  const upTo = join(dir, `upto${version}`);
  mkdirSync(upTo);
  for (const m of listMigrations(MIGRATIONS).filter((m) => m.version <= version)) copyFileSync(m.file, join(upTo, `${String(m.version).padStart(4, '0')}_${m.name}.sql`));
  applyMigrations(db, upTo, now);
}

function tables(): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
}

describe('applyMigrations', () => {
  it('applies every migration in order on a fresh database and records each', () => {
    const applied = applyMigrations(db, MIGRATIONS, now);
    expect(applied.map((m) => m.version)).toEqual(listMigrations(MIGRATIONS).map((m) => m.version));
    expect(applied[0]).toMatchObject({ version: 1, name: 'initial' });
    expect(tables()).toEqual(expect.arrayContaining(['groups', 'revisions', 'hosts', 'join_tokens', 'operator_tokens', 'schema_migrations']));
    expect(db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all()).toEqual(
      applied.map((m) => ({ version: m.version, name: m.name, applied_at: '2026-11-28T10:00:00.000Z' })),
    );
  });

  it('applies none on a database that is up to date', () => {
    applyMigrations(db, MIGRATIONS, now);
    expect(applyMigrations(db, MIGRATIONS, now)).toEqual([]);
  });

  it('rolls a failing migration back, names it, and keeps the ones before it', () => {
    const broken = join(dir, 'migrations');
    mkdirSync(broken);
    writeFileSync(join(broken, '0001_good.sql'), 'CREATE TABLE good (id INTEGER PRIMARY KEY);');
    // Creates a table, then fails: the table must not survive.
    writeFileSync(join(broken, '0002_bad.sql'), 'CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);');
    let thrown: unknown;
    try {
      applyMigrations(db, broken, now);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FleetdockError);
    expect((thrown as FleetdockError).code).toBe('MIGRATION_FAILED');
    expect((thrown as FleetdockError).message).toContain('0002_bad.sql');
    expect((thrown as FleetdockError).message).toContain('no such table: no_such_table');
    expect(tables()).toContain('good');
    expect(tables()).not.toContain('half_done');
    expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
  });

  it('refuses a database that has a migration this build does not know', () => {
    const newer = join(dir, 'newer');
    mkdirSync(newer);
    copyFileSync(join(MIGRATIONS, '0001_initial.sql'), join(newer, '0001_initial.sql'));
    writeFileSync(join(newer, '9999_later.sql'), 'CREATE TABLE later (id INTEGER);');
    applyMigrations(db, newer, now);
    expect(() => applyMigrations(db, MIGRATIONS, now)).toThrow(/migration 9999, which this fleetdock does not know/);
  });

  it('0002 makes every existing group current on its latest revision, so its hosts keep what they were sent', () => {
    migrateUpTo(1);
    db.prepare("INSERT INTO groups (id, name, created_at) VALUES (1, 'ci', 'x'), (2, 'empty', 'x')").run();
    db.prepare("INSERT INTO revisions (group_id, number, settings, created_at) VALUES (1, 1, '{}', 'x'), (1, 2, '{}', 'x')").run();
    db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at) VALUES ('h', 'bs1', 1, 'c', 'x')").run();
    applyMigrations(db, MIGRATIONS, now);
    expect(db.prepare('SELECT name, current_revision AS current FROM groups ORDER BY id').all()).toEqual([
      { name: 'ci', current: 2 },
      { name: 'empty', current: null },
    ]);
    expect(db.prepare('SELECT desired_revision FROM hosts').pluck().get()).toBeNull();
    expect(tables()).toEqual(expect.arrayContaining(['rollouts', 'rollout_hosts']));
  });

  it('0006 indexes only applying rollout hosts, keeping every rollout host of a 0005 database', () => {
    migrateUpTo(5);
    db.prepare("INSERT INTO groups (id, name, created_at, current_revision) VALUES (1, 'ci', 'x', 1)").run();
    db.prepare("INSERT INTO revisions (group_id, number, settings, created_at) VALUES (1, 1, '{}', 'x'), (1, 2, '{}', 'x')").run();
    const host = db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at) VALUES (?, ?, 1, ?, 'x')");
    for (const h of ['h1', 'h2', 'h3', 'h4']) host.run(h, h, `c-${h}`);
    const rollout = db.prepare("INSERT INTO rollouts (id, group_id, kind, from_revision, to_revision, strategy, state, created_at, updated_at) VALUES (?, 1, 'rollout', 1, 2, '{}', ?, 'x', 'x')");
    rollout.run(1, 'halted');
    rollout.run(2, 'running');
    const rolloutHost = db.prepare('INSERT INTO rollout_hosts (rollout_id, host_id, batch, position, state) VALUES (?, ?, 0, 0, ?)');
    rolloutHost.run(1, 'h1', 'applying'); // a halted rollout still waiting for a result
    rolloutHost.run(1, 'h2', 'failed');
    rolloutHost.run(2, 'h2', 'applying');
    rolloutHost.run(2, 'h3', 'succeeded');
    rolloutHost.run(2, 'h4', 'pending');
    const before = db.prepare('SELECT * FROM rollout_hosts ORDER BY rollout_id, host_id').all();

    expect(applyMigrations(db, MIGRATIONS, now).map((m) => m.version)).toContain(6);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rollout_hosts' ORDER BY name").pluck().all()).toEqual([
      'rollout_hosts_applying',
      'rollout_hosts_host',
    ]);
    expect(db.prepare('SELECT * FROM rollout_hosts ORDER BY rollout_id, host_id').all()).toEqual(before);
    // What the index is for: the rollouts waiting for results, and whether a host is one of them.
    const store = new RolloutStore(db);
    expect(store.idsNeedingSteps()).toEqual([1, 2]);
    expect(['h1', 'h2', 'h3', 'h4'].map((h) => store.isApplying(h))).toEqual([true, true, false, false]);
    expect(db.prepare("SELECT DISTINCT rollout_id FROM rollout_hosts WHERE state = 'applying'").pluck().all()).toEqual([1, 2]);
  });

  it('0007 rebuilds hosts with every row, rowid, index and reference kept, and checks without IN lists', () => {
    migrateUpTo(6);
    db.prepare("INSERT INTO groups (id, name, created_at, current_revision) VALUES (1, 'ci', 'x', 1)").run();
    db.prepare("INSERT INTO revisions (group_id, number, settings, created_at) VALUES (1, 1, '{}', 'x')").run();
    const host = db.prepare(`INSERT INTO hosts (rowid, id, name, group_id, credential_hash, enrolled_at, connected, facts, applied_revision,
      last_result_revision, last_result_outcome, last_result_action, last_result_files, observed, desired_revision, revoked_at)
      VALUES (?, ?, ?, 1, ?, 'x', ?, '{}', 1, 1, ?, ?, '[]', '{"at":"x"}', ?, ?)`);
    host.run(7, 'h1', 'bs1', 'c1', 1, 'applied', 'reload', 1, null);
    host.run(3, 'h2', 'bs2', 'c2', 0, 'rolled-back', 'restart', null, 'y'); // rowids out of order, a gap before
    db.prepare("INSERT INTO rollouts (id, group_id, kind, from_revision, to_revision, strategy, state, created_at, updated_at) VALUES (1, 1, 'rollout', 1, 1, '{}', 'running', 'x', 'x')").run();
    db.prepare("INSERT INTO rollout_hosts (rollout_id, host_id, batch, position, state) VALUES (1, 'h1', 0, 0, 'applying')").run();
    db.prepare("INSERT INTO drift_periods (host_id, field, kind, began_at, detail, updated_at) VALUES ('h2', 'host', 'behind', 'x', 'd', 'x')").run();
    const rows = () => db.prepare('SELECT rowid AS rid, * FROM hosts ORDER BY rowid').all();
    const before = rows();
    const resultWriteOpcodes = () =>
      (db.prepare('EXPLAIN UPDATE hosts SET last_result_outcome = ?, last_result_action = ?, observed = ? WHERE id = ?').all(null, null, null, null) as { opcode: string }[]).map((op) => op.opcode);
    expect(resultWriteOpcodes()).toContain('OpenEphemeral'); // the IN lists of 0001, each a temporary b-tree per run

    expect(applyMigrations(db, MIGRATIONS, now).map((m) => m.version)).toContain(7);
    expect(rows()).toEqual(before);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hosts' AND sql IS NOT NULL ORDER BY name").pluck().all()).toEqual([
      'hosts_disconnected_since',
      'hosts_group',
    ]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1); // on again after the migration
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    // The references from rollout_hosts and drift_periods hold the new table: a host with a rollout
    // cannot be deleted, and a rollout host must name a host.
    expect(() => db.prepare("DELETE FROM hosts WHERE id = 'h1'").run()).toThrow(/FOREIGN KEY/);
    expect(() => db.prepare("INSERT INTO rollout_hosts (rollout_id, host_id, batch, position, state) VALUES (1, 'nobody', 0, 1, 'pending')").run()).toThrow(/FOREIGN KEY/);
    // The checks refuse what they refused, and the names and uniqueness stay.
    expect(() => db.prepare("UPDATE hosts SET last_result_outcome = 'done' WHERE id = 'h1'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE hosts SET last_result_action = 'kill' WHERE id = 'h1'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE hosts SET observed = '{' WHERE id = 'h1'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE hosts SET name = 'bs2' WHERE id = 'h1'").run()).toThrow(/UNIQUE/);
    for (const outcome of ['applied', 'unchanged', 'rolled-back', 'failed', null]) db.prepare('UPDATE hosts SET last_result_outcome = ? WHERE id = ?').run(outcome, 'h1');
    for (const action of ['none', 'reload', 'restart', null]) db.prepare('UPDATE hosts SET last_result_action = ? WHERE id = ?').run(action, 'h1');
    // What it is for: writing a result builds no temporary b-tree for the checks any more.
    expect(resultWriteOpcodes()).not.toContain('OpenEphemeral');
  });

  it('runs a foreign-keys-off migration with foreign keys off, and refuses to commit one that leaves a reference dangling', () => {
    const dirOf = (name: string, files: Record<string, string>) => {
      const d = join(dir, name);
      mkdirSync(d);
      for (const [file, sql] of Object.entries(files)) writeFileSync(join(d, file), sql);
      return d;
    };
    const base = {
      '0001_parents.sql': 'CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent(id));',
      '0002_rows.sql': 'INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1);',
    };
    // Rebuilding the parent as SQLite documents it: dropping it would fail with foreign keys on.
    const rebuild = `${FOREIGN_KEYS_OFF_MARKER}\nCREATE TABLE parent_new (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO parent_new (id) SELECT id FROM parent;\nDROP TABLE parent;\nALTER TABLE parent_new RENAME TO parent;`;
    expect(applyMigrations(db, dirOf('good', { ...base, '0003_rebuild.sql': rebuild }), now).map((m) => m.version)).toEqual([1, 2, 3]);
    expect(db.prepare('SELECT id, note FROM parent').all()).toEqual([{ id: 1, note: null }]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);

    db.close();
    rmSync(join(dir, 'fleetdock.db'));
    db = openDatabase(join(dir, 'fleetdock.db'), 1000);
    const losing = `${FOREIGN_KEYS_OFF_MARKER}\nCREATE TABLE parent_new (id INTEGER PRIMARY KEY);\nDROP TABLE parent;\nALTER TABLE parent_new RENAME TO parent;`;
    expect(() => applyMigrations(db, dirOf('bad', { ...base, '0003_lose_rows.sql': losing }), now)).toThrow(
      /0003_lose_rows.sql failed: 1 row\(s\) refer to rows that do not exist: child row 1 -> parent \(delete or repair those rows .*\); the database was left as it was/,
    );
    expect(db.prepare('SELECT id FROM parent').pluck().all()).toEqual([1]);
    expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1, 2]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('refuses a .sql file that is not named NNNN_name.sql', () => {
    const odd = join(dir, 'odd');
    mkdirSync(odd);
    writeFileSync(join(odd, '1_first.sql'), 'SELECT 1;');
    expect(() => applyMigrations(db, odd, now)).toThrow(/1_first.sql .* not named NNNN_name.sql/);
  });
});

describe('the schema', () => {
  beforeEach(() => {
    applyMigrations(db, MIGRATIONS, now);
    db.prepare("INSERT INTO groups (id, name, created_at) VALUES (1, 'ci', 'x')").run();
    db.prepare("INSERT INTO revisions (group_id, number, settings, created_at) VALUES (1, 1, '{}', 'x')").run();
  });

  it('refuses to change a revision', () => {
    expect(() => db.prepare("UPDATE revisions SET settings = '{\"registryMirrors\":[]}'").run()).toThrow(/revisions are immutable/);
    expect(db.prepare('SELECT settings FROM revisions').pluck().get()).toBe('{}');
  });

  it('refuses to delete a revision', () => {
    expect(() => db.prepare('DELETE FROM revisions').run()).toThrow(/revisions are immutable/);
    expect(db.prepare('SELECT COUNT(*) FROM revisions').pluck().get()).toBe(1);
  });

  it('refuses a second revision with the same number in a group', () => {
    expect(() => db.prepare("INSERT INTO revisions (group_id, number, settings, created_at) VALUES (1, 1, '{}', 'x')").run()).toThrow(/UNIQUE/);
  });

  it('refuses a second active rollout of a group', () => {
    const insert = db.prepare("INSERT INTO rollouts (group_id, kind, from_revision, to_revision, strategy, state, created_at, updated_at) VALUES (1, 'rollout', 1, 1, '{}', ?, 'x', 'x')");
    insert.run('completed');
    insert.run('running');
    expect(() => insert.run('paused')).toThrow(/UNIQUE/);
    insert.run('aborted');
  });

  it('refuses a host in a group that does not exist (foreign keys are on)', () => {
    expect(() => db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at) VALUES ('h', 'h', 99, 'x', 'x')").run()).toThrow(/FOREIGN KEY/);
  });
});
