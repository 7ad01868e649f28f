/**
 * `fleetdock controller [--data DIR] [--listen HOST:PORT]`: runs the controller until SIGINT or
 * SIGTERM, logging JSON lines to stdout. Shows the first admin token once on stderr when that is a
 * terminal (never into a journal or a log file). Only turns flags
 * into the config and waits; controller/server.ts does the work.
 */
import { pino } from 'pino';
import { FleetdockError } from '../../protocol/errors.js';
import { CONTROLLER_DEFAULTS, resolveControllerConfig, type ControllerConfig } from '../../controller/config.js';
import { startController } from '../../controller/server.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';

const USAGE = `usage: fleetdock controller [--data DIR] [--listen HOST:PORT] [TLS options] [--offline-after SECONDS] [--enforce-interval SECONDS]

Runs the controller: the HTTPS API for operators, the WebSocket hub for agents, the SQLite store.
On its first start it makes its own CA (DATA/tls/ca.pem) and a server certificate; join tokens carry
the CA's pin, so agents check they talk to this controller before they send anything secret.

options:
  --data DIR          data directory: database, admin.token, tls/ (default ${CONTROLLER_DEFAULTS.dataDir})
  --listen HOST:PORT  address to listen on (default ${CONTROLLER_DEFAULTS.listen}; port 0 picks a free one)
  --tls-san NAME[,NAME...]
                      more DNS names or IPs for the controller's own certificate (always: localhost,
                      127.0.0.1, ::1, this hostname, the --listen address); repeatable
  --tls-cert PATH --tls-key PATH [--tls-ca PATH]
                      serve your own certificate (chain) instead; the CA agents pin is --tls-ca, or
                      else the last certificate in --tls-cert
  --insecure-plain-http
                      serve plain HTTP: tokens, credentials and proxy passwords in clear; only on a
                      loopback --listen address, unless --insecure-plain-http-any-address too
  --offline-after SECONDS
                      drift: a host not connected for this long is reported offline (default ${CONTROLLER_DEFAULTS.driftOfflineAfterMs / 1000})
  --enforce-interval SECONDS
                      drift: in enforce, re-send to one host at most once per this interval (default ${CONTROLLER_DEFAULTS.driftEnforceIntervalMs / 1000})
`;

/** Pure: a whole number of seconds from a flag as milliseconds; UsageError naming the flag otherwise. */
export function parseSecondsFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,7}$/.test(text)) throw new UsageError(`--${flag} must be a whole number of seconds, not ${JSON.stringify(text)}`);
  return Number(text) * 1000;
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Runs the controller until a stop signal; 0 after a clean shutdown. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      data: { type: 'string' },
      listen: { type: 'string' },
      'offline-after': { type: 'string' },
      'enforce-interval': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-san': { type: 'string', multiple: true },
      'insecure-plain-http': { type: 'boolean' },
      'insecure-plain-http-any-address': { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    let config: ControllerConfig;
    try {
      config = resolveControllerConfig({
        data: values.data,
        listen: values.listen,
        driftOfflineAfterMs: parseSecondsFlag('offline-after', values['offline-after']),
        driftEnforceIntervalMs: parseSecondsFlag('enforce-interval', values['enforce-interval']),
        tlsCert: values['tls-cert'],
        tlsKey: values['tls-key'],
        tlsCa: values['tls-ca'],
        tlsSan: (values['tls-san'] ?? []).flatMap((list) => list.split(',')).map((name) => name.trim()).filter((name) => name !== ''),
        insecurePlainHttp: values['insecure-plain-http'],
        insecurePlainHttpAnyAddress: values['insecure-plain-http-any-address'],
      });
    } catch (error) {
      if (error instanceof FleetdockError && error.code === 'VALIDATION') throw new UsageError(error.message);
      throw error;
    }
    const logger = pino({ base: { component: 'controller' } });
    const stopped = waitForStopSignal();
    const controller = await startController(config, { logger });
    if (controller.adminToken && process.stderr.isTTY) {
      process.stderr.write(`fleetdock: admin token (shown only this once; also saved to ${controller.adminTokenPath}):\n${controller.adminToken}\n`);
    } else if (controller.adminToken) {
      // Not a terminal: stderr goes to a journal or a log file, which is no place for a secret.
      process.stderr.write(`fleetdock: made the admin token; it is in ${controller.adminTokenPath} (mode 0600), not printed because stderr is not a terminal\n`);
    } else {
      process.stderr.write(`fleetdock: the admin token is in ${controller.adminTokenPath}\n`);
    }
    process.stderr.write(`fleetdock: controller listening on ${controller.url}\n`);
    if (controller.tls) {
      process.stderr.write(`fleetdock: CA ${controller.tls.caPath}, pin sha256:${controller.tls.pin} (join tokens carry it; the CLI takes --ca-file ${controller.tls.caPath})\n`);
    } else {
      process.stderr.write('fleetdock: WARNING: insecure plain HTTP; join tokens, credentials and proxy passwords cross the network in clear\n');
    }
    const signal = await stopped;
    logger.info({ signal }, 'stopping');
    await controller.close();
    return 0;
  });
}
