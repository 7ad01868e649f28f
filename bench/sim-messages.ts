/**
 * What a simulated agent says: hello, apply-result and observed messages shaped exactly like a real
 * agent's (protocol/messages.ts), rendered as JSON text. Pure; the simulator worker sends them. The
 * observed state mirrors the desired settings, as a host that applied them would report.
 */
import type { AgentMessage } from '../protocol/messages.js';
import type { HostFacts, ObservedState } from '../protocol/observed.js';
import { AGENT_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';

/** The settings fields the simulator reads from a `desired` message (it trusts the controller's JSON). */
export interface DesiredSettingsView {
  registryMirrors?: string[];
  insecureRegistries?: string[];
}

/** Facts of a simulated host: a systemd host with dockerd 26 (proxies would go to daemon.json). */
export function renderFacts(name: string): HostFacts {
  return { hostname: name, os: 'linux 6.1.0', arch: 'x64', dockerVersion: '26.1.5', serviceManager: 'systemd', liveRestore: true, agentVersion: AGENT_VERSION };
}

/** The observed state of a host that applied `settings` as `revision` (null: nothing applied yet). */
export function renderObservedState(revision: number | null, settings: DesiredSettingsView, at: Date): ObservedState {
  const mirrors = settings.registryMirrors ?? [];
  const insecure = settings.insecureRegistries ?? [];
  const noProxy = { http: null, https: null, noProxy: [] };
  return {
    at: at.toISOString(),
    appliedRevision: revision,
    files: {
      daemonJson: revision === null ? 'missing' : 'ok',
      daemonJsonSha256: revision === null ? null : `${'0'.repeat(56)}${revision.toString(16).padStart(8, '0')}`,
      registryMirrors: mirrors,
      insecureRegistries: insecure,
      daemonJsonProxy: null,
      dropInProxy: null,
      clientProxies: {},
    },
    daemon: { running: true, version: '26.1.5', registryMirrors: mirrors, insecureRegistries: insecure, proxy: noProxy, liveRestore: true },
  };
}

/** The first message on a connection. */
export function renderHello(name: string, at: Date): string {
  const message: AgentMessage = { type: 'hello', protocolVersion: PROTOCOL_VERSION, facts: renderFacts(name), appliedRevision: null, observed: renderObservedState(null, {}, at) };
  return JSON.stringify(message);
}

/** A successful apply (reload, verified) of `revision`, with the observed state after it (protocol 3) if given. */
export function renderApplyResult(revision: number, durationMs: number, observed?: ObservedState): string {
  const message: AgentMessage = {
    type: 'apply-result',
    revision,
    outcome: 'applied',
    action: 'reload',
    filesChanged: ['/etc/docker/daemon.json'],
    verification: { ok: true, detail: 'dockerd reports the registry mirrors and insecure registries' },
    error: null,
    durationMs,
    ...(observed ? { observed } : {}),
  };
  return JSON.stringify(message);
}

/**
 * A renderer of the result `renderApplyResult` gives for `revision` with the observed state after
 * applying `settings`, made once per revision: thousands of simulated agents answer the same `desired`,
 * and serialising the same 750 bytes for each was a tenth of a simulator worker's CPU during a push
 * (the simulator shares the machine with the controller it measures). The text is the same, byte for
 * byte, as `renderApplyResult(revision, durationMs, renderObservedState(revision, settings, at))`.
 */
export function applyResultRenderer(revision: number, settings: DesiredSettingsView): (durationMs: number, at: Date) => string {
  const template = renderApplyResult(revision, DURATION_TOKEN, { ...renderObservedState(revision, settings, new Date(0)), at: AT_TOKEN });
  const head = splitOnce(template, String(DURATION_TOKEN));
  const middle = head && splitOnce(head[1], JSON.stringify(AT_TOKEN));
  // Settings that happen to hold a stand-in: render each result the slow way.
  if (!head || !middle) return (durationMs, at) => renderApplyResult(revision, durationMs, renderObservedState(revision, settings, at));
  return (durationMs, at) => `${head[0]}${JSON.stringify(durationMs)}${middle[0]}${JSON.stringify(at.toISOString())}${middle[1]}`;
}

/** Stand-ins no real value equals, replaced in the serialised template. */
const DURATION_TOKEN = 987654321.125;
const AT_TOKEN = '\u0000at\u0000';

/** `text` cut at the only occurrence of `token`, or null when it is not there exactly once. */
function splitOnce(text: string, token: string): [string, string] | null {
  const at = text.indexOf(token);
  if (at < 0 || text.indexOf(token, at + 1) >= 0) return null;
  return [text.slice(0, at), text.slice(at + token.length)];
}

/** The observed state after applying `revision`. */
export function renderObserved(revision: number, settings: DesiredSettingsView, at: Date): string {
  const message: AgentMessage = { type: 'observed', observed: renderObservedState(revision, settings, at) };
  return JSON.stringify(message);
}

/** The observed state after someone replaced the mirrors in daemon.json by hand (dockerd not reloaded). */
export function renderHandEditedObserved(revision: number, settings: DesiredSettingsView, at: Date): string {
  const observed = renderObservedState(revision, settings, at);
  observed.files.registryMirrors = ['https://hand-edited.bench.internal'];
  observed.files.daemonJsonSha256 = 'f'.repeat(64);
  const message: AgentMessage = { type: 'observed', observed };
  return JSON.stringify(message);
}
