// The file watcher on a real temporary directory tree: an edit, an atomic replace, and a file whose
// directory is created only later are all seen; unrelated files are not.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWatcher } from './file-watcher.js';

let root: string;
let watcher: FileWatcher;
let seen: string[];

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fleetdock-watch-'));
  mkdirSync(join(root, 'etc/docker'), { recursive: true });
  writeFileSync(join(root, 'etc/docker/daemon.json'), '{}\n');
  seen = [];
  watcher = new FileWatcher((what) => seen.push(what), pino({ level: 'silent' }));
});

afterEach(() => {
  watcher.close();
  rmSync(root, { recursive: true, force: true });
});

describe('FileWatcher', () => {
  it('sees an edit in place and an atomic replace, not other files', async () => {
    watcher.arm([join(root, 'etc/docker/daemon.json')]);
    writeFileSync(join(root, 'etc/docker/key.json'), '{}');
    await settle();
    expect(seen).toEqual([]);
    writeFileSync(join(root, 'etc/docker/daemon.json'), '{"registry-mirrors":["http://x"]}\n');
    await settle();
    expect(seen.length).toBeGreaterThan(0);
    seen = [];
    writeFileSync(join(root, 'etc/docker/.tmp'), '{}');
    renameSync(join(root, 'etc/docker/.tmp'), join(root, 'etc/docker/daemon.json'));
    await settle();
    expect(seen.some((s) => s.endsWith('daemon.json'))).toBe(true);
  });

  it('follows a file whose directory is created later, down to the file', async () => {
    const dropIn = join(root, 'etc/systemd/system/docker.service.d/http-proxy.conf');
    watcher.arm([dropIn]);
    expect(watcher.directories).toEqual([join(root, 'etc')]);
    mkdirSync(join(root, 'etc/systemd/system/docker.service.d'), { recursive: true });
    await settle();
    expect(seen.length).toBeGreaterThan(0);
    // Each event moves the watch down one level (inotify is not recursive); writes in a directory
    // created a moment ago may come before its watch: the periodic check covers that moment.
    for (let i = 0; i < 3 && watcher.directories[0] !== join(root, 'etc/systemd/system/docker.service.d'); i++) watcher.arm([dropIn]);
    expect(watcher.directories).toEqual([join(root, 'etc/systemd/system/docker.service.d')]);
    seen = [];
    writeFileSync(dropIn, '[Service]\n');
    await settle();
    expect(seen.some((s) => s.endsWith('http-proxy.conf'))).toBe(true);
  });

  it('moves back up when a watched directory is removed, and stops on close', async () => {
    watcher.arm([join(root, 'etc/docker/daemon.json')]);
    rmSync(join(root, 'etc/docker'), { recursive: true });
    await settle();
    watcher.arm([join(root, 'etc/docker/daemon.json')]);
    expect(watcher.directories).toEqual([join(root, 'etc')]);
    watcher.close();
    seen = [];
    mkdirSync(join(root, 'etc/docker'));
    await settle();
    expect(seen).toEqual([]);
  });
});
