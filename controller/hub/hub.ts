/**
 * The agent hub: accepts WebSocket upgrades on /v1/agent for hosts with a valid credential, keeps one
 * session per host (a second connection replaces the first), indexes ready sessions by group so a new
 * revision is fanned out to a group's connected hosts in one pass, and drops connections that stop
 * answering pings. One timer for all connections; no per-host loops.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { FleetdockError } from '../../protocol/errors.js';
import { MAX_MESSAGE_BYTES } from '../../protocol/messages.js';
import type { DesiredPublisher } from '../api/context.js';
import type { ApplyResult } from '../../protocol/messages.js';
import type { HostIdentity } from '../store/hosts.js';
import type { DriftNotifier } from '../drift/monitor.js';
import type { Store } from '../store/index.js';
import type { Revision } from '../store/revisions.js';
import type { WriteBatcher } from '../store/write-batcher.js';
import type { LoginThrottle } from '../api/login-throttle.js';
import { authenticateAgent, isAgentPath, refuseUpgrade } from './upgrade.js';
import { CLOSE_CODES } from '../../protocol/messages.js';
import { AgentSession, AgentSocket, renderDesiredMessage, type SessionDeps } from './session.js';

/** What the hub needs. */
export interface HubDeps {
  store: Store;
  now: () => Date;
  logger: Logger;
  /** How often every connection is pinged, in milliseconds. */
  heartbeatIntervalMs: number;
  /** Called after a host said hello (and was sent its desired revision). */
  onHostReady?(host: HostIdentity): void;
  /** Called after a host's apply result was recorded. */
  onApplyResult?(host: HostIdentity, result: ApplyResult): void;
  /** Told when a host's recorded state changed (hello, observed, apply-result, disconnect): the drift monitor. */
  drift?: DriftNotifier | undefined;
  /** Host writes from agent messages, committed in batches. */
  writes: WriteBatcher;
  /** Failed logins per address: a bad host credential counts; a blocked address gets 429. */
  throttle?: LoginThrottle | undefined;
}

/** How long close() waits for agents to finish the close handshake before dropping them, in milliseconds. */
const CLOSE_GRACE_MS = 1_000;

/** How long disconnectHost() waits for the close handshake before dropping the socket, in milliseconds. */
const REVOKE_GRACE_MS = 500;

/** Accepts agent connections and sends them what they should have. */
export class AgentHub implements DesiredPublisher {
  readonly #deps: HubDeps;
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  /** What every session gets: one object for all of them (a spread copy per connection cost ~0.6 KiB, a hidden class each). */
  readonly #sessionDeps: SessionDeps;
  /** The current session of each host, by host id. */
  readonly #sessions = new Map<string, AgentSession>();
  /** Sessions that said hello, by group id: who gets a new revision. */
  readonly #byGroup = new Map<number, Set<AgentSession>>();
  readonly #heartbeat: NodeJS.Timeout;
  #closing = false;

  constructor(deps: HubDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'hub' });
    this.#wss = new WebSocketServer({ WebSocket: AgentSocket, noServer: true, maxPayload: MAX_MESSAGE_BYTES, clientTracking: false, perMessageDeflate: false });
    this.#sessionDeps = {
      ...deps,
      onReady: (s) => this.#ready(s),
      onApplyResult: (s, result) => deps.onApplyResult?.(s.host, result),
      onClosed: (s, code) => this.#release(s, code),
    };
    this.#heartbeat = setInterval(() => this.#beat(), deps.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** How many agents are connected (said hello or not). */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** The http server's `upgrade` listener. Never throws: a refused upgrade is an HTTP answer. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    if (this.#closing) return refuseUpgrade(socket, new FleetdockError('CONTROLLER_UNREACHABLE', 'controller is shutting down'));
    if (!isAgentPath(req)) return refuseUpgrade(socket, new FleetdockError('NOT_FOUND', `no WebSocket endpoint at ${(req.url ?? '').slice(0, 100)}`));
    let host;
    const address = req.socket.remoteAddress ?? 'unknown';
    try {
      this.#deps.throttle?.check(address);
      try {
        host = authenticateAgent(req, this.#deps.store.hosts);
      } catch (error) {
        if (error instanceof FleetdockError && req.headers.authorization !== undefined) this.#deps.throttle?.recordFailure(address);
        throw error;
      }
    } catch (error) {
      const refusal = error instanceof FleetdockError ? error : new FleetdockError('INTERNAL', 'could not check the credential');
      if (!(error instanceof FleetdockError)) this.#log.error({ err: error }, 'checking an agent credential failed');
      this.#log.info({ code: refusal.code, remote: req.socket.remoteAddress }, 'agent connection refused');
      return refuseUpgrade(socket, refusal);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new AgentSession(ws as AgentSocket, host, this.#sessionDeps);
      const previous = this.#sessions.get(host.id);
      this.#sessions.set(host.id, session);
      if (previous) {
        this.#unindex(previous);
        previous.retire();
        this.#log.info({ hostId: host.id, host: host.name }, 'agent session replaced');
      }
    });
  };

  /** Sends a revision to every connected host of its group: serialised once, queued on each socket. */
  publishDesired(groupId: number, revision: Revision): number {
    const sessions = this.#byGroup.get(groupId);
    if (!sessions) return 0;
    const text = renderDesiredMessage(revision);
    for (const session of sessions) session.sendText(text);
    return sessions.size;
  }

  /** Whether the host has a connection that said hello. */
  isConnected(hostId: string): boolean {
    return this.#sessions.get(hostId)?.ready === true;
  }

  /**
   * Sends a revision to one host if it is connected and said hello; returns whether it was sent. A host
   * that is not connected gets its desired revision on its next hello anyway.
   */
  sendDesired(hostId: string, revision: Revision, text: string = renderDesiredMessage(revision)): boolean {
    const session = this.#sessions.get(hostId);
    if (!session?.ready) return false;
    session.sendText(text);
    return true;
  }

  /**
   * Ends the host's connection, if it has one: no more revisions are sent to it, the close handshake
   * starts with `code`, and the socket is dropped after REVOKE_GRACE_MS if the agent has not finished
   * it (so it is gone within a second whatever the agent does). Returns whether there was one.
   */
  disconnectHost(hostId: string, code: number, reason: string): boolean {
    const session = this.#sessions.get(hostId);
    if (!session) return false;
    this.#unindex(session);
    session.close(code, reason);
    setTimeout(() => session.terminate(), REVOKE_GRACE_MS).unref();
    this.#log.info({ hostId, host: session.host.name, code, reason }, 'agent disconnected by the controller');
    return true;
  }

  /** Closes every connection (1001), waiting briefly for the close handshakes, and stops the timer. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    const sessions = [...this.#sessions.values()];
    const closed = sessions.map((s) => new Promise<void>((resolve) => s.onClose(() => resolve())));
    for (const session of sessions) session.close(CLOSE_CODES.GOING_AWAY, 'controller shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const session of this.#sessions.values()) session.terminate();
    this.#sessions.clear();
    this.#byGroup.clear();
    this.#deps.writes.close();
    this.#deps.store.hosts.markAllDisconnected(this.#deps.now());
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #ready(session: AgentSession): void {
    if (this.#sessions.get(session.host.id) !== session) return;
    let set = this.#byGroup.get(session.host.groupId);
    if (!set) this.#byGroup.set(session.host.groupId, (set = new Set()));
    set.add(session);
    this.#deps.onHostReady?.(session.host);
  }

  #unindex(session: AgentSession): void {
    const set = this.#byGroup.get(session.host.groupId);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) this.#byGroup.delete(session.host.groupId);
  }

  #release(session: AgentSession, code: number): void {
    this.#unindex(session);
    if (this.#sessions.get(session.host.id) !== session) return; // replaced: the newer session owns the host
    this.#sessions.delete(session.host.id);
    if (this.#closing) return; // close() marks everyone disconnected once
    try {
      this.#deps.writes.flush(); // the host's queued reports land before its disconnect
      this.#deps.store.hosts.markDisconnected(session.host.id, this.#deps.now());
      this.#deps.drift?.hostChanged(session.host.id);
    } catch (error) {
      this.#log.error({ err: error, hostId: session.host.id }, 'recording a disconnect failed');
    }
    this.#log.info({ hostId: session.host.id, host: session.host.name, code }, 'agent disconnected');
  }

  #beat(): void {
    for (const session of this.#sessions.values()) {
      if (!session.alive) {
        this.#log.info({ hostId: session.host.id, host: session.host.name }, 'agent did not answer the ping; dropping it');
        session.terminate();
        continue;
      }
      session.alive = false;
      session.ping();
    }
  }
}
