import { describe, expect, it } from 'vitest';
import type { ObservedDaemon } from '../../protocol/observed.js';
import { SettingsSchema, type SettingsInput } from '../../protocol/settings.js';
import { parseProxyEnvironmentFile, renderProxyDropIn, renderProxyEnvironmentFile, type ProxyEnvironment } from '../render/drop-in.js';
import { dockerMajorVersion, NOTHING_OWNED, planApply, type ApplyPlan, type HostFile, type HostSnapshot, type OwnedState } from './apply-plan.js';
import { observeDaemonInfo } from './expected-daemon.js';
import { thrown } from '../../test/support/thrown.js';

const DAEMON_JSON = '/etc/docker/daemon.json';
const DROP_IN = '/etc/systemd/system/docker.service.d/http-proxy.conf';
const ENV_FILE = '/etc/fleetdock/docker-proxy.env';
/** The drop-in fleetdock writes: a pointer to the root-only environment file. */
const DROP_IN_TEXT = renderProxyDropIn(ENV_FILE);
/** The drop-in and environment file fleetdock writes for `env`. */
const proxyFiles = (env: ProxyEnvironment) => ({ dropIn: DROP_IN_TEXT, envFile: renderProxyEnvironmentFile(env) });
const V20 = '20.10.24+dfsg1';
const V26 = '26.1.5+dfsg1';
const NO_PROXY_VIEW = { http: null, https: null, noProxy: [] };

const MIRROR = 'http://mirror.internal:5000';
const PROXY = 'http://build:p%40ss@proxy.corp:3128';
const PROXY_SETTINGS = { daemonProxy: { http: PROXY, https: PROXY, noProxy: ['localhost', '.corp.example'] } };

/** A hand-written daemon.json with keys fleetdock does not own. */
const HAND_WRITTEN = '{\n  "log-level": "warn",\n  "data-root": "/srv/docker",\n  "log-opts": { "max-size": "10m" }\n}\n';

type HostOptions = {
  daemonJson?: string | null;
  dropIn?: string | null;
  envFile?: string | null;
  clientConfigs?: Record<string, HostFile>;
  serviceManager?: 'systemd' | 'signal';
  dockerdArgs?: string[];
  /** What dockerd reports; `running: false` for a daemon that is down. */
  daemon?: Partial<ObservedDaemon>;
};

/** A build server as the agent reads it: by default dockerd 26 under systemd, no files, nothing set. */
function host(options: HostOptions = {}): HostSnapshot {
  return {
    daemonJson: { path: DAEMON_JSON, text: options.daemonJson ?? null },
    dropIn: { path: DROP_IN, text: options.dropIn ?? null },
    proxyEnvironmentFile: { path: ENV_FILE, text: options.envFile ?? null },
    clientConfigs: options.clientConfigs ?? {},
    serviceManager: options.serviceManager ?? 'systemd',
    dockerdArgs: options.dockerdArgs ?? ['/usr/sbin/dockerd', '-H', 'fd://', '--containerd=/run/containerd/containerd.sock'],
    daemon: { running: true, version: V26, registryMirrors: [], insecureRegistries: [], proxy: NO_PROXY_VIEW, liveRestore: false, ...options.daemon },
  };
}

function owned(state: Partial<OwnedState> = {}): OwnedState {
  return { ...NOTHING_OWNED, ...state };
}

/** Plans with settings parsed (and so normalised) the way the agent receives them. */
function plan(settings: unknown, snapshot: HostSnapshot, before: OwnedState = NOTHING_OWNED): ApplyPlan {
  return planApply(SettingsSchema.parse(settings), snapshot, before);
}

function change(result: ApplyPlan, path: string) {
  return result.changes.find((c) => c.path === path);
}

/** The daemon.json the plan writes, parsed. */
function daemonJsonAfter(result: ApplyPlan): Record<string, unknown> | undefined {
  const c = change(result, DAEMON_JSON);
  return c?.after ? (JSON.parse(c.after) as Record<string, unknown>) : undefined;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('dockerMajorVersion', () => {
  it.each([
    ['20.10.24+dfsg1', 20],
    ['26.1.5+dfsg1', 26],
    ['26.1.5', 26],
    ['23.0.0', 23],
    ['17.03.2-ce', 17],
    ['1.13.1', 1],
    ['dev', null],
    ['', null],
    [null, null],
  ])('%j → %j', (version, major) => {
    expect(dockerMajorVersion(version)).toBe(major);
  });
});

describe('planApply: the action on dockerd', () => {
  type Row = {
    what: string;
    settings: SettingsInput;
    host: HostSnapshot;
    owned?: OwnedState;
    action: ApplyPlan['action'];
    changed: string[];
    daemonReload?: boolean;
  };
  const rows: Row[] = [
    { what: 'nothing set, nothing there', settings: {}, host: host(), action: 'none', changed: [] },
    {
      what: 'nothing changed',
      settings: { registryMirrors: [MIRROR], insecureRegistries: ['registry.test:5000'] },
      host: host({
        daemonJson: json({ 'registry-mirrors': [MIRROR], 'insecure-registries': ['registry.test:5000'] }),
        daemon: { registryMirrors: [MIRROR], insecureRegistries: ['registry.test:5000'] },
      }),
      owned: owned({ daemonJsonKeys: ['registry-mirrors', 'insecure-registries'] }),
      action: 'none',
      changed: [],
    },
    { what: 'a mirror added', settings: { registryMirrors: [MIRROR] }, host: host({ daemonJson: HAND_WRITTEN }), action: 'reload', changed: [DAEMON_JSON] },
    {
      what: 'a mirror changed',
      settings: { registryMirrors: ['http://new:5000'] },
      host: host({ daemonJson: json({ 'registry-mirrors': ['http://old:5000'] }), daemon: { registryMirrors: ['http://old:5000'] } }),
      owned: owned({ daemonJsonKeys: ['registry-mirrors'] }),
      action: 'reload',
      changed: [DAEMON_JSON],
    },
    {
      what: 'a mirror removed',
      settings: {},
      host: host({ daemonJson: json({ 'registry-mirrors': [MIRROR] }), daemon: { registryMirrors: [MIRROR] } }),
      owned: owned({ daemonJsonKeys: ['registry-mirrors'] }),
      action: 'reload',
      changed: [DAEMON_JSON],
    },
    { what: 'an insecure registry added', settings: { insecureRegistries: ['192.168.9.8:80'] }, host: host(), action: 'reload', changed: [DAEMON_JSON] },
    { what: 'a proxy on dockerd 26', settings: PROXY_SETTINGS, host: host(), action: 'restart', changed: [DAEMON_JSON], daemonReload: false },
    { what: 'a proxy and a mirror on dockerd 26', settings: { ...PROXY_SETTINGS, registryMirrors: [MIRROR] }, host: host(), action: 'restart', changed: [DAEMON_JSON], daemonReload: false },
    { what: 'a proxy on dockerd 20.10 under systemd', settings: PROXY_SETTINGS, host: host({ daemon: { version: V20 } }), action: 'restart', changed: [ENV_FILE, DROP_IN], daemonReload: true },
    {
      what: 'a proxy and a mirror on dockerd 20.10',
      settings: { ...PROXY_SETTINGS, registryMirrors: [MIRROR] },
      host: host({ daemon: { version: V20 } }),
      action: 'restart',
      changed: [DAEMON_JSON, ENV_FILE, DROP_IN],
      daemonReload: true,
    },
    {
      what: 'clearing an owned proxy on dockerd 20.10',
      settings: {},
      host: host({ daemon: { version: V20, proxy: { http: 'http://xxxxx:xxxxx@proxy.corp:3128', https: null, noProxy: [] } }, ...proxyFiles({ HTTP_PROXY: PROXY }) }),
      owned: owned({ dropIn: true }),
      action: 'restart',
      changed: [DROP_IN, ENV_FILE],
      daemonReload: true,
    },
    {
      what: 'clearing an owned proxy on dockerd 26',
      settings: {},
      host: host({ daemonJson: json({ 'log-level': 'warn', proxies: { 'http-proxy': PROXY } }) }),
      owned: owned({ daemonJsonKeys: ['proxies'] }),
      action: 'restart',
      changed: [DAEMON_JSON],
      daemonReload: false,
    },
    {
      what: 'the same proxy already in place on dockerd 20.10',
      settings: PROXY_SETTINGS,
      host: host({
        daemon: { version: V20, proxy: { http: 'http://xxxxx:xxxxx@proxy.corp:3128', https: 'http://xxxxx:xxxxx@proxy.corp:3128', noProxy: ['localhost', '.corp.example'] } },
        ...proxyFiles({ HTTP_PROXY: PROXY, HTTPS_PROXY: PROXY, NO_PROXY: 'localhost,.corp.example' }),
      }),
      owned: owned({ dropIn: true }),
      action: 'none',
      changed: [],
    },
    {
      what: 'a drop-in edited by hand (trampled)',
      settings: PROXY_SETTINGS,
      host: host({ daemon: { version: V20 }, dropIn: '[Service]\nEnvironment="HTTP_PROXY=http://laptop:8080"\n', envFile: proxyFiles({ HTTP_PROXY: PROXY, HTTPS_PROXY: PROXY, NO_PROXY: 'localhost,.corp.example' }).envFile }),
      owned: owned({ dropIn: true }),
      action: 'restart',
      changed: [DROP_IN],
      daemonReload: true,
    },
    {
      what: 'the proxy environment file edited by hand',
      settings: PROXY_SETTINGS,
      host: host({ daemon: { version: V20 }, ...proxyFiles({ HTTP_PROXY: 'http://laptop:8080' }) }),
      owned: owned({ dropIn: true }),
      action: 'restart',
      changed: [ENV_FILE],
      daemonReload: false,
    },
    {
      what: 'files right but dockerd reports other mirrors',
      settings: { registryMirrors: [MIRROR] },
      host: host({ daemonJson: json({ 'registry-mirrors': [MIRROR] }), daemon: { registryMirrors: ['http://old:5000'] } }),
      owned: owned({ daemonJsonKeys: ['registry-mirrors'] }),
      action: 'reload',
      changed: [],
    },
    {
      what: 'files right but dockerd reports other insecure registries',
      settings: { insecureRegistries: ['registry.test:5000'] },
      host: host({ daemonJson: json({ 'insecure-registries': ['registry.test:5000'] }) }),
      owned: owned({ daemonJsonKeys: ['insecure-registries'] }),
      action: 'reload',
      changed: [],
    },
    {
      what: 'a client proxy only',
      settings: { clientProxy: { http: 'http://proxy:3128', users: ['ci'] } },
      host: host({ clientConfigs: { ci: { path: '/home/ci/.docker/config.json', text: null, owner: { uid: 1000, gid: 1000 } } } }),
      action: 'none',
      changed: ['/home/ci/.docker/config.json'],
    },
  ];

  it.each(rows)('$what → $action', (row) => {
    const result = plan(row.settings, row.host, row.owned);
    expect(result.action).toBe(row.action);
    expect(result.changes.map((c) => c.path).sort()).toEqual([...row.changed].sort());
    expect(result.daemonReload).toBe(row.daemonReload ?? false);
    expect(typeof result.reason).toBe('string');
    expect(result.reason.length).toBeGreaterThan(0);
  });

  it('plans nothing again once its own plan has been applied', () => {
    for (const row of rows) {
      const first = plan(row.settings, row.host, row.owned);
      const applied = { ...row.host };
      for (const c of first.changes) {
        if (c.path === DAEMON_JSON) applied.daemonJson = { path: DAEMON_JSON, text: c.after };
        else if (c.path === DROP_IN) applied.dropIn = { path: DROP_IN, text: c.after };
        else if (c.path === ENV_FILE) applied.proxyEnvironmentFile = { path: ENV_FILE, text: c.after };
        else applied.clientConfigs = { ...applied.clientConfigs, [row.settings.clientProxy!.users[0]!]: { path: c.path, text: c.after, owner: c.owner } };
      }
      // dockerd now reports what the plan expected (proxies masked, as /info does)
      const exp = first.expected;
      applied.daemon = {
        ...applied.daemon,
        ...(exp.registryMirrors ? { registryMirrors: exp.registryMirrors } : {}),
        ...(exp.insecureRegistries ? { insecureRegistries: exp.insecureRegistries } : {}),
      };
      const second = plan(row.settings, applied, first.owned);
      expect({ what: row.what, action: second.action, changes: second.changes }).toEqual({ what: row.what, action: 'none', changes: [] });
    }
  });
});

describe('planApply: where the daemon proxy goes', () => {
  it('puts it into daemon.json "proxies" on dockerd 26, with no drop-in', () => {
    const result = plan(PROXY_SETTINGS, host({ daemonJson: HAND_WRITTEN }));
    expect(result.proxyPlacement).toBe('daemon-json');
    expect(daemonJsonAfter(result)).toEqual({
      'log-level': 'warn',
      'data-root': '/srv/docker',
      'log-opts': { 'max-size': '10m' },
      proxies: { 'http-proxy': PROXY, 'https-proxy': PROXY, 'no-proxy': 'localhost,.corp.example' },
    });
    expect(change(result, DROP_IN)).toBeUndefined();
    expect(result.owned).toEqual({ daemonJsonKeys: ['proxies'], dropIn: false, clientUsers: [] });
  });

  it('puts it into the systemd drop-in on dockerd 20.10, and never "proxies" into daemon.json (20.10 would refuse to start)', () => {
    const result = plan({ ...PROXY_SETTINGS, registryMirrors: [MIRROR] }, host({ daemon: { version: V20 } }));
    expect(result.proxyPlacement).toBe('drop-in');
    const dropIn = change(result, DROP_IN)!;
    expect(dropIn.before).toBeNull();
    expect(dropIn.after).toBe(DROP_IN_TEXT);
    expect(dropIn.after).not.toContain('proxy.corp'); // no value in the unit: `systemctl show` prints units to everyone
    expect(dropIn.mode).toBe(0o644);
    const envFile = change(result, ENV_FILE)!;
    expect(parseProxyEnvironmentFile(envFile.after)).toEqual({ HTTP_PROXY: PROXY, HTTPS_PROXY: PROXY, NO_PROXY: 'localhost,.corp.example' });
    expect(envFile.mode).toBe(0o600);
    expect(envFile.dirMode).toBe(0o700);
    // the values are in place before the drop-in points at them
    expect(result.changes.map((c) => c.path)).toEqual([DAEMON_JSON, ENV_FILE, DROP_IN]);
    expect(daemonJsonAfter(result)).toEqual({ 'registry-mirrors': [MIRROR] });
    expect(result.owned).toEqual({ daemonJsonKeys: ['registry-mirrors'], dropIn: true, clientUsers: [] });
  });

  it('uses the drop-in when dockerd did not say its version, under systemd', () => {
    expect(plan(PROXY_SETTINGS, host({ daemon: { version: null } })).proxyPlacement).toBe('drop-in');
  });

  it.each([V20, null])('refuses a proxy on dockerd %j without systemd: PROXY_NEEDS_SYSTEMD', (version) => {
    const error = thrown(() => plan(PROXY_SETTINGS, host({ serviceManager: 'signal', daemon: { version } })));
    expect(error.code).toBe('PROXY_NEEDS_SYSTEMD');
    if (version) expect(error.message).toContain(version);
  });

  it('puts the proxy into daemon.json on dockerd 26 without systemd', () => {
    const result = plan(PROXY_SETTINGS, host({ serviceManager: 'signal' }));
    expect(result.proxyPlacement).toBe('daemon-json');
    expect(result.action).toBe('restart');
  });

  it('clears an owned drop-in: the file is removed (after null), restart after daemon-reload', () => {
    const before = proxyFiles({ HTTP_PROXY: PROXY });
    const result = plan({}, host({ daemon: { version: V20 }, ...before }), owned({ dropIn: true }));
    // the drop-in goes first, so it never points at a missing file
    expect(result.changes).toEqual([
      { path: DROP_IN, before: before.dropIn, after: null, mode: 0o644, owner: null },
      { path: ENV_FILE, before: before.envFile, after: null, mode: 0o600, owner: null, dirMode: 0o700 },
    ]);
    expect(result.action).toBe('restart');
    expect(result.daemonReload).toBe(true);
    expect(result.proxyPlacement).toBe('none');
    expect(result.owned.dropIn).toBe(false);
    expect(result.expected.proxy).toEqual(NO_PROXY_VIEW);
  });

  it('leaves a drop-in fleetdock does not own', () => {
    const theirs = '[Service]\nEnvironment="HTTP_PROXY=http://theirs:3128"\n';
    const result = plan({}, host({ daemon: { version: V20 }, dropIn: theirs }));
    expect(result.changes).toEqual([]);
    expect(result.action).toBe('none');
    expect(result.expected.proxy).toBeNull();
  });

  it('moves the proxy from the drop-in to daemon.json after dockerd was upgraded to 26', () => {
    const result = plan(PROXY_SETTINGS, host(proxyFiles({ HTTP_PROXY: PROXY })), owned({ dropIn: true }));
    expect(change(result, DROP_IN)?.after).toBeNull();
    expect(change(result, ENV_FILE)?.after).toBeNull();
    expect(daemonJsonAfter(result)?.proxies).toMatchObject({ 'http-proxy': PROXY });
    expect(result.action).toBe('restart');
    expect(result.daemonReload).toBe(true);
    expect(result.owned).toMatchObject({ daemonJsonKeys: ['proxies'], dropIn: false });
  });

  it('takes "proxies" out of daemon.json when dockerd is 20.10 again (it would refuse to start)', () => {
    const result = plan(PROXY_SETTINGS, host({ daemon: { version: V20 }, daemonJson: json({ proxies: { 'http-proxy': PROXY } }) }), owned({ daemonJsonKeys: ['proxies'] }));
    expect(daemonJsonAfter(result)).toEqual({});
    expect(change(result, DROP_IN)?.after).toBe(DROP_IN_TEXT);
    expect(change(result, ENV_FILE)?.after).toContain('HTTP_PROXY=');
    expect(result.action).toBe('restart');
    expect(result.owned).toMatchObject({ daemonJsonKeys: [], dropIn: true });
  });
});

describe('planApply: daemon.json', () => {
  it('keeps keys fleetdock does not own, with their values and order', () => {
    const result = plan({ registryMirrors: [MIRROR], insecureRegistries: ['registry.test:5000'] }, host({ daemonJson: HAND_WRITTEN }));
    const c = change(result, DAEMON_JSON)!;
    expect(c.before).toBe(HAND_WRITTEN);
    expect(c.mode).toBe(0o644);
    expect(Object.keys(JSON.parse(c.after!) as object)).toEqual(['log-level', 'data-root', 'log-opts', 'registry-mirrors', 'insecure-registries']);
    expect(daemonJsonAfter(result)).toMatchObject({ 'log-level': 'warn', 'data-root': '/srv/docker', 'log-opts': { 'max-size': '10m' } });
  });

  it('leaves mirrors it does not own when none are desired, and expects dockerd to report them', () => {
    const theirs = json({ 'registry-mirrors': ['http://theirs:5000'] });
    const result = plan({}, host({ daemonJson: theirs, daemon: { registryMirrors: ['http://theirs:5000'] } }));
    expect(result.changes).toEqual([]);
    expect(result.action).toBe('none');
    expect(result.owned.daemonJsonKeys).toEqual([]);
    expect(result.expected.registryMirrors).toEqual(['http://theirs:5000']);
  });

  it('takes over mirrors it did not own when some are desired', () => {
    const result = plan({ registryMirrors: [MIRROR] }, host({ daemonJson: json({ 'registry-mirrors': ['http://theirs:5000'] }) }));
    expect(daemonJsonAfter(result)).toEqual({ 'registry-mirrors': [MIRROR] });
    expect(result.owned.daemonJsonKeys).toEqual(['registry-mirrors']);
  });

  it.each([
    ['broken JSON', '{"log-level": "warn",'],
    ['an array', '["http://m:5000"]'],
    ['a string', '"x"'],
  ])('refuses to touch a daemon.json that is %s: DAEMON_JSON_INVALID naming the file', (_what, text) => {
    const error = thrown(() => plan({ registryMirrors: [MIRROR] }, host({ daemonJson: text })));
    expect(error.code).toBe('DAEMON_JSON_INVALID');
    expect(error.message).toContain(DAEMON_JSON);
  });

  it('writes a missing daemon.json only when there is something to write', () => {
    expect(plan({}, host()).changes).toEqual([]);
    expect(change(plan({ registryMirrors: [MIRROR] }, host()), DAEMON_JSON)).toMatchObject({ before: null, after: `{\n  "registry-mirrors": [\n    "${MIRROR}"\n  ]\n}\n` });
  });
});

describe('planApply: refusals', () => {
  it('refuses when dockerd is not running: DOCKER_UNREACHABLE, retryable', () => {
    const error = thrown(() => plan({ registryMirrors: [MIRROR] }, host({ daemon: observeDaemonInfo(null) })));
    expect(error.code).toBe('DOCKER_UNREACHABLE');
    expect(error.retryable).toBe(true);
  });

  it.each([
    ['--registry-mirror=x', ['/usr/sbin/dockerd', '-H', 'fd://', '--registry-mirror=http://old:5000'], { registryMirrors: [MIRROR] }, '--registry-mirror'],
    ['--registry-mirror x', ['/usr/sbin/dockerd', '--registry-mirror', 'http://old:5000'], { registryMirrors: [MIRROR] }, '--registry-mirror'],
    ['--insecure-registry', ['/usr/sbin/dockerd', '--insecure-registry=r:5000'], { insecureRegistries: ['registry.test:5000'] }, '--insecure-registry'],
    ['--http-proxy on dockerd 26', ['/usr/sbin/dockerd', '--http-proxy=http://old:3128'], PROXY_SETTINGS, '--http-proxy'],
  ] as const)('refuses a %s flag for a key it would write: FLAG_CONFLICT naming the flag', (_what, args, settings, flag) => {
    const error = thrown(() => plan(settings, host({ dockerdArgs: [...args] })));
    expect(error.code).toBe('FLAG_CONFLICT');
    expect(error.message).toContain(flag);
    expect(error.details).toEqual({ flags: [flag] });
  });

  it('does not mind a mirror flag when it writes no mirrors, and does not check the mirrors the flag sets', () => {
    const result = plan({ insecureRegistries: ['registry.test:5000'] }, host({ dockerdArgs: ['/usr/sbin/dockerd', '--registry-mirror=http://flag:5000'], daemon: { registryMirrors: ['http://flag:5000'] } }));
    expect(result.action).toBe('reload');
    expect(result.expected.registryMirrors).toBeNull();
    expect(result.expected.insecureRegistries).toEqual(['registry.test:5000']);
  });

  it('can still clear mirrors it owns after somebody added the flag', () => {
    const result = plan({}, host({ dockerdArgs: ['/usr/sbin/dockerd', '--registry-mirror=http://flag:5000'], daemonJson: json({ 'registry-mirrors': [MIRROR] }) }), owned({ daemonJsonKeys: ['registry-mirrors'] }));
    expect(daemonJsonAfter(result)).toEqual({});
    expect(result.action).toBe('reload');
  });

  it('refuses a client proxy for a user the host does not have: CLIENT_USER_UNKNOWN naming the user', () => {
    const error = thrown(() => plan({ clientProxy: { http: 'http://proxy:3128', users: ['jenkins'] } }, host()));
    expect(error.code).toBe('CLIENT_USER_UNKNOWN');
    expect(error.message).toContain('jenkins');
  });
});

describe('planApply: client proxy', () => {
  const ciFile = (text: string | null): HostFile => ({ path: '/home/ci/.docker/config.json', text, owner: { uid: 1000, gid: 1000 } });

  it('writes config.json 0600, owned by the user, keeping the auths', () => {
    const existing = json({ auths: { 'registry.test:5000': { auth: 'Y2k6c2VjcmV0' } } });
    const result = plan({ clientProxy: { http: 'http://proxy:3128', noProxy: ['localhost', '.corp'], users: ['ci'] } }, host({ clientConfigs: { ci: ciFile(existing) } }));
    expect(result.action).toBe('none');
    const c = change(result, '/home/ci/.docker/config.json')!;
    expect(c.mode).toBe(0o600);
    expect(c.owner).toEqual({ uid: 1000, gid: 1000 });
    expect(c.before).toBe(existing);
    expect(JSON.parse(c.after!)).toEqual({ auths: { 'registry.test:5000': { auth: 'Y2k6c2VjcmV0' } }, proxies: { default: { httpProxy: 'http://proxy:3128', noProxy: 'localhost,.corp' } } });
    expect(result.owned.clientUsers).toEqual(['ci']);
    expect(result.expected.proxy).toBeNull();
  });

  it('clears the client proxy of a user it owned', () => {
    const text = json({ auths: {}, proxies: { default: { httpProxy: 'http://proxy:3128' } } });
    const result = plan({}, host({ clientConfigs: { ci: ciFile(text) } }), owned({ clientUsers: ['ci'] }));
    expect(JSON.parse(change(result, '/home/ci/.docker/config.json')!.after!)).toEqual({ auths: {} });
    expect(result.action).toBe('none');
    expect(result.owned.clientUsers).toEqual([]);
  });

  it('refuses a config.json that is not JSON, naming it', () => {
    const error = thrown(() => plan({ clientProxy: { http: 'http://proxy:3128', users: ['ci'] } }, host({ clientConfigs: { ci: ciFile('{oops') } })));
    expect(error.code).toBe('DAEMON_JSON_INVALID');
    expect(error.message).toContain('/home/ci/.docker/config.json');
  });

  // A build user fleetdock once wrote a client proxy for was deleted from the host. read-host.ts then
  // leaves that user out of clientConfigs; clearing their proxy has nothing left to do, and must not
  // block every later apply (mirrors included) with CLIENT_USER_UNKNOWN.
  it('forgets an owned user who no longer exists instead of failing every apply', () => {
    const result = plan({ registryMirrors: [MIRROR] }, host(), owned({ clientUsers: ['olduser'] }));
    expect(result.action).toBe('reload');
    expect(result.owned.clientUsers).toEqual([]);
  });
});

describe('planApply: what dockerd should report afterwards', () => {
  it.each([
    ['nothing', {}, host(), { registryMirrors: [], insecureRegistries: [], proxy: null }],
    [
      'mirrors and insecure registries, normalised, in order',
      { registryMirrors: ['HTTP://B:5000/', 'http://a:5000'], insecureRegistries: ['Registry.Test:5000', '10.0.0.0/8'] },
      host(),
      { registryMirrors: ['http://b:5000', 'http://a:5000'], insecureRegistries: ['registry.test:5000', '10.0.0.0/8'], proxy: null },
    ],
    [
      'a proxy on dockerd 26',
      PROXY_SETTINGS,
      host(),
      { registryMirrors: [], insecureRegistries: [], proxy: { http: PROXY, https: PROXY, noProxy: ['localhost', '.corp.example'] } },
    ],
    [
      'a proxy on dockerd 20.10',
      { daemonProxy: { https: PROXY } },
      host({ daemon: { version: V20 } }),
      { registryMirrors: [], insecureRegistries: [], proxy: { http: null, https: PROXY, noProxy: [] } },
    ],
    [
      'a cleared owned proxy',
      {},
      host({ daemonJson: json({ proxies: { 'http-proxy': PROXY } }) }),
      { registryMirrors: [], insecureRegistries: [], proxy: NO_PROXY_VIEW },
    ],
    [
      'insecure registries set by a flag (not fleetdock to check)',
      { registryMirrors: [MIRROR] },
      host({ dockerdArgs: ['/usr/sbin/dockerd', '--insecure-registry', 'r:5000'] }),
      { registryMirrors: [MIRROR], insecureRegistries: null, proxy: null },
    ],
  ] as const)('%s', (what, settings, snapshot, expected) => {
    const before = what === 'a cleared owned proxy' ? owned({ daemonJsonKeys: ['proxies'] }) : NOTHING_OWNED;
    expect(plan(settings, snapshot, before).expected).toEqual(expected);
  });

  // dockerd always reports 127.0.0.0/8 itself (observeDaemonInfo drops it), and it reports a CIDR as
  // its network. When the files are right and dockerd reports them the way it always does, there is
  // nothing to do: no SIGHUP on every apply.
  it.each([
    ['the loopback range listed as insecure', { insecureRegistries: ['127.0.0.0/8', 'registry.test:5000'] }, ['127.0.0.0/8'], ['registry.test:5000']],
    ['a CIDR written with host bits', { insecureRegistries: ['10.1.2.3/8'] }, ['10.0.0.0/8'], []],
  ] as const)('does nothing when the files are right and dockerd reports %s as it does', (_what, settings, cidrs, names) => {
    const first = plan(settings, host());
    const written = change(first, DAEMON_JSON)?.after ?? null;
    const info = {
      ServerVersion: V26,
      RegistryConfig: {
        Mirrors: [],
        InsecureRegistryCIDRs: [...new Set(['::1/128', '127.0.0.0/8', ...cidrs])],
        IndexConfigs: Object.fromEntries([['docker.io', { Secure: true }], ...names.map((n) => [n, { Name: n, Secure: false }])]),
      },
    };
    const second = plan(settings, host({ daemonJson: written, daemon: observeDaemonInfo(info) }), first.owned);
    expect(second.changes).toEqual([]);
    expect(second.action).toBe('none');
  });
});
