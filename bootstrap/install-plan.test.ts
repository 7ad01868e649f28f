// What bootstrap writes on a host and when it must not touch it at all.
import { describe, expect, it } from 'vitest';
import type { AgentInstallState } from './host-facts.js';
import { checkAgentUnit, parseAgentEnv, planInstall, renderAgentEnv, type ControllerHostState, type InstallInput } from './install-plan.js';

const URL_ = 'https://controller.example.com:7700';
const SHA = 'a'.repeat(64);
const UNIT = '[Service]\nEnvironmentFile=/etc/fleetdock/agent.env\nExecStart=/usr/local/bin/fleetdock-agent --service-manager systemd $FLEETDOCK_AGENT_OPTS\n';
const ENV = renderAgentEnv({ controller: URL_, joinToken: null, name: 'bs1' });
const FRESH: AgentInstallState = { binarySha256: null, unitText: null, envText: null, statePresent: false, active: false, enabled: false, pid: 0 };
const RUNNING: AgentInstallState = { binarySha256: SHA, unitText: UNIT, envText: ENV, statePresent: true, active: true, enabled: true, pid: 42 };
const ON_CONTROLLER: ControllerHostState = { exists: true, group: 'ci', connected: true, revoked: false, status: 'converged' };

const input = (installed: AgentInstallState, host: ControllerHostState, over: Partial<InstallInput> = {}): InstallInput => ({
  installed,
  binarySha256: SHA,
  unitText: UNIT,
  controller: URL_,
  name: 'bs1',
  group: 'ci',
  host,
  ...over,
});

describe('agent.env', () => {
  it('renders the options the unit passes, the token apart from them (not in ps), and reads them back', () => {
    const text = renderAgentEnv({ controller: URL_, joinToken: `FD1${'0f'.repeat(32)}::s3cr3t-s3cr3t-s3cr3t`, name: 'bs1' });
    expect(text.split('\n')[1]).toBe(`FLEETDOCK_AGENT_OPTS=--controller ${URL_} --name bs1`);
    expect(text.split('\n')[2]).toBe(`FLEETDOCK_JOIN_TOKEN=FD1${'0f'.repeat(32)}::s3cr3t-s3cr3t-s3cr3t`);
    expect(parseAgentEnv(text)).toEqual({ controller: URL_, name: 'bs1', hasJoinToken: true });
    expect(parseAgentEnv(ENV)).toEqual({ controller: URL_, name: 'bs1', hasJoinToken: false });
  });

  it.each([
    ['FLEETDOCK_AGENT_OPTS="--controller=http://c:7700 --name=x"\n', { controller: 'http://c:7700', name: 'x', hasJoinToken: false }],
    ['# hand-written\nFLEETDOCK_AGENT_OPTS=--join-token T\n', { controller: null, name: null, hasJoinToken: true }],
    ['FLEETDOCK_AGENT_OPTS=--name x\nFLEETDOCK_JOIN_TOKEN=T\n', { controller: null, name: 'x', hasJoinToken: true }],
  ])('reads %j', (text, parsed) => {
    expect(parseAgentEnv(text)).toEqual(parsed);
  });

  it('is null without the variable', () => {
    expect(parseAgentEnv(null)).toBeNull();
    expect(parseAgentEnv('OTHER=1\n')).toBeNull();
  });

  it.each([
    [{ controller: 'http://c:7700/a b', joinToken: null, name: 'x' }, '--controller "http://c:7700/a b"'],
    [{ controller: URL_, joinToken: 'tok"en', name: 'x' }, 'the join token holds'],
    [{ controller: URL_, joinToken: null, name: '$HOME' }, '--name "$HOME"'],
  ])('refuses what would break systemd\'s word split: %j', (options, message) => {
    expect(() => renderAgentEnv(options)).toThrow(message);
  });

  it('never puts a token in its error', () => {
    expect(() => renderAgentEnv({ controller: URL_, joinToken: 'secret value', name: 'x' })).toThrow(/^((?!secret).)*$/);
  });
});

describe('checkAgentUnit', () => {
  it.each([
    [UNIT, null],
    ['[Service]\nEnvironmentFile=/etc/fleetdock/agent.env\nExecStart=/usr/bin/node /opt/fleetdock/bin/fleetdock.js agent $FLEETDOCK_AGENT_OPTS\n', 'its ExecStart runs /usr/bin/node, not /usr/local/bin/fleetdock-agent'],
    ['[Service]\nEnvironmentFile=/etc/fleetdock/agent.env\nExecStart=/usr/local/bin/fleetdock-agent\n', 'its ExecStart does not pass $FLEETDOCK_AGENT_OPTS'],
    ['[Service]\nExecStart=/usr/local/bin/fleetdock-agent $FLEETDOCK_AGENT_OPTS\n', 'it does not read EnvironmentFile=/etc/fleetdock/agent.env'],
    ['[Service]\nType=simple\n', 'it has no ExecStart= line'],
  ])('%#', (text, problem) => {
    expect(checkAgentUnit(text)).toBe(problem);
  });

  it('accepts the unit in deploy/', async () => {
    const { readFileSync } = await import('node:fs');
    expect(checkAgentUnit(readFileSync(new URL('../deploy/fleetdock-agent.service', import.meta.url), 'utf8'))).toBeNull();
  });
});

describe('planInstall', () => {
  it('a fresh host: token, every file, enable, start', () => {
    expect(planInstall(input(FRESH, { exists: false }))).toEqual({
      kind: 'install',
      mintToken: true,
      writeBinary: true,
      writeUnit: true,
      writeEnv: true,
      daemonReload: true,
      enable: true,
      service: 'start',
      changes: ['/usr/local/bin/fleetdock-agent', '/etc/systemd/system/fleetdock-agent.service', '/etc/fleetdock/agent.env', 'enable fleetdock-agent', 'start fleetdock-agent'],
    });
  });

  it('an enrolled, running, current host: nothing at all', () => {
    expect(planInstall(input(RUNNING, ON_CONTROLLER))).toMatchObject({ kind: 'install', mintToken: false, changes: [], service: 'none', enable: false, daemonReload: false });
  });

  it.each([
    ['a new agent binary: upload and restart', { binarySha256: 'b'.repeat(64) }, ['/usr/local/bin/fleetdock-agent', 'restart fleetdock-agent']],
    ['a changed unit: write, daemon-reload, restart', { unitText: `${UNIT}# old\n` }, ['/etc/systemd/system/fleetdock-agent.service', 'restart fleetdock-agent']],
    ['a stopped agent: start only', { active: false }, ['start fleetdock-agent']],
    ['a disabled agent: enable only', { enabled: false }, ['enable fleetdock-agent']],
    ['agent.env for another controller: rewritten without a token', { envText: renderAgentEnv({ controller: 'https://old:7700', joinToken: null, name: 'bs1' }) }, ['/etc/fleetdock/agent.env', 'restart fleetdock-agent']],
    ['agent.env gone: rewritten without a token', { envText: null }, ['/etc/fleetdock/agent.env', 'restart fleetdock-agent']],
    ['a spent token left in agent.env: rewritten without it, no restart', { envText: renderAgentEnv({ controller: URL_, joinToken: `FD1${'0f'.repeat(32)}::spent-spent-spent-spent`, name: 'bs1' }) }, ['/etc/fleetdock/agent.env']],
  ])('%s', (_what, over, changes) => {
    const plan = planInstall(input({ ...RUNNING, ...over }, ON_CONTROLLER));
    expect(plan).toMatchObject({ kind: 'install', mintToken: false, changes });
  });

  it('a host whose earlier bootstrap did not get to enrol: a new token, the same binary kept', () => {
    const plan = planInstall(input({ ...FRESH, binarySha256: SHA, unitText: UNIT, active: true, enabled: true }, { exists: false }));
    expect(plan).toMatchObject({ kind: 'install', mintToken: true, writeBinary: false, writeUnit: false, writeEnv: true, service: 'restart' });
  });

  it.each([
    ['agent state but no host on the controller', RUNNING, { exists: false } as ControllerHostState, /has agent state .* but the controller has no host bs1/],
    ['a host on the controller but no agent state', FRESH, ON_CONTROLLER, /the controller already has a host bs1, but this host has no agent state/],
    ['a revoked host', RUNNING, { ...ON_CONTROLLER, revoked: true }, /host bs1 is revoked on the controller/],
    ['a host of another group', RUNNING, { ...ON_CONTROLLER, group: 'prod' }, 'host bs1 is enrolled in group prod, not ci; bootstrap does not move hosts between groups'],
  ])('refuses %s', (_what, installed, host, reason) => {
    const plan = planInstall(input(installed, host));
    expect(plan.kind).toBe('refuse');
    expect(plan.kind === 'refuse' && plan.reason).toMatch(reason);
  });
});
