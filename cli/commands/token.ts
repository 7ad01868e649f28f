/**
 * `fleetdock token create|list|revoke`: makes a join token and prints it alone on stdout (so
 * `$(fleetdock token create ...)` works; what it allows goes to stderr), lists tokens with what is
 * left of them (never the token: the controller keeps only its hash), and revokes one by id.
 */
import type { JoinTokenView } from '../../controller/api/trust-schemas.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock token create --group NAME [--uses N] [--ttl SECONDS]
       fleetdock token list [--group NAME] [--json]
       fleetdock token revoke ID

create   makes a join token an agent enrols with (fleetdock agent --join-token TOKEN ...); prints only the token
list     every join token (or a group's): id, group, created, expires, uses left, state; never the token
revoke   the token with this id (see list) can no longer enrol anyone

options:
  --group NAME     group the enrolled hosts join (create: required; list: only this group's)
  --uses N         how many hosts may enrol with it (default 1)
  --ttl SECONDS    how long it is valid (default 86400, one day)
  --json           list: the API's answer as JSON

${CONNECTION_USAGE}`;

function parseCount(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new UsageError(`${flag} must be a whole number of at least 1, not '${text}'`);
  return Number(text);
}

/** Pure: the join token table, columns padded to fit. */
export function renderJoinTokenTable(tokens: readonly JoinTokenView[]): string {
  const header = ['ID', 'GROUP', 'CREATED', 'EXPIRES', 'USES-LEFT', 'STATE'];
  const rows = tokens.map((t) => [String(t.id), t.group, t.createdAt, t.expiresAt, `${t.usesLeft}/${t.usesTotal}`, t.state]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

async function create(rest: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, group: { type: 'string' }, uses: { type: 'string' }, ttl: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.group === undefined) throw new UsageError('token create needs --group NAME');
  const uses = parseCount('--uses', values.uses);
  const ttlSeconds = parseCount('--ttl', values.ttl);
  const client = new ControllerClient(resolveConnection(values));
  const token = await client.createJoinToken(values.group, { uses, ttlSeconds });
  process.stdout.write(`${token.token}\n`);
  process.stderr.write(`fleetdock: join token for group ${token.group}: ${token.uses} use${token.uses === 1 ? '' : 's'}, expires ${token.expiresAt}\n`);
  return 0;
}

async function list(rest: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, group: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const { tokens } = await new ControllerClient(resolveConnection(values)).listJoinTokens(values.group);
  if (values.json) process.stdout.write(`${JSON.stringify({ tokens }, null, 2)}\n`);
  else if (tokens.length === 0) process.stdout.write(`no join tokens${values.group ? ` for group ${values.group}` : ''} (make one: fleetdock token create --group NAME)\n`);
  else process.stdout.write(renderJoinTokenTable(tokens));
  return 0;
}

async function revoke(rest: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS });
  if (positionals.length !== 1) throw new UsageError('token revoke needs exactly one token id (see fleetdock token list)');
  const id = parseCount('ID', positionals[0]);
  const { token, changed } = await new ControllerClient(resolveConnection(values)).revokeJoinToken(id!);
  process.stdout.write(changed ? `join token ${token.id} (group ${token.group}) revoked\n` : `join token ${token.id} (group ${token.group}) was already revoked at ${token.revokedAt}\n`);
  return 0;
}

/** Runs `token`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const [sub, ...rest] = argv;
    if (sub === 'create') return create(rest);
    if (sub === 'list') return list(rest);
    if (sub === 'revoke') return revoke(rest);
    throw new UsageError(sub === undefined ? 'token needs a subcommand: create, list or revoke' : `unknown token subcommand '${sub}'`);
  });
}
