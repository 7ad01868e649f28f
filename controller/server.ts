/**
 * Starts a controller: data directory, SQLite with migrations, the first admin token, the HTTP API and
 * the agent hub on one server. Returns a handle whose close() shuts everything in order. Reads no
 * environment or argv (the config object carries all of it) and prints nothing: the caller decides
 * what to show.
 */
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { ensureAdminToken } from './admin-token.js';
import { createApiApp } from './api/app.js';
import { LoginThrottle } from './api/login-throttle.js';
import type { ControllerConfig } from './config.js';
import { DRIFT_MONITOR_DEFAULTS, DriftMonitor } from './drift/monitor.js';
import { AgentHub } from './hub/hub.js';
import { RolloutEngine } from './rollout/engine.js';
import { openDatabase } from './store/database.js';
import { createStore } from './store/index.js';
import { loadOrCreateSecretBox } from './secret-box.js';
import { applyMigrations } from './store/migrate.js';
import { startWalCheckpointer, type WalCheckpointer } from './store/wal-checkpointer.js';
import { WriteBatcher } from './store/write-batcher.js';
import { loadTlsMaterial } from './tls/tls-material.js';

/** Name of the database file inside the data directory. */
export const DATABASE_FILE = 'fleetdock.db';

/** Things a test (or the command) may replace. */
export interface ControllerDeps {
  /** The clock; defaults to the system clock. */
  now?: () => Date;
  /** Where logs go; defaults to a silent logger. */
  logger?: Logger;
}

/** A running controller. */
export interface RunningController {
  /**
   * Base URL of the API from this machine, e.g. `https://127.0.0.1:7700` (`http://` only with insecure
   * plain HTTP); on a wildcard listen address, the loopback one.
   */
  url: string;
  /** The CA agents and the CLI trust (PEM, pin, file), or null on insecure plain HTTP. */
  tls: { caPem: string; pin: string; caPath: string } | null;
  /** The port actually listened on (useful with port 0). */
  port: number;
  /** The first admin token, only on the start that created it. */
  adminToken?: string;
  /** Where the admin token's file is. */
  adminTokenPath: string;
  /** Closes agent connections, the HTTP server and the database. Safe to call twice. */
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Starts the controller described by `config`. Throws MIGRATION_FAILED (database untouched by the
 * failing migration) or the listen error (e.g. EADDRINUSE); nothing is left open when it throws.
 */
export async function startController(config: ControllerConfig, deps: ControllerDeps = {}): Promise<RunningController> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? pino({ level: 'silent' });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Before the database opens: a certificate problem leaves nothing to close. Certificates live on
  // the wall clock every TLS peer checks them by, never on an injected one.
  const tls = await loadTlsMaterial(config.tls, config.dataDir, config.listen.host, new Date());
  for (const change of tls?.changes ?? []) logger.info({ tls: change }, 'tls');
  if (!tls) logger.warn('serving insecure plain HTTP: join tokens, credentials and proxy passwords cross the network in clear');
  const db = openDatabase(join(config.dataDir, DATABASE_FILE), config.sqliteBusyTimeoutMs);
  let hub: AgentHub | undefined;
  let drift: DriftMonitor | undefined;
  let rollouts: RolloutEngine | undefined;
  let renewal: NodeJS.Timeout | undefined;
  let checkpointer: WalCheckpointer | undefined;
  try {
    const applied = applyMigrations(db, config.migrationsDir, now);
    if (applied.length > 0) logger.info({ migrations: applied.map((m) => `${m.version}_${m.name}`) }, 'database migrated');
    // Checkpoints off the event loop: a commit never waits for the disk's fsync (wal-checkpointer.ts).
    checkpointer = startWalCheckpointer(db, { logger });
    const store = createStore(db, loadOrCreateSecretBox(config.dataDir));
    store.hosts.markAllDisconnected(null);
    const admin = ensureAdminToken(store.operatorTokens, config.dataDir, now());
    drift = new DriftMonitor({
      store,
      now,
      logger,
      options: { ...DRIFT_MONITOR_DEFAULTS, offlineAfterMs: config.driftOfflineAfterMs, enforceIntervalMs: config.driftEnforceIntervalMs, sweepIntervalMs: config.driftSweepIntervalMs },
    });
    const throttle = new LoginThrottle(config.loginThrottle, now);
    hub = new AgentHub({
      store,
      now,
      logger,
      throttle,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      writes: new WriteBatcher(db, { logger }),
      drift,
      // A result or a host coming back may move a rollout: step soon (one step for many results).
      onHostReady: () => rollouts?.notify(),
      onApplyResult: (host, result) => rollouts?.resultRecorded(host.id, result),
    });
    rollouts = new RolloutEngine({ store, sender: hub, now, logger, tickIntervalMs: config.rolloutTickIntervalMs, reconnectGraceMs: config.rolloutReconnectGraceMs });
    drift.attachSender(hub);
    const app = createApiApp({ store, publisher: hub, agents: hub, throttle, now, logger, drift, rollouts, trust: tls ? { caPem: tls.caPem, pin: tls.pin } : null }, { maxBodyBytes: config.maxBodyBytes });
    const server = tls ? createHttpsServer({ cert: tls.certChainPem, key: tls.keyPem }, app) : createHttpServer(app);
    // A controller may run for longer than its server certificate lives: look again (twice a day by
    // default; its own certificate is re-issued within 30 days of expiry, operator files may change).
    renewal = tls
      ? setInterval(() => {
          loadTlsMaterial(config.tls, config.dataDir, config.listen.host, new Date()).then(
            (fresh) => {
              if (!fresh || (fresh.certChainPem === tls.certChainPem && fresh.keyPem === tls.keyPem)) return;
              if (fresh.pin !== tls.pin) {
                logger.error({ was: tls.pin, now: fresh.pin }, 'the CA changed under the running controller: not taken (agents pin the old one); restart the controller if this is meant');
                return;
              }
              (server as ReturnType<typeof createHttpsServer>).setSecureContext({ cert: fresh.certChainPem, key: fresh.keyPem });
              tls.certChainPem = fresh.certChainPem;
              tls.keyPem = fresh.keyPem;
              logger.info({ tls: fresh.changes.join('; ') || 'certificate files changed' }, 'tls: now serving the new server certificate');
            },
            (error: unknown) => logger.error({ err: (error as Error).message }, 'tls: could not renew the server certificate; still serving the old one'),
          );
        }, config.tlsRenewalCheckMs)
      : undefined;
    renewal?.unref();
    server.on('upgrade', hub.handleUpgrade);
    const address = await listen(server, config.listen.host, config.listen.port);
    // A wildcard address is reached from this machine through loopback, which the certificate names.
    const reachable = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
    const host = reachable.includes(':') ? `[${reachable}]` : reachable;
    const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
    logger.info({ url, listen: `${address.address}:${address.port}`, dataDir: config.dataDir, ...(tls ? { caPin: tls.pin } : {}) }, 'controller listening');
    // Resumes rollouts a previous run left unfinished (after a crash too: their state is all in SQLite).
    rollouts.start();

    const runningHub = hub;
    const runningDrift = drift;
    const runningRollouts = rollouts;
    const runningCheckpointer = checkpointer;
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        clearInterval(renewal);
        runningRollouts.close();
        await runningHub.close();
        runningDrift.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await runningCheckpointer.stop();
        db.close(); // the last connection: SQLite checkpoints what is left and removes the WAL
        logger.info('controller stopped');
      })());
    return { url, port: address.port, tls: tls ? { caPem: tls.caPem, pin: tls.pin, caPath: tls.caPath } : null, adminTokenPath: admin.path, ...(admin.token ? { adminToken: admin.token } : {}), close };
  } catch (error) {
    clearInterval(renewal);
    rollouts?.close();
    await hub?.close().catch(() => {});
    drift?.close();
    await checkpointer?.stop();
    db.close();
    throw error;
  }
}
