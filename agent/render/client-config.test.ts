import { describe, expect, it } from 'vitest';
import { mergeClientConfig, parseClientConfig, type ClientProxyConfig } from './client-config.js';
import { thrown } from '../../test/support/thrown.js';

const PATH = '/home/ci/.docker/config.json';
const PROXY: ClientProxyConfig = { httpProxy: 'http://proxy:3128', httpsProxy: 'http://proxy:3128', noProxy: 'localhost,.corp' };

/** A config.json the way `docker login` and a hand edit leave it. */
const EXISTING = {
  auths: { 'registry.test:5000': { auth: 'Y2k6c2VjcmV0' } },
  credsStore: 'pass',
  proxies: { 'tcp://other-daemon:2376': { httpProxy: 'http://other:3128' } },
  psFormat: 'table {{.ID}}',
};

describe('parseClientConfig', () => {
  it.each([
    ['missing', null],
    ['empty', ''],
    ['blank', ' \n'],
  ])('reads a %s config.json as {}', (_what, text) => {
    expect(parseClientConfig(text, PATH)).toEqual({});
  });

  it('reads an object', () => {
    expect(parseClientConfig(JSON.stringify(EXISTING), PATH)).toEqual(EXISTING);
  });

  it.each([
    ['broken JSON', '{"auths": {'],
    ['an array', '[]'],
    ['a string', '"x"'],
    ['null', 'null'],
  ])('refuses %s, naming the file, so fleetdock never overwrites it', (_what, text) => {
    const error = thrown(() => parseClientConfig(text, PATH));
    expect(error.code).toBe('DAEMON_JSON_INVALID');
    expect(error.message).toContain(PATH);
  });
});

describe('mergeClientConfig', () => {
  it('writes proxies.default into an empty config', () => {
    expect(mergeClientConfig({}, PROXY, false)).toEqual({ proxies: { default: PROXY } });
  });

  it('keeps auths, credsStore, other settings and other proxies entries', () => {
    const merged = mergeClientConfig(EXISTING, PROXY, false);
    expect(merged).toEqual({ ...EXISTING, proxies: { ...EXISTING.proxies, default: PROXY } });
    expect(Object.keys(merged)).toEqual(Object.keys(EXISTING));
  });

  it('replaces a proxies.default that is not what fleetdock wants', () => {
    const existing = { proxies: { default: { httpProxy: 'http://old:3128', ftpProxy: 'http://old:21' } } };
    expect(mergeClientConfig(existing, { httpProxy: 'http://proxy:3128' }, true)).toEqual({ proxies: { default: { httpProxy: 'http://proxy:3128' } } });
  });

  it('returns the very same object when nothing changes (so no write happens)', () => {
    const existing = { auths: {}, proxies: { default: { noProxy: 'localhost,.corp', httpsProxy: 'http://proxy:3128', httpProxy: 'http://proxy:3128' } } };
    expect(mergeClientConfig(existing, PROXY, true)).toBe(existing);
  });

  it.each([
    ['owned: removes proxies.default and an emptied proxies', { auths: {}, proxies: { default: PROXY } }, true, { auths: {} }],
    ['owned: keeps other proxies entries', { proxies: { default: PROXY, 'tcp://other:2376': { httpProxy: 'http://o:1' } } }, true, { proxies: { 'tcp://other:2376': { httpProxy: 'http://o:1' } } }],
    ['not owned: leaves a foreign proxies.default', { proxies: { default: PROXY } }, false, { proxies: { default: PROXY } }],
    ['owned but nothing there: no change', { auths: {} }, true, { auths: {} }],
  ] as const)('clearing the proxy, %s', (_what, existing, owned, expected) => {
    expect(mergeClientConfig(existing as Record<string, unknown>, null, owned)).toEqual(expected);
  });

  it('returns the same object when clearing a proxy it does not own', () => {
    const existing = { proxies: { default: PROXY } };
    expect(mergeClientConfig(existing, null, false)).toBe(existing);
  });

  it('does not change the object it was given', () => {
    const existing = structuredClone(EXISTING);
    mergeClientConfig(existing, PROXY, false);
    expect(existing).toEqual(EXISTING);
    const withDefault = { ...structuredClone(EXISTING), proxies: { ...EXISTING.proxies, default: PROXY } };
    const copy = structuredClone(withDefault);
    mergeClientConfig(withDefault, null, true);
    expect(withDefault).toEqual(copy);
  });

  it('replaces a proxies value that is not an object', () => {
    expect(mergeClientConfig({ proxies: 'broken' }, PROXY, false)).toEqual({ proxies: { default: PROXY } });
  });
});
