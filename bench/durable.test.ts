// The bench's durability watcher on a real migrated SQLite file written by the real host store: each
// host is dated by the commit that made its result durable (never before it, and within a few probe
// intervals after it), even when several commits fall between two scans.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyResult } from '../test/controller/harness.js';
import { openMigratedStore, type MigratedStore } from '../test/support/migrated-store.js';
import type { ApplyResult } from '../protocol/messages.js';
import { DurableWatcher } from './durable.js';

const at = new Date('2026-11-28T10:00:00.000Z');
const HOSTS = 60;
const COMMITS = 6;

let t: MigratedStore;
let watcher: DurableWatcher | undefined;

const result = (revision: number) => applyResult(revision) as ApplyResult;

beforeEach(() => {
  t = openMigratedStore('durable', () => at);
  const group = t.store.groups.create('ci', null, at);
  const insert = t.db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at) VALUES (?, ?, ?, ?, 'x')");
  for (let i = 0; i < HOSTS; i++) insert.run(`id-${i}`, `bs${i}`, group.id, `c${i}`);
  t.db.transaction(() => {
    for (let i = 0; i < HOSTS; i++) t.store.hosts.recordApplyResult(`id-${i}`, result(1), at);
  })();
});

afterEach(() => {
  watcher?.close();
  watcher = undefined;
  t.remove();
});

/** Commits the hosts' results for revision 2 in COMMITS transactions, `gapMs` apart; returns when each committed. */
async function commitInTurns(gapMs: number): Promise<Map<string, { after: number; before: number }>> {
  const committed = new Map<string, { after: number; before: number }>();
  const perCommit = HOSTS / COMMITS;
  for (let c = 0; c < COMMITS; c++) {
    await new Promise((r) => setTimeout(r, gapMs));
    const ids = Array.from({ length: perCommit }, (_, i) => `id-${c * perCommit + i}`);
    const before = Date.now();
    t.db.transaction(() => {
      for (const id of ids) t.store.hosts.recordApplyResult(id, result(2), at);
    })();
    const after = Date.now();
    for (const id of ids) committed.set(id, { before, after });
  }
  return committed;
}

describe('DurableWatcher', () => {
  it('dates each host by its own commit, though all the commits fall between two scans', async () => {
    watcher = new DurableWatcher(t.file);
    expect(watcher.countAt(1)).toBe(HOSTS);
    // One scan a second: the six commits, 40 ms apart, all come before the first scan.
    const watching = watcher.watch(2, HOSTS, { pollMs: 2, scanEveryMs: 1_000, timeoutMs: 10_000 });
    const committed = await commitInTurns(40);
    const found = await watching;

    expect(found.complete).toBe(true);
    expect(found.scans).toBeLessThanOrEqual(2);
    expect(found.snapshots).toBeGreaterThanOrEqual(COMMITS);
    for (const [id, { after }] of committed) {
      const seen = found.seenAt.get(id)!;
      // Never before the commit returned (the watcher shares this thread: it cannot look during one),
      // and before the next one (a time taken from the scan that found it would be up to 1 s late).
      expect(seen, id).toBeGreaterThanOrEqual(after);
      expect(seen - after, id).toBeLessThan(40);
    }
    // Hosts of one commit share a time; six commits, six times.
    expect(new Set(found.seenAt.values()).size).toBe(COMMITS);
  });

  it('dates a host durable before the watch began by the start of the watch, and says when time ran out', async () => {
    watcher = new DurableWatcher(t.file);
    t.db.transaction(() => t.store.hosts.recordApplyResult('id-0', result(2), at))();
    const started = Date.now();
    const found = await watcher.watch(2, HOSTS, { pollMs: 2, scanEveryMs: 10, timeoutMs: 100 });
    expect(found.complete).toBe(false);
    expect([...found.seenAt.keys()]).toEqual(['id-0']);
    expect(found.seenAt.get('id-0')! - started).toBeLessThan(20);
    expect(watcher.idsByName().get('bs0')).toBe('id-0');
  });
});
