// TLS by default: the controller serves HTTPS with a CA of its own made on first start and kept
// across restarts (the pin in join tokens never changes), re-issues its server certificate for new
// names, takes the operator's certificate instead, and serves plain HTTP only when told so in words
// that say it is insecure, and then only on loopback unless forced.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveControllerConfig, type ControllerConfigInput } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/server.js';
import { createCertificateAuthority, issueServerCertificate } from '../../controller/tls/issue-certificates.js';
import { sendRequest } from '../../protocol/http-request.js';
import { caPinOf } from '../../protocol/join-token.js';
import { thrown } from '../support/thrown.js';
import { waitFor } from '../support/wait.js';
import { httpTo } from './harness.js';

let root: string;
const running: RunningController[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fleetdock-tls-'));
});
afterEach(async () => {
  for (const controller of running.splice(0)) await controller.close();
  rmSync(root, { recursive: true, force: true });
});

async function start(input: ControllerConfigInput = {}): Promise<RunningController> {
  const controller = await startController(resolveControllerConfig({ data: join(root, 'data'), listen: '127.0.0.1:0', ...input }));
  running.push(controller);
  return controller;
}

describe('the controller serves HTTPS by default', () => {
  it('makes a CA and a server certificate on first start; the CA is what GET /v1/ca gives and the pin is its key', async () => {
    const controller = await start();
    expect(controller.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const tlsDir = join(root, 'data', 'tls');
    expect(statSync(join(tlsDir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(tlsDir, 'server-key.pem')).mode & 0o777).toBe(0o600);
    const ca = readFileSync(join(tlsDir, 'ca.pem'), 'utf8');
    expect(controller.tls).toEqual({ caPem: ca, pin: caPinOf(ca), caPath: join(tlsDir, 'ca.pem') });

    const answer = await httpTo(`${controller.url}/v1/ca`, { ca });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ca, pin: caPinOf(ca) });
    // The server certificate chains to that CA and names loopback; it cannot sign certificates itself.
    const served = new X509Certificate(readFileSync(join(tlsDir, 'server.pem'), 'utf8'));
    expect(served.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(served.ca).toBe(false);
    expect(served.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(served.subjectAltName).toContain('DNS:localhost');
  });

  it('refuses plain HTTP on its port, and a client that does not trust its CA', async () => {
    const controller = await start();
    const plain = controller.url.replace('https:', 'http:');
    await expect(sendRequest(`${plain}/v1/health`, { timeoutMs: 5_000 })).rejects.toThrow();
    const untrusted = await sendRequest(`${controller.url}/v1/health`).catch((error: NodeJS.ErrnoException) => error);
    expect((untrusted as NodeJS.ErrnoException).code).toBe('SELF_SIGNED_CERT_IN_CHAIN');
  });

  it('keeps the CA across restarts, and re-issues only the server certificate when a --tls-san is added', async () => {
    const first = await start();
    const pin = first.tls!.pin;
    const serverPem = readFileSync(join(root, 'data', 'tls', 'server.pem'), 'utf8');
    await running.pop()!.close();

    const second = await start();
    expect(second.tls!.pin).toBe(pin);
    expect(readFileSync(join(root, 'data', 'tls', 'server.pem'), 'utf8')).toBe(serverPem);
    await running.pop()!.close();

    const third = await start({ tlsSan: ['controller.example', '10.9.8.7'] });
    expect(third.tls!.pin).toBe(pin);
    const reissued = new X509Certificate(readFileSync(join(root, 'data', 'tls', 'server.pem'), 'utf8'));
    expect(reissued.subjectAltName).toContain('DNS:controller.example');
    expect(reissued.subjectAltName).toContain('IP Address:10.9.8.7');
    expect((await httpTo(`${third.url}/v1/health`, { ca: third.tls!.caPem })).status).toBe(200);
  });

  it('renews its server certificate while running, under the same CA, without dropping the listener', async () => {
    const controller = await start({ tlsRenewalCheckMs: 100 });
    const ca = controller.tls!.caPem;
    const served = async () => (await sendRequest(`${controller.url}/v1/health`, { ca })).peer!.fingerprint256;
    const before = await served();
    // As if it neared expiry: the certificate is gone, the next check issues a new one.
    unlinkSync(join(root, 'data', 'tls', 'server.pem'));
    const after = await waitFor('a new server certificate', async () => {
      const now = await served().catch(() => undefined);
      return now !== undefined && now !== before ? now : undefined;
    }, 10_000);
    expect(after).not.toBe(before);
    expect(controller.tls!.pin).toBe(caPinOf(ca));
  });

  it('will not make a new CA when its key is gone: enrolled agents pin the old one', async () => {
    await start();
    await running.pop()!.close();
    unlinkSync(join(root, 'data', 'tls', 'ca-key.pem'));
    const error = await start().catch((e: Error) => e);
    expect((error as Error).message).toContain(`${join(root, 'data', 'tls', 'ca-key.pem')} is missing`);
    expect((error as Error).message).toContain('restore the file from a backup');
    expect(existsSync(join(root, 'data', 'tls', 'ca-key.pem'))).toBe(false);
  });

  it('serves the operator’s certificate, and pins the CA given with --tls-ca', async () => {
    const now = new Date();
    const ca = await createCertificateAuthority(now, 'Example Corp CA');
    const server = await issueServerCertificate(ca, ['127.0.0.1', 'localhost'], now);
    const files = { cert: join(root, 'server.pem'), key: join(root, 'server-key.pem'), ca: join(root, 'ca.pem') };
    writeFileSync(files.cert, server.certPem);
    writeFileSync(files.key, server.keyPem);
    writeFileSync(files.ca, ca.certPem);
    const controller = await start({ tlsCert: files.cert, tlsKey: files.key, tlsCa: files.ca });
    expect(controller.tls!.pin).toBe(caPinOf(ca.certPem));
    expect((await httpTo(`${controller.url}/v1/health`, { ca: ca.certPem })).status).toBe(200);
    expect(existsSync(join(root, 'data', 'tls'))).toBe(false);

    // A key that is not the certificate's is refused before anything listens.
    const other = await issueServerCertificate(ca, ['127.0.0.1'], now);
    writeFileSync(files.key, other.keyPem);
    const refused = await start({ tlsCert: files.cert, tlsKey: files.key, tlsCa: files.ca }).catch((e: Error) => e);
    expect((refused as Error).message).toBe(`--tls-key ${files.key} is not the key of the certificate in --tls-cert ${files.cert}`);
  });

  it('refuses a --tls-ca that did not sign the certificate, so no token ever pins the wrong CA', async () => {
    const now = new Date();
    const [ca, other] = await Promise.all([createCertificateAuthority(now), createCertificateAuthority(now, 'Other CA')]);
    const server = await issueServerCertificate(ca, ['127.0.0.1'], now);
    const files = { cert: join(root, 'server.pem'), key: join(root, 'server-key.pem'), other: join(root, 'other.pem') };
    writeFileSync(files.cert, server.certPem);
    writeFileSync(files.key, server.keyPem);
    writeFileSync(files.other, other.certPem);
    const wrongCa = await start({ tlsCert: files.cert, tlsKey: files.key, tlsCa: files.other }).catch((e: Error) => e);
    expect((wrongCa as Error).message).toBe(`certificate 1 in --tls-cert ${files.cert} (CN=fleetdock controller) is not signed by the CA in ${files.other}`);
    // A chain file whose last certificate is not the leaf's issuer: refused the same way.
    writeFileSync(files.cert, server.certPem + other.certPem);
    const badChain = await start({ tlsCert: files.cert, tlsKey: files.key }).catch((e: Error) => e);
    expect((badChain as Error).message).toBe(`certificate 1 in --tls-cert ${files.cert} (CN=fleetdock controller) is not signed by the next one in the file`);
    expect(running).toEqual([]);
  });
});

describe('insecure plain HTTP', () => {
  it('is served on loopback when asked for by name, with an http:// URL and no CA', async () => {
    const controller = await start({ insecurePlainHttp: true });
    expect(controller.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(controller.tls).toBeNull();
    expect((await httpTo(`${controller.url}/v1/health`)).status).toBe(200);
    expect((await httpTo(`${controller.url}/v1/ca`)).body.error.code).toBe('NOT_FOUND');
  });

  it('is refused on any other address unless forced, and never mixed with TLS flags', () => {
    const base = { data: join(root, 'data') };
    expect(thrown(() => resolveControllerConfig({ ...base, listen: '0.0.0.0:7700', insecurePlainHttp: true })).message).toMatch(
      /^--insecure-plain-http on 0\.0\.0\.0 would send join tokens, credentials and proxy passwords over the network in clear/,
    );
    expect(resolveControllerConfig({ ...base, listen: '0.0.0.0:7700', insecurePlainHttp: true, insecurePlainHttpAnyAddress: true }).tls).toEqual({ mode: 'off' });
    expect(resolveControllerConfig({ ...base, listen: '127.0.0.5:7700', insecurePlainHttp: true }).tls).toEqual({ mode: 'off' });
    expect(thrown(() => resolveControllerConfig({ ...base, insecurePlainHttp: true, tlsSan: ['x'] })).message).toBe('--insecure-plain-http turns TLS off; --tls-san makes no sense with it');
    expect(thrown(() => resolveControllerConfig({ ...base, insecurePlainHttpAnyAddress: true })).message).toBe('--insecure-plain-http-any-address only goes with --insecure-plain-http');
    expect(thrown(() => resolveControllerConfig({ ...base, tlsCert: 'a.pem' })).message).toBe('--tls-cert needs --tls-key too');
    expect(thrown(() => resolveControllerConfig({ ...base, tlsCa: 'a.pem' })).message).toBe('--tls-ca goes with --tls-cert and --tls-key');
    expect(thrown(() => resolveControllerConfig({ ...base, tlsSan: ['bad name'] })).message).toBe('--tls-san "bad name" is not a DNS name or an IP address');
  });
});
