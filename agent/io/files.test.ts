// writeFileAtomic on a real temporary directory: the content is replaced whole (by a rename, so a
// reader of the old file never sees half of the new one), the mode is the one asked for, backups land
// where apply.ts keeps them, and when the write really fails (the target is a directory, the parent is
// a file) the error names the path, what was there is untouched and no temp file is left behind.
import { mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupPath } from '../state.js';
import { writeFileAtomic } from './files.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fleetdock-files-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const modeOf = (path: string): number => statSync(path).mode & 0o777;

/** Reads what an fd opened earlier still sees, from its start. */
function readFd(fd: number): string {
  const buffer = Buffer.alloc(4096);
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  return buffer.subarray(0, n).toString('utf8');
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected the write to fail, but it succeeded');
}

describe('writeFileAtomic', () => {
  it('replaces the whole content by a rename: a reader of the old file still sees all of it; no temp file is left', async () => {
    const dir = join(root, 'etc/docker');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'daemon.json');
    const old = '{\n  "log-level": "warn"\n}\n';
    writeFileSync(path, old, { mode: 0o644 });
    const oldInode = statSync(path).ino;
    const fd = openSync(path, 'r');
    try {
      const next = '{\n  "log-level": "warn",\n  "registry-mirrors": ["http://127.0.0.1:5000"]\n}\n';
      await writeFileAtomic(path, next, { mode: 0o644 });
      expect(readFileSync(path, 'utf8')).toBe(next);
      // Not written in place: the old inode keeps the old content, whole.
      expect(statSync(path).ino).not.toBe(oldInode);
      expect(readFd(fd)).toBe(old);
    } finally {
      closeSync(fd);
    }
    expect(readdirSync(dir)).toEqual(['daemon.json']);
  });

  it('creates a missing file and its missing parent directories, with the directory mode given', async () => {
    const path = join(root, 'etc/fleetdock/docker-proxy.env');
    await writeFileAtomic(path, "HTTP_PROXY='http://127.0.0.1:8888'\n", { mode: 0o600, dirMode: 0o700 });
    expect(readFileSync(path, 'utf8')).toBe("HTTP_PROXY='http://127.0.0.1:8888'\n");
    expect(modeOf(join(root, 'etc/fleetdock'))).toBe(0o700);
    expect(modeOf(join(root, 'etc'))).toBe(0o700);
    expect(readdirSync(join(root, 'etc/fleetdock'))).toEqual(['docker-proxy.env']);
  });

  it('gives the file exactly the mode asked for: not the old file\'s, not cut by the umask', async () => {
    const path = join(root, 'docker-proxy.env');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    // A proxy password goes into this file: replacing a world-readable one must not keep 0644.
    await writeFileAtomic(path, 'new\n', { mode: 0o600 });
    expect(modeOf(path)).toBe(0o600);
    // 0664 has the group write bit a usual umask (022) strips from a newly created file.
    await writeFileAtomic(path, 'newer\n', { mode: 0o664 });
    expect(modeOf(path)).toBe(0o664);
    expect(readFileSync(path, 'utf8')).toBe('newer\n');
    expect(readdirSync(root)).toEqual(['docker-proxy.env']);
  });

  it('keeps the previous version where apply.ts keeps it: STATE_DIR/backups, root-only, named after the host path', async () => {
    const stateDir = join(root, 'state');
    const previous = '{"proxies":{"http-proxy":"http://build:s3cret@proxy:3128"}}\n';
    const path = backupPath(stateDir, '/etc/docker/daemon.json');
    expect(path).toBe(join(stateDir, 'backups', 'etc__docker__daemon.json'));
    // As apply.ts writes a backup (it may hold a proxy password).
    await writeFileAtomic(path, previous, { mode: 0o600, dirMode: 0o700 });
    expect(readFileSync(path, 'utf8')).toBe(previous);
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(stateDir, 'backups'))).toBe(0o700);
    // A second apply replaces the backup with the version it replaces then.
    await writeFileAtomic(path, '{}\n', { mode: 0o600, dirMode: 0o700 });
    expect(readFileSync(path, 'utf8')).toBe('{}\n');
    expect(readdirSync(join(stateDir, 'backups'))).toEqual(['etc__docker__daemon.json']);
  });

  it('fails when the target is a directory (the rename fails): the error names it, the directory is untouched, no temp file is left', async () => {
    const path = join(root, 'daemon.json');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'keep me\n');
    const error = await rejection(writeFileAtomic(path, '{}\n', { mode: 0o644 }));
    expect(error.code).toBe('EISDIR');
    expect(error.message).toContain(path);
    expect(statSync(path).isDirectory()).toBe(true);
    expect(readdirSync(path)).toEqual(['inside']);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('keep me\n');
    // The temp file was written beside the target before the rename failed: it must be gone.
    expect(readdirSync(root)).toEqual(['daemon.json']);
  });

  it('fails when the parent is a file, not a directory: the error names it, the file is untouched, nothing is created', async () => {
    const parent = join(root, 'docker');
    writeFileSync(parent, 'not a directory\n', { mode: 0o640 });
    const path = join(parent, 'daemon.json');
    const error = await rejection(writeFileAtomic(path, '{}\n', { mode: 0o644 }));
    // mkdir of the parent fails (EEXIST: it exists and is no directory); Node names the parent.
    expect(['EEXIST', 'ENOTDIR']).toContain(error.code);
    expect(error.message).toContain(parent);
    expect(readFileSync(parent, 'utf8')).toBe('not a directory\n');
    expect(modeOf(parent)).toBe(0o640);
    expect(readdirSync(root)).toEqual(['docker']);
  });
});
