import { describe, expect, it } from 'vitest';
import type { RolloutHostView, RolloutView } from '../../controller/api/rollout-schemas.js';
import { UsageError } from '../args.js';
import { renderRedraw, renderRolloutLine, renderRolloutProgress, renderRolloutText } from './rollout-render.js';
import { renderRolloutRequest } from './rollout.js';

const STRATEGY = { canary: 1, batchSize: '25%', maxConcurrent: 50, failureBudget: 0, onHalt: 'rollback', offline: 'skip', resultTimeoutSeconds: 120 } as const;

function hostView(name: string, state: RolloutHostView['state'], extra: Partial<RolloutHostView> = {}): RolloutHostView {
  return { name, state, outcome: null, action: null, error: null, reverted: false, startedAt: null, finishedAt: null, ...extra };
}

/** A rollout view with `batches` (lists of host states), counts derived from them. */
function view(batches: RolloutHostView['state'][][], extra: Partial<RolloutView> = {}): RolloutView {
  const all = batches.flat();
  const n = (s: RolloutHostView['state']) => all.filter((x) => x === s).length;
  let i = 0;
  return {
    id: 7,
    group: 'ci',
    kind: 'rollout',
    fromRevision: 3,
    toRevision: 4,
    strategy: { ...STRATEGY },
    state: 'running',
    reason: null,
    createdAt: '2026-11-28T10:00:00.000Z',
    createdBy: 'admin',
    updatedAt: '2026-11-28T10:00:00.000Z',
    finishedAt: null,
    currentBatch: 0,
    allowedFailures: 0,
    batches: batches.map((states, index) => ({ index, canary: index === 0, size: states.length, hosts: states.map((s) => hostView(`h${++i}`, s)) })),
    counts: { total: all.length, succeeded: n('succeeded'), failed: n('failed'), pending: n('pending'), applying: n('applying'), offline: n('offline'), skipped: n('skipped'), rolledBack: n('rolled-back') },
    ...extra,
  };
}

describe('renderRolloutLine', () => {
  it('says where it is in one line', () => {
    const v = view([['succeeded'], ['applying', 'succeeded'], ['pending', 'pending']], { currentBatch: 1 });
    expect(renderRolloutLine(v)).toBe('rollout 7 ci 3→4 running: batch 2/3, 2/5 done, 0 failed, 1 applying, 2 pending, 0 offline');
  });

  it('names skipped and rolled-back hosts only when there are some', () => {
    const v = view([['failed'], ['skipped']], { state: 'rolled-back' });
    expect(renderRolloutLine(v)).toBe('rollout 7 ci 3→4 rolled-back: batch 1/2, 0/2 done, 1 failed, 0 applying, 0 pending, 0 offline, 1 skipped');
  });
});

describe('renderRolloutProgress', () => {
  it('shows every batch, the current one marked, and the counts', () => {
    const v = view([['succeeded'], ['applying', 'succeeded'], ['pending', 'pending']], { currentBatch: 1 });
    expect(renderRolloutProgress(v)).toEqual([
      'rollout 7 of ci: revision 3 → 4, running',
      '  batch 1 (canary)   1 host [h1]: 1 succeeded',
      '> batch 2            2 hosts [h2, h3]: 1 applying, 1 succeeded',
      '  batch 3            2 hosts [h4, h5]: 2 pending',
      '  hosts: 2/5 done, 0 failed, 1 applying, 2 pending, 0 offline',
    ]);
  });

  it('summarises long lists of batches around the current one, and shows the reason', () => {
    const batches = Array.from({ length: 30 }, (_, i): RolloutHostView['state'][] => [i < 12 ? 'succeeded' : i === 12 ? 'applying' : 'pending']);
    const lines = renderRolloutProgress(view(batches, { currentBatch: 12, reason: 'paused by admin', state: 'paused' }));
    expect(lines).toHaveLength(1 + 1 + 8 + 1 + 1 + 1);
    expect(lines[1]).toBe('  batches 1-10: 10 hosts');
    expect(lines).toContain('> batch 13           1 host [h13]: 1 applying');
    expect(lines[10]).toBe('  batches 19-30: 12 hosts');
    expect(lines.at(-1)).toBe('  paused by admin');
  });

  it('marks no batch once the rollout has ended', () => {
    expect(renderRolloutProgress(view([['succeeded']], { state: 'completed' })).some((l) => l.startsWith('>'))).toBe(false);
  });
});

describe('renderRedraw', () => {
  it('prints the first block as it is, and later ones over the previous block', () => {
    expect(renderRedraw(0, ['a', 'b'])).toBe('a\nb\n');
    expect(renderRedraw(2, ['a', 'b', 'c'])).toBe('\x1b[2F\x1b[Ja\nb\nc\n');
  });
});

describe('renderRolloutText', () => {
  it('lists every host with its batch (canary starred), state, outcome, action and error', () => {
    const v = view([['failed'], ['skipped']], { state: 'rolled-back', reason: 'budget spent' });
    v.batches[0]!.hosts[0] = hostView('h1', 'failed', { outcome: 'rolled-back', action: 'reload', reverted: true, error: { code: 'VERIFY_FAILED', message: 'no' } });
    const text = renderRolloutText(v);
    expect(text).toContain('strategy: canary 1, batches of 25%, 50 at once, failure budget 0, on halt rollback, offline skip, result timeout 120 s; up to 0 failures tolerated');
    expect(text).toMatch(/^BATCH\s+HOST\s+STATE\s+OUTCOME\s+ACTION\s+ERROR$/m);
    expect(text).toMatch(/^1\*\s+h1\s+failed \(reverted\)\s+rolled-back\s+reload\s+VERIFY_FAILED: no$/m);
    expect(text).toMatch(/^2\s+h2\s+skipped\s+-\s+-$/m);
  });
});

describe('renderRolloutRequest', () => {
  it('sends only the flags given', () => {
    expect(renderRolloutRequest({})).toEqual({});
    expect(renderRolloutRequest({ canary: '10%', 'batch-size': '3', 'to-revision': '5', 'on-halt': 'stop', offline: 'wait', 'max-concurrent': '4', 'failure-budget': '0', 'result-timeout': '30' })).toEqual({
      toRevision: 5,
      strategy: { canary: '10%', batchSize: 3, onHalt: 'stop', offline: 'wait', maxConcurrent: 4, failureBudget: 0, resultTimeoutSeconds: 30 },
    });
  });

  it.each([
    [{ canary: 'one' }, '--canary'],
    [{ 'batch-size': '120%' }, '--batch-size'],
    [{ offline: 'never' }, '--offline'],
    [{ 'to-revision': '0' }, '--to-revision'],
    [{ 'result-timeout': '1.5' }, '--result-timeout'],
  ])('refuses %j', (flags, flag) => {
    expect(() => renderRolloutRequest(flags)).toThrow(UsageError);
    expect(() => renderRolloutRequest(flags)).toThrow(flag);
  });
});
