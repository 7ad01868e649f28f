/**
 * The `fleetdock` command: picks the subcommand and hands it the rest of argv. Only wires; every
 * command lives in cli/commands/<name>.ts and exports `run(argv: string[]): Promise<number>`.
 */
import { FleetdockError } from '../protocol/errors.js';

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  controller: { summary: 'run the controller (HTTP API, agent hub, SQLite store)', load: () => import('./commands/controller.js') },
  agent: { summary: 'run the agent on a build server', load: () => import('./commands/agent.js') },
  group: { summary: 'create, change and show host groups', load: () => import('./commands/group.js') },
  token: { summary: 'create, list and revoke join tokens for agents', load: () => import('./commands/token.js') },
  hosts: { summary: 'list hosts and what they report', load: () => import('./commands/hosts.js') },
  host: { summary: 'revoke a host, remove a revoked one', load: () => import('./commands/host.js') },
  operator: { summary: 'create, list and revoke operator tokens (admin)', load: () => import('./commands/operator.js') },
  rollout: { summary: 'roll a revision out batch by batch; pause, resume, abort, undo', load: () => import('./commands/rollout.js') },
  drift: { summary: 'which hosts differ from their desired settings, where, why and since when', load: () => import('./commands/drift.js') },
  log: { summary: 'the audit log: operator actions and host events', load: () => import('./commands/log.js') },
  bootstrap: { summary: 'install and enrol the agent on hosts over SSH (one host or an inventory)', load: () => import('./commands/bootstrap.js') },
  uninstall: { summary: 'remove the agent from hosts over SSH; optionally its settings and the host record', load: () => import('./commands/uninstall.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: fleetdock <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'fleetdock <command> --help' for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`fleetdock: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof FleetdockError) {
      process.stderr.write(`fleetdock: ${error.message} [${error.code}]\n`);
    } else {
      process.stderr.write(`fleetdock: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
