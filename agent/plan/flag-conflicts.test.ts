import { describe, expect, it } from 'vitest';
import { MANAGED_DAEMON_KEYS, type ManagedDaemonKey } from '../render/daemon-json.js';
import { findFlagConflicts, parseExecStartProperty } from './flag-conflicts.js';

const ALL: ManagedDaemonKey[] = [...MANAGED_DAEMON_KEYS];

/** `systemctl show --property=ExecStart docker` on Debian 12, with a mirror flag a config tool added. */
const EXEC_START =
  'ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock --registry-mirror=http://m:5000 ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }';

describe('findFlagConflicts', () => {
  it.each([
    ['--registry-mirror=x', ['--registry-mirror=http://m:5000'], ALL, [{ flag: '--registry-mirror', key: 'registry-mirrors' }]],
    ['--registry-mirror x', ['--registry-mirror', 'http://m:5000'], ALL, [{ flag: '--registry-mirror', key: 'registry-mirrors' }]],
    ['--insecure-registry=x', ['--insecure-registry=registry.test:5000'], ALL, [{ flag: '--insecure-registry', key: 'insecure-registries' }]],
    ['--insecure-registry x', ['--insecure-registry', '10.0.0.0/8'], ALL, [{ flag: '--insecure-registry', key: 'insecure-registries' }]],
    ['--http-proxy', ['--http-proxy=http://p:3128'], ALL, [{ flag: '--http-proxy', key: 'proxies' }]],
    ['--https-proxy', ['--https-proxy', 'http://p:3128'], ALL, [{ flag: '--https-proxy', key: 'proxies' }]],
    ['--no-proxy', ['--no-proxy=localhost'], ALL, [{ flag: '--no-proxy', key: 'proxies' }]],
    [
      'several flags, each named once',
      ['-H', 'fd://', '--registry-mirror=http://a:5000', '--registry-mirror=http://b:5000', '--insecure-registry', 'r:5000', '--http-proxy=http://p:3128', '--https-proxy=http://p:3128'],
      ALL,
      [
        { flag: '--registry-mirror', key: 'registry-mirrors' },
        { flag: '--insecure-registry', key: 'insecure-registries' },
        { flag: '--http-proxy', key: 'proxies' },
        { flag: '--https-proxy', key: 'proxies' },
      ],
    ],
    ['a flag for a key fleetdock does not write', ['--registry-mirror=http://m:5000'], ['insecure-registries', 'proxies'], []],
    ['nothing to write', ['--registry-mirror=http://m:5000', '--insecure-registry=r:5000'], [], []],
    ['flags that are not registry settings', ['/usr/sbin/dockerd', '-H', 'fd://', '--containerd=/run/containerd/containerd.sock', '--live-restore', '--log-level=warn'], ALL, []],
    ['a flag only as a value of another flag', ['--label', 'note=--registry-mirror'], ALL, []],
  ] as const)('%s', (_what, args, keys, conflicts) => {
    expect(findFlagConflicts(args, keys)).toEqual(conflicts);
  });
});

describe('parseExecStartProperty', () => {
  it('reads argv from systemctl show output', () => {
    expect(parseExecStartProperty(EXEC_START)).toEqual(['/usr/sbin/dockerd', '-H', 'fd://', '--containerd=/run/containerd/containerd.sock', '--registry-mirror=http://m:5000']);
  });

  it('finds the mirror flag a config tool put into the unit', () => {
    expect(findFlagConflicts(parseExecStartProperty(EXEC_START), ['registry-mirrors'])).toEqual([{ flag: '--registry-mirror', key: 'registry-mirrors' }]);
  });

  it('reads argv without the "ExecStart=" prefix and of every command listed', () => {
    const text =
      '{ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n' +
      '{ path=/usr/bin/env ; argv[]=/usr/bin/env --insecure-registry=r:5000 ; ignore_errors=yes ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }';
    expect(parseExecStartProperty(text)).toEqual(['/usr/sbin/dockerd', '-H', 'fd://', '/usr/bin/env', '--insecure-registry=r:5000']);
  });

  it('reads the running form (with a pid and start time)', () => {
    const text =
      'ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock ; ignore_errors=no ; start_time=[Sat 2026-11-28 10:00:00 UTC] ; stop_time=[n/a] ; pid=812 ; code=(null) ; status=0/0 }';
    expect(parseExecStartProperty(text)).toEqual(['/usr/sbin/dockerd', '-H', 'fd://', '--containerd=/run/containerd/containerd.sock']);
  });

  it.each([
    ['empty', ''],
    ['a unit without ExecStart', 'ExecStart='],
  ])('is empty for %s', (_what, text) => {
    expect(parseExecStartProperty(text)).toEqual([]);
  });
});
