/**
 * test/deploy/agent-build.ts: where the packaged agent is, and a guard that dist/agent-bin/ holds a
 * build of the current sources (`npm test` runs build:agent first, so this is a no-op there; a lone
 * `vitest run` on changed sources builds once).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/cli.js';

/** The single executable (Linux), what `fleetdock bootstrap` installs as /usr/local/bin/fleetdock-agent. */
export const AGENT_EXECUTABLE = join(REPO_ROOT, 'dist/agent-bin/fleetdock-agent');
/** The one-file CommonJS bundle, for hosts with their own node. */
export const AGENT_BUNDLE = join(REPO_ROOT, 'dist/agent-bin/fleetdock-agent.cjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(rel));
    else if (/\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(join(REPO_ROOT, rel)).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build:agent`'s script when either artefact is missing or older than the sources. */
export async function ensureAgentBuilt(): Promise<void> {
  const sources = Math.max(...['protocol', 'agent', 'cli', 'scripts'].map(newestMtime));
  const fresh = [AGENT_EXECUTABLE, AGENT_BUNDLE].every((file) => existsSync(file) && statSync(file).mtimeMs >= sources);
  if (fresh) return;
  try {
    await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts/build-agent.mjs')], { cwd: REPO_ROOT, timeout: 120_000 });
  } catch (error) {
    throw new Error(`npm run build:agent failed: ${(error as { stderr?: string }).stderr || (error as Error).message}`);
  }
}
