/**
 * Pure: turns what the operator names (one `user@host[:port]`, a file with one host per line, or a
 * YAML inventory with per-host user, port, key, group, name and host key fingerprint) into a list of
 * SSH targets with every default filled in. Every mistake is a VALIDATION error naming the file and
 * line. Reads no file and no environment: the caller passes the text and the defaults.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { FleetdockError } from '../protocol/errors.js';
import { parseFingerprint } from './known-hosts.js';

/** One host to bootstrap or uninstall, every field decided. */
export interface HostTarget {
  /** How the host is shown: `user@host:port` (port left out when 22). */
  label: string;
  host: string;
  port: number;
  user: string;
  /** Private key file for this host; null = the command's --identity, or the SSH agent. */
  keyPath: string | null;
  /** The fleetdock group the host joins. */
  group: string;
  /** The host's name in the fleet; null = the host's own `uname -n`, read over SSH. */
  name: string | null;
  /** `SHA256:...` the host key must have (then known_hosts is not consulted); null = known_hosts. */
  fingerprint: string | null;
  /** Where the host was named: `command line`, `hosts.txt line 3`. */
  source: string;
}

/** What a target takes when the inventory does not say. */
export interface TargetDefaults {
  /** Login user (default `root`). */
  user: string;
  /** SSH port (default 22). */
  port: number;
  /** `--group`; null when not given (then every host needs its own `group:`). */
  group: string | null;
  /** `--identity`; null = agent only. */
  keyPath: string | null;
}

/** The defaults when no flag says otherwise. */
export const TARGET_DEFAULTS: TargetDefaults = Object.freeze({ user: 'root', port: 22, group: null, keyPath: null });

/** A host spec taken apart: `[user@]host[:port]`, IPv6 as `[::1]:22`. */
export interface HostSpec {
  user: string | null;
  host: string;
  port: number | null;
}

const USER_RE = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;
const GROUP_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function invalid(where: string, message: string): FleetdockError {
  return new FleetdockError('VALIDATION', `${where}: ${message}`);
}

/** Parses a port number 1-65535 from text; null when it is not one. */
function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : null;
}

/**
 * Parses `[user@]host[:port]` (`root@bs1.example.com:2222`, `bs1`, `[fd00::1]:22`, `deploy@10.0.0.5`).
 * Throws VALIDATION naming `where` and what is wrong.
 */
export function parseHostSpec(text: string, where = 'host'): HostSpec {
  const spec = text.trim();
  if (spec === '') throw invalid(where, 'empty host');
  if (/\s/.test(spec)) throw invalid(where, `${JSON.stringify(spec)} holds whitespace; give one user@host[:port]`);
  let user: string | null = null;
  let rest = spec;
  const at = spec.lastIndexOf('@');
  if (at !== -1) {
    user = spec.slice(0, at);
    rest = spec.slice(at + 1);
    if (!USER_RE.test(user)) throw invalid(where, `user ${JSON.stringify(user)} is not a valid login name`);
  }
  let host: string;
  let port: number | null = null;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw invalid(where, `${JSON.stringify(spec)}: '[' without ']' (IPv6 is written [addr]:port)`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw invalid(where, `${JSON.stringify(spec)}: expected :port after ']'`);
      port = parsePort(after.slice(1));
      if (port === null) throw invalid(where, `port ${JSON.stringify(after.slice(1))} is not a number from 1 to 65535`);
    }
    if (!IPV6_RE.test(host) || !host.includes(':')) throw invalid(where, `${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(':');
    if (colon !== -1 && rest.indexOf(':', colon + 1) !== -1) throw invalid(where, `${JSON.stringify(spec)}: write an IPv6 address as [addr] or [addr]:port`);
    host = colon === -1 ? rest : rest.slice(0, colon);
    if (colon !== -1) {
      port = parsePort(rest.slice(colon + 1));
      if (port === null) throw invalid(where, `port ${JSON.stringify(rest.slice(colon + 1))} is not a number from 1 to 65535`);
    }
    if (!HOSTNAME_RE.test(host)) throw invalid(where, `${JSON.stringify(host)} is not a host name or address`);
  }
  return { user, host, port };
}

/** `user@host:port` as shown to people (`:22` left out, IPv6 in brackets). */
export function formatTargetLabel(user: string, host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${user}@${h}${port === 22 ? '' : `:${port}`}`;
}

/** A host as the inventory names it, before defaults. */
interface InventoryEntry {
  spec: HostSpec;
  user?: string;
  port?: number;
  key?: string;
  group?: string;
  name?: string;
  fingerprint?: string;
  where: string;
}

function buildTarget(entry: InventoryEntry, defaults: TargetDefaults): HostTarget {
  const user = entry.user ?? entry.spec.user ?? defaults.user;
  if (!USER_RE.test(user)) throw invalid(entry.where, `user ${JSON.stringify(user)} is not a valid login name`);
  const port = entry.port ?? entry.spec.port ?? defaults.port;
  const group = entry.group ?? defaults.group;
  if (group === null) throw invalid(entry.where, `host ${entry.spec.host} has no group: give --group NAME or \`group:\` in the inventory`);
  if (!GROUP_RE.test(group)) throw invalid(entry.where, `group ${JSON.stringify(group)}: 1-63 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit`);
  const name = entry.name ?? null;
  if (name !== null && !NAME_RE.test(name)) throw invalid(entry.where, `name ${JSON.stringify(name)}: 1-63 letters, digits, dots, dashes or underscores`);
  const fingerprint = entry.fingerprint === undefined ? null : parseFingerprintAt(entry.fingerprint, entry.where);
  return {
    label: formatTargetLabel(user, entry.spec.host, port),
    host: entry.spec.host,
    port,
    user,
    keyPath: entry.key ?? defaults.keyPath,
    group,
    name,
    fingerprint,
    source: entry.where,
  };
}

function parseFingerprintAt(text: string, where: string): string {
  try {
    return parseFingerprint(text);
  } catch (error) {
    throw invalid(where, (error as Error).message);
  }
}

/** Refuses the same user@host:port twice and the same explicit name twice, naming both places. */
function refuseDuplicates(targets: HostTarget[]): HostTarget[] {
  const byLabel = new Map<string, HostTarget>();
  const byName = new Map<string, HostTarget>();
  for (const t of targets) {
    const seen = byLabel.get(t.label);
    if (seen) throw invalid(t.source, `${t.label} is already listed (${seen.source})`);
    byLabel.set(t.label, t);
    if (t.name !== null) {
      const named = byName.get(t.name);
      if (named) throw invalid(t.source, `name ${t.name} is already given to ${named.label} (${named.source})`);
      byName.set(t.name, t);
    }
  }
  return targets;
}

/** One host from the command line (`fleetdock bootstrap root@bs1:2222 --group ci`). */
export function targetFromSpec(spec: string, defaults: TargetDefaults, extra: { name?: string | undefined; fingerprint?: string | undefined } = {}): HostTarget {
  const where = 'command line';
  return buildTarget({ spec: parseHostSpec(spec, where), where, ...(extra.name !== undefined ? { name: extra.name } : {}), ...(extra.fingerprint !== undefined ? { fingerprint: extra.fingerprint } : {}) }, defaults);
}

/** Whether inventory text is YAML (by file name, else by its first meaningful line). */
export function looksLikeYaml(fileName: string, text: string): boolean {
  if (/\.ya?ml$/i.test(fileName)) return true;
  const first = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  return first !== undefined && (/^(hosts|defaults)\s*:/.test(first) || /^-\s/.test(first) || first === '---');
}

/**
 * Parses a line inventory: one `[user@]host[:port]` per line; blank lines and `#` comments (whole
 * line or after the host) are ignored. `fileName` names the file in errors.
 */
export function parseLineInventory(text: string, fileName: string, defaults: TargetDefaults): HostTarget[] {
  const targets: HostTarget[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const where = `${fileName} line ${index + 1}`;
    if (/\s/.test(line)) throw invalid(where, `${JSON.stringify(line)}: one host per line (user@host[:port]); per-host settings need the YAML format`);
    targets.push(buildTarget({ spec: parseHostSpec(line, where), where }, defaults));
  });
  if (targets.length === 0) throw new FleetdockError('VALIDATION', `${fileName} names no host`);
  return refuseDuplicates(targets);
}

const HOST_KEYS = ['host', 'user', 'port', 'key', 'group', 'name', 'fingerprint'] as const;
const DEFAULT_KEYS = ['user', 'port', 'key', 'group'] as const;

/**
 * Parses a YAML inventory:
 * ```yaml
 * defaults: { user: deploy, port: 22, key: keys/fleet, group: ci }   # optional
 * hosts:
 *   - bs1.example.com                     # a plain spec
 *   - host: root@bs2.example.com:2222     # or a map; `host` may carry user and port
 *     key: keys/bs2                       # relative to the inventory's directory
 *     group: canary
 *     name: bs2
 *     fingerprint: SHA256:...
 * ```
 * A top-level list of hosts works too. `fileName` is used in errors and to resolve relative keys.
 */
export function parseYamlInventory(text: string, fileName: string, defaults: TargetDefaults): HostTarget[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  const at = (node: { range?: [number, number, number] | null } | null | undefined) => `${fileName} line ${lineOf(node)}`;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw invalid(`${fileName} line ${lineCounter.linePos(e.pos[0]).line}`, `not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const keyDir = dirname(fileName);
  const resolveKey = (key: string) => (isAbsolute(key) || key.startsWith('~') ? key : resolve(keyDir, key));

  let hostsNode: YamlNode | null = null;
  let merged = defaults;
  const root = doc.contents;
  if (isSeq(root)) {
    hostsNode = root;
  } else if (isMap(root)) {
    for (const pair of root.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (key === 'hosts') hostsNode = pair.value as YamlNode | null;
      else if (key === 'defaults') merged = readDefaults(pair.value as YamlNode | null, merged, at, resolveKey);
      else throw invalid(at(pair.key as YamlNode), `unknown top-level key ${JSON.stringify(key)} (expected hosts and, optionally, defaults)`);
    }
    if (hostsNode === null) throw invalid(at(root), 'no `hosts:` list');
  } else {
    throw invalid(at(root as YamlNode | null), 'expected a list of hosts, or a map with `hosts:` (and optionally `defaults:`)');
  }
  if (!isSeq(hostsNode)) throw invalid(at(hostsNode), '`hosts:` must be a list');
  if (hostsNode.items.length === 0) throw invalid(at(hostsNode), 'the hosts list is empty');

  const targets = hostsNode.items.map((item) => {
    const node = item as YamlNode;
    const where = at(node);
    if (isScalar(node)) {
      if (typeof node.value !== 'string') throw invalid(where, `${JSON.stringify(node.value)} is not a host (user@host[:port])`);
      return buildTarget({ spec: parseHostSpec(node.value, where), where }, merged);
    }
    if (!isMap(node)) throw invalid(where, 'a host is a string (user@host[:port]) or a map with `host:`');
    const fields: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!(HOST_KEYS as readonly string[]).includes(key)) throw invalid(at(pair.key as YamlNode), `unknown key ${JSON.stringify(key)} (allowed: ${HOST_KEYS.join(', ')})`);
      const value = pair.value as YamlNode | null;
      if (!isScalar(value)) throw invalid(at(value ?? (pair.key as YamlNode)), `${key} must be a plain value`);
      fields[key] = value.value;
    }
    if (typeof fields.host !== 'string') throw invalid(where, 'a host map needs `host: [user@]host[:port]`');
    const entry: InventoryEntry = { spec: parseHostSpec(fields.host, where), where };
    for (const key of ['user', 'key', 'group', 'name', 'fingerprint'] as const) {
      const value = fields[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' || value === '') throw invalid(where, `${key} must be a non-empty string`);
      entry[key] = key === 'key' ? resolveKey(value) : value;
    }
    if (fields.port !== undefined && fields.port !== null) {
      const port = parsePort(String(fields.port));
      if (port === null) throw invalid(where, `port ${JSON.stringify(fields.port)} is not a number from 1 to 65535`);
      entry.port = port;
    }
    return buildTarget(entry, merged);
  });
  return refuseDuplicates(targets);
}

function readDefaults(
  node: YamlNode | null,
  defaults: TargetDefaults,
  at: (node: YamlNode | null | undefined) => string,
  resolveKey: (key: string) => string,
): TargetDefaults {
  if (!isMap(node)) throw invalid(at(node), '`defaults:` must be a map (user, port, key, group)');
  const merged = { ...defaults };
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(DEFAULT_KEYS as readonly string[]).includes(key)) throw invalid(at(pair.key as YamlNode), `unknown key ${JSON.stringify(key)} in defaults (allowed: ${DEFAULT_KEYS.join(', ')})`);
    const value = isScalar(pair.value) ? pair.value.value : undefined;
    const where = at((pair.value as YamlNode | null) ?? (pair.key as YamlNode));
    if (key === 'port') {
      const port = parsePort(String(value));
      if (port === null) throw invalid(where, `port ${JSON.stringify(value)} is not a number from 1 to 65535`);
      merged.port = port;
    } else {
      if (typeof value !== 'string' || value === '') throw invalid(where, `${key} must be a non-empty string`);
      if (key === 'user') merged.user = value;
      else if (key === 'group') merged.group = value;
      else merged.keyPath = resolveKey(value);
    }
  }
  return merged;
}

/** Parses an inventory file's text in the format it is in (see looksLikeYaml). */
export function parseInventory(text: string, fileName: string, defaults: TargetDefaults): HostTarget[] {
  return looksLikeYaml(fileName, text) ? parseYamlInventory(text, fileName, defaults) : parseLineInventory(text, fileName, defaults);
}
