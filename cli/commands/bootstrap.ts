/**
 * `fleetdock bootstrap`: installs and enrols the agent on hosts over SSH (one host, or an inventory),
 * several at once, with a live display, and says per host `enrolled`, `already enrolled`, `updated`
 * or the step that failed. Exit code 0 when every host is enrolled, 1 when any failed, 2 for a usage
 * error. Only wires: the steps are bootstrap/bootstrap-host.ts, the rules bootstrap/*-plan.ts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeAgentBinary } from '../../bootstrap/agent-binary.js';
import { bootstrapHost, type BootstrapContext } from '../../bootstrap/bootstrap-host.js';
import { HOST_OPTIONS, HOST_USAGE, parseWholeNumber, prepareSshAccess, resolveTargets } from '../../bootstrap/command-options.js';
import { controllerPortFrom } from '../../bootstrap/controller-port.js';
import { checkAgentUnit } from '../../bootstrap/install-plan.js';
import { runWithDisplay } from '../../bootstrap/progress-display.js';
import { FleetdockError } from '../../protocol/errors.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

/** How long a join token minted for one host is valid: enough for a slow upload, short if it leaks. */
const TOKEN_TTL_SECONDS = 3600;

const USAGE = `usage: fleetdock bootstrap HOST --group NAME [options]
       fleetdock bootstrap --inventory FILE [--group NAME] [options]

Installs the fleetdock agent on each host over SSH and enrols it in the group: checks the host
(Linux, x86_64, systemd, dockerd, sudo), uploads the agent to /usr/local/bin/fleetdock-agent,
writes /etc/fleetdock/agent.env (a one-use join token minted here) and the systemd unit, starts it
and waits until the controller shows the host connected and converged. Running it again changes
nothing on hosts that are enrolled and connected ("already enrolled"; no token is minted).
Exit code: 0 when every host is enrolled, already enrolled or updated; 1 when any failed; 2 for a
usage error.

  --group NAME                 the group hosts join (required unless every inventory host names one)
  --agent-binary PATH          the agent executable (default dist/agent-bin/fleetdock-agent of this checkout)
  --agent-unit PATH            the systemd unit installed (default deploy/fleetdock-agent.service of this checkout)
  --agent-controller-url URL   the controller as the hosts reach it (default: --controller)
  --wait-timeout SECONDS       how long a host may take to show up connected and converged (default 120)

${HOST_USAGE}
${CONNECTION_USAGE}`;

/** The checkout this command runs from (the directory with fleetdock's package.json). */
function checkoutRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'fleetdock') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the fleetdock checkout this command runs from');
    dir = parent;
  }
}

function parseHttpUrl(flag: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag} ${text} must be http:// or https://`);
  return text.replace(/\/+$/, '');
}

/** Runs `bootstrap`. */
export function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const env = process.env;
    const { values, positionals } = parseCommandArgs(argv, {
      ...HOST_OPTIONS,
      ...CONNECTION_OPTIONS,
      'agent-binary': { type: 'string' },
      'agent-unit': { type: 'string' },
      'agent-controller-url': { type: 'string' },
      'wait-timeout': { type: 'string' },
    });
    const targets = await resolveTargets(values, positionals, env, true);
    const parallel = parseWholeNumber('--parallel', values.parallel, 10, 1, 1000);
    const waitTimeoutMs = parseWholeNumber('--wait-timeout', values['wait-timeout'], 120, 1, 86_400) * 1000;
    const connection = resolveConnection(values);
    const agentControllerUrl = parseHttpUrl('--agent-controller-url', values['agent-controller-url'] ?? connection.url);

    const root = checkoutRoot();
    const agent = await describeAgentBinary(values['agent-binary'] ?? join(root, 'dist/agent-bin/fleetdock-agent'), values['agent-binary'] === undefined);
    const unitPath = values['agent-unit'] ?? join(root, 'deploy/fleetdock-agent.service');
    const unitText = await readFile(unitPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new FleetdockError('VALIDATION', `cannot read the agent unit ${unitPath}: ${error.code ?? error.message}`);
    });
    const unitProblem = checkAgentUnit(unitText);
    if (unitProblem !== null) throw new FleetdockError('VALIDATION', `the agent unit ${unitPath} cannot be installed: ${unitProblem}`);

    const controller = controllerPortFrom(new ControllerClient(connection));
    // Before touching any host: the controller answers, the token works, every group exists.
    for (const group of new Set(targets.map((t) => t.group))) {
      if (!(await controller.groupExists(group))) throw new FleetdockError('NOT_FOUND', `group ${group} does not exist; create it first: fleetdock group create ${group}`);
    }
    const ssh = await prepareSshAccess(values, env);
    const names = new Map<string, string>();
    const ctx: BootstrapContext = {
      ssh,
      controller,
      agent,
      unitText,
      agentControllerUrl,
      tokenTtlSeconds: TOKEN_TTL_SECONDS,
      waitTimeoutMs,
      claimName(name, target) {
        const holder = names.get(name);
        if (holder !== undefined && holder !== target) return holder;
        names.set(name, target);
        return null;
      },
    };
    return runWithDisplay(targets, (target, onStep) => bootstrapHost(target, ctx, onStep), { out: process.stdout, json: values.json === true, parallel });
  });
}
