// Host specs, line inventories and YAML inventories into targets, and every mistake named by file and line.
import { describe, expect, it } from 'vitest';
import { looksLikeYaml, parseHostSpec, parseInventory, parseLineInventory, parseYamlInventory, TARGET_DEFAULTS, targetFromSpec } from './inventory.js';

const DEFAULTS = { ...TARGET_DEFAULTS, group: 'ci' };
const FP = 'SHA256:u1PBxucz5pvUbap2gmG9N2Ux6NJPoPRAbNXJxXilkfE';

describe('parseHostSpec', () => {
  it.each([
    ['bs1', { user: null, host: 'bs1', port: null }],
    ['root@bs1.example.com', { user: 'root', host: 'bs1.example.com', port: null }],
    ['deploy@10.0.0.5:2222', { user: 'deploy', host: '10.0.0.5', port: 2222 }],
    ['[fd00::1]:22', { user: null, host: 'fd00::1', port: 22 }],
    ['bob@[::1]', { user: 'bob', host: '::1', port: null }],
    ['  bs1:65535 ', { user: null, host: 'bs1', port: 65535 }],
  ])('%j', (text, spec) => {
    expect(parseHostSpec(text)).toEqual(spec);
  });

  it.each([
    ['', /empty host/],
    ['bs1:0', /port "0" is not a number from 1 to 65535/],
    ['bs1:70000', /port "70000"/],
    ['bs1:ssh', /port "ssh"/],
    ['fd00::1', /IPv6 address as \[addr\]/],
    ['[fd00::1', /'\[' without '\]'/],
    ['[bs1]:22', /not an IPv6 address/],
    ['b d@bs1', /whitespace/],
    ['-x@bs1', /user "-x" is not a valid login name/],
    ['bs_1', /"bs_1" is not a host name/],
    ['bs1..example', /is not a host name/],
  ])('refuses %j', (text, message) => {
    expect(() => parseHostSpec(text, 'here')).toThrow(message);
  });
});

describe('a host on the command line', () => {
  it('takes the defaults and the flags', () => {
    expect(targetFromSpec('bs1', { ...DEFAULTS, user: 'ops', port: 2200, keyPath: '/k' }, { name: 'web-1', fingerprint: FP })).toEqual({
      label: 'ops@bs1:2200',
      host: 'bs1',
      port: 2200,
      user: 'ops',
      keyPath: '/k',
      group: 'ci',
      name: 'web-1',
      fingerprint: FP,
      source: 'command line',
    });
  });

  it('leaves :22 out of the label and needs a group', () => {
    expect(targetFromSpec('root@bs1:22', DEFAULTS).label).toBe('root@bs1');
    expect(() => targetFromSpec('bs1', TARGET_DEFAULTS)).toThrow('command line: host bs1 has no group: give --group NAME or `group:` in the inventory');
    expect(() => targetFromSpec('bs1', { ...DEFAULTS, group: 'CI' })).toThrow(/group "CI"/);
    expect(() => targetFromSpec('bs1', DEFAULTS, { fingerprint: 'abc' })).toThrow(/fingerprint "abc"/);
  });
});

describe('line inventories', () => {
  it('reads one host per line with comments and blank lines', () => {
    const targets = parseLineInventory('# fleet\nroot@bs1:2222\n\nbob@bs2   # with sudo\n  bs3\n', 'hosts.txt', DEFAULTS);
    expect(targets.map((t) => [t.label, t.source])).toEqual([
      ['root@bs1:2222', 'hosts.txt line 2'],
      ['bob@bs2', 'hosts.txt line 4'],
      ['root@bs3', 'hosts.txt line 5'],
    ]);
  });

  it.each([
    ['bs1\nbs2 extra\n', 'hosts.txt line 2: "bs2 extra": one host per line'],
    ['bs1\nbs2:99999\n', 'hosts.txt line 2: port "99999"'],
    ['bs1\n# bs2\nroot@bs1\n', 'hosts.txt line 3: root@bs1 is already listed (hosts.txt line 1)'],
    ['# nothing\n\n', 'hosts.txt names no host'],
  ])('refuses %j', (text, message) => {
    expect(() => parseLineInventory(text, 'hosts.txt', DEFAULTS)).toThrow(message);
  });
});

describe('YAML inventories', () => {
  const yaml = [
    'defaults:',
    '  user: deploy',
    '  key: keys/fleet',
    '  group: builders',
    'hosts:',
    '  - bs1.example.com',
    '  - host: root@bs2.example.com:2222',
    '    key: /etc/keys/bs2',
    '    group: canary',
    '    name: bs2',
    `    fingerprint: ${FP}`,
    '  - host: bs3.example.com',
    '    port: 2200',
    '    user: ops',
    '',
  ].join('\n');

  it('reads defaults and per-host user, port, key, group, name and fingerprint; relative keys beside the file', () => {
    const targets = parseYamlInventory(yaml, '/srv/fleet/inventory.yaml', DEFAULTS);
    expect(targets).toEqual([
      { label: 'deploy@bs1.example.com', host: 'bs1.example.com', port: 22, user: 'deploy', keyPath: '/srv/fleet/keys/fleet', group: 'builders', name: null, fingerprint: null, source: '/srv/fleet/inventory.yaml line 6' },
      { label: 'root@bs2.example.com:2222', host: 'bs2.example.com', port: 2222, user: 'root', keyPath: '/etc/keys/bs2', group: 'canary', name: 'bs2', fingerprint: FP, source: '/srv/fleet/inventory.yaml line 7' },
      { label: 'ops@bs3.example.com:2200', host: 'bs3.example.com', port: 2200, user: 'ops', keyPath: '/srv/fleet/keys/fleet', group: 'builders', name: null, fingerprint: null, source: '/srv/fleet/inventory.yaml line 12' },
    ]);
  });

  it('takes a top-level list, and the command line group when the inventory names none', () => {
    expect(parseYamlInventory('- bs1\n- host: bs2\n', 'i.yml', DEFAULTS).map((t) => [t.label, t.group])).toEqual([
      ['root@bs1', 'ci'],
      ['root@bs2', 'ci'],
    ]);
  });

  it.each([
    ['hosts:\n  - bs1\n  - [bs2\n', /i\.yaml line \d: not valid YAML/],
    ['hosts:\n  - bs1\n  - host: bs2\n    colour: red\n', 'i.yaml line 4: unknown key "colour"'],
    ['hosts:\n  - bs1\n  - port: 22\n', 'i.yaml line 3: a host map needs `host: [user@]host[:port]`'],
    ['hosts:\n  - bs1\n  - host: bs2\n    port: 0\n', 'i.yaml line 3: port 0 is not a number from 1 to 65535'],
    ['hosts:\n  - bs1\n  - host: bs2\n    name: "a b"\n', 'i.yaml line 3: name "a b"'],
    ['hosts:\n  - bs1\n  - 42\n', 'i.yaml line 3: 42 is not a host'],
    ['hosts:\n  - bs1\n  - host: bs1\n', 'i.yaml line 3: root@bs1 is already listed (i.yaml line 2)'],
    ['hosts:\n  - host: a\n    name: x\n  - host: b\n    name: x\n', 'i.yaml line 4: name x is already given to root@a (i.yaml line 2)'],
    ['hosts: []\n', 'i.yaml line 1: the hosts list is empty'],
    ['hosts: bs1\n', 'i.yaml line 1: `hosts:` must be a list'],
    ['defaults:\n  group: ci\n', 'no `hosts:` list'],
    ['defaults:\n  colour: red\nhosts: [bs1]\n', 'i.yaml line 2: unknown key "colour" in defaults'],
    ['servers:\n  - bs1\n', 'i.yaml line 1: unknown top-level key "servers"'],
    ['hosts:\n  - bs1\n  - bs1:2:2\n', 'i.yaml line 3: "bs1:2:2": write an IPv6 address'],
  ])('refuses %j', (text, message) => {
    expect(() => parseYamlInventory(text, 'i.yaml', DEFAULTS)).toThrow(message);
  });

  it('needs a group for every host', () => {
    expect(() => parseYamlInventory('hosts:\n  - host: bs1\n    group: ci\n  - bs2\n', 'i.yaml', TARGET_DEFAULTS)).toThrow('i.yaml line 4: host bs2 has no group');
  });
});

describe('format detection', () => {
  it.each([
    ['fleet.yaml', 'bs1\n', true],
    ['fleet.YML', 'bs1\n', true],
    ['hosts', '# x\nhosts:\n  - bs1\n', true],
    ['hosts', '- bs1\n', true],
    ['hosts', '---\n- bs1\n', true],
    ['hosts', 'bs1\nbs2\n', false],
    ['hosts', '# hosts: none\nbs1\n', false],
  ])('%s %j: YAML %s', (name, text, yaml) => {
    expect(looksLikeYaml(name, text)).toBe(yaml);
  });

  it('parses each in its own format', () => {
    expect(parseInventory('bs1\nbs2\n', 'hosts', DEFAULTS)).toHaveLength(2);
    expect(parseInventory('hosts:\n  - bs1\n', 'hosts', DEFAULTS)).toHaveLength(1);
  });
});
