/**
 * A small JSON client for the controller's API as the bench uses it: status, parsed body and elapsed
 * time. Over protocol/http-request.ts sendRequest (node:https with the controller's CA as the only
 * trust anchor: the global fetch cannot take a CA on Node 20), as the CLI does. Note what that means
 * for the times: over https every call is a new TCP connection and a full TLS handshake (sendRequest
 * uses no connection pool), as each `fleetdock` command makes one; over plain http Node's global
 * agent keeps connections alive and reuses them.
 */
import { sendRequest } from '../protocol/http-request.js';

/** Where the controller is and which CA to trust (undefined: plain http). */
export interface Endpoint {
  baseUrl: string;
  ca?: string | undefined;
}

/** One answer. */
export interface ApiAnswer {
  status: number;
  body: any;
  /** Bytes of the response body. */
  bytes: number;
  /** From sending the request to having the whole body, in milliseconds. */
  ms: number;
  /** When the whole response had arrived, ms since the epoch. */
  doneAt: number;
  /** When the request was sent, ms since the epoch. */
  startedAt: number;
}

/** Longest answer the bench reads (GET /v1/hosts at 10,000 hosts is a few MiB). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** A rollout start at 10,000 hosts takes seconds on a loaded machine; the phases have their own limits. */
const TIMEOUT_MS = 120_000;

/** Calls `method path` on the controller with `token` (null: anonymous) and an optional JSON body. */
export async function callApi(endpoint: Endpoint, token: string | null, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const startedAt = Date.now();
  const response = await sendRequest(`${endpoint.baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ca: endpoint.ca,
    timeoutMs: TIMEOUT_MS,
    maxBodyBytes: MAX_BODY_BYTES,
  });
  const text = response.body;
  const ms = performance.now() - started;
  const doneAt = Date.now();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, bytes: Buffer.byteLength(text), ms, doneAt, startedAt };
}

/** Like callApi, but throws naming the call unless the status is one of `ok`. */
export async function expectApi(endpoint: Endpoint, token: string | null, method: string, path: string, body: unknown, ok: number[]): Promise<ApiAnswer> {
  const answer = await callApi(endpoint, token, method, path, body);
  if (!ok.includes(answer.status)) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
  return answer;
}
