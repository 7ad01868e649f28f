/**
 * lab/proxy.ts: an HTTP proxy (tinyproxy) on 127.0.0.1 with its own config and log, for proxy tests.
 *
 * Owns one foreground tinyproxy. With `hosts`, it runs in a private mount namespace whose /etc/hosts
 * (a bind-mounted copy of the machine's plus those names) lets it resolve names like `registry.test`:
 * the proxy resolves the registry's name, not dockerd, and the machine's /etc/hosts is never changed.
 * Must not: listen anywhere but 127.0.0.1, or outlive `stop()`.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LAB_PATH, labPaths } from './paths.js';
import { findFreePort } from './ports.js';
import { childExited, isProcessAlive, killAndWait, onProcessExit, signalPid, spawnLogged, StopWaiting, waitUntil } from './processes.js';
import { makeShortTempDir, removeTempDir } from './tempdir.js';

/** Options for {@link startProxy}. */
export interface ProxyOptions {
  /** Extra host names the proxy resolves, name -> IP, e.g. `{ 'registry.test': '127.0.0.1' }`. */
  hosts?: Record<string, string>;
  /** Port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Client addresses or CIDRs allowed besides 127.0.0.1. */
  allow?: string[];
}

/** A running proxy. */
export interface LabProxy {
  /** `http://127.0.0.1:PORT`, the value for HTTP_PROXY or daemon.json `proxies`. */
  url: string;
  port: number;
  /** tinyproxy's log: one `Request (file descriptor N): GET http://... HTTP/1.1` line per request. */
  logPath: string;
  pid: number;
  /** The whole log so far. */
  log(): string;
  /** The request lines (`GET http://registry.test:5000/v2/ HTTP/1.1`, `CONNECT host:443 HTTP/1.1`) so far. */
  requests(): string[];
  /** TERMs tinyproxy, waits for it to exit and removes its temp dir. */
  stop(): Promise<void>;
}

/** Starts tinyproxy in the foreground and resolves once it accepts connections on 127.0.0.1:PORT. */
export async function startProxy(opts: ProxyOptions = {}): Promise<LabProxy> {
  const dir = makeShortTempDir();
  const port = opts.port ?? (await findFreePort());
  const configPath = join(dir, 'tinyproxy.conf');
  const logPath = join(dir, 'tinyproxy.log');
  const stdoutPath = join(dir, 'tinyproxy.out');
  writeFileSync(configPath, renderTinyproxyConfig({ port, logPath, allow: ['127.0.0.1', ...(opts.allow ?? [])] }));
  writeFileSync(logPath, '');

  let file = labPaths.tinyproxy;
  let args = ['-d', '-c', configPath];
  if (opts.hosts && Object.keys(opts.hosts).length > 0) {
    const hostsPath = join(dir, 'hosts');
    writeFileSync(hostsPath, renderHostsFile(readFileSync('/etc/hosts', 'utf8'), opts.hosts));
    // unshare execs sh, sh execs tinyproxy: one pid throughout. unshare makes mounts private, so the
    // bind mount is seen by this tinyproxy only.
    file = labPaths.unshare;
    args = ['-m', '/bin/sh', '-c', 'mount --bind "$1" /etc/hosts && shift && exec "$@"', 'sh', hostsPath, labPaths.tinyproxy, ...args];
  }
  const child = spawnLogged(file, args, { logPath: stdoutPath, env: { PATH: LAB_PATH, HOME: dir } });
  const pid = child.pid!;
  const unregister = onProcessExit(() => signalPid(pid, 'SIGKILL'));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await killAndWait(pid);
    await childExited(child);
    unregister();
    await removeTempDir(dir);
  };
  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };

  try {
    await waitUntil(
      `tinyproxy on 127.0.0.1:${port}`,
      async () => {
        if (!isProcessAlive(pid)) {
          const out = readFileSync(stdoutPath, 'utf8');
          throw new StopWaiting(new Error(`tinyproxy exited during start:\n${out.slice(-2000)}\n${log().slice(-2000)}`));
        }
        return canConnect(port);
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    logPath,
    pid,
    log,
    requests: () => [...log().matchAll(/Request \(file descriptor \d+\): (.*)$/gm)].map((m) => m[1]!),
    stop,
  };
}

/** tinyproxy's config. No ConnectPort lines: Debian's tinyproxy refuses a range, and none means any port. */
function renderTinyproxyConfig(p: { port: number; logPath: string; allow: string[] }): string {
  return [
    `Port ${p.port}`,
    'Listen 127.0.0.1',
    'Timeout 600',
    ...p.allow.map((a) => `Allow ${a}`),
    `LogFile "${p.logPath}"`,
    // Info includes the Connect level: every request line is logged.
    'LogLevel Info',
    'MaxClients 100',
    'DisableViaHeader Yes',
    '',
  ].join('\n');
}

/** The machine's hosts file plus one `IP NAME` line per extra name. */
function renderHostsFile(machineHosts: string, hosts: Record<string, string>): string {
  const extra = Object.entries(hosts).map(([name, ip]) => `${ip}\t${name}`);
  return `${machineHosts.replace(/\n*$/, '\n')}# fleetdock lab proxy\n${extra.join('\n')}\n`;
}

/** True when a TCP connection to 127.0.0.1:`port` succeeds. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
