import { join } from 'node:path';
import { openMigratedStore, type MigratedStore } from '../../test/support/migrated-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database.js';
import { type Store } from './index.js';
import { WriteBatcher, type BatchTimer } from './write-batcher.js';

const now = new Date('2026-11-28T10:00:00.000Z');
const FACTS = { hostname: 'h', os: 'linux 6.1.0', arch: 'x64', dockerVersion: '26.1.5', serviceManager: 'systemd', liveRestore: true, agentVersion: '0.1.0' } as const;

/** A timer that fires only when the test says so. */
function manualTimer() {
  const pending: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const timer: BatchTimer = {
    schedule(fn, ms) {
      const entry = { fn, ms, cancelled: false };
      pending.push(entry);
      return () => (entry.cancelled = true);
    },
  };
  return {
    timer,
    armed: () => pending.filter((p) => !p.cancelled).length,
    delays: () => pending.map((p) => p.ms),
    fire() {
      for (const entry of pending.splice(0)) if (!entry.cancelled) entry.fn();
    },
  };
}

let dir: string;
let db: Db;
let testStore: MigratedStore;
let store: Store;

beforeEach(() => {
  ({ dir, db, store } = testStore = openMigratedStore('batcher', () => now));
  const group = store.groups.create('g', null, now);
  for (let i = 1; i <= 5; i++) store.hosts.insert({ id: `h${i}`, name: `h${i}`, groupId: group.id, credentialHash: `c${i}`, joinTokenId: null as unknown as number, facts: FACTS }, now);
});

afterEach(() => {
  testStore.remove();
});

/** What a second connection (another process, the bench) sees: only committed rows. */
function committedAppliedRevisions(): Record<string, number | null> {
  const reader = openDatabase(join(dir, 'fleetdock.db'), 1000);
  try {
    const rows = reader.prepare('SELECT id, applied_revision AS r FROM hosts ORDER BY id').all() as { id: string; r: number | null }[];
    return Object.fromEntries(rows.map((row) => [row.id, row.r]));
  } finally {
    reader.close();
  }
}

const result = (revision: number) =>
  ({ type: 'apply-result' as const, revision, outcome: 'applied' as const, action: 'reload' as const, filesChanged: [] as string[], verification: null, error: null, durationMs: 1 });

describe('WriteBatcher', () => {
  it('commits nothing until the timer fires, then every queued write in one transaction', () => {
    const clock = manualTimer();
    const batcher = new WriteBatcher(db, { timer: clock.timer, maxDelayMs: 20 });
    for (const id of ['h1', 'h2', 'h3']) batcher.enqueue(() => store.hosts.recordApplyResult(id, result(7), now));
    expect(clock.delays()).toEqual([20]);
    expect(batcher.pending).toBe(3);
    expect(committedAppliedRevisions()).toMatchObject({ h1: null, h2: null, h3: null });
    clock.fire();
    expect(batcher.pending).toBe(0);
    expect(committedAppliedRevisions()).toMatchObject({ h1: 7, h2: 7, h3: 7, h4: null });
    expect(batcher.stats).toEqual({ batches: 1, written: 3, failed: 0, largestBatch: 3 });
  });

  it('commits at once when maxItems writes are waiting, and cancels the timer', () => {
    const clock = manualTimer();
    const batcher = new WriteBatcher(db, { timer: clock.timer, maxItems: 2 });
    batcher.enqueue(() => store.hosts.recordApplyResult('h1', result(3), now));
    expect(clock.armed()).toBe(1);
    batcher.enqueue(() => store.hosts.recordApplyResult('h2', result(3), now));
    expect(clock.armed()).toBe(0);
    expect(committedAppliedRevisions()).toMatchObject({ h1: 3, h2: 3 });
  });

  it('keeps the order of writes, so a later write to a host wins', () => {
    const batcher = new WriteBatcher(db, { timer: manualTimer().timer });
    batcher.enqueue(() => store.hosts.recordHello('h1', { facts: FACTS, appliedRevision: null, observed: null }, now));
    batcher.enqueue(() => store.hosts.markDisconnected('h1', now));
    batcher.enqueue(() => store.hosts.recordApplyResult('h1', result(4), now));
    batcher.enqueue(() => store.hosts.recordApplyResult('h1', result(5), now));
    batcher.flush();
    const host = store.hosts.find('h1')!;
    expect(host.connected).toBe(false);
    expect(host.appliedRevision).toBe(5);
  });

  it('drops only the write that fails and keeps the rest of its batch, telling each caller', () => {
    const batcher = new WriteBatcher(db, { timer: manualTimer().timer });
    const outcomes: (string | null)[] = [];
    const report = (error: Error | null) => outcomes.push(error ? error.message : null);
    batcher.enqueue(() => store.hosts.recordApplyResult('h1', result(2), now), report);
    batcher.enqueue(() => db.prepare("UPDATE hosts SET last_result_outcome = 'exploded' WHERE id = 'h2'").run(), report);
    batcher.enqueue(() => store.hosts.recordApplyResult('h3', result(2), now), report);
    expect(batcher.flush()).toBe(2);
    expect(outcomes).toEqual([null, expect.stringMatching(/CHECK constraint/), null]);
    expect(committedAppliedRevisions()).toMatchObject({ h1: 2, h2: null, h3: 2 });
    expect(batcher.stats.failed).toBe(1);
  });

  it('calls onDurable only after the commit, when another connection can see the row', () => {
    const clock = manualTimer();
    const batcher = new WriteBatcher(db, { timer: clock.timer });
    const seen: (number | null)[] = [];
    batcher.enqueue(
      () => store.hosts.recordApplyResult('h1', result(9), now),
      () => seen.push(committedAppliedRevisions().h1!),
    );
    expect(seen).toEqual([]);
    clock.fire();
    expect(seen).toEqual([9]);
  });

  it('commits what is queued on close and runs later writes at once', () => {
    const batcher = new WriteBatcher(db, { timer: manualTimer().timer });
    batcher.enqueue(() => store.hosts.recordApplyResult('h1', result(6), now));
    batcher.close();
    expect(committedAppliedRevisions().h1).toBe(6);
    batcher.enqueue(() => store.hosts.recordApplyResult('h2', result(6), now));
    expect(committedAppliedRevisions().h2).toBe(6);
    batcher.close();
  });

  it('flushes writes queued by a write or a callback in the same flush', () => {
    const batcher = new WriteBatcher(db, { timer: manualTimer().timer });
    batcher.enqueue(
      () => store.hosts.recordApplyResult('h1', result(2), now),
      () => batcher.enqueue(() => store.hosts.recordApplyResult('h2', result(2), now)),
    );
    batcher.flush();
    expect(batcher.pending).toBe(0);
    expect(committedAppliedRevisions()).toMatchObject({ h1: 2, h2: 2 });
  });

  it('refuses limits that make no sense', () => {
    expect(() => new WriteBatcher(db, { maxItems: 0 })).toThrow(/maxItems 0/);
    expect(() => new WriteBatcher(db, { maxDelayMs: -1 })).toThrow(/maxDelayMs -1/);
  });

  it('commits a large burst in batches of maxItems', () => {
    const group = store.groups.require('g');
    for (let i = 6; i <= 2000; i++) store.hosts.insert({ id: `h${i}`, name: `h${i}`, groupId: group.id, credentialHash: `c${i}`, joinTokenId: null as unknown as number, facts: FACTS }, now);
    const batcher = new WriteBatcher(db, { timer: manualTimer().timer, maxItems: 500 });
    for (let i = 1; i <= 2000; i++) batcher.enqueue(() => store.hosts.recordApplyResult(`h${i}`, result(11), now));
    expect(batcher.pending).toBe(0); // every 500th write flushed its batch
    expect(batcher.stats).toMatchObject({ batches: 4, written: 2000, largestBatch: 500 });
    expect(db.prepare('SELECT COUNT(*) FROM hosts WHERE applied_revision = 11').pluck().get()).toBe(2000);
  });
});
