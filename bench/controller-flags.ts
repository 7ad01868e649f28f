/**
 * The node flags the controller runs with in production, read from the ExecStart of
 * deploy/fleetdock-controller.service (the one place they are written down; the Containerfile and
 * `npm start` use the same, which test/deploy/controller-flags.test.ts checks), so that the bench
 * measures the controller as it is deployed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Pure: the node flags of a unit's `ExecStart=NODE FLAGS... .../bin/fleetdock.js controller ...` line. */
export function nodeFlagsOfExecStart(unitText: string): string[] {
  const line = unitText.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('no ExecStart= line in the controller unit');
  const words = line.slice('ExecStart='.length).trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('/bin/fleetdock.js'));
  if (script < 1) throw new Error(`ExecStart does not run node on bin/fleetdock.js: ${line}`);
  return words.slice(1, script);
}

/** The controller unit's node flags, from the checkout at `repoRoot`. */
export function readControllerNodeFlags(repoRoot: string): string[] {
  return nodeFlagsOfExecStart(readFileSync(join(repoRoot, 'deploy/fleetdock-controller.service'), 'utf8'));
}
