/**
 * The agent's run loop: enrol once, then hold a WebSocket to the controller (reconnecting with
 * backoff), answer `desired` with one apply at a time (always the newest revision; a re-send after a
 * hello of the revision that last failed here is answered with that failure, untried:
 * plan/failed-attempt.ts), and report results and observed state: after every apply (inside the
 * result to a controller of protocol 3 or later), and whenever a drift check (file events, dockerd
 * events, a periodic full check: watch/observer.ts) sees it changed. Refused for its protocol version
 * (a controller older than the agent), it says hello with the version below on the next connection. Checks are skipped while an apply runs, so
 * the agent's own writes are never reported as drift. While the controller is away the host is left
 * exactly as it is.
 */
import { arch, hostname, release, type } from 'node:os';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { FleetdockError } from '../protocol/errors.js';
import { CLOSE_CODES, MAX_MESSAGE_BYTES, parseControllerMessage, type AgentMessage, type ApplyResult, type Desired } from '../protocol/messages.js';
import type { HostFacts, ObservedState } from '../protocol/observed.js';
import { AGENT_VERSION, OBSERVED_IN_RESULT_SINCE_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import { applyDesired } from './apply.js';
import { backoffDelay } from './backoff.js';
import type { AgentConfig } from './config.js';
import { enrol } from './enrol.js';
import { createDockerApi, socketPathOf } from './io/docker-api.js';
import { observeHost, type HostContext } from './io/read-host.js';
import { mergePending, planDesired, rememberAttempt } from './plan/failed-attempt.js';
import { createSignalManager, createSystemdManager } from './io/service-manager.js';
import { readLocalUsers } from './io/users.js';
import { clientConfigPath, HOST_PATHS, underRoot } from './paths.js';
import { loadCredential, loadState, saveState, type AgentState, type StoredCredential } from './state.js';
import { observedChanged } from './watch/observed-change.js';
import { startObserver, type Observer } from './watch/observer.js';

export type AgentHandle = {
  /**
   * Resolves when the agent has stopped after stop(); rejects with CREDENTIAL_INVALID when the
   * controller refuses the host's credential (revoked or removed): retrying would never work.
   */
  done: Promise<void>;
  stop(): Promise<void>;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Builds the host context (Docker API, service manager) from the config. */
export function createHostContext(config: AgentConfig): HostContext {
  return {
    root: config.root,
    docker: createDockerApi(socketPathOf(config.dockerHost)),
    service: config.serviceManager === 'systemd' ? createSystemdManager(config.dockerUnit) : createSignalManager(config.pidfile, config.restartCommand),
  };
}

async function readFacts(ctx: HostContext, config: AgentConfig): Promise<HostFacts> {
  const info = await ctx.docker.info();
  return {
    hostname: hostname(),
    os: `${type().toLowerCase()} ${release()}`,
    arch: arch(),
    dockerVersion: typeof info?.ServerVersion === 'string' ? info.ServerVersion : null,
    serviceManager: config.serviceManager,
    liveRestore: typeof info?.LiveRestoreEnabled === 'boolean' ? info.LiveRestoreEnabled : null,
    agentVersion: AGENT_VERSION,
  };
}

/** Starts the agent. Rejects only for problems the operator must fix (bad join token, name taken). */
export async function startAgent(config: AgentConfig, log: Logger): Promise<AgentHandle> {
  const ctx = createHostContext(config);
  let state: AgentState = await loadState(config.stateDir);
  let credential: StoredCredential | null = await loadCredential(config.stateDir);
  let stopped = false;
  let socket: WebSocket | null = null;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  // Enrol first, retrying only while the controller cannot be reached.
  while (!credential && !stopped) {
    if (!config.joinToken) throw new FleetdockError('JOIN_TOKEN_INVALID', `no credential in ${config.stateDir} and no --join-token: create one with 'fleetdock token create --group GROUP'`);
    try {
      credential = await enrol(config.controller, config.stateDir, { joinToken: config.joinToken, name: config.name, facts: await readFacts(ctx, config), caFile: config.caFile });
      log.info({ hostId: credential.hostId, name: credential.name, group: credential.group }, 'enrolled');
    } catch (error) {
      if (!(error instanceof FleetdockError) || error.code !== 'CONTROLLER_UNREACHABLE') throw error;
      const delay = backoffDelay(attempt++);
      log.warn({ err: error.message, retryInMs: delay }, 'controller unreachable; retrying enrolment');
      await sleep(delay);
    }
  }
  const cred = credential!;

  const send = (message: AgentMessage): boolean => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  };
  /** The observed state the controller has from this connection (null: nothing yet). */
  let reported: ObservedState | null = null;
  const report = (observed: ObservedState) => {
    if (send({ type: 'observed', observed })) reported = observed;
  };
  /** The protocol version of the controller on this connection, from its welcome (0: not welcomed yet). */
  let controllerProtocol = 0;
  /**
   * The version this agent says hello with: its own, one lower after each PROTOCOL_VERSION refusal (a
   * controller older than the agent refuses a newer hello), never below 1. Nothing is lost: what a
   * newer controller gives (resend) follows the hello's version, what it takes (observed in a result)
   * follows its welcome.
   */
  let helloVersion = PROTOCOL_VERSION;
  const observeNow = async (): Promise<ObservedState | null> => {
    try {
      return await observeHost(ctx, state.appliedRevision, state.owned.clientUsers, () => new Date());
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'could not observe the host');
      return null;
    }
  };
  /**
   * Sends an apply result and the observed state read right after it: in the result itself to a
   * controller of protocol 3 or later (one message, one write there), else as a report of its own.
   */
  const sendResult = async (result: ApplyResult) => {
    const observed = await observeNow();
    // Decided at send time: the connection (and the controller behind it) may have changed meanwhile.
    if (observed && controllerProtocol >= OBSERVED_IN_RESULT_SINCE_PROTOCOL_VERSION) {
      if (send({ ...result, observed })) reported = observed;
      return;
    }
    send(result);
    if (observed) report(observed);
  };

  // One apply at a time; a newer desired revision that arrives meanwhile replaces any waiting one.
  let pending: Desired | null = null;
  let applying: Promise<void> | null = null;
  let observer: Observer | null = null;
  /** Counts applies started, so a drift check that overlapped one throws its reading away. */
  let applyEpoch = 0;
  const drain = async () => {
    while (pending && !stopped) {
      const desired = pending;
      pending = null;
      const plan = planDesired(desired, state.lastFailure, cred.group);
      if (plan.kind === 'repeat') {
        // Nothing is read, written or restarted: the controller only re-sent it after a reconnect.
        log.info({ revision: desired.revision, outcome: plan.failure.outcome, error: plan.failure.error.code, failedAt: plan.failure.at }, 'not tried again: this revision failed here before and was only re-sent after a reconnect');
        await sendResult(plan.result);
        continue;
      }
      applyEpoch += 1;
      const outcome = await applyDesired({ ctx, stateDir: config.stateDir, verifyTimeoutMs: config.verifyTimeoutMs, now: Date.now, sleep, log }, state, desired);
      state = { ...outcome.state, lastFailure: rememberAttempt(desired, outcome.result, new Date()) };
      await saveState(config.stateDir, state);
      log.info({ revision: desired.revision, outcome: outcome.result.outcome, action: outcome.result.action, files: outcome.result.filesChanged, error: outcome.result.error }, 'apply finished');
      await sendResult(outcome.result);
      observer?.rearm(); // the apply may have changed which client configs are managed
    }
    applying = null;
  };
  const schedule = (desired: Desired) => {
    pending = mergePending(pending, desired);
    if (!applying) applying = drain();
  };

  const wsUrl = `${cred.controller.replace(/^http/, 'ws')}/v1/agent`;
  /** The controller will never take this credential again: stop for good, say why, touch nothing. */
  const refused = (message: string) => {
    if (stopped) return;
    stopped = true;
    log.error({ code: 'CREDENTIAL_INVALID' }, message);
    if (reconnectTimer) clearTimeout(reconnectTimer);
    void (async () => {
      await observer?.stop();
      if (applying) await applying;
      rejectDone(new FleetdockError('CREDENTIAL_INVALID', message));
    })();
  };
  const connect = () => {
    if (stopped) return;
    // Only the CA checked at enrolment is trusted (null: plain HTTP, or the system's roots).
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${cred.credential}` }, maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: 10_000, ...(cred.ca ? { ca: cred.ca } : {}) });
    socket = ws;
    controllerProtocol = 0;
    ws.on('open', async () => {
      try {
        const observed = await observeHost(ctx, state.appliedRevision, state.owned.clientUsers, () => new Date());
        const facts = await readFacts(ctx, config);
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: 'hello', protocolVersion: helloVersion, facts, appliedRevision: state.appliedRevision, observed } satisfies AgentMessage));
          reported = observed;
        }
      } catch (error) {
        log.error({ err: (error as Error).message }, 'could not say hello');
        ws.close();
      }
    });
    ws.on('message', (data: Buffer) => {
      let message;
      try {
        message = parseControllerMessage(data);
      } catch (error) {
        const e = error as FleetdockError;
        log.warn({ code: e.code, err: e.message }, 'malformed message from the controller');
        send({ type: 'error', code: e.code ?? 'BAD_MESSAGE', message: e.message });
        return;
      }
      if (message.type === 'welcome') {
        attempt = 0;
        controllerProtocol = message.protocolVersion;
        log.info({ hostId: message.hostId, group: message.group }, 'connected to the controller');
      } else if (message.type === 'desired') {
        schedule(message);
      } else {
        log.warn({ code: message.code, err: message.message, fatal: message.fatal }, 'controller reported an error');
        if (message.code === 'PROTOCOL_VERSION' && controllerProtocol === 0 && helloVersion > 1) {
          helloVersion -= 1; // an older controller: it closes this connection; the next hello says the version below
          log.warn({ helloVersion }, 'the controller does not speak this protocol version; saying hello with the one below on the next connection');
        }
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      if (res.statusCode === 401) {
        refused(`the controller refused this host's credential (revoked or removed); to enrol again, an operator removes the host (fleetdock host remove ${cred.name}), then delete ${config.stateDir}/credential.json and start the agent with a new join token`);
      } else {
        log.warn({ status: res.statusCode }, 'the controller refused the connection');
      }
      ws.terminate();
    });
    ws.on('error', (error) => log.warn({ err: error.message }, 'connection error'));
    ws.on('close', (code: number) => {
      if (code === CLOSE_CODES.REVOKED) refused(`the controller closed the connection: this host was revoked; to enrol again, an operator removes it (fleetdock host remove ${cred.name}), then delete ${config.stateDir}/credential.json and start the agent with a new join token`);
      if (socket === ws) {
        socket = null;
        reported = null; // the next hello carries a fresh observed state
      }
      if (stopped) return;
      const delay = backoffDelay(attempt++);
      log.info({ retryInMs: delay }, 'disconnected from the controller; the host stays as it is');
      reconnectTimer = setTimeout(connect, delay);
    });
  };
  connect();

  // Drift: look again when a managed file or the daemon changes (and periodically), report only changes.
  const check = async (reason: string) => {
    if (applying || reported === null) return; // an apply reports on its own; no connection, no report
    const epoch = applyEpoch;
    const observed = await observeHost(ctx, state.appliedRevision, state.owned.clientUsers, () => new Date());
    if (applying || epoch !== applyEpoch || reported === null) return; // an apply started meanwhile: its report follows
    if (!observedChanged(reported, observed)) return;
    report(observed);
    log.info({ reason }, 'observed state changed; reported');
  };
  const watchedFiles = async () => {
    const files = [HOST_PATHS.daemonJson, HOST_PATHS.dropIn, HOST_PATHS.proxyEnvironmentFile].map((path) => underRoot(config.root, path));
    if (state.owned.clientUsers.length > 0) {
      const users = await readLocalUsers(config.root);
      for (const name of state.owned.clientUsers) {
        const user = users.get(name);
        if (user) files.push(underRoot(config.root, clientConfigPath(user.home)));
      }
    }
    return files;
  };
  observer = startObserver({
    files: watchedFiles,
    dockerSocket: socketPathOf(config.dockerHost),
    debounceMs: config.watchDebounceMs,
    intervalMs: config.checkIntervalMs,
    check: (reason) => check(reason).catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not observe the host')),
    log,
  });

  return {
    done,
    async stop() {
      stopped = true;
      await observer?.stop();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      socket?.close();
      if (applying) await applying;
      resolveDone();
    },
  };
}
