import { describe, expect, it } from 'vitest';
import type { ObservedState, ProxyView } from '../../protocol/observed.js';
import { SettingsSchema, type SettingsInput } from '../../protocol/settings.js';
import { classifyDrift, type DriftInput } from './classify.js';

const NOW = new Date('2026-11-28T10:00:00.000Z');
const MIRROR = 'http://mirror.internal:5000';
const OTHER = 'http://evil.example:5000';
const NO_PROXY: ProxyView = { http: null, https: null, noProxy: [] };

type Tweak = {
  files?: Partial<ObservedState['files']>;
  daemon?: Partial<ObservedState['daemon']>;
};

/** An observed state that matches `settings` exactly, as an agent on dockerd `version` reports it. */
function observedFor(settings: SettingsInput, tweak: Tweak = {}, version = '20.10.24'): ObservedState {
  const s = SettingsSchema.parse(settings);
  const view = (p: { http?: string | undefined; https?: string | undefined; noProxy: string[] } | null): ProxyView | null =>
    p && { http: p.http?.replace(/\/\/[^@]*@/, '//xxxxx:xxxxx@') ?? null, https: p.https?.replace(/\/\/[^@]*@/, '//xxxxx:xxxxx@') ?? null, noProxy: p.noProxy };
  const redacted = view(s.daemonProxy);
  const modern = Number(version.split('.')[0]) >= 23;
  return {
    at: NOW.toISOString(),
    appliedRevision: 3,
    files: {
      daemonJson: 'ok',
      daemonJsonSha256: 'x',
      registryMirrors: s.registryMirrors,
      insecureRegistries: s.insecureRegistries,
      daemonJsonProxy: modern ? redacted : null,
      dropInProxy: modern ? null : redacted,
      clientProxies: Object.fromEntries((s.clientProxy?.users ?? []).map((u) => [u, view(s.clientProxy)])),
      ...tweak.files,
    },
    daemon: {
      running: true,
      version,
      // dockerd's own spellings: the agent strips the trailing slash, drops 127.0.0.0/8
      registryMirrors: s.registryMirrors,
      insecureRegistries: [...s.insecureRegistries].sort(),
      proxy: redacted ?? NO_PROXY,
      liveRestore: false,
      ...tweak.daemon,
    },
  };
}

function input(settings: SettingsInput, overrides: Partial<DriftInput['host']> = {}, desiredRevision = 3): DriftInput {
  return {
    desired: { revision: desiredRevision, settings: SettingsSchema.parse(settings) },
    host: {
      connected: true,
      lastSeenAt: NOW.toISOString(),
      enrolledAt: '2026-11-01T00:00:00.000Z',
      appliedRevision: 3,
      lastResult: { revision: 3, outcome: 'applied', error: null },
      observed: observedFor(settings),
      dockerVersion: '20.10.24',
      ...overrides,
    },
    now: NOW,
    offlineAfterMs: 60_000,
  };
}

const brief = (i: DriftInput) => classifyDrift(i).map((f) => `${f.field}:${f.kind}`);

describe('classifyDrift', () => {
  const mirrors = { registryMirrors: [MIRROR] };
  const everything: SettingsInput = {
    registryMirrors: [MIRROR, 'https://m2.example'],
    insecureRegistries: ['registry.internal:5000', '10.0.0.0/8'],
    daemonProxy: { http: 'http://u:canary-pw@proxy.internal:3128', noProxy: ['localhost', '.internal'] },
    clientProxy: { https: 'http://u:canary-pw@proxy.internal:3128', users: ['ci'] },
  };

  it.each<[string, DriftInput, string[]]>([
    ['a host that is what its revision says', input(everything), []],
    ['mirrors edited by hand', input(mirrors, { observed: observedFor(mirrors, { files: { registryMirrors: [OTHER] } }) }), ['registryMirrors:file-edited']],
    ['mirrors edited and reloaded', input(mirrors, { observed: observedFor(mirrors, { files: { registryMirrors: [OTHER] }, daemon: { registryMirrors: [OTHER] } }) }), ['registryMirrors:file-edited']],
    ['mirror order changed by hand (order is a preference)', input(everything, { observed: observedFor(everything, { files: { registryMirrors: ['https://m2.example', MIRROR] } }) }), ['registryMirrors:file-edited']],
    ['file right, dockerd on another mirror', input(mirrors, { observed: observedFor(mirrors, { daemon: { registryMirrors: [OTHER] } }) }), ['registryMirrors:daemon-not-reloaded']],
    ['file right, dockerd 26 reports Mirrors null (no mirror)', input(mirrors, { observed: observedFor(mirrors, { daemon: { registryMirrors: [] } }) }), ['registryMirrors:daemon-not-reloaded']],
    ['a trailing slash is the same mirror', input(mirrors, { observed: observedFor(mirrors, { files: { registryMirrors: [`${MIRROR}/`] }, daemon: { registryMirrors: [`${MIRROR}/`] } }) }), []],
    ['insecure registries in another order, 127.0.0.0/8 reported by dockerd', input(everything, { observed: observedFor(everything, { files: { insecureRegistries: ['10.0.0.0/8', 'registry.internal:5000'] }, daemon: { insecureRegistries: ['10.0.0.0/8', '127.0.0.0/8', 'registry.internal:5000'] } }) }), []],
    ['an insecure registry added by hand', input(everything, { observed: observedFor(everything, { files: { insecureRegistries: ['10.0.0.0/8', 'registry.internal:5000', 'x.example:80'] } }) }), ['insecureRegistries:file-edited']],
    ['daemon proxy in the drop-in changed (dockerd 20)', input(everything, { observed: observedFor(everything, { files: { dropInProxy: { http: 'http://xxxxx:xxxxx@other:3128', https: null, noProxy: ['localhost', '.internal'] } } }) }), ['daemonProxy:file-edited']],
    ['daemon proxy file right, dockerd not restarted', input(everything, { observed: observedFor(everything, { daemon: { proxy: NO_PROXY } }) }), ['daemonProxy:daemon-not-reloaded']],
    ['no-proxy entries in another order are the same', input(everything, { observed: observedFor(everything, { daemon: { proxy: { http: 'http://xxxxx:xxxxx@proxy.internal:3128', https: null, noProxy: ['.internal', 'localhost'] } } }) }), []],
    ['client proxy removed from a user config', input(everything, { observed: observedFor(everything, { files: { clientProxies: { ci: null } } }) }), ['clientProxy:file-edited']],
    ['daemon.json no longer valid JSON', input(everything, { observed: observedFor(everything, { files: { daemonJson: 'invalid', registryMirrors: [], insecureRegistries: [] } }) }), ['registryMirrors:file-edited', 'insecureRegistries:file-edited']],
    ['dockerd down: only the files are compared', input(mirrors, { observed: observedFor(mirrors, { daemon: { running: false, registryMirrors: [] } }) }), []],
    ['fields the revision leaves empty are not audited', input({}, { observed: observedFor({}, { files: { registryMirrors: [OTHER] }, daemon: { registryMirrors: [OTHER] } }) }), []],
    ['behind: every difference is behind', input(mirrors, { appliedRevision: 2, observed: observedFor({ registryMirrors: [OTHER] }) }, 3), ['registryMirrors:behind']],
    ['behind but nothing differs: the host is behind', input(mirrors, { appliedRevision: 2 }, 3), ['host:behind']],
    ['never reported anything, revision 1 desired', input(mirrors, { appliedRevision: null, lastResult: null, observed: null }, 1), ['host:behind']],
    ['desired revision is older (rolled back): behind too', input(mirrors, { appliedRevision: 4, observed: observedFor({ registryMirrors: [OTHER] }) }, 3), ['registryMirrors:behind']],
    [
      'apply of the desired revision failed',
      input(mirrors, { appliedRevision: 2, lastResult: { revision: 3, outcome: 'rolled-back', error: { code: 'VERIFY_FAILED', message: 'dockerd kept the old mirror' } }, observed: observedFor({ registryMirrors: [OTHER] }) }),
      ['registryMirrors:apply-failed'],
    ],
    ['a failure of an older revision does not count', input(mirrors, { appliedRevision: 3, lastResult: { revision: 2, outcome: 'failed', error: { code: 'X', message: 'y' } } }), []],
    ['disconnected a moment ago: not offline yet, drift kept', input(mirrors, { connected: false, lastSeenAt: '2026-11-28T09:59:30.000Z', observed: observedFor(mirrors, { files: { registryMirrors: [OTHER] } }) }), ['registryMirrors:file-edited']],
    ['disconnected for longer than the grace time', input(mirrors, { connected: false, lastSeenAt: '2026-11-28T09:50:00.000Z' }), ['host:offline']],
    ['gone long ago, but the controller started 30 s ago: it may be reconnecting', { ...input(mirrors, { connected: false, lastSeenAt: '2026-11-28T09:50:00.000Z' }), watchingSince: '2026-11-28T09:59:30.000Z' }, []],
    ['gone long ago, the controller up for 2 min', { ...input(mirrors, { connected: false, lastSeenAt: '2026-11-28T09:50:00.000Z' }), watchingSince: '2026-11-28T09:58:00.000Z' }, ['host:offline']],
    ['enrolled, never connected, long ago', input(mirrors, { connected: false, lastSeenAt: null, appliedRevision: null, lastResult: null, observed: null }), ['host:behind', 'host:offline']],
  ])('%s', (_name, i, expected) => {
    expect(brief(i)).toEqual(expected);
  });

  it('says what the file has and what the revision says, and when an offline host was last seen', () => {
    const [edited] = classifyDrift(input(mirrors, { observed: observedFor(mirrors, { files: { registryMirrors: [OTHER] } }) }));
    expect(edited).toMatchObject({ expected: [MIRROR], actual: [OTHER] });
    expect(edited!.detail).toBe(`daemon.json has registry mirrors ${OTHER}, revision 3 says ${MIRROR}`);
    const [offline] = classifyDrift(input(mirrors, { connected: false, lastSeenAt: '2026-11-28T09:50:00.000Z' }));
    expect(offline).toMatchObject({ since: '2026-11-28T09:50:00.000Z', actual: { connected: false, lastSeenAt: '2026-11-28T09:50:00.000Z' } });
  });

  it('tells dockerd 26 (daemon.json proxies) from dockerd 20 (drop-in)', () => {
    const on26 = observedFor(everything, {}, '26.1.5');
    expect(brief({ ...input(everything, { observed: on26, dockerVersion: '26.1.5' }) })).toEqual([]);
    const wrong = observedFor(everything, { files: { daemonJsonProxy: null } }, '26.1.5');
    expect(brief(input(everything, { observed: wrong, dockerVersion: '26.1.5' }))).toEqual(['daemonProxy:file-edited']);
  });

  it('never carries a proxy password, whatever the agent sent', () => {
    const leaky = observedFor(everything, { files: { dropInProxy: { http: 'http://u:canary-pw@other:3128', https: null, noProxy: [] } }, daemon: { proxy: { http: 'http://u:canary-pw@other:3128', https: null, noProxy: [] } } });
    const failed = input(everything, {
      observed: leaky,
      appliedRevision: 2,
      lastResult: { revision: 3, outcome: 'failed', error: { code: 'ACTION_FAILED', message: 'restart with http://u:canary-pw@proxy.internal:3128 failed' } },
    });
    const all = [...classifyDrift(failed), ...classifyDrift(input(everything, { observed: leaky }))];
    expect(all.length).toBeGreaterThan(1);
    expect(JSON.stringify(all)).not.toContain('canary-pw');
    expect(JSON.stringify(all)).toContain('xxxxx:xxxxx@');
  });

  it('reports nothing but offline for a group without a revision', () => {
    expect(brief({ ...input(mirrors), desired: null })).toEqual([]);
    expect(brief({ ...input(mirrors, { connected: false, lastSeenAt: '2026-11-28T09:00:00.000Z' }), desired: null })).toEqual(['host:offline']);
  });
});
