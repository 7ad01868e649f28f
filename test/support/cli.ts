/** Runs the real `fleetdock` CLI (bin/fleetdock.js, built dist/) as a child process. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs `fleetdock ...args` with `env` added (FLEETDOCK_URL, FLEETDOCK_TOKEN, ...). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin/fleetdock.js'), ...args], { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
