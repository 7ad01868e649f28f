// Rollouts over real sockets: a real controller on port 0 with its SQLite file, raw `ws` agents standing
// in for build servers. What each agent is sent and when: canary first, batch after verified batch,
// halts and rollbacks (and how the audit log tells them), offline hosts, pause/resume/abort, undo (also
// two revisions back, with the real CLI), and hosts that join mid-rollout.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawAgent, applyResult, createClock, eventually, startTestController, type TestController } from './harness.js';
import { ensureCliBuilt, runCli } from '../support/cli.js';

let t: TestController;
const agents = new Map<string, RawAgent>();
const credentials = new Map<string, string>();

const MIRROR_1 = { registryMirrors: ['http://mirror-1:5000'] };
const MIRROR_2 = { registryMirrors: ['http://mirror-2:5000'] };
const MIRROR_3 = { registryMirrors: ['http://mirror-3:5000'] };

afterEach(async () => {
  for (const agent of agents.values()) agent.ws.terminate();
  agents.clear();
  credentials.clear();
  await t?.stop();
});

/** Connects `name` as an agent that has `applied` and checks it is sent `expectDesired` after welcome. */
async function connect(name: string, applied: number | null, expectDesired: number | null): Promise<RawAgent> {
  const agent = await RawAgent.connect(t.controller.url, credentials.get(name)!);
  agents.set(name, agent);
  expect((await agent.hello({ appliedRevision: applied })).type).toBe('welcome');
  if (expectDesired !== null) expect(await agent.next()).toMatchObject({ type: 'desired', revision: expectDesired });
  return agent;
}

/**
 * A group `ci` with `names` enrolled and connected, every one on revision 1 (mirror-1), and a
 * revision 2 (mirror-2) made but not rolled out. `offline` hosts are enrolled and never connect.
 */
async function fleet(names: string[], options: { offline?: string[]; now?: () => Date } = {}) {
  t = await startTestController({ rolloutTickIntervalMs: 50, ...(options.now ? { now: options.now } : {}) });
  for (const name of [...names, ...(options.offline ?? [])]) credentials.set(name, (await t.enrol(name, 'ci')).credential);
  expect((await t.api('PUT', '/v1/groups/ci/settings', MIRROR_1)).body).toMatchObject({ revision: 1, currentRevision: 1 });
  for (const name of names) {
    const agent = await connect(name, null, 1);
    agent.send(applyResult(1));
  }
  await eventually(async () => (await t.api('GET', '/v1/groups/ci')).body.hosts.converged === names.length);
  expect((await t.api('PUT', '/v1/groups/ci/settings', MIRROR_2)).body).toMatchObject({ revision: 2, currentRevision: 1 });
}

const agent = (name: string) => agents.get(name)!;

async function startRollout(body: unknown = {}) {
  const result = await t.api('POST', '/v1/groups/ci/rollouts', body);
  expect(result.status, result.text).toBe(201);
  return result.body.rollout;
}

const rollout = async (id: number) => (await t.api('GET', `/v1/rollouts/${id}`)).body.rollout;
const waitForState = (id: number, state: string) => eventually(async () => ((await rollout(id)).state === state ? rollout(id) : undefined));
const hostStates = (view: any) => Object.fromEntries(view.batches.flatMap((b: any) => b.hosts.map((h: any) => [h.name, h.state])));

/** Expects `names` to be sent revision `revision` next, and no other agent of `quiet` to be sent anything. */
async function expectSent(names: string[], revision: number, quiet: string[] = []) {
  for (const name of names) expect(await agent(name).next(), name).toMatchObject({ type: 'desired', revision });
  for (const name of quiet) expect(await agent(name).quietFor(150), `${name} was sent something`).toBe(true);
}

/** The rollout entries of the audit log, `action actor`, oldest first. */
function auditedRolloutActions(): string[] {
  const db = new Database(join(t.dataDir, 'fleetdock.db'), { readonly: true });
  try {
    return db.prepare("SELECT action || ' ' || actor FROM audit_log WHERE action LIKE 'rollout.%' ORDER BY id").pluck().all() as string[];
  } finally {
    db.close();
  }
}

async function hostsView(): Promise<Record<string, any>> {
  const { hosts } = (await t.api('GET', '/v1/hosts?group=ci')).body;
  return Object.fromEntries(hosts.map((h: any) => [h.name, h]));
}

describe('a canary that fails', () => {
  it('halts after the canary; the others are never sent the revision; the canary is put back', async () => {
    await fleet(['a', 'b', 'c', 'd']);
    const started = await startRollout();
    expect(started).toMatchObject({ state: 'running', fromRevision: 1, toRevision: 2, currentBatch: 0, counts: { total: 4, applying: 1, pending: 3 } });
    expect(started.batches.map((b: any) => [b.canary, b.hosts.map((h: any) => h.name)])).toEqual([[true, ['a']], [false, ['b']], [false, ['c']], [false, ['d']]]);

    await expectSent(['a'], 2, ['b', 'c', 'd']);
    agent('a').send(applyResult(2, { outcome: 'rolled-back', error: { code: 'VERIFY_FAILED', message: 'dockerd did not take the mirror' } }));
    // The rollback: the canary is sent its old revision again.
    await expectSent(['a'], 1);
    agent('a').send(applyResult(1, { outcome: 'unchanged', action: 'none' }));

    const done = await waitForState(started.id, 'rolled-back');
    expect(done.reason).toMatch(/^1 host failed \(a\); the failure budget allows 0: rolling 1 host back to revision 1/);
    expect(done.batches[0].hosts[0]).toMatchObject({ name: 'a', state: 'failed', reverted: true, outcome: 'rolled-back', error: { code: 'VERIFY_FAILED' } });
    expect(hostStates(done)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped', d: 'skipped' });
    for (const name of ['b', 'c', 'd']) expect(await agent(name).quietFor(100)).toBe(true);

    const hosts = await hostsView();
    for (const name of ['a', 'b', 'c', 'd']) expect(hosts[name], name).toMatchObject({ desiredRevision: 1, appliedRevision: 1, status: 'converged' });
    expect((await t.api('GET', '/v1/groups/ci')).body).toMatchObject({ currentRevision: 1, revision: { number: 2 } });
    expect(auditedRolloutActions()).toEqual(['rollout.start admin', 'rollout.halt controller']);
  });

  it('the audit log tells a host the controller put back as host.rolled-back of the rollout, not as a new apply', async () => {
    await fleet(['a', 'b']);
    const started = await startRollout({ strategy: { canary: 1, batchSize: 1 } });
    await expectSent(['a'], 2, ['b']);
    agent('a').send(applyResult(2));
    await expectSent(['b'], 2);
    agent('b').send(applyResult(2, { outcome: 'rolled-back', error: { code: 'VERIFY_FAILED', message: 'dockerd did not take the mirror' } }));
    // The halt: a, which had applied 2, and b are sent revision 1 again.
    await expectSent(['a', 'b'], 1);
    agent('a').send(applyResult(1)); // a really changes back
    agent('b').send(applyResult(1, { outcome: 'unchanged', action: 'none' })); // b's agent had restored its files itself
    await waitForState(started.id, 'rolled-back');

    const hostEvents = async (name: string) =>
      (await t.api('GET', `/v1/log?host=${name}`)).body.entries.filter((e: any) => e.action !== 'host.enrol' && e.action.startsWith('host.'));
    const a = await eventually(async () => {
      const entries = await hostEvents('a');
      return entries.length === 3 ? entries : undefined;
    });
    expect(a.map((e: any) => [e.action, e.fromRevision, e.toRevision])).toEqual([
      ['host.applied', null, 1],
      ['host.applied', null, 2],
      ['host.rolled-back', 2, 1],
    ]);
    expect(a[2]).toMatchObject({ actor: 'host:a', group: 'ci', host: 'a', details: { rollout: started.id, by: 'controller', action: 'reload' } });
    // b's own rollback of revision 2 is the agent's, logged as its result; its unchanged answer is no event.
    expect((await hostEvents('b')).map((e: any) => [e.action, e.fromRevision, e.toRevision, e.details.error?.code ?? null, e.details.rollout ?? null])).toEqual([
      ['host.applied', null, 1, null, null],
      ['host.rolled-back', null, 2, 'VERIFY_FAILED', null],
    ]);
    // The rollback is recorded once: a's next apply of revision 1 (say, enforce after a hand edit) is an apply again.
    agent('a').send(applyResult(1));
    const later = await eventually(async () => {
      const entries = await hostEvents('a');
      return entries.length === 4 ? entries : undefined;
    });
    expect(later[3]).toMatchObject({ action: 'host.applied', fromRevision: null, toRevision: 1 });
    expect(later[3].details.rollout).toBeUndefined();
  });

  it('with onHalt stop, halts and leaves the canary on the new revision as its desired one', async () => {
    await fleet(['a', 'b']);
    const started = await startRollout({ strategy: { onHalt: 'stop' } });
    await expectSent(['a'], 2, ['b']);
    agent('a').send(applyResult(2, { outcome: 'failed', action: 'none', error: { code: 'FLAG_CONFLICT', message: 'flag' } }));
    const done = await waitForState(started.id, 'halted');
    expect(hostStates(done)).toEqual({ a: 'failed', b: 'skipped' });
    expect(await agent('a').quietFor(150)).toBe(true);
    expect((await hostsView()).a).toMatchObject({ desiredRevision: 2, status: 'failed' });
  });
});

describe('a good rollout', () => {
  it('goes batch by batch: the next batch starts only when every host of the current one is verified', async () => {
    await fleet(['a', 'b', 'c', 'd', 'e']);
    const started = await startRollout({ strategy: { canary: 1, batchSize: 2 } });
    expect(started.batches.map((b: any) => b.hosts.map((h: any) => h.name))).toEqual([['a'], ['b', 'c'], ['d', 'e']]);

    await expectSent(['a'], 2, ['b', 'c', 'd', 'e']);
    agent('a').send(applyResult(2));
    await expectSent(['b', 'c'], 2, ['d', 'e']);
    agent('b').send(applyResult(2));
    // c has not answered: the last batch still waits
    expect(await agent('d').quietFor(200)).toBe(true);
    expect((await rollout(started.id)).counts).toMatchObject({ succeeded: 2, applying: 1, pending: 2 });
    agent('c').send(applyResult(2, { outcome: 'unchanged', action: 'none' }));
    await expectSent(['d', 'e'], 2);
    agent('d').send(applyResult(2));
    agent('e').send(applyResult(2));

    const done = await waitForState(started.id, 'completed');
    expect(done.counts).toEqual({ total: 5, succeeded: 5, failed: 0, pending: 0, applying: 0, offline: 0, skipped: 0, rolledBack: 0 });
    expect(done.reason).toBe('every batch is done: 5 succeeded');
    const hosts = done.batches.flatMap((b: any) => b.hosts);
    for (let i = 1; i < done.batches.length; i++) {
      const lastFinished = Math.max(...done.batches[i - 1].hosts.map((h: any) => Date.parse(h.finishedAt)));
      for (const h of done.batches[i].hosts) expect(Date.parse(h.startedAt)).toBeGreaterThanOrEqual(lastFinished);
    }
    expect(hosts.every((h: any) => h.outcome !== null)).toBe(true);
    expect((await t.api('GET', '/v1/groups/ci')).body).toMatchObject({ currentRevision: 2, hosts: { converged: 5 } });
    for (const h of Object.values(await hostsView())) expect(h).toMatchObject({ desiredRevision: 2, appliedRevision: 2, status: 'converged' });
    // nothing more is sent once it completed: every host already has revision 2 as desired
    for (const name of ['a', 'b', 'c', 'd', 'e']) expect(await agent(name).quietFor(50)).toBe(true);
  });

  it('a repeated failure (the answer to a hello re-send) is no attempt: the rollout waits for the real result', async () => {
    await fleet(['a', 'b']);
    const started = await startRollout({ strategy: { canary: 1, batchSize: 1 } });
    await expectSent(['a'], 2, ['b']);
    // The reconnect's re-send of revision 2 crossed the rollout's own `desired`: the agent answers it
    // with the failure it remembers from an earlier attempt, trying nothing.
    agent('a').send(applyResult(2, { outcome: 'rolled-back', action: 'none', filesChanged: [], verification: null, repeated: true, error: { code: 'VERIFY_FAILED', message: 'not tried again: ...' } }));
    expect(await agent('b').quietFor(300)).toBe(true);
    expect((await rollout(started.id))).toMatchObject({ state: 'running', counts: { applying: 1, failed: 0 } });
    agent('a').send(applyResult(2)); // the real attempt, asked for by the rollout
    await expectSent(['b'], 2);
    agent('b').send(applyResult(2));
    expect((await waitForState(started.id, 'completed')).counts).toMatchObject({ succeeded: 2, failed: 0 });
  });

  it('a host the rollout waits for gets its desired after a reconnect as a request to apply, not as a re-send', async () => {
    await fleet(['a', 'b']);
    await startRollout({ strategy: { canary: 1, batchSize: 1 } });
    await expectSent(['a'], 2, ['b']);
    // The connection drops before a answered (the rollout's own `desired` may never have arrived).
    agent('a').ws.terminate();
    await eventually(async () => (await hostsView()).a?.connected === false);
    const again = await RawAgent.connect(t.controller.url, credentials.get('a')!);
    agents.set('a', again);
    expect((await again.hello({ appliedRevision: 1 })).type).toBe('welcome');
    const desired = await again.next();
    expect(desired).toMatchObject({ type: 'desired', revision: 2 });
    expect(desired.resend).toBeUndefined(); // an agent that failed revision 2 before tries it again
    // b, not waited for by any rollout, is re-sent its revision marked as such
    agent('b').ws.terminate();
    await eventually(async () => (await hostsView()).b?.connected === false);
    const b = await RawAgent.connect(t.controller.url, credentials.get('b')!);
    agents.set('b', b);
    expect((await b.hello({ appliedRevision: 1 })).type).toBe('welcome');
    expect(await b.next()).toMatchObject({ type: 'desired', revision: 1, resend: true });
  });

  it('GET ?hosts=false gives the state, counts and batch sizes without the per-host entries', async () => {
    await fleet(['a', 'b', 'c', 'd', 'e']);
    const started = await startRollout({ strategy: { canary: 1, batchSize: 2 } });
    await expectSent(['a'], 2);
    const full = (await t.api('GET', `/v1/rollouts/${started.id}`)).body.rollout;
    const light = await t.api('GET', `/v1/rollouts/${started.id}?hosts=false`);
    expect(light.status).toBe(200);
    expect(light.body.rollout.batches).toEqual([
      { index: 0, canary: true, size: 1, hosts: [] },
      { index: 1, canary: false, size: 2, hosts: [] },
      { index: 2, canary: false, size: 2, hosts: [] },
    ]);
    expect(full.batches.map((b: any) => [b.size, b.hosts.length])).toEqual([[1, 1], [2, 2], [2, 2]]);
    expect(light.body.rollout.counts).toEqual(full.counts);
    expect(light.body.rollout.state).toBe('running');
    const bad = await t.api('GET', `/v1/rollouts/${started.id}?hosts=no`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('hosts must be true or false');
  });

  it('POST ?hosts=false starts the rollout and answers without the per-host entries', async () => {
    await fleet(['a', 'b', 'c']);
    const bad = await t.api('POST', '/v1/groups/ci/rollouts?hosts=maybe', { strategy: { canary: 1, batchSize: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('hosts must be true or false');
    expect((await t.api('GET', '/v1/groups/ci/rollouts')).body.rollouts).toEqual([]); // refused: nothing started
    const started = await t.api('POST', '/v1/groups/ci/rollouts?hosts=false', { strategy: { canary: 1, batchSize: 2 } });
    expect(started.status).toBe(201);
    expect(started.body.rollout.batches).toEqual([
      { index: 0, canary: true, size: 1, hosts: [] },
      { index: 1, canary: false, size: 2, hosts: [] },
    ]);
    expect(started.body.rollout.counts).toMatchObject({ total: 3 });
    await expectSent(['a'], 2);
  });

  it('keeps at most maxConcurrent hosts applying at once', async () => {
    await fleet(['a', 'b', 'c', 'd']);
    const started = await startRollout({ strategy: { canary: 0, batchSize: '100%', maxConcurrent: 2 } });
    expect(started.batches).toHaveLength(1);
    await expectSent(['a', 'b'], 2, ['c', 'd']);
    agent('a').send(applyResult(2));
    await expectSent(['c'], 2, ['d']);
    agent('b').send(applyResult(2));
    await expectSent(['d'], 2);
    agent('c').send(applyResult(2));
    agent('d').send(applyResult(2));
    await waitForState(started.id, 'completed');
  });

  it('tolerates failures within the failure budget and completes', async () => {
    await fleet(['a', 'b', 'c']);
    const started = await startRollout({ strategy: { canary: 0, batchSize: '100%', failureBudget: 1 } });
    await expectSent(['a', 'b', 'c'], 2);
    agent('a').send(applyResult(2, { outcome: 'rolled-back' }));
    agent('b').send(applyResult(2));
    agent('c').send(applyResult(2));
    const done = await waitForState(started.id, 'completed');
    expect(done.counts).toMatchObject({ succeeded: 2, failed: 1 });
    expect(done.allowedFailures).toBe(1);
  });
});

describe('offline hosts', () => {
  it('skip: reported offline, the rollout finishes without them, and they converge when back', async () => {
    await fleet(['a', 'b'], { offline: ['c'] });
    const started = await startRollout({ strategy: { canary: 1, batchSize: 1 } });
    await expectSent(['a'], 2);
    agent('a').send(applyResult(2));
    await expectSent(['b'], 2);
    agent('b').send(applyResult(2));
    const done = await waitForState(started.id, 'completed');
    expect(hostStates(done)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'offline' });
    expect(done.counts.offline).toBe(1);
    // back: it is sent the group's current revision
    await connect('c', null, 2);
  });

  it('wait: the batch waits for them; when one is back it is started', async () => {
    await fleet(['a', 'b'], { offline: ['c'] });
    const started = await startRollout({ strategy: { canary: 1, batchSize: 1, offline: 'wait' } });
    await expectSent(['a'], 2);
    agent('a').send(applyResult(2));
    await expectSent(['b'], 2);
    agent('b').send(applyResult(2));
    const waiting = await eventually(async () => {
      const view = await rollout(started.id);
      return view.counts.succeeded === 2 ? view : undefined;
    });
    expect(waiting).toMatchObject({ state: 'running', counts: { offline: 1 } });
    expect(hostStates(waiting).c).toBe('offline');
    // c comes back: first its current revision (the group is still on 1), then the rollout starts it
    const c = await connect('c', null, 1);
    expect(await c.next()).toMatchObject({ type: 'desired', revision: 2 });
    c.send(applyResult(2));
    const done = await waitForState(started.id, 'completed');
    expect(hostStates(done)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
  });
});

describe('operator control', () => {
  it('pause stops new hosts from starting, resume goes on, abort ends it; undo brings the moved hosts back', async () => {
    await fleet(['a', 'b', 'c']);
    const started = await startRollout({ strategy: { canary: 1, batchSize: 1 } });
    await expectSent(['a'], 2);
    const paused = await t.api('POST', `/v1/rollouts/${started.id}/pause`);
    expect(paused.body.rollout).toMatchObject({ state: 'paused', reason: 'paused by admin' });
    agent('a').send(applyResult(2));
    await eventually(async () => (await rollout(started.id)).counts.succeeded === 1);
    expect(await agent('b').quietFor(300)).toBe(true);
    expect((await t.api('POST', `/v1/rollouts/${started.id}/pause`)).body.error.code).toBe('ROLLOUT_STATE');
    expect((await t.api('POST', '/v1/groups/ci/rollouts', {})).body.error).toMatchObject({ code: 'ROLLOUT_ACTIVE', message: expect.stringContaining(`rollout ${started.id} of group ci is paused`) });

    expect((await t.api('POST', `/v1/rollouts/${started.id}/resume`)).body.rollout.state).toBe('running');
    await expectSent(['b'], 2, ['c']);
    const aborted = await t.api('POST', `/v1/rollouts/${started.id}/abort`);
    expect(aborted.body.rollout).toMatchObject({ state: 'aborted', reason: 'aborted by admin' });
    expect(hostStates(aborted.body.rollout)).toEqual({ a: 'succeeded', b: 'applying', c: 'skipped' });
    // b's result still counts for the record; c is never sent anything
    agent('b').send(applyResult(2));
    await eventually(async () => hostStates(await rollout(started.id)).b === 'succeeded');
    expect(await agent('c').quietFor(200)).toBe(true);
    expect((await t.api('POST', `/v1/rollouts/${started.id}/resume`)).status).toBe(409);
    expect((await t.api('GET', '/v1/groups/ci')).body.currentRevision).toBe(1);
    expect(Object.values(await hostsView()).map((h: any) => [h.name, h.desiredRevision])).toEqual([['a', 2], ['b', 2], ['c', 1]]);

    // undo: the group is mixed, so back to its current revision 1
    const undo = await t.api('POST', '/v1/groups/ci/rollouts/undo', { strategy: { canary: 1, batchSize: '100%' } });
    expect(undo.status).toBe(201);
    expect(undo.body.rollout).toMatchObject({ kind: 'undo', fromRevision: 1, toRevision: 1 });
    await expectSent(['a'], 1, ['b', 'c']);
    agent('a').send(applyResult(1));
    await expectSent(['b', 'c'], 1);
    agent('b').send(applyResult(1));
    agent('c').send(applyResult(1, { outcome: 'unchanged', action: 'none' }));
    await waitForState(undo.body.rollout.id, 'completed');
    for (const h of Object.values(await hostsView())) expect(h).toMatchObject({ desiredRevision: 1, appliedRevision: 1, status: 'converged' });
  });

  it('undo after a completed rollout goes back to the revision it came from', async () => {
    await fleet(['a', 'b']);
    const first = await startRollout({ strategy: { canary: 0, batchSize: '100%' } });
    await expectSent(['a', 'b'], 2);
    agent('a').send(applyResult(2));
    agent('b').send(applyResult(2));
    await waitForState(first.id, 'completed');
    expect((await t.api('POST', '/v1/groups/ci/rollouts', {})).body.error.code).toBe('ROLLOUT_NOTHING_TO_DO');

    const undo = await t.api('POST', '/v1/groups/ci/rollouts/undo', {});
    expect(undo.body.rollout).toMatchObject({ kind: 'undo', fromRevision: 2, toRevision: 1, state: 'running' });
    await expectSent(['a'], 1, ['b']);
    agent('a').send(applyResult(1));
    await expectSent(['b'], 1);
    agent('b').send(applyResult(1));
    await waitForState(undo.body.rollout.id, 'completed');
    expect((await t.api('GET', '/v1/groups/ci')).body).toMatchObject({ currentRevision: 1, revision: { number: 2 } });
    expect((await t.api('POST', '/v1/groups/ci/rollouts/undo', { toRevision: 3 })).body.error.code).toBe('VALIDATION');
    const list = (await t.api('GET', '/v1/groups/ci/rollouts')).body.rollouts;
    expect(list.map((r: any) => [r.id, r.kind, r.state])).toEqual([[undo.body.rollout.id, 'undo', 'completed'], [first.id, 'rollout', 'completed']]);

    const db = new Database(join(t.dataDir, 'fleetdock.db'), { readonly: true });
    try {
      const actions = db.prepare("SELECT action, actor, from_revision AS f, to_revision AS t FROM audit_log WHERE action LIKE 'rollout.%' ORDER BY id").all();
      expect(actions).toEqual([
        { action: 'rollout.start', actor: 'admin', f: 1, t: 2 },
        { action: 'rollout.complete', actor: 'controller', f: 1, t: 2 },
        { action: 'rollout.undo', actor: 'admin', f: 2, t: 1 },
        { action: 'rollout.complete', actor: 'controller', f: 2, t: 1 },
      ]);
    } finally {
      db.close();
    }
  });

  it('undo --to-revision N goes back two revisions: every host ends on revision N, with its settings', async () => {
    await ensureCliBuilt();
    await fleet(['a', 'b']);
    // Revisions 2 and then 3 rolled out to completion.
    for (const revision of [2, 3]) {
      if (revision === 3) expect((await t.api('PUT', '/v1/groups/ci/settings', MIRROR_3)).body).toMatchObject({ revision: 3, currentRevision: 2 });
      const done = await startRollout({ strategy: { canary: 0, batchSize: '100%' } });
      await expectSent(['a', 'b'], revision);
      agent('a').send(applyResult(revision));
      agent('b').send(applyResult(revision));
      await waitForState(done.id, 'completed');
    }
    expect((await t.api('GET', '/v1/groups/ci')).body).toMatchObject({ currentRevision: 3 });

    // The operator's command, waiting for the end, while the agents answer.
    const cli = runCli(['rollout', 'undo', 'ci', '--to-revision', '1', '--canary', '1', '--batch-size', '100%', '--wait'], t.cliEnv);
    const canary = await agent('a').next(10_000);
    expect(canary).toMatchObject({ type: 'desired', revision: 1, settings: MIRROR_1 });
    expect(await agent('b').quietFor(150)).toBe(true);
    agent('a').send(applyResult(1));
    expect(await agent('b').next(5_000)).toMatchObject({ type: 'desired', revision: 1, settings: MIRROR_1 });
    agent('b').send(applyResult(1));
    const out = await cli;
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);

    const undo = (await t.api('GET', '/v1/groups/ci/rollouts?limit=1')).body.rollouts[0];
    expect(undo).toMatchObject({ kind: 'undo', fromRevision: 3, toRevision: 1, state: 'completed' });
    expect(out.stdout).toContain(`rollout ${undo.id} ci 3→1 completed`);
    expect((await t.api('GET', '/v1/groups/ci')).body).toMatchObject({ currentRevision: 1, revision: { number: 3 } });
    for (const h of Object.values(await hostsView())) expect(h).toMatchObject({ desiredRevision: 1, appliedRevision: 1, status: 'converged' });
    // Settled: nobody is sent anything more.
    for (const name of ['a', 'b']) expect(await agent(name).quietFor(100)).toBe(true);
  }, 240_000);

  it('a host that enrols during a rollout follows the current revision, and the new one once it completes', async () => {
    await fleet(['a', 'b']);
    const started = await startRollout({ strategy: { canary: 1, batchSize: 1 } });
    await expectSent(['a'], 2);
    credentials.set('n', (await t.enrol('n', 'ci')).credential);
    await connect('n', null, 1);
    agent('a').send(applyResult(2));
    await expectSent(['b'], 2, ['n']);
    agent('b').send(applyResult(2));
    await waitForState(started.id, 'completed');
    // completion moves the group to 2, and with it every host that was not moved
    await expectSent(['n'], 2);
    expect(started.counts.total).toBe(2);
  });
});

describe('a controller restarted during a rollout', () => {
  it('waits for its agents to reconnect instead of calling them offline, and finishes with every host', async () => {
    await fleet(['a', 'b', 'c']);
    const started = await startRollout({ strategy: { canary: 0, batchSize: '100%', maxConcurrent: 1 } });
    await expectSent(['a'], 2, ['b', 'c']);
    await t.controller.close();
    const dataDir = t.dataDir;
    t = await startTestController({ dataDir, rolloutTickIntervalMs: 50, config: { rolloutReconnectGraceMs: 10_000 } });
    try {
      // several ticks with nobody connected: nobody may be skipped
      await new Promise((r) => setTimeout(r, 300));
      expect(hostStates(await rollout(started.id))).toEqual({ a: 'applying', b: 'pending', c: 'pending' });
      const b = await connect('b', 1, 1);
      await connect('c', 1, 1);
      const a = await connect('a', 2, 2); // its desired revision again, on hello
      a.send(applyResult(2, { outcome: 'unchanged', action: 'none' }));
      expect(await b.next()).toMatchObject({ type: 'desired', revision: 2 });
      b.send(applyResult(2));
      await expectSent(['c'], 2);
      agent('c').send(applyResult(2));
      const done = await waitForState(started.id, 'completed');
      expect(hostStates(done)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    } finally {
      await t.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('timeouts, dry runs and refusals', () => {
  it('fails a host that sends no result within the timeout, and halts', async () => {
    const clock = createClock();
    await fleet(['a', 'b'], { now: clock.now });
    const started = await startRollout({ strategy: { resultTimeoutSeconds: 30 } });
    await expectSent(['a'], 2);
    clock.advance(29_000);
    expect(await agent('b').quietFor(200)).toBe(true);
    expect((await rollout(started.id)).state).toBe('running');
    clock.advance(2_000);
    const halted = await waitForState(started.id, 'rolling-back');
    expect(halted.batches[0].hosts[0]).toMatchObject({ name: 'a', state: 'failed', error: { code: 'RESULT_TIMEOUT', message: 'no verified result for revision 2 within 30 s' } });
    await expectSent(['a'], 1, ['b']);
  });

  it('plans without changing anything: per host what changes and the action', async () => {
    await fleet(['a', 'b']);
    await t.api('PUT', '/v1/groups/ci/settings', { ...MIRROR_2, daemonProxy: { http: 'http://user:pw@proxy:3128' } });
    const plan = await t.api('POST', '/v1/groups/ci/rollouts', { dryRun: true, strategy: { canary: 1, batchSize: 1 } });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ group: 'ci', fromRevision: 1, toRevision: 3, allowedFailures: 0, batches: [{ index: 0, canary: true, hosts: ['a'] }, { index: 1, canary: false, hosts: ['b'] }] });
    expect(plan.body.plan[0]).toEqual({
      host: 'a',
      connected: true,
      batch: 0,
      fromRevision: 1,
      toRevision: 3,
      changes: ['registryMirrors', 'daemonProxy'],
      action: 'restart',
      stopsContainers: true,
      proxyPlacement: 'daemon-json',
      warning: null,
    });
    expect(plan.text).not.toContain(':pw@');
    expect((await t.api('GET', '/v1/groups/ci/rollouts')).body.rollouts).toEqual([]);
    for (const name of ['a', 'b']) expect(await agent(name).quietFor(100)).toBe(true);
  });

  it('refuses what makes no sense, with the one error shape', async () => {
    await fleet(['a']);
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/v1/groups/ci/rollouts', { toRevision: 9 }, 404, 'NOT_FOUND'],
      ['POST', '/v1/groups/ci/rollouts', { strategy: { canary: '150%' } }, 400, 'VALIDATION'],
      ['POST', '/v1/groups/ci/rollouts', { strategy: { batchSize: 0 } }, 400, 'VALIDATION'],
      ['POST', '/v1/groups/ci/rollouts', { strategy: { speed: 'fast' } }, 400, 'VALIDATION'],
      // the current revision, which every host already has as its desired one
      ['POST', '/v1/groups/ci/rollouts', { toRevision: 1 }, 409, 'ROLLOUT_NOTHING_TO_DO'],
      ['POST', '/v1/groups/nope/rollouts', {}, 404, 'NOT_FOUND'],
      ['GET', '/v1/rollouts/999', undefined, 404, 'NOT_FOUND'],
      ['GET', '/v1/rollouts/abc', undefined, 400, 'VALIDATION'],
      ['GET', '/v1/groups/ci/rollouts?limit=0', undefined, 400, 'VALIDATION'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const result = await t.api(method, path, body);
      expect(result.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(result.body.error.code).toBe(code);
    }
    await t.api('POST', '/v1/groups', { name: 'empty' });
    expect((await t.api('POST', '/v1/groups/empty/rollouts', {})).body.error.code).toBe('NO_REVISION');
    // a group without hosts: the first revision is current at once, a later one completes at once
    await t.api('PUT', '/v1/groups/empty/settings', MIRROR_1);
    await t.api('PUT', '/v1/groups/empty/settings', MIRROR_2);
    expect((await t.api('POST', '/v1/groups/empty/rollouts', {})).body.rollout).toMatchObject({ state: 'completed', counts: { total: 0 }, batches: [] });
    expect((await t.api('GET', '/v1/groups/empty')).body.currentRevision).toBe(2);
    expect((await t.api('GET', '/v1/groups/ci/rollouts', undefined, { token: null })).status).toBe(401);
  });
});
