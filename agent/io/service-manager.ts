/**
 * Acts on dockerd: reload (SIGHUP) or restart, under systemd (`systemctl`) or, on hosts without
 * systemd, by signal to the pid in a pidfile and a restart command from the agent's own config.
 * Also reads dockerd's flags, which the planner checks for clashes. Never runs anything from the network.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { FleetdockError } from '../../protocol/errors.js';
import { parseExecStartProperty } from '../plan/flag-conflicts.js';

export type ServiceManager = {
  readonly kind: 'systemd' | 'signal';
  /** Asks dockerd to re-read daemon.json (SIGHUP). */
  reload(): Promise<void>;
  /** Restarts dockerd; `daemonReload` first makes systemd re-read unit drop-ins. */
  restart(options: { daemonReload: boolean }): Promise<void>;
  /** dockerd's running argv plus, under systemd, the unit's ExecStart words. */
  dockerdArgs(): Promise<string[]>;
  /** dockerd's pid, or null when it is not running. */
  dockerdPid(): Promise<number | null>;
};

type RunResult = { code: number; stdout: string; stderr: string };

function run(file: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (error && !stderr ? error.message : '') });
    });
  });
}

async function readCmdline(pid: number | null): Promise<string[]> {
  if (!pid) return [];
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

async function processName(pid: number): Promise<string | null> {
  try {
    return (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return null;
  }
}

function failIfNonZero(what: string, result: RunResult): void {
  if (result.code !== 0) {
    throw new FleetdockError('ACTION_FAILED', `${what} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500) || 'no output'}`);
  }
}

/** systemd: `systemctl reload|daemon-reload|restart <unit>`. */
export function createSystemdManager(unit = 'docker', timeoutMs = 90_000): ServiceManager {
  const systemctl = (...args: string[]) => run('systemctl', args, timeoutMs);
  const pid = async () => {
    const r = await systemctl('show', '--property=MainPID', '--value', unit);
    const n = Number(r.stdout.trim());
    return r.code === 0 && n > 0 ? n : null;
  };
  return {
    kind: 'systemd',
    async reload() {
      failIfNonZero(`systemctl reload ${unit}`, await systemctl('reload', unit));
    },
    async restart({ daemonReload }) {
      if (daemonReload) failIfNonZero('systemctl daemon-reload', await systemctl('daemon-reload'));
      // A unit that failed to start several times is held by systemd's start limit; clear it so a
      // restart (or a rollback's restart) is not refused for an old reason.
      await systemctl('reset-failed', unit);
      failIfNonZero(`systemctl restart ${unit}`, await systemctl('restart', unit));
    },
    async dockerdArgs() {
      const exec = await systemctl('show', '--property=ExecStart', '--value', unit);
      return [...(await readCmdline(await pid())), ...parseExecStartProperty(exec.stdout)];
    },
    dockerdPid: pid,
  };
}

/** No systemd: SIGHUP to the pid in `pidfile`; restart with `restartCommand` (from the agent's config). */
export function createSignalManager(pidfile: string, restartCommand: string | null, timeoutMs = 90_000): ServiceManager {
  const pid = async (): Promise<number | null> => {
    try {
      const n = Number((await fs.readFile(pidfile, 'utf8')).trim());
      if (!Number.isInteger(n) || n <= 0) return null;
      process.kill(n, 0);
      return n;
    } catch {
      return null;
    }
  };
  return {
    kind: 'signal',
    async reload() {
      const n = await pid();
      if (!n) throw new FleetdockError('ACTION_FAILED', `cannot reload dockerd: no running process for the pid in ${pidfile}`);
      // A stale pidfile can name any process; a SIGHUP would kill most of them.
      const name = await processName(n);
      if (name !== 'dockerd') throw new FleetdockError('ACTION_FAILED', `cannot reload dockerd: pid ${n} in ${pidfile} is ${name ? `'${name}'` : 'gone'}, not dockerd (stale pidfile?)`);
      process.kill(n, 'SIGHUP');
    },
    async restart() {
      if (!restartCommand) {
        throw new FleetdockError('ACTION_FAILED', 'dockerd needs a restart but the agent has no --restart-command (needed in signal mode)');
      }
      failIfNonZero(`restart command ${JSON.stringify(restartCommand)}`, await run('/bin/sh', ['-c', restartCommand], timeoutMs));
    },
    async dockerdArgs() {
      return readCmdline(await pid());
    },
    dockerdPid: pid,
  };
}
