/**
 * The operator commands' way to the controller: where it is and which token to use (flags, then the
 * environment: the only place the CLI reads FLEETDOCK_URL / FLEETDOCK_TOKEN), and a small fetch-based
 * client that parses every answer with the API's schemas. An error answer becomes a FleetdockError
 * with the controller's code and message; a controller that cannot be reached is CONTROLLER_UNREACHABLE.
 */
import { readFileSync } from 'node:fs';
import { describeRequestFailure, isTlsVerificationFailure, sendRequest } from '../protocol/http-request.js';
import type { z } from 'zod';
import { FleetdockError, isErrorCode } from '../protocol/errors.js';
import { describeIssues } from '../protocol/messages.js';
import type { SettingsInput } from '../protocol/settings.js';
import {
  GroupDetailSchema,
  HostListSchema,
  JoinTokenResponseSchema,
  SetSettingsResponseSchema,
} from '../controller/api/schemas.js';
import {
  CreateOperatorResponseSchema,
  JoinTokenListSchema,
  OperatorListSchema,
  RemoveHostResponseSchema,
  RevokeHostResponseSchema,
  RevokeJoinTokenResponseSchema,
  RevokeOperatorResponseSchema,
} from '../controller/api/trust-schemas.js';
import { UsageError } from './args.js';

/** The controller used when neither --controller nor FLEETDOCK_URL says otherwise. */
export const DEFAULT_CONTROLLER_URL = 'https://127.0.0.1:7700';

/** How long one request may take before the controller counts as unreachable, in milliseconds. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The flags every operator command takes (for parseCommandArgs). */
export const CONNECTION_OPTIONS = {
  controller: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-file': { type: 'string' },
} as const;

/** Usage text for CONNECTION_OPTIONS. */
export const CONNECTION_USAGE = `connection:
  --controller URL     controller to talk to (env FLEETDOCK_URL, default ${DEFAULT_CONTROLLER_URL})
  --token T            operator token (env FLEETDOCK_TOKEN)
  --token-file PATH    read the operator token from a file (e.g. the controller's .fleetdock/admin.token)
  --ca-file PATH       the controller's CA certificate (env FLEETDOCK_CA_FILE; the controller's own is
                       DATA/tls/ca.pem); without it the system's roots are trusted
`;

/** Where the controller is and how to authenticate. */
export interface Connection {
  url: string;
  token: string | null;
  /** PEM of the CA to trust for https (null: the system's roots). */
  ca: string | null;
}

/**
 * Decides the controller URL (--controller, FLEETDOCK_URL, default) and token (--token, --token-file,
 * FLEETDOCK_TOKEN). A malformed URL is a usage error; an unreadable token file is VALIDATION.
 */
export function resolveConnection(
  flags: { controller?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined; 'ca-file'?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const url = (flags.controller ?? env.FLEETDOCK_URL ?? DEFAULT_CONTROLLER_URL).replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UsageError(`controller URL ${JSON.stringify(url)} is not an http(s) URL`);
  }
  let token = flags.token ?? null;
  if (token === null && flags['token-file'] !== undefined) {
    try {
      token = readFileSync(flags['token-file'], 'utf8').trim();
    } catch (error) {
      throw new FleetdockError('VALIDATION', `cannot read the token file ${flags['token-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  token ??= env.FLEETDOCK_TOKEN?.trim() || null;
  const caFile = flags['ca-file'] ?? (env.FLEETDOCK_CA_FILE?.trim() || undefined);
  let ca: string | null = null;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new FleetdockError('VALIDATION', `cannot read the CA file ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { url, token, ca };
}

/** Talks to the controller's HTTP API. */
export class ControllerClient {
  readonly #connection: Connection;
  readonly #timeoutMs: number;

  constructor(connection: Connection, options: { timeoutMs?: number } = {}) {
    this.#connection = connection;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** Sends one request and parses the answer with `schema`; throws FleetdockError on any failure. */
  async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const { url, token, ca } = this.#connection;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await sendRequest(`${url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ca: ca ?? undefined,
        timeoutMs: this.#timeoutMs,
        maxBodyBytes: 64 * 1024 * 1024,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ETIMEDOUT') {
        throw new FleetdockError('CONTROLLER_UNREACHABLE', `the controller at ${url} did not answer within ${this.#timeoutMs / 1000} s`, { cause: error });
      }
      if (isTlsVerificationFailure(error)) {
        throw new FleetdockError('TLS_UNTRUSTED', `will not talk to ${url}: ${describeRequestFailure(error, url)} (the controller's own CA is DATA/tls/ca.pem: --ca-file or FLEETDOCK_CA_FILE)`, { cause: error });
      }
      throw new FleetdockError('CONTROLLER_UNREACHABLE', `cannot reach the controller at ${url}: ${describeRequestFailure(error, url)}; is it running? (fleetdock controller)`, { cause: error });
    }
    const text = response.body;
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.status < 200 || response.status > 299) {
      const error = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      if (error && isErrorCode(error.code) && typeof error.message === 'string') {
        const details = error.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
        throw new FleetdockError(error.code, error.message, details ? { details } : {});
      }
      throw new FleetdockError('INTERNAL', `${url} answered HTTP ${response.status} without a fleetdock error; is it a fleetdock controller?`);
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      throw new FleetdockError('INTERNAL', `unexpected answer from the controller at ${url} to ${method} ${path}: ${describeIssues(result.error)}`);
    }
    return result.data;
  }

  /** POST /v1/groups */
  createGroup(name: string) {
    return this.request('POST', '/v1/groups', GroupDetailSchema, { name });
  }

  /** GET /v1/groups/:name */
  getGroup(name: string) {
    return this.request('GET', `/v1/groups/${encodeURIComponent(name)}`, GroupDetailSchema);
  }

  /** PUT /v1/groups/:name/settings */
  setSettings(name: string, settings: SettingsInput) {
    return this.request('PUT', `/v1/groups/${encodeURIComponent(name)}/settings`, SetSettingsResponseSchema, settings);
  }

  /** POST /v1/groups/:name/join-tokens */
  createJoinToken(group: string, options: { uses?: number | undefined; ttlSeconds?: number | undefined }) {
    const body = { ...(options.uses !== undefined ? { uses: options.uses } : {}), ...(options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {}) };
    return this.request('POST', `/v1/groups/${encodeURIComponent(group)}/join-tokens`, JoinTokenResponseSchema, body);
  }

  /** GET /v1/join-tokens[?group=] */
  listJoinTokens(group?: string) {
    return this.request('GET', `/v1/join-tokens${group === undefined ? '' : `?group=${encodeURIComponent(group)}`}`, JoinTokenListSchema);
  }

  /** POST /v1/join-tokens/:id/revoke */
  revokeJoinToken(id: number) {
    return this.request('POST', `/v1/join-tokens/${id}/revoke`, RevokeJoinTokenResponseSchema);
  }

  /** POST /v1/operators */
  createOperator(name: string, role: string) {
    return this.request('POST', '/v1/operators', CreateOperatorResponseSchema, { name, role });
  }

  /** GET /v1/operators */
  listOperators() {
    return this.request('GET', '/v1/operators', OperatorListSchema);
  }

  /** POST /v1/operators/:name/revoke */
  revokeOperator(name: string) {
    return this.request('POST', `/v1/operators/${encodeURIComponent(name)}/revoke`, RevokeOperatorResponseSchema);
  }

  /** POST /v1/hosts/:name/revoke */
  revokeHost(name: string) {
    return this.request('POST', `/v1/hosts/${encodeURIComponent(name)}/revoke`, RevokeHostResponseSchema);
  }

  /** DELETE /v1/hosts/:name */
  removeHost(name: string) {
    return this.request('DELETE', `/v1/hosts/${encodeURIComponent(name)}`, RemoveHostResponseSchema);
  }

  /** GET /v1/hosts[?group=] */
  listHosts(group?: string) {
    return this.request('GET', `/v1/hosts${group === undefined ? '' : `?group=${encodeURIComponent(group)}`}`, HostListSchema);
  }
}
