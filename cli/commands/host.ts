/**
 * `fleetdock host revoke|remove NAME`: revoke a host (its credential stops working at once and its
 * connection is closed; it cannot reconnect or re-enrol under the name) and remove a revoked host's
 * record so the name is free for a new enrolment. `fleetdock hosts` lists hosts.
 */
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock host revoke NAME
       fleetdock host remove NAME

revoke   NAME's credential stops working at once, its connection is closed; the record stays
remove   deletes a revoked host's record (history stays in the audit log); the name may enrol again

${CONNECTION_USAGE}`;

/** Runs `host`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const [sub, ...rest] = argv;
    if (sub !== 'revoke' && sub !== 'remove') {
      throw new UsageError(sub === undefined ? 'host needs a subcommand: revoke or remove' : `unknown host subcommand '${sub}'`);
    }
    const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS });
    if (positionals.length !== 1) throw new UsageError(`host ${sub} needs exactly one NAME`);
    const client = new ControllerClient(resolveConnection(values));
    if (sub === 'revoke') {
      const r = await client.revokeHost(positionals[0]!);
      const what = r.changed ? `revoked${r.disconnected ? '; its connection was closed' : ''}` : `was already revoked at ${r.revokedAt}`;
      process.stdout.write(`host ${r.name} (group ${r.group}) ${what}\n`);
    } else {
      const r = await client.removeHost(positionals[0]!);
      process.stdout.write(`host ${r.name} (group ${r.group}) removed; the name may enrol again\n`);
    }
    return 0;
  });
}
