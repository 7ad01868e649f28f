/**
 * Every child process the bench started, so a signal or a crash of the bench can stop them all by
 * pid (never by name), and stopping one child: SIGTERM, then SIGKILL after a grace. Also the
 * temporary data directories, removed on an interrupt unless --keep.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Remembers a temporary directory to remove if the bench is interrupted (forget it once removed or kept). */
export function trackTempDir(dir: string, track = true): void {
  if (track) tempDirs.add(dir);
  else tempDirs.delete(dir);
}

/** Removes every tracked temporary directory (after the children that used them were killed). */
export function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Remembers `child` until it exits. */
export function trackChild<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every child still running (for a bench that is being interrupted). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** Waits for `child` to exit, at most `ms`; resolves whether it did. */
export function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Stops a child by its pid: SIGTERM, then SIGKILL when it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitForExit(child, graceMs))) {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  }
}
