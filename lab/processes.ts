/**
 * lab/processes.ts: starting, waiting for and stopping the lab's processes, always by their own pid.
 *
 * Owns: running a command to completion, starting a long-running one with its output in a log file,
 * liveness checks that treat a zombie as gone, TERM-then-KILL with a wait, and a last-chance
 * SIGKILL on process exit for whatever a test forgot to stop.
 * Must not: kill by name or process group, or know what the processes are.
 */

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Outcome of a finished command. `code` is the exit code, or 128 + signal number when it was killed. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link runCommand}. */
export interface RunOptions {
  /** Full environment of the command (not merged with `process.env`). Default: inherit. */
  env?: Record<string, string>;
  cwd?: string;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Killed with SIGKILL after this long (default 120 000 ms). */
  timeoutMs?: number;
  /** Called with the child right after it started, e.g. to track it for a later stop. */
  onSpawn?: (child: ChildProcess) => void;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs `file args` to completion and resolves with its exit code and output. Never rejects on a
 * non-zero exit (the caller asserts); rejects only when the binary cannot be started.
 */
export function runCommand(file: string, args: string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    opts.onSpawn?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? SIGNAL_NUMBERS[signal] ?? 0 : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin!.on('error', () => undefined); // the command may exit without reading stdin
    child.stdin!.end(opts.input ?? '');
  });
}

/** Options for {@link spawnLogged}. */
export interface SpawnLoggedOptions {
  /** stdout and stderr are appended here. */
  logPath: string;
  /** Full environment (not merged with `process.env`). */
  env: Record<string, string>;
  cwd?: string;
  detached?: boolean;
}

/**
 * Starts a long-running process with stdin from /dev/null and stdout+stderr appended to `logPath`,
 * so nothing of it is tied to the test's pipes. Throws when the binary cannot be started.
 */
export function spawnLogged(file: string, args: string[], opts: SpawnLoggedOptions): ChildProcess {
  const fd = openSync(opts.logPath, 'a');
  try {
    const spawnOpts: SpawnOptions = { env: opts.env, stdio: ['ignore', fd, fd], detached: opts.detached ?? false };
    if (opts.cwd) spawnOpts.cwd = opts.cwd;
    const child = spawn(file, args, spawnOpts);
    if (child.pid === undefined) throw new Error(`could not start ${file}`);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** True while `pid` exists and is not a zombie (a zombie has exited; only its reaping is pending). */
export function isProcessAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Field 3 is the state; the command name (field 2) is in parentheses and may hold spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Waits until `pid` is gone. Resolves true when it went, false when `timeoutMs` passed first. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Sends `signal` (default SIGTERM) to `pid` and waits up to `timeoutMs` (default 15 000 ms) for it to
 * exit, then SIGKILLs it and waits again. Resolves when the process is gone; a pid that is already
 * gone is fine. Rejects only if even SIGKILL does not end it within 10 s.
 */
export async function killAndWait(
  pid: number,
  opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<void> {
  if (!signalPid(pid, opts.signal ?? 'SIGTERM')) return;
  if (await waitForExit(pid, opts.timeoutMs ?? 15_000)) return;
  signalPid(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 10_000))) throw new Error(`process ${pid} survived SIGKILL`);
}

/** Sends a signal; false when the process does not exist (any more). */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** Resolves once `child` has exited and been reaped by Node (at once if it already has). */
export function childExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Pids whose parent is `pid` (from /proc/PID/task/*\/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The command name of `pid` (`/proc/PID/comm`), or undefined when it is gone. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Polls `check` every `intervalMs` (default 100) until it returns a value other than undefined/false,
 * and resolves with it. Rejects after `timeoutMs` with "timed out waiting for WHAT" plus the last error
 * `check` threw, or with whatever `check` throws wrapped in a `StopWaiting`.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof StopWaiting) throw e.cause;
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/** Thrown from a {@link waitUntil} check to stop waiting at once (e.g. the daemon died). */
export class StopWaiting extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Registers a synchronous last-chance cleanup (typically SIGKILL by pid) that runs when this Node
 * process exits with the thing still running, e.g. a test file that crashed before its `afterAll`.
 * Returns the function that unregisters it; call that from the normal `stop()`.
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const fn of exitCleanups) {
        try {
          fn();
        } catch {
          // best effort: the process is going away
        }
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

/**
 * Pids (other than this process) whose command line contains `needle`, e.g. a lab host's unique temp
 * dir: how `stop()` finds the containerd and shims a lab dockerd started, and a dockerd a restart
 * script started, without matching anything of anyone else.
 */
export function pidsWithArgument(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(needle) && isProcessAlive(pid)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
