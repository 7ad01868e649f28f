import { describe, expect, it } from 'vitest';
import type { ObservedDaemon } from '../../protocol/observed.js';
import { actionForDaemonDiff, diffDaemon, observeDaemonInfo, type ExpectedDaemon } from './expected-daemon.js';

/** The registry and proxy parts of `GET /info` from Debian 12's dockerd 20.10.24, proxy from a drop-in. */
function info2010(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ID: 'ABCD:EFGH',
    Containers: 0,
    Driver: 'vfs',
    ServerVersion: '20.10.24+dfsg1',
    LiveRestoreEnabled: false,
    HttpProxy: 'http://xxxxx:xxxxx@proxy.corp:3128',
    HttpsProxy: 'http://xxxxx:xxxxx@proxy.corp:3128',
    NoProxy: 'localhost,.corp.example, 10.0.0.0/8',
    RegistryConfig: {
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      InsecureRegistryCIDRs: ['10.0.0.0/8', '127.0.0.0/8'],
      IndexConfigs: {
        'docker.io': { Name: 'docker.io', Mirrors: ['http://mirror.internal:5000/'], Secure: true, Official: true },
        'registry.test:5000': { Name: 'registry.test:5000', Mirrors: [], Secure: false, Official: false },
      },
      Mirrors: ['http://mirror.internal:5000/', 'https://mirror.example.com/'],
    },
    ...overrides,
  };
}

/** The same from Debian 13's dockerd 26.1.5, proxy from daemon.json `proxies`. */
function info26(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ID: '3b8c1f7e-9b1a-4c1e-8f0e-1d2c3b4a5f6e',
    ServerVersion: '26.1.5+dfsg1',
    LiveRestoreEnabled: true,
    HttpProxy: 'http://xxxxx:xxxxx@proxy:3128',
    HttpsProxy: '',
    NoProxy: '',
    RegistryConfig: {
      InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8', 'fd00::/8'],
      IndexConfigs: {
        '192.168.9.8:80': { Name: '192.168.9.8:80', Mirrors: [], Secure: false, Official: false },
        'docker.io': { Name: 'docker.io', Mirrors: ['http://127.0.0.1:5000/'], Secure: true, Official: true },
        'registry.test:5000': { Name: 'registry.test:5000', Mirrors: [], Secure: false, Official: false },
      },
      Mirrors: ['http://127.0.0.1:5000/'],
    },
    ...overrides,
  };
}

const NO_PROXY_VIEW = { http: null, https: null, noProxy: [] };

function daemon(overrides: Partial<ObservedDaemon> = {}): ObservedDaemon {
  return { running: true, version: '26.1.5', registryMirrors: [], insecureRegistries: [], proxy: NO_PROXY_VIEW, liveRestore: null, ...overrides };
}

function expected(overrides: Partial<ExpectedDaemon> = {}): ExpectedDaemon {
  return { registryMirrors: [], insecureRegistries: [], proxy: null, ...overrides };
}

describe('observeDaemonInfo', () => {
  it('reads dockerd 20.10: mirrors without the trailing /, insecure registries without docker.io or loopback, masked proxies', () => {
    expect(observeDaemonInfo(info2010())).toEqual({
      running: true,
      version: '20.10.24+dfsg1',
      registryMirrors: ['http://mirror.internal:5000', 'https://mirror.example.com'],
      insecureRegistries: ['10.0.0.0/8', 'registry.test:5000'],
      proxy: { http: 'http://xxxxx:xxxxx@proxy.corp:3128', https: 'http://xxxxx:xxxxx@proxy.corp:3128', noProxy: ['localhost', '.corp.example', '10.0.0.0/8'] },
      liveRestore: false,
    });
  });

  it('reads dockerd 26: both loopback ranges left out, empty proxies as none', () => {
    expect(observeDaemonInfo(info26())).toEqual({
      running: true,
      version: '26.1.5+dfsg1',
      registryMirrors: ['http://127.0.0.1:5000'],
      insecureRegistries: ['192.168.9.8:80', 'fd00::/8', 'registry.test:5000'].sort(),
      proxy: { http: 'http://xxxxx:xxxxx@proxy:3128', https: null, noProxy: [] },
      liveRestore: true,
    });
  });

  it('keeps the order of mirrors (preference)', () => {
    const observed = observeDaemonInfo(info26({ RegistryConfig: { Mirrors: ['http://b:5000/', 'http://a:5000/'] } }));
    expect(observed.registryMirrors).toEqual(['http://b:5000', 'http://a:5000']);
  });

  it('never reports a proxy password, even if a daemon reported one unmasked', () => {
    const observed = observeDaemonInfo(info2010({ HttpProxy: 'http://build:Sup3rSecret@proxy:3128', HttpsProxy: 'https://token@proxy:3128' }));
    expect(JSON.stringify(observed)).not.toContain('Sup3rSecret');
    expect(JSON.stringify(observed)).not.toContain('token');
    expect(observed.proxy.http).toBe('http://xxxxx:xxxxx@proxy:3128');
  });

  it('reads a null /info (daemon down) as not running, with nothing set', () => {
    expect(observeDaemonInfo(null)).toEqual({ running: false, version: null, registryMirrors: [], insecureRegistries: [], proxy: NO_PROXY_VIEW, liveRestore: null });
  });

  it.each([
    ['no RegistryConfig', { ServerVersion: '20.10.24' }],
    ['a null RegistryConfig', { ServerVersion: '20.10.24', RegistryConfig: null }],
    ['null IndexConfigs and Mirrors', { ServerVersion: '20.10.24', RegistryConfig: { IndexConfigs: null, Mirrors: null, InsecureRegistryCIDRs: null } }],
    ['a null index config', { ServerVersion: '20.10.24', RegistryConfig: { IndexConfigs: { 'r:5000': null } } }],
  ])('survives %s', (_what, body) => {
    expect(observeDaemonInfo(body)).toMatchObject({ running: true, version: '20.10.24', registryMirrors: [], insecureRegistries: [] });
  });
});

describe('diffDaemon', () => {
  it('is empty when dockerd 20.10 reports what was written', () => {
    const want = expected({
      registryMirrors: ['http://mirror.internal:5000', 'https://mirror.example.com'],
      insecureRegistries: ['registry.test:5000', '10.0.0.0/8'],
      proxy: { http: 'http://user:p%40ss@proxy.corp:3128', https: 'http://user:p%40ss@proxy.corp:3128', noProxy: ['10.0.0.0/8', 'localhost', '.corp.example'] },
    });
    expect(diffDaemon(want, observeDaemonInfo(info2010()))).toEqual([]);
  });

  it('is empty when dockerd 26 reports what was written', () => {
    const want = expected({
      registryMirrors: ['http://127.0.0.1:5000'],
      insecureRegistries: ['registry.test:5000', '192.168.9.8:80', 'fd00::/8'],
      proxy: { http: 'http://u:secret@proxy:3128', https: null, noProxy: [] },
    });
    expect(diffDaemon(want, observeDaemonInfo(info26()))).toEqual([]);
  });

  it.each([
    ['another mirror', expected({ registryMirrors: ['http://new:5000'] }), daemon({ registryMirrors: ['http://old:5000'] }), ['http://new:5000', 'http://old:5000']],
    ['mirrors in another order', expected({ registryMirrors: ['http://a:5000', 'http://b:5000'] }), daemon({ registryMirrors: ['http://b:5000', 'http://a:5000'] }), ['mirror']],
    ['a mirror missing', expected({ registryMirrors: ['http://m:5000'] }), daemon(), ['http://m:5000', 'none']],
    ['a mirror left over', expected({ registryMirrors: [] }), daemon({ registryMirrors: ['http://m:5000'] }), ['http://m:5000']],
    ['an insecure registry missing', expected({ insecureRegistries: ['registry.test:5000'] }), daemon(), ['registry.test:5000']],
    ['another HTTP proxy', expected({ proxy: { http: 'http://new:3128', https: null, noProxy: [] } }), daemon({ proxy: { http: 'http://old:3128', https: null, noProxy: [] } }), ['http://new:3128', 'http://old:3128']],
    ['an HTTPS proxy left over', expected({ proxy: NO_PROXY_VIEW }), daemon({ proxy: { http: null, https: 'http://old:3128', noProxy: [] } }), ['HTTPS', 'http://old:3128']],
    ['another no-proxy', expected({ proxy: { http: 'http://p:3128', https: null, noProxy: ['localhost'] } }), daemon({ proxy: { http: 'http://p:3128', https: null, noProxy: [] } }), ['no-proxy', 'localhost']],
  ])('reports %s, naming the values', (_what, want, observed, named) => {
    const problems = diffDaemon(want, observed);
    expect(problems).toHaveLength(1);
    for (const word of named) expect(problems[0]).toContain(word);
  });

  it('compares insecure registries and no-proxy as sets', () => {
    const want = expected({ insecureRegistries: ['b:5000', 'a:5000'], proxy: { http: 'http://p:3128', https: null, noProxy: ['b', 'a'] } });
    expect(diffDaemon(want, daemon({ insecureRegistries: ['a:5000', 'b:5000'], proxy: { http: 'http://p:3128', https: null, noProxy: ['a', 'b'] } }))).toEqual([]);
  });

  it('compares proxies with credentials masked, and never shows a password', () => {
    const want = expected({ proxy: { http: 'http://build:Sup3rSecret@new:3128', https: null, noProxy: [] } });
    const problems = diffDaemon(want, daemon({ proxy: { http: 'http://xxxxx:xxxxx@old:3128', https: null, noProxy: [] } }));
    expect(problems).toHaveLength(1);
    expect(problems.join('\n')).not.toContain('Sup3rSecret');
    // only the password differs: dockerd cannot show it, so it is not drift
    expect(diffDaemon(want, daemon({ proxy: { http: 'http://xxxxx:xxxxx@new:3128', https: null, noProxy: [] } }))).toEqual([]);
  });

  it('does not check what is not fleetdock to check (null fields)', () => {
    const want: ExpectedDaemon = { registryMirrors: null, insecureRegistries: null, proxy: null };
    expect(diffDaemon(want, observeDaemonInfo(info2010()))).toEqual([]);
  });

  it('says dockerd is not answering when it is down', () => {
    expect(diffDaemon(expected(), observeDaemonInfo(null))).toEqual(['dockerd is not answering']);
  });

  // dockerd always adds 127.0.0.0/8 (and from 25 on ::1/128) and reports it once even when it is
  // configured; observeDaemonInfo drops it. Someone who lists it must not see drift forever.
  it.each([
    ['127.0.0.0/8', info2010()],
    ['::1/128', info26()],
  ])('is empty when the loopback range %s is configured as an insecure registry', (cidr, body) => {
    const observed = observeDaemonInfo(body);
    const want = expected({ registryMirrors: null, proxy: null, insecureRegistries: [...observed.insecureRegistries, cidr] });
    expect(diffDaemon(want, observed)).toEqual([]);
  });
});

describe('actionForDaemonDiff', () => {
  it.each([
    ['nothing differs', expected({ registryMirrors: ['http://m:5000'] }), daemon({ registryMirrors: ['http://m:5000'] }), 'none'],
    ['mirrors differ', expected({ registryMirrors: ['http://m:5000'] }), daemon(), 'reload'],
    ['insecure registries differ', expected({ insecureRegistries: ['r:5000'] }), daemon(), 'reload'],
    ['only the proxy differs (a reload cannot fix it)', expected({ proxy: { http: 'http://p:3128', https: null, noProxy: [] } }), daemon(), 'none'],
    ['dockerd is down', expected({ registryMirrors: ['http://m:5000'] }), observeDaemonInfo(null), 'none'],
  ] as const)('%s → %s', (_what, want, observed, action) => {
    expect(actionForDaemonDiff(want, observed)).toBe(action);
  });
});
