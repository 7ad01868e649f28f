/**
 * Merges the client proxy into a user's `~/.docker/config.json` (`proxies.default`). Pure. Every other
 * key (auths, credsStore, other proxies entries) is kept; `proxies.default` is removed only when
 * fleetdock wrote it and the client proxy is now cleared.
 */
import { FleetdockError } from '../../protocol/errors.js';
import { jsonEqual } from './daemon-json.js';

/** The client proxy as config.json spells it. */
export type ClientProxyConfig = { httpProxy?: string; httpsProxy?: string; noProxy?: string };

/** Parses config.json text; null or blank is `{}`; anything but an object throws DAEMON_JSON_INVALID-like VALIDATION. */
export function parseClientConfig(text: string | null, path: string): Record<string, unknown> {
  if (text === null || text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new FleetdockError('DAEMON_JSON_INVALID', `${path} is not a JSON object; fix or remove it by hand, fleetdock will not overwrite it`);
}

/**
 * Returns the new config.json text, or the old text when nothing changes. `proxy` null clears what
 * fleetdock owned (`owned` true) and leaves a foreign `proxies.default` alone.
 */
export function mergeClientConfig(existing: Record<string, unknown>, proxy: ClientProxyConfig | null, owned: boolean): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...existing };
  const proxies = typeof merged.proxies === 'object' && merged.proxies !== null && !Array.isArray(merged.proxies) ? { ...(merged.proxies as Record<string, unknown>) } : {};
  if (proxy) {
    proxies.default = proxy;
    merged.proxies = proxies;
  } else if (owned && 'default' in proxies) {
    delete proxies.default;
    if (Object.keys(proxies).length === 0) delete merged.proxies;
    else merged.proxies = proxies;
  }
  return jsonEqual(merged, existing) ? existing : merged;
}
