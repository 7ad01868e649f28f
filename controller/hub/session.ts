/**
 * One agent's connection after its upgrade was accepted: the protocol as seen from the controller.
 * The first message must be `hello` (bad text is answered with an error and the agent may try again;
 * a well-formed message of another type closes the connection). After hello: `welcome`, then the
 * host's desired revision (its own while a rollout moves it, else its group's current revision;
 * always, on every hello: level-triggered), marked `resend: true` (unless a rollout waits for this
 * host's result) so an agent whose last attempt of it failed answers with that failure, marked
 * `repeated`, instead of trying again; a repeated answer the host's row already holds is not recorded
 * again (the observed state it may carry is). Only a rollout (or a group's
 * first revision) retries. Other `apply-result` and `observed` messages are recorded; an apply-result
 * carrying its observed state (protocol 3) is one row write.
 * Every bad message gets an error reply and the connection stays; nothing an agent sends can throw
 * out of here.
 */
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { FleetdockError, type ErrorCode } from '../../protocol/errors.js';
import { parseAgentMessage, type AgentMessage, type ApplyResult, type Desired, type Hello, type Welcome } from '../../protocol/messages.js';
import type { ObservedState } from '../../protocol/observed.js';
import { PROTOCOL_VERSION, RESEND_SINCE_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/version.js';
import type { DriftNotifier } from '../drift/monitor.js';
import type { Store } from '../store/index.js';
import type { HostIdentity } from '../store/hosts.js';
import type { Revision } from '../store/revisions.js';
import type { WriteBatcher } from '../store/write-batcher.js';

import { CLOSE_CODES } from '../../protocol/messages.js';

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
  /** Called when the session's socket closed (the hub forgets the session). */
  onClosed?(session: AgentSession, code: number): void;
  /** Told whenever something the drift classifier reads was recorded (the drift monitor). */
  drift?: DriftNotifier | undefined;
  /** Host writes from agent messages, committed in batches (controller/store/write-batcher.ts). */
  writes: WriteBatcher;
}

/** An apply result queued for writing: the observed report that arrived after it meanwhile, if any. */
interface PendingResult {
  /** The observed state to write with the result, serialised on arrival (see HostStore.recordApplyResultAndObserved). */
  observed: { json: string; at: Date } | null;
}

/**
 * Renders the `desired` message for a revision. Pure. `resend`: this is the level-triggered re-send
 * after a hello, not a request to try again (only the hello path sets it).
 */
export function renderDesiredMessage(revision: Revision, options: { resend?: boolean } = {}): string {
  const message: Desired = { type: 'desired', revision: revision.number, settings: revision.settings, ...(options.resend ? { resend: true } : {}) };
  return JSON.stringify(message);
}

/**
 * An agent's socket (the hub's WebSocketServer makes these): it knows its session, so one listener
 * function per event serves every connection instead of a closure per connection and event.
 */
export class AgentSocket extends WebSocket {
  session: AgentSession | null = null;
}

/** One connected agent. */
export class AgentSession {
  readonly host: HostIdentity;
  readonly #ws: AgentSocket;
  readonly #deps: SessionDeps;
  /** The logger with this host's bindings, made on the first line written: a pino child per connection costs ~0.4 KiB. */
  #logger: Logger | null = null;
  #helloDone = false;
  #replaced = false;
  /** This session's apply result still waiting in the write batcher (an observed report joins it). */
  #pendingResult: PendingResult | null = null;
  /** Cleared at each heartbeat, set by a pong or any message; still clear at the next one means gone. */
  alive = true;

  constructor(ws: AgentSocket, host: HostIdentity, deps: SessionDeps) {
    this.#ws = ws;
    this.host = host;
    this.#deps = deps;
    ws.session = this;
    ws.on('pong', AgentSession.#onPong);
    ws.on('message', AgentSession.#onMessage);
    ws.on('error', AgentSession.#onError);
    ws.on('close', AgentSession.#onClose);
  }

  static #onPong(this: WebSocket): void {
    (this as AgentSocket).session!.alive = true;
  }

  static #onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    (this as AgentSocket).session!.#receive(data, isBinary);
  }

  static #onError(this: WebSocket, error: Error): void {
    (this as AgentSocket).session!.#log.warn({ err: error }, 'agent connection error');
  }

  static #onClose(this: WebSocket, code: number): void {
    const session = (this as AgentSocket).session!;
    session.#deps.onClosed?.(session, code);
  }

  get #log(): Logger {
    return (this.#logger ??= this.#deps.logger.child({ hostId: this.host.id, host: this.host.name }));
  }

  /** A debug line, without making this host's logger when debug is off (per message and per hello). */
  #debug(fields: object, msg: string): void {
    if (this.#deps.logger.isLevelEnabled('debug')) this.#log.debug(fields, msg);
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
      case 'apply-result': {
        if (message.repeated === true) {
          // The answer to a hello's re-send, repeating a failure without trying again. When the host's
          // row already holds that failure (reported when it happened), nothing is recorded again and
          // no audit entry is repeated. When it does not (the report was lost with the connection, or
          // with a controller killed before its batch committed), this is how the controller learns
          // of it: recorded as any result.
          this.#deps.writes.flush();
          const known = this.#deps.store.hosts.lastResultOf(this.host.id);
          if (known?.revision === message.revision && known.outcome === message.outcome) {
            this.#debug({ revision: message.revision, outcome: message.outcome }, 'agent repeated an earlier failure without trying again');
            if (message.observed) this.#recordObserved(message.observed, now); // its report is news all the same
            return;
          }
        }
        // Committed with others within 20 ms; the rollout engine and the drift monitor hear of it after
        // the commit. The observed state comes in the result itself from agents of protocol 3; from older
        // ones, the `observed` report that follows every result joins its row write if it comes first.
        const { observed: observedWithResult, ...result } = message;
        const pending: PendingResult = { observed: observedWithResult ? { json: JSON.stringify(observedWithResult), at: now } : null };
        this.#pendingResult = pending;
        this.#deps.writes.enqueue(
          () => {
            if (this.#pendingResult === pending) this.#pendingResult = null;
            const { hosts } = this.#deps.store;
            if (pending.observed) hosts.recordApplyResultAndObserved(this.host.id, result, now, pending.observed.json, pending.observed.at);
            else hosts.recordApplyResult(this.host.id, result, now);
          },
          (error) => {
            if (error) return;
            // A repeat is no attempt: a rollout waits for the result of the `desired` it sent itself.
            if (result.repeated !== true) this.#deps.onApplyResult?.(this, result);
            this.#deps.drift?.applyResultRecorded(this.host, result); // reclassifies the host: its observed state too
          },
        );
        // Per host: debug. The rollout engine logs one line per step, the audit log keeps every result.
        this.#debug({ revision: message.revision, outcome: message.outcome, action: message.action, error: message.error?.code }, 'apply result');
        return;
      }
      case 'observed':
        this.#recordObserved(message.observed, now);
        return;
      case 'error':
        this.#log.warn({ code: message.code, message: message.message }, 'agent reported an error');
        return;
    }
  }

  /** Queues an observed report; one that comes while this host's result waits joins that row write. */
  #recordObserved(observed: ObservedState, now: Date): void {
    if (this.#pendingResult) {
      this.#pendingResult.observed = { json: JSON.stringify(observed), at: now };
      return;
    }
    this.#deps.writes.enqueue(
      () => this.#deps.store.hosts.recordObserved(this.host.id, observed, now),
      (error) => error || this.#deps.drift?.hostChanged(this.host.id),
    );
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
    this.#deps.writes.flush(); // whatever this host reported before (an older session) lands first
    store.hosts.recordHello(this.host.id, hello, now());
    this.#deps.drift?.hostChanged(this.host.id);
    this.#helloDone = true;
    const welcome: Welcome = { type: 'welcome', protocolVersion: PROTOCOL_VERSION, hostId: this.host.id, name: this.host.name, group: this.host.group };
    this.sendText(JSON.stringify(welcome));
    // The host's effective desired revision, never simply the group's latest: a rollout decides when a
    // host moves (controller/rollout/).
    const desiredNumber = store.hosts.desiredRevisionOf(this.host.id);
    const desired = desiredNumber === null ? undefined : store.revisions.require(this.host.groupId, this.host.group, desiredNumber);
    // Marked as a re-send: a reconnect must not make a host retry a revision that failed there (a
    // proxy change means a restart and a rollback restart, killing running builds each time). Not
    // marked while a rollout waits for this host's result: then this may be the only copy of the
    // rollout's own `desired` (lost with a dropped connection or a controller that died before
    // sending it), and the rollout needs a real attempt. Agents before protocol 2 do not know the mark.
    const resend = hello.protocolVersion >= RESEND_SINCE_PROTOCOL_VERSION && !store.rollouts.isApplying(this.host.id);
    if (desired) this.sendText(renderDesiredMessage(desired, { resend }));
    this.#deps.onReady(this);
    this.#debug({ group: this.host.group, appliedRevision: hello.appliedRevision, desiredRevision: desiredNumber }, 'agent said hello');
  }
}
