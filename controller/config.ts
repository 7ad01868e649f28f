/**
 * The controller's configuration: defaults written out with their units, and the one function that
 * turns what the operator gave on the command line into a validated, frozen ControllerConfig. Nothing
 * else in controller/ reads argv or process.env; everything else is handed this object.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetdockError } from '../protocol/errors.js';
import { LOGIN_THROTTLE_DEFAULTS, type LoginThrottleOptions } from './api/login-throttle.js';
import type { TlsSetting } from './tls/tls-material.js';

/** Everything the controller needs to start. Frozen; build it with `resolveControllerConfig`. */
export interface ControllerConfig {
  /** Directory holding `fleetdock.db` and `admin.token`; created with mode 0700. */
  readonly dataDir: string;
  /** Address the HTTP API and the agent hub listen on; port 0 picks a free port. */
  readonly listen: { readonly host: string; readonly port: number };
  /** HTTPS with the controller's own CA (default), with the operator's certificate, or insecure plain HTTP. */
  readonly tls: TlsSetting;
  /** How often a running controller looks whether its server certificate must be renewed (or its files changed). */
  readonly tlsRenewalCheckMs: number;
  /** Directory of `NNNN_name.sql` files applied at start. */
  readonly migrationsDir: string;
  /** How often every agent connection is pinged; one that did not pong since the last ping is dropped. */
  readonly heartbeatIntervalMs: number;
  /** How long a statement waits for a locked database before failing. */
  readonly sqliteBusyTimeoutMs: number;
  /** Largest HTTP request body accepted. */
  readonly maxBodyBytes: number;
  /** How often unfinished rollouts are stepped (result timeouts, offline hosts); results step them at once. */
  readonly rolloutTickIntervalMs: number;
  /**
   * After a start, how long rollouts wait for disconnected hosts before calling them offline: agents
   * reconnect with backoff (full jitter, capped at 30 s), so a restart must not make them look gone.
   */
  readonly rolloutReconnectGraceMs: number;
  /** Drift: a disconnected host counts as `offline` once unseen for this long (0: at once). */
  readonly driftOfflineAfterMs: number;
  /** Drift: in `enforce`, the desired revision is re-sent to one host at most once per this interval. */
  readonly driftEnforceIntervalMs: number;
  /** Drift: how often the sweep looks for hosts gone past the grace time or whose desired revision moved. */
  readonly driftSweepIntervalMs: number;
  /**
   * Failed logins (bad operator tokens, join tokens, host credentials) per address: `maxFailures`
   * within `windowMs` block the address for `blockMs`; `maxAddresses` are remembered at most.
   */
  readonly loginThrottle: Readonly<LoginThrottleOptions>;
}

/** The defaults, with units in the names. */
export const CONTROLLER_DEFAULTS = Object.freeze({
  dataDir: './.fleetdock',
  listen: '127.0.0.1:7700',
  heartbeatIntervalMs: 15_000,
  sqliteBusyTimeoutMs: 5_000,
  maxBodyBytes: 256 * 1024,
  rolloutTickIntervalMs: 1_000,
  rolloutReconnectGraceMs: 45_000,
  driftOfflineAfterMs: 60_000,
  driftEnforceIntervalMs: 30_000,
  driftSweepIntervalMs: 5_000,
  tlsRenewalCheckMs: 12 * 60 * 60 * 1000,
  loginThrottle: LOGIN_THROTTLE_DEFAULTS,
});

/** What the `controller` command may set; anything left out takes its default. */
export interface ControllerConfigInput {
  data?: string | undefined;
  listen?: string | undefined;
  migrationsDir?: string | undefined;
  heartbeatIntervalMs?: number | undefined;
  rolloutTickIntervalMs?: number | undefined;
  rolloutReconnectGraceMs?: number | undefined;
  driftOfflineAfterMs?: number | undefined;
  driftEnforceIntervalMs?: number | undefined;
  driftSweepIntervalMs?: number | undefined;
  loginThrottle?: Partial<LoginThrottleOptions> | undefined;
  tlsRenewalCheckMs?: number | undefined;
  /** The operator's certificate (chain) and key, PEM; both or neither. */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** The CA that signed --tls-cert (default: the last certificate in that file). */
  tlsCa?: string | undefined;
  /** Extra names (DNS or IP) for the controller's own server certificate. */
  tlsSan?: readonly string[] | undefined;
  /** Serve plain HTTP: tokens and proxy passwords cross the network in clear. Loopback only unless the next is set. */
  insecurePlainHttp?: boolean | undefined;
  insecurePlainHttpAnyAddress?: boolean | undefined;
}

/** Whether a listen host only takes connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const SAN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/;

/** Turns the TLS flags into one setting; throws VALIDATION naming the flag that does not fit. */
export function resolveTlsSetting(input: ControllerConfigInput, listenHost: string): TlsSetting {
  const sans = input.tlsSan ?? [];
  for (const name of sans) {
    if (name.length > 253 || !SAN.test(name)) throw new FleetdockError('VALIDATION', `--tls-san ${JSON.stringify(name)} is not a DNS name or an IP address`);
  }
  if (input.insecurePlainHttp) {
    const clash = input.tlsCert !== undefined ? '--tls-cert' : input.tlsKey !== undefined ? '--tls-key' : input.tlsCa !== undefined ? '--tls-ca' : sans.length > 0 ? '--tls-san' : null;
    if (clash) throw new FleetdockError('VALIDATION', `--insecure-plain-http turns TLS off; ${clash} makes no sense with it`);
    if (!isLoopbackHost(listenHost) && !input.insecurePlainHttpAnyAddress) {
      throw new FleetdockError(
        'VALIDATION',
        `--insecure-plain-http on ${listenHost} would send join tokens, credentials and proxy passwords over the network in clear: listen on 127.0.0.1, drop the flag to serve HTTPS, or add --insecure-plain-http-any-address if a TLS proxy in front of the controller is the only way in`,
      );
    }
    return { mode: 'off' };
  }
  if (input.insecurePlainHttpAnyAddress) throw new FleetdockError('VALIDATION', '--insecure-plain-http-any-address only goes with --insecure-plain-http');
  if ((input.tlsCert === undefined) !== (input.tlsKey === undefined)) {
    throw new FleetdockError('VALIDATION', `${input.tlsCert === undefined ? '--tls-key' : '--tls-cert'} needs ${input.tlsCert === undefined ? '--tls-cert' : '--tls-key'} too`);
  }
  if (input.tlsCert !== undefined) {
    if (sans.length > 0) throw new FleetdockError('VALIDATION', '--tls-san is for the controller\'s own certificate; with --tls-cert the names are those in your certificate');
    return { mode: 'files', certPath: resolve(input.tlsCert), keyPath: resolve(input.tlsKey!), caPath: input.tlsCa === undefined ? null : resolve(input.tlsCa) };
  }
  if (input.tlsCa !== undefined) throw new FleetdockError('VALIDATION', '--tls-ca goes with --tls-cert and --tls-key');
  return { mode: 'auto', extraNames: Object.freeze([...sans]) };
}

/**
 * Parses `HOST:PORT` (or `[IPv6]:PORT`); throws VALIDATION naming the value when it is not one.
 */
export function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new FleetdockError('VALIDATION', `--listen ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:7700; port 0 picks a free one)`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

/**
 * Finds the `migrations/` directory shipped with this checkout: the first ancestor of this module's
 * directory that has one. Works from the TypeScript sources (controller/) and from dist/controller/.
 */
export function findMigrationsDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new FleetdockError('MIGRATION_FAILED', `cannot find the migrations/ directory above ${from}`);
    }
    dir = parent;
  }
}

/** Builds the frozen config from the operator's input and the defaults; throws VALIDATION on a bad value. */
export function resolveControllerConfig(input: ControllerConfigInput = {}): ControllerConfig {
  const heartbeatIntervalMs = input.heartbeatIntervalMs ?? CONTROLLER_DEFAULTS.heartbeatIntervalMs;
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 10) {
    throw new FleetdockError('VALIDATION', `heartbeat interval ${heartbeatIntervalMs} ms must be a whole number of at least 10 ms`);
  }
  const drift = (name: 'driftOfflineAfterMs' | 'driftEnforceIntervalMs' | 'driftSweepIntervalMs', min: number): number => {
    const value = input[name] ?? CONTROLLER_DEFAULTS[name];
    if (!Number.isInteger(value) || value < min) throw new FleetdockError('VALIDATION', `${name} ${value} must be a whole number of at least ${min} ms`);
    return value;
  };
  const rolloutTickIntervalMs = input.rolloutTickIntervalMs ?? CONTROLLER_DEFAULTS.rolloutTickIntervalMs;
  if (!Number.isInteger(rolloutTickIntervalMs) || rolloutTickIntervalMs < 10) {
    throw new FleetdockError('VALIDATION', `rollout tick interval ${rolloutTickIntervalMs} ms must be a whole number of at least 10 ms`);
  }
  const rolloutReconnectGraceMs = input.rolloutReconnectGraceMs ?? CONTROLLER_DEFAULTS.rolloutReconnectGraceMs;
  if (!Number.isInteger(rolloutReconnectGraceMs) || rolloutReconnectGraceMs < 0) {
    throw new FleetdockError('VALIDATION', `rollout reconnect grace ${rolloutReconnectGraceMs} ms must be a whole number of at least 0 ms`);
  }
  const data = input.data ?? CONTROLLER_DEFAULTS.dataDir;
  if (data.trim() === '') throw new FleetdockError('VALIDATION', '--data must not be empty');
  const listen = Object.freeze(parseListenAddress(input.listen ?? CONTROLLER_DEFAULTS.listen));
  return Object.freeze({
    dataDir: resolve(data),
    listen,
    tls: Object.freeze(resolveTlsSetting(input, listen.host)),
    tlsRenewalCheckMs: input.tlsRenewalCheckMs ?? CONTROLLER_DEFAULTS.tlsRenewalCheckMs,
    migrationsDir: resolve(input.migrationsDir ?? findMigrationsDir()),
    heartbeatIntervalMs,
    sqliteBusyTimeoutMs: CONTROLLER_DEFAULTS.sqliteBusyTimeoutMs,
    maxBodyBytes: CONTROLLER_DEFAULTS.maxBodyBytes,
    rolloutTickIntervalMs,
    rolloutReconnectGraceMs,
    driftOfflineAfterMs: drift('driftOfflineAfterMs', 0),
    driftEnforceIntervalMs: drift('driftEnforceIntervalMs', 0),
    driftSweepIntervalMs: drift('driftSweepIntervalMs', 10),
    loginThrottle: Object.freeze({ ...LOGIN_THROTTLE_DEFAULTS, ...input.loginThrottle }),
  });
}
