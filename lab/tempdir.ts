/**
 * lab/tempdir.ts: short temp dirs for lab hosts, and their removal.
 *
 * Short because dockerd's sockets live under them and a unix socket path must stay under 108 bytes.
 * Must not: remove anything outside /tmp/fdl-*.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { runCommand } from './processes.js';

const PREFIX = '/tmp/fdl-';

/** Creates `/tmp/fdl-XXXXXX` (mode 0700) and returns its path. */
export function makeShortTempDir(): string {
  return mkdtempSync(PREFIX);
}

/**
 * Removes a dir made by {@link makeShortTempDir}, first unmounting anything still mounted below it
 * (dockerd leaves netns and shm mounts behind when it is killed). Refuses any other path.
 */
export async function removeTempDir(dir: string): Promise<void> {
  if (!dir.startsWith(PREFIX) || dir.includes('..')) throw new Error(`refusing to remove ${dir}`);
  for (const mountPoint of mountsBelow(dir).reverse()) {
    await runCommand('umount', ['-l', mountPoint]);
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/** Mount points at or below `dir` in this process's mount namespace, in mount order. */
function mountsBelow(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points: string[] = [];
  for (const line of lines) {
    const mountPoint = line.split(' ')[4];
    if (!mountPoint) continue;
    // mountinfo escapes space, tab, newline and backslash as octal.
    const decoded = mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(dir + '/')) points.push(decoded);
  }
  return points;
}
