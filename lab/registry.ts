/**
 * lab/registry.ts: a Docker registry on 127.0.0.1 seeded with busybox, to serve as a registry mirror.
 *
 * Owns one `docker-registry serve` process (filesystem storage, its own config and log file) and the
 * seeding of images through the HTTP API (lab/registry-push.ts); no dockerd is involved.
 * Must not: listen anywhere but 127.0.0.1, or outlive `stop()`.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpRequest } from './http.js';
import { buildBusyboxImage } from './image.js';
import { LAB_PATH, labPaths } from './paths.js';
import { findFreePort } from './ports.js';
import {
  childExited,
  isProcessAlive,
  killAndWait,
  onProcessExit,
  runCommand,
  signalPid,
  spawnLogged,
  StopWaiting,
  waitUntil,
} from './processes.js';
import { pushImage } from './registry-push.js';
import { makeShortTempDir, removeTempDir } from './tempdir.js';

/** Options for {@link startRegistryMirror}. */
export interface RegistryMirrorOptions {
  /** Dir for config, log and storage; kept on stop. Default: a fresh /tmp/fdl-* removed on stop. */
  dir?: string;
  /** Port on 127.0.0.1. Default: a free one. */
  port?: number;
  /**
   * Repositories to push the busybox image to, each `name` (tag `latest`) or `name:tag`.
   * Default `['library/busybox']`, which is what `docker pull busybox` asks a mirror for.
   */
  seed?: string[];
  /**
   * Serve HTTPS with a fresh self-signed certificate for these names (and 127.0.0.1) instead of HTTP.
   * Why: dockerd reaches an `insecure-registries` entry over HTTPS first, without verifying the
   * certificate, and through a proxy HTTPS goes through a CONNECT tunnel that tinyproxy cannot mangle.
   * Over plain HTTP tinyproxy keeps only the first of dockerd's several `Accept` headers, and dockerd
   * sends them in random order, so a pull by tag through it fails most of the time (seen here).
   */
  tls?: { names?: string[] };
}

/** A running registry. */
export interface RegistryMirror {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`), the value for daemon.json `registry-mirrors`. */
  url: string;
  port: number;
  /** With `tls`: the self-signed certificate (PEM) the registry serves, e.g. for a certs.d `ca.crt`. */
  certPath?: string;
  /**
   * Digest of the seeded busybox manifest (`sha256:...`). A pull by this digest
   * (`NAME@sha256:...`) works through tinyproxy over plain HTTP, where a pull by tag does not.
   */
  manifestDigest: string;
  /** Dir with `config.yml`, `registry.log` and `data/`. */
  dir: string;
  /** The registry's stderr: its request log. */
  logPath: string;
  pid: number;
  /** The whole log so far. */
  log(): string;
  /**
   * How many blob downloads (`GET /v2/.../blobs/sha256:...`) the registry has answered so far,
   * only for `repository` when given. A pull through the mirror raises it.
   */
  blobGets(repository?: string): number;
  /** TERMs the registry, waits for it to exit, and removes the dir unless it was given. */
  stop(): Promise<void>;
}

/**
 * Starts `docker-registry serve` on 127.0.0.1 (free port unless given), waits until `/v2/` answers,
 * and pushes busybox to each `seed` repository. Rejects, after stopping the registry, if any step fails.
 */
export async function startRegistryMirror(opts: RegistryMirrorOptions = {}): Promise<RegistryMirror> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? makeShortTempDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const port = opts.port ?? (await findFreePort());
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const configPath = join(dir, 'config.yml');
  const logPath = join(dir, 'registry.log');
  let tls: { certPath: string; keyPath: string } | undefined;
  if (opts.tls) {
    tls = { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') };
    await writeSelfSignedCertificate(tls.certPath, tls.keyPath, opts.tls.names ?? ['registry.test', 'localhost']);
  }
  writeFileSync(configPath, renderRegistryConfig(join(dir, 'data'), port, tls));

  const child = spawnLogged(labPaths.dockerRegistry, ['serve', configPath], {
    logPath,
    env: { PATH: LAB_PATH, HOME: dir },
  });
  const pid = child.pid!;
  const image = buildBusyboxImage(labPaths.busybox);
  const unregister = onProcessExit(() => signalPid(pid, 'SIGKILL'));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await killAndWait(pid);
    await childExited(child);
    unregister();
    if (ownDir) await removeTempDir(dir);
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
      `docker-registry on ${url}`,
      async () => {
        if (!isProcessAlive(pid)) throw new StopWaiting(new Error(`docker-registry exited; its log:\n${log().slice(-2000)}`));
        const res = await httpRequest({ url: `${url}/v2/`, timeoutMs: 1_000 });
        return res.status === 200;
      },
      { timeoutMs: 20_000 },
    );
    for (const ref of opts.seed ?? ['library/busybox']) {
      const [repository, tag = 'latest'] = ref.split(':') as [string, string?];
      await pushImage(url, repository, tag, image);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url,
    port,
    ...(tls ? { certPath: tls.certPath } : {}),
    manifestDigest: image.manifestDigest,
    dir,
    logPath,
    pid,
    log,
    blobGets: (repository) => countBlobGets(log(), repository),
    stop,
  };
}

/** Makes a self-signed P-256 certificate valid for `names` and 127.0.0.1 (openssl CLI). */
async function writeSelfSignedCertificate(certPath: string, keyPath: string, names: string[]): Promise<void> {
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  const res = await runCommand('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '30',
    '-subj', `/CN=${names[0] ?? 'localhost'}`, '-addext', `subjectAltName=${san}`,
  ], { env: { PATH: LAB_PATH } });
  if (res.code !== 0) throw new Error(`openssl could not make a certificate: ${res.stderr}`);
}

/**
 * The registry's YAML config: filesystem storage in `dataDir`, 127.0.0.1:`port`, no auth, access log
 * on, TLS when `tls` is given.
 */
function renderRegistryConfig(dataDir: string, port: number, tls?: { certPath: string; keyPath: string }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dataDir}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(tls ? ['  tls:', `    certificate: ${tls.certPath}`, `    key: ${tls.keyPath}`] : []),
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    '',
  ].join('\n');
}

/** Counts access-log lines of answered blob GETs (`"GET /v2/NAME/blobs/sha256:... HTTP/1.1" 200|307`). */
function countBlobGets(log: string, repository?: string): number {
  const name = repository ? repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '[^ ]+';
  const re = new RegExp(`"GET /v2/${name}/blobs/sha256:[0-9a-f]{64} HTTP/[0-9.]+" (200|307) `, 'g');
  return log.match(re)?.length ?? 0;
}
