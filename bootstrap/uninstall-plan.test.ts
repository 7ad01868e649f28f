// What uninstall removes, and how dockerd is told, from what the probe found.
import { describe, expect, it } from 'vitest';
import { renderProxyDropIn } from '../agent/render/drop-in.js';
import { agentFilesPresent, isFleetdockDropIn, ownedDaemonKeys, parseUninstallProbe, planPurge, type UninstallFacts } from './uninstall-plan.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const state = (keys: string[], clientUsers: string[] = []) => JSON.stringify({ appliedRevision: 3, owned: { daemonJsonKeys: keys, dropIn: false, clientUsers }, written: {} });
const DAEMON = { 'storage-driver': 'vfs', 'registry-mirrors': ['http://m:5000'], 'insecure-registries': ['m:5000'], 'log-driver': 'journald' };
const FACTS: UninstallFacts = {
  present: [],
  envName: 'bs1',
  stateJson: state(['registry-mirrors', 'insecure-registries']),
  daemonJson: JSON.stringify(DAEMON),
  dropIn: null,
  proxyEnvPresent: false,
  agentActive: true,
  agentLoaded: true,
  dockerActive: true,
  liveRestore: false,
};
const json = (text: string | null) => (text === null ? null : JSON.parse(text));

describe('parseUninstallProbe', () => {
  it('reads what is there', () => {
    const facts = parseUninstallProbe(
      [
        'present=/etc/systemd/system/fleetdock-agent.service',
        'present=/var/lib/fleetdock-agent',
        `env_b64=${b64('FLEETDOCK_AGENT_OPTS=--controller https://c:7700 --name bs7\n')}`,
        `state_b64=${b64(state(['proxies']))}`,
        `daemon_json_b64=${b64('{}')}`,
        `drop_in_b64=${b64('[Service]\n')}`,
        'proxy_env=present',
        'agent_active=active',
        'agent_load=loaded',
        'docker_active=active',
        'live_restore=true',
      ].join('\n'),
    );
    expect(facts).toEqual({
      present: ['/etc/systemd/system/fleetdock-agent.service', '/var/lib/fleetdock-agent'],
      envName: 'bs7',
      stateJson: state(['proxies']),
      daemonJson: '{}',
      dropIn: '[Service]\n',
      proxyEnvPresent: true,
      agentActive: true,
      agentLoaded: true,
      dockerActive: true,
      liveRestore: true,
    });
    expect(agentFilesPresent(facts)).toEqual(['/etc/systemd/system/fleetdock-agent.service', '/var/lib/fleetdock-agent']);
  });

  it('a host without the agent', () => {
    const facts = parseUninstallProbe('agent_active=inactive\nagent_load=not-found\ndocker_active=active\n');
    expect(agentFilesPresent(facts)).toEqual([]);
    expect(facts).toMatchObject({ envName: null, stateJson: null, agentLoaded: false, liveRestore: null });
  });
});

describe('ownedDaemonKeys', () => {
  it.each([
    [state(['registry-mirrors', 'proxies']), ['registry-mirrors', 'proxies']],
    [state(['registry-mirrors', 'log-driver']), ['registry-mirrors']],
    ['not json', null],
    ['{"owned":{}}', null],
    [null, null],
  ])('%j', (text, keys) => {
    expect(ownedDaemonKeys(text)).toEqual(keys);
  });
});

describe('planPurge', () => {
  it('mirrors and insecure registries: emptied and reloaded (containers keep running), then removed; other keys kept', () => {
    const plan = planPurge(FACTS, false);
    expect(json(plan.daemonJsonEmptied)).toEqual({ ...DAEMON, 'registry-mirrors': [], 'insecure-registries': [] });
    expect(json(plan.daemonJsonFinal)).toEqual({ 'storage-driver': 'vfs', 'log-driver': 'journald' });
    expect(plan).toMatchObject({ removedKeys: ['registry-mirrors', 'insecure-registries'], reload: true, restart: false, removeFiles: [], notes: [] });
  });

  it('only the keys the agent owns', () => {
    const plan = planPurge({ ...FACTS, stateJson: state(['registry-mirrors']) }, false);
    expect(json(plan.daemonJsonFinal)).toEqual({ 'storage-driver': 'vfs', 'insecure-registries': ['m:5000'], 'log-driver': 'journald' });
  });

  it('dockerd down: the file is cleaned, nothing reloaded', () => {
    const plan = planPurge({ ...FACTS, dockerActive: false }, false);
    expect(plan).toMatchObject({ daemonJsonEmptied: null, reload: false, restart: false });
    expect(json(plan.daemonJsonFinal)).toEqual({ 'storage-driver': 'vfs', 'log-driver': 'journald' });
  });

  it.each([
    ['no agent state', { stateJson: null }, /daemon\.json left as it is: no readable agent state/],
    ['a daemon.json that is not JSON', { daemonJson: '{' }, /daemon\.json left as it is: it is not a JSON object/],
  ])('leaves daemon.json alone with %s, and says so', (_what, over, note) => {
    const plan = planPurge({ ...FACTS, ...over }, true);
    expect(plan).toMatchObject({ daemonJsonEmptied: null, daemonJsonFinal: null, reload: false, restart: false });
    expect(plan.notes).toEqual([expect.stringMatching(note)]);
  });

  it('nothing owned present: nothing to write', () => {
    expect(planPurge({ ...FACTS, daemonJson: '{"log-driver":"journald"}' }, false)).toMatchObject({ daemonJsonEmptied: null, daemonJsonFinal: null, reload: false });
  });

  describe('a proxy', () => {
    const proxyFacts: UninstallFacts = { ...FACTS, stateJson: state(['proxies']), daemonJson: JSON.stringify({ proxies: { 'http-proxy': 'http://p:3128' } }) };

    it('live-restore off: removed from the files, but dockerd is not restarted; the note says what to do', () => {
      const plan = planPurge(proxyFacts, false);
      expect(json(plan.daemonJsonFinal)).toEqual({});
      expect(plan).toMatchObject({ restart: false, reload: false, daemonJsonEmptied: null });
      expect(plan.notes).toEqual([expect.stringMatching(/dockerd keeps its proxy until it restarts: live-restore is off.*systemctl restart docker/)]);
    });

    it('live-restore on, or --restart-docker: restarted', () => {
      expect(planPurge({ ...proxyFacts, liveRestore: true }, false)).toMatchObject({ restart: true, notes: [] });
      expect(planPurge(proxyFacts, true)).toMatchObject({ restart: true, notes: [] });
    });

    it('dockerd < 23: fleetdock\'s drop-in and the environment file go, with a daemon-reload', () => {
      const plan = planPurge({ ...FACTS, stateJson: state([]), dropIn: renderProxyDropIn('/etc/fleetdock/docker-proxy.env'), proxyEnvPresent: true, liveRestore: true }, false);
      expect(plan).toMatchObject({ removeFiles: ['/etc/systemd/system/docker.service.d/http-proxy.conf', '/etc/fleetdock/docker-proxy.env'], daemonReload: true, restart: true });
    });

    it('a drop-in fleetdock did not write stays', () => {
      const plan = planPurge({ ...FACTS, stateJson: state([]), dropIn: '[Service]\nEnvironment="HTTP_PROXY=http://mine:3128"\n' }, true);
      expect(plan.removeFiles).toEqual([]);
      expect(plan.restart).toBe(false);
      expect(plan.notes).toEqual(['/etc/systemd/system/docker.service.d/http-proxy.conf left as it is: fleetdock did not write it']);
    });

    it('mirrors and a proxy with a restart: no reload first, the restart reads the final file', () => {
      const plan = planPurge({ ...FACTS, stateJson: state(['registry-mirrors', 'proxies']), daemonJson: JSON.stringify({ 'registry-mirrors': ['http://m'], proxies: {} }) }, true);
      expect(plan).toMatchObject({ daemonJsonEmptied: null, reload: false, restart: true, removedKeys: ['registry-mirrors', 'proxies'] });
      expect(json(plan.daemonJsonFinal)).toEqual({});
    });
  });

  it('names the users whose client config keeps a proxy', () => {
    expect(planPurge({ ...FACTS, stateJson: state([], ['ci', 'alice']) }, false).notes).toEqual([expect.stringMatching(/config\.json of ci, alice left as it is/)]);
  });

  it('recognises fleetdock\'s drop-in by its header', () => {
    expect(isFleetdockDropIn(renderProxyDropIn('/etc/fleetdock/docker-proxy.env'))).toBe(true);
    expect(isFleetdockDropIn('[Service]\n# Written by fleetdock\n')).toBe(false);
  });
});
