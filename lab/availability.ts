/**
 * lab/availability.ts: tells whether this machine can run the lab, and what is missing if not.
 *
 * Owns the decision a lab test file makes before it starts anything: run, skip loudly, or (in CI)
 * fail. Reads `process.env.CI` for that, nothing else.
 * Must not: install anything (that is `bash lab/install.sh`).
 */

import { accessSync, constants, existsSync } from 'node:fs';
import { labPaths, type LabPaths } from './paths.js';

/** The verdict of {@link checkLab}. */
export interface LabCheck {
  ok: boolean;
  /** One line per missing thing, e.g. `tinyproxy (/usr/bin/tinyproxy)`. Empty when ok. */
  missing: string[];
}

/**
 * Checks the binaries, the root user and the cache that `lab/install.sh` prepares. Synchronous, fast.
 * `paths` defaults to the lab's own (tests pass others).
 */
export function checkLab(paths: LabPaths = labPaths): LabCheck {
  const missing: string[] = [];
  const executables: [string, string][] = [
    ['dockerd 20.10', paths.dockerd20],
    ['docker CLI', paths.dockerCli],
    ['docker-registry', paths.dockerRegistry],
    ['tinyproxy', paths.tinyproxy],
    ['sshd', paths.sshd],
    ['systemd-nspawn', paths.systemdNspawn],
    ['nsenter', paths.nsenter],
    ['unshare', paths.unshare],
    ['curl', paths.curl],
    ['busybox (static)', paths.busybox],
    ['dockerd 26 (lab cache)', paths.dockerd26],
  ];
  for (const [what, path] of executables) {
    if (!isExecutable(path)) missing.push(`${what} (${path})`);
  }
  if (!existsSync(paths.baseStamp)) missing.push(`build-server rootfs (${paths.baseStamp} not written)`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root (the lab runs dockerd and systemd-nspawn)');
  return { ok: missing.length === 0, missing };
}

/**
 * For lab test files: `const labReady = requireLab(); describe.skipIf(!labReady)(...)`.
 * Returns true when the lab can run. Otherwise, when `CI=true` it throws (a CI run must not pass by
 * skipping); elsewhere it prints a loud notice to stderr naming what is missing and the fix, and
 * returns false.
 */
export function requireLab(paths: LabPaths = labPaths): boolean {
  const { ok, missing } = checkLab(paths);
  if (ok) return true;
  const message = [
    'fleetdock lab is not available on this machine; missing:',
    ...missing.map((m) => `  - ${m}`),
    'Fix: as root, run `bash lab/install.sh` (Debian 12; installs packages, caches dockerd 26 and the build-server rootfs).',
  ].join('\n');
  if (process.env.CI === 'true') throw new Error(message);
  const bar = '!'.repeat(100);
  process.stderr.write(`\n${bar}\n!!! SKIPPING LAB TESTS: ${message.replace(/\n/g, '\n!!! ')}\n${bar}\n\n`);
  return false;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
