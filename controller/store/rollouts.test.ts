// The rollout store on a real SQLite file with the real migrations: hosts inserted with their own
// columns, the set-based writes changing exactly the hosts named, and the lookups that run at fleet
// scale (every hello, every engine tick, a batch of thousands starting) going by index, not by scan.
import { join } from 'node:path';
import { openMigratedStore, type MigratedStore } from '../../test/support/migrated-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db } from './database.js';
import { type Store } from './index.js';
import type { RolloutHostUpdate } from './rollouts.js';

const T0 = '2026-11-28T10:00:00.000Z';
const T1 = '2026-11-28T10:01:00.000Z';
const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
const STRATEGY = { canary: 0, batchSize: '50%', maxConcurrent: 10, failureBudget: 0, offline: 'skip', onHalt: 'stop', resultTimeoutSeconds: 60 } as const;

let dir: string;
let db: Db;
let testStore: MigratedStore;
let store: Store;
let groupId: number;

beforeEach(() => {
  ({ dir, db, store } = testStore = openMigratedStore('rollouts', () => new Date(T0)));
  groupId = store.groups.create('ci', 'admin', new Date(T0)).id;
  db.prepare('UPDATE groups SET current_revision = 1 WHERE id = ?').run(groupId);
  // Ids in the reverse order of names: primary-key order is not start order.
  const insert = db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at) VALUES (?, ?, ?, ?, 'x')");
  for (const [i, name] of HOSTS.entries()) insert.run(`id-${9 - i}`, name, groupId, `c-${name}`);
});

afterEach(() => {
  testStore.remove();
});

const idOf = (name: string) => `id-${9 - HOSTS.indexOf(name)}`;
const pending: RolloutHostUpdate = { state: 'pending', reverted: false, outcome: null, action: null, error: null, startedAt: null, finishedAt: null };

function newRollout(): number {
  return store.rollouts.insert({ groupId, kind: 'rollout', fromRevision: 1, toRevision: 2, strategy: STRATEGY, createdAt: new Date(T0), createdBy: 'admin' });
}

/** Each host's rollout columns, by name. */
function columnsOf(rolloutId: number): Record<string, RolloutHostUpdate & { batch: number; position: number }> {
  return Object.fromEntries(
    store.rollouts.hosts(rolloutId).map((h) => [h.name, { batch: h.batch, position: h.position, state: h.state, reverted: h.reverted, outcome: h.outcome, action: h.action, error: h.error, startedAt: h.startedAt, finishedAt: h.finishedAt }]),
  );
}

function plan(sql: string, ...params: unknown[]): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('\n');
}

describe('RolloutStore.insertHosts', () => {
  it('stores each host with its own columns, however they mix', () => {
    const id = newRollout();
    const applying: RolloutHostUpdate = { ...pending, state: 'applying', startedAt: T1 };
    const rows = {
      h1: { batch: 0, position: 0, ...applying },
      h2: { batch: 0, position: 1, ...pending, state: 'offline' as const, finishedAt: T1 },
      h3: { batch: 0, position: 2, ...applying },
      h4: { batch: 1, position: 0, ...pending, state: 'failed' as const, outcome: 'failed' as const, action: 'restart' as const, error: { code: 'VERIFY_FAILED', message: 'a' }, startedAt: T0, finishedAt: T1 },
      h5: { batch: 1, position: 1, ...pending, state: 'failed' as const, outcome: 'failed' as const, action: 'restart' as const, error: { code: 'VERIFY_FAILED', message: 'b' }, startedAt: T0, finishedAt: T1 },
      h6: { batch: 1, position: 2, ...pending, reverted: true },
    };
    store.rollouts.insertHosts(id, Object.entries(rows).map(([name, row]) => ({ hostId: idOf(name), ...row })));
    expect(columnsOf(id)).toEqual(rows);
    expect(store.rollouts.hosts(id).map((h) => h.name)).toEqual(HOSTS); // by batch and position
  });
});

describe('the set-based writes', () => {
  it('change only the hosts named, and only in their rollout', () => {
    const other = newRollout();
    store.rollouts.insertHosts(other, HOSTS.map((name, position) => ({ hostId: idOf(name), batch: 0, position, ...pending })));
    db.prepare("UPDATE rollouts SET state = 'aborted' WHERE id = ?").run(other); // one active rollout per group
    const id = newRollout();
    store.rollouts.insertHosts(id, HOSTS.map((name, position) => ({ hostId: idOf(name), batch: 0, position, ...pending })));
    db.transaction(() => {
      store.rollouts.startHosts(id, [idOf('h2'), idOf('h4'), idOf('h5')], T0);
      store.hosts.setDesiredRevisions([idOf('h2'), idOf('h4'), idOf('h5')], 2);
      store.rollouts.updateHosts(id, [idOf('h2'), idOf('h5')], { state: 'succeeded', reverted: false, outcome: 'applied', action: 'reload', error: null, startedAt: T0, finishedAt: T1 });
    })();
    const after = columnsOf(id);
    expect(Object.fromEntries(HOSTS.map((h) => [h, after[h]!.state]))).toEqual({ h1: 'pending', h2: 'succeeded', h3: 'pending', h4: 'applying', h5: 'succeeded', h6: 'pending' });
    expect(after.h4).toMatchObject({ startedAt: T0, finishedAt: null, outcome: null });
    expect(after.h5).toMatchObject({ startedAt: T0, finishedAt: T1, outcome: 'applied', action: 'reload' });
    expect(Object.values(columnsOf(other)).every((h) => h.state === 'pending')).toBe(true);
    expect(HOSTS.map((h) => store.hosts.desiredRevisionOf(idOf(h)))).toEqual([1, 2, 1, 2, 2, 1]);
    expect(store.rollouts.hostIdsOffRevision(groupId, 1).sort()).toEqual([idOf('h2'), idOf('h4'), idOf('h5')].sort());

    db.transaction(() => store.hosts.followCurrentRevision(groupId))();
    expect(HOSTS.map((h) => store.hosts.desiredRevisionOf(idOf(h)))).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('write nothing for no hosts', () => {
    const id = newRollout();
    store.rollouts.insertHosts(id, [{ hostId: idOf('h1'), batch: 0, position: 0, ...pending }]);
    store.rollouts.startHosts(id, [], T0);
    store.rollouts.updateHosts(id, [], { ...pending, state: 'succeeded' });
    store.hosts.setDesiredRevisions([], 2);
    expect(columnsOf(id).h1!.state).toBe('pending');
    expect(store.hosts.desiredRevisionOf(idOf('h1'))).toBe(1);
  });
});

describe('lookups at fleet scale', () => {
  it('a hello asks whether its host is applying by the host index, not by reading every applying host', () => {
    expect(plan("SELECT 1 FROM rollout_hosts WHERE host_id = ? AND state = 'applying' LIMIT 1", 'x')).toMatch(/USING INDEX rollout_hosts_host \(host_id=\?\)/);
  });

  it('the engine tick reads only the hosts applying right now', () => {
    expect(plan("SELECT DISTINCT rollout_id FROM rollout_hosts WHERE state = 'applying'")).toMatch(/COVERING INDEX rollout_hosts_applying/);
  });

  it('a batch starting looks each host up by id', () => {
    expect(plan('UPDATE OR FAIL hosts SET desired_revision = ? FROM json_each(?) AS j WHERE hosts.id = j.value', 2, '[]')).toMatch(/SEARCH hosts USING COVERING INDEX sqlite_autoindex_hosts_1 \(id=\?\)/);
    expect(plan("UPDATE OR FAIL rollout_hosts SET state = 'applying' WHERE rollout_id = ? AND host_id IN (SELECT value FROM json_each(?))", 1, '[]')).toMatch(
      /SEARCH rollout_hosts USING PRIMARY KEY \(rollout_id=\? AND host_id=\?\)/,
    );
  });
});
