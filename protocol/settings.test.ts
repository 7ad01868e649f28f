import { describe, expect, it } from 'vitest';
import { describeIssues } from './messages.js';
import { EMPTY_SETTINGS, SettingsSchema, type Settings } from './settings.js';

function parse(input: unknown): Settings {
  const result = SettingsSchema.safeParse(input);
  if (!result.success) throw new Error(`expected valid settings, got: ${describeIssues(result.error)}`);
  return result.data;
}

/** The message a user sees for refused settings. */
function refusal(input: unknown): string {
  const result = SettingsSchema.safeParse(input);
  if (result.success) throw new Error(`expected a refusal, got ${JSON.stringify(result.data)}`);
  return describeIssues(result.error);
}

describe('SettingsSchema defaults', () => {
  it('fills every field of empty settings: no mirrors, no registries, no proxies', () => {
    expect(parse({})).toEqual({ registryMirrors: [], insecureRegistries: [], daemonProxy: null, clientProxy: null });
  });

  it('gives EMPTY_SETTINGS the same value as parsing {}', () => {
    expect(EMPTY_SETTINGS).toEqual(parse({}));
    expect(Object.isFrozen(EMPTY_SETTINGS)).toBe(true);
  });

  it('defaults a proxy without noProxy to an empty list', () => {
    expect(parse({ daemonProxy: { http: 'http://proxy:3128' } }).daemonProxy).toEqual({ http: 'http://proxy:3128', noProxy: [] });
  });

  it('takes daemonProxy: null as no proxy', () => {
    expect(parse({ daemonProxy: null, clientProxy: null })).toEqual(EMPTY_SETTINGS);
  });
});

describe('SettingsSchema normalisation', () => {
  it.each([
    [{ registryMirrors: ['HTTP://Mirror.Internal:5000/'] }, { registryMirrors: ['http://mirror.internal:5000'] }],
    [{ insecureRegistries: ['Registry.Test:05000', '10.0.0.0/8'] }, { insecureRegistries: ['registry.test:5000', '10.0.0.0/8'] }],
    [
      { daemonProxy: { http: 'HTTP://u:p%40ss@Proxy:3128/', https: 'http://proxy:3128', noProxy: ['.Corp.Example', 'localhost'] } },
      { daemonProxy: { http: 'http://u:p%40ss@proxy:3128', https: 'http://proxy:3128', noProxy: ['.corp.example', 'localhost'] } },
    ],
    [
      { clientProxy: { https: 'http://proxy:3128', users: ['ci', 'jenkins'] } },
      { clientProxy: { https: 'http://proxy:3128', noProxy: [], users: ['ci', 'jenkins'] } },
    ],
  ])('normalises %j', (input, expected) => {
    expect(parse(input)).toMatchObject(expected);
  });

  it('keeps the order of registry mirrors (order of preference)', () => {
    const mirrors = ['http://c:5000', 'http://a:5000', 'http://b:5000'];
    expect(parse({ registryMirrors: mirrors }).registryMirrors).toEqual(mirrors);
  });

  it('gives settings that parse again to themselves', () => {
    const once = parse({
      registryMirrors: ['HTTP://M:5000/', 'https://mirror.example.com'],
      insecureRegistries: ['Registry.Test:05000', '[FD00::1]:5000'],
      daemonProxy: { http: 'http://u:p%40ss@Proxy:3128', noProxy: ['*.Corp', '10.0.0.0/8'] },
      clientProxy: { http: 'http://proxy:3128', users: ['ci'] },
    });
    expect(parse(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });
});

describe('SettingsSchema refusals', () => {
  it.each([
    ['an unknown top-level field', { registryMirror: ['http://m:5000'] }, ['registryMirror']],
    ['an unknown proxy field', { daemonProxy: { http: 'http://p:3128', ftp: 'http://p:21' } }, ['daemonProxy', 'ftp']],
    ['an unknown client proxy field', { clientProxy: { http: 'http://p:3128', users: ['ci'], all: true } }, ['clientProxy', 'all']],
  ])('refuses %s, naming it', (_what, input, named) => {
    const message = refusal(input);
    for (const word of named) expect(message).toContain(word);
  });

  it.each([
    ['a bad mirror', { registryMirrors: ['http://ok:5000', 'ftp://x'] }, 'registryMirrors[1]', 'ftp://x'],
    ['a mirror with a path', { registryMirrors: ['http://m:5000/v2'] }, 'registryMirrors[0]', 'http://m:5000/v2'],
    ['a bad insecure registry', { insecureRegistries: ['http://r:5000'] }, 'insecureRegistries[0]', 'http://r:5000'],
    ['a bad proxy', { daemonProxy: { http: 'socks5://p:1080' } }, 'daemonProxy.http', 'socks5://p:1080'],
    ['a bad https proxy', { daemonProxy: { https: 'http://p:3128/x' } }, 'daemonProxy.https', 'http://p:3128/x'],
    ['a bad no-proxy entry', { daemonProxy: { http: 'http://p:3128', noProxy: ['ok', 'a,b'] } }, 'daemonProxy.noProxy[1]', 'a,b'],
    ['a proxy with neither http nor https', { daemonProxy: { noProxy: ['localhost'] } }, 'daemonProxy', 'http or https'],
    ['a client proxy without users', { clientProxy: { http: 'http://p:3128', users: [] } }, 'clientProxy.users', 'user'],
    ['a client proxy with no users field', { clientProxy: { http: 'http://p:3128' } }, 'clientProxy.users', ''],
    ['a bad user name', { clientProxy: { http: 'http://p:3128', users: ['ci', '../root'] } }, 'clientProxy.users[1]', '../root'],
    ['a client proxy with neither http nor https', { clientProxy: { users: ['ci'] } }, 'clientProxy', 'http or https'],
    ['mirrors given as a string', { registryMirrors: 'http://m:5000' }, 'registryMirrors', ''],
    ['mirrors given as null', { registryMirrors: null }, 'registryMirrors', ''],
    ['a number for a mirror', { registryMirrors: [5000] }, 'registryMirrors[0]', ''],
  ])('refuses %s, naming the field %j and the value', (_what, input, path, value) => {
    const message = refusal(input);
    expect(message).toContain(`${path}:`);
    expect(message).toContain(value);
  });

  it.each([
    ['registry mirrors', { registryMirrors: ['http://m:5000', 'http://x:5000', 'HTTP://M:5000/'] }, 'registryMirrors'],
    ['insecure registries', { insecureRegistries: ['r:5000', 'R:05000'] }, 'insecureRegistries'],
    ['no-proxy entries', { daemonProxy: { http: 'http://p:3128', noProxy: ['localhost', 'LOCALHOST'] } }, 'daemonProxy.noProxy'],
    ['client users', { clientProxy: { http: 'http://p:3128', users: ['ci', 'ci'] } }, 'clientProxy.users'],
  ])('refuses repeated %s (after normalisation), naming the list', (_what, input, path) => {
    const message = refusal(input);
    expect(message).toContain(`${path}:`);
    expect(message).toMatch(/repeat/);
  });

  it.each([
    ['33 registry mirrors', { registryMirrors: Array.from({ length: 33 }, (_, i) => `http://m${i}:5000`) }, 'registryMirrors'],
    ['129 insecure registries', { insecureRegistries: Array.from({ length: 129 }, (_, i) => `r${i}:5000`) }, 'insecureRegistries'],
    ['65 client users', { clientProxy: { http: 'http://p:3128', users: Array.from({ length: 65 }, (_, i) => `u${i}`) } }, 'clientProxy.users'],
  ])('refuses %s, saying the limit', (_what, input, path) => {
    expect(refusal(input)).toMatch(new RegExp(`^${path.replace('.', '\\.')}: at most \\d+`));
  });

  it('accepts exactly 32 registry mirrors', () => {
    expect(parse({ registryMirrors: Array.from({ length: 32 }, (_, i) => `http://m${i}:5000`) }).registryMirrors).toHaveLength(32);
  });

  it('never lets a proxy password into the message', () => {
    const message = refusal({ daemonProxy: { http: 'http://user:Sup3rSecret@proxy:3128/path' } });
    expect(message).toContain('daemonProxy.http');
    expect(message).not.toContain('Sup3rSecret');
  });

  it('refuses non-objects', () => {
    for (const input of [null, [], 'settings', 42]) expect(() => refusal(input)).not.toThrow();
  });
});
