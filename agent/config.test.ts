import { describe, expect, it } from 'vitest';
import { buildAgentConfig } from './config.js';

describe('buildAgentConfig', () => {
  it('fills in the defaults and picks systemd when systemd runs', () => {
    const config = buildAgentConfig({ controller: 'http://ctl:7700/', name: 'bs1' }, true);
    expect(config).toMatchObject({ controller: 'http://ctl:7700', serviceManager: 'systemd', root: '/', dockerHost: 'unix:///var/run/docker.sock', stateDir: '/var/lib/fleetdock-agent', verifyTimeoutMs: 30_000, checkIntervalMs: 30_000, watchDebounceMs: 150, joinToken: null });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('picks signal mode on a host without systemd', () => {
    expect(buildAgentConfig({ controller: 'http://ctl:7700', name: 'bs1' }, false).serviceManager).toBe('signal');
  });

  it.each([
    [{}, '--controller'],
    [{ controller: 'ftp://ctl' }, 'http:// or https://'],
    [{ controller: 'not a url' }, 'not a URL'],
    [{ controller: 'http://c', 'service-manager': 'upstart' }, '--service-manager'],
    [{ controller: 'http://c', 'docker-host': 'tcp://1.2.3.4:2375' }, '--docker-host'],
    [{ controller: 'http://c', name: 'bad name!' }, '--name'],
    [{ controller: 'http://c', 'verify-timeout': '-1' }, '--verify-timeout'],
    [{ controller: 'http://c', 'check-interval': '0' }, '--check-interval'],
    [{ controller: 'http://c', 'check-interval': 'often' }, '--check-interval'],
  ])('refuses %j naming %s', (args, option) => {
    expect(() => buildAgentConfig({ name: 'bs1', ...args }, true)).toThrow(option);
  });

  it('takes the drift check interval in seconds', () => {
    expect(buildAgentConfig({ controller: 'http://c', name: 'bs1', 'check-interval': '5' }, true).checkIntervalMs).toBe(5_000);
    expect(buildAgentConfig({ controller: 'http://c', name: 'bs1', 'check-interval': '0.5' }, true).checkIntervalMs).toBe(500);
  });
});
