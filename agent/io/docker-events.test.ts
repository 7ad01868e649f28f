// dockerd's event stream as the agent follows it: a real HTTP server on a unix socket that streams
// events and goes away, as dockerd does when it restarts.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { followDaemonEvents, parseEventLines } from './docker-events.js';

describe('parseEventLines', () => {
  it.each<[string, string[], string]>([
    ['', [], ''],
    ['{"Type":"daemon","Action":"reload"}\n', ['reload'], ''],
    ['{"Action":"reload"}\n{"Act', ['reload'], '{"Act'],
    ['not json\n\n{"Action":"x"}\n', ['x'], ''],
  ])('%j', (buffer, actions, rest) => {
    const parsed = parseEventLines(buffer);
    expect(parsed.events.map((e) => e.Action)).toEqual(actions);
    expect(parsed.rest).toBe(rest);
  });
});

describe('followDaemonEvents', () => {
  let dir: string;
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server?.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  function serve(socket: string, onStream: (res: ServerResponse, url: string) => void): Promise<Server> {
    const s = createServer((req, res) => onStream(res, req.url ?? ''));
    return new Promise((resolve) => s.listen(socket, () => resolve(s)));
  }

  it('reports daemon events, and reconnects when the stream ends', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetdock-events-'));
    const socket = join(dir, 'docker.sock');
    const urls: string[] = [];
    const streams: ServerResponse[] = [];
    server = await serve(socket, (res, url) => {
      urls.push(url);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
      streams.push(res);
    });
    const actions: string[] = [];
    let reconnects = 0;
    const events = followDaemonEvents(socket, { onEvent: (a) => actions.push(a), onReconnect: () => reconnects++ }, pino({ level: 'silent' }));
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(decodeURIComponent(urls[0]!)).toBe('/events?filters={"type":["daemon"]}');
      streams[0]!.write('{"Type":"daemon","Action":"rel');
      streams[0]!.write('oad","Actor":{}}\n');
      await new Promise((r) => setTimeout(r, 50));
      expect(actions).toEqual(['reload']);
      streams[0]!.end(); // dockerd stopped
      await new Promise((r) => setTimeout(r, 900));
      expect(urls.length).toBe(2);
      expect(reconnects).toBe(1);
    } finally {
      events.close();
    }
  });
});
