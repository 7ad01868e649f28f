// The real agent against a peer that plays a controller of protocol 2 (the one before apply-result
// carried the observed state) on a real loopback socket: such a controller refuses a hello of version
// 3 as fatal, exactly as controller/hub/session.ts did at protocol 2. The agent says hello again one
// version lower, and then reports its result and its observed state as two messages, which that
// controller's schemas take.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { startAgent, type AgentHandle } from '../../agent/agent.js';
import { buildAgentConfig } from '../../agent/config.js';
import { saveCredential } from '../../agent/state.js';
import { CLOSE_CODES } from '../../protocol/messages.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { waitFor } from '../support/wait.js';

const OLDER_CONTROLLER_VERSIONS = [1, 2];

describe('an agent upgraded before its controller', () => {
  let server: WebSocketServer;
  let stateDir: string;
  let root: string;
  let agent: AgentHandle;
  const received: { connection: number; message: any }[] = [];
  let connections = 0;

  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/agent' });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (socket: WebSocket) => {
      const connection = ++connections;
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        received.push({ connection, message });
        if (message.type !== 'hello') return;
        if (!OLDER_CONTROLLER_VERSIONS.includes(message.protocolVersion)) {
          socket.send(JSON.stringify({ type: 'error', code: 'PROTOCOL_VERSION', message: `protocol version ${message.protocolVersion} is not supported; this controller speaks 1, 2`, fatal: true }));
          socket.close(CLOSE_CODES.PROTOCOL, 'PROTOCOL_VERSION');
          return;
        }
        socket.send(JSON.stringify({ type: 'welcome', protocolVersion: 2, hostId: 'h-1', name: 'bs7', group: 'g' }));
        socket.send(JSON.stringify({ type: 'desired', revision: 5, settings: { registryMirrors: ['http://mirror.internal:5000'] } }));
      });
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    root = mkdtempSync(join(tmpdir(), 'fleetdock-root-'));
    await saveCredential(stateDir, { controller: url, hostId: 'h-1', name: 'bs7', group: 'g', credential: 'the-host-credential', ca: null });
    const config = buildAgentConfig({ controller: url, 'state-dir': stateDir, root, 'docker-host': `unix://${join(root, 'no-docker.sock')}`, 'service-manager': 'signal', pidfile: join(root, 'docker.pid'), name: 'bs7' }, false);
    agent = await startAgent(config, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await agent?.stop();
    server?.close();
    for (const dir of [stateDir, root]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says hello with its own version, then, refused, with the one below, and is welcomed', async () => {
    const hellos = await waitFor('two hellos', () => {
      const found = received.filter((r) => r.message.type === 'hello');
      return found.length >= 2 ? found : undefined;
    }, 40_000, 50);
    expect(hellos.map((h) => h.message.protocolVersion)).toEqual([PROTOCOL_VERSION, PROTOCOL_VERSION - 1]);
    expect(hellos[1]!.connection).toBe(2);
  });

  it('answers the older controller with the result, then the observed state as a message of its own', async () => {
    const result = await waitFor('an apply result', () => received.find((r) => r.message.type === 'apply-result'), 20_000, 20);
    expect(result.message).toMatchObject({ revision: 5, outcome: 'failed', error: { code: 'DOCKER_UNREACHABLE' } });
    expect(result.message).not.toHaveProperty('observed'); // that controller's strict schema would refuse the whole result
    const report = await waitFor('an observed report', () => received.slice(received.indexOf(result)).find((r) => r.message.type === 'observed'), 20_000, 20);
    expect(report.connection).toBe(result.connection);
    expect(report.message.observed.daemon.running).toBe(false);
  });
});
