// The operator CLI as a user runs it: `node bin/fleetdock.js ...` in a child process against a real
// controller, checking what it prints and how it exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTS, RawAgent, applyResult, httpTo, startTestController, type TestController } from './harness.js';
import { ensureCliBuilt, runCli, type CliResult } from '../support/cli.js';
import { findFreePort } from '../../lab/ports.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/fleetdock.js');

let t: TestController;

/** Runs the CLI; never throws, returns exit code and output. */
async function fleetdock(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { ...t.cliEnv, ...env }, 20_000);
}

beforeAll(async () => {
  await ensureCliBuilt();
  t = await startTestController();
}, 180_000);

afterAll(async () => {
  await t?.stop();
});

describe('fleetdock group', () => {
  it('creates a group, sets its settings, and shows them redacted', async () => {
    expect(await fleetdock(['group', 'create', 'ci'])).toMatchObject({ code: 0, stdout: 'group ci created\n' });

    const set = await fleetdock([
      'group', 'set', 'ci',
      '--registry-mirror', 'https://mirror-a.example', '--registry-mirror', 'http://10.0.0.5:5000',
      '--insecure-registry', '10.0.0.5:5000',
      '--http-proxy', 'http://builder:pr0xy-pw@proxy.internal:3128', '--https-proxy', 'http://builder:pr0xy-pw@proxy.internal:3128',
      '--no-proxy', 'localhost, 10.0.0.0/8,.internal',
      '--client-proxy-user', 'ci',
    ]);
    expect(set).toMatchObject({ code: 0, stdout: 'revision 1\n' });
    const stored = (await t.api('GET', '/v1/groups/ci')).body.revision.settings;
    expect(stored).toEqual({
      registryMirrors: ['https://mirror-a.example', 'http://10.0.0.5:5000'],
      insecureRegistries: ['10.0.0.5:5000'],
      daemonProxy: { http: 'http://xxxxx:xxxxx@proxy.internal:3128', https: 'http://xxxxx:xxxxx@proxy.internal:3128', noProxy: ['localhost', '10.0.0.0/8', '.internal'] },
      clientProxy: { http: 'http://xxxxx:xxxxx@proxy.internal:3128', https: 'http://xxxxx:xxxxx@proxy.internal:3128', noProxy: ['localhost', '10.0.0.0/8', '.internal'], users: ['ci'] },
    });

    const again = await fleetdock(['group', 'set', 'ci', '--registry-mirror', 'https://MIRROR-A.example', '--registry-mirror', 'http://10.0.0.5:5000',
      '--insecure-registry', '10.0.0.5:5000', '--http-proxy', 'http://builder:pr0xy-pw@proxy.internal:3128', '--https-proxy', 'http://builder:pr0xy-pw@proxy.internal:3128',
      '--no-proxy', 'localhost,10.0.0.0/8,.internal', '--client-proxy-user', 'ci']);
    expect(again).toMatchObject({ code: 0, stdout: 'revision 1 (unchanged)\n' });

    const show = await fleetdock(['group', 'show', 'ci']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('registry mirrors    https://mirror-a.example, http://10.0.0.5:5000');
    expect(show.stdout).toContain('daemon proxy        http http://xxxxx:xxxxx@proxy.internal:3128');
    expect(show.stdout).toContain('users ci');
    expect(show.stdout).not.toContain('pr0xy-pw');

    const json = await fleetdock(['group', 'show', 'ci', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'ci', revision: { number: 1 }, hosts: { total: 0 } });
    expect(json.stdout).not.toContain('pr0xy-pw');

    const cleared = await fleetdock(['group', 'set', 'ci']);
    // A later revision waits for a rollout, and says so.
    expect(cleared).toMatchObject({ code: 0, stdout: 'revision 2\nhosts are on revision 1; roll it out with: fleetdock rollout start ci\n' });
    expect(cleared.stderr).toContain('clearing every mirror, insecure registry and proxy of group ci');
    expect((await t.api('GET', '/v1/groups/ci')).body.revision.settings).toEqual({ registryMirrors: [], insecureRegistries: [], daemonProxy: null, clientProxy: null });
  });

  it('names a group that does not exist and exits non-zero', async () => {
    const result = await fleetdock(['group', 'show', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('fleetdock: group nope does not exist (create it with: fleetdock group create nope) [NOT_FOUND]\n');
  });

  it('passes on the controller\'s validation message', async () => {
    await fleetdock(['group', 'create', 'val']);
    const result = await fleetdock(['group', 'set', 'val', '--registry-mirror', 'ftp://x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('fleetdock: registryMirrors[0]: registry mirror "ftp://x" is not an http(s) URL [VALIDATION]\n');
  });

  it('exits 2 on a usage error, before talking to the controller', async () => {
    const result = await fleetdock(['group', 'set', 'ci', '--client-proxy-user', 'ci'], { FLEETDOCK_URL: 'http://127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--client-proxy-user needs --http-proxy or --https-proxy');
    expect((await fleetdock(['group', 'frobnicate'])).code).toBe(2);
  });
});

describe('fleetdock token and hosts', () => {
  it('prints only the token, which enrols a host that then shows up in hosts', async () => {
    await fleetdock(['group', 'create', 'builders']);
    const created = await fleetdock(['token', 'create', '--group', 'builders', '--uses', '2', '--ttl', '600']);
    expect(created.code).toBe(0);
    // The token carries the pin of this controller's CA, so an agent can check whom it enrols with.
    expect(created.stdout).toBe(`FD1${t.controller.tls!.pin}::${created.stdout.split('::')[1]}`);
    expect(created.stdout).toMatch(/^FD1[0-9a-f]{64}::[A-Za-z0-9_-]{43}\n$/);
    const token = created.stdout.trim();
    const enrolled = await t.api('POST', '/v1/enrol', { joinToken: token, name: 'bs7', facts: FACTS }, { token: null });
    expect(enrolled.status).toBe(201);

    await fleetdock(['group', 'set', 'builders', '--registry-mirror', 'http://mirror:5000']);
    const agent = await RawAgent.connect(t.controller.url, enrolled.body.credential);
    await agent.hello();
    const desired = await agent.next();
    agent.send(applyResult(desired.revision, { outcome: 'failed', action: 'none', error: { code: 'DAEMON_JSON_INVALID', message: 'daemon.json is not JSON' } }));
    await new Promise((r) => setTimeout(r, 200));

    const json = await fleetdock(['hosts', '--group', 'builders', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).hosts).toEqual([
      expect.objectContaining({ name: 'bs7', group: 'builders', status: 'failed', connected: true, desiredRevision: 1, appliedRevision: null }),
    ]);

    const table = await fleetdock(['hosts']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+GROUP\s+STATUS\s+APPLIED\/DESIRED\s+ACTION\s+LAST-SEEN\s+ERROR$/);
    expect(table.stdout).toMatch(/bs7\s+builders\s+failed\s+-\/1\s+none\s+connected\s+DAEMON_JSON_INVALID: daemon.json is not JSON/);
    await agent.close();
  });

  it('says when the controller cannot be reached', async () => {
    const port = await findFreePort();
    const result = await fleetdock(['hosts', '--controller', `http://127.0.0.1:${port}`], { FLEETDOCK_URL: undefined });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`fleetdock: cannot reach the controller at http://127.0.0.1:${port}: ECONNREFUSED; is it running? (fleetdock controller) [CONTROLLER_UNREACHABLE]\n`);
  });

  it('says when the token is wrong, and reads one from --token-file', async () => {
    const wrong = await fleetdock(['hosts', '--token', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[UNAUTHENTICATED]');
    const fromFile = await fleetdock(['hosts', '--json', '--token-file', t.controller.adminTokenPath], { FLEETDOCK_TOKEN: undefined });
    expect(fromFile.code).toBe(0);
  });
});

describe('fleetdock controller', () => {
  it('writes the admin token to its file but not into a log, logs JSON, and stops cleanly on SIGTERM', async () => {
    const data = mkdtempSync(join(tmpdir(), 'fleetdock-cli-controller-'));
    try {
      const first = await runController(data);
      expect(first.code).toBe(0);
      // stderr is a pipe here, as under systemd (the journal): the token is not printed.
      expect(first.stderr).toContain(`made the admin token; it is in ${join(data, 'admin.token')} (mode 0600), not printed because stderr is not a terminal`);
      const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(first.stderr + first.stdout).not.toContain(token);
      const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.some((l) => l.msg === 'controller listening' && typeof l.url === 'string')).toBe(true);
      expect(lines.at(-1).msg).toBe('controller stopped');

      const second = await runController(data);
      expect(second.code).toBe(0);
      expect(second.stderr).toContain(`the admin token is in ${join(data, 'admin.token')}`);
      expect(second.stderr).not.toContain(token!);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('refuses a bad --listen as a usage error', async () => {
    const result = await fleetdock(['controller', '--listen', 'nowhere']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--listen "nowhere" is not HOST:PORT');
  });
});

/** Starts `fleetdock controller`, waits until it listens, checks health, sends SIGTERM, collects output. */
function runController(data: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('node', [BIN, 'controller', '--data', data, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`controller did not start: ${stderr}`));
    }, 15_000);
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', async (chunk) => {
      stderr += chunk;
      const url = /controller listening on (\S+)/.exec(stderr)?.[1];
      if (url && !signalled) {
        signalled = true;
        const ca = readFileSync(join(data, 'tls', 'ca.pem'), 'utf8');
        const health = await httpTo(`${url}/v1/health`, { ca }).then((r) => r.status, () => 0);
        if (health !== 200) reject(new Error(`health answered ${health}`));
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}
