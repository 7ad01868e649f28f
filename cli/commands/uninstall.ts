/**
 * `fleetdock uninstall`: removes the agent from hosts over SSH (the same host, inventory and key
 * options as bootstrap): stops and disables it, removes its unit, binary, agent.env and state dir;
 * `--purge-settings` also what it wrote for dockerd; `--remove-host` the host on the controller.
 * Exit code 0 when every host is done, 1 when any failed, 2 for a usage error. Only wires: the steps
 * are bootstrap/uninstall-host.ts, the rules bootstrap/uninstall-plan.ts.
 */
import { HOST_OPTIONS, HOST_USAGE, parseWholeNumber, prepareSshAccess, resolveTargets } from '../../bootstrap/command-options.js';
import { controllerPortFrom } from '../../bootstrap/controller-port.js';
import { runWithDisplay } from '../../bootstrap/progress-display.js';
import { uninstallHost, type UninstallContext } from '../../bootstrap/uninstall-host.js';
import { parseCommandArgs, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock uninstall HOST [options]
       fleetdock uninstall --inventory FILE [options]

Removes the fleetdock agent from each host over SSH: stops and disables fleetdock-agent.service and
removes the unit, /usr/local/bin/fleetdock-agent, /etc/fleetdock/agent.env and /var/lib/fleetdock-agent.
dockerd's settings stay as the agent left them unless --purge-settings.
Exit code: 0 when every host is done (or had nothing installed); 1 when any failed; 2 for a usage error.

  --purge-settings     also remove what the agent wrote: the daemon.json keys its state says it
                       owns, the docker unit's fleetdock drop-in and /etc/fleetdock/docker-proxy.env;
                       mirrors and insecure registries are dropped with a reload; a proxy needs a
                       dockerd restart, done only with live-restore on or --restart-docker
  --restart-docker     with --purge-settings: restart dockerd even with live-restore off (running
                       containers stop)
  --remove-host        also revoke and remove the host on the controller (its name is free again)

${HOST_USAGE}
${CONNECTION_USAGE}`;

/** Runs `uninstall`. */
export function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const env = process.env;
    const { values, positionals } = parseCommandArgs(argv, {
      ...HOST_OPTIONS,
      ...CONNECTION_OPTIONS,
      'purge-settings': { type: 'boolean' },
      'restart-docker': { type: 'boolean' },
      'remove-host': { type: 'boolean' },
    });
    const targets = await resolveTargets(values, positionals, env, false);
    const parallel = parseWholeNumber('--parallel', values.parallel, 10, 1, 1000);
    const removeHost = values['remove-host'] === true;
    const controller = controllerPortFrom(new ControllerClient(resolveConnection(values)));
    const ctx: UninstallContext = {
      ssh: await prepareSshAccess(values, env),
      controller,
      purgeSettings: values['purge-settings'] === true,
      allowDockerRestart: values['restart-docker'] === true,
      removeHost,
    };
    return runWithDisplay(targets, (target, onStep) => uninstallHost(target, ctx, onStep), { out: process.stdout, json: values.json === true, parallel });
  });
}
