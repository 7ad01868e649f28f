/**
 * The agent's configuration, read once from its command line into a frozen object. Nothing else in
 * the agent reads argv or the environment. Defaults are written out with their units.
 */
import { hostname } from 'node:os';
import { HostNameSchema } from '../protocol/messages.js';

export type AgentConfig = Readonly<{
  /** Controller base URL, http(s)://host:port. */
  controller: string;
  /** Join token, used once when the state dir holds no credential yet. */
  joinToken: string | null;
  /** A CA file to trust for an https controller instead of the pin in the join token (e.g. a company PKI). */
  caFile: string | null;
  /** Where the credential and state live. */
  stateDir: string;
  /** Prefix for every host path (`/` on a real host). */
  root: string;
  /** dockerd's API socket, `unix:///PATH`. */
  dockerHost: string;
  serviceManager: 'systemd' | 'signal';
  /** systemd unit of dockerd. */
  dockerUnit: string;
  /** signal mode: dockerd's pidfile. */
  pidfile: string;
  /** signal mode: command that restarts dockerd (run with /bin/sh -c). */
  restartCommand: string | null;
  /** The host's name in the fleet. */
  name: string;
  /** How long dockerd may take to show new settings, milliseconds. */
  verifyTimeoutMs: number;
  /** Period of the full drift check (files and GET /info), milliseconds; file and daemon events come at once. */
  checkIntervalMs: number;
  /** Quiet time after a file event before the drift check, milliseconds. */
  watchDebounceMs: number;
}>;

export const AGENT_DEFAULTS = Object.freeze({
  stateDir: '/var/lib/fleetdock-agent',
  root: '/',
  dockerHost: 'unix:///var/run/docker.sock',
  dockerUnit: 'docker',
  pidfile: '/var/run/docker.pid',
  verifyTimeoutMs: 30_000,
  checkIntervalMs: 30_000,
  watchDebounceMs: 150,
});

export type AgentArgs = {
  controller?: string | undefined;
  'join-token'?: string | undefined;
  'ca-file'?: string | undefined;
  'state-dir'?: string | undefined;
  root?: string | undefined;
  'docker-host'?: string | undefined;
  'service-manager'?: string | undefined;
  'docker-unit'?: string | undefined;
  pidfile?: string | undefined;
  'restart-command'?: string | undefined;
  name?: string | undefined;
  'verify-timeout'?: string | undefined;
  'check-interval'?: string | undefined;
};

/** Builds the config; throws an Error naming the bad option. `systemdRunning` picks the default manager. */
export function buildAgentConfig(args: AgentArgs, systemdRunning: boolean): AgentConfig {
  if (!args.controller) throw new Error('--controller URL is required (e.g. --controller https://controller:7700)');
  let url: URL;
  try {
    url = new URL(args.controller);
  } catch {
    throw new Error(`--controller ${JSON.stringify(args.controller)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--controller ${args.controller} must be http:// or https://`);
  const manager = args['service-manager'] ?? (systemdRunning ? 'systemd' : 'signal');
  if (manager !== 'systemd' && manager !== 'signal') throw new Error(`--service-manager must be systemd or signal, not ${JSON.stringify(manager)}`);
  const dockerHost = args['docker-host'] ?? AGENT_DEFAULTS.dockerHost;
  if (!dockerHost.startsWith('unix://')) throw new Error(`--docker-host ${dockerHost} must be unix:///path/to/docker.sock`);
  const name = args.name ?? hostname();
  const nameCheck = HostNameSchema.safeParse(name);
  if (!nameCheck.success) throw new Error(`--name ${JSON.stringify(name)}: ${nameCheck.error.issues[0]?.message}`);
  const verifySeconds = args['verify-timeout'] === undefined ? AGENT_DEFAULTS.verifyTimeoutMs / 1000 : Number(args['verify-timeout']);
  if (!Number.isFinite(verifySeconds) || verifySeconds <= 0) throw new Error('--verify-timeout must be a positive number of seconds');
  const checkSeconds = args['check-interval'] === undefined ? AGENT_DEFAULTS.checkIntervalMs / 1000 : Number(args['check-interval']);
  if (!Number.isFinite(checkSeconds) || checkSeconds < 0.1 || checkSeconds > 86_400) throw new Error('--check-interval must be a number of seconds from 0.1 to 86400');
  return Object.freeze({
    controller: url.origin,
    joinToken: args['join-token'] ?? null,
    caFile: args['ca-file'] ?? null,
    stateDir: args['state-dir'] ?? AGENT_DEFAULTS.stateDir,
    root: args.root ?? AGENT_DEFAULTS.root,
    dockerHost,
    serviceManager: manager,
    dockerUnit: args['docker-unit'] ?? AGENT_DEFAULTS.dockerUnit,
    pidfile: args.pidfile ?? AGENT_DEFAULTS.pidfile,
    restartCommand: args['restart-command'] ?? null,
    name,
    verifyTimeoutMs: Math.round(verifySeconds * 1000),
    checkIntervalMs: Math.round(checkSeconds * 1000),
    watchDebounceMs: AGENT_DEFAULTS.watchDebounceMs,
  });
}
