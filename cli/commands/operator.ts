/**
 * `fleetdock operator create|list|revoke` (admin tokens only): API tokens for people and scripts,
 * each with a name (the actor in the audit log) and a role: admin, operator or viewer. `create`
 * prints the token alone on stdout, once; the controller keeps only its hash.
 */
import type { OperatorView } from '../../controller/api/trust-schemas.js';
import { OPERATOR_ROLES } from '../../controller/store/operator-tokens.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock operator create NAME --role admin|operator|viewer
       fleetdock operator list [--json]
       fleetdock operator revoke NAME

create   makes an operator token called NAME with a role; prints only the token, this once
list     every operator token: name, role, created, revoked (never the token)
revoke   NAME's token stops working at once

roles: admin (everything, and operators), operator (groups, settings, rollouts, drift policy, join
tokens, host revocation; reads everything), viewer (reads only). Needs an admin token.

options:
  --role ROLE   create: admin, operator or viewer (required)
  --json        list: the API's answer as JSON

${CONNECTION_USAGE}`;

/** Pure: the operator table, columns padded to fit. */
export function renderOperatorTable(operators: readonly OperatorView[]): string {
  const header = ['NAME', 'ROLE', 'CREATED', 'REVOKED'];
  const rows = operators.map((o) => [o.name, o.role, o.createdAt, o.revokedAt ?? '-']);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Runs `operator`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const [sub, ...rest] = argv;
    if (sub === 'create') {
      const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, role: { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError('operator create needs exactly one NAME');
      if (values.role === undefined) throw new UsageError('operator create needs --role admin|operator|viewer');
      if (!(OPERATOR_ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be admin, operator or viewer, not '${values.role}'`);
      const created = await new ControllerClient(resolveConnection(values)).createOperator(positionals[0]!, values.role);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`fleetdock: operator token ${created.name} (role ${created.role}); it is shown only this once\n`);
      return 0;
    }
    if (sub === 'list') {
      const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      const { operators } = await new ControllerClient(resolveConnection(values)).listOperators();
      process.stdout.write(values.json ? `${JSON.stringify({ operators }, null, 2)}\n` : renderOperatorTable(operators));
      return 0;
    }
    if (sub === 'revoke') {
      const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS });
      if (positionals.length !== 1) throw new UsageError('operator revoke needs exactly one NAME');
      const revoked = await new ControllerClient(resolveConnection(values)).revokeOperator(positionals[0]!);
      process.stdout.write(`operator token ${revoked.name} (role ${revoked.role}) revoked\n`);
      return 0;
    }
    throw new UsageError(sub === undefined ? 'operator needs a subcommand: create, list or revoke' : `unknown operator subcommand '${sub}'`);
  });
}
