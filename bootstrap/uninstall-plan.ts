/**
 * Pure: what `fleetdock uninstall` removes from one host, from what the uninstall probe found. The
 * agent's own files always; with --purge-settings also what the agent wrote for dockerd, and only
 * that: the daemon.json keys its state says it owns (nothing when there is no readable state), the
 * docker unit's drop-in only when fleetdock wrote it, and its root-only proxy environment file. Then
 * how dockerd takes it: mirror and insecure-registry keys are first emptied and reloaded (a reload
 * keeps containers; dockerd ignores a key that is gone until it restarts), then removed; a proxy
 * needs a restart, done only with live-restore on or when the operator allows it.
 */
import { HOST_PATHS } from '../agent/paths.js';
import { MANAGED_DAEMON_KEYS } from '../agent/render/daemon-json.js';
import { parseProbeOutput } from './host-facts.js';
import { AGENT_PATHS, parseAgentEnv } from './install-plan.js';

/** Keys dockerd takes on a reload, which uninstall clears by writing an empty list first. */
const LIST_KEYS = ['registry-mirrors', 'insecure-registries'] as const;

/** What the uninstall probe found on a host. */
export interface UninstallFacts {
  /** Agent paths that exist (unit, binary, agent.env, state dir). */
  present: string[];
  /** The name agent.env gives the host, or null. */
  envName: string | null;
  /** The agent's state.json text, or null. */
  stateJson: string | null;
  daemonJson: string | null;
  dropIn: string | null;
  proxyEnvPresent: boolean;
  agentActive: boolean;
  /** systemd knows the unit (`LoadState=loaded`). */
  agentLoaded: boolean;
  dockerActive: boolean;
  /** null = unknown. */
  liveRestore: boolean | null;
}

function decode(text: string | undefined): string | null {
  return text === undefined ? null : Buffer.from(text, 'base64').toString('utf8');
}

/** Reads the uninstall probe's output. */
export function parseUninstallProbe(output: string): UninstallFacts {
  const present = output
    .split('\n')
    .filter((l) => l.startsWith('present='))
    .map((l) => l.slice('present='.length).trim());
  const v = parseProbeOutput(output);
  const liveRestore = v.get('live_restore');
  return {
    present,
    envName: parseAgentEnv(decode(v.get('env_b64')))?.name ?? null,
    stateJson: decode(v.get('state_b64')),
    daemonJson: decode(v.get('daemon_json_b64')),
    dropIn: decode(v.get('drop_in_b64')),
    proxyEnvPresent: v.get('proxy_env') === 'present',
    agentActive: v.get('agent_active') === 'active',
    agentLoaded: v.get('agent_load') === 'loaded',
    dockerActive: v.get('docker_active') === 'active',
    liveRestore: liveRestore === 'true' ? true : liveRestore === 'false' ? false : null,
  };
}

/** What to change in dockerd's settings. */
export interface PurgePlan {
  /** daemon.json with the owned list keys emptied and `proxies` removed, written and reloaded first; null = skip. */
  daemonJsonEmptied: string | null;
  /** daemon.json without any owned key, written last; null = leave the file alone. */
  daemonJsonFinal: string | null;
  /** Keys removed from daemon.json. */
  removedKeys: string[];
  /** Fixed paths to delete (the drop-in, the proxy environment file). */
  removeFiles: string[];
  /** `systemctl daemon-reload` before touching docker (the drop-in went away). */
  daemonReload: boolean;
  /** Reload dockerd after writing `daemonJsonEmptied`. */
  reload: boolean;
  /** Restart dockerd at the end (it still has a proxy that only a restart drops). */
  restart: boolean;
  /** What the operator should know: what was left and why, a restart still owed. */
  notes: string[];
}

/** Whether the docker unit drop-in is the one fleetdock writes (it starts with fleetdock's header). */
export function isFleetdockDropIn(text: string): boolean {
  return /^# Written by fleetdock/.test(text);
}

/** The daemon.json keys the agent's state.json says it owns; null when unreadable. */
export function ownedDaemonKeys(stateJson: string | null): string[] | null {
  if (stateJson === null) return null;
  try {
    const keys = (JSON.parse(stateJson) as { owned?: { daemonJsonKeys?: unknown } }).owned?.daemonJsonKeys;
    if (!Array.isArray(keys)) return null;
    return keys.filter((k): k is string => typeof k === 'string' && (MANAGED_DAEMON_KEYS as readonly string[]).includes(k));
  } catch {
    return null;
  }
}

/** Users whose ~/.docker/config.json the agent wrote a proxy into. */
function ownedClientUsers(stateJson: string | null): string[] {
  try {
    const users = stateJson === null ? undefined : (JSON.parse(stateJson) as { owned?: { clientUsers?: unknown } }).owned?.clientUsers;
    return Array.isArray(users) ? users.filter((u): u is string => typeof u === 'string') : [];
  } catch {
    return [];
  }
}

function renderJson(value: Record<string, unknown>): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Plans --purge-settings. `allowRestart`: the operator passed --restart-docker (a restart with
 * live-restore off stops running containers, so without it uninstall restarts only with live-restore on).
 */
export function planPurge(facts: UninstallFacts, allowRestart: boolean): PurgePlan {
  const plan: PurgePlan = { daemonJsonEmptied: null, daemonJsonFinal: null, removedKeys: [], removeFiles: [], daemonReload: false, reload: false, restart: false, notes: [] };
  let proxyDropped = false;

  const owned = ownedDaemonKeys(facts.stateJson);
  if (facts.daemonJson === null) {
    // nothing to clean
  } else if (owned === null) {
    plan.notes.push(`${HOST_PATHS.daemonJson} left as it is: no readable agent state says which keys fleetdock wrote`);
  } else {
    let current: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(facts.daemonJson);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) current = parsed as Record<string, unknown>;
    } catch {
      current = null;
    }
    if (current === null) {
      plan.notes.push(`${HOST_PATHS.daemonJson} left as it is: it is not a JSON object`);
    } else {
      const present = owned.filter((k) => k in current!);
      if (present.length > 0) {
        const emptied: Record<string, unknown> = { ...current };
        const final: Record<string, unknown> = { ...current };
        for (const key of present) {
          if ((LIST_KEYS as readonly string[]).includes(key)) emptied[key] = [];
          else delete emptied[key];
          delete final[key];
        }
        plan.removedKeys = present;
        plan.daemonJsonFinal = renderJson(final);
        if (present.some((k) => (LIST_KEYS as readonly string[]).includes(k)) && facts.dockerActive) {
          plan.daemonJsonEmptied = renderJson(emptied);
          plan.reload = true;
        }
        if (present.includes('proxies')) proxyDropped = true;
      }
    }
  }

  if (facts.dropIn !== null) {
    if (isFleetdockDropIn(facts.dropIn)) {
      plan.removeFiles.push(HOST_PATHS.dropIn);
      plan.daemonReload = true;
      proxyDropped = true;
    } else {
      plan.notes.push(`${HOST_PATHS.dropIn} left as it is: fleetdock did not write it`);
    }
  }
  if (facts.proxyEnvPresent) {
    plan.removeFiles.push(HOST_PATHS.proxyEnvironmentFile);
    proxyDropped = true;
  }

  if (proxyDropped && facts.dockerActive) {
    if (facts.liveRestore === true || allowRestart) {
      plan.restart = true;
    } else {
      plan.notes.push('dockerd keeps its proxy until it restarts: live-restore is off, so a restart would stop running containers; run `systemctl restart docker` when that is fine (uninstall --restart-docker does it at once)');
    }
  }
  const clientUsers = ownedClientUsers(facts.stateJson);
  if (clientUsers.length > 0) {
    plan.notes.push(`the client proxy in ~/.docker/config.json of ${clientUsers.join(', ')} left as it is (remove proxies.default there by hand if it should go)`);
  }
  if (plan.restart) {
    // A restart reads the final file: no need for the emptied one.
    plan.daemonJsonEmptied = null;
    plan.reload = false;
  }
  return plan;
}

/** The agent files that exist and will go, for the report. */
export function agentFilesPresent(facts: UninstallFacts): string[] {
  const known = [AGENT_PATHS.unit, AGENT_PATHS.binary, AGENT_PATHS.env, AGENT_PATHS.stateDir];
  return known.filter((p) => facts.present.includes(p));
}
