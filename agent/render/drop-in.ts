/**
 * Renders how dockerd < 23 gets its proxy under systemd. Pure. Two files: the drop-in
 * `docker.service.d/http-proxy.conf`, which only says `EnvironmentFile=/etc/fleetdock/docker-proxy.env`,
 * and that environment file (mode 0600, root only), which holds the values. An `Environment=` line in
 * the unit would be printed by `systemctl show` to every local user, password included; a root-only
 * file is not.
 *
 * Values in the environment file are single-quoted: systemd reads everything between single quotes
 * literally (no `%` specifiers, no `$` expansion, no backslash escapes). A value holding a single quote,
 * a newline or any control character is refused, since it could end the quote or start a new line.
 */
import { FleetdockError } from '../../protocol/errors.js';
import { findForbiddenCharacter } from '../../protocol/values.js';

/** The proxy as environment variables for dockerd. */
export type ProxyEnvironment = { HTTP_PROXY?: string; HTTPS_PROXY?: string; NO_PROXY?: string };

const NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'] as const;
const HEADER = '# Written by fleetdock: the proxy dockerd uses. Changes here are reported as drift and replaced.\n';

/** Renders the drop-in that points docker.service at `envFilePath`. */
export function renderProxyDropIn(envFilePath: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(envFilePath)) throw new FleetdockError('VALIDATION', `environment file path ${JSON.stringify(envFilePath)} is not a plain absolute path`);
  return `${HEADER}[Service]\nEnvironmentFile=${envFilePath}\n`;
}

/** Quotes one value for a systemd environment file; throws VALIDATION for what cannot be quoted. */
export function quoteEnvironmentFileValue(name: string, value: string): string {
  if (/['\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(value)) {
    throw new FleetdockError('VALIDATION', `${name} contains ${findForbiddenCharacter(value) ?? 'a single quote'}, which cannot go into a systemd environment file`);
  }
  return `'${value}'`;
}

/** Renders the environment file for `env`, or null when there is no proxy (the file should not exist). */
export function renderProxyEnvironmentFile(env: ProxyEnvironment): string | null {
  const lines = NAMES.filter((name) => env[name] !== undefined && env[name] !== '').map((name) => `${name}=${quoteEnvironmentFileValue(name, env[name]!)}`);
  return lines.length === 0 ? null : `${HEADER}${lines.join('\n')}\n`;
}

/**
 * Reads the proxy variables of an environment file the way systemd does for the forms fleetdock
 * writes and the common hand-written ones (`NAME=value`, `NAME='value'`, `NAME="value"`). Null when
 * there is no file.
 */
export function parseProxyEnvironmentFile(text: string | null): ProxyEnvironment | null {
  if (text === null) return null;
  const env: ProxyEnvironment = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith('#') || line.trimStart().startsWith(';')) continue;
    const name = m[1]!.toUpperCase();
    let value = m[2]!;
    const quoted = /^'([^']*)'$/.exec(value) ?? /^"((?:[^"\\]|\\.)*)"$/.exec(value);
    if (quoted) value = value.startsWith('"') ? quoted[1]!.replace(/\\(.)/g, '$1') : quoted[1]!;
    if (name === 'HTTP_PROXY' || name === 'HTTPS_PROXY' || name === 'NO_PROXY') env[name] = value;
  }
  return env;
}
