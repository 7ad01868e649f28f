// Starting a rollout on a real SQLite file with the real migrations: the rollout is created with its
// first step in one transaction (a batch starting now is stored applying, with its hosts' desired
// revision), the `desired` messages go out only after the commit, and a first step that fails leaves
// no rollout behind.
import pino from 'pino';
import { openMigratedStore, type MigratedStore } from '../../test/support/migrated-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db } from '../store/database.js';
import { type Store } from '../store/index.js';
import { RolloutEngine, type DesiredSender } from './engine.js';
import type { Strategy } from './strategy.js';

const NOW = new Date('2026-11-28T10:00:00.000Z');
const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
const SETTINGS = { registryMirrors: [], insecureRegistries: [], daemonProxy: null, clientProxy: null };

let dir: string;
let db: Db;
let testStore: MigratedStore;
let store: Store;
let engine: RolloutEngine | undefined;

beforeEach(() => {
  ({ dir, db, store } = testStore = openMigratedStore('engine', () => NOW));
  const group = store.groups.create('ci', 'admin', NOW);
  store.revisions.appendIfChanged(group.id, SETTINGS, 'admin', NOW);
  store.groups.setFirstCurrentRevision(group.id, 1);
  store.revisions.appendIfChanged(group.id, { ...SETTINGS, registryMirrors: ['https://mirror.example.com'] }, 'admin', NOW);
  const insert = db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at, connected, applied_revision) VALUES (?, ?, ?, ?, 'x', 1, 1)");
  for (const name of HOSTS) insert.run(`id-${name}`, name, group.id, `c-${name}`);
});

afterEach(() => {
  engine?.close();
  engine = undefined;
  testStore.remove();
});

/** A hub whose hosts are connected unless named in `offline`; records what it sent (to connected hosts only). */
function senderTo(offline: string[] = []) {
  const sent: { host: string; revision: number }[] = [];
  const isConnected = (hostId: string) => !offline.includes(hostId.slice('id-'.length));
  const sender: DesiredSender = {
    isConnected,
    sendDesired: (hostId, revision) => isConnected(hostId) && sent.push({ host: hostId.slice('id-'.length), revision: revision.number }) > 0,
  };
  return { sender, sent };
}

function startEngine(sender: DesiredSender): RolloutEngine {
  engine = new RolloutEngine({ store, sender, now: () => NOW, logger: pino({ level: 'silent' }), tickIntervalMs: 3_600_000, reconnectGraceMs: 0 });
  return engine;
}

function stored(): Record<string, { state: string; batch: number; startedAt: string | null; finishedAt: string | null; desired: number | null }> {
  const rows = db
    .prepare(`SELECT h.name, rh.state, rh.batch, rh.started_at AS startedAt, rh.finished_at AS finishedAt, h.desired_revision AS desired
      FROM rollout_hosts rh JOIN hosts h ON h.id = rh.host_id`)
    .all() as { name: string; state: string; batch: number; startedAt: string | null; finishedAt: string | null; desired: number | null }[];
  return Object.fromEntries(rows.map(({ name, ...row }) => [name, row]));
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const strategy = (s: Partial<Strategy>): Strategy => ({ canary: 0, batchSize: '100%', maxConcurrent: 100, failureBudget: 0, offline: 'skip', onHalt: 'stop', resultTimeoutSeconds: 60, ...s });

describe('RolloutEngine.startRollout', () => {
  it('stores a batch that starts at once as applying, with the target as its desired revision, and sends after the commit', async () => {
    const { sender, sent } = senderTo(['h6']);
    const { rollout, hosts } = startEngine(sender).startRollout('ci', { strategy: strategy({ batchSize: '50%' }) }, 'admin');
    expect(rollout).toMatchObject({ state: 'running', currentBatch: 0, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString() });
    const at = NOW.toISOString();
    expect(stored()).toEqual({
      h1: { state: 'applying', batch: 0, startedAt: at, finishedAt: null, desired: 2 },
      h2: { state: 'applying', batch: 0, startedAt: at, finishedAt: null, desired: 2 },
      h3: { state: 'applying', batch: 0, startedAt: at, finishedAt: null, desired: 2 },
      h4: { state: 'pending', batch: 1, startedAt: null, finishedAt: null, desired: null },
      h5: { state: 'pending', batch: 1, startedAt: null, finishedAt: null, desired: null },
      h6: { state: 'pending', batch: 1, startedAt: null, finishedAt: null, desired: null },
    });
    // The engine's copy says what the database says.
    expect(hosts.map((h) => [h.name, h.state, h.startedAt])).toEqual(store.rollouts.hosts(rollout.id).map((h) => [h.name, h.state, h.startedAt]));
    expect(db.prepare('SELECT action FROM audit_log ORDER BY id').pluck().all()).toEqual(['rollout.start']);
    expect(sent).toEqual([]); // not before the API has answered
    await nextTurn();
    expect(sent).toEqual([
      { host: 'h1', revision: 2 },
      { host: 'h2', revision: 2 },
      { host: 'h3', revision: 2 },
    ]);
  });

  it('marks hosts of the first batch that are offline as such, and completes at once when none is left', async () => {
    const { sender, sent } = senderTo(HOSTS);
    const { rollout } = startEngine(sender).startRollout('ci', { strategy: strategy({}) }, 'admin');
    expect(rollout).toMatchObject({ state: 'completed', finishedAt: NOW.toISOString() });
    expect(Object.values(stored()).every((h) => h.state === 'offline' && h.finishedAt === NOW.toISOString())).toBe(true);
    expect(store.groups.require('ci').currentRevision).toBe(2);
    expect(db.prepare('SELECT action FROM audit_log ORDER BY id').pluck().all()).toEqual(['rollout.start', 'rollout.complete']);
    await nextTurn();
    expect(sent).toEqual([]); // offline: they get revision 2 on their next hello
  });

  it('leaves no rollout behind when its first step fails, so the operator can start it again', async () => {
    const failing: DesiredSender = {
      isConnected: () => {
        throw new Error('hub gone');
      },
      sendDesired: () => true,
    };
    expect(() => startEngine(failing).startRollout('ci', { strategy: strategy({}) }, 'admin')).toThrow('hub gone');
    expect(db.prepare('SELECT COUNT(*) FROM rollouts').pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM rollout_hosts').pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get()).toBe(0);
    engine!.close();

    const { sender, sent } = senderTo();
    expect(startEngine(sender).startRollout('ci', { strategy: strategy({}) }, 'admin').rollout.state).toBe('running');
    await nextTurn();
    expect(sent.map((s) => s.host)).toEqual(HOSTS);
  });
});
