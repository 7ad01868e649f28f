/**
 * What a route handler is given and what it returns. Handlers are plain functions of a request
 * context: they never touch express, so the route table stays readable and handlers stay small.
 */
import type { Logger } from 'pino';
import type { Revision } from '../store/revisions.js';
import type { Store } from '../store/index.js';
import type { Operator } from '../store/operator-tokens.js';
import type { RolloutEngine } from '../rollout/engine.js';
import type { LoginThrottle } from './login-throttle.js';

/**
 * Sends a group's first revision to its connected hosts (the agent hub). Later revisions reach hosts
 * only through rollouts (controller/rollout/).
 */
export interface DesiredPublisher {
  /** Queues `desired` for every connected host of the group; returns how many it was sent to. */
  publishDesired(groupId: number, revision: Revision): number;
}

/** Ends a host's live connection (the agent hub): used when a host is revoked. */
export interface AgentDisconnector {
  /** Closes the host's connection with `code` (within a second); returns whether it had one. */
  disconnectHost(hostId: string, code: number, reason: string): boolean;
}

/** The controller's parts a handler may use. */
export interface ApiDeps {
  store: Store;
  publisher: DesiredPublisher;
  now: () => Date;
  logger: Logger;
  /** Starts and drives rollouts. */
  rollouts: RolloutEngine;
  /** The drift monitor: told when a group's drift policy changed (enforce acts at once). */
  drift?: { policyChanged(groupId: number): void } | undefined;
  /** Closes revoked hosts' connections. */
  agents?: AgentDisconnector | undefined;
  /** Counts failed logins per address and refuses an address that failed too often (429). */
  throttle?: LoginThrottle | undefined;
  /** The CA agents pin (PEM and pin), or null when the controller serves insecure plain HTTP. */
  trust?: ControllerTrust | null | undefined;
}

/** What a TLS controller tells about its CA: served at GET /v1/ca, and the pin put in join tokens. */
export interface ControllerTrust {
  caPem: string;
  pin: string;
}

/** One request, already authorised. `body` and `query` are untrusted until a handler parses them. */
export interface RequestContext {
  params: Readonly<Record<string, string>>;
  query: unknown;
  body: unknown;
  /** The operator whose token was accepted; null on anonymous routes. */
  operator: Operator | null;
  deps: ApiDeps;
}

/** What a handler answers: a status and a JSON body. */
export interface Reply {
  status: number;
  body: unknown;
}

export type Handler = (ctx: RequestContext) => Reply;
