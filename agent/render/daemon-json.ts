/**
 * Merges the keys fleetdock manages into a host's daemon.json and renders it. Pure: text in, text out.
 * Keys fleetdock does not manage keep their values and their order; a managed key is cleared only when
 * fleetdock itself wrote it before (it is "owned") and the setting is now cleared.
 */
import { FleetdockError } from '../../protocol/errors.js';

/** The daemon.json keys fleetdock may write. */
export const MANAGED_DAEMON_KEYS = ['registry-mirrors', 'insecure-registries', 'proxies'] as const;
export type ManagedDaemonKey = (typeof MANAGED_DAEMON_KEYS)[number];

/** Keys cleared by writing `[]` rather than removing them (see mergeDaemonJson). */
const RESET_BY_EMPTY_LIST: readonly ManagedDaemonKey[] = ['registry-mirrors', 'insecure-registries'];

/** daemon.json's `proxies` object (Docker >= 23). */
export type DaemonJsonProxies = { 'http-proxy'?: string; 'https-proxy'?: string; 'no-proxy'?: string };

/** What fleetdock wants in daemon.json; an empty list or null means "not set by fleetdock". */
export type ManagedDaemonValues = {
  'registry-mirrors': string[];
  'insecure-registries': string[];
  proxies: DaemonJsonProxies | null;
};

export type DaemonJsonObject = Record<string, unknown>;

/**
 * Parses daemon.json text. Missing (null) or blank text is an empty object; anything that is not a
 * JSON object throws DAEMON_JSON_INVALID naming the file, so the caller writes nothing.
 */
export function parseDaemonJson(text: string | null, path: string): DaemonJsonObject {
  if (text === null || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FleetdockError('DAEMON_JSON_INVALID', `${path} is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix or remove it by hand, fleetdock will not overwrite it`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FleetdockError('DAEMON_JSON_INVALID', `${path} must hold a JSON object; fix or remove it by hand, fleetdock will not overwrite it`);
  }
  return value as DaemonJsonObject;
}

function isEmptyValue(value: ManagedDaemonValues[ManagedDaemonKey]): boolean {
  return value === null || (Array.isArray(value) && value.length === 0);
}

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export type DaemonJsonMerge = {
  /** The merged object. */
  merged: DaemonJsonObject;
  /** Managed keys fleetdock owns after the merge. */
  owned: ManagedDaemonKey[];
  /** Managed keys whose value changed. */
  changedKeys: ManagedDaemonKey[];
};

/**
 * Merges `desired` into `existing`. A non-empty desired value is written (and becomes owned); an empty
 * one clears a key fleetdock owned (`[]` for the mirror and registry lists, removal for `proxies`) and
 * otherwise leaves what the host had. `flagKeys` are set by dockerd's flags: dockerd refuses even an
 * empty list for them in the file, so they are cleared by removal.
 */
export function mergeDaemonJson(existing: DaemonJsonObject, desired: ManagedDaemonValues, owned: readonly string[], flagKeys: readonly ManagedDaemonKey[] = []): DaemonJsonMerge {
  const merged: DaemonJsonObject = { ...existing };
  const nowOwned: ManagedDaemonKey[] = [];
  const changedKeys: ManagedDaemonKey[] = [];
  for (const key of MANAGED_DAEMON_KEYS) {
    const value = desired[key];
    if (!isEmptyValue(value)) {
      merged[key] = value;
      nowOwned.push(key);
    } else if (owned.includes(key) && RESET_BY_EMPTY_LIST.includes(key) && !flagKeys.includes(key)) {
      // dockerd's reload only touches keys present in the file: a removed key would leave the old
      // mirrors in force until a restart. An empty list clears them with a reload.
      merged[key] = [];
      nowOwned.push(key);
    } else if (owned.includes(key)) {
      delete merged[key];
    }
    if (!jsonEqual(existing[key], merged[key])) changedKeys.push(key);
  }
  return { merged, owned: nowOwned, changedKeys };
}

/** Renders daemon.json the way fleetdock writes it: two-space indent, trailing newline, key order kept. */
export function renderDaemonJson(value: DaemonJsonObject): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
