/**
 * The drift classifier: compares one host's desired settings with what it last reported (its files
 * and its running daemon) and says, per settings field, what differs and why. Pure: plain data in,
 * findings out, no clock of its own. Every value and sentence it returns is redacted: a proxy
 * password never reaches a drift record.
 *
 * Semantics fleetdock's agent gives the settings, which the classifier follows:
 * - an empty list or a null proxy means "this revision does not manage the field" (the agent clears
 *   only what it wrote and leaves a host's own values alone), so such a field is not audited;
 * - mirrors are an ordered preference list; insecure registries and no-proxy entries are sets;
 * - dockerd's own spellings are undone by the agent's observed state (trailing `/` on mirrors,
 *   127.0.0.0/8 in the insecure CIDRs, `Mirrors: null` on dockerd 26) and again here, defensively.
 */
import type { Outcome } from '../../protocol/messages.js';
import type { ObservedState, ProxyView } from '../../protocol/observed.js';
import type { Settings } from '../../protocol/settings.js';
import { redactUrl } from '../../protocol/values.js';
import { scrubSecrets } from '../store/audit.js';

/** The settings fields drift is reported for. */
export const DRIFT_SETTINGS_FIELDS = ['registryMirrors', 'insecureRegistries', 'daemonProxy', 'clientProxy'] as const;
/** A settings field, or `host` for a reason that concerns the whole host. */
export const DRIFT_FIELDS = [...DRIFT_SETTINGS_FIELDS, 'host'] as const;
export type DriftField = (typeof DRIFT_FIELDS)[number];

/**
 * Why a field differs:
 * - `file-edited`: the host is on its desired revision but a file says something else;
 * - `daemon-not-reloaded`: the files are right but dockerd reports something else;
 * - `apply-failed`: the host's last result for its desired revision is `failed` or `rolled-back`;
 * - `behind`: the host is not on its desired revision (yet);
 * - `offline`: the host has not been connected for longer than the grace time.
 */
export const DRIFT_KINDS = ['file-edited', 'daemon-not-reloaded', 'apply-failed', 'behind', 'offline'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** Kinds that mean "someone or something changed the host behind fleetdock's back": audited and enforced. */
export const TAMPER_KINDS: readonly DriftKind[] = Object.freeze(['file-edited', 'daemon-not-reloaded']);

/** A proxy as drift records show it: credentials masked, no-proxy sorted. */
export type ProxyValue = { http: string | null; https: string | null; noProxy: string[] };

/** One difference. `expected` and `actual` are JSON values, already redacted. */
export interface DriftFinding {
  field: DriftField;
  kind: DriftKind;
  expected: unknown;
  actual: unknown;
  /** One sentence an operator can act on. */
  detail: string;
  /** When it began, if known better than "now" (offline: when the host was last seen). */
  since?: string;
}

/** What the classifier looks at for one host. */
export interface DriftInput {
  /** The host's effective desired revision and its settings; null when its group has none. */
  desired: { revision: number; settings: Settings } | null;
  host: {
    connected: boolean;
    lastSeenAt: string | null;
    enrolledAt: string;
    appliedRevision: number | null;
    lastResult: { revision: number; outcome: Outcome; error: { code: string; message: string } | null } | null;
    observed: ObservedState | null;
    /** dockerd's version from the host's facts (decides where the daemon proxy lives); null if unknown. */
    dockerVersion: string | null;
  };
  now: Date;
  /** A disconnected host counts as offline once it has not been seen for this long. */
  offlineAfterMs: number;
  /**
   * Since when the controller has been up to see hosts connect (ISO), if it matters: right after a
   * start every host is disconnected until it reconnects, so nobody is offline before the grace time
   * has passed since then either.
   */
  watchingSince?: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.0/8', '::1/128']);
/** dockerd >= 23 reads `proxies` from daemon.json; older ones take the proxy from the unit's drop-in. */
const FIRST_MAJOR_WITH_DAEMON_JSON_PROXIES = 23;

const trimSlash = (url: string) => url.replace(/\/+$/, '');
const redact = (url: string | null | undefined): string | null => (url ? redactUrl(url) : null);

function proxyValue(view: { http?: string | null | undefined; https?: string | null | undefined; noProxy?: readonly string[] | undefined } | null): ProxyValue | null {
  if (!view) return null;
  const value = { http: redact(view.http), https: redact(view.https), noProxy: [...(view.noProxy ?? [])].sort() };
  return value.http === null && value.https === null && value.noProxy.length === 0 ? null : value;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
}

function sameProxy(a: ProxyValue | null, b: ProxyValue | null): boolean {
  if (a === null || b === null) return a === b;
  return a.http === b.http && a.https === b.https && sameSet(a.noProxy, b.noProxy);
}

function showList(list: readonly string[]): string {
  return list.length ? list.join(', ') : 'none';
}

function showProxy(p: ProxyValue | null): string {
  if (!p) return 'none';
  return [p.http && `http ${p.http}`, p.https && `https ${p.https}`, p.noProxy.length && `no-proxy ${p.noProxy.join(',')}`].filter(Boolean).join(', ');
}

function showClient(map: Record<string, ProxyValue | null>): string {
  const users = Object.keys(map).sort();
  return users.length ? users.map((u) => `${u}: ${showProxy(map[u] ?? null)}`).join('; ') : 'none';
}

/** The major version of a dockerd version (`20.10.24+dfsg1` -> 20), or null. */
function majorOf(version: string | null): number | null {
  const m = version ? /^(\d+)\./.exec(version) : null;
  return m ? Number(m[1]) : null;
}

/** One field's three sides; `daemon` undefined when dockerd has no view of it (the client proxy). */
interface FieldSides {
  field: (typeof DRIFT_SETTINGS_FIELDS)[number];
  expected: unknown;
  file: unknown;
  daemon: unknown;
  fileDiffers: boolean;
  daemonDiffers: boolean;
  /** Where the file side lives, for sentences. */
  where: string;
  what: string;
  show: (v: unknown) => string;
  /** What it takes to make dockerd take the file (for daemon-not-reloaded). */
  fix: string;
}

const INVALID_DAEMON_JSON = 'daemon.json is not valid JSON';

/** The sides of every field the desired settings manage; observed must be known. */
function fieldSides(settings: Settings, observed: ObservedState, dockerVersion: string | null): FieldSides[] {
  const { files, daemon } = observed;
  const invalid = files.daemonJson === 'invalid';
  const running = daemon.running;
  const sides: FieldSides[] = [];
  const showL = (v: unknown) => (typeof v === 'string' ? v : showList(v as string[]));

  if (settings.registryMirrors.length > 0) {
    const expected = settings.registryMirrors.map(trimSlash);
    const file = invalid ? INVALID_DAEMON_JSON : files.registryMirrors.map(trimSlash);
    const seen = (daemon.registryMirrors ?? []).map(trimSlash);
    sides.push({
      field: 'registryMirrors', expected, file, daemon: seen,
      fileDiffers: invalid || (file as string[]).join('\n') !== expected.join('\n'),
      daemonDiffers: running && seen.join('\n') !== expected.join('\n'),
      where: 'daemon.json', what: 'registry mirrors', show: showL, fix: 'a reload (SIGHUP)',
    });
  }
  if (settings.insecureRegistries.length > 0) {
    const expected = settings.insecureRegistries.filter((r) => !LOOPBACK.has(r)).sort();
    const file = invalid ? INVALID_DAEMON_JSON : [...files.insecureRegistries].sort();
    const seen = daemon.insecureRegistries.filter((r) => !LOOPBACK.has(r)).sort();
    sides.push({
      field: 'insecureRegistries', expected, file, daemon: seen,
      fileDiffers: invalid || !sameSet(file as string[], expected),
      daemonDiffers: running && !sameSet(seen, expected),
      where: 'daemon.json', what: 'insecure registries', show: showL, fix: 'a reload (SIGHUP)',
    });
  }
  if (settings.daemonProxy) {
    const expected = proxyValue(settings.daemonProxy);
    const major = majorOf(daemon.version ?? dockerVersion);
    const inDaemonJson = major === null ? files.daemonJsonProxy !== null || files.dropInProxy === null : major >= FIRST_MAJOR_WITH_DAEMON_JSON_PROXIES;
    const fileInvalid = inDaemonJson && invalid;
    const file = fileInvalid ? INVALID_DAEMON_JSON : proxyValue(inDaemonJson ? files.daemonJsonProxy : files.dropInProxy);
    const seen = proxyValue(daemon.proxy);
    const showP = (v: unknown) => (typeof v === 'string' ? v : showProxy(v as ProxyValue | null));
    sides.push({
      field: 'daemonProxy', expected, file, daemon: seen,
      fileDiffers: fileInvalid || !sameProxy(file as ProxyValue | null, expected),
      daemonDiffers: running && !sameProxy(seen, expected),
      where: inDaemonJson ? 'daemon.json "proxies"' : "docker.service's proxy drop-in", what: 'daemon proxy', show: showP, fix: 'a restart of dockerd',
    });
  }
  if (settings.clientProxy) {
    const proxy = proxyValue(settings.clientProxy);
    const users = [...settings.clientProxy.users].sort();
    const expected: Record<string, ProxyValue | null> = Object.fromEntries(users.map((u) => [u, proxy]));
    const file: Record<string, ProxyValue | null> = Object.fromEntries(users.map((u) => [u, proxyValue(files.clientProxies[u] ?? null)]));
    sides.push({
      field: 'clientProxy', expected, file, daemon: undefined,
      fileDiffers: users.some((u) => !sameProxy(file[u] ?? null, proxy)),
      daemonDiffers: false,
      where: '~/.docker/config.json', what: 'client proxy', show: (v) => showClient(v as Record<string, ProxyValue | null>), fix: '',
    });
  }
  return sides;
}

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Classifies one host. Field drifts come from the last observed state (kept while the host is away:
 * nobody knows they ended); `offline` is added once a disconnected host has not been seen for
 * `offlineAfterMs`. While the host is not on its desired revision, every difference is `behind`
 * (or `apply-failed` when its last result for that revision failed); otherwise a wrong file is
 * `file-edited` and a right file with a different daemon is `daemon-not-reloaded`.
 */
export function classifyDrift(input: DriftInput): DriftFinding[] {
  const { desired, host, now } = input;
  const findings: DriftFinding[] = [];

  if (desired) {
    const result = host.lastResult;
    const failed = result !== null && result.revision === desired.revision && (result.outcome === 'failed' || result.outcome === 'rolled-back');
    const reason: DriftKind | null = failed ? 'apply-failed' : host.appliedRevision !== desired.revision ? 'behind' : null;
    const why =
      reason === 'apply-failed'
        ? `applying revision ${desired.revision} ${result!.outcome === 'failed' ? 'failed' : 'was rolled back'}${result!.error ? ` (${result!.error.code}): ${clip(result!.error.message, 240)}` : ''}`
        : `host is on revision ${host.appliedRevision ?? 'none'}, desired ${desired.revision}`;

    if (host.observed) {
      for (const s of fieldSides(desired.settings, host.observed, host.dockerVersion)) {
        if (!s.fileDiffers && !s.daemonDiffers) continue;
        const actual = s.fileDiffers ? s.file : s.daemon;
        let kind: DriftKind;
        let detail: string;
        if (reason) {
          kind = reason;
          detail = `${why}; ${s.fileDiffers ? s.where : 'dockerd'} has ${s.what} ${s.show(actual)}, revision ${desired.revision} says ${s.show(s.expected)}`;
        } else if (s.fileDiffers) {
          kind = 'file-edited';
          detail = `${s.where} has ${s.what} ${s.show(s.file)}, revision ${desired.revision} says ${s.show(s.expected)}`;
        } else {
          kind = 'daemon-not-reloaded';
          detail = `the files are right but dockerd reports ${s.what} ${s.show(s.daemon)} (revision ${desired.revision} says ${s.show(s.expected)}); it takes ${s.fix} to apply them`;
        }
        findings.push({ field: s.field, kind, expected: s.expected, actual, detail: clip(detail, 600) });
      }
    }
    if (reason && !findings.some((f) => f.kind === reason)) {
      findings.push({
        field: 'host',
        kind: reason,
        expected: { revision: desired.revision },
        actual: { revision: host.appliedRevision, ...(failed && result!.error ? { error: result!.error.code } : {}) },
        detail: why,
      });
    }
  }

  if (!host.connected) {
    const lastSeen = host.lastSeenAt ?? host.enrolledAt;
    const cutoff = now.getTime() - input.offlineAfterMs;
    if (Date.parse(lastSeen) <= cutoff && (input.watchingSince === undefined || Date.parse(input.watchingSince) <= cutoff)) {
      findings.push({
        field: 'host',
        kind: 'offline',
        expected: { connected: true },
        actual: { connected: false, lastSeenAt: host.lastSeenAt },
        detail: host.lastSeenAt ? `not connected since ${host.lastSeenAt}` : `enrolled at ${host.enrolledAt} and never connected`,
        since: lastSeen,
      });
    }
  }
  // Belt and braces: nothing the agent reported can carry a password into a drift record.
  return findings.map((f) => ({ ...f, expected: scrubSecrets(f.expected), actual: scrubSecrets(f.actual), detail: scrubSecrets(f.detail) as string }));
}
