// The controller's node flags are written once, in the unit's ExecStart: the container image and
// `npm start` must run the controller with the same ones (the bench reads them from the unit).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFlagsOfExecStart, readControllerNodeFlags } from '../../bench/controller-flags.js';
import { REPO_ROOT } from '../support/cli.js';

describe('controller node flags', () => {
  const flags = readControllerNodeFlags(REPO_ROOT);

  it('the unit runs node with the memory flag before the script', () => {
    expect(flags).toContain('--max-semi-space-size=4');
  });

  it('the Containerfile ENTRYPOINT has the same flags', () => {
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(REPO_ROOT, 'deploy/Containerfile'), 'utf8'));
    const words = JSON.parse(entry![1]!) as string[];
    expect(words.slice(1, words.findIndex((w) => w.endsWith('/bin/fleetdock.js')))).toEqual(flags);
  });

  it('npm start has the same flags', () => {
    const start = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.start as string;
    expect(nodeFlagsOfExecStart(`ExecStart=${start.replace('bin/fleetdock.js', '/x/bin/fleetdock.js')}`)).toEqual(flags);
  });

  it('refuses a unit whose ExecStart does not run bin/fleetdock.js', () => {
    expect(() => nodeFlagsOfExecStart('[Service]\nExecStart=/usr/bin/python3 app.py\n')).toThrow(/does not run node on bin\/fleetdock.js/);
    expect(() => nodeFlagsOfExecStart('[Service]\n')).toThrow(/no ExecStart/);
  });
});
