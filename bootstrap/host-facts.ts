/**
 * Pure: what bootstrap learns about a host before it changes anything. Holds the two probe scripts
 * (one as the login user, one with root rights) and turns their `key=value` output into facts, the
 * problems that stop a bootstrap (`no dockerd on the host`, `sudo needs a password for user bob`),
 * and notes worth showing (live-restore off). Runs nothing itself.
 */
import { AGENT_PATHS } from './install-plan.js';

/** A standard PATH for scripts: sshd gives unprivileged users one without the sbin dirs. */
export const SCRIPT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Run as the login user: OS, architecture, name, who we are, PID 1, sudo. */
export const LOGIN_PROBE_SCRIPT = `PATH=${SCRIPT_PATH}; export PATH
echo "os=$(uname -s)"
echo "arch=$(uname -m)"
echo "nodename=$(uname -n)"
echo "uid=$(id -u)"
echo "user=$(id -un)"
echo "pid1=$(cat /proc/1/comm 2>/dev/null)"
if [ -d /run/systemd/system ]; then echo systemd_running=yes; else echo systemd_running=no; fi
if command -v sudo >/dev/null 2>&1; then
  echo sudo=present
  if [ "$(id -u)" != 0 ]; then
    if out=$(sudo -n true 2>&1 </dev/null); then echo sudo_ok=yes; else echo sudo_ok=no; echo "sudo_error=$(printf '%s' "$out" | grep -v 'unable to resolve host' | tail -n 1)"; fi
  fi
else
  echo sudo=absent
fi
`;

/** Run as root: dockerd, its state, and what of fleetdock is already installed. */
export const ROOT_PROBE_SCRIPT = `PATH=${SCRIPT_PATH}; export PATH
if command -v dockerd >/dev/null 2>&1; then
  echo "dockerd=$(command -v dockerd)"
  echo "dockerd_version=$(dockerd --version 2>&1 | head -n 1)"
else
  echo dockerd=
fi
echo "docker_active=$(systemctl is-active docker 2>/dev/null | head -n 1)"
if command -v docker >/dev/null 2>&1 && [ -S /run/docker.sock ]; then
  echo "docker_server_version=$(timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null)"
  echo "live_restore=$(timeout 10 docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)"
fi
if [ -f /etc/docker/daemon.json ]; then echo "daemon_json_b64=$(base64 -w 0 /etc/docker/daemon.json)"; fi
if [ -f ${AGENT_PATHS.binary} ]; then echo "agent_sha256=$(sha256sum ${AGENT_PATHS.binary} | cut -d ' ' -f 1)"; fi
if [ -f ${AGENT_PATHS.unit} ]; then echo "unit_b64=$(base64 -w 0 ${AGENT_PATHS.unit})"; fi
if [ -f ${AGENT_PATHS.env} ]; then echo "env_b64=$(base64 -w 0 ${AGENT_PATHS.env})"; fi
if [ -s ${AGENT_PATHS.stateDir}/credential.json ]; then echo agent_state=present; else echo agent_state=absent; fi
echo "agent_active=$(systemctl is-active fleetdock-agent 2>/dev/null | head -n 1)"
echo "agent_enabled=$(systemctl is-enabled fleetdock-agent 2>/dev/null | head -n 1)"
echo "agent_pid=$(systemctl show -p MainPID --value fleetdock-agent 2>/dev/null)"
`;

/** `key=value` lines into a map; later keys win, lines without `=` are ignored. */
export function parseProbeOutput(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    values.set(line.slice(0, eq).trim(), line.slice(eq + 1).replace(/\r$/, ''));
  }
  return values;
}

/** What the login probe says. */
export interface LoginFacts {
  os: string;
  arch: string;
  /** `uname -n`: the agent's default name. */
  nodename: string;
  uid: number;
  user: string;
  pid1: string;
  systemdRunning: boolean;
  /** Whether privileged commands must go through `sudo -n`. */
  needsSudo: boolean;
  /** Why root commands cannot run (no sudo, sudo wants a password), or null. */
  sudoProblem: string | null;
}

/** Facts and what stops a bootstrap here. */
export interface Interpreted<T> {
  facts: T;
  /** Each stops the host; shown as `check: <problem>`. */
  problems: string[];
  /** Worth knowing, not stopping. */
  notes: string[];
}

/**
 * Interprets the login probe. `agentArch` is the agent binary's architecture as `uname -m` spells
 * it (null when it cannot be told, e.g. a script).
 */
export function interpretLoginProbe(output: string, agentArch: string | null): Interpreted<LoginFacts> {
  const v = parseProbeOutput(output);
  const uid = Number(v.get('uid') ?? NaN);
  const facts: LoginFacts = {
    os: v.get('os') ?? '',
    arch: v.get('arch') ?? '',
    nodename: v.get('nodename') ?? '',
    uid,
    user: v.get('user') ?? '',
    pid1: v.get('pid1') ?? '',
    systemdRunning: v.get('systemd_running') === 'yes',
    needsSudo: uid !== 0,
    sudoProblem: null,
  };
  const problems: string[] = [];
  if (facts.os === '' || !Number.isInteger(uid)) {
    problems.push(`the host did not answer the probe like a POSIX shell (got ${JSON.stringify(output.slice(0, 200))})`);
    return { facts, problems, notes: [] };
  }
  if (facts.os !== 'Linux') problems.push(`the host runs ${facts.os}, not Linux`);
  if (agentArch !== null && facts.arch !== agentArch) problems.push(`the host's architecture is ${facts.arch}, the agent binary is for ${agentArch}`);
  if (facts.pid1 !== 'systemd' || !facts.systemdRunning) problems.push(`PID 1 is ${facts.pid1 || 'unknown'}, not systemd (the agent runs as a systemd service)`);
  if (facts.needsSudo) {
    if (v.get('sudo') !== 'present') facts.sudoProblem = `user ${facts.user} is not root and sudo is not installed`;
    else if (v.get('sudo_ok') !== 'yes') {
      const why = v.get('sudo_error') ?? '';
      facts.sudoProblem = /password/i.test(why) ? `sudo needs a password for user ${facts.user}` : `sudo -n true failed for user ${facts.user}${why ? `: ${why}` : ''}`;
    }
    if (facts.sudoProblem !== null) problems.push(facts.sudoProblem);
  }
  return { facts, problems, notes: [] };
}

/** What is installed of fleetdock's agent. */
export interface AgentInstallState {
  /** sha256 hex of /usr/local/bin/fleetdock-agent, or null when absent. */
  binarySha256: string | null;
  unitText: string | null;
  envText: string | null;
  /** The state dir holds a credential: the agent enrolled once. */
  statePresent: boolean;
  /** `systemctl is-active fleetdock-agent`. */
  active: boolean;
  /** `systemctl is-enabled fleetdock-agent` said enabled. */
  enabled: boolean;
  /** MainPID (0 when not running). */
  pid: number;
}

/** What the root probe says. */
export interface RootFacts {
  /** Path of dockerd, or null. */
  dockerd: string | null;
  /** dockerd's version, e.g. `20.10.24+dfsg1`, or null. */
  dockerVersion: string | null;
  /** `systemctl is-active docker`. */
  dockerActive: string;
  /** dockerd's live-restore (from `docker info`, else daemon.json; null = unknown). */
  liveRestore: boolean | null;
  /** /etc/docker/daemon.json's text, or null. */
  daemonJson: string | null;
  agent: AgentInstallState;
}

function decodeBase64(text: string | undefined): string | null {
  return text === undefined ? null : Buffer.from(text, 'base64').toString('utf8');
}

/** live-restore as daemon.json says it (null when unreadable or unset means dockerd's default, off). */
function liveRestoreFromDaemonJson(text: string | null): boolean | null {
  if (text === null) return false;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    return value['live-restore'] === true;
  } catch {
    return null;
  }
}

/** Interprets the root probe. */
export function interpretRootProbe(output: string): Interpreted<RootFacts> {
  const v = parseProbeOutput(output);
  const dockerd = v.get('dockerd') || null;
  const versionLine = v.get('dockerd_version') ?? '';
  const serverVersion = v.get('docker_server_version') || null;
  const dockerVersion = serverVersion ?? /version\s+([0-9][^,\s]*)/i.exec(versionLine)?.[1] ?? null;
  const daemonJson = decodeBase64(v.get('daemon_json_b64'));
  const fromInfo = v.get('live_restore');
  const liveRestore = fromInfo === 'true' ? true : fromInfo === 'false' ? false : liveRestoreFromDaemonJson(daemonJson);
  const pid = Number(v.get('agent_pid') ?? 0);
  const facts: RootFacts = {
    dockerd,
    dockerVersion,
    dockerActive: v.get('docker_active') || 'unknown',
    liveRestore,
    daemonJson,
    agent: {
      binarySha256: v.get('agent_sha256') || null,
      unitText: decodeBase64(v.get('unit_b64')),
      envText: decodeBase64(v.get('env_b64')),
      statePresent: v.get('agent_state') === 'present',
      active: v.get('agent_active') === 'active',
      enabled: v.get('agent_enabled') === 'enabled',
      pid: Number.isInteger(pid) ? pid : 0,
    },
  };
  const problems: string[] = [];
  const notes: string[] = [];
  if (dockerd === null) problems.push('no dockerd on the host');
  else if (dockerVersion === null) problems.push(`cannot tell dockerd's version (dockerd --version said ${JSON.stringify(versionLine)})`);
  if (dockerd !== null) {
    if (facts.dockerActive !== 'active') notes.push(`docker.service is ${facts.dockerActive}: the agent applies settings once dockerd runs`);
    if (liveRestore === true) notes.push('live-restore on: a dockerd restart keeps containers running');
    else if (liveRestore === false) notes.push('live-restore off: a dockerd restart (proxy changes) stops running containers');
    else notes.push('live-restore unknown');
  }
  return { facts, problems, notes };
}

/**
 * The architecture an ELF executable is for, as `uname -m` spells it (`x86_64`, `aarch64`), or null
 * when the bytes are not an ELF header (a script) or name another machine.
 */
export function elfArchitecture(header: Buffer): string | null {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return null;
  const littleEndian = header[5] === 1;
  const machine = littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18);
  const names: Record<number, string> = { 0x3e: 'x86_64', 0xb7: 'aarch64', 0x28: 'armv7l', 0x03: 'i686', 0xf3: 'riscv64', 0x15: 'ppc64le' };
  return names[machine] ?? null;
}
