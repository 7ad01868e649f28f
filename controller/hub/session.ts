/**
 * One agent's connection after its upgrade was accepted: the protocol as seen from the controller.
 * The first message must be `hello` (bad text is answered with an error and the agent may try again;
 * a well-formed message of another type closes the connection). After hello: `welcome`, then the
 * host's desired revision (its own while a rollout moves it, else its group's current revision;
 * always, on every hello: level-triggered). `apply-result` and `observed` are recorded.
 * Every bad message gets an error reply and the connection stays; nothing an agent sends can throw
 * out of here.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { FleetdockError, type ErrorCode } from '../../protocol/errors.js';
import { parseAgentMessage, type AgentMessage, type ApplyResult, type Desired, type Hello, type Welcome } from '../../protocol/messages.js';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/version.js';
import type { DriftNotifier } from '../drift/monitor.js';
import type { Store } from '../store/index.js';
import type { HostIdentity } from '../store/hosts.js';
import type { Revision } from '../store/revisions.js';

/** WebSocket close codes the controller uses. */
export const CLOSE_CODES = Object.freeze({
  /** The agent broke the protocol (wrong version, no hello first). */
  PROTOCOL: 4400,
  /** A newer connection with the same credential took over. */
  SESSION_REPLACED: 4409,
  /** The controller is shutting down. */
  GOING_AWAY: 1001,
});

/** A slow reader whose unsent data passes this is dropped; it gets the latest revision on reconnect. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** What a session needs from the controller. */
export interface SessionDeps {
  store: Store;
  now: () => Date;
  logger: Logger;
  /** Called once hello succeeded, so the hub sends this session its group's new revisions. */
  onReady(session: AgentSession): void;
  /** Called after an apply result was recorded (the rollout engine takes its next step). */
  onApplyResult?(session: AgentSession, result: ApplyResult): void;
  /** Told whenever something the drift classifier reads was recorded (the drift monitor). */
  drift?: DriftNotifier | undefined;
}

/** Renders the `desired` message for a revision. Pure. */
export function renderDesiredMessage(revision: Revision): string {
  const message: Desired = { type: 'desired', revision: revision.number, settings: revision.settings };
  return JSON.stringify(message);
}

/** One connected agent. */
export class AgentSession {
  readonly host: HostIdentity;
  readonly #ws: WebSocket;
  readonly #deps: SessionDeps;
  readonly #log: Logger;
  #helloDone = false;
  #replaced = false;
  /** Cleared at each heartbeat, set by a pong or any message; still clear at the next one means gone. */
  alive = true;

  constructor(ws: WebSocket, host: HostIdentity, deps: SessionDeps) {
    this.#ws = ws;
    this.host = host;
    this.#deps = deps;
    this.#log = deps.logger.child({ hostId: host.id, host: host.name });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('message', (data, isBinary) => this.#receive(data, isBinary));
    ws.on('error', (error) => this.#log.warn({ err: error }, 'agent connection error'));
  }

  /** Whether the agent has said hello on this connection. */
  get ready(): boolean {
    return this.#helloDone;
  }

  /** Sends already-serialised text if the socket is open; drops a reader that stopped reading. */
  sendText(text: string): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.#log.warn({ bufferedBytes: this.#ws.bufferedAmount }, 'agent is not reading; dropping its connection');
      this.#ws.terminate();
      return;
    }
    this.#ws.send(text);
  }

  /** Sends an error message; a fatal one is followed by closing with `closeCode`. */
  sendError(code: ErrorCode | string, message: string, fatal = false, closeCode: number = CLOSE_CODES.PROTOCOL): void {
    this.sendText(JSON.stringify({ type: 'error', code, message, fatal }));
    if (fatal) this.close(closeCode, code);
  }

  /** Starts a clean close with `code` and a short reason. */
  close(code: number, reason: string): void {
    this.#ws.close(code, reason.slice(0, 120));
  }

  /** Drops the connection at once (no close handshake). */
  terminate(): void {
    this.#ws.terminate();
  }

  /** Ends this session because a newer connection of the same host took over; later messages are ignored. */
  retire(): void {
    this.#replaced = true;
    this.sendError('SESSION_REPLACED', 'a newer connection with this host credential replaced this one', true, CLOSE_CODES.SESSION_REPLACED);
  }

  /** Pings the agent; the pong marks it alive. */
  ping(): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }

  /** Registers a listener for the socket's close. */
  onClose(listener: (code: number) => void): void {
    this.#ws.on('close', (code) => listener(code));
  }

  #receive(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.#replaced) return; // closing; the newer session speaks for the host now
    let message: AgentMessage;
    try {
      if (isBinary) throw new FleetdockError('BAD_MESSAGE', 'messages must be JSON text frames, not binary');
      message = parseAgentMessage(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
    } catch (error) {
      const e = error instanceof FleetdockError ? error : new FleetdockError('BAD_MESSAGE', 'message could not be read');
      this.#log.info({ code: e.code, message: e.message }, 'bad message from agent');
      this.sendError(e.code, e.message);
      return;
    }
    try {
      this.#handle(message);
    } catch (error) {
      this.#log.error({ err: error, type: message.type }, 'handling an agent message failed');
      this.sendError('INTERNAL', `controller could not handle the ${message.type} message; it was not recorded, send it again later`);
    }
  }

  #handle(message: AgentMessage): void {
    if (message.type === 'hello') return this.#hello(message);
    if (!this.#helloDone) {
      this.sendError('BAD_MESSAGE', `the first message must be hello, not ${message.type}`, true);
      return;
    }
    const now = this.#deps.now();
    switch (message.type) {
      case 'apply-result':
        this.#deps.store.hosts.recordApplyResult(this.host.id, message, now);
        this.#log.info({ revision: message.revision, outcome: message.outcome, action: message.action, error: message.error?.code }, 'apply result');
        this.#deps.onApplyResult?.(this, message);
        this.#deps.drift?.applyResultRecorded(this.host, message);
        return;
      case 'observed':
        this.#deps.store.hosts.recordObserved(this.host.id, message.observed, now);
        this.#deps.drift?.hostChanged(this.host.id);
        return;
      case 'error':
        this.#log.warn({ code: message.code, message: message.message }, 'agent reported an error');
        return;
    }
  }

  #hello(hello: Hello): void {
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.protocolVersion)) {
      this.sendError(
        'PROTOCOL_VERSION',
        `protocol version ${hello.protocolVersion} is not supported; this controller speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}: upgrade the agent or the controller`,
        true,
      );
      return;
    }
    const { store, now } = this.#deps;
    store.hosts.recordHello(this.host.id, hello, now());
    this.#deps.drift?.hostChanged(this.host.id);
    this.#helloDone = true;
    const welcome: Welcome = { type: 'welcome', protocolVersion: PROTOCOL_VERSION, hostId: this.host.id, name: this.host.name, group: this.host.group };
    this.sendText(JSON.stringify(welcome));
    // The host's effective desired revision, never simply the group's latest: a rollout decides when a
    // host moves (controller/rollout/).
    const desiredNumber = store.hosts.desiredRevisionOf(this.host.id);
    const desired = desiredNumber === null ? undefined : store.revisions.require(this.host.groupId, this.host.group, desiredNumber);
    if (desired) this.sendText(renderDesiredMessage(desired));
    this.#deps.onReady(this);
    this.#log.info({ group: this.host.group, appliedRevision: hello.appliedRevision, desiredRevision: desiredNumber }, 'agent said hello');
  }
}
