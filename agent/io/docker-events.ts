/**
 * Follows dockerd's event stream for daemon events (`GET /events?filters={"type":["daemon"]}` on its
 * unix socket) and calls `onEvent` for each, e.g. `reload` after a SIGHUP. When the stream ends (dockerd
 * restarted or stopped) it reconnects with backoff and calls `onReconnect`: the daemon may have come
 * back with other settings. Only reads; the pure line parser is exported for tests.
 */
import { request, type ClientRequest } from 'node:http';
import type { Logger } from 'pino';

/** Pure: splits a chunk of the stream into complete JSON events and the unfinished rest. */
export function parseEventLines(buffer: string): { events: { Type?: string; Action?: string }[]; rest: string } {
  const events: { Type?: string; Action?: string }[] = [];
  let rest = buffer;
  for (;;) {
    const end = rest.indexOf('\n');
    if (end === -1) break;
    const line = rest.slice(0, end).trim();
    rest = rest.slice(end + 1);
    if (!line) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object') events.push(value as { Type?: string; Action?: string });
    } catch {
      // not an event: skip it
    }
  }
  return { events, rest: rest.length > 1_000_000 ? '' : rest };
}

export type DaemonEvents = { close(): void };

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/** Follows daemon events on `socketPath` until close(). */
export function followDaemonEvents(socketPath: string, handlers: { onEvent(action: string): void; onReconnect(): void }, log: Logger): DaemonEvents {
  const path = `/events?filters=${encodeURIComponent(JSON.stringify({ type: ['daemon'] }))}`;
  let closed = false;
  let current: ClientRequest | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delay = FIRST_RETRY_MS;
  let lostOnce = false;

  const retry = () => {
    current = null;
    if (closed || timer) return;
    lostOnce = true;
    timer = setTimeout(() => {
      timer = null;
      connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  };

  const connect = () => {
    if (closed) return;
    const req = request({ socketPath, path, method: 'GET', headers: { host: 'docker' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        log.debug({ status: res.statusCode }, 'dockerd refused the event stream');
        retry();
        return;
      }
      delay = FIRST_RETRY_MS;
      if (lostOnce) handlers.onReconnect();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const parsed = parseEventLines(buffer + chunk);
        buffer = parsed.rest;
        for (const event of parsed.events) if (typeof event.Action === 'string') handlers.onEvent(event.Action);
      });
      res.on('end', retry);
      res.on('error', retry);
    });
    req.on('error', (error) => {
      log.debug({ err: error.message }, 'dockerd event stream unavailable');
      retry();
    });
    req.end();
    current = req;
  };
  connect();

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      current?.destroy();
      current = null;
    },
  };
}
