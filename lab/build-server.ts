/**
 * lab/build-server.ts: a real build server (systemd as PID 1, Debian's docker.service) in systemd-nspawn.
 *
 * Owns: booting one server from the cached rootfs with a throw-away overlay (`--volatile=overlay`),
 * waiting until docker.service is active and its socket answers (or, for a server without dockerd,
 * until systemd has booted), sshd with its own host key and login users (root, sudo with and without
 * a password, no sudo), running commands and long-running processes inside (nsenter into all its
 * namespaces), reading and writing its files, and shutting it down. It shares this machine's network
 * and loopback, so an agent inside reaches 127.0.0.1 here. Several run at once, each with its own name.
 * Must not: change the cached rootfs, or outlive `stop()`.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn as spawnChild } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDockerJson, pingDocker } from './http.js';
import { LAB_PATH, labPaths } from './paths.js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  childExited,
  childPids,
  isProcessAlive,
  killAndWait,
  onProcessExit,
  processName,
  runCommand,
  signalPid,
  spawnLogged,
  StopWaiting,
  waitForExit,
  waitUntil,
  type CommandResult,
} from './processes.js';
import { makeShortTempDir, removeTempDir } from './tempdir.js';

/** A host path mounted into the server. */
export interface BuildServerBind {
  /** Path on this machine. */
  host: string;
  /** Path inside the server. */
  inside: string;
  /** Default false. */
  readOnly?: boolean;
}

/** Options for {@link startBuildServer}. */
export interface BuildServerOptions {
  /** Machine name and hostname inside (letters, digits, `-`); distinct among servers running at once. */
  name: string;
  /** Extra mounts, e.g. the fleetdock checkout at /opt/fleetdock read-only. /usr/bin/node is always mounted. */
  binds?: BuildServerBind[];
  /**
   * Text of `/etc/systemd/system/docker.service.d/10-lab.conf`, in place before docker starts, e.g. an
   * `ExecStart=` override that passes `--registry-mirror` as a flag, the way Puppet-managed hosts do.
   * That drop-in dir is a writable bind of a host dir, so drop-ins written inside land there too.
   */
  dockerUnitDropIn?: string;
  /** Also start sshd inside on this port (the server shares this machine's network). Default: no sshd. */
  sshPort?: number;
  /**
   * With `sshPort`: give this server host keys of its own (a fresh ed25519 key; the others removed)
   * before sshd starts, as a real host has. Default: the rootfs's keys, the same in every server.
   */
  sshOwnHostKey?: boolean;
  /**
   * Login users, set up before sshd starts: `root` or a new user (with a home dir), each with these
   * authorized keys and, for users other than root, sudo `nopasswd` (NOPASSWD: ALL), `password`
   * (ALL, but with a password set, so `sudo -n` refuses) or `none` (not in sudoers). Default: none.
   */
  sshUsers?: BuildServerSshUser[];
  /**
   * false: no dockerd at all (docker.service and docker.socket masked, dockerd and the docker CLI
   * removed); the server is ready when systemd has booted. Default true.
   */
  docker?: boolean;
  /** false: /usr/bin/node is not mounted (as on a real build server). Default true. */
  bindNode?: boolean;
  /** How long to wait for docker to be up (default 90 000 ms). */
  bootTimeoutMs?: number;
}

/** A login user of a build server's sshd (see BuildServerOptions.sshUsers). */
export interface BuildServerSshUser {
  /** `root`, or a user made at boot (letters, digits, `_`, `-`). */
  name: string;
  /** Lines of `~/.ssh/authorized_keys` (OpenSSH public keys). */
  authorizedKeys: string[];
  /** For users other than root (default `none`). */
  sudo?: 'nopasswd' | 'password' | 'none';
}

/** Options for commands run inside. */
export interface BuildServerExecOptions {
  /** Added to the inside environment (PATH=standard, HOME=/root, LANG=C.UTF-8). */
  env?: Record<string, string>;
  /** Working directory inside. Default `/`. */
  cwd?: string;
  /** Written to stdin, then closed (exec only). */
  input?: string | Buffer;
  /** Killed after this long (default 120 000 ms; exec only). */
  timeoutMs?: number;
}

/** A running build server. */
export interface BuildServer {
  name: string;
  /** pid of systemd-nspawn on this machine. */
  nspawnPid: number;
  /** pid (on this machine) of the server's PID 1, systemd: the target for nsenter. */
  leaderPid: number;
  /** Host temp dir with the console log and the docker.service.d drop-in dir. Removed by `stop()`. */
  hostDir: string;
  /** The server's console output (systemd boot messages). */
  consoleLogPath: string;
  /** Host dir bound at /etc/systemd/system/docker.service.d inside, when `dockerUnitDropIn` was given. */
  dropInDir?: string;
  /**
   * Runs a command inside (all of the server's namespaces). A string runs with `sh -c`. Resolves with
   * the exit code and output; never rejects on a non-zero exit.
   */
  exec(cmd: string[] | string, opts?: BuildServerExecOptions): Promise<CommandResult>;
  /**
   * Starts a long-running process inside (e.g. the agent) with its stdio piped to the caller. The
   * returned process is `nsenter` on this machine, but its `kill(signal)` signals the process inside,
   * and its exit code or signal is that process's. If nsenter dies anyway, the process inside gets
   * SIGTERM (parent-death signal). `stop()` ends whatever is still running.
   */
  spawn(argv: string[], opts?: BuildServerExecOptions): ChildProcess;
  /** Reads a file inside; rejects when it cannot. */
  readFile(path: string): Promise<string>;
  /** Writes a file inside atomically (temp file + rename), creating its dir; rejects when it cannot. */
  writeFile(path: string, text: string): Promise<void>;
  /** MainPID of docker.service, as a pid inside the server (0 when docker is not running). */
  dockerdPid(): Promise<number>;
  /** `GET /info` of the server's dockerd (/run/docker.sock inside). */
  info(): Promise<any>;
  /** Shuts the server down (SIGTERM to nspawn: a clean poweroff), SIGKILL after 30 s; removes `hostDir`. */
  stop(): Promise<void>;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * Sets up one ssh login user: $LAB_USER (made with a home dir unless root), authorized_keys from
 * stdin, and sudo as $LAB_SUDO says (a random password for `password`, so `sudo -n` must refuse).
 */
const SSH_USER_SCRIPT = `set -eu
u="$LAB_USER"
if [ "$u" != root ] && [ "$LAB_SUDO" != none ] && ! command -v sudo >/dev/null 2>&1; then
  echo "sudo is not in the build-server rootfs: run bash lab/install.sh (it rebuilds the rootfs)" >&2
  exit 1
fi
if [ "$u" = root ]; then home=/root; else
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  home=$(getent passwd "$u" | cut -d: -f6)
fi
install -d -m 0700 -o "$u" -g "$(id -gn "$u")" "$home/.ssh"
cat > "$home/.ssh/authorized_keys"
chown "$u:$(id -gn "$u")" "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"
rm -f "/etc/sudoers.d/lab-$u"
case "$u:$LAB_SUDO" in
  root:*) ;;
  *:nopasswd) echo "$u ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/lab-$u" ;;
  *:password)
    echo "$u ALL=(ALL) ALL" > "/etc/sudoers.d/lab-$u"
    echo "$u:$(head -c 12 /dev/urandom | base64)" | chpasswd ;;
esac
if [ -f "/etc/sudoers.d/lab-$u" ]; then chmod 0440 "/etc/sudoers.d/lab-$u"; fi
`;

/**
 * Boots a build server from the lab's cached rootfs and resolves once `systemctl is-active docker`
 * says `active` inside and its docker socket answers `_ping`. Rejects (after shutting it down) with
 * the console log tail when it does not boot, or with docker's journal when docker.service fails.
 */
export async function startBuildServer(opts: BuildServerOptions): Promise<BuildServer> {
  if (!NAME_RE.test(opts.name)) throw new Error(`build server name "${opts.name}" must be letters, digits and -`);
  for (const u of opts.sshUsers ?? []) {
    if (!USER_RE.test(u.name)) throw new Error(`ssh user "${u.name}" must be letters, digits, _ and -`);
    if (u.authorizedKeys.some((k) => k.includes('\n'))) throw new Error(`an authorized key of ${u.name} spans lines`);
  }
  const withDocker = opts.docker !== false;
  for (const b of opts.binds ?? []) {
    if (b.host.includes(':') || b.inside.includes(':')) throw new Error(`bind paths must not contain ':': ${b.host}`);
    if (!existsSync(b.host)) throw new Error(`bind source ${b.host} does not exist`);
  }
  warnAboutInotifyLimit();
  const started = Date.now();
  const hostDir = makeShortTempDir();
  const consoleLogPath = join(hostDir, 'console.log');
  const args = [
    '-D', labPaths.baseRootfs,
    '-M', opts.name,
    '--volatile=overlay',
    // dockerd and containerd cannot keep their state on the overlay ("invalid cross-device link").
    '--tmpfs=/var/lib/docker',
    '--tmpfs=/var/lib/containerd',
    '--boot',
    '--register=no',
    '--keep-unit',
    '--capability=all',
  ];
  if (opts.bindNode !== false) args.push(`--bind-ro=${labPaths.node}:/usr/bin/node`);
  // A unit file that is /dev/null is masked: systemd never starts it.
  if (!withDocker) args.push('--bind-ro=/dev/null:/etc/systemd/system/docker.service', '--bind-ro=/dev/null:/etc/systemd/system/docker.socket');
  for (const b of opts.binds ?? []) args.push(`${b.readOnly ? '--bind-ro' : '--bind'}=${b.host}:${b.inside}`);
  let dropInDir: string | undefined;
  if (opts.dockerUnitDropIn !== undefined) {
    dropInDir = join(hostDir, 'docker.service.d');
    mkdirSync(dropInDir);
    writeFileSync(join(dropInDir, '10-lab.conf'), opts.dockerUnitDropIn);
    args.push(`--bind=${dropInDir}:/etc/systemd/system/docker.service.d`);
  }

  const nspawn = spawnLogged(labPaths.systemdNspawn, args, {
    logPath: consoleLogPath,
    env: { PATH: LAB_PATH, SYSTEMD_LOG_COLOR: '0', SYSTEMD_COLORS: '0' },
  });
  const nspawnPid = nspawn.pid!;
  let leaderPid = 0;
  // The nsenter processes of exec() and spawn() still running: stop() ends them before shutdown.
  const insideChildren = new Set<ChildProcess>();
  const track = (child: ChildProcess): void => {
    insideChildren.add(child);
    child.once('exit', () => insideChildren.delete(child));
    signalInsideOnKill(child);
  };
  const unregister = onProcessExit(() => {
    if (leaderPid) signalPid(leaderPid, 'SIGKILL');
    signalPid(nspawnPid, 'SIGKILL');
  });
  const consoleTail = (): string => {
    try {
      return readFileSync(consoleLogPath, 'utf8').slice(-3000);
    } catch {
      return '';
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // First what exec()/spawn() started: at poweroff systemd SIGSTOPs every process in the server,
    // and nsenter, which mirrors its child's stop, would then stop itself for good, never reap its
    // child, and make systemd wait 90 s for that zombie.
    await Promise.all([...insideChildren].map(stopInsideChild));
    // SIGTERM makes nspawn ask systemd inside for a clean poweroff.
    if (!(await stopGently(nspawnPid, 30_000))) {
      // Killing nspawn alone would leave the server's processes running: kill its PID 1 too,
      // which ends every process in its pid namespace.
      if (leaderPid) signalPid(leaderPid, 'SIGKILL');
      await killAndWait(nspawnPid, { signal: 'SIGKILL' });
      if (leaderPid) await waitForExit(leaderPid, 10_000);
    }
    await childExited(nspawn);
    unregister();
    await removeTempDir(hostDir);
  };

  const nsenterArgs = (opts2: BuildServerExecOptions | undefined, argv: string[]): string[] => [
    // -w without a value: the server's PID 1's cwd (its /). With a value, nsenter would open that
    // path on this machine, before entering the server's root.
    '-t', String(leaderPid), '-a', '-w', '--',
    // If nsenter (our child, on this machine) dies, the process inside gets SIGTERM.
    'setpriv', '--pdeathsig', 'SIGTERM', '--',
    ...(opts2?.cwd ? ['sh', '-c', 'cd -- "$0" && exec "$@"', opts2.cwd] : []),
    ...argv,
  ];
  const insideEnv = (opts2?: BuildServerExecOptions): Record<string, string> => ({
    PATH: LAB_PATH,
    HOME: '/root',
    LANG: 'C.UTF-8',
    ...opts2?.env,
  });
  const exec = (cmd: string[] | string, o?: BuildServerExecOptions): Promise<CommandResult> =>
    runCommand(labPaths.nsenter, nsenterArgs(o, typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd), {
      env: insideEnv(o),
      timeoutMs: o?.timeoutMs ?? 120_000,
      onSpawn: track,
      ...(o?.input !== undefined ? { input: o.input } : {}),
    });
  const mustExec = async (what: string, cmd: string[] | string, o?: BuildServerExecOptions): Promise<string> => {
    const r = await exec(cmd, o);
    if (r.code !== 0) throw new Error(`${what} in build server ${opts.name} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  const progress = setInterval(() => {
    process.stderr.write(`[lab] build server ${opts.name}: still booting (${Math.round((Date.now() - started) / 1000)} s)\n`);
  }, 5_000);

  try {
    const deadline = { timeoutMs: opts.bootTimeoutMs ?? 90_000 };
    const failIfNspawnExited = (): void => {
      if (!isProcessAlive(nspawnPid)) {
        throw new StopWaiting(new Error(`systemd-nspawn for ${opts.name} exited; console log tail:\n${consoleTail()}`));
      }
    };
    // nspawn forks intermediate children before the server's systemd runs as their PID 1.
    leaderPid = await waitUntil(
      `systemd in build server ${opts.name}`,
      () => {
        failIfNspawnExited();
        return childPids(nspawnPid).find((pid) => processName(pid) === 'systemd');
      },
      { ...deadline, intervalMs: 50 },
    );
    if (withDocker) {
      await waitUntil(
        `docker.service active in build server ${opts.name}`,
        async () => {
          failIfNspawnExited();
          const state = (await exec(['systemctl', 'is-active', 'docker'], { timeoutMs: 10_000 })).stdout.trim();
          if (state === 'failed') {
            const journal = await exec(['journalctl', '-u', 'docker', '--no-pager', '-n', '30']);
            throw new StopWaiting(new Error(`docker.service failed in build server ${opts.name}:\n${journal.stdout}`));
          }
          return state === 'active';
        },
        { ...deadline, intervalMs: 200 },
      );
      // /run, not /var/run: /var/run is an absolute symlink that would resolve on this machine.
      await waitUntil(`docker socket in build server ${opts.name}`, () => pingDocker(dockerSocket(leaderPid)), deadline);
    } else {
      await waitUntil(
        `systemd booted in build server ${opts.name}`,
        async () => {
          failIfNspawnExited();
          const state = (await exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 })).stdout.trim();
          return state === 'running' || state === 'degraded';
        },
        { ...deadline, intervalMs: 200 },
      );
      // Only this server's overlay loses them; the cached rootfs keeps its dockerd.
      await mustExec('removing dockerd', 'rm -f /usr/sbin/dockerd /usr/bin/docker /usr/bin/dockerd');
    }
    if (opts.sshOwnHostKey) {
      await mustExec('making an own ssh host key', "rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key");
    }
    for (const user of opts.sshUsers ?? []) await mustExec(`setting up ssh user ${user.name}`, SSH_USER_SCRIPT, { input: user.authorizedKeys.map((k) => `${k.trim()}\n`).join(''), env: { LAB_USER: user.name, LAB_SUDO: user.sudo ?? 'none' } });
    if (opts.sshPort !== undefined) {
      // systemd-user-sessions removes /run/nologin, which until then makes PAM refuse every login
      // but root's: "booted" here means docker is up, which can come first on a loaded machine.
      // Its start failed once in CI under load (a transient failure of the unit): tried again once,
      // and a second failure says what the journal of those units says.
      const startSshd = ['sh', '-c', 'printf "Port %s\\n" "$1" > /etc/ssh/sshd_config.d/10-lab-port.conf && systemctl start systemd-user-sessions.service ssh', 'sh', String(opts.sshPort)];
      if ((await exec(startSshd)).code !== 0) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const again = await exec(startSshd);
        if (again.code !== 0) {
          const journal = (await exec(['journalctl', '--no-pager', '-n', '20', '-u', 'systemd-user-sessions.service', '-u', 'ssh.service'], { timeoutMs: 10_000 })).stdout;
          throw new Error(`starting sshd in build server ${opts.name} failed twice (exit ${again.code}): ${again.stderr.trim()}\n${journal}`);
        }
      }
    }
  } catch (e) {
    clearInterval(progress);
    await stop();
    throw e;
  }
  clearInterval(progress);

  return {
    name: opts.name,
    nspawnPid,
    leaderPid,
    hostDir,
    consoleLogPath,
    ...(dropInDir ? { dropInDir } : {}),
    exec,
    spawn: (argv, o) => {
      const child = spawnChild(labPaths.nsenter, nsenterArgs(o, argv), { env: insideEnv(o), stdio: 'pipe' });
      track(child);
      return child;
    },
    readFile: (path) => mustExec(`reading ${path}`, ['cat', '--', path]),
    writeFile: async (path, text) => {
      await mustExec(
        `writing ${path}`,
        ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1.lab-tmp" && mv -f "$1.lab-tmp" "$1"', 'sh', path],
        { input: text },
      );
    },
    dockerdPid: async () => Number((await mustExec('systemctl show docker', ['systemctl', 'show', '-p', 'MainPID', '--value', 'docker'])).trim()),
    info: () => getDockerJson(dockerSocket(leaderPid), '/info'),
    stop,
  };
}

/** The server's docker socket, reached from this machine through its PID 1's root. */
function dockerSocket(leaderPid: number): string {
  return `/proc/${leaderPid}/root/run/docker.sock`;
}

/**
 * Makes `child.kill(signal)` of an nsenter child signal the process inside (nsenter's own child)
 * instead of nsenter. nsenter then reaps it and exits with its status. Killing nsenter first would
 * orphan the process inside to this machine's init, and the server's poweroff would wait for it.
 */
function signalInsideOnKill(child: ChildProcess): void {
  const killNsenter = child.kill.bind(child);
  child.kill = (signal?: NodeJS.Signals | number): boolean => {
    const inside = child.pid === undefined ? [] : childPids(child.pid);
    if (inside.length === 0) return killNsenter(signal);
    for (const pid of inside) {
      try {
        process.kill(pid, signal ?? 'SIGTERM');
      } catch {
        // already gone
      }
    }
    return true;
  };
}

/** Ends a process started inside: SIGTERM to it, up to 5 s, then SIGKILL to it and its nsenter. */
async function stopInsideChild(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited = childExited(child);
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    signalPid(pid, 'SIGKILL');
    await exited;
  }
}

let inotifyWarned = false;

/** Each booted systemd takes inotify instances; on the default limit of 128 the 17th server hangs in boot. */
function warnAboutInotifyLimit(): void {
  if (inotifyWarned) return;
  inotifyWarned = true;
  try {
    const limit = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'));
    if (limit < 1024) {
      process.stderr.write(
        `[lab] fs.inotify.max_user_instances is ${limit}: more than a dozen build servers at once will hang in boot. ` +
          'Run `bash lab/install.sh` (it sets 1024).\n',
      );
    }
  } catch {
    // not Linux /proc: nothing to say
  }
}

/** SIGTERM and wait; true when the process exited within `timeoutMs`. */
async function stopGently(pid: number, timeoutMs: number): Promise<boolean> {
  if (!signalPid(pid, 'SIGTERM')) return true;
  return waitForExit(pid, timeoutMs);
}
