import { describe, expect, it } from 'vitest';
import { countHostStatuses, deriveHostStatus, type HostStatus, type HostStatusInput } from './host-status.js';

const seen = '2026-11-28T10:00:00.000Z';
const base: HostStatusInput = { connected: true, lastSeenAt: seen, appliedRevision: 3, lastResult: { revision: 3, outcome: 'applied' } };

describe('deriveHostStatus', () => {
  const cases: [string, Partial<HostStatusInput>, number | null, HostStatus][] = [
    ['never said hello', { connected: false, lastSeenAt: null, appliedRevision: null, lastResult: null }, 3, 'new'],
    ['disconnected, even if converged before', { connected: false }, 3, 'offline'],
    ['disconnected after a failure', { connected: false, lastResult: { revision: 3, outcome: 'failed' } }, 3, 'offline'],
    ['applied the desired revision', {}, 3, 'converged'],
    ['desired revision needed no change', { lastResult: { revision: 3, outcome: 'unchanged' } }, 3, 'converged'],
    ['group has no revision yet', { appliedRevision: null, lastResult: null }, null, 'converged'],
    ['behind the desired revision', {}, 4, 'pending'],
    ['reported applied in hello but no result yet', { lastResult: null }, 3, 'pending'],
    ['desired revision rolled back', { appliedRevision: 3, lastResult: { revision: 4, outcome: 'rolled-back' } }, 4, 'failed'],
    ['desired revision failed', { appliedRevision: 3, lastResult: { revision: 4, outcome: 'failed' } }, 4, 'failed'],
    ['an older revision failed, a newer one is desired', { appliedRevision: 2, lastResult: { revision: 3, outcome: 'failed' } }, 4, 'pending'],
  ];
  it.each(cases)('%s', (_name, overrides, desired, expected) => {
    expect(deriveHostStatus({ ...base, ...overrides }, desired)).toBe(expected);
  });
});

describe('countHostStatuses', () => {
  it('counts every status, zero when absent', () => {
    expect(countHostStatuses(['converged', 'failed', 'converged'])).toEqual({ total: 3, converged: 2, pending: 0, failed: 1, offline: 0, new: 0 });
  });
});
