import { describe, expect, it } from 'vitest';
import { eventMatters, planWatches } from './watch-plan.js';

const DAEMON = '/r/etc/docker/daemon.json';
const DROP_IN = '/r/etc/systemd/system/docker.service.d/http-proxy.conf';
const CLIENT = '/r/home/ci/.docker/config.json';

function plan(files: string[], dirs: string[]) {
  const set = new Set(dirs);
  return Object.fromEntries([...planWatches(files, (p) => set.has(p))].map(([dir, names]) => [dir, [...names].sort()]));
}

describe('planWatches', () => {
  it.each<[string, string[], string[], Record<string, string[]>]>([
    ['every directory exists', [DAEMON, DROP_IN], ['/', '/r', '/r/etc', '/r/etc/docker', '/r/etc/systemd', '/r/etc/systemd/system', '/r/etc/systemd/system/docker.service.d'], {
      '/r/etc/docker': ['daemon.json'],
      '/r/etc/systemd/system/docker.service.d': ['http-proxy.conf'],
    }],
    ['no drop-in directory yet: its parent, for the directory name', [DAEMON, DROP_IN], ['/', '/r', '/r/etc', '/r/etc/docker', '/r/etc/systemd', '/r/etc/systemd/system'], {
      '/r/etc/docker': ['daemon.json'],
      '/r/etc/systemd/system': ['docker.service.d'],
    }],
    ['no /etc/docker and no ~/.docker: the nearest ancestors', [DAEMON, CLIENT], ['/', '/r', '/r/etc', '/r/home', '/r/home/ci'], {
      '/r/etc': ['docker'],
      '/r/home/ci': ['.docker'],
    }],
    ['two files in one directory share a watch', ['/r/a/x', '/r/a/y'], ['/', '/r', '/r/a'], { '/r/a': ['x', 'y'] }],
    ['nothing exists at all', [DAEMON], [], {}],
  ])('%s', (_name, files, dirs, want) => {
    expect(plan(files, dirs)).toEqual(want);
  });
});

describe('eventMatters', () => {
  it.each<[string | null, boolean]>([
    ['daemon.json', true],
    ['.daemon.json.fleetdock-1a2b.tmp', false],
    ['key.json', false],
    [null, true],
  ])('%s -> %s', (filename, matters) => {
    expect(eventMatters(new Set(['daemon.json']), filename)).toBe(matters);
  });
});
