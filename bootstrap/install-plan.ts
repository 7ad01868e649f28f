/**
 * Pure: what bootstrap installs on a host and whether anything must change. Names the fixed paths,
 * renders and reads /etc/fleetdock/agent.env, checks the agent unit read from the checkout, and plans
 * one host from what is installed there and what the controller knows about it: mint a join token or
 * not, which files to write, whether systemd must reload, enable, start or restart the agent, or why
 * bootstrap must not touch the host. Writes nothing; ssh-session.ts and bootstrap-host.ts act.
 */
import type { AgentInstallState } from './host-facts.js';

/** Where the agent lives on a host. Fixed: nothing here comes from the network or an inventory. */
export const AGENT_PATHS = Object.freeze({
  binary: '/usr/local/bin/fleetdock-agent',
  unit: '/etc/systemd/system/fleetdock-agent.service',
  unitName: 'fleetdock-agent',
  env: '/etc/fleetdock/agent.env',
  stateDir: '/var/lib/fleetdock-agent',
});

const ENV_HEADER = '# Written by fleetdock bootstrap: the options fleetdock-agent.service passes to the agent.\n';
const ENV_VARIABLE = 'FLEETDOCK_AGENT_OPTS';
/**
 * The join token goes in the environment, never in the options: ExecStart's arguments are in
 * /proc/PID/cmdline, which every local user can read; the environment (/proc/PID/environ) only root.
 */
const TOKEN_VARIABLE = 'FLEETDOCK_JOIN_TOKEN';
/** What an option value may hold: no whitespace, quotes, backslashes, `$`, `#` or control characters. */
const OPTION_VALUE_RE = /^[A-Za-z0-9._~:/?[\]@&+,=%-]+$/;

/** What the agent is started with. */
export interface AgentOptions {
  /** The controller URL as the host reaches it. */
  controller: string;
  /** Only until the agent has enrolled; null afterwards. */
  joinToken: string | null;
  name: string;
}

/**
 * Renders agent.env: `FLEETDOCK_AGENT_OPTS=--controller URL --name NAME`, and `FLEETDOCK_JOIN_TOKEN=TOKEN`
 * until the agent has enrolled (the agent reads it from its environment, so it is in no process list).
 * systemd splits `$FLEETDOCK_AGENT_OPTS` on whitespace, so a value that could break the split is
 * refused (throws, naming the option but never a token's value).
 */
export function renderAgentEnv(options: AgentOptions): string {
  const parts: [string, string][] = [['--controller', options.controller], ['--name', options.name]];
  for (const [flag, value] of parts) {
    if (!OPTION_VALUE_RE.test(value)) {
      throw new Error(`${flag} ${JSON.stringify(value)} holds a character that cannot go into ${AGENT_PATHS.env} (whitespace, a quote, a backslash, $ or #)`);
    }
  }
  if (options.joinToken !== null && !OPTION_VALUE_RE.test(options.joinToken)) {
    throw new Error(`the join token holds a character that cannot go into ${AGENT_PATHS.env} (whitespace, a quote, a backslash, $ or #)`);
  }
  const token = options.joinToken === null ? '' : `${TOKEN_VARIABLE}=${options.joinToken}\n`;
  return `${ENV_HEADER}${ENV_VARIABLE}=${parts.map(([flag, value]) => `${flag} ${value}`).join(' ')}\n${token}`;
}

/** What an agent.env says (null when it has no FLEETDOCK_AGENT_OPTS line). */
export interface ParsedAgentEnv {
  controller: string | null;
  name: string | null;
  hasJoinToken: boolean;
}

/** Reads agent.env's options (`--flag value` and `--flag=value`; quotes around the whole value). */
export function parseAgentEnv(text: string | null): ParsedAgentEnv | null {
  if (text === null) return null;
  const line = text.split('\n').find((l) => l.trimStart().startsWith(`${ENV_VARIABLE}=`));
  if (line === undefined) return null;
  let value = line.trimStart().slice(ENV_VARIABLE.length + 1).trim();
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  if (quoted) value = quoted[1]!;
  const words = value.split(/\s+/).filter((w) => w !== '');
  const parsed: ParsedAgentEnv = { controller: null, name: null, hasJoinToken: text.split('\n').some((l) => l.trimStart().startsWith(`${TOKEN_VARIABLE}=`)) };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const flag = eq === -1 ? word : word.slice(0, eq);
    const take = () => (eq === -1 ? (words[++i] ?? null) : word.slice(eq + 1));
    if (flag === '--controller') parsed.controller = take();
    else if (flag === '--name') parsed.name = take();
    else if (flag === '--join-token') {
      take();
      parsed.hasJoinToken = true;
    }
  }
  return parsed;
}

/**
 * Checks the agent unit read from the checkout: it must start the single-executable agent at
 * AGENT_PATHS.binary with `$FLEETDOCK_AGENT_OPTS` from AGENT_PATHS.env. Returns the problem, or null.
 * (A unit that still runs `node`, say, would fail on a host without node.)
 */
export function checkAgentUnit(text: string): string | null {
  const execStart = text.split('\n').map((l) => l.trim()).filter((l) => /^ExecStart\s*=/.test(l)).map((l) => l.replace(/^ExecStart\s*=\s*/, '')).filter((l) => l !== '').at(-1);
  if (execStart === undefined) return 'it has no ExecStart= line';
  const program = execStart.replace(/^[-@:+!]+/, '').split(/\s+/)[0];
  if (program !== AGENT_PATHS.binary) return `its ExecStart runs ${program}, not ${AGENT_PATHS.binary}`;
  if (!/\$\{?FLEETDOCK_AGENT_OPTS\}?/.test(execStart)) return `its ExecStart does not pass $${ENV_VARIABLE}`;
  if (!text.split('\n').some((l) => l.trim().replace(/^EnvironmentFile\s*=\s*-?/, '') === AGENT_PATHS.env && /^EnvironmentFile\s*=/.test(l.trim()))) {
    return `it does not read EnvironmentFile=${AGENT_PATHS.env}`;
  }
  return null;
}

/** The host as the controller knows it (by name). */
export type ControllerHostState =
  | { exists: false }
  | { exists: true; group: string; connected: boolean; revoked: boolean; status: string };

/** What planInstall decides from. */
export interface InstallInput {
  installed: AgentInstallState;
  /** sha256 hex of the agent binary to install. */
  binarySha256: string;
  /** The unit text from the checkout. */
  unitText: string;
  /** The controller URL the agent should use. */
  controller: string;
  /** The host's name in the fleet. */
  name: string;
  /** The group the operator asked for. */
  group: string;
  host: ControllerHostState;
}

/** What to do on one host. */
export type InstallPlan =
  | { kind: 'refuse'; reason: string }
  | {
      kind: 'install';
      /** A join token is needed: the host has not enrolled yet. */
      mintToken: boolean;
      writeBinary: boolean;
      writeUnit: boolean;
      /** Write agent.env (with the new join token when mintToken). */
      writeEnv: boolean;
      daemonReload: boolean;
      enable: boolean;
      /** What happens to the running agent. */
      service: 'none' | 'start' | 'restart';
      /** Human list of what changes, empty when nothing does. */
      changes: string[];
    };

/**
 * Plans one host. Refuses (touching nothing) when the host and the controller disagree about its
 * enrolment: agent state without a host on the controller, a host on the controller without agent
 * state, a revoked host, or a host enrolled in another group. Otherwise writes only what differs.
 */
export function planInstall(input: InstallInput): InstallPlan {
  const { installed, host, name, group } = input;
  if (installed.statePresent) {
    if (!host.exists) {
      return { kind: 'refuse', reason: `the host has agent state (${AGENT_PATHS.stateDir}) but the controller has no host ${name}: it was removed, or enrolled with another controller; run fleetdock uninstall on it first, then bootstrap again` };
    }
    if (host.revoked) return { kind: 'refuse', reason: `host ${name} is revoked on the controller; to enrol it again: fleetdock host remove ${name}, fleetdock uninstall on the host, then bootstrap` };
    if (host.group !== group) return { kind: 'refuse', reason: `host ${name} is enrolled in group ${host.group}, not ${group}; bootstrap does not move hosts between groups` };
  } else if (host.exists) {
    return {
      kind: 'refuse',
      reason: `the controller already has a host ${name}, but this host has no agent state (${AGENT_PATHS.stateDir}); if it was reinstalled: fleetdock host revoke ${name} && fleetdock host remove ${name}, then bootstrap again (or give it another name)`,
    };
  }
  const mintToken = !installed.statePresent;
  const env = parseAgentEnv(installed.envText);
  const optionsChanged = env === null || env.controller !== input.controller || env.name !== name;
  // A token left from an enrolment (a run interrupted after it): spent, so it goes; the agent, which
  // has its credential, need not restart for that.
  const dropSpentToken = installed.statePresent && env !== null && env.hasJoinToken;
  const writeEnv = mintToken || optionsChanged || dropSpentToken;
  const writeBinary = installed.binarySha256 !== input.binarySha256;
  const writeUnit = installed.unitText !== input.unitText;
  const enable = !installed.enabled;
  const service = !installed.active ? 'start' : writeBinary || writeUnit || mintToken || optionsChanged ? 'restart' : 'none';
  const changes = [
    ...(writeBinary ? [AGENT_PATHS.binary] : []),
    ...(writeUnit ? [AGENT_PATHS.unit] : []),
    ...(writeEnv ? [AGENT_PATHS.env] : []),
    ...(enable ? ['enable fleetdock-agent'] : []),
    ...(service !== 'none' ? [`${service} fleetdock-agent`] : []),
  ];
  return { kind: 'install', mintToken, writeBinary, writeUnit, writeEnv, daemonReload: writeUnit, enable, service, changes };
}
