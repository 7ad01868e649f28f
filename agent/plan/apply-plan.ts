/**
 * Plans one apply: from the desired settings and a snapshot of the host (file texts, dockerd's version,
 * flags and reported state, what fleetdock owns), decides every file's new text, the least action on
 * dockerd, and what the daemon should report afterwards. Pure: no I/O, throws FleetdockError when the
 * host cannot take the settings (and then nothing is written).
 */
import { FleetdockError } from '../../protocol/errors.js';
import type { Action } from '../../protocol/messages.js';
import type { ObservedDaemon } from '../../protocol/observed.js';
import type { Settings } from '../../protocol/settings.js';
import { mergeClientConfig, parseClientConfig, type ClientProxyConfig } from '../render/client-config.js';
import { MANAGED_DAEMON_KEYS, mergeDaemonJson, parseDaemonJson, renderDaemonJson, type DaemonJsonProxies, type ManagedDaemonKey, type ManagedDaemonValues } from '../render/daemon-json.js';
import { renderProxyDropIn, renderProxyEnvironmentFile, type ProxyEnvironment } from '../render/drop-in.js';
import { HOST_PATHS } from '../paths.js';
import { actionForDaemonDiff, type ExpectedDaemon } from './expected-daemon.js';
import { findFlagConflicts } from './flag-conflicts.js';

/** What fleetdock wrote before on this host, kept in the agent's state dir. */
export type OwnedState = { daemonJsonKeys: ManagedDaemonKey[]; dropIn: boolean; clientUsers: string[] };
export const NOTHING_OWNED: OwnedState = Object.freeze({ daemonJsonKeys: [], dropIn: false, clientUsers: [] }) as OwnedState;

export type FileOwner = { uid: number; gid: number };
export type HostFile = { path: string; text: string | null; owner?: FileOwner | null };

/** The host as the agent read it just before planning. */
export type HostSnapshot = {
  daemonJson: HostFile;
  dropIn: HostFile;
  /** The root-only environment file the drop-in points at. */
  proxyEnvironmentFile: HostFile;
  /** config.json of every user that has or should have a client proxy. */
  clientConfigs: Record<string, HostFile>;
  serviceManager: 'systemd' | 'signal';
  /** dockerd's flags: its running argv and, under systemd, the unit's ExecStart. */
  dockerdArgs: string[];
  /** What dockerd reports now. */
  daemon: ObservedDaemon;
};

export type FileChange = { path: string; before: string | null; after: string | null; mode: number; owner: FileOwner | null; dirMode?: number };

export type ApplyPlan = {
  changes: FileChange[];
  action: Action;
  /** Under systemd: run `daemon-reload` before acting (a unit drop-in changed). */
  daemonReload: boolean;
  expected: ExpectedDaemon;
  owned: OwnedState;
  /** Where the daemon proxy goes on this host. */
  proxyPlacement: 'daemon-json' | 'drop-in' | 'none';
  /** Why this action, in words (for the report). */
  reason: string;
};

/** The major version of a dockerd version string (`20.10.24+dfsg1` → 20), or null. */
export function dockerMajorVersion(version: string | null): number | null {
  const m = version ? /^(\d+)\./.exec(version) : null;
  return m ? Number(m[1]) : null;
}

/** dockerd takes `proxies` in daemon.json from version 23 on. */
export const FIRST_VERSION_WITH_DAEMON_JSON_PROXIES = 23;

function proxyEnvironment(settings: Settings): ProxyEnvironment | null {
  const p = settings.daemonProxy;
  if (!p) return null;
  return {
    ...(p.http ? { HTTP_PROXY: p.http } : {}),
    ...(p.https ? { HTTPS_PROXY: p.https } : {}),
    ...(p.noProxy.length ? { NO_PROXY: p.noProxy.join(',') } : {}),
  };
}

function daemonJsonProxies(env: ProxyEnvironment): DaemonJsonProxies {
  return {
    ...(env.HTTP_PROXY ? { 'http-proxy': env.HTTP_PROXY } : {}),
    ...(env.HTTPS_PROXY ? { 'https-proxy': env.HTTPS_PROXY } : {}),
    ...(env.NO_PROXY ? { 'no-proxy': env.NO_PROXY } : {}),
  };
}

function clientProxyConfig(settings: Settings): ClientProxyConfig | null {
  const p = settings.clientProxy;
  if (!p) return null;
  return {
    ...(p.http ? { httpProxy: p.http } : {}),
    ...(p.https ? { httpsProxy: p.https } : {}),
    ...(p.noProxy.length ? { noProxy: p.noProxy.join(',') } : {}),
  };
}

function listOrNull(value: unknown, flagSet: boolean): string[] | null {
  if (Array.isArray(value)) return value.map(String);
  return flagSet ? null : [];
}

/** Plans how to bring `host` to `settings`. Throws DAEMON_JSON_INVALID, PROXY_NEEDS_SYSTEMD, FLAG_CONFLICT, DOCKER_UNREACHABLE. */
export function planApply(settings: Settings, host: HostSnapshot, owned: OwnedState): ApplyPlan {
  if (!host.daemon.running) {
    throw new FleetdockError('DOCKER_UNREACHABLE', 'dockerd is not answering on its socket; fleetdock changes nothing on a host whose daemon is down (start docker, the agent retries on the next revision or reconnect)');
  }
  const existing = parseDaemonJson(host.daemonJson.text, host.daemonJson.path);
  const env = proxyEnvironment(settings);
  const major = dockerMajorVersion(host.daemon.version);
  let proxyPlacement: ApplyPlan['proxyPlacement'] = 'none';
  if (env) {
    if (major !== null && major >= FIRST_VERSION_WITH_DAEMON_JSON_PROXIES) proxyPlacement = 'daemon-json';
    else if (host.serviceManager === 'systemd') proxyPlacement = 'drop-in';
    else {
      throw new FleetdockError('PROXY_NEEDS_SYSTEMD', `dockerd ${host.daemon.version ?? '(unknown version)'} takes a proxy only from its environment, and this host has no systemd for fleetdock to set it; upgrade dockerd to 23 or newer (daemon.json "proxies") or set the proxy in the script that starts dockerd`);
    }
  }

  const desiredDaemon: ManagedDaemonValues = {
    'registry-mirrors': settings.registryMirrors,
    'insecure-registries': settings.insecureRegistries,
    proxies: proxyPlacement === 'daemon-json' && env ? daemonJsonProxies(env) : null,
  };
  const flagKeys = findFlagConflicts(host.dockerdArgs, MANAGED_DAEMON_KEYS).map((c) => c.key);
  const merge = mergeDaemonJson(existing, desiredDaemon, owned.daemonJsonKeys, flagKeys);
  const writtenKeys = merge.owned;
  const conflicts = findFlagConflicts(host.dockerdArgs, writtenKeys);
  if (conflicts.length > 0) {
    const list = conflicts.map((c) => `${c.flag} (daemon.json "${c.key}")`).join(', ');
    throw new FleetdockError('FLAG_CONFLICT', `dockerd is started with ${list}; dockerd refuses a setting given both as a flag and in daemon.json, so fleetdock wrote nothing. Remove the flag from docker's service (e.g. a Puppet or Chef drop-in) and fleetdock will apply the settings`, { details: { flags: conflicts.map((c) => c.flag) } });
  }

  const changes: FileChange[] = [];
  if (merge.changedKeys.length > 0) {
    changes.push({ path: host.daemonJson.path, before: host.daemonJson.text, after: renderDaemonJson(merge.merged), mode: 0o644, owner: null });
  }

  let dropInAfter: string | null = host.dropIn.text;
  let envFileAfter: string | null = host.proxyEnvironmentFile.text;
  if (proxyPlacement === 'drop-in' && env) {
    dropInAfter = renderProxyDropIn(HOST_PATHS.proxyEnvironmentFile);
    envFileAfter = renderProxyEnvironmentFile(env);
  } else if (owned.dropIn) {
    dropInAfter = null;
    envFileAfter = null;
  }
  const dropInChanged = dropInAfter !== host.dropIn.text;
  const envFileChanged = envFileAfter !== host.proxyEnvironmentFile.text;
  const dropInChange: FileChange = { path: host.dropIn.path, before: host.dropIn.text, after: dropInAfter, mode: 0o644, owner: null };
  const envFileChange: FileChange = { path: host.proxyEnvironmentFile.path, before: host.proxyEnvironmentFile.text, after: envFileAfter, mode: 0o600, owner: null, dirMode: 0o700 };
  // The drop-in never points at a file that is not there: the values go first, and leave last.
  const proxyChanges = [...(envFileChanged ? [envFileChange] : []), ...(dropInChanged ? [dropInChange] : [])];
  changes.push(...(dropInAfter === null ? proxyChanges.reverse() : proxyChanges));

  const clientProxy = clientProxyConfig(settings);
  const clientUsers = settings.clientProxy?.users ?? [];
  for (const user of [...new Set([...clientUsers, ...owned.clientUsers])].sort()) {
    const file = host.clientConfigs[user];
    if (!file && !clientUsers.includes(user)) continue; // owned before, user gone: nothing left to clear
    if (!file) throw new FleetdockError('CLIENT_USER_UNKNOWN', `user ${user} does not exist on this host (no entry in /etc/passwd), so the client proxy cannot be written for them`);
    const before = parseClientConfig(file.text, file.path);
    const after = mergeClientConfig(before, clientUsers.includes(user) ? clientProxy : null, owned.clientUsers.includes(user));
    if (after !== before) changes.push({ path: file.path, before: file.text, after: renderDaemonJson(after), mode: 0o600, owner: file.owner ?? null });
  }

  const mirrorFlag = host.dockerdArgs.some((a) => a.startsWith('--registry-mirror'));
  const insecureFlag = host.dockerdArgs.some((a) => a.startsWith('--insecure-registry'));
  const ownsProxy = owned.dropIn || owned.daemonJsonKeys.includes('proxies');
  let expectedProxy: ExpectedDaemon['proxy'] = null;
  if (env) expectedProxy = { http: env.HTTP_PROXY ?? null, https: env.HTTPS_PROXY ?? null, noProxy: settings.daemonProxy?.noProxy ?? [] };
  else if (ownsProxy) expectedProxy = { http: null, https: null, noProxy: [] };
  const expected: ExpectedDaemon = {
    registryMirrors: listOrNull(merge.merged['registry-mirrors'], mirrorFlag),
    insecureRegistries: listOrNull(merge.merged['insecure-registries'], insecureFlag),
    proxy: expectedProxy,
  };

  let action: Action = 'none';
  let reason = 'nothing to change';
  if (dropInChanged || envFileChanged) {
    action = 'restart';
    reason = 'the proxy for dockerd\'s environment changed: dockerd reads its environment only when it starts';
  } else if (merge.changedKeys.includes('proxies')) {
    action = 'restart';
    reason = 'daemon.json "proxies" changed: dockerd reads it only when it starts';
  } else if (merge.changedKeys.length > 0) {
    action = 'reload';
    reason = `daemon.json ${merge.changedKeys.map((k) => `"${k}"`).join(' and ')} changed: a reload (SIGHUP) applies it`;
  } else if (actionForDaemonDiff(expected, host.daemon) === 'reload') {
    action = 'reload';
    reason = 'the files are right but dockerd reports other registry settings: a reload brings it in line';
  } else if (changes.length > 0) {
    reason = 'only client configuration changed: no daemon action needed';
  }

  return {
    changes,
    action,
    daemonReload: dropInChanged && host.serviceManager === 'systemd',
    expected,
    owned: {
      daemonJsonKeys: writtenKeys,
      dropIn: proxyPlacement === 'drop-in',
      clientUsers: [...clientUsers].sort(),
    },
    proxyPlacement,
    reason,
  };
}
