/**
 * A minimal client for the Docker Engine API over its unix socket: `GET /_ping` and `GET /info`,
 * with a timeout. It only reads; fleetdock never changes dockerd through its API.
 */
import { request } from 'node:http';

/** Turns `unix:///var/run/docker.sock` into the socket path; throws on other schemes. */
export function socketPathOf(dockerHost: string): string {
  if (!dockerHost.startsWith('unix://')) throw new Error(`--docker-host ${dockerHost} is not a unix:// socket`);
  return dockerHost.slice('unix://'.length);
}

function get(socketPath: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`dockerd did not answer ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export type DockerApi = {
  /** True when dockerd answers `_ping` with OK. */
  ping(): Promise<boolean>;
  /** The `GET /info` body, or null when dockerd does not answer. */
  info(): Promise<Record<string, unknown> | null>;
};

/** A Docker API client on `socketPath`. */
export function createDockerApi(socketPath: string, timeoutMs = 3000): DockerApi {
  return {
    async ping() {
      try {
        const res = await get(socketPath, '/_ping', timeoutMs);
        return res.status === 200 && res.body.trim() === 'OK';
      } catch {
        return false;
      }
    },
    async info() {
      try {
        const res = await get(socketPath, '/info', timeoutMs);
        if (res.status !== 200) return null;
        return JSON.parse(res.body) as Record<string, unknown>;
      } catch {
        return null;
      }
    },
  };
}
