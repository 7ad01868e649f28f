/**
 * The HTTP side of an agent connecting: which upgrade requests are for the hub, whose credential they
 * carry, and how a refused one is answered (a plain HTTP response, then the socket is destroyed). The
 * host's identity comes only from the credential, never from anything the agent says later.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { FleetdockError } from '../../protocol/errors.js';
import { hashSecret, parseBearer } from '../secrets.js';
import type { HostIdentity, HostStore } from '../store/hosts.js';

/** The path agents connect to. */
export const AGENT_PATH = '/v1/agent';

/** Whether an upgrade request is for the agent hub. */
export function isAgentPath(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const path = url.split('?', 1)[0];
  return path === AGENT_PATH;
}

/** The host the request's `Authorization: Bearer <credential>` belongs to; CREDENTIAL_INVALID otherwise. */
export function authenticateAgent(req: IncomingMessage, hosts: HostStore): HostIdentity {
  const credential = parseBearer(req.headers.authorization);
  if (credential === null) {
    throw new FleetdockError('CREDENTIAL_INVALID', 'connecting to /v1/agent needs Authorization: Bearer <host credential>');
  }
  // Looked up by sha256: timing reveals nothing useful about the credential itself.
  const host = hosts.findByCredentialHash(hashSecret(credential));
  if (!host) throw new FleetdockError('CREDENTIAL_INVALID', 'host credential is not valid (unknown, or the host was removed); enrol again');
  if (host.revokedAt !== null) {
    throw new FleetdockError('CREDENTIAL_INVALID', `host ${host.name} was revoked at ${host.revokedAt}; an operator must remove it (fleetdock host remove ${host.name}) before it can enrol again`);
  }
  return host;
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Answers an upgrade request with `error`'s status and the one error shape, then destroys the socket. */
export function refuseUpgrade(socket: Duplex, error: FleetdockError): void {
  const body = JSON.stringify({ error: error.toJSON() });
  socket.on('error', () => {}); // the peer may be gone already; nothing to do about it
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      (error.code === 'RATE_LIMITED' ? `Retry-After: ${String(error.details?.retryAfterSeconds ?? 60)}\r\n` : '') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}
