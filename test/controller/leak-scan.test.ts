// Leak scan: a proxy with a canary password is set and rolled out to two agents; then the controller's
// log (at debug level), every file of its data directory, every GET route of the API, the CLI's output
// and the audit log are searched for the canary: zero hits anywhere. Only the agents, which must write
// it into the host's files, receive it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../controller/api/routes.js';
import { ensureCliBuilt, runCli } from '../support/cli.js';
import { RawAgent, applyResult, eventually, startTestController, type TestController } from './harness.js';

const CANARY = 'Canary7pw-9d2e';
const PROXY = `http://build:${CANARY}@proxy.corp:3128`;
const MASKED = 'http://xxxxx:xxxxx@proxy.corp:3128';

describe('no proxy password leaks', () => {
  let t: TestController;
  let logDir: string;
  const agents: RawAgent[] = [];
  const seenByAgents: string[] = [];

  beforeAll(async () => {
    await ensureCliBuilt();
    logDir = mkdtempSync(join(tmpdir(), 'fleetdock-leak-'));
    const logger = pino({ level: 'debug' }, pino.destination({ dest: join(logDir, 'controller.log'), sync: true }));
    t = await startTestController({ logger, rolloutTickIntervalMs: 50 });
    await t.api('POST', '/v1/groups', { name: 'builders' });
    await t.api('PUT', '/v1/groups/builders/settings', { registryMirrors: ['http://mirror:5000'] });
    for (const name of ['bs1', 'bs2']) {
      const { credential } = await t.enrol(name, 'builders');
      const agent = await RawAgent.connect(t.controller.url, credential);
      agent.ws.on('message', (data) => {
        const message = JSON.parse(String(data));
        seenByAgents.push(String(data));
        if (message.type === 'desired') {
          // Like the real agent: apply, then report the observed state with the password redacted.
          agent.send(applyResult(message.revision, { action: message.settings.daemonProxy ? 'restart' : 'reload' }));
          const proxy = message.settings.daemonProxy ? { http: MASKED, https: null, noProxy: [] } : null;
          agent.send({
            type: 'observed',
            observed: {
              at: new Date().toISOString(),
              appliedRevision: message.revision,
              files: { daemonJson: 'ok', daemonJsonSha256: null, registryMirrors: ['http://mirror:5000'], insecureRegistries: [], daemonJsonProxy: proxy, dropInProxy: null, clientProxies: {} },
              daemon: { running: true, version: '26.1.5', registryMirrors: ['http://mirror:5000'], insecureRegistries: [], proxy: proxy ?? { http: null, https: null, noProxy: [] }, liveRestore: false },
            },
          });
        }
      });
      agent.send({ type: 'hello', protocolVersion: 1, facts: { hostname: name, os: 'linux 6.1.0', arch: 'x64', dockerVersion: '26.1.5', serviceManager: 'systemd', liveRestore: false, agentVersion: '0.1.0' }, appliedRevision: null, observed: null });
      agents.push(agent);
    }
    const set = await t.api('PUT', '/v1/groups/builders/settings', { registryMirrors: ['http://mirror:5000'], daemonProxy: { http: PROXY, noProxy: ['localhost'] } });
    expect(set.status).toBe(201);
    const started = await t.api('POST', '/v1/groups/builders/rollouts', { strategy: { canary: 0, batchSize: '100%' } });
    expect(started.status).toBe(201);
    await eventually(async () => (await t.api('GET', `/v1/rollouts/${started.body.rollout.id}`)).body.rollout.state === 'completed', 10_000);
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents) await agent.close();
    await t?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('the agents, and only they, received the password', () => {
    expect(seenByAgents.some((text) => text.includes(CANARY))).toBe(true);
  });

  it('is in no file of the data directory and not in the log', () => {
    const files = readdirSync(t.dataDir, { recursive: true, encoding: 'utf8' }).filter((name) => statSync(join(t.dataDir, name)).isFile());
    expect(files).toContain(join('tls', 'ca.pem')); // the scan walks subdirectories too
    for (const name of files) expect({ name, hit: readFileSync(join(t.dataDir, name)).includes(CANARY) }).toEqual({ name, hit: false });
    const log = readFileSync(join(logDir, 'controller.log'), 'utf8');
    expect(log.length).toBeGreaterThan(1000); // the scan read a real, debug-level log
    expect(log).not.toContain(CANARY);
  });

  it('is in no answer of any GET route', async () => {
    const params: Record<string, string> = { name: 'builders', number: '2', id: '1' };
    let scanned = 0;
    for (const route of ROUTES.filter((r) => r.method === 'get')) {
      const path = route.path.replace(/:(\w+)/g, (_m, key: string) => params[key] ?? key);
      const answer = await t.api('GET', path.startsWith('/v1/hosts/') ? '/v1/hosts/bs1' : path);
      expect({ path, hit: answer.text.includes(CANARY) }).toEqual({ path, hit: false });
      if (answer.status === 200) scanned++;
    }
    expect(scanned).toBeGreaterThan(8);
    expect((await t.api('GET', '/v1/groups/builders')).text).toContain('xxxxx');
  });

  it('is in no CLI output', async () => {
    const env = t.cliEnv;
    const commands = [['group', 'show', 'builders'], ['group', 'show', 'builders', '--json'], ['hosts'], ['hosts', '--json'], ['drift', '--json'], ['log', '--json'], ['rollout', 'status', 'builders', '--json'], ['rollout', 'plan', 'builders', '--json']];
    for (const args of commands) {
      const out = await runCli(args, env);
      expect({ args, hit: (out.stdout + out.stderr).includes(CANARY) }).toEqual({ args, hit: false });
    }
  });
});
