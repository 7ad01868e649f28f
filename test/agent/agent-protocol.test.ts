// The real agent against a WebSocket peer that plays the controller on a real loopback socket: it
// answers malformed and unknown messages with an error and carries on, applies what it is sent, and
// reconnects with its own credential after the connection drops. No dockerd here: the apply fails
// the way it does on a host whose daemon is down.
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
import { waitFor } from '../support/wait.js';

type Peer = { socket: WebSocket; auth: string | undefined; received: any[] };

describe('agent protocol handling', () => {
  let server: WebSocketServer;
  let stateDir: string;
  let agent: AgentHandle;
  const peers: Peer[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/agent' });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (socket, request) => {
      const peer: Peer = { socket, auth: request.headers.authorization, received: [] };
      socket.on('message', (data) => peer.received.push(JSON.parse(String(data))));
      peers.push(peer);
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stateDir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    await saveCredential(stateDir, { controller: url, hostId: 'h-1', name: 'bs9', group: 'g', credential: 'the-host-credential', ca: null });
    const root = mkdtempSync(join(tmpdir(), 'fleetdock-root-'));
    const config = buildAgentConfig({ controller: url, 'state-dir': stateDir, root, 'docker-host': `unix://${join(root, 'no-docker.sock')}`, 'service-manager': 'signal', pidfile: join(root, 'docker.pid'), name: 'bs9' }, false);
    agent = await startAgent(config, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await agent?.stop();
    server?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const next = (peer: Peer, type: string, after = 0) =>
    waitFor(`a ${type} message`, () => peer.received.slice(after).find((m) => m.type === type), 10_000, 20);

  it('connects with its credential and says hello with its facts', async () => {
    const peer = await waitFor('a connection', () => peers[0], 10_000, 20);
    expect(peer.auth).toBe('Bearer the-host-credential');
    const hello = await next(peer, 'hello');
    expect(hello.protocolVersion).toBe(3); // protocol 3: apply-result.observed
    expect(hello.facts.serviceManager).toBe('signal');
    expect(hello.facts.dockerVersion).toBeNull();
    expect(hello.observed.daemon.running).toBe(false);
  });

  it.each([
    ['not JSON', '{"type":', 'BAD_JSON'],
    ['an unknown type', JSON.stringify({ type: 'run-shell', command: 'id' }), 'UNKNOWN_MESSAGE_TYPE'],
    ['a desired with a bad mirror', JSON.stringify({ type: 'desired', revision: 1, settings: { registryMirrors: ['ftp://x'] } }), 'BAD_MESSAGE'],
    ['a __proto__ payload', '{"type":"desired","revision":1,"settings":{"__proto__":{"polluted":true}}}', 'BAD_MESSAGE'],
  ])('answers %s with an error and stays connected', async (_what, text, code) => {
    const peer = peers[0]!;
    const seen = peer.received.length;
    peer.socket.send(text);
    const error = await next(peer, 'error', seen);
    expect(error.code).toBe(code);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(peer.socket.readyState).toBe(peer.socket.OPEN);
  });

  it('applies a valid desired message and reports the outcome, then the observed state', async () => {
    const peer = peers[0]!;
    const seen = peer.received.length;
    peer.socket.send(JSON.stringify({ type: 'desired', revision: 7, settings: { registryMirrors: ['http://mirror.internal:5000'] } }));
    const result = await next(peer, 'apply-result', seen);
    expect(result).toMatchObject({ revision: 7, outcome: 'failed', action: 'none', filesChanged: [] });
    expect(result.error.code).toBe('DOCKER_UNREACHABLE');
    const index = peer.received.indexOf(result);
    expect(peer.received.slice(index).some((m) => m.type === 'observed')).toBe(true);
  });

  it.each([
    [2, 'an observed report of its own after the result'],
    [3, 'the observed state inside the result, and no report of its own'],
  ])('to a controller of protocol %i it sends %s', async (controllerProtocol) => {
    const peer = peers[0]!;
    peer.socket.send(JSON.stringify({ type: 'welcome', protocolVersion: controllerProtocol, hostId: 'h-1', name: 'bs9', group: 'g' }));
    const seen = peer.received.length;
    const revision = 20 + controllerProtocol;
    peer.socket.send(JSON.stringify({ type: 'desired', revision, settings: { registryMirrors: ['http://mirror.internal:5000'] } }));
    const result = await next(peer, 'apply-result', seen);
    expect(result).toMatchObject({ revision, outcome: 'failed' });
    const index = peer.received.indexOf(result);
    if (controllerProtocol >= 3) {
      expect(result.observed.daemon.running).toBe(false);
      expect(result.observed.files.daemonJson).toBe('missing');
      // Give a separate report the time it would take to come: none does.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(peer.received.slice(index).filter((m) => m.type === 'observed')).toEqual([]);
    } else {
      expect(result.observed).toBeUndefined();
      const report = await next(peer, 'observed', index);
      expect(report.observed.daemon.running).toBe(false);
    }
  });

  it('reconnects after the connection drops and says hello again', async () => {
    peers[0]!.socket.terminate();
    const peer = await waitFor('a second connection', () => peers[1], 40_000, 50);
    expect(peer.auth).toBe('Bearer the-host-credential');
    expect((await next(peer, 'hello')).appliedRevision).toBeNull();
  });
});
