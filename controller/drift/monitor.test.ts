// The drift monitor over a real SQLite file with the real migrations: reports recorded through the
// host store become drift periods, audit events and (in enforce) re-sends, exactly as the hub drives it.
import { join } from 'node:path';
import { pino } from 'pino';
import { openMigratedStore, type MigratedStore } from '../../test/support/migrated-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApplyResult } from '../../protocol/messages.js';
import type { HostFacts, ObservedState } from '../../protocol/observed.js';
import { SettingsSchema, type SettingsInput } from '../../protocol/settings.js';
import { getDrift } from '../api/handlers/drift.js';
import { type Db } from '../store/database.js';
import { type Store } from '../store/index.js';
import type { Revision } from '../store/revisions.js';
import { DriftMonitor, REPORT_GRACE_MS } from './monitor.js';

const MIRROR = 'http://mirror.internal:5000';
const OTHER = 'http://evil.example:5000';
const FACTS: HostFacts = { hostname: 'bs', os: 'linux 6.1', arch: 'x64', dockerVersion: '20.10.24', serviceManager: 'signal', liveRestore: false, agentVersion: '0.1.0' };

let dir: string;
let db: Db;
let testStore: MigratedStore;
let store: Store;
let clock: number;
let monitor: DriftMonitor;
let sent: { hostId: string; revision: number }[];
let groupId: number;
let tokenId: number;

const now = () => new Date(clock);

function observed(mirrors: string[], daemonMirrors = mirrors, appliedRevision = 1): ObservedState {
  return {
    at: now().toISOString(),
    appliedRevision,
    files: { daemonJson: 'ok', daemonJsonSha256: 'x', registryMirrors: mirrors, insecureRegistries: [], daemonJsonProxy: null, dropInProxy: null, clientProxies: {} },
    daemon: { running: true, version: '20.10.24', registryMirrors: daemonMirrors, insecureRegistries: [], proxy: { http: null, https: null, noProxy: [] }, liveRestore: false },
  };
}

function result(revision: number, outcome: ApplyResult['outcome'], error: ApplyResult['error'] = null): ApplyResult {
  return { type: 'apply-result', revision, outcome, action: 'reload', filesChanged: ['/etc/docker/daemon.json'], verification: null, error, durationMs: 12 };
}

function setRevision(settings: SettingsInput): Revision {
  const { revision } = store.revisions.appendIfChanged(groupId, SettingsSchema.parse(settings), 'admin', now());
  return revision;
}

/** Enrols `name` and makes it say hello on revision 1 with the mirror in place. */
function connectHost(name: string, mirrors = [MIRROR]): string {
  const id = `id-${name}`;
  store.hosts.insert({ id, name, groupId, credentialHash: `hash-${name}`, joinTokenId: tokenId, facts: FACTS }, now());
  store.hosts.recordHello(id, { facts: FACTS, appliedRevision: 1, observed: observed(mirrors) }, now());
  store.hosts.recordApplyResult(id, result(1, 'unchanged'), now());
  return id;
}

const open = (hostId: string) => store.drift.openPeriods(hostId).map((p) => `${p.field}:${p.kind}`).sort();
const actions = () => store.audit.list({ limit: 1000 }).entries.map((e) => `${e.action}${e.host ? ` ${e.host}` : ''}`);

beforeEach(() => {
  clock = Date.parse('2026-11-28T10:00:00.000Z');
  ({ dir, db, store } = testStore = openMigratedStore('drift', now));
  sent = [];
  monitor = new DriftMonitor({
    store,
    now,
    logger: pino({ level: 'silent' }),
    options: { offlineAfterMs: 60_000, enforceIntervalMs: 30_000, sweepIntervalMs: 3_600_000, flushDelayMs: 1, batchSize: 100 },
  });
  monitor.attachSender({ sendDesired: (hostId, revision) => (sent.push({ hostId, revision: revision.number }), true) });
  groupId = store.groups.create('ci', 'admin', now()).id;
  tokenId = store.joinTokens.create({ groupId, tokenHash: 'token', createdBy: 'admin', uses: 100_000, createdAt: now(), expiresAt: new Date(clock + 86_400_000) });
  setRevision({ registryMirrors: [MIRROR] });
  store.groups.setFirstCurrentRevision(groupId, 1);
});

afterEach(() => {
  monitor.close();
  testStore.remove();
});

/**
 * Enrols `name`, which says hello with no mirror yet, then applies revision 1: the result is recorded
 * and the monitor told, but the observed report the agent sends after it has not come (yet).
 */
function appliedBeforeItsReport(name: string): string {
  const id = `id-${name}`;
  store.hosts.insert({ id, name, groupId, credentialHash: `hash-${name}`, joinTokenId: tokenId, facts: FACTS }, now());
  store.hosts.recordHello(id, { facts: FACTS, appliedRevision: null, observed: observed([]) }, now());
  clock += 1_000;
  store.hosts.recordApplyResult(id, result(1, 'applied'), now());
  monitor.applyResultRecorded({ id, name, group: 'ci' }, result(1, 'applied'));
  monitor.flush();
  return id;
}

describe('DriftMonitor', () => {
  it('a report that never comes after a result does not leave the host unjudged: after the grace, and offline', () => {
    const id = appliedBeforeItsReport('lost');
    expect(open(id)).toEqual([]);
    // The connection drops before the report: the host is judged on what is known once the grace is over.
    store.hosts.markDisconnected(id, now());
    clock += REPORT_GRACE_MS + 1;
    monitor.sweep();
    monitor.flush();
    expect(open(id)).toEqual(['registryMirrors:file-edited']);
    clock += 60_000; // and it goes offline like any other host
    monitor.sweep();
    monitor.flush();
    expect(open(id)).toEqual(['host:offline', 'registryMirrors:file-edited']);
  });

  it('does not judge the files from the state before an apply while the report after it is on its way', () => {
    // The race CI once hit: the apply-result is committed before the agent's observed report, and the
    // state from the hello (no mirror yet) made a file-edited drift (and host.drifted) that never was.
    const id = appliedBeforeItsReport('fresh');
    expect(open(id)).toEqual([]);

    clock += 50; // the report after the apply
    store.hosts.recordObserved(id, observed([MIRROR]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual([]);
    expect(actions()).not.toContain('host.drifted fresh');

    clock += 1_000; // a real hand edit later is still caught
    store.hosts.recordObserved(id, observed([OTHER], [MIRROR]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual(['registryMirrors:file-edited']);
    expect(actions()).toContain('host.drifted fresh');
  });

  it('opens a period when a file is edited, keeps it while it lasts, and ends it when it is put back', () => {
    const id = connectHost('bs1');
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual([]);

    clock += 1_000;
    store.hosts.recordObserved(id, observed([OTHER], [MIRROR]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual(['registryMirrors:file-edited']);
    const began = db.prepare('SELECT began_at FROM drift_periods').pluck().get();
    expect(began).toBe('2026-11-28T10:00:01.000Z');

    clock += 1_000; // someone reloads dockerd: still the file that is wrong, same period
    store.hosts.recordObserved(id, observed([OTHER], [OTHER]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(db.prepare('SELECT COUNT(*) FROM drift_periods').pluck().get()).toBe(1);

    clock += 1_000; // file put right, daemon not reloaded
    store.hosts.recordObserved(id, observed([MIRROR], [OTHER]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual(['registryMirrors:daemon-not-reloaded']);

    clock += 1_000; // reloaded
    store.hosts.recordObserved(id, observed([MIRROR]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual([]);
    expect(db.prepare('SELECT kind, began_at, ended_at FROM drift_periods ORDER BY id').all()).toEqual([
      { kind: 'file-edited', began_at: '2026-11-28T10:00:01.000Z', ended_at: '2026-11-28T10:00:03.000Z' },
      { kind: 'daemon-not-reloaded', began_at: '2026-11-28T10:00:03.000Z', ended_at: '2026-11-28T10:00:04.000Z' },
    ]);
    expect(actions()).toEqual(['host.drifted bs1', 'host.drifted bs1', 'host.converged bs1']);
    expect(sent).toEqual([]); // audit policy: nothing re-sent
  });

  it('classifies changes that arrive within the flush delay together, on its own timer', async () => {
    const ids = ['bs1', 'bs2', 'bs3'].map((n) => connectHost(n, [OTHER]));
    for (const id of ids) monitor.hostChanged(id);
    await new Promise((r) => setTimeout(r, 50));
    expect(ids.map(open)).toEqual([['registryMirrors:file-edited'], ['registryMirrors:file-edited'], ['registryMirrors:file-edited']]);
  });

  it('in enforce, re-sends the desired revision at once, then at most once per interval, and records it', () => {
    const id = connectHost('bs1', [OTHER]);
    monitor.hostChanged(id);
    monitor.flush();
    expect(sent).toEqual([]);

    store.drift.setPolicy(groupId, 'enforce');
    monitor.policyChanged(groupId);
    monitor.flush();
    expect(sent).toEqual([{ hostId: id, revision: 1 }]);

    clock += 5_000; // the agent answers but the file is edited again at once: too soon to re-send
    store.hosts.recordObserved(id, observed([`${OTHER}1`]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(sent).toHaveLength(1);
    clock += 24_000;
    monitor.sweep();
    monitor.flush();
    expect(sent).toHaveLength(1);
    clock += 1_000; // 30 s after the first re-send: the sweep sends it again
    monitor.sweep();
    monitor.flush();
    expect(sent).toHaveLength(2);

    clock += 1_000; // put back by the agent
    store.hosts.recordApplyResult(id, result(1, 'applied'), now());
    monitor.applyResultRecorded({ id, name: 'bs1', group: 'ci' }, result(1, 'applied'));
    store.hosts.recordObserved(id, observed([MIRROR]), now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual([]);
    expect(actions()).toEqual(['host.drifted bs1', 'drift.enforce bs1', 'drift.enforce bs1', 'host.applied bs1', 'host.converged bs1']);
  });

  it('does not enforce on an offline host or for a host that is only behind', () => {
    store.drift.setPolicy(groupId, 'enforce');
    const id = connectHost('bs1', [OTHER]);
    store.hosts.markDisconnected(id, now());
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual(['registryMirrors:file-edited']); // last known, still true as far as anyone knows
    expect(sent).toEqual([]);
    const id2 = connectHost('bs2', [MIRROR]);
    setRevision({ registryMirrors: [OTHER] });
    store.groups.setCurrentRevision(groupId, 2);
    monitor.hostChanged(id2);
    monitor.flush();
    expect(open(id2)).toEqual(['registryMirrors:behind']);
    expect(sent).toEqual([]);
  });

  it('finds hosts gone longer than the grace time, and hosts whose desired revision moved, in one sweep', () => {
    const gone = connectHost('bs1');
    const stays = connectHost('bs2');
    store.hosts.markDisconnected(gone, now());
    monitor.hostChanged(gone);
    monitor.flush();
    expect(open(gone)).toEqual([]);
    clock += 61_000;
    monitor.sweep();
    monitor.flush();
    expect(open(gone)).toEqual(['host:offline']);
    expect(db.prepare("SELECT began_at FROM drift_periods WHERE kind = 'offline'").pluck().get()).toBe('2026-11-28T10:00:00.000Z');
    expect(open(stays)).toEqual([]);

    setRevision({ registryMirrors: [OTHER] });
    store.groups.setCurrentRevision(groupId, 2); // a rollout completed; no message about bs2 yet
    monitor.sweep();
    monitor.flush();
    expect(open(stays)).toEqual(['registryMirrors:behind']);
    expect(open(gone)).toEqual(['host:offline', 'registryMirrors:behind']);
    const sweeps = db.prepare('SELECT COUNT(*) FROM drift_periods').pluck().get();
    monitor.sweep();
    monitor.flush(); // nothing changed: nothing written
    expect(db.prepare('SELECT COUNT(*) FROM drift_periods').pluck().get()).toBe(sweeps);

    // The host comes back and applies revision 2.
    store.hosts.recordHello(gone, { facts: FACTS, appliedRevision: 1, observed: observed([MIRROR]) }, now());
    store.hosts.recordApplyResult(gone, result(2, 'applied'), now());
    store.hosts.recordObserved(gone, observed([OTHER], [OTHER], 2), now());
    monitor.hostChanged(gone);
    monitor.flush();
    expect(open(gone)).toEqual([]);
  });

  it('after a restart, gives hosts the grace time to reconnect before calling them offline', () => {
    const id = connectHost('bs1');
    store.hosts.markDisconnected(id, now());
    clock += 600_000; // the controller was down for 10 minutes and starts again
    monitor.close();
    monitor = new DriftMonitor({ store, now, logger: pino({ level: 'silent' }), options: { offlineAfterMs: 60_000, enforceIntervalMs: 30_000, sweepIntervalMs: 3_600_000, flushDelayMs: 1, batchSize: 100 } });
    clock += 5_000;
    monitor.sweep();
    monitor.flush();
    monitor.hostChanged(id);
    monitor.flush();
    expect(open(id)).toEqual([]);
    clock += 56_000;
    monitor.sweep();
    monitor.flush();
    expect(open(id)).toEqual(['host:offline']);
  });

  it('audits apply results (not `unchanged`) and calls a failed desired revision apply-failed', () => {
    const id = connectHost('bs1');
    setRevision({ registryMirrors: [OTHER] });
    store.groups.setCurrentRevision(groupId, 2);
    const failed = result(2, 'rolled-back', { code: 'VERIFY_FAILED', message: 'dockerd kept http://u:canary-pw@old:1' });
    store.hosts.recordApplyResult(id, failed, now());
    monitor.applyResultRecorded({ id, name: 'bs1', group: 'ci' }, result(1, 'unchanged'));
    monitor.applyResultRecorded({ id, name: 'bs1', group: 'ci' }, failed);
    monitor.flush();
    expect(open(id)).toEqual(['registryMirrors:apply-failed']);
    const entries = store.audit.list().entries;
    expect(entries.map((e) => e.action)).toEqual(['host.rolled-back']);
    expect(entries[0]).toMatchObject({ actor: 'host:bs1', toRevision: 2, details: { error: { code: 'VERIFY_FAILED' } } });
    expect(JSON.stringify(db.prepare('SELECT * FROM audit_log').all()) + JSON.stringify(db.prepare('SELECT * FROM drift_periods').all())).not.toContain('canary-pw');
  });

  it('answers GET /v1/drift for 10,000 hosts quickly', () => {
    const hosts = 10_000;
    db.transaction(() => {
      for (let i = 0; i < hosts; i++) connectHost(`h${String(i).padStart(5, '0')}`, i % 10 === 0 ? [OTHER] : [MIRROR]);
    })();
    for (let i = 0; i < hosts; i++) monitor.hostChanged(`id-h${String(i).padStart(5, '0')}`);
    const flushStarted = performance.now();
    monitor.flush();
    const flushMs = performance.now() - flushStarted;
    const deps = { store, now, logger: pino({ level: 'silent' }) } as never;
    const times: number[] = [];
    let body: any;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      body = getDrift({ params: {}, query: { group: 'ci' }, body: undefined, operator: null, deps }).body;
      JSON.stringify(body);
      times.push(performance.now() - started);
    }
    const best = Math.min(...times);
    console.log(`drift: classified ${hosts} hosts in ${flushMs.toFixed(0)} ms; GET /v1/drift (handler + JSON) best ${best.toFixed(1)} ms of ${times.map((t) => t.toFixed(1)).join(', ')}`);
    expect(body.hosts).toHaveLength(hosts / 10);
    expect(body.summary).toEqual({ total: hosts, converged: hosts - hosts / 10, drifted: hosts / 10, behind: 0, offline: 0, failed: 0 });
    // The target is < 100 ms (about 40 ms on an idle 2-core machine); the bound leaves room for a busy CI
    // machine while still catching a lost index or a query per host (seconds).
    expect(best).toBeLessThan(150);
  });
});
