// The agent checks whom it talks to before it sends anything secret: the CA pinned in its join token
// against a second controller with another CA, a man in the middle who serves the right CA but holds
// no key it signed, a plain http:// URL, a certificate without the name used; and it stops for good
// when its host is revoked. Real controllers and the real agent code on loopback (no dockerd needed:
// enrolment and the connection do not touch it).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { buildAgentConfig, type AgentArgs } from '../../agent/config.js';
import { createCertificateAuthority, issueServerCertificate } from '../../controller/tls/issue-certificates.js';
import { startTestController, type TestController } from '../controller/harness.js';
import { runCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

const silent = pino({ level: 'silent' });

describe('an agent enrolling over TLS', { timeout: 60_000 }, () => {
  let a: TestController;
  let b: TestController;
  let mitm: Server;
  let mitmUrl: string;
  /** What the man in the middle answers at /v1/ca (default: controller A's CA, as A gives it). */
  let mitmCa: () => string;
  let ownCaPem: string;
  const mitmSaw: string[] = [];
  const dirs: string[] = [];

  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    dirs.push(dir);
    return dir;
  };
  const config = (args: AgentArgs) => {
    const root = stateDir();
    return buildAgentConfig({ 'state-dir': stateDir(), root, 'docker-host': `unix://${join(root, 'no-docker.sock')}`, 'service-manager': 'signal', pidfile: join(root, 'docker.pid'), ...args }, false);
  };
  const newToken = async (t: TestController) => (await t.api('POST', '/v1/groups/ci/join-tokens', {})).body.token as string;
  const usesLeft = async (t: TestController) => ((await t.api('GET', '/v1/join-tokens?group=ci')).body.tokens as any[]).map((x) => x.usesLeft);

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestController(), startTestController()]);
    for (const t of [a, b]) expect((await t.api('POST', '/v1/groups', { name: 'ci' })).status).toBe(201);
    // A man in the middle: hands out controller A's (public) CA, but its certificate is from a CA of its own.
    const now = new Date();
    const ownCa = await createCertificateAuthority(now, 'not fleetdock');
    ownCaPem = ownCa.certPem;
    const own = await issueServerCertificate(ownCa, ['127.0.0.1'], now);
    mitmCa = () => a.controller.tls!.caPem;
    mitm = createServer({ cert: own.certPem, key: own.keyPem }, (request, response) => {
      mitmSaw.push(`${request.method} ${request.url}`);
      response.setHeader('content-type', 'application/json');
      response.end(request.url === '/v1/ca' ? JSON.stringify({ ca: mitmCa(), pin: a.controller.tls!.pin }) : '{}');
    });
    await new Promise<void>((resolve) => mitm.listen(0, '127.0.0.1', resolve));
    mitmUrl = `https://127.0.0.1:${(mitm.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), new Promise((resolve) => mitm?.close(resolve))]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second controller with another CA, naming both pins, and sends it nothing', async () => {
    const token = await newToken(a);
    const cfg = config({ controller: b.controller.url, 'join-token': token, name: 'bs1' });
    const error = await startAgent(cfg, silent).catch((e) => e);
    expect(error.code).toBe('CA_PIN_MISMATCH');
    expect(error.message).toBe(
      `the controller at ${b.controller.url} has CA sha256:${b.controller.tls!.pin}, but the join token pins sha256:${a.controller.tls!.pin}: it is not the controller the token was made for (or something sits in between); nothing was sent`,
    );
    expect(existsSync(join(cfg.stateDir, 'credential.json'))).toBe(false);
    expect((await b.api('GET', '/v1/hosts')).body.hosts).toEqual([]);
  });

  it('refuses a man in the middle who serves the pinned CA without its key: the token is never sent', async () => {
    mitmSaw.length = 0;
    const before = await usesLeft(a);
    const error = await startAgent(config({ controller: mitmUrl, 'join-token': await newToken(a), name: 'bs2' }), silent).catch((e) => e);
    expect(error.code).toBe('TLS_UNTRUSTED');
    expect(error.message).toMatch(/^will not enrol at https:\/\/127\.0\.0\.1:\d+: the controller's certificate does not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*the join token was not sent$/);
    expect(mitmSaw).toEqual(['GET /v1/ca']);
    expect((await usesLeft(a)).slice(0, before.length)).toEqual(before);
  });

  it('refuses a man in the middle who adds a CA of its own behind the pinned one: only the pinned certificate is ever trusted', async () => {
    mitmSaw.length = 0;
    mitmCa = () => a.controller.tls!.caPem + ownCaPem;
    try {
      const error = await startAgent(config({ controller: mitmUrl, 'join-token': await newToken(a), name: 'bs2b' }), silent).catch((e) => e);
      expect(error.code).toBe('CA_PIN_MISMATCH');
      expect(error.message).toMatch(/\/v1\/ca gave 2 certificates where a fleetdock controller gives exactly one; nothing was sent$/);
      expect(mitmSaw).toEqual(['GET /v1/ca']);
    } finally {
      mitmCa = () => a.controller.tls!.caPem;
    }
  });

  it('with --ca-file holding several CAs, trusts only the one the token pins', async () => {
    const bundle = join(stateDir(), 'bundle.pem');
    writeFileSync(bundle, ownCaPem + a.controller.tls!.caPem);
    mitmSaw.length = 0;
    const refused = await startAgent(config({ controller: mitmUrl, 'join-token': await newToken(a), name: 'bs2c', 'ca-file': bundle }), silent).catch((e) => e);
    expect(refused.code).toBe('TLS_UNTRUSTED'); // the bundle's other CA signed the man in the middle: not trusted
    expect(mitmSaw).toEqual([]);
    const cfg = config({ controller: a.controller.url, 'join-token': await newToken(a), name: 'bs2c', 'ca-file': bundle });
    const agent = await startAgent(cfg, silent);
    await agent.stop();
    expect(JSON.parse(readFileSync(join(cfg.stateDir, 'credential.json'), 'utf8')).ca).toBe(a.controller.tls!.caPem);
  });

  it('refuses a pinned token with a plain http:// controller URL', async () => {
    const error = await startAgent(config({ controller: a.controller.url.replace('https:', 'http:'), 'join-token': await newToken(a), name: 'bs3' }), silent).catch((e) => e);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain("the join token pins the controller's CA, but --controller http://127.0.0.1:");
  });

  it('enrols with the controller the token pins, keeps that CA, and trusts only it afterwards', async () => {
    const cfg = config({ controller: a.controller.url, 'join-token': await newToken(a), name: 'bs4' });
    const agent = await startAgent(cfg, silent);
    try {
      const credential = JSON.parse(readFileSync(join(cfg.stateDir, 'credential.json'), 'utf8'));
      expect(credential.ca).toBe(a.controller.tls!.caPem);
      await waitFor('bs4 connected', async () => ((await a.api('GET', '/v1/hosts/bs4')).body.connected ? true : undefined), 10_000);
    } finally {
      await agent.stop();
    }
  });

  it('stops for good when its host is revoked, and refuses to retry the dead credential after a restart', async () => {
    const cfg = config({ controller: a.controller.url, 'join-token': await newToken(a), name: 'bs5' });
    const agent = await startAgent(cfg, silent);
    await waitFor('bs5 connected', async () => ((await a.api('GET', '/v1/hosts/bs5')).body.connected ? true : undefined), 10_000);
    const done = agent.done.then(() => null, (e) => e);
    expect((await a.api('POST', '/v1/hosts/bs5/revoke')).status).toBe(200);
    const error = await Promise.race([done, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))]);
    expect(error).toMatchObject({ code: 'CREDENTIAL_INVALID', message: expect.stringContaining('this host was revoked') });

    const again = await startAgent(cfg, silent);
    const second = await Promise.race([again.done.then(() => null, (e) => e), new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))]);
    expect(second).toMatchObject({ code: 'CREDENTIAL_INVALID', message: expect.stringContaining("refused this host's credential") });
  });

  it('`fleetdock agent` exits 78 (not to be restarted) on a pin mismatch, saying why', async () => {
    const dir = stateDir();
    const out = await runCli(['agent', '--controller', b.controller.url, '--join-token', await newToken(a), '--state-dir', dir, '--root', dir, '--docker-host', `unix://${join(dir, 'none.sock')}`, '--service-manager', 'signal', '--name', 'bs6']);
    expect(out.code).toBe(78);
    expect(out.stderr).toContain('[CA_PIN_MISMATCH]');
  });
});

describe('an agent reaching the controller by a name its certificate lacks', { timeout: 60_000 }, () => {
  it('says which --tls-san the controller needs, and enrols once it has it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetdock-controller-'));
    const root = mkdtempSync(join(tmpdir(), 'fleetdock-agent-'));
    const cfg = (url: string, token: string) =>
      buildAgentConfig({ controller: url, 'join-token': token, 'state-dir': join(root, 'state'), root, 'docker-host': `unix://${join(root, 'none.sock')}`, 'service-manager': 'signal', name: 'bs7' }, false);
    let t = await startTestController({ dataDir, config: { listen: '0.0.0.0:0' } });
    try {
      await t.api('POST', '/v1/groups', { name: 'ci' });
      const token = (await t.api('POST', '/v1/groups/ci/join-tokens', {})).body.token as string;
      const other = `https://127.0.0.2:${t.controller.port}`;
      const error = await startAgent(cfg(other, token), silent).catch((e) => e);
      expect(error.code).toBe('TLS_UNTRUSTED');
      expect(error.message).toContain("the controller's certificate is not valid for 127.0.0.2: start the controller with --tls-san 127.0.0.2");
      const pin = t.controller.tls!.pin;
      await t.stop();
      t = await startTestController({ dataDir, config: { listen: `0.0.0.0:${t.controller.port}`, tlsSan: ['127.0.0.2'] } });
      expect(t.controller.tls!.pin).toBe(pin);
      const agent = await startAgent(cfg(other, token), silent);
      await agent.stop();
      expect((await t.api('GET', '/v1/hosts/bs7')).status).toBe(200);
    } finally {
      await t.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });
});
