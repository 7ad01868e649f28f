/**
 * What the running daemon should report after an apply, and the comparison of that against what it
 * does report (`GET /info`). Pure; the verifier and the drift check both use it.
 */
import type { ObservedDaemon, ProxyView } from '../../protocol/observed.js';
import { redactUrl } from '../../protocol/values.js';

/** Each field null means "not fleetdock's to check" (e.g. set by a flag fleetdock does not own). */
export type ExpectedDaemon = {
  registryMirrors: string[] | null;
  insecureRegistries: string[] | null;
  proxy: ProxyView | null;
};

/** Reads the fields fleetdock cares about out of a `GET /info` body. */
export function observeDaemonInfo(info: Record<string, unknown> | null): ObservedDaemon {
  if (!info) {
    return { running: false, version: null, registryMirrors: [], insecureRegistries: [], proxy: { http: null, https: null, noProxy: [] }, liveRestore: null };
  }
  const registry = (info.RegistryConfig ?? {}) as { Mirrors?: unknown; IndexConfigs?: unknown; InsecureRegistryCIDRs?: unknown };
  const mirrors = Array.isArray(registry.Mirrors) ? registry.Mirrors.map((m) => String(m).replace(/\/+$/, '')) : [];
  const insecure: string[] = [];
  if (registry.IndexConfigs && typeof registry.IndexConfigs === 'object') {
    for (const [name, cfg] of Object.entries(registry.IndexConfigs as Record<string, { Secure?: boolean }>)) {
      if (name !== 'docker.io' && cfg && cfg.Secure === false) insecure.push(name);
    }
  }
  if (Array.isArray(registry.InsecureRegistryCIDRs)) {
    for (const cidr of registry.InsecureRegistryCIDRs) {
      const text = String(cidr);
      // dockerd always adds the loopback ranges itself.
      if (text !== '127.0.0.0/8' && text !== '::1/128') insecure.push(text);
    }
  }
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? redactUrl(v) : null);
  const noProxy = typeof info.NoProxy === 'string' && info.NoProxy !== '' ? info.NoProxy.split(',').map((s) => s.trim()).filter(Boolean) : [];
  return {
    running: true,
    version: typeof info.ServerVersion === 'string' ? info.ServerVersion : null,
    registryMirrors: mirrors,
    insecureRegistries: insecure.sort(),
    proxy: { http: text(info.HttpProxy), https: text(info.HttpsProxy), noProxy },
    liveRestore: typeof info.LiveRestoreEnabled === 'boolean' ? info.LiveRestoreEnabled : null,
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

function show(list: readonly string[]): string {
  return list.length ? list.join(', ') : 'none';
}

/** Lists, in words, how `observed` differs from `expected`; empty when it matches. */
export function diffDaemon(expected: ExpectedDaemon, observed: ObservedDaemon): string[] {
  if (!observed.running) return ['dockerd is not answering'];
  const problems: string[] = [];
  if (expected.registryMirrors && expected.registryMirrors.join('\n') !== observed.registryMirrors.join('\n')) {
    problems.push(`dockerd reports registry mirrors ${show(observed.registryMirrors)}, expected ${show(expected.registryMirrors)}`);
  }
  const loopback = (r: string) => r !== '127.0.0.0/8' && r !== '::1/128';
  if (expected.insecureRegistries && !sameSet(expected.insecureRegistries.filter(loopback), observed.insecureRegistries)) {
    problems.push(`dockerd reports insecure registries ${show(observed.insecureRegistries)}, expected ${show(expected.insecureRegistries)}`);
  }
  if (expected.proxy) {
    const want = expected.proxy;
    const got = observed.proxy;
    const norm = (v: string | null) => (v ? redactUrl(v) : null);
    if (norm(want.http) !== norm(got.http)) problems.push(`dockerd reports HTTP proxy ${norm(got.http) ?? 'none'}, expected ${norm(want.http) ?? 'none'}`);
    if (norm(want.https) !== norm(got.https)) problems.push(`dockerd reports HTTPS proxy ${norm(got.https) ?? 'none'}, expected ${norm(want.https) ?? 'none'}`);
    if (!sameSet(want.noProxy, got.noProxy)) problems.push(`dockerd reports no-proxy ${show(got.noProxy)}, expected ${show(want.noProxy)}`);
  }
  return problems;
}

/** Which kind of action would bring the daemon in line: a reload fixes mirrors and registries only. */
export function actionForDaemonDiff(expected: ExpectedDaemon, observed: ObservedDaemon): 'none' | 'reload' {
  if (!observed.running) return 'none';
  const onlyRegistry: ExpectedDaemon = { ...expected, proxy: null };
  if (diffDaemon(onlyRegistry, observed).length > 0) return 'reload';
  return 'none';
}
