/**
 * The rollout engine: creates rollouts, runs the state machine of step.ts over them, and writes what it
 * decides. One ticker for all rollouts (timeouts, offline hosts), plus a step soon after every apply
 * result or hello; no per-host timers.
 *
 * Parts: rollout-commands.ts (creating, pausing, resuming, aborting: one transaction each),
 * write-step.ts (one step's writes), rollout-model.ts (the in-memory copy), step.ts (the decisions).
 *
 * Crash safety: everything lives in SQLite. Each step's decisions (every host transition and each
 * host's desired revision) are written in ONE transaction, and only then are `desired` messages sent.
 * A new rollout's first step shares the transaction that creates it (its hosts are inserted in their
 * state after that step), so a rollout never exists without it.
 * A controller killed at any moment therefore restarts with each host either still pending (never told)
 * or applying (told, or told on its next hello, which always sends the host's desired revision); hosts
 * that were applying keep waiting for their result, whose deadline never counts the time the controller
 * was down.
 *
 * Scale: an unfinished rollout is held in memory between steps (read from SQLite once: at start, after
 * a restart, after an operator's pause/resume/abort, or after a failed write), results reach it from the
 * hub as they are recorded (after their commit), and connection state comes from the hub; a step with
 * nothing to do writes nothing, and a batch of thousands starts with two statements (its hosts'
 * rollout state and desired revision; a rollout's first batch is inserted already started). While
 * results stream in, a step looks only at the hosts that reported since the last one (step.ts
 * stepResults) and writes their results set-based; the full state machine runs on the ticker, after a
 * hello, and when the cheap step cannot decide (a failure, a batch finishing, hosts waiting for a free
 * slot). The `desired` messages a step calls for go out through outbox.ts, on the turn after the
 * step's commit (and the API's answer), in bounded chunks.
 */
import type { Logger } from 'pino';
import { FleetdockError } from '../../protocol/errors.js';
import type { Store } from '../store/index.js';
import type { Revision } from '../store/revisions.js';
import type { RolloutHostRow, RolloutRow } from '../store/rollouts.js';
import { renderDesiredMessage } from '../hub/session.js';
import { planRolloutDryRun, type RolloutPlan } from './dry-run.js';
import { createRollout, refuseActive, transitionRollout, type RolloutTransition } from './rollout-commands.js';
import { followCommittedUpdates, newModel, type ModelHost, type RolloutModel } from './rollout-model.js';
import { ACTIVE_ROLLOUT_STATES, stepResults, stepRollout, TERMINAL_ROLLOUT_STATES as TERMINAL, type HostRolloutState, type RolloutState, type StepLimits, type StepOutput, type StepResultReport } from './step.js';
import { DesiredOutbox } from './outbox.js';
import { writeStep, type WrittenStep } from './write-step.js';
import { defaultStrategy, resolveFailureBudget, type Strategy } from './strategy.js';

export type { PlannedHost, RolloutPlan } from './dry-run.js';

/** Delivers `desired` messages (the agent hub). */
export interface DesiredSender {
  /** Sends `revision` to the host if it is connected; returns whether it was sent. */
  sendDesired(hostId: string, revision: Revision, text?: string): boolean;
  /** Whether the host is connected and said hello. */
  isConnected(hostId: string): boolean;
}


export interface RolloutEngineDeps {
  store: Store;
  sender: DesiredSender;
  now: () => Date;
  logger: Logger;
  /** How often every unfinished rollout is stepped (result timeouts, offline hosts), in milliseconds. */
  tickIntervalMs: number;
  /**
   * For this long after the engine started, hosts that are not connected are waited for rather than
   * marked offline: after a restart every agent is reconnecting (with backoff), none is really gone.
   */
  reconnectGraceMs: number;
}

/** What starting a rollout asks for. */
export interface RolloutRequest {
  /** Target revision; default: the group's latest. */
  toRevision?: number | undefined;
  strategy?: Strategy | undefined;
}

/** A rollout and its hosts, as the API renders them. */
export interface RolloutRecord {
  rollout: RolloutRow;
  hosts: RolloutHostRow[];
}

/**
 * How soon after an apply result or hello the rollouts are stepped; results arriving meanwhile share the
 * step. While results stream in, a step costs what arrived (stepResults), not the rollout's size.
 */
const STEP_DELAY_MS = 20;

/** The strategy's limits for a rollout of `total` hosts. */
export function resolveLimits(strategy: Strategy, total: number): StepLimits {
  return {
    maxConcurrent: strategy.maxConcurrent,
    allowedFailures: resolveFailureBudget(strategy, total),
    offline: strategy.offline,
    onHalt: strategy.onHalt,
    resultTimeoutMs: strategy.resultTimeoutSeconds * 1000,
  };
}

/** Creates and drives rollouts. */
export class RolloutEngine {
  readonly #deps: RolloutEngineDeps;
  readonly #log: Logger;
  /** Deadlines count from the controller's start at the earliest. */
  readonly #startedAt: Date;
  /** Unfinished rollouts being stepped, by id; dropped when they end or whenever in doubt. */
  readonly #models = new Map<number, RolloutModel>();
  /** The last apply result heard of per host (its time: when it was heard). */
  readonly #results = new Map<string, StepResultReport>();
  #ticker: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  /** The step scheduled by #soon must be a full one (a host came back), not only the results heard. */
  #fullSoon = false;
  #closed = false;
  /** `desired` messages of committed steps, sent a chunk per turn of the event loop. */
  readonly #outbox: DesiredOutbox;

  constructor(deps: RolloutEngineDeps) {
    this.#deps = deps;
    this.#outbox = new DesiredOutbox(deps.sender, (hostId, error) =>
      this.#log.error({ hostId, err: (error as Error).message }, 'could not send desired; the host gets it on its next hello'),
    );
    this.#log = deps.logger.child({ component: 'rollouts' });
    this.#startedAt = deps.now();
  }

  /** Starts the ticker and steps every unfinished rollout once (resuming after a restart). */
  start(): void {
    this.#ticker = setInterval(() => this.tick(), this.#deps.tickIntervalMs);
    this.#ticker.unref();
    this.tick();
  }

  /** Stops the timers; rollouts stay as stored and resume on the next start. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#ticker);
    clearTimeout(this.#soon);
    this.#outbox.close();
  }

  /** Something happened that may move a rollout (a hello): a full step soon, once for everything meanwhile. */
  notify(): void {
    this.#fullSoon = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      if (this.#fullSoon) {
        this.#fullSoon = false;
        this.tick();
        return;
      }
      for (const id of [...this.#models.keys()]) {
        try {
          this.#stepReported(id);
        } catch (error) {
          this.#log.error({ err: error, rollout: id }, 'stepping a rollout failed; retrying on the next tick');
        }
      }
    }, STEP_DELAY_MS);
  }

  /** Steps every rollout that is unfinished or still has hosts waiting for a result. */
  tick(): void {
    if (this.#closed) return;
    for (const id of this.#deps.store.rollouts.idsNeedingSteps()) {
      try {
        this.step(id);
      } catch (error) {
        this.#log.error({ err: error, rollout: id }, 'stepping a rollout failed; retrying on the next tick');
      }
    }
  }

  /**
   * Starts a rollout of group `groupName` to the request's target (default: latest revision) and takes
   * its first step. NO_REVISION when the group has no settings; ROLLOUT_ACTIVE when another rollout of
   * the group is running, paused or rolling back; ROLLOUT_NOTHING_TO_DO when the target is the group's
   * current revision and every host has applied it. (A rollout to the current revision is how hosts
   * that failed it, or that an aborted rollout left elsewhere, are brought to it batch by batch.)
   */
  startRollout(groupName: string, request: RolloutRequest, actor: string, kind: RolloutRow['kind'] = 'rollout'): RolloutRecord {
    const strategy = request.strategy ?? defaultStrategy();
    const now = this.#deps.now();
    // Created with its first step in one transaction: a batch starting now is inserted applying.
    const { model, first } = createRollout(this.#deps.store, this.#log, now, { groupName, toRevision: request.toRevision, strategy, actor, kind }, (created) =>
      this.#decide(created, now),
    );
    this.#models.set(model.rollout.id, model);
    this.#follow(model, first);
    return this.require(model.rollout.id);
  }

  /**
   * Starts a rollout back to an earlier revision. Default target: when hosts of the group are on
   * different revisions (an aborted or halted rollout left some moved), the current revision; otherwise
   * the revision the group came from in its last completed rollout, or the one before current.
   */
  undo(groupName: string, request: RolloutRequest, actor: string): RolloutRecord {
    const { store } = this.#deps;
    const group = store.groups.require(groupName);
    refuseActive(store, group.id, group.name);
    const current = group.currentRevision;
    if (current === null) throw new FleetdockError('NO_REVISION', `group ${group.name} has no settings yet: there is nothing to undo`);
    let toRevision = request.toRevision;
    if (toRevision !== undefined && toRevision > current) {
      throw new FleetdockError('VALIDATION', `undo goes back: revision ${toRevision} is newer than group ${group.name}'s current revision ${current} (use fleetdock rollout start --to-revision ${toRevision})`);
    }
    if (toRevision === undefined) {
      const mixed = store.rollouts.groupHosts(group.id).some((h) => h.desiredRevision !== current);
      const completed = store.rollouts.listForGroup(group.id, 50).find((r) => r.state === 'completed' && r.toRevision === current);
      toRevision = mixed ? current : (completed?.fromRevision ?? current - 1);
      if (toRevision < 1) throw new FleetdockError('NO_REVISION', `group ${group.name} has no revision before ${current} to go back to`);
    }
    return this.startRollout(groupName, { ...request, toRevision }, actor, 'undo');
  }

  /** Pauses a running rollout: hosts applying finish, no new host starts. ROLLOUT_STATE otherwise. */
  pause(id: number, actor: string): RolloutRecord {
    return this.#transition(id, actor, ['running'], 'paused', 'rollout.pause', `paused by ${actor}`);
  }

  /** Resumes a paused rollout. ROLLOUT_STATE otherwise. */
  resume(id: number, actor: string): RolloutRecord {
    this.#transition(id, actor, ['paused'], 'running', 'rollout.resume', null);
    this.step(id);
    return this.require(id);
  }

  /**
   * Aborts a running, paused or rolling-back rollout: no host starts any more; hosts not started are
   * skipped; hosts already changed keep their revision (undo moves them back). ROLLOUT_STATE otherwise.
   */
  abort(id: number, actor: string): RolloutRecord {
    return this.#transition(id, actor, ACTIVE_ROLLOUT_STATES, 'aborted', 'rollout.abort', `aborted by ${actor}`);
  }

  /** The rollout with its hosts; NOT_FOUND otherwise. */
  require(id: number): RolloutRecord {
    const model = this.#models.get(id);
    if (model) return { rollout: model.rollout, hosts: model.hosts };
    const rollout = this.#deps.store.rollouts.get(id);
    if (!rollout) throw new FleetdockError('NOT_FOUND', `rollout ${id} does not exist`, { details: { rollout: id } });
    return { rollout, hosts: this.#deps.store.rollouts.hosts(id) };
  }

  /** The group's newest rollouts, newest first. */
  list(groupName: string, limit: number): RolloutRecord[] {
    const { store } = this.#deps;
    const group = store.groups.require(groupName);
    return store.rollouts.listForGroup(group.id, limit).map((rollout) => this.#models.get(rollout.id) ?? { rollout, hosts: store.rollouts.hosts(rollout.id) });
  }

  /**
   * A dry run: the batches a rollout would have and, per host, what would change and the action.
   * Writes nothing. See dry-run.ts.
   */
  plan(groupName: string, request: RolloutRequest): RolloutPlan {
    return planRolloutDryRun(this.#deps.store, groupName, request.toRevision, request.strategy ?? defaultStrategy());
  }

  /**
   * Takes one step of rollout `id`: runs the state machine, writes its decisions in one transaction,
   * then sends the `desired` messages they call for. Returns the rollout as it is afterwards.
   */
  step(id: number): RolloutRow | undefined {
    const model = this.#models.get(id) ?? this.#load(id);
    if (!model) return undefined;
    const now = this.#deps.now();
    return this.#apply(model, this.#decide(model, now), now);
  }

  /** A full step's decisions for `model` at `now` (the hosts' connection state is refreshed first). */
  #decide(model: RolloutModel, now: Date): StepOutput {
    const before = model.rollout;
    model.reported.clear(); // a full step looks at every host
    for (const host of model.hosts) host.connected = this.#deps.sender.isConnected(host.id);
    return stepRollout({
      state: before.state,
      fromRevision: before.fromRevision,
      toRevision: before.toRevision,
      limits: resolveLimits(before.strategy, model.hosts.length),
      hosts: model.hosts,
      haltedAt: before.haltedAt,
      now,
      clockFloor: this.#startedAt,
      holdOffline: now.getTime() < this.#startedAt.getTime() + this.#deps.reconnectGraceMs,
    });
  }

  /**
   * The step taken when only results arrived: looks at the hosts that reported since the last step
   * (stepResults); falls back to a full step when that cannot decide (a failure, the batch done).
   */
  #stepReported(id: number): RolloutRow | undefined {
    const model = this.#models.get(id);
    if (!model || model.reported.size === 0) return model?.rollout;
    const before = model.rollout;
    const batch = before.currentBatch;
    const count = (state: HostRolloutState) => model.counts.get(`${batch}:${state}`) ?? 0;
    const reported: ModelHost[] = [];
    for (const hostId of model.reported) {
      const host = model.byId.get(hostId);
      if (host) reported.push(host);
    }
    const out = stepResults({
      state: before.state,
      toRevision: before.toRevision,
      currentBatch: batch,
      hosts: reported,
      currentBatchCounts: { applying: count('applying'), notStarted: count('pending') + count('offline') },
    });
    if (!out) return this.step(id);
    model.reported.clear();
    return this.#apply(model, out, this.#deps.now());
  }


  /** Writes a step's decisions in one transaction, then updates the model and sends what they call for. */
  #apply(model: RolloutModel, out: StepOutput, now: Date): RolloutRow {
    const id = model.rollout.id;
    let written: WrittenStep | null;
    try {
      written = writeStep(this.#deps.store, this.#log, model, out, now);
    } catch (error) {
      this.#models.delete(id); // the next step reloads what the database really holds
      throw error;
    }
    if (!written) return model.rollout;
    return this.#follow(model, written);
  }

  /** After a step's commit: the model follows the database, and the `desired` messages go out. */
  #follow(model: RolloutModel, written: WrittenStep): RolloutRow {
    followCommittedUpdates(model, written.updates, written.after);
    if (TERMINAL.includes(written.after.state) && !model.hosts.some((h) => h.state === 'applying')) this.#models.delete(model.rollout.id);
    this.#send(written.after, written.sends);
    return written.after;
  }

  /**
   * An apply result was recorded for `hostId`: remember it for the rollouts that wait for it and step
   * them soon. (The engine keeps what it steps in memory, read once from SQLite; see #load.)
   */
  resultRecorded(hostId: string, result: Pick<StepResultReport, 'revision' | 'outcome' | 'action' | 'error'>): void {
    // Only what a step reads: a spread would keep the whole message (files, verification text) per host for good.
    const report: StepResultReport = { revision: result.revision, outcome: result.outcome, action: result.action, error: result.error, at: this.#deps.now().toISOString() };
    this.#results.set(hostId, report);
    let held = false;
    for (const model of this.#models.values()) {
      const host = model.byId.get(hostId);
      if (host) {
        host.lastResult = report;
        model.reported.add(hostId);
        held = true;
      }
    }
    // A rollout not in memory (after a pause, resume or abort) may wait for it: a full step finds it.
    if (!held) this.#fullSoon = true;
    this.#schedule();
  }

  /** Reads a rollout and its hosts from SQLite into memory, with any result heard of since. */
  #load(id: number): RolloutModel | undefined {
    const rollout = this.#deps.store.rollouts.get(id);
    if (!rollout) return undefined;
    const hosts = this.#deps.store.rollouts.hosts(id).map((h) => {
      const heard = this.#results.get(h.hostId);
      const lastResult = heard && (!h.lastResult || heard.at >= h.lastResult.at) ? heard : h.lastResult;
      return { ...h, id: h.hostId, lastResult };
    });
    const model = newModel(rollout, hosts);
    this.#models.set(id, model);
    return model;
  }

  #send(rollout: RolloutRow | undefined, sends: { hostId: string; revision: number }[]): void {
    if (!rollout || sends.length === 0) return;
    // Serialised once per revision, however many hosts get it.
    const messages = new Map<number, { revision: Revision; text: string }>();
    for (const { hostId, revision } of sends) {
      let entry = messages.get(revision);
      if (!entry) {
        const r = this.#deps.store.revisions.require(rollout.groupId, rollout.group, revision);
        messages.set(revision, (entry = { revision: r, text: renderDesiredMessage(r) }));
      }
      this.#outbox.enqueue(hostId, entry.revision, entry.text);
    }
  }

  /** Changes a rollout's state for an operator; the in-memory copy is dropped and read back on the next step. */
  #transition(id: number, actor: string, from: readonly RolloutState[], to: RolloutState, action: RolloutTransition['action'], reason: string | null): RolloutRecord {
    this.#models.delete(id);
    transitionRollout(this.#deps.store, this.#log, this.#deps.now(), { id, actor, from, to, action, reason });
    return this.require(id);
  }
}
