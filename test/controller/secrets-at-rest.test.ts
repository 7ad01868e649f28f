// A proxy password set through the API is in no file of the controller's data directory (database,
// WAL, anything), in no API answer, and still reaches the agent that needs it, across a restart.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawAgent, startTestController, type TestController } from './harness.js';

const CANARY = 'canary-Pw-7f3a9';

function filesContaining(dir: string, needle: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => statSync(join(dir, name)).isFile() && readFileSync(join(dir, name)).includes(needle));
}

describe('proxy passwords at rest', () => {
  let controller: TestController | undefined;
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
  });

  it('seals the password in SQLite and opens it only for the agent', async () => {
    controller = await startTestController();
    expect((await controller.api('POST', '/v1/groups', { name: 'builders' })).status).toBe(201);
    const set = await controller.api('PUT', '/v1/groups/builders/settings', { daemonProxy: { http: `http://build:${CANARY}@proxy.corp:3128` } });
    expect(set.status).toBe(201);
    expect(set.text).not.toContain(CANARY);
    for (const path of ['/v1/groups/builders', '/v1/groups/builders/revisions', '/v1/groups/builders/revisions/1']) {
      expect((await controller.api('GET', path)).text).not.toContain(CANARY);
    }
    // Checkpointed or not, neither the database nor its WAL holds it.
    expect(filesContaining(controller.dataDir, CANARY)).toEqual([]);

    const { credential } = await controller.enrol('bs1', 'builders');
    const agent = await RawAgent.connect(controller.controller.url, credential);
    try {
      expect((await agent.hello()).type).toBe('welcome');
      const desired = await agent.next();
      expect(desired.type).toBe('desired');
      expect(desired.settings.daemonProxy.http).toBe(`http://build:${CANARY}@proxy.corp:3128`);
    } finally {
      await agent.close();
    }
    // The same settings again are no new revision: sealing is stable.
    expect((await controller.api('PUT', '/v1/groups/builders/settings', { daemonProxy: { http: `http://build:${CANARY}@proxy.corp:3128` } })).body.changed).toBe(false);
    expect(filesContaining(controller.dataDir, CANARY)).toEqual([]);
  });
});
