// Starting and stopping a controller: the data directory, the first admin token, migrations that fail.
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findMigrationsDir, resolveControllerConfig } from '../../controller/config.js';
import { startController } from '../../controller/server.js';
import { FleetdockError } from '../../protocol/errors.js';
import { httpTo } from './harness.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fleetdock-server-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const config = (overrides: { migrationsDir?: string; listen?: string } = {}) =>
  resolveControllerConfig({ data: join(root, 'data'), listen: overrides.listen ?? '127.0.0.1:0', migrationsDir: overrides.migrationsDir });

describe('startController', () => {
  it('makes the admin token on first start only, in a private file, and it works', async () => {
    const first = await startController(config());
    await first.close();
    expect(first.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.adminTokenPath).toBe(join(root, 'data', 'admin.token'));
    expect(readFileSync(first.adminTokenPath, 'utf8')).toBe(`${first.adminToken}\n`);
    expect(statSync(first.adminTokenPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'data')).mode & 0o777).toBe(0o700);

    const second = await startController(config());
    try {
      expect(second.adminToken).toBeUndefined();
      expect(readFileSync(second.adminTokenPath, 'utf8')).toBe(`${first.adminToken}\n`);
      const groups = await httpTo(`${second.url}/v1/groups`, { headers: { authorization: `Bearer ${first.adminToken}` }, ca: second.tls!.caPem });
      expect(groups.status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('stores secrets only as hashes', async () => {
    const controller = await startController(config());
    const headers = { authorization: `Bearer ${controller.adminToken}`, 'content-type': 'application/json' };
    const ca = controller.tls!.caPem;
    await httpTo(`${controller.url}/v1/groups`, { method: 'POST', headers, body: JSON.stringify({ name: 'ci' }), ca });
    const joinToken = (await httpTo(`${controller.url}/v1/groups/ci/join-tokens`, { method: 'POST', headers, body: '{}', ca })).body as { token: string };
    expect(joinToken.token).toMatch(/^FD1[0-9a-f]{64}::/);
    await controller.close();
    const files = ['fleetdock.db', 'fleetdock.db-wal'].map((f) => join(root, 'data', f)).filter((f) => existsSync(f));
    const dump = files.map((f) => readFileSync(f).toString('latin1')).join('');
    expect(dump).not.toContain(controller.adminToken!);
    expect(dump).not.toContain(joinToken.token.split('::')[1]);
  });

  it('refuses to start when a migration fails, naming it, and leaves the database as it was', async () => {
    const migrations = join(root, 'migrations');
    mkdirSync(migrations);
    copyFileSync(join(findMigrationsDir(), '0001_initial.sql'), join(migrations, '0001_initial.sql'));
    writeFileSync(join(migrations, '0002_broken.sql'), 'ALTER TABLE hosts ADD COLUMN note TEXT;\nALTER TABLE nowhere ADD COLUMN x TEXT;');
    const started = await startController(config({ migrationsDir: migrations })).catch((e) => e);
    expect(started).toBeInstanceOf(FleetdockError);
    expect(started).toMatchObject({ code: 'MIGRATION_FAILED', message: expect.stringContaining('0002_broken.sql') });
    expect(started.message).toContain('no such table: nowhere');

    const db = new Database(join(root, 'data', 'fleetdock.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
      const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('hosts');
      expect(columns).not.toContain('note');
    } finally {
      db.close();
    }
    // nothing was left open: a correct start on the same directory works
    const fixed = await startController(config());
    await fixed.close();
  });

  it('fails on a port in use and leaves nothing open', async () => {
    const running = await startController(config());
    try {
      const second = await startController(resolveControllerConfig({ data: join(root, 'other'), listen: `127.0.0.1:${running.port}` })).catch((e) => e);
      expect(second.code).toBe('EADDRINUSE');
    } finally {
      await running.close();
    }
  });
});
