import { describe, expect, it } from 'vitest';
import type { DriftFinding } from './classify.js';
import { decideEnforcement, enforceBackoffMs, planPeriodChanges, type OpenPeriod } from './periods.js';

const REV = { desiredRevision: 3, appliedRevision: 3 };

function finding(field: DriftFinding['field'], kind: DriftFinding['kind'], actual: unknown = ['x']): DriftFinding {
  return { field, kind, expected: ['m'], actual, detail: `${field} ${kind}` };
}

function period(id: number, f: DriftFinding, revisions = REV): OpenPeriod {
  return { id, field: f.field, kind: f.kind, expected: JSON.stringify(f.expected), actual: JSON.stringify(f.actual), detail: f.detail, ...revisions };
}

describe('planPeriodChanges', () => {
  const edited = finding('registryMirrors', 'file-edited');
  const notReloaded = finding('registryMirrors', 'daemon-not-reloaded');
  const offline = finding('host', 'offline', { connected: false });
  const behind = finding('registryMirrors', 'behind');

  it.each<[string, OpenPeriod[], DriftFinding[], { close: number[]; open: string[]; update: number[]; drifted: string[]; converged: boolean }]>([
    ['nothing then nothing', [], [], { close: [], open: [], update: [], drifted: [], converged: false }],
    ['a hand edit begins', [], [edited], { close: [], open: ['registryMirrors:file-edited'], update: [], drifted: ['registryMirrors:file-edited'], converged: false }],
    ['the same edit again: nothing to write', [period(1, edited)], [edited], { close: [], open: [], update: [], drifted: [], converged: false }],
    ['edited to another value: the period goes on, updated', [period(1, edited)], [finding('registryMirrors', 'file-edited', ['y'])], { close: [], open: [], update: [1], drifted: [], converged: false }],
    ['edit undone: ends, converged', [period(1, edited)], [], { close: [1], open: [], update: [], drifted: [], converged: true }],
    ['file put back, daemon not reloaded: one ends, one begins', [period(1, edited)], [notReloaded], { close: [1], open: ['registryMirrors:daemon-not-reloaded'], update: [], drifted: ['registryMirrors:daemon-not-reloaded'], converged: false }],
    ['behind and offline are not tamper drift', [], [behind, offline], { close: [], open: ['registryMirrors:behind', 'host:offline'], update: [], drifted: [], converged: false }],
    ['behind ends: no converged event', [period(1, behind)], [], { close: [1], open: [], update: [], drifted: [], converged: false }],
    ['a new desired revision restamps the open period', [period(1, behind, { desiredRevision: 2, appliedRevision: 1 })], [behind], { close: [], open: [], update: [1], drifted: [], converged: false }],
  ])('%s', (_name, open, findings, want) => {
    const got = planPeriodChanges(open, findings, REV);
    expect({
      close: got.close.map((p) => p.id),
      open: got.open.map((f) => `${f.field}:${f.kind}`),
      update: got.update.map((u) => u.id),
      drifted: got.drifted.map((f) => `${f.field}:${f.kind}`),
      converged: got.converged,
    }).toEqual(want);
  });
});

describe('decideEnforcement', () => {
  const tamper = [finding('registryMirrors', 'file-edited')];
  type Input = Parameters<typeof decideEnforcement>[0];
  const base: Input = { policy: 'enforce', connected: true, findings: tamper, lastSentAt: undefined, now: 100_000, intervalMs: 30_000 };

  it.each<[string, Partial<Input>, unknown]>([
    ['enforce, tampered, never sent: send', {}, { action: 'send' }],
    ['audit: never', { policy: 'audit' }, { action: 'none' }],
    ['offline host: nothing to send to', { connected: false }, { action: 'none' }],
    ['behind only: a rollout moves it, not enforce', { findings: [finding('registryMirrors', 'behind')] }, { action: 'none' }],
    ['sent 10 s ago: later, when the interval is over', { lastSentAt: 90_000 }, { action: 'later', at: 120_000 }],
    ['sent 30 s ago: send', { lastSentAt: 70_000 }, { action: 'send' }],
  ])('%s', (_name, overrides, want) => {
    expect(decideEnforcement({ ...base, ...overrides })).toEqual(want);
  });

  it('backs off when re-sending does not end the drift, up to 64 times the interval', () => {
    expect([0, 1, 2, 3, 7, 20].map((n) => enforceBackoffMs(30_000, n))).toEqual([30_000, 30_000, 60_000, 120_000, 1_920_000, 1_920_000]);
  });
});
