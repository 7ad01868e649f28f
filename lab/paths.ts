/**
 * lab/paths.ts: where the lab finds what `lab/install.sh` prepared, and the binaries it runs.
 *
 * Owns the one read of `FLEETDOCK_LAB_CACHE` (the cache dir override) for the whole lab.
 * Must not: start anything or touch the disk; it only names paths.
 */

import { join } from 'node:path';

/** Paths the lab depends on. Frozen: read once at import. */
export interface LabPaths {
  /** Cache dir filled by `lab/install.sh` (default `/var/cache/fleetdock-lab`). */
  readonly cacheDir: string;
  /** Debootstrapped build-server rootfs (Debian 12 with systemd and docker.io). */
  readonly baseRootfs: string;
  /** Written last by `lab/install.sh`; without it the rootfs is half-built. */
  readonly baseStamp: string;
  /** Root of the extracted Debian trixie docker.io package (dockerd 26). */
  readonly docker26Root: string;
  /** dockerd 26 binary inside `docker26Root`. */
  readonly dockerd26: string;
  /** Debian 12's dockerd 20.10. */
  readonly dockerd20: string;
  /** Debian 12's docker CLI (20.10); it talks to dockerd 20 and 26 alike (API negotiation). */
  readonly dockerCli: string;
  readonly dockerRegistry: string;
  readonly tinyproxy: string;
  readonly sshd: string;
  readonly systemdNspawn: string;
  readonly nsenter: string;
  readonly unshare: string;
  readonly curl: string;
  /** Statically linked busybox that goes into the seeded image. */
  readonly busybox: string;
  /** The node binary running the lab (process.execPath), bind-mounted read-only at /usr/bin/node in every build server. */
  readonly node: string;
}

/** The lab's paths for a given cache dir (tests use this to point at an empty one). */
export function labPathsFor(cacheDir: string): LabPaths {
  return Object.freeze({
    cacheDir,
    baseRootfs: join(cacheDir, 'base'),
    baseStamp: join(cacheDir, 'base.stamp'),
    docker26Root: join(cacheDir, 'docker26'),
    dockerd26: join(cacheDir, 'docker26', 'usr', 'sbin', 'dockerd'),
    dockerd20: '/usr/sbin/dockerd',
    dockerCli: '/usr/bin/docker',
    dockerRegistry: '/usr/bin/docker-registry',
    tinyproxy: '/usr/bin/tinyproxy',
    sshd: '/usr/sbin/sshd',
    systemdNspawn: '/usr/bin/systemd-nspawn',
    nsenter: '/usr/bin/nsenter',
    unshare: '/usr/bin/unshare',
    curl: '/usr/bin/curl',
    busybox: '/bin/busybox',
    node: process.execPath,
  });
}

/** The lab's paths (cache dir from `FLEETDOCK_LAB_CACHE`, else `/var/cache/fleetdock-lab`). */
export const labPaths: LabPaths = labPathsFor(process.env.FLEETDOCK_LAB_CACHE || '/var/cache/fleetdock-lab');

/** PATH given to every process the lab starts, so the caller's PATH (pyenv, ~/bin, ...) never leaks in. */
export const LAB_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
