import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../protocol/observed.js';
import { SettingsSchema, type SettingsInput } from '../../protocol/settings.js';
import { diffSettingsFields, planHostChange } from './plan-changes.js';

const settings = (input: SettingsInput) => SettingsSchema.parse(input);
const facts = (overrides: Partial<HostFacts> = {}): HostFacts => ({
  hostname: 'bs1',
  os: 'linux 6.1.0',
  arch: 'x64',
  dockerVersion: '26.1.5+dfsg1',
  serviceManager: 'systemd',
  liveRestore: false,
  agentVersion: '0.1.0',
  ...overrides,
});

const MIRROR = { registryMirrors: ['http://mirror:5000'] };
const PROXY = { daemonProxy: { http: 'http://proxy:3128' } };
const CLIENT = { daemonProxy: { http: 'http://proxy:3128' }, clientProxy: { http: 'http://proxy:3128', users: ['ci'] } };

describe('planHostChange', () => {
  it.each([
    ['nothing changes', MIRROR, MIRROR, facts(), { changes: [], action: 'none', stopsContainers: false }],
    ['a mirror: reload', {}, MIRROR, facts(), { changes: ['registryMirrors'], action: 'reload', stopsContainers: false }],
    ['an insecure registry: reload', {}, { insecureRegistries: ['registry:5000'] }, facts(), { changes: ['insecureRegistries'], action: 'reload' }],
    ['mirror order matters', { registryMirrors: ['http://a:1', 'http://b:1'] }, { registryMirrors: ['http://b:1', 'http://a:1'] }, facts(), { changes: ['registryMirrors'], action: 'reload' }],
    ['a proxy on dockerd 26: restart, in daemon.json, containers stop', {}, PROXY, facts(), { changes: ['daemonProxy'], action: 'restart', proxyPlacement: 'daemon-json', stopsContainers: true }],
    ['a proxy on dockerd 20.10: restart, in a drop-in', {}, PROXY, facts({ dockerVersion: '20.10.24+dfsg1' }), { action: 'restart', proxyPlacement: 'drop-in', stopsContainers: true }],
    ['a proxy removed: restart', PROXY, {}, facts(), { changes: ['daemonProxy'], action: 'restart', proxyPlacement: 'none' }],
    ['a restart with live-restore keeps containers', {}, PROXY, facts({ liveRestore: true }), { action: 'restart', stopsContainers: false, warning: null }],
    ['a restart with live-restore unknown may stop them', {}, PROXY, facts({ liveRestore: null }), { stopsContainers: true, warning: expect.stringContaining('live-restore is unknown') }],
    ['a client proxy only: none', PROXY, CLIENT, facts(), { changes: ['clientProxy'], action: 'none', stopsContainers: false }],
    ['mirrors and a proxy: restart', {}, { ...MIRROR, ...PROXY }, facts(), { changes: ['registryMirrors', 'daemonProxy'], action: 'restart' }],
  ])('%s', (_name, from, to, hostFacts, expected) => {
    expect(planHostChange(settings(from), settings(to), hostFacts)).toMatchObject(expected);
  });

  it('warns that dockerd < 23 without systemd will refuse a proxy', () => {
    const plan = planHostChange(settings({}), settings(PROXY), facts({ dockerVersion: '20.10.24', serviceManager: 'signal' }));
    expect(plan.warning).toContain('PROXY_NEEDS_SYSTEMD');
  });

  it('compares with nothing set for a host that applied nothing yet, and says what it does not know', () => {
    expect(planHostChange(null, settings(MIRROR), null)).toMatchObject({ changes: ['registryMirrors'], action: 'reload', warning: expect.stringContaining('never connected') });
    expect(diffSettingsFields(null, settings({}))).toEqual([]);
  });
});
