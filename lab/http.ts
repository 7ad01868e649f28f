/**
 * lab/http.ts: one small HTTP client for the lab, over TCP or a unix socket (dockerd's API).
 *
 * Must not: follow redirects, retry, or use any proxy from the environment. HTTPS does not verify the
 * server's certificate: the lab's TLS registry has a self-signed one.
 */

import { request as httpPlainRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A finished HTTP exchange. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What to send. Give `url` for TCP, or `socketPath` + `path` for a unix socket. */
export interface HttpRequest {
  method?: string;
  url?: string;
  socketPath?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  /** Aborted after this long (default 30 000 ms). */
  timeoutMs?: number;
}

/** Sends one request and resolves with the whole response; rejects on connection errors and time-out. */
export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
    const target = req.url ? new URL(req.url) : undefined;
    const request = target?.protocol === 'https:' ? httpsRequest : httpPlainRequest;
    const r = request(
      {
        method: req.method ?? 'GET',
        rejectUnauthorized: false,
        headers,
        timeout: req.timeoutMs ?? 30_000,
        ...(target
          ? { hostname: target.hostname, port: target.port, path: target.pathname + target.search }
          : { socketPath: req.socketPath, path: req.path ?? '/', hostname: 'localhost' }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    r.on('timeout', () => r.destroy(new Error(`HTTP ${req.method ?? 'GET'} ${req.url ?? req.path} timed out`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** GET `path` on a dockerd unix socket and parse the JSON body; rejects on a non-2xx status. */
export async function getDockerJson(socketPath: string, path: string): Promise<any> {
  const res = await httpRequest({ socketPath, path, timeoutMs: 15_000 });
  if (res.status < 200 || res.status > 299) {
    throw new Error(`GET ${path} on ${socketPath}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
  }
  return JSON.parse(res.body.toString('utf8'));
}

/** True when dockerd behind `socketPath` answers `GET /_ping` with `OK`. Never rejects. */
export async function pingDocker(socketPath: string): Promise<boolean> {
  try {
    const res = await httpRequest({ socketPath, path: '/_ping', timeoutMs: 2_000 });
    return res.status === 200 && res.body.toString('utf8') === 'OK';
  } catch {
    return false;
  }
}
