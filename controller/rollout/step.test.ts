import { describe, expect, it } from 'vitest';
import { RESULT_TIMEOUT, stepResults, stepRollout, type HostRolloutState, type RolloutState, type StepHost, type StepInput, type StepLimits } from './step.js';

const NOW = new Date('2026-11-28T10:00:00.000Z');
const iso = (secondsFromNow: number) => new Date(NOW.getTime() + secondsFromNow * 1000).toISOString();
const FROM = 3;
const TO = 4;

type HostSpec = Partial<StepHost> & { id: string; batch: number };

function host(spec: HostSpec): StepHost {
  return { name: spec.id, position: 0, state: 'pending', reverted: false, connected: true, startedAt: null, lastResult: null, ...spec };
}

/** A host started `ago` seconds before NOW, with a result for `revision` (received `resultAgo` s before NOW) or none. */
function applying(id: string, batch: number, ago = 5, result?: { outcome: 'applied' | 'unchanged' | 'rolled-back' | 'failed'; revision?: number; resultAgo?: number }): HostSpec {
  return {
    id,
    batch,
    state: 'applying',
    startedAt: iso(-ago),
    lastResult: result
      ? { revision: result.revision ?? TO, outcome: result.outcome, action: 'reload', at: iso(-(result.resultAgo ?? 1)), error: result.outcome === 'applied' || result.outcome === 'unchanged' ? null : { code: 'VERIFY_FAILED', message: 'dockerd did not take it' } }
      : null,
  };
}

const LIMITS: StepLimits = { maxConcurrent: 50, allowedFailures: 0, offline: 'skip', onHalt: 'rollback', resultTimeoutMs: 120_000 };

function step(state: RolloutState, specs: HostSpec[], limits: Partial<StepLimits> = {}, extra: Partial<StepInput> = {}) {
  const hosts = specs.map((s, i) => host({ position: i, ...s }));
  const out = stepRollout({ state, fromRevision: FROM, toRevision: TO, limits: { ...LIMITS, ...limits }, hosts, haltedAt: null, now: NOW, clockFloor: new Date(0), holdOffline: false, ...extra });
  const after = new Map(hosts.map((h) => [h.id, h.state as HostRolloutState]));
  for (const c of out.changes) if (c.state) after.set(c.id, c.state);
  return {
    out,
    states: Object.fromEntries(after),
    started: out.changes.filter((c) => c.start).map((c) => c.id),
    reverted: out.changes.filter((c) => c.revert).map((c) => c.id),
  };
}

describe('stepRollout: batches', () => {
  it('starts the canary alone', () => {
    const { out, started } = step('running', [{ id: 'a', batch: 0 }, { id: 'b', batch: 1 }, { id: 'c', batch: 1 }]);
    expect(started).toEqual(['a']);
    expect(out).toMatchObject({ state: 'running', currentBatch: 0, reason: null });
  });

  it('starts nothing of the next batch while the current one waits for a result', () => {
    const { out, started } = step('running', [applying('a', 0), { id: 'b', batch: 1 }]);
    expect(started).toEqual([]);
    expect(out.changes).toEqual([]);
    expect(out.currentBatch).toBe(0);
  });

  it('records a verified result and starts the next batch in the same step', () => {
    const { out, states, started } = step('running', [applying('a', 0, 5, { outcome: 'applied' }), { id: 'b', batch: 1 }, { id: 'c', batch: 1 }, { id: 'd', batch: 2 }]);
    expect(states).toEqual({ a: 'succeeded', b: 'applying', c: 'applying', d: 'pending' });
    expect(started).toEqual(['b', 'c']);
    expect(out.changes.find((c) => c.id === 'a')).toMatchObject({ outcome: 'applied', action: 'reload', error: null, finish: true });
    expect(out.currentBatch).toBe(1);
  });

  it.each([
    ['a result for another revision', { outcome: 'applied' as const, revision: FROM }],
    ['a result from before the host was started', { outcome: 'applied' as const, resultAgo: 10 }],
  ])('ignores %s', (_name, result) => {
    const { states } = step('running', [applying('a', 0, 5, result), { id: 'b', batch: 1 }]);
    expect(states).toEqual({ a: 'applying', b: 'pending' });
  });

  it('counts `unchanged` as verified', () => {
    expect(step('running', [applying('a', 0, 5, { outcome: 'unchanged' })]).states.a).toBe('succeeded');
  });

  it('completes when every batch is done, naming what happened', () => {
    const { out } = step('running', [applying('a', 0, 5, { outcome: 'applied' }), { id: 'b', batch: 1, state: 'succeeded' }, { id: 'c', batch: 1, state: 'offline' }]);
    expect(out.state).toBe('completed');
    expect(out.reason).toBe('every batch is done: 2 succeeded, 1 offline');
  });

  it('completes a rollout without hosts at once', () => {
    expect(step('running', []).out).toMatchObject({ state: 'completed', currentBatch: 0 });
  });
});

describe('stepRollout: maxConcurrent', () => {
  const batch = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, batch: 0 }));

  it('starts at most maxConcurrent hosts, in position order', () => {
    expect(step('running', batch, { maxConcurrent: 2 }).started).toEqual(['a', 'b']);
  });

  it('counts hosts already applying', () => {
    const { started } = step('running', [applying('a', 0), applying('b', 0, 5, { outcome: 'applied' }), ...batch.slice(2)], { maxConcurrent: 2 });
    expect(started).toEqual(['c']);
  });
});

describe('stepRollout: offline hosts', () => {
  it('with skip, marks them offline and moves on (they do not count as failures)', () => {
    const { out, states, started } = step('running', [{ id: 'a', batch: 0, connected: false }, { id: 'b', batch: 1 }]);
    expect(states).toEqual({ a: 'offline', b: 'applying' });
    expect(started).toEqual(['b']);
    expect(out.currentBatch).toBe(1);
  });

  it('with skip, a batch of offline hosts only is passed over', () => {
    const { states } = step('running', [{ id: 'a', batch: 0, connected: false }, { id: 'b', batch: 1, connected: false }, { id: 'c', batch: 2 }]);
    expect(states).toEqual({ a: 'offline', b: 'offline', c: 'applying' });
  });

  it('with wait, the batch waits for them', () => {
    const { out, states, started } = step('running', [{ id: 'a', batch: 0, connected: false }, { id: 'b', batch: 1 }], { offline: 'wait' });
    expect(states).toEqual({ a: 'offline', b: 'pending' });
    expect(started).toEqual([]);
    expect(out.state).toBe('running');
  });

  it('with wait, starts a waiting host once it is back', () => {
    const { started } = step('running', [{ id: 'a', batch: 0, state: 'offline', connected: true }, { id: 'b', batch: 1 }], { offline: 'wait' });
    expect(started).toEqual(['a']);
  });

  it('just after the controller started, waits for hosts that are not connected yet instead of skipping them', () => {
    const { out, states, started } = step('running', [{ id: 'a', batch: 0, connected: false }, { id: 'b', batch: 0 }, { id: 'c', batch: 1 }], {}, { holdOffline: true });
    expect(states).toEqual({ a: 'pending', b: 'applying', c: 'pending' });
    expect(started).toEqual(['b']);
    expect(out.currentBatch).toBe(0);
  });

  it('an offline host already started keeps waiting for its result until the timeout', () => {
    expect(step('running', [{ ...applying('a', 0), connected: false }]).states.a).toBe('applying');
  });
});

describe('stepRollout: failures and the budget', () => {
  it('halts on the first failure with the default budget and rolls back the hosts it changed', () => {
    const { out, states, reverted, started } = step('running', [
      applying('a', 0, 5, { outcome: 'rolled-back' }),
      { id: 'b', batch: 0, state: 'succeeded' },
      applying('c', 0),
      { id: 'd', batch: 1 },
      { id: 'e', batch: 1, state: 'offline' },
    ]);
    expect(out.state).toBe('rolling-back');
    expect(out.reason).toBe('1 host failed (a); the failure budget allows 0: rolling 3 hosts back to revision 3');
    expect(states).toEqual({ a: 'failed', b: 'rolled-back', c: 'rolled-back', d: 'skipped', e: 'skipped' });
    expect(reverted).toEqual(['a', 'b', 'c']);
    expect(started).toEqual([]);
  });

  it('with onHalt stop, halts and leaves changed hosts as they are', () => {
    const { out, states, reverted } = step('running', [applying('a', 0, 5, { outcome: 'failed' }), { id: 'b', batch: 0, state: 'succeeded' }, { id: 'c', batch: 1 }], { onHalt: 'stop' });
    expect(out.state).toBe('halted');
    expect(out.reason).toMatch(/^1 host failed \(a\); the failure budget allows 0: halted, hosts already changed keep revision 4$/);
    expect(states).toEqual({ a: 'failed', b: 'succeeded', c: 'skipped' });
    expect(reverted).toEqual([]);
  });

  it('goes on while failures stay within the budget', () => {
    const { out, started } = step('running', [applying('a', 0, 5, { outcome: 'failed' }), { id: 'b', batch: 1 }], { allowedFailures: 1 });
    expect(out.state).toBe('running');
    expect(started).toEqual(['b']);
  });

  it('halts when one more fails than the budget allows', () => {
    const { out } = step('running', [{ id: 'a', batch: 0, state: 'failed' }, applying('b', 1, 5, { outcome: 'failed' }), applying('c', 1)], { allowedFailures: 1 });
    expect(out.state).toBe('rolling-back');
    expect(out.reason).toMatch(/^2 hosts failed \(a, b\)/);
  });

  it('fails a host that sent no verified result within the timeout', () => {
    const { out, states } = step('running', [applying('a', 0, 121)], { allowedFailures: 1 });
    expect(states.a).toBe('failed');
    expect(out.changes[0]).toMatchObject({ error: { code: RESULT_TIMEOUT, message: 'no verified result for revision 4 within 120 s' } });
  });

  it('does not count time before the controller started against a host', () => {
    const { states } = step('running', [applying('a', 0, 500)], {}, { clockFloor: new Date(NOW.getTime() - 60_000) });
    expect(states.a).toBe('applying');
  });

  it('halts a paused rollout whose budget is spent', () => {
    expect(step('paused', [applying('a', 0, 5, { outcome: 'failed' })]).out.state).toBe('rolling-back');
  });
});

describe('stepRollout: paused, ended and rolling back', () => {
  it('paused: records results, starts nothing', () => {
    const { out, states, started } = step('paused', [applying('a', 0, 5, { outcome: 'applied' }), { id: 'b', batch: 1 }]);
    expect(out.state).toBe('paused');
    expect(states).toEqual({ a: 'succeeded', b: 'pending' });
    expect(started).toEqual([]);
  });

  it.each(['halted', 'aborted', 'completed', 'rolled-back'] as const)('%s: still records the result of a host that was applying, nothing else', (state) => {
    const { out, states } = step(state, [applying('a', 0, 5, { outcome: 'failed' }), { id: 'b', batch: 0, state: 'failed' }, { id: 'c', batch: 1, state: 'skipped' }]);
    expect(out.state).toBe(state);
    expect(states).toEqual({ a: 'failed', b: 'failed', c: 'skipped' });
  });

  const haltedAt = iso(-10);
  const reverted = (id: string, result?: { revision: number; ago: number }, connected = true): HostSpec => ({
    id,
    batch: 0,
    state: 'rolled-back',
    reverted: true,
    connected,
    lastResult: result ? { revision: result.revision, outcome: 'unchanged', action: 'none', at: iso(-result.ago), error: null } : null,
  });

  it('rolling-back: waits for every reverted host to report the old revision', () => {
    expect(step('rolling-back', [reverted('a', { revision: FROM, ago: 1 }), reverted('b')], {}, { haltedAt }).out.state).toBe('rolling-back');
  });

  it('rolling-back: done when they did, or went offline', () => {
    const { out } = step('rolling-back', [reverted('a', { revision: FROM, ago: 1 }), reverted('b', undefined, false)], {}, { haltedAt });
    expect(out).toMatchObject({ state: 'rolled-back', reason: 'every host changed by the rollout is back on revision 3' });
  });

  it('rolling-back: just after the controller started, a reverted host that is not back yet is waited for', () => {
    expect(step('rolling-back', [reverted('a', undefined, false)], {}, { haltedAt, holdOffline: true }).out.state).toBe('rolling-back');
  });

  it('rolling-back: a report from before the halt does not count; the timeout ends the wait', () => {
    expect(step('rolling-back', [reverted('a', { revision: FROM, ago: 60 })], {}, { haltedAt }).out.state).toBe('rolling-back');
    expect(step('rolling-back', [reverted('a')], {}, { haltedAt: iso(-121) }).out.state).toBe('rolled-back');
  });
});

describe('stepResults: the cheap step while results stream in', () => {
  /** The counts the engine keeps, computed from the hosts as it would. */
  function results(state: RolloutState, specs: HostSpec[], reportedIds: string[], currentBatch = 0) {
    const hosts = specs.map((s, i) => host({ position: i, ...s }));
    const inBatch = hosts.filter((h) => h.batch === currentBatch);
    const counts = { applying: inBatch.filter((h) => h.state === 'applying').length, notStarted: inBatch.filter((h) => h.state === 'pending' || h.state === 'offline').length };
    const reported = hosts.filter((h) => reportedIds.includes(h.id));
    return { hosts, out: stepResults({ state, toRevision: TO, currentBatch, hosts: reported, currentBatchCounts: counts }) };
  }

  it.each([
    ['a failure (the budget must be checked)', 'running' as const, [applying('a', 0, 5, { outcome: 'failed' }), applying('b', 0)], ['a']],
    ['the last host of the batch (the next batch starts)', 'running' as const, [applying('a', 0, 5, { outcome: 'applied' }), { id: 'b', batch: 1 }], ['a']],
    ['a host of the batch not started yet (a freed slot starts it)', 'running' as const, [applying('a', 0, 5, { outcome: 'applied' }), applying('b', 0), { id: 'c', batch: 0 }], ['a']],
    ['a rollout that is rolling back', 'rolling-back' as const, [applying('a', 0, 5, { outcome: 'applied' }), applying('b', 0)], ['a']],
    ['a halted rollout', 'halted' as const, [applying('a', 0, 5, { outcome: 'applied' }), applying('b', 0)], ['a']],
  ])('leaves %s to the full step', (_name, state, specs, reported) => {
    expect(results(state, specs, reported).out).toBeNull();
  });

  it.each(['running', 'paused'] as const)('%s: records successes of the current batch, as the full step would', (state) => {
    const specs = [applying('a', 0, 5, { outcome: 'applied' }), applying('b', 0, 5, { outcome: 'unchanged' }), applying('c', 0), applying('d', 0, 5, { outcome: 'applied', revision: FROM }), { id: 'e', batch: 1 }];
    const { out } = results(state, specs, ['a', 'b', 'd']);
    expect(out).toEqual({ state, reason: null, currentBatch: 0, changes: step(state, specs).out.changes });
    expect(out!.changes.map((c) => [c.id, c.state])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
    ]);
  });

  it('ignores a result from before the host was started', () => {
    const { out } = results('running', [applying('a', 0, 5, { outcome: 'applied', resultAgo: 10 }), applying('b', 0)], ['a']);
    expect(out).toEqual({ state: 'running', reason: null, currentBatch: 0, changes: [] });
  });
});
