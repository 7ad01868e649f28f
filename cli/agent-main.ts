/**
 * Entry of the standalone `fleetdock-agent` (the single-file bundle and the single executable that
 * scripts/build-agent.mjs makes): runs exactly `fleetdock agent ARGS`, same flags and same code, plus
 * `--version`, which prints the agent's version alone on a line (what `fleetdock bootstrap` compares).
 * It lives in cli/ because agent/ must not import cli/ (test/boundaries.test.ts) and the flags are
 * parsed in cli/commands/agent.ts; only wires.
 */
import { FleetdockError } from '../protocol/errors.js';
import { AGENT_VERSION } from '../protocol/version.js';
import { run } from './commands/agent.js';

async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  return run(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof FleetdockError) {
      process.stderr.write(`fleetdock-agent: ${error.message} [${error.code}]\n`);
    } else {
      process.stderr.write(`fleetdock-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
