// The real agent and the real controller over loopback sockets, the agent driving a real bare dockerd
// (signal mode): enrol, push, result recorded, reconnect and catch up, identity claims refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAgent, type AgentHandle } from '../../agent/agent.js';
import type { AgentConfig } from '../../agent/config.js';
import { requireLab } from '../../lab/availability.js';
import { startBareDockerd, type BareDockerd } from '../../lab/dockerd.js';
import { startRegistryMirror, type RegistryMirror } from '../../lab/registry.js';
import { caFor, startTestController, type TestController } from '../controller/harness.js';
import { bareAgentConfig } from '../support/bare-agent-config.js';
import { waitFor } from '../support/wait.js';

const lab = requireLab();
const silent = pino({ level: 'silent' });

describe.skipIf(!lab)('controller and agent over loopback', () => {
  let controller: TestController;
  let dockerd: BareDockerd;
  let mirror: RegistryMirror;
  let stateDir: string;
  let agent: AgentHandle | null = null;
  let config: AgentConfig;

  const host = async (name: string) => (await controller.api('GET', `/v1/hosts/${name}`)).body;

  beforeAll(async () => {
    [controller, dockerd, mirror] = await Promise.all([startTestController(), startBareDockerd({ version: '20' }), startRegistryMirror()]);
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    config = await bareAgentConfig(controller, dockerd, { group: 'builders', stateDir, name: 'bs1', verifyTimeoutSeconds: 10 });
  });
  afterAll(async () => {
    await agent?.stop();
    await Promise.all([controller?.stop(), dockerd?.stop(), mirror?.stop()]);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('enrols with a join token and shows up connected', async () => {
    agent = await startAgent(config, silent);
    const h = await waitFor('bs1 connected', async () => {
      const body = await host('bs1');
      return body?.connected ? body : undefined;
    });
    expect(h.group).toBe('builders');
    expect(h.facts.dockerVersion).toMatch(/^20\.10/);
    expect(h.facts.serviceManager).toBe('signal');
  });

  it("the group's first revision reaches the host at once: reload, verified, recorded as converged", async () => {
    const pid = dockerd.pid();
    const set = await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [mirror.url] });
    expect(set.status).toBe(201);
    const revision = set.body.revision;
    const h = await waitFor('bs1 converged', async () => {
      const body = await host('bs1');
      return body?.lastResult?.revision === revision ? body : undefined;
    });
    expect(h.lastResult).toMatchObject({ outcome: 'applied', action: 'reload' });
    expect(h.appliedRevision).toBe(revision);
    expect(h.status).toBe('converged');
    expect(dockerd.pid()).toBe(pid);
    expect((await dockerd.info()).RegistryConfig.Mirrors).toEqual([`${mirror.url}/`]);
    const observed = await waitFor('observed state with the mirror', async () => {
      const body = await host('bs1');
      return body?.observed?.daemon?.registryMirrors?.includes(mirror.url) ? body.observed : undefined;
    });
    expect(observed.files.registryMirrors).toEqual([mirror.url]);
  });

  it('an agent that was away catches up with the latest revision when it reconnects', async () => {
    await agent!.stop();
    agent = null;
    await waitFor('bs1 offline', async () => ((await host('bs1'))?.connected === false ? true : undefined));
    const set = await controller.api('PUT', '/v1/groups/builders/settings', { registryMirrors: [mirror.url], insecureRegistries: ['registry.test:5000'] });
    const revision = set.body.revision;
    // A later revision moves hosts through a rollout; bs1 is offline, so the rollout skips it and
    // completes, and bs1 converges to the group's new current revision when it is back.
    const rollout = await controller.api('POST', '/v1/groups/builders/rollouts', {});
    expect(rollout.body.rollout).toMatchObject({ state: 'completed', toRevision: revision });
    // Restarted with its stored credential only: the join token was single-use.
    agent = await startAgent({ ...config, joinToken: null }, silent);
    const h = await waitFor('bs1 caught up', async () => {
      const body = await host('bs1');
      return body?.appliedRevision === revision ? body : undefined;
    });
    expect(h.lastResult.outcome).toBe('applied');
    expect(Object.keys((await dockerd.info()).RegistryConfig.IndexConfigs)).toContain('registry.test:5000');
  });

  it('another agent cannot take an enrolled host name, and a made-up credential is refused', async () => {
    const token = (await controller.api('POST', '/v1/groups/builders/join-tokens', {})).body.token;
    const otherState = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    try {
      await expect(startAgent({ ...config, joinToken: token, stateDir: otherState }, silent)).rejects.toMatchObject({ code: 'HOST_NAME_TAKEN' });
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${controller.controller.url.replace(/^http/, 'ws')}/v1/agent`, { headers: { authorization: 'Bearer forged-credential' }, ca: caFor(controller.controller.url) });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => reject(new Error('a forged credential was let in')));
        ws.on('error', () => undefined);
      });
      expect(status).toBe(401);
      expect((await host('bs1')).connected).toBe(true);
    } finally {
      rmSync(otherState, { recursive: true, force: true });
    }
  });
});
