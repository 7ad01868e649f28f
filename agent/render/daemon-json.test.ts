import { describe, expect, it } from 'vitest';
import { jsonEqual, mergeDaemonJson, parseDaemonJson, renderDaemonJson, type ManagedDaemonValues } from './daemon-json.js';
import { thrown } from '../../test/support/thrown.js';

const PATH = '/etc/docker/daemon.json';

const NOTHING: ManagedDaemonValues = { 'registry-mirrors': [], 'insecure-registries': [], proxies: null };

function desired(values: Partial<ManagedDaemonValues>): ManagedDaemonValues {
  return { ...NOTHING, ...values };
}

/** A hand-written daemon.json of a build server, with keys fleetdock does not own. */
const HAND_WRITTEN = `{
    "log-level": "warn",
    "data-root": "/srv/docker",
    "log-driver": "json-file",
    "log-opts": { "max-size": "10m", "max-file": "3" },
    "registry-mirrors": ["http://old-mirror:5000"],
    "storage-driver": "overlay2",
    "default-address-pools": [{ "base": "172.80.0.0/16", "size": 24 }],
    "live-restore": true
}
`;

/** parse → merge → render, as the agent does it. */
function mergeText(text: string | null, values: ManagedDaemonValues, owned: readonly string[]) {
  const result = mergeDaemonJson(parseDaemonJson(text, PATH), values, owned);
  return { ...result, text: renderDaemonJson(result.merged) };
}

describe('parseDaemonJson', () => {
  it.each([
    ['missing (null)', null],
    ['empty', ''],
    ['blank', '  \n\t\n'],
  ])('reads a %s daemon.json as {}', (_what, text) => {
    expect(parseDaemonJson(text, PATH)).toEqual({});
  });

  it('reads an object', () => {
    expect(parseDaemonJson('{"log-level":"warn","registry-mirrors":["http://m:5000"]}', PATH)).toEqual({ 'log-level': 'warn', 'registry-mirrors': ['http://m:5000'] });
  });

  it.each([
    ['truncated JSON', '{"log-level": "warn",'],
    ['a trailing comma', '{"log-level": "warn",}\n'],
    ['a comment', '// mirrors\n{}'],
    ['an array', '["http://m:5000"]'],
    ['a string', '"registry-mirrors"'],
    ['a number', '42'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
  ])('refuses %s with DAEMON_JSON_INVALID naming the file', (_what, text) => {
    const error = thrown(() => parseDaemonJson(text, PATH));
    expect(error.code).toBe('DAEMON_JSON_INVALID');
    expect(error.message).toContain(PATH);
    expect(error.retryable).toBe(false);
  });
});

describe('mergeDaemonJson: keys fleetdock does not manage', () => {
  it('keeps every foreign key with its value and its place, nested objects included', () => {
    const { merged, text } = mergeText(HAND_WRITTEN, desired({ 'registry-mirrors': ['http://mirror:5000'], 'insecure-registries': ['registry.test:5000'] }), []);
    const before = JSON.parse(HAND_WRITTEN) as Record<string, unknown>;
    for (const key of ['log-level', 'data-root', 'log-driver', 'log-opts', 'storage-driver', 'default-address-pools', 'live-restore']) {
      expect(merged[key]).toEqual(before[key]);
    }
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      'log-level',
      'data-root',
      'log-driver',
      'log-opts',
      'registry-mirrors', // changed in place
      'storage-driver',
      'default-address-pools',
      'live-restore',
      'insecure-registries', // new key at the end
    ]);
    expect(Object.keys((JSON.parse(text) as { 'log-opts': object })['log-opts'])).toEqual(['max-size', 'max-file']);
  });

  it('does not change the object it was given', () => {
    const existing = parseDaemonJson(HAND_WRITTEN, PATH);
    const copy = structuredClone(existing);
    mergeDaemonJson(existing, desired({ 'registry-mirrors': ['http://mirror:5000'], proxies: { 'http-proxy': 'http://p:3128' } }), ['insecure-registries']);
    expect(existing).toEqual(copy);
  });

  it('keeps a foreign key even when its name looks managed', () => {
    const { merged } = mergeText('{"registry-mirror":"x","proxies-extra":1}', desired({ 'registry-mirrors': ['http://m:5000'] }), ['registry-mirrors']);
    expect(merged).toMatchObject({ 'registry-mirror': 'x', 'proxies-extra': 1 });
  });
});

describe('mergeDaemonJson: managed keys and ownership', () => {
  const existing = '{"registry-mirrors":["http://theirs:5000"],"insecure-registries":["theirs:5000"],"proxies":{"http-proxy":"http://theirs:3128"}}';

  it.each([
    [
      'a non-empty desired takes ownership of an existing key and replaces its value',
      existing,
      desired({ 'registry-mirrors': ['http://ours:5000'] }),
      [],
      { 'registry-mirrors': ['http://ours:5000'], 'insecure-registries': ['theirs:5000'], proxies: { 'http-proxy': 'http://theirs:3128' } },
      ['registry-mirrors'],
      ['registry-mirrors'],
    ],
    [
      'an empty desired leaves keys fleetdock does not own',
      existing,
      NOTHING,
      [],
      JSON.parse(existing),
      [],
      [],
    ],
    [
      'an empty desired clears keys fleetdock owns: lists become [] (a reload then clears them), proxies go',
      existing,
      NOTHING,
      ['registry-mirrors', 'insecure-registries', 'proxies'],
      { 'registry-mirrors': [], 'insecure-registries': [] },
      ['registry-mirrors', 'insecure-registries'],
      ['registry-mirrors', 'insecure-registries', 'proxies'],
    ],
    [
      'a cleared owned list becomes [], an unowned one stays',
      existing,
      NOTHING,
      ['insecure-registries'],
      { 'registry-mirrors': ['http://theirs:5000'], 'insecure-registries': [], proxies: { 'http-proxy': 'http://theirs:3128' } },
      ['insecure-registries'],
      ['insecure-registries'],
    ],
    [
      'clearing an owned list that was removed by hand writes [] (dockerd would keep the old mirrors on reload)',
      '{"log-level":"warn"}',
      NOTHING,
      ['registry-mirrors'],
      { 'log-level': 'warn', 'registry-mirrors': [] },
      ['registry-mirrors'],
      ['registry-mirrors'],
    ],
    [
      'the same value is owned but not a change',
      '{"registry-mirrors":["http://ours:5000"]}',
      desired({ 'registry-mirrors': ['http://ours:5000'] }),
      [],
      { 'registry-mirrors': ['http://ours:5000'] },
      ['registry-mirrors'],
      [],
    ],
    [
      'a reordered mirror list is a change (order is preference)',
      '{"registry-mirrors":["http://a:5000","http://b:5000"]}',
      desired({ 'registry-mirrors': ['http://b:5000', 'http://a:5000'] }),
      ['registry-mirrors'],
      { 'registry-mirrors': ['http://b:5000', 'http://a:5000'] },
      ['registry-mirrors'],
      ['registry-mirrors'],
    ],
    [
      'proxies in another key order are not a change',
      '{"proxies":{"no-proxy":"localhost","http-proxy":"http://p:3128"}}',
      desired({ proxies: { 'http-proxy': 'http://p:3128', 'no-proxy': 'localhost' } }),
      ['proxies'],
      { proxies: { 'http-proxy': 'http://p:3128', 'no-proxy': 'localhost' } },
      ['proxies'],
      [],
    ],
    [
      'all three keys into a missing file',
      null,
      desired({ 'registry-mirrors': ['http://m:5000'], 'insecure-registries': ['10.0.0.0/8'], proxies: { 'https-proxy': 'http://p:3128' } }),
      [],
      { 'registry-mirrors': ['http://m:5000'], 'insecure-registries': ['10.0.0.0/8'], proxies: { 'https-proxy': 'http://p:3128' } },
      ['registry-mirrors', 'insecure-registries', 'proxies'],
      ['registry-mirrors', 'insecure-registries', 'proxies'],
    ],
  ] as const)('%s', (_what, text, values, owned, expected, nowOwned, changed) => {
    const result = mergeText(text, values as ManagedDaemonValues, owned);
    expect(result.merged).toEqual(expected);
    expect([...result.owned].sort()).toEqual([...nowOwned].sort());
    expect([...result.changedKeys].sort()).toEqual([...changed].sort());
  });
});

describe('mergeDaemonJson: keys dockerd also takes as flags', () => {
  it('clears an owned list by removing it when a flag sets it (dockerd refuses even [] beside the flag)', () => {
    const result = mergeDaemonJson({ 'registry-mirrors': ['http://ours:5000'], 'log-level': 'warn' }, NOTHING, ['registry-mirrors'], ['registry-mirrors']);
    expect(result.merged).toEqual({ 'log-level': 'warn' });
    expect(result.owned).toEqual([]);
    expect(result.changedKeys).toEqual(['registry-mirrors']);
  });
});

describe('renderDaemonJson', () => {
  it('writes 2-space JSON with a trailing newline', () => {
    expect(renderDaemonJson({ 'log-level': 'warn', 'registry-mirrors': ['http://m:5000'] })).toBe('{\n  "log-level": "warn",\n  "registry-mirrors": [\n    "http://m:5000"\n  ]\n}\n');
    expect(renderDaemonJson({})).toBe('{}\n');
  });

  it('gives stable output: merging the result again gives the same text and no change', () => {
    const values = desired({ 'registry-mirrors': ['http://m:5000'], 'insecure-registries': ['registry.test:5000'] });
    const first = mergeText(HAND_WRITTEN, values, []);
    const second = mergeText(first.text, values, first.owned);
    expect(second.text).toBe(first.text);
    expect(second.changedKeys).toEqual([]);
    expect(second.owned).toEqual(first.owned);
  });

  it('round-trips through parseDaemonJson', () => {
    const value = parseDaemonJson(HAND_WRITTEN, PATH);
    expect(parseDaemonJson(renderDaemonJson(value), PATH)).toEqual(value);
  });

  it('keeps awkward strings intact (quotes, backslashes, unicode)', () => {
    const value = { 'data-root': 'C:\\docker "x" ü', 'proxies': { 'http-proxy': 'http://u:p%40ss@p:3128' } };
    expect(JSON.parse(renderDaemonJson(value))).toEqual(value);
  });
});

describe('jsonEqual', () => {
  it.each([
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    [[1, 2], [2, 1], false],
    [{ a: null }, { a: null }, true],
    [null, {}, false],
    [[], {}, false],
    ['1', 1, false],
    [undefined, [], false],
    [{ a: { b: { c: 'x' } } }, { a: { b: { c: 'x' } } }, true],
    [{ a: { b: { c: 'x' } } }, { a: { b: { c: 'y' } } }, false],
  ])('jsonEqual(%j, %j) is %s', (a, b, equal) => {
    expect(jsonEqual(a, b)).toBe(equal);
    expect(jsonEqual(b, a)).toBe(equal);
  });
});
