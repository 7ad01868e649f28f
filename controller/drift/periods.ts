/**
 * Pure: turns a host's new drift findings and its open drift periods into the changes to store (which
 * periods end, which begin, which are updated), the audit events they mean (host.drifted,
 * host.converged), and whether a group in `enforce` should re-send the host's desired revision now.
 */
import { TAMPER_KINDS, type DriftField, type DriftFinding, type DriftKind } from './classify.js';

/** An open drift period as stored (JSON columns still text). */
export interface OpenPeriod {
  id: number;
  field: DriftField;
  kind: DriftKind;
  expected: string | null;
  actual: string | null;
  detail: string;
  desiredRevision: number | null;
  appliedRevision: number | null;
}

/** The revisions a period is stamped with. */
export interface PeriodRevisions {
  desiredRevision: number | null;
  appliedRevision: number | null;
}

/** What to write for one host. */
export interface PeriodChanges {
  /** Open periods that ended. */
  close: OpenPeriod[];
  /** Findings that begin a new period. */
  open: DriftFinding[];
  /** Open periods that go on with new values. */
  update: { id: number; finding: DriftFinding }[];
  /** New tamper drifts (file-edited, daemon-not-reloaded): one host.drifted event. */
  drifted: DriftFinding[];
  /** The host had tamper drift and now has none: one host.converged event. */
  converged: boolean;
}

const keyOf = (p: { field: DriftField; kind: DriftKind }) => `${p.field}\u0000${p.kind}`;
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/** Plans the changes from `open` (what is stored) to `findings` (what is true now). */
export function planPeriodChanges(open: readonly OpenPeriod[], findings: readonly DriftFinding[], revisions: PeriodRevisions): PeriodChanges {
  const byKey = new Map(open.map((p) => [keyOf(p), p]));
  const found = new Set<string>();
  const changes: PeriodChanges = { close: [], open: [], update: [], drifted: [], converged: false };
  for (const finding of findings) {
    const key = keyOf(finding);
    if (found.has(key)) continue; // one period per field and kind
    found.add(key);
    const period = byKey.get(key);
    if (!period) {
      changes.open.push(finding);
      if (TAMPER_KINDS.includes(finding.kind)) changes.drifted.push(finding);
    } else if (
      period.expected !== json(finding.expected) ||
      period.actual !== json(finding.actual) ||
      period.detail !== finding.detail ||
      period.desiredRevision !== revisions.desiredRevision ||
      period.appliedRevision !== revisions.appliedRevision
    ) {
      changes.update.push({ id: period.id, finding });
    }
  }
  for (const period of open) if (!found.has(keyOf(period))) changes.close.push(period);
  const hadTamper = open.some((p) => TAMPER_KINDS.includes(p.kind));
  const hasTamper = findings.some((f) => TAMPER_KINDS.includes(f.kind));
  changes.converged = hadTamper && !hasTamper;
  return changes;
}

/** What the enforce policy decides for one host. */
export type EnforceDecision = { action: 'none' } | { action: 'send' } | { action: 'later'; at: number };

/**
 * Decides whether to re-send the desired revision: only in `enforce`, only to a connected host with
 * tamper drift, at most once per `intervalMs` (a host whose last re-send is too recent is retried
 * when the interval is over).
 */
export function decideEnforcement(input: {
  policy: 'audit' | 'enforce';
  connected: boolean;
  findings: readonly DriftFinding[];
  lastSentAt: number | undefined;
  now: number;
  intervalMs: number;
}): EnforceDecision {
  if (input.policy !== 'enforce' || !input.connected) return { action: 'none' };
  if (!input.findings.some((f) => TAMPER_KINDS.includes(f.kind))) return { action: 'none' };
  if (input.lastSentAt !== undefined && input.now - input.lastSentAt < input.intervalMs) return { action: 'later', at: input.lastSentAt + input.intervalMs };
  return { action: 'send' };
}

/**
 * The interval before the next re-send when `attempts` re-sends in a row did not end the drift:
 * doubles each time (30 s, 1 min, 2 min, ...) up to 64 times the base, so a drift fleetdock cannot fix
 * (a flag it does not own, a file it may not touch) does not fill the audit log.
 */
export function enforceBackoffMs(baseMs: number, attempts: number): number {
  return baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 6);
}
