// The host store's apply-result writes on a real migrated SQLite file: every field of a result comes
// back as it was sent, the applied revision moves only on an outcome that means the host has it, and
// the observed state written with a result is the one sent.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMigratedStore, type MigratedStore } from '../../test/support/migrated-store.js';
import type { ApplyResult } from '../../protocol/messages.js';
import type { ObservedState } from '../../protocol/observed.js';
import type { HostStore } from './hosts.js';

const at = new Date('2026-11-28T10:00:00.000Z');
const later = new Date('2026-11-28T10:00:01.500Z');

let t: MigratedStore;
let hosts: HostStore;

function result(overrides: Partial<ApplyResult>): ApplyResult {
  return {
    type: 'apply-result',
    revision: 2,
    outcome: 'applied',
    action: 'reload',
    filesChanged: ['/etc/docker/daemon.json'],
    verification: { ok: true, detail: 'mirrors match' },
    error: null,
    durationMs: 812.5,
    ...overrides,
  };
}

function observedState(mirror: string): ObservedState {
  return {
    at: later.toISOString(),
    appliedRevision: 2,
    files: { daemonJson: 'ok', daemonJsonSha256: 'a'.repeat(64), registryMirrors: [mirror], insecureRegistries: [], daemonJsonProxy: null, dropInProxy: null, clientProxies: {} },
    daemon: { running: true, version: '26.1.5', registryMirrors: [mirror], insecureRegistries: [], proxy: { http: null, https: null, noProxy: [] }, liveRestore: true },
  };
}

beforeEach(() => {
  t = openMigratedStore('hosts', () => at);
  hosts = t.store.hosts;
  const group = t.store.groups.create('ci', null, at);
  t.db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at) VALUES ('h1', 'bs1', ?, 'c1', 'x')").run(group.id);
  hosts.recordHello('h1', { facts: { hostname: 'bs1', os: 'linux 6.1', arch: 'x64', dockerVersion: '26.1.5', serviceManager: 'signal', liveRestore: true, agentVersion: '0.1.0' }, appliedRevision: 1, observed: null }, at);
});

afterEach(() => t.remove());

describe('HostStore apply results', () => {
  it.each([
    ['applied', 2],
    ['unchanged', 2],
    ['rolled-back', 1],
    ['failed', 1],
  ] as const)('an %s result leaves the applied revision at %i', (outcome, applied) => {
    hosts.recordApplyResult('h1', result({ outcome }), later);
    expect(hosts.find('bs1')?.appliedRevision).toBe(applied);
    hosts.recordApplyResultAndObserved('h1', result({ revision: 3, outcome }), later, JSON.stringify(observedState('https://m')), later);
    expect(hosts.find('bs1')?.appliedRevision).toBe(outcome === 'applied' || outcome === 'unchanged' ? 3 : 1);
  });

  it('stores every field of a result, with or without the observed state, and the observed state sent with it', () => {
    const failed = result({ outcome: 'rolled-back', action: 'restart', verification: null, error: { code: 'VERIFY_FAILED', message: 'dockerd did not come back' }, filesChanged: ['/etc/docker/daemon.json', '/etc/systemd/system/docker.service.d/fleetdock-proxy.conf'] });
    hosts.recordApplyResult('h1', failed, later);
    const first = hosts.find('bs1')!;
    expect(first.lastResult).toEqual({
      revision: 2,
      outcome: 'rolled-back',
      action: 'restart',
      filesChanged: failed.filesChanged,
      verification: null,
      error: { code: 'VERIFY_FAILED', message: 'dockerd did not come back' },
      durationMs: 812.5,
      at: later.toISOString(),
    });
    expect(first.lastSeenAt).toBe(later.toISOString());
    expect(first.observed).toBeNull();

    const reportedAt = new Date('2026-11-28T10:00:02.000Z');
    const observed = observedState('https://mirror-2.internal');
    hosts.recordApplyResultAndObserved('h1', result({}), later, JSON.stringify(observed), reportedAt);
    const second = hosts.find('bs1')!;
    expect(second.lastResult).toEqual({ revision: 2, outcome: 'applied', action: 'reload', filesChanged: ['/etc/docker/daemon.json'], verification: { ok: true, detail: 'mirrors match' }, error: null, durationMs: 812.5, at: later.toISOString() });
    expect(second.observed).toEqual(observed);
    expect(second.observedAt).toBe(reportedAt.toISOString());
    expect(second.lastSeenAt).toBe(reportedAt.toISOString());
    expect(hosts.lastResultOf('h1')).toEqual({ revision: 2, outcome: 'applied' });
  });

  it('refuses observed text that is not JSON, and keeps the row as it was', () => {
    hosts.recordApplyResult('h1', result({}), at);
    expect(() => hosts.recordApplyResultAndObserved('h1', result({ revision: 3 }), later, '{"at":', later)).toThrow(/CHECK constraint/);
    expect(hosts.find('bs1')).toMatchObject({ appliedRevision: 2, lastResult: { revision: 2 }, observed: null });
  });
});
