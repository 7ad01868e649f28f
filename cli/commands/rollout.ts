/**
 * `fleetdock rollout start|plan|status|pause|resume|abort|undo`: turns flags into rollout requests and
 * answers into text: a progress display that redraws in place on a terminal (plain lines otherwise),
 * or JSON with --json. The controller does the work; this only asks and shows.
 */
import type { StrategyInput } from '../../controller/rollout/strategy.js';
import { RolloutListSchema, RolloutPlanResponseSchema, RolloutResponseSchema, type RolloutView } from '../../controller/api/rollout-schemas.js';
import { FleetdockError } from '../../protocol/errors.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';
import { FINISHED_STATES, renderPlanText, renderRedraw, renderRolloutLine, renderRolloutProgress, renderRolloutText } from './rollout-render.js';

const USAGE = `usage: fleetdock rollout start GROUP [--to-revision N] [STRATEGY] [--dry-run] [--wait] [--json]
       fleetdock rollout plan GROUP [--to-revision N] [STRATEGY] [--json]
       fleetdock rollout status GROUP|ID [--watch] [--json]
       fleetdock rollout pause|resume|abort GROUP|ID [--json]
       fleetdock rollout undo GROUP [--to-revision N] [STRATEGY] [--wait] [--json]

start moves the group's hosts to a revision (default: the latest) batch by batch: a canary first,
then batches; the next batch starts only when every host of the current one reported a verified
result. When more hosts fail than the failure budget allows, the rollout halts and (on-halt rollback)
puts the hosts it changed back. plan (or start --dry-run) shows per host what would change and the
action (none/reload/restart), naming hosts where a restart stops running containers. undo is a
rollout back to an earlier revision (default: the one the group came from). GROUP|ID: a rollout id,
or a group for its newest rollout.

strategy (counts, or percentages of the group's hosts, rounded up):
  --canary N|N%            hosts in the canary batch (default 1; 0: no canary)
  --batch-size N|N%        hosts per batch after the canary (default 25%, at least 1)
  --max-concurrent N       hosts applying at the same time, at most (default 50)
  --failure-budget N|N%    failed hosts tolerated; one more halts (default 0: halt on the first)
  --on-halt stop|rollback  on a halt, leave the changed hosts or put them back (default rollback)
  --offline wait|skip      hosts offline when their batch comes: wait, or skip them; skipped
                           hosts converge when they are back (default skip)
  --result-timeout S       seconds a host has to report a verified result (default 120)

options:
  --to-revision N   target revision (undo: an earlier one)
  --dry-run         start: only plan
  --wait            wait until the rollout ends, showing progress; exit 0 when it completed,
                    3 when it halted, rolled back or was aborted
  --watch           status: follow it until it ends (exit codes as --wait)
  --json            the API's answer as JSON (with --wait/--watch: the final state)

${CONNECTION_USAGE}`;

const STRATEGY_OPTIONS = {
  canary: { type: 'string' },
  'batch-size': { type: 'string' },
  'max-concurrent': { type: 'string' },
  'failure-budget': { type: 'string' },
  'on-halt': { type: 'string' },
  offline: { type: 'string' },
  'result-timeout': { type: 'string' },
  'to-revision': { type: 'string' },
} as const;

/** Exit code of --wait / --watch for a rollout that ended without completing. */
export const EXIT_NOT_COMPLETED = 3;

/** How often --wait and --watch ask the controller, in milliseconds. */
const POLL_INTERVAL_MS = 500;

/** How long --wait and --watch keep asking a controller that does not answer (it may be restarting). */
const UNREACHABLE_PATIENCE_MS = 60_000;

type StrategyFlags = { [K in keyof typeof STRATEGY_OPTIONS]?: string | undefined };

function parseAmount(flag: string, text: string): number | string {
  if (/^\d{1,7}$/.test(text)) return Number(text);
  if (/^(100|[1-9]?\d)%$/.test(text)) return text;
  throw new UsageError(`${flag} must be a number of hosts or a percentage (e.g. 2 or 10%), not '${text}'`);
}

function parseWhole(flag: string, text: string, min: number): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < min) throw new UsageError(`${flag} must be a whole number of at least ${min}, not '${text}'`);
  return Number(text);
}

function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${flag} must be ${choices.join(' or ')}, not '${text}'`);
  return text as T;
}

/** Pure: the request body a start/plan/undo sends for its flags (only what was given; defaults are the controller's). */
export function renderRolloutRequest(flags: StrategyFlags): { toRevision?: number; strategy?: StrategyInput } {
  const strategy: StrategyInput = {
    ...(flags.canary !== undefined ? { canary: parseAmount('--canary', flags.canary) } : {}),
    ...(flags['batch-size'] !== undefined ? { batchSize: parseAmount('--batch-size', flags['batch-size']) } : {}),
    ...(flags['max-concurrent'] !== undefined ? { maxConcurrent: parseWhole('--max-concurrent', flags['max-concurrent'], 1) } : {}),
    ...(flags['failure-budget'] !== undefined ? { failureBudget: parseAmount('--failure-budget', flags['failure-budget']) } : {}),
    ...(flags['on-halt'] !== undefined ? { onHalt: parseChoice('--on-halt', flags['on-halt'], ['stop', 'rollback'] as const) } : {}),
    ...(flags.offline !== undefined ? { offline: parseChoice('--offline', flags.offline, ['wait', 'skip'] as const) } : {}),
    ...(flags['result-timeout'] !== undefined ? { resultTimeoutSeconds: parseWhole('--result-timeout', flags['result-timeout'], 1) } : {}),
  };
  return {
    ...(flags['to-revision'] !== undefined ? { toRevision: parseWhole('--to-revision', flags['to-revision'], 1) } : {}),
    ...(Object.keys(strategy).length > 0 ? { strategy } : {}),
  };
}

function onlyTarget(positionals: string[], sub: string, what: string): string {
  if (positionals.length === 0) throw new UsageError(`rollout ${sub} needs ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  return positionals[0]!;
}

const groupPath = (group: string) => `/v1/groups/${encodeURIComponent(group)}`;

/** The rollout an argument names: an id, or a group's newest rollout. */
async function resolveRolloutId(client: ControllerClient, target: string): Promise<number> {
  if (/^[1-9]\d{0,15}$/.test(target)) return Number(target);
  const { rollouts } = await client.request('GET', `${groupPath(target)}/rollouts?limit=1`, RolloutListSchema);
  if (rollouts.length === 0) throw new FleetdockError('NOT_FOUND', `group ${target} has no rollouts yet (start one with: fleetdock rollout start ${target})`);
  return rollouts[0]!.id;
}

/** The rollout after the poll interval; a controller that is restarting is asked again for a while. */
async function poll(client: ControllerClient, id: number): Promise<RolloutView> {
  const giveUpAt = Date.now() + UNREACHABLE_PATIENCE_MS;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    try {
      return (await client.request('GET', `/v1/rollouts/${id}`, RolloutResponseSchema)).rollout;
    } catch (error) {
      // The rollout goes on in the controller (its state is in SQLite); only stop watching it if the
      // controller stays away.
      if (!(error instanceof FleetdockError && error.code === 'CONTROLLER_UNREACHABLE') || Date.now() > giveUpAt) throw error;
    }
  }
}

/** Shows a rollout until it ends: redrawn in place on a terminal, a line per change otherwise. */
async function follow(client: ControllerClient, first: RolloutView, json: boolean): Promise<number> {
  const out = process.stdout;
  const tty = out.isTTY === true && !json;
  let view = first;
  let drawn = 0;
  let lastLine = '';
  for (;;) {
    if (tty) {
      const lines = renderRolloutProgress(view);
      out.write(renderRedraw(drawn, lines));
      drawn = lines.length;
    } else if (!json) {
      const line = renderRolloutLine(view);
      if (line !== lastLine) out.write(`${line}\n`);
      lastLine = line;
    }
    if (FINISHED_STATES.has(view.state)) break;
    view = await poll(client, view.id);
  }
  if (json) out.write(`${JSON.stringify({ rollout: view }, null, 2)}\n`);
  else if (!tty && view.reason) out.write(`${view.reason}\n`);
  return view.state === 'completed' ? 0 : EXIT_NOT_COMPLETED;
}

function show(view: RolloutView, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify({ rollout: view }, null, 2)}\n` : renderRolloutText(view));
}

/** Runs `rollout <sub>`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'start':
      case 'plan':
      case 'undo': {
        const { values, positionals } = parseCommandArgs(rest, {
          ...CONNECTION_OPTIONS,
          ...STRATEGY_OPTIONS,
          json: { type: 'boolean' },
          wait: { type: 'boolean' },
          'dry-run': { type: 'boolean' },
        });
        const group = onlyTarget(positionals, sub, 'a GROUP');
        if (sub === 'plan' && values.wait) throw new UsageError('rollout plan changes nothing: --wait does not apply');
        if (sub === 'undo' && values['dry-run']) throw new UsageError('rollout undo has no --dry-run; plan it with: fleetdock rollout plan GROUP --to-revision N');
        const request = renderRolloutRequest(values);
        const client = new ControllerClient(resolveConnection(values));
        if (sub === 'plan' || values['dry-run']) {
          const plan = await client.request('POST', `${groupPath(group)}/rollouts`, RolloutPlanResponseSchema, { ...request, dryRun: true });
          process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlanText(plan));
          return 0;
        }
        const path = sub === 'undo' ? `${groupPath(group)}/rollouts/undo` : `${groupPath(group)}/rollouts`;
        const { rollout } = await client.request('POST', path, RolloutResponseSchema, request);
        if (values.wait) return follow(client, rollout, values.json === true);
        show(rollout, values.json === true);
        return 0;
      }
      case 'status': {
        const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, json: { type: 'boolean' }, watch: { type: 'boolean' } });
        const target = onlyTarget(positionals, sub, 'a GROUP or rollout ID');
        const client = new ControllerClient(resolveConnection(values));
        const { rollout } = await client.request('GET', `/v1/rollouts/${await resolveRolloutId(client, target)}`, RolloutResponseSchema);
        if (values.watch) return follow(client, rollout, values.json === true);
        show(rollout, values.json === true);
        return 0;
      }
      case 'pause':
      case 'resume':
      case 'abort': {
        const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
        const target = onlyTarget(positionals, sub, 'a GROUP or rollout ID');
        const client = new ControllerClient(resolveConnection(values));
        const id = await resolveRolloutId(client, target);
        const { rollout } = await client.request('POST', `/v1/rollouts/${id}/${sub}`, RolloutResponseSchema);
        show(rollout, values.json === true);
        return 0;
      }
      default:
        throw new UsageError(sub === undefined ? 'rollout needs a subcommand: start, plan, status, pause, resume, abort or undo' : `unknown rollout subcommand '${sub}'`);
    }
  });
}
