/**
 * Renders the systemd drop-in that gives dockerd < 23 its proxy (`docker.service.d/http-proxy.conf`).
 * Pure. Values are quoted and escaped for systemd: `%` doubled (specifiers), `\` and `"` escaped; a
 * newline or any control character is refused, since it would start a new directive.
 */
import { FleetdockError } from '../../protocol/errors.js';
import { findForbiddenCharacter } from '../../protocol/values.js';

/** The proxy as environment variables for dockerd. */
export type ProxyEnvironment = { HTTP_PROXY?: string; HTTPS_PROXY?: string; NO_PROXY?: string };

const HEADER = '# Written by fleetdock: the proxy dockerd uses. Changes here are reported as drift and replaced.\n';

/** Escapes one `NAME=value` assignment for a double-quoted word of a systemd `Environment=` line. */
export function escapeSystemdEnvironmentWord(assignment: string): string {
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(assignment)) {
    throw new FleetdockError('VALIDATION', `proxy setting contains ${findForbiddenCharacter(assignment) ?? 'a control character'}, which cannot go into a systemd unit`);
  }
  return `"${assignment.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/** Renders the drop-in for `env`, or null when there is no proxy (the file should not exist). */
export function renderProxyDropIn(env: ProxyEnvironment): string | null {
  const words = (['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'] as const)
    .filter((name) => env[name] !== undefined && env[name] !== '')
    .map((name) => escapeSystemdEnvironmentWord(`${name}=${env[name]}`));
  if (words.length === 0) return null;
  return `${HEADER}[Service]\nEnvironment=${words.join(' ')}\n`;
}

/**
 * Reads back the environment a drop-in written by renderProxyDropIn sets (for observing drift).
 * Returns null when the text has no Environment= line.
 */
export function parseProxyDropIn(text: string | null): ProxyEnvironment | null {
  if (text === null) return null;
  const env: ProxyEnvironment = {};
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^\s*Environment=(.*)$/.exec(line);
    if (!m) continue;
    found = true;
    for (const word of m[1]!.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
      const raw = word[1] !== undefined ? word[1].replace(/\\(.)/g, '$1') : word[2]!;
      const value = raw.replace(/%%/g, '%');
      const eq = value.indexOf('=');
      if (eq <= 0) continue;
      const name = value.slice(0, eq).toUpperCase();
      if (name === 'HTTP_PROXY' || name === 'HTTPS_PROXY' || name === 'NO_PROXY') env[name] = value.slice(eq + 1);
    }
  }
  return found ? env : null;
}
