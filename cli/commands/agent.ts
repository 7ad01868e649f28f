/**
 * `fleetdock agent`: runs the agent on a build server until SIGINT/SIGTERM. Parses options into the
 * agent's frozen config and wires a JSON logger; all behaviour lives in agent/.
 */
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { startAgent } from '../../agent/agent.js';
import { AGENT_DEFAULTS, buildAgentConfig } from '../../agent/config.js';
import { FleetdockError, type ErrorCode } from '../../protocol/errors.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';

/**
 * Exit status when retrying cannot help (EX_CONFIG): the token, the pin, the certificate or the
 * credential is wrong. The agent's systemd unit has RestartPreventExitStatus=78, so it stays down.
 */
export const EXIT_OPERATOR_MUST_ACT = 78;
const OPERATOR_MUST_ACT: ReadonlySet<ErrorCode> = new Set(['JOIN_TOKEN_INVALID', 'HOST_NAME_TAKEN', 'CA_PIN_MISMATCH', 'TLS_UNTRUSTED', 'CREDENTIAL_INVALID', 'VALIDATION']);

const USAGE = `usage: fleetdock agent --controller URL [--join-token TOKEN] [options]

  --controller URL          the controller, https://host:port (http:// only for a controller on --insecure-plain-http)
  --join-token TOKEN        join token (needed once, until the state dir holds a credential); it pins
                            the controller's CA: the agent checks it before it sends anything secret.
                            Better in the environment, FLEETDOCK_JOIN_TOKEN: arguments are visible to
                            every local user (ps), the environment only to root
  --ca-file PATH            trust this CA for the controller instead of the token's pin (e.g. a company PKI)
  --state-dir DIR           credential and state (default ${AGENT_DEFAULTS.stateDir})
  --root DIR                prefix for every host path (default /)
  --docker-host unix:///P   dockerd's API socket (default ${AGENT_DEFAULTS.dockerHost})
  --service-manager M       systemd or signal (default: systemd when systemd runs)
  --docker-unit NAME        systemd unit of dockerd (default docker)
  --pidfile PATH            signal mode: dockerd's pidfile (default ${AGENT_DEFAULTS.pidfile})
  --restart-command CMD     signal mode: command that restarts dockerd
  --name NAME               the host's name in the fleet (default: hostname)
  --verify-timeout SECONDS  how long dockerd may take to show new settings (default ${AGENT_DEFAULTS.verifyTimeoutMs / 1000})
  --check-interval SECONDS  period of the full drift check; file edits and dockerd reloads are seen at once (default ${AGENT_DEFAULTS.checkIntervalMs / 1000})
  --log-level LEVEL         debug, info, warn or error (default info); logs are JSON lines on stdout
`;

export function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      controller: { type: 'string' },
      'join-token': { type: 'string' },
      'ca-file': { type: 'string' },
      'state-dir': { type: 'string' },
      root: { type: 'string' },
      'docker-host': { type: 'string' },
      'service-manager': { type: 'string' },
      'docker-unit': { type: 'string' },
      pidfile: { type: 'string' },
      'restart-command': { type: 'string' },
      name: { type: 'string' },
      'verify-timeout': { type: 'string' },
      'check-interval': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const { 'log-level': level, ...flags } = values;
    // The environment is the safe place for the token (arguments show in ps); a flag still wins.
    const agentArgs = { ...flags, 'join-token': flags['join-token'] ?? (process.env.FLEETDOCK_JOIN_TOKEN?.trim() || undefined) };
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error, not ${JSON.stringify(level)}`);
    let config;
    try {
      config = buildAgentConfig(agentArgs, existsSync('/run/systemd/system'));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const log = pino({ name: 'fleetdock-agent', level });
    log.info({ controller: config.controller, name: config.name, serviceManager: config.serviceManager, root: config.root }, 'agent starting');
    try {
      const agent = await startAgent(config, log);
      const stop = () => void agent.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await agent.done;
    } catch (error) {
      if (!(error instanceof FleetdockError) || !OPERATOR_MUST_ACT.has(error.code)) throw error;
      process.stderr.write(`fleetdock: ${error.message} [${error.code}]\n`);
      return EXIT_OPERATOR_MUST_ACT;
    }
    log.info('agent stopped');
    return 0;
  });
}
