/**
 * The options `fleetdock bootstrap` and `fleetdock uninstall` share, read at the command's edge: which
 * hosts (one spec or an inventory file), how to log in (key, ssh-agent), how host keys are checked
 * (known_hosts, a fingerprint, accept-new), how many at once. Reads the inventory, the key, its
 * passphrase and known_hosts files; takes the environment (HOME, SSH_AUTH_SOCK) as an argument.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../cli/args.js';
import { FleetdockError } from '../protocol/errors.js';
import type { SshAccess } from './connect-host.js';
import { loadHostKeyPolicy } from './host-key-policy.js';
import { parseInventory, TARGET_DEFAULTS, targetFromSpec, type HostTarget } from './inventory.js';
import { loadPrivateKey } from './ssh-session.js';

/** parseArgs options of both commands. */
export const HOST_OPTIONS = {
  inventory: { type: 'string' },
  group: { type: 'string' },
  name: { type: 'string' },
  identity: { type: 'string', short: 'i' },
  'identity-passphrase-file': { type: 'string' },
  user: { type: 'string' },
  port: { type: 'string' },
  'known-hosts': { type: 'string' },
  'host-key-fingerprint': { type: 'string' },
  'accept-new-host-keys': { type: 'boolean' },
  parallel: { type: 'string' },
  'connect-timeout': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Usage text of HOST_OPTIONS. */
export const HOST_USAGE = `hosts and SSH:
  HOST                         one host: [user@]host[:port]
  --inventory FILE             many: one [user@]host[:port] per line, or YAML with per-host
                               user, port, key, group, name and fingerprint (see README)
  --name NAME                  one host: its name in the fleet (default: its uname -n)
  -i, --identity PATH          private key (else, and also, the ssh-agent at SSH_AUTH_SOCK)
  --identity-passphrase-file PATH
                               the passphrase of encrypted keys (-i and the inventory's key:), on
                               the file's first line; the file must not be readable by others
  --user USER                  login user where the host names none (default root; others need
                               passwordless sudo)
  --port N                     SSH port where the host names none (default 22)
  --known-hosts PATH           OpenSSH known_hosts to check host keys in (default ~/.ssh/known_hosts)
  --host-key-fingerprint FP    one host: accept only this key, SHA256:... as ssh-keygen -lf prints it
  --accept-new-host-keys       accept hosts not in known_hosts and add them there (a changed key is
                               still refused)
  --parallel N                 hosts at once (default 10)
  --connect-timeout SECONDS    TCP connect and SSH handshake (default 15)
  --json                       print one JSON document: { ok, summary, hosts: [...] }
`;

/** What HOST_OPTIONS parse into. */
export type HostOptionValues = {
  inventory?: string | undefined;
  group?: string | undefined;
  name?: string | undefined;
  identity?: string | undefined;
  'identity-passphrase-file'?: string | undefined;
  user?: string | undefined;
  port?: string | undefined;
  'known-hosts'?: string | undefined;
  'host-key-fingerprint'?: string | undefined;
  'accept-new-host-keys'?: boolean | undefined;
  parallel?: string | undefined;
  'connect-timeout'?: string | undefined;
  json?: boolean | undefined;
};

/** A whole number from `min` to `max` given as `flag`; `fallback` when absent. */
export function parseWholeNumber(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,7}$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not '${text}'`);
  return Number(text);
}

/** `~/x` with the home directory. */
export function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  if (path === '~') return env.HOME || homedir();
  return path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(2)) : path;
}

/**
 * The hosts: one HOST positional, or --inventory FILE (not both). `requireGroup`: bootstrap needs a
 * group for every host; uninstall does not (a placeholder is used).
 */
export async function resolveTargets(values: HostOptionValues, positionals: string[], env: NodeJS.ProcessEnv, requireGroup: boolean): Promise<HostTarget[]> {
  if (positionals.length > 1) throw new UsageError(`one HOST at a time (got ${positionals.length}); list many in an --inventory file`);
  const single = positionals[0];
  if ((single === undefined) === (values.inventory === undefined)) throw new UsageError('name one HOST or give --inventory FILE');
  const defaults = {
    ...TARGET_DEFAULTS,
    user: values.user ?? TARGET_DEFAULTS.user,
    port: parseWholeNumber('--port', values.port, TARGET_DEFAULTS.port, 1, 65_535),
    group: values.group ?? (requireGroup ? null : 'uninstall'),
    keyPath: null,
  };
  if (single !== undefined) {
    return [targetFromSpec(single, defaults, { name: values.name, fingerprint: values['host-key-fingerprint'] })];
  }
  if (values.name !== undefined) throw new UsageError('--name is for one HOST; give names in the inventory (name:)');
  if (values['host-key-fingerprint'] !== undefined) throw new UsageError('--host-key-fingerprint is for one HOST; give fingerprints in the inventory (fingerprint:)');
  const path = expandHome(values.inventory!, env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FleetdockError('VALIDATION', `cannot read the inventory ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseInventory(text, path, defaults).map((t) => (t.keyPath === null ? t : { ...t, keyPath: expandHome(t.keyPath, env) }));
}

/**
 * The passphrase on the first line of `path` (without its line end). Refuses a file that others may
 * read, as ssh refuses such a key file, and an empty one.
 */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FleetdockError('VALIDATION', `cannot read the passphrase file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new FleetdockError('VALIDATION', `the passphrase file ${path} may be read by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it`);
  }
  const passphrase = text.split(/\r?\n/, 1)[0]!;
  if (passphrase === '') throw new FleetdockError('VALIDATION', `the passphrase file ${path} is empty: its first line is the passphrase`);
  return passphrase;
}

/** Keys, ssh-agent, known_hosts and the time-out, for a whole run. */
export async function prepareSshAccess(values: HostOptionValues, env: NodeJS.ProcessEnv): Promise<SshAccess> {
  const passphraseFile = values['identity-passphrase-file'];
  const passphrase = passphraseFile === undefined ? undefined : await readPassphraseFile(expandHome(passphraseFile, env));
  const defaultKey = values.identity === undefined ? null : await loadPrivateKey(expandHome(values.identity, env), passphrase).catch((error: Error) => {
    throw new FleetdockError('VALIDATION', error.message);
  });
  const knownHostsPath = expandHome(values['known-hosts'] ?? '~/.ssh/known_hosts', env);
  const hostKeys = await loadHostKeyPolicy(knownHostsPath, values['accept-new-host-keys'] === true).catch((error: Error) => {
    throw new FleetdockError('VALIDATION', error.message);
  });
  const keyCache = new Map<string, Promise<Buffer>>();
  return {
    agentSocket: env.SSH_AUTH_SOCK || null,
    defaultKey,
    passphrase,
    loadKey(path) {
      let key = keyCache.get(path);
      if (!key) {
        key = loadPrivateKey(path, passphrase);
        keyCache.set(path, key);
      }
      return key;
    },
    connectTimeoutMs: parseWholeNumber('--connect-timeout', values['connect-timeout'], 15, 1, 3600) * 1000,
    hostKeys,
  };
}
