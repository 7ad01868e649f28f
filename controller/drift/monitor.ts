/**
 * The drift monitor: keeps each host's drift periods true as reports arrive. The hub tells it when a
 * host changed (hello, observed, apply-result, disconnect); it reclassifies those hosts a few
 * milliseconds later, many in one transaction (a burst of reports from thousands of hosts is a handful
 * of transactions, never one each), records host events in the audit log, and, for groups in
 * `enforce`, re-sends the desired revision to hosts that were tampered with. One timer sweeps for what
 * no message announces (a host gone for longer than the grace time, a desired revision that moved).
 * No per-host timers or loops. Classification itself is pure (classify.ts, periods.ts).
 */
import type { Logger } from 'pino';
import type { ApplyResult } from '../../protocol/messages.js';
import type { Settings } from '../../protocol/settings.js';
import type { DriftHostState } from '../store/drift.js';
import type { Store } from '../store/index.js';
import type { Revision } from '../store/revisions.js';
import { classifyDrift, TAMPER_KINDS, type DriftFinding } from './classify.js';
import { decideEnforcement, enforceBackoffMs, planPeriodChanges } from './periods.js';

/** What the hub tells the monitor. */
export interface DriftNotifier {
  /** Something about the host was recorded (hello, observed state, disconnect): reclassify it soon. */
  hostChanged(hostId: string): void;
  /** An apply result was recorded: audit it and reclassify the host. */
  applyResultRecorded(host: { id: string; name: string; group: string }, result: ApplyResult): void;
}

/** Sends one host its desired revision (the agent hub); false when the host is not connected. */
export interface DesiredSender {
  sendDesired(hostId: string, revision: Revision): boolean;
}

/** Timings, in milliseconds. */
export interface DriftMonitorOptions {
  /** A disconnected host is `offline` once unseen for this long. */
  offlineAfterMs: number;
  /** `enforce` re-sends to one host at most once per this interval. */
  enforceIntervalMs: number;
  /** How often the sweep runs. */
  sweepIntervalMs: number;
  /** How long a change waits to be batched with others before it is classified. */
  flushDelayMs: number;
  /** Hosts per transaction; the rest wait for the next turn of the event loop. */
  batchSize: number;
}

export const DRIFT_MONITOR_DEFAULTS: Readonly<Omit<DriftMonitorOptions, 'offlineAfterMs' | 'enforceIntervalMs' | 'sweepIntervalMs'>> = Object.freeze({
  flushDelayMs: 20,
  batchSize: 200,
});

export interface DriftMonitorDeps {
  store: Store;
  now: () => Date;
  logger: Logger;
  options: DriftMonitorOptions;
}

type Enforcement = { host: DriftHostState; findings: DriftFinding[] };
type QueuedResult = { host: { id: string; name: string; group: string }; result: ApplyResult; at: string };

/**
 * How long a host whose last apply result is newer than its observed state waits for the report the
 * agent sends after every result before it is judged without it. The report follows the result within
 * a second (the agent reads its files and `GET /info`).
 */
export const REPORT_GRACE_MS = 10_000;

const AUDITED_OUTCOMES: Partial<Record<ApplyResult['outcome'], 'host.applied' | 'host.rolled-back' | 'host.failed'>> = {
  applied: 'host.applied',
  'rolled-back': 'host.rolled-back',
  failed: 'host.failed',
};

/** Reclassifies hosts when they change and keeps their drift periods, audit events and enforcement. */
export class DriftMonitor implements DriftNotifier {
  readonly #deps: DriftMonitorDeps;
  readonly #log: Logger;
  readonly #dirty = new Set<string>();
  /** Apply results waiting to be audited with the next flush. */
  readonly #results: QueuedResult[] = [];
  /** When each host was last re-sent its desired revision by `enforce`, and how many times in a row. */
  readonly #lastEnforced = new Map<string, { at: number; attempts: number }>();
  /** Hosts whose re-send waits for the rate limit, with when it may happen. */
  readonly #deferred = new Map<string, number>();
  /** Hosts whose report after an apply result is awaited, with when to judge them without it (ms). */
  readonly #awaitingReport = new Map<string, number>();
  /**
   * Hosts with an open drift period (read once, then kept with every write): a host without one whose
   * report matches its desired revision, the common case, costs one read and no writes.
   */
  #withOpenPeriods: Set<string>;
  /** Revisions are immutable: their settings are parsed once. */
  readonly #settings = new Map<string, Settings>();
  readonly #sweepTimer: NodeJS.Timeout;
  #scheduled = false;
  #sender: DesiredSender | null = null;
  #closed = false;
  /** When this controller started watching: hosts reconnecting after a restart are not offline. */
  readonly #watchingSince: string;

  constructor(deps: DriftMonitorDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'drift' });
    this.#watchingSince = deps.now().toISOString();
    this.#withOpenPeriods = deps.store.drift.hostIdsWithOpenPeriods();
    this.#sweepTimer = setInterval(() => this.#guard('sweep', () => this.sweep()), deps.options.sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** Where `enforce` sends desired revisions (the hub, which is made after the monitor). */
  attachSender(sender: DesiredSender): void {
    this.#sender = sender;
  }

  hostChanged(hostId: string): void {
    if (this.#closed) return;
    this.#dirty.add(hostId);
    this.#schedule();
  }

  applyResultRecorded(host: { id: string; name: string; group: string }, result: ApplyResult): void {
    if (this.#closed) return;
    this.#results.push({ host: { id: host.id, name: host.name, group: host.group }, result, at: this.#deps.now().toISOString() });
    this.hostChanged(host.id);
  }

  /** A group's policy changed: reclassify its tampered hosts, so `enforce` acts at once. */
  policyChanged(groupId: number): void {
    for (const id of this.#deps.store.drift.tamperedHostIds(groupId)) this.#dirty.add(id);
    this.#schedule();
  }

  /** Classifies every host waiting now, in transactions of `batchSize` (for tests and shutdown). */
  flush(): void {
    while (this.#dirty.size > 0 || this.#results.length > 0) this.#flushBatch();
  }

  /**
   * Finds hosts whose drift changed without a message (gone past the grace time, desired revision
   * moved) and hosts whose rate-limited re-send is due, and queues them (classified in batches, as
   * reports are).
   */
  sweep(): void {
    const now = this.#deps.now();
    // Right after a start every host is disconnected until it reconnects: nobody is offline before the
    // grace time has passed since the start, so the offline query then looks at nothing.
    const cutoffMs = now.getTime() - this.#deps.options.offlineAfterMs;
    const cutoff = new Date(cutoffMs < Date.parse(this.#watchingSince) ? 0 : cutoffMs).toISOString();
    for (const id of this.#deps.store.drift.sweepCandidates(cutoff)) this.#dirty.add(id);
    for (const [id, due] of this.#deferred) {
      if (due <= now.getTime()) {
        this.#deferred.delete(id);
        this.#dirty.add(id);
      }
    }
    for (const [id, due] of this.#awaitingReport) {
      if (due <= now.getTime()) {
        this.#awaitingReport.delete(id);
        this.#dirty.add(id);
      }
    }
    if (this.#dirty.size > 0) this.#schedule();
  }

  /** Stops the timers; what is waiting is classified first. */
  close(): void {
    if (this.#closed) return;
    clearInterval(this.#sweepTimer);
    this.#guard('final flush', () => this.flush());
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setTimeout(() => this.#drain(), this.#deps.options.flushDelayMs).unref();
  }

  /** One batch now; the rest after the event loop had its turn (a burst never blocks it for long). */
  #drain(): void {
    if (this.#closed) return;
    this.#guard('flush', () => this.#flushBatch());
    if (!this.#closed && (this.#dirty.size > 0 || this.#results.length > 0)) setImmediate(() => this.#drain());
    else this.#scheduled = false;
  }

  #guard(what: string, body: () => void): void {
    try {
      body();
    } catch (error) {
      this.#log.error({ err: error }, `drift ${what} failed`);
    }
  }

  #settingsOf(groupId: number, group: string, revision: number): Settings {
    const key = `${groupId}:${revision}`;
    let settings = this.#settings.get(key);
    if (!settings) {
      if (this.#settings.size > 10_000) this.#settings.clear();
      settings = this.#deps.store.revisions.require(groupId, group, revision).settings;
      this.#settings.set(key, settings);
    }
    return settings;
  }

  /** One transaction: audit waiting results, reclassify up to batchSize hosts; then enforce. */
  #flushBatch(): void {
    const { store, now: clock, options } = this.#deps;
    const ids: string[] = [];
    for (const id of this.#dirty) {
      if (ids.length >= options.batchSize) break;
      ids.push(id);
    }
    for (const id of ids) this.#dirty.delete(id);
    const results = this.#results.splice(0, options.batchSize);
    const now = clock();
    const enforce: Enforcement[] = [];

    try {
      this.#writeBatch(results, ids, now, enforce);
    } catch (error) {
      // Rolled back: the set of hosts with open periods may say what was not committed; read it again.
      this.#withOpenPeriods = store.drift.hostIdsWithOpenPeriods();
      throw error;
    }
    for (const { host, findings } of enforce) this.#enforce(host, findings, now);
  }

  /** The flush's one transaction: audit waiting results, reclassify the hosts (a savepoint each). */
  #writeBatch(results: QueuedResult[], ids: string[], now: Date, enforce: Enforcement[]): void {
    const { store } = this.#deps;
    store.db.transaction(() => {
      for (const { host, result, at: resultAt } of results) {
        const action = AUDITED_OUTCOMES[result.outcome];
        if (!action) continue; // `unchanged` is every reconnect's answer: not an event
        // A host a halted rollout put back (on-halt rollback) reports its old revision `applied`: that
        // is a rollback from the rollout's target, and the log must say so, once, naming the rollout.
        const rollback = result.outcome === 'applied' ? store.rollbacks.confirmedBy(host.id, host.name, result.revision, resultAt) : undefined;
        store.audit.record({
          at: resultAt,
          actor: `host:${host.name}`,
          action: rollback ? 'host.rolled-back' : action,
          group: host.group,
          host: host.name,
          fromRevision: rollback?.fromRevision ?? null,
          toRevision: result.revision,
          details: {
            ...(rollback ? { rollout: rollback.rolloutId, by: 'controller' } : {}),
            action: result.action,
            filesChanged: result.filesChanged,
            ...(result.error ? { error: result.error } : {}),
            durationMs: Math.round(result.durationMs),
          },
        });
      }
      for (const id of ids) {
        try {
          // A savepoint per host: one that fails leaves no half-written periods behind.
          store.db.transaction(() => this.#classify(id, now, enforce))();
        } catch (error) {
          this.#log.error({ err: error, hostId: id }, 'classifying a host failed; it is classified again at its next report');
        }
      }
    })();
  }

  /** Reclassifies one host inside the flush's transaction; hosts to re-send to go into `enforce`. */
  #classify(id: string, now: Date, enforce: Enforcement[]): void {
    const { store, options } = this.#deps;
    const at = now.toISOString();
    const host = store.drift.hostState(id);
    if (!host) return;
    // An apply result newer than the observed state: the report the agent sends after every result is
    // on its way (it marks the host changed again). Judged now, the state from before the apply would
    // make a drift that never was (a host.drifted and host.converged for every good apply), so the
    // host's periods stay as they are for up to REPORT_GRACE_MS. A report that never comes (the
    // connection dropped, the agent could not observe) does not leave the host unjudged: the sweep
    // brings it back after the grace, and it is judged on what is known.
    if (host.observedBeforeResult && host.resultAt !== null) {
      const due = Date.parse(host.resultAt) + REPORT_GRACE_MS;
      if (now.getTime() < due) {
        this.#awaitingReport.set(id, due);
        return;
      }
    }
    this.#awaitingReport.delete(id);
    const findings = classifyDrift({
      desired: host.desiredRevision === null ? null : { revision: host.desiredRevision, settings: this.#settingsOf(host.groupId, host.group, host.desiredRevision) },
      host,
      now,
      offlineAfterMs: options.offlineAfterMs,
      watchingSince: this.#watchingSince,
    });
    const revisions = { desiredRevision: host.desiredRevision, appliedRevision: host.appliedRevision };
    const open = this.#withOpenPeriods.has(id) ? store.drift.openPeriods(id) : [];
    const changes = planPeriodChanges(open, findings, revisions);
    if (changes.open.length > 0) this.#withOpenPeriods.add(id); // before the writes: too many is safe, too few is not
    for (const period of changes.close) store.drift.end(period.id, at);
    for (const finding of changes.open) store.drift.begin(id, finding, revisions, at);
    for (const { id: periodId, finding } of changes.update) store.drift.update(periodId, finding, revisions, at);
    if (open.length > 0 && changes.open.length === 0 && changes.close.length === open.length) this.#withOpenPeriods.delete(id);
    if (changes.drifted.length > 0) {
      store.audit.record({
        at,
        actor: 'controller',
        action: 'host.drifted',
        group: host.group,
        host: host.name,
        fromRevision: host.appliedRevision,
        toRevision: host.desiredRevision,
        details: { drifts: changes.drifted.map((f) => ({ field: f.field, kind: f.kind, expected: f.expected, actual: f.actual, detail: f.detail })) },
      });
    }
    if (changes.converged) {
      store.audit.record({ at, actor: 'controller', action: 'host.converged', group: host.group, host: host.name, toRevision: host.desiredRevision, details: { ended: changes.close.map((p) => ({ field: p.field, kind: p.kind })) } });
    }
    const last = this.#lastEnforced.get(id);
    if (last && !findings.some((f) => TAMPER_KINDS.includes(f.kind))) this.#lastEnforced.delete(id); // it worked: back to the base interval
    const decision = decideEnforcement({
      policy: host.policy,
      connected: host.connected,
      findings,
      lastSentAt: last?.at,
      now: now.getTime(),
      intervalMs: enforceBackoffMs(options.enforceIntervalMs, last?.attempts ?? 0),
    });
    if (decision.action === 'send' && host.desiredRevision !== null) {
      enforce.push({ host, findings });
      this.#deferred.delete(id);
    } else if (decision.action === 'later') {
      this.#deferred.set(id, decision.at);
    } else {
      this.#deferred.delete(id);
    }
  }

  /** Re-sends the host's desired revision and records it. */
  #enforce(host: DriftHostState, findings: DriftFinding[], now: Date): void {
    const sender = this.#sender;
    if (!sender || host.desiredRevision === null) return;
    const revision = this.#deps.store.revisions.require(host.groupId, host.group, host.desiredRevision);
    if (!sender.sendDesired(host.id, revision)) return;
    this.#lastEnforced.set(host.id, { at: now.getTime(), attempts: (this.#lastEnforced.get(host.id)?.attempts ?? 0) + 1 });
    const tampered = findings.filter((f) => TAMPER_KINDS.includes(f.kind));
    this.#deps.store.audit.record({
      at: now,
      actor: 'controller',
      action: 'drift.enforce',
      group: host.group,
      host: host.name,
      fromRevision: host.appliedRevision,
      toRevision: host.desiredRevision,
      details: { drifts: tampered.map((f) => ({ field: f.field, kind: f.kind })) },
    });
    this.#log.info({ host: host.name, revision: host.desiredRevision, fields: tampered.map((f) => f.field) }, 'drift enforced: desired revision re-sent');
  }
}
