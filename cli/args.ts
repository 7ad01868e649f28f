/**
 * Argument parsing shared by the commands: node's parseArgs with errors turned into usage errors that
 * name the bad option, and `--help` handling. (The controller URL and token are resolved in client.ts.)
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `argv` against `options`; throws UsageError naming an unknown or malformed option. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/\. To specify.*$/s, '') : String(error));
  }
}

/** Runs a command body, printing UsageError with `usage` and returning 2. */
export async function withUsage(usage: string, argv: string[], body: () => Promise<number>): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fleetdock: ${error.message}\n\n${usage}`);
      return 2;
    }
    throw error;
  }
}
