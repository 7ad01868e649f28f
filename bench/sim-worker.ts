/**
 * A simulator worker: one process holding many WebSocket connections (wss:// trusting only the
 * controller's CA, or ws:// on an insecure plain HTTP controller), each behaving like a real agent at
 * the protocol level (no dockerd): `hello` on connect, and for every `desired` an `apply-result`
 * (applied, reload, verified) carrying the observed state (to a controller of protocol 3 or later, as
 * agent/agent.ts does) or followed by an `observed` report (older controllers). Records when each
 * agent received each revision and when it acknowledged it. Driven over IPC by bench/run.ts; exits
 * on `stop` or when its parent goes away.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { WebSocket } from 'ws';
import { OBSERVED_IN_RESULT_SINCE_PROTOCOL_VERSION } from '../protocol/version.js';
import { applyResultRenderer, renderApplyResult, renderHandEditedObserved, renderHello, renderObserved, type DesiredSettingsView } from './sim-messages.js';
import type { ParentCommand, ProgressEvent, SimAgent, StartCommand, TimesEvent } from './worker-protocol.js';

/** Connection attempts per agent before it gives up. */
const MAX_ATTEMPTS = 5;

interface AgentState {
  agent: SimAgent;
  ws: WebSocket | null;
  welcomed: boolean;
  /** The controller's protocol version, from its welcome. */
  controllerProtocol: number;
  received: Map<number, number>;
  acked: Map<number, number>;
  /** The last desired revision and settings, to report observed state against. */
  last: { revision: number; settings: DesiredSettingsView } | null;
}

const agents: AgentState[] = [];
let failedAttempts = 0;
let gaveUp = 0;
let dropped = 0;
let stopping = false;
/**
 * For wss://: one TLS context trusting only the controller's CA, shared by every connection of this
 * worker. Passing `ca` per connection instead would build a context (and a certificate store) per
 * connection: about 20 KiB more per socket here, for nothing a real agent (one connection) would see.
 */
let secureContext: SecureContext | null = null;

function send(event: ProgressEvent | TimesEvent): void {
  process.send?.(event);
}

function progress(done: boolean): ProgressEvent {
  return { type: 'progress', welcomed: agents.filter((a) => a.welcomed).length, failedAttempts, gaveUp, dropped, done };
}

/** A message as parsed from the controller's text. */
type ControllerMessageView = { type: string; revision?: number; settings?: DesiredSettingsView; code?: string; message?: string; protocolVersion?: number };

/**
 * The last `desired` text and what it parsed to, and the result renderer of its revision: a push sends
 * the same text to every agent of a worker, and parsing and serialising the same bytes thousands of
 * times took CPU the controller under test needs (the simulator shares its cores).
 */
let lastDesired: { text: string; message: ControllerMessageView; render: (durationMs: number, at: Date) => string } | null = null;

function parseControllerText(text: string): ControllerMessageView {
  if (lastDesired?.text === text) return lastDesired.message;
  const message = JSON.parse(text) as ControllerMessageView;
  if (message.type === 'desired' && typeof message.revision === 'number') {
    lastDesired = { text, message, render: applyResultRenderer(message.revision, message.settings ?? {}) };
  }
  return message;
}

function answerDesired(state: AgentState, message: ControllerMessageView & { revision: number }, delayMs: number): void {
  const { revision } = message;
  const settings = message.settings ?? {};
  const render = lastDesired?.message === message ? lastDesired.render : applyResultRenderer(revision, settings);
  const started = Date.now();
  const reply = () => {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (state.controllerProtocol >= OBSERVED_IN_RESULT_SINCE_PROTOCOL_VERSION) {
      ws.send(render(Date.now() - started, new Date()));
    } else {
      ws.send(renderApplyResult(revision, Date.now() - started));
      ws.send(renderObserved(revision, settings, new Date()));
    }
    state.acked.set(revision, Date.now());
  };
  if (delayMs > 0) setTimeout(reply, delayMs);
  else reply();
}

/** Opens one connection and resolves when `welcome` arrives; rejects on a refused or failed connection. */
function connectOnce(state: AgentState, command: StartCommand): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(command.url, {
      headers: { authorization: `Bearer ${state.agent.credential}` },
      perMessageDeflate: false,
      // wss://: the controller's CA is the only trust anchor, as for a real agent (which pins it);
      // the certificate is verified (rejectUnauthorized stays true).
      ...(secureContext !== null ? { secureContext } : {}),
    });
    state.ws = ws;
    let settled = false;
    ws.on('open', () => ws.send(renderHello(state.agent.name, new Date())));
    ws.on('message', (data) => {
      const now = Date.now();
      const message = parseControllerText(String(data));
      if (message.type === 'welcome') {
        state.welcomed = true;
        state.controllerProtocol = message.protocolVersion ?? 0;
        if (!settled) {
          settled = true;
          resolve();
        }
      } else if (message.type === 'desired' && typeof message.revision === 'number') {
        if (!state.received.has(message.revision)) state.received.set(message.revision, now);
        state.last = { revision: message.revision, settings: message.settings ?? {} };
        answerDesired(state, message as ControllerMessageView & { revision: number }, command.applyDelayMs);
      } else if (message.type === 'error') {
        process.stderr.write(`[sim-worker ${process.pid}] ${state.agent.name}: controller error ${message.code}: ${message.message}\n`);
      }
    });
    ws.on('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    ws.on('close', () => {
      if (!settled) {
        settled = true;
        reject(new Error('closed before welcome'));
      } else if (!stopping && state.ws === ws) {
        dropped++;
      }
      if (state.ws === ws) state.ws = null;
    });
  });
}

async function connectAgent(state: AgentState, command: StartCommand): Promise<void> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS && !stopping; attempt++) {
    try {
      await connectOnce(state, command);
      return;
    } catch (error) {
      failedAttempts++;
      if (attempt === MAX_ATTEMPTS) {
        gaveUp++;
        process.stderr.write(`[sim-worker ${process.pid}] ${state.agent.name} gave up: ${(error as Error).message}\n`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

async function start(command: StartCommand): Promise<void> {
  if (command.ca !== null) secureContext = createSecureContext({ ca: command.ca });
  for (const agent of command.agents) agents.push({ agent, ws: null, welcomed: false, controllerProtocol: 0, received: new Map(), acked: new Map(), last: null });
  const ticker = setInterval(() => send(progress(false)), 250);
  let next = 0;
  const runner = async () => {
    while (next < agents.length && !stopping) await connectAgent(agents[next++]!, command);
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, runner));
  clearInterval(ticker);
  send(progress(true));
  // Keep reporting drops after the connect phase.
  setInterval(() => {
    if (dropped > 0) send(progress(true));
  }, 1_000).unref();
}

function report(revision: number): void {
  send({
    type: 'times',
    revision,
    names: agents.map((a) => a.agent.name),
    received: agents.map((a) => a.received.get(revision) ?? NaN),
    acked: agents.map((a) => a.acked.get(revision) ?? NaN),
  });
}

function reportHandEdits(names: string[]): void {
  const wanted = new Set(names);
  for (const state of agents) {
    if (!wanted.has(state.agent.name) || !state.last || state.ws?.readyState !== WebSocket.OPEN) continue;
    state.ws.send(renderHandEditedObserved(state.last.revision, state.last.settings, new Date()));
  }
}

function stop(): void {
  stopping = true;
  for (const state of agents) state.ws?.terminate();
  process.exit(0);
}

process.on('message', (command: ParentCommand) => {
  if (command.type === 'start') void start(command);
  else if (command.type === 'report') report(command.revision);
  else if (command.type === 'drift') reportHandEdits(command.names);
  else if (command.type === 'stop') stop();
});
// The parent died or closed the channel: nothing left to do.
process.on('disconnect', stop);
