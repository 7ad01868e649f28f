/**
 * `fleetdock token create --group NAME [--uses N] [--ttl SECONDS]`: makes a join token and prints it
 * alone on stdout (so `$(fleetdock token create ...)` works); what it allows goes to stderr.
 */
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock token create --group NAME [--uses N] [--ttl SECONDS]

Creates a join token an agent enrols with (fleetdock agent --join TOKEN ...). Prints only the token.

options:
  --group NAME     group the enrolled hosts join (required)
  --uses N         how many hosts may enrol with it (default 1)
  --ttl SECONDS    how long it is valid (default 86400, one day)

${CONNECTION_USAGE}`;

function parseCount(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new UsageError(`${flag} must be a whole number of at least 1, not '${text}'`);
  return Number(text);
}

/** Runs `token create`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const [sub, ...rest] = argv;
    if (sub !== 'create') throw new UsageError(sub === undefined ? 'token needs a subcommand: create' : `unknown token subcommand '${sub}'`);
    const { values, positionals } = parseCommandArgs(rest, {
      ...CONNECTION_OPTIONS,
      group: { type: 'string' },
      uses: { type: 'string' },
      ttl: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.group === undefined) throw new UsageError('token create needs --group NAME');
    const uses = parseCount('--uses', values.uses);
    const ttlSeconds = parseCount('--ttl', values.ttl);
    const client = new ControllerClient(resolveConnection(values));
    const token = await client.createJoinToken(values.group, { uses, ttlSeconds });
    process.stdout.write(`${token.token}\n`);
    process.stderr.write(`fleetdock: join token for group ${token.group}: ${token.uses} use${token.uses === 1 ? '' : 's'}, expires ${token.expiresAt}\n`);
    return 0;
  });
}
