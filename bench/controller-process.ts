/**
 * Runs the real controller as a child process (`node bin/fleetdock.js controller`), so its memory and
 * CPU are its own: its JSON log goes to a file, its stderr is read for the URL it listens on. It serves
 * HTTPS/WSS with its own CA (the product default; the CA is made on the first start in DATA/tls/ca.pem
 * and read from there once it listens), or insecure plain HTTP on loopback with `plainHttp`.
 * stop() sends SIGTERM (a clean shutdown, which also writes a --cpu-prof profile) and SIGKILL after a grace.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { caPinOf } from '../protocol/join-token.js';
import { stopChild, trackChild } from './children.js';

/** Where a controller with its own CA keeps the CA certificate (controller/tls/tls-material.ts TLS_FILES). */
export const CA_FILE = join('tls', 'ca.pem');

/** A controller the bench started. */
export interface ControllerProcess {
  pid: number;
  /** `https://127.0.0.1:PORT`, or `http://...` with plainHttp. */
  url: string;
  adminToken: string;
  /** The CA the controller's certificate chains to (PEM, its file and pin), or null on plain HTTP. */
  tls: { caPem: string; caPath: string; pin: string } | null;
  /** Stops it (SIGTERM, then SIGKILL after `graceMs`); resolves when it has exited. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a controller over `dataDir` on 127.0.0.1 (a free port), logging to `logFile`; `nodeArgs` go
 * to node (e.g. --cpu-prof); `plainHttp` adds --insecure-plain-http. Rejects, with the child stopped,
 * if it does not listen within `timeoutMs`.
 */
export async function startControllerProcess(options: { repoRoot: string; dataDir: string; logFile: string; nodeArgs: string[]; plainHttp?: boolean; timeoutMs?: number }): Promise<ControllerProcess> {
  const log = openSync(options.logFile, 'a');
  const args = [...options.nodeArgs, join(options.repoRoot, 'bin/fleetdock.js'), 'controller', '--data', options.dataDir, '--listen', '127.0.0.1:0'];
  if (options.plainHttp) args.push('--insecure-plain-http');
  const child = trackChild(spawn(process.execPath, args, { stdio: ['ignore', log, 'pipe'] }));
  closeSync(log);
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 10_000) => (stopping ??= stopChild(child, graceMs));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`controller did not start within ${options.timeoutMs ?? 15_000} ms: ${stderr}`)), options.timeoutMs ?? 15_000);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        const match = /controller listening on (https?:\/\/\S+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`controller exited (${code ?? signal}) before listening: ${stderr}`));
      });
    });
    // Keep draining stderr so the child never blocks on a full pipe.
    child.stderr!.on('data', () => {});
    const https = url.startsWith('https:');
    if (https === Boolean(options.plainHttp)) throw new Error(`the controller listens on ${url}, but the bench asked for ${options.plainHttp ? 'insecure plain HTTP' : 'TLS'}`);
    let tls: ControllerProcess['tls'] = null;
    if (https) {
      // Written before the server listens (controller/server.ts loads its TLS material first).
      const caPath = join(options.dataDir, CA_FILE);
      const caPem = readFileSync(caPath, 'utf8');
      tls = { caPem, caPath, pin: caPinOf(caPem) };
    }
    const adminToken = readFileSync(join(options.dataDir, 'admin.token'), 'utf8').trim();
    return { pid: child.pid!, url, adminToken, tls, stop };
  } catch (error) {
    await stop(2_000);
    throw error;
  }
}
