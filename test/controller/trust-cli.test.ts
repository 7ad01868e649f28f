// The trust commands as a user runs them: `fleetdock operator create|list|revoke`, `token list|revoke`
// and `host revoke|remove`, against a real controller, through the built CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestController, type TestController } from './harness.js';
import { ensureCliBuilt, runCli, type CliResult } from '../support/cli.js';


let t: TestController;

async function fleetdock(args: string[], token: string = t.token): Promise<CliResult> {
  return runCli(args, { ...t.cliEnv, FLEETDOCK_TOKEN: token }, 20_000);
}

beforeAll(async () => {
  await ensureCliBuilt();
  t = await startTestController();
}, 180_000);

afterAll(async () => {
  await t?.stop();
});

describe('fleetdock operator, token and host', () => {
  it('creates an operator whose token alone is printed, lists and revokes it', async () => {
    const created = await fleetdock(['operator', 'create', 'carol', '--role', 'viewer']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const carol = created.stdout.trim();
    const listed = await fleetdock(['operator', 'list', '--json']);
    expect(JSON.parse(listed.stdout).operators.map((o: any) => [o.name, o.role])).toEqual([['admin', 'admin'], ['carol', 'viewer']]);
    expect(listed.stdout).not.toContain(carol);
    const denied = await fleetdock(['group', 'create', 'ci'], carol);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('[FORBIDDEN]');
    expect((await fleetdock(['operator', 'revoke', 'carol'])).stdout).toBe('operator token carol (role viewer) revoked\n');
    expect((await fleetdock(['hosts'], carol)).stderr).toContain('[UNAUTHENTICATED]');
    expect((await fleetdock(['operator', 'create', 'dave'])).code).toBe(2);
  }, 60_000);

  it('lists and revokes join tokens, and revokes and removes a host', async () => {
    await t.api('POST', '/v1/groups', { name: 'ci' });
    const token = (await fleetdock(['token', 'create', '--group', 'ci'])).stdout.trim();
    const list = await fleetdock(['token', 'list', '--group', 'ci']);
    expect(list.stdout).toMatch(/^ID\s+GROUP\s+CREATED\s+EXPIRES\s+USES-LEFT\s+STATE\n1\s+ci\s+\S+\s+\S+\s+1\/1\s+usable\n$/);
    expect(list.stdout).not.toContain(token);
    expect((await fleetdock(['token', 'revoke', '1'])).stdout).toBe('join token 1 (group ci) revoked\n');
    expect(JSON.parse((await fleetdock(['token', 'list', '--json'])).stdout).tokens[0].state).toBe('revoked');

    await t.enrol('bs1', 'ci');
    expect((await fleetdock(['host', 'revoke', 'bs1'])).stdout).toBe('host bs1 (group ci) revoked\n');
    expect((await fleetdock(['hosts'])).stdout).toMatch(/bs1\s+ci\s+revoked/);
    expect((await fleetdock(['host', 'remove', 'bs1'])).stdout).toBe('host bs1 (group ci) removed; the name may enrol again\n');
  }, 60_000);
});
