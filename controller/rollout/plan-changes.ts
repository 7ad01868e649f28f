/**
 * Pure: what a revision change would do on one host, for dry runs. Compares the settings of the host's
 * current desired revision with the target's and, from the host's facts, says which fields change and
 * the action the agent will take: mirrors and insecure registries only → reload (SIGHUP); any daemon
 * proxy change → restart (daemon.json `proxies` from dockerd 23, a systemd drop-in before that); a
 * client proxy only → none. A restart stops running containers unless dockerd runs with live-restore.
 *
 * It mirrors the agent's planner (agent/plan/apply-plan.ts) at the level of fields, without the host's
 * files: the agent still decides on the host, and refuses what the host cannot take.
 */
import type { Action } from '../../protocol/messages.js';
import type { HostFacts } from '../../protocol/observed.js';
import type { Settings } from '../../protocol/settings.js';
import { renderSettingsJson } from '../settings.js';

/** The settings fields a revision holds, in the order they are shown. */
export const SETTINGS_FIELDS = ['registryMirrors', 'insecureRegistries', 'daemonProxy', 'clientProxy'] as const;
export type SettingsField = (typeof SETTINGS_FIELDS)[number];

/** dockerd takes `proxies` in daemon.json from version 23 on (agent/plan/apply-plan.ts agrees). */
const FIRST_VERSION_WITH_DAEMON_JSON_PROXIES = 23;

/** What a change would do on one host. */
export interface HostChangePlan {
  changes: SettingsField[];
  action: Action;
  /** A restart on a host without live-restore (or where it is unknown): running containers stop. */
  stopsContainers: boolean;
  /** Where the daemon proxy goes on this host, when the target has one. */
  proxyPlacement: 'daemon-json' | 'drop-in' | 'none';
  /** Something the operator should know before (e.g. the host will refuse the change), or null. */
  warning: string | null;
}

function majorVersion(version: string | null): number | null {
  const m = version ? /^(\d+)\./.exec(version) : null;
  return m ? Number(m[1]) : null;
}

/** Which settings fields differ between `from` (null: nothing set yet) and `to`. */
export function diffSettingsFields(from: Settings | null, to: Settings): SettingsField[] {
  return SETTINGS_FIELDS.filter((field) => renderSettingsJson({ [field]: from?.[field] ?? emptyValue(field) } as Settings) !== renderSettingsJson({ [field]: to[field] } as Settings));
}

function emptyValue(field: SettingsField): unknown {
  return field === 'registryMirrors' || field === 'insecureRegistries' ? [] : null;
}

/** Plans what moving a host from `from` to `to` would do, given its facts (null: never said hello). */
export function planHostChange(from: Settings | null, to: Settings, facts: HostFacts | null): HostChangePlan {
  const changes = diffSettingsFields(from, to);
  const major = majorVersion(facts?.dockerVersion ?? null);
  const wantsProxy = to.daemonProxy !== null;
  let proxyPlacement: HostChangePlan['proxyPlacement'] = 'none';
  let warning: string | null = null;
  if (wantsProxy) {
    if (major !== null && major >= FIRST_VERSION_WITH_DAEMON_JSON_PROXIES) proxyPlacement = 'daemon-json';
    else if (facts === null || facts.serviceManager === 'systemd') proxyPlacement = 'drop-in';
    else warning = `dockerd ${facts.dockerVersion ?? '(version unknown)'} without systemd cannot take a daemon proxy: this host will refuse the change (PROXY_NEEDS_SYSTEMD)`;
  }
  let action: Action = 'none';
  if (changes.includes('daemonProxy')) action = 'restart';
  else if (changes.includes('registryMirrors') || changes.includes('insecureRegistries')) action = 'reload';
  const liveRestore = facts?.liveRestore ?? null;
  const stopsContainers = action === 'restart' && liveRestore !== true;
  if (facts === null) warning ??= 'the host never connected: its docker version and live-restore are unknown';
  else if (action === 'restart' && liveRestore === null) warning ??= 'live-restore is unknown on this host: a restart may stop its containers';
  return { changes, action, stopsContainers, proxyPlacement, warning };
}
