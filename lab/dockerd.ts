/**
 * lab/dockerd.ts: a bare dockerd (20.10 or 26) as a lab "host" in its own short temp dir.
 *
 * Owns: the host's daemon.json (vfs, no iptables, no bridge, merged with the caller's keys), the
 * dockerd process and the containerd it spawns, a generated `restart.sh` for fleetdock's non-systemd
 * "signal" mode, and API/CLI access to that daemon. Several run side by side.
 * Must not: touch /etc/docker or /var/run/docker.sock of the machine, or outlive `stop()`.
 */

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDockerJson, pingDocker } from './http.js';
import { LAB_PATH, labPaths } from './paths.js';
import {
  childExited,
  killAndWait,
  onProcessExit,
  pidsWithArgument,
  runCommand,
  signalPid,
  spawnLogged,
  StopWaiting,
  waitUntil,
  isProcessAlive,
  type CommandResult,
} from './processes.js';
import { makeShortTempDir, removeTempDir } from './tempdir.js';

/** The daemon.json keys every lab dockerd needs on this machine (no overlayfs, no iptables, no bridge). */
export const LAB_DAEMON_JSON: Readonly<Record<string, unknown>> = Object.freeze({
  'storage-driver': 'vfs',
  iptables: false,
  bridge: 'none',
});

/** Options for {@link startBareDockerd}. */
export interface BareDockerdOptions {
  /** '20' = Debian 12's dockerd 20.10; '26' = Debian 13's dockerd 26.1 from the lab cache. */
  version: '20' | '26';
  /** Keys merged over {@link LAB_DAEMON_JSON} into the host's daemon.json. */
  daemonJson?: Record<string, unknown>;
  /** Extra environment for dockerd (e.g. HTTP_PROXY). The rest is a fixed minimal env, not the test's. */
  env?: Record<string, string>;
  /** Extra dockerd flags, after the lab's own. */
  extraArgs?: string[];
  /** How long to wait for `/_ping` (default 30 000 ms). */
  startTimeoutMs?: number;
}

/** A running bare dockerd. Paths are on this machine. */
export interface BareDockerd {
  /** The host's temp dir (`/tmp/fdl-XXXXXX`), removed by `stop()`. */
  root: string;
  version: '20' | '26';
  socketPath: string;
  /** `unix://` + socketPath, for `docker -H` or DOCKER_HOST. */
  dockerHost: string;
  pidfile: string;
  /** `ROOT/etc/docker/daemon.json`, what dockerd reads on start and on SIGHUP. */
  daemonJsonPath: string;
  /** dockerd's stdout+stderr, appended across restarts. */
  logPath: string;
  /**
   * `ROOT/restart.sh`: stops this dockerd and starts it again detached with the same arguments and env;
   * exits 0 once `/_ping` answers, non-zero when dockerd exits or is not up within 20 s.
   */
  restartCommand: string;
  /** dockerd's current pid, from its pidfile (it changes after a restart); throws when it is not running. */
  pid(): number;
  /** `GET /info`: the effective settings (`RegistryConfig.Mirrors`, `HttpProxy`, `ServerVersion`, ...). */
  info(): Promise<any>;
  /** Runs the docker CLI against this daemon; resolves with the exit code and output, never rejects on failure. */
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<CommandResult>;
  /** Reads and parses daemon.json. */
  readDaemonJson(): Record<string, unknown>;
  /** Writes `config` as the whole daemon.json (keep {@link LAB_DAEMON_JSON}'s keys if dockerd must restart). */
  writeDaemonJson(config: Record<string, unknown>): void;
  /** Sends SIGHUP: dockerd reloads mirrors and insecure registries from daemon.json. */
  reload(): void;
  /** Stops dockerd (whichever pid it has now), its containerd and shims, and removes `root`. */
  stop(): Promise<void>;
}

/**
 * Starts a bare dockerd of `version` in a fresh `/tmp/fdl-*` dir and resolves once `GET /_ping` says OK.
 * Rejects with the tail of dockerd's log (and cleans up) when it exits or does not come up.
 */
export async function startBareDockerd(opts: BareDockerdOptions): Promise<BareDockerd> {
  const root = makeShortTempDir();
  const dockerd = opts.version === '26' ? labPaths.dockerd26 : labPaths.dockerd20;
  const socketPath = join(root, 'docker.sock');
  const pidfile = join(root, 'docker.pid');
  const daemonJsonPath = join(root, 'etc', 'docker', 'daemon.json');
  const logPath = join(root, 'dockerd.log');
  const restartCommand = join(root, 'restart.sh');
  mkdirSync(join(root, 'etc', 'docker'), { recursive: true });
  mkdirSync(join(root, 'client'));
  writeFileSync(daemonJsonPath, JSON.stringify({ ...LAB_DAEMON_JSON, ...opts.daemonJson }, null, 2) + '\n');

  // dockerd 26 finds its docker-init/docker-proxy in the cache; containerd and runc come from Debian 12.
  const path = opts.version === '26'
    ? `${join(labPaths.docker26Root, 'usr/sbin')}:${join(labPaths.docker26Root, 'usr/bin')}:${LAB_PATH}`
    : LAB_PATH;
  const env: Record<string, string> = { PATH: path, HOME: root, ...opts.env };
  const args = [
    '--config-file', daemonJsonPath,
    '--data-root', join(root, 'data'),
    '--exec-root', join(root, 'exec'),
    '-H', `unix://${socketPath}`,
    '--pidfile', pidfile,
    ...(opts.extraArgs ?? []),
  ];
  writeFileSync(restartCommand, renderRestartScript({ dockerd, args, env, pidfile, socketPath, logPath }));
  chmodSync(restartCommand, 0o755);

  const child = spawnLogged(dockerd, args, { logPath, env });
  const firstPid = child.pid!;
  const readPid = (): number | undefined => {
    try {
      const n = Number(readFileSync(pidfile, 'utf8').trim());
      return n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  // Last resort if the test process dies first: everything whose command line names this dir.
  const unregister = onProcessExit(() => {
    for (const pid of pidsWithArgument(root + '/')) signalPid(pid, 'SIGKILL');
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pid = readPid() ?? (isProcessAlive(firstPid) ? firstPid : undefined);
    // dockerd first and gracefully: it stops its containers and its containerd itself.
    if (pid !== undefined) await killAndWait(pid, { timeoutMs: 20_000 });
    // Then whatever is left that belongs to this host: containerd, shims, a restart.sh mid-way.
    await Promise.all(pidsWithArgument(root + '/').map((p) => killAndWait(p, { timeoutMs: 10_000 })));
    await childExited(child);
    unregister();
    await removeTempDir(root);
  };

  try {
    await waitUntil(
      `dockerd ${opts.version} on ${socketPath}`,
      async () => {
        if (!isProcessAlive(firstPid)) {
          throw new StopWaiting(new Error(`dockerd ${opts.version} exited during start; log tail:\n${log().slice(-3000)}`));
        }
        return pingDocker(socketPath);
      },
      { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 50 },
    );
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    root,
    version: opts.version,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    pidfile,
    daemonJsonPath,
    logPath,
    restartCommand,
    pid: () => {
      const pid = readPid();
      if (pid === undefined || !isProcessAlive(pid)) throw new Error(`dockerd in ${root} is not running (pidfile ${pidfile})`);
      return pid;
    },
    info: () => getDockerJson(socketPath, '/info'),
    docker: (dockerArgs, o = {}) =>
      runCommand(labPaths.dockerCli, ['-H', `unix://${socketPath}`, ...dockerArgs], {
        env: { PATH: LAB_PATH, HOME: root, DOCKER_CONFIG: join(root, 'client') },
        timeoutMs: o.timeoutMs ?? 120_000,
      }),
    readDaemonJson: () => JSON.parse(readFileSync(daemonJsonPath, 'utf8')),
    writeDaemonJson: (config) => writeFileSync(daemonJsonPath, JSON.stringify(config, null, 2) + '\n'),
    reload: () => {
      const pid = readPid();
      if (pid === undefined || !signalPid(pid, 'SIGHUP')) throw new Error(`dockerd in ${root} is not running`);
    },
    stop,
  };
}

/** Quotes `s` for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The restart script: TERM the pidfile's dockerd, wait, start it again detached, wait for `/_ping`. */
function renderRestartScript(p: {
  dockerd: string;
  args: string[];
  env: Record<string, string>;
  pidfile: string;
  socketPath: string;
  logPath: string;
}): string {
  const envArgs = Object.entries(p.env).map(([k, v]) => shellQuote(`${k}=${v}`)).join(' ');
  const command = [p.dockerd, ...p.args].map(shellQuote).join(' ');
  return `#!/bin/sh
# Generated by fleetdock lab/dockerd.ts: restarts the lab dockerd of this dir, as a service manager
# would. Stops it (TERM to the pid in its pidfile, wait, KILL after 30 s), starts it again detached with
# the same arguments and environment, and exits 0 once /_ping answers OK; non-zero when dockerd exits
# during start (e.g. daemon.json is invalid) or is not up within 20 s. dockerd's output: the log below.
set -u
PATH=${shellQuote(LAB_PATH)}
export PATH
pidfile=${shellQuote(p.pidfile)}
sock=${shellQuote(p.socketPath)}
log=${shellQuote(p.logPath)}

# alive PID: the process exists and is not a zombie.
alive() {
  s=$(sed -n 's/^.*) \\(.\\).*$/\\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

old=$(cat "$pidfile" 2>/dev/null || true)
if [ -n "$old" ] && alive "$old"; then
  kill -TERM "$old"
  i=0
  while alive "$old"; do
    i=$((i + 1))
    [ "$i" -eq 300 ] && kill -KILL "$old"
    sleep 0.1
  done
fi

echo "--- restart.sh: starting dockerd again ($(date -u +%FT%TZ)) ---" >> "$log"
setsid env -i ${envArgs} ${command} < /dev/null >> "$log" 2>&1 &
new=$!
i=0
while [ "$i" -lt 200 ]; do
  if ! alive "$new"; then
    echo "restart.sh: dockerd exited during start; last lines of $log:" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
  if [ "$(curl -s -m 1 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]; then
    exit 0
  fi
  i=$((i + 1))
  sleep 0.1
done
echo "restart.sh: dockerd (pid $new) not up after 20 s; see $log" >&2
exit 1
`;
}
