/** Runs the real `fleetdock` CLI (bin/fleetdock.js, built dist/) as a child process. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const CLI_BIN = join(REPO_ROOT, 'bin/fleetdock.js');

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs `fleetdock ...args` with `env` added (FLEETDOCK_URL, FLEETDOCK_TOKEN, ...); never throws. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_BIN, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(rel));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(join(REPO_ROOT, rel)).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure dist/ holds a build of the current sources (the CLI runs from there). `npm test` builds
 * first, so this is a no-op there; a lone `vitest run` on changed sources builds once.
 */
export async function ensureCliBuilt(): Promise<void> {
  const main = join(REPO_ROOT, 'dist/cli/main.js');
  const sources = Math.max(...['protocol', 'controller', 'agent', 'cli', 'bootstrap'].map(newestSourceMtime));
  if (existsSync(main) && statSync(main).mtimeMs >= sources) return;
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT }).catch(() => undefined);
  if (!existsSync(main)) throw new Error('dist/cli/main.js was not built: run npm run build and read its errors');
}
