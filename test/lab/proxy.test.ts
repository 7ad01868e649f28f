// The lab proxy: tinyproxy on 127.0.0.1 that resolves lab-only names (registry.test) in its own mount
// namespace, and the proof a proxy rollout worked: a pull of registry.test:PORT/... goes through it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  requireLab,
  startBareDockerd,
  startProxy,
  startRegistryMirror,
  type LabProxy,
  type RegistryMirror,
} from '../../lab/index.js';

const labReady = requireLab();
const run = promisify(execFile);

describe.skipIf(!labReady)('lab proxy', () => {
  const machineHosts = readFileSync('/etc/hosts', 'utf8');
  let proxy: LabProxy;
  let plain: RegistryMirror; // http://127.0.0.1:PORT
  let tls: RegistryMirror; // https://127.0.0.1:PORT, self-signed
  beforeAll(async () => {
    [plain, tls] = await Promise.all([startRegistryMirror(), startRegistryMirror({ tls: {} })]);
    proxy = await startProxy({ hosts: { 'registry.test': '127.0.0.1' } });
  });
  afterAll(async () => {
    await Promise.all([proxy?.stop(), plain?.stop(), tls?.stop()]);
  });

  it('reaches registry.test through the proxy, which logs the request; /etc/hosts is untouched', async () => {
    const url = `http://registry.test:${plain.port}/v2/`;
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', proxy.url, url]);
    expect(r.stdout).toBe('200');
    expect(proxy.requests()).toContain(`GET ${url} HTTP/1.1`);
    expect(readFileSync('/etc/hosts', 'utf8')).toBe(machineHosts);
    // Outside the proxy's mount namespace the name does not resolve.
    const direct = await run('curl', ['-sS', '-o', '/dev/null', '--noproxy', '*', url]).catch((e: { code: number; stderr: string }) => e);
    expect(direct).toMatchObject({ code: 6 }); // curl: could not resolve host
  });

  it('dockerd 26 with daemon.json `proxies` pulls registry.test:PORT/library/busybox through it', async () => {
    const registry = `registry.test:${tls.port}`;
    const d = await startBareDockerd({
      version: '26',
      daemonJson: { proxies: { 'http-proxy': proxy.url, 'https-proxy': proxy.url }, 'insecure-registries': [registry] },
    });
    try {
      const info = await d.info();
      expect(info.HttpProxy).toBe(proxy.url);
      expect(info.HttpsProxy).toBe(proxy.url);
      const blobGetsBefore = tls.blobGets();
      const r = await d.docker(['pull', `${registry}/library/busybox`]);
      expect(r.code, r.stderr).toBe(0);
      // HTTPS to an insecure registry: dockerd tunnels through the proxy (certificate not verified).
      expect(proxy.requests()).toContain(`CONNECT ${registry} HTTP/1.1`);
      expect(tls.blobGets()).toBeGreaterThan(blobGetsBefore);
    } finally {
      await d.stop();
    }
  });

  it('dockerd 20 with HTTP_PROXY pulls from a plain-HTTP registry.test through it (GETs in the log)', async () => {
    const registry = `registry.test:${plain.port}`;
    const d = await startBareDockerd({
      version: '20',
      env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
      daemonJson: { 'insecure-registries': [registry] },
    });
    try {
      // By digest: over plain HTTP, tinyproxy mangles the Accept headers of a pull by tag (see below).
      const r = await d.docker(['pull', `${registry}/library/busybox@${plain.manifestDigest}`]);
      expect(r.code, r.stderr).toBe(0);
      const blobGets = proxy.requests().filter((l) => l.startsWith(`GET http://${registry}/v2/library/busybox/blobs/sha256:`));
      expect(blobGets.length).toBeGreaterThanOrEqual(2); // layer + config
    } finally {
      await d.stop();
    }
  });

  it('without the proxy the same pull fails: only the proxy knows registry.test', async () => {
    const registry = `registry.test:${tls.port}`;
    const d = await startBareDockerd({ version: '26', daemonJson: { 'insecure-registries': [registry] } });
    try {
      const r = await d.docker(['pull', `${registry}/library/busybox`], { timeoutMs: 60_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no such host|server misbehaving|lookup registry\.test/);
    } finally {
      await d.stop();
    }
  });

  // Pins the quirk the TLS registry option exists for: tinyproxy 1.11 forwards only the first of
  // repeated request headers. dockerd sends one Accept header per manifest type, in random order, so
  // a plain-HTTP pull by tag through tinyproxy gets a schema1 rewrite or a 404 most of the time.
  // If this starts failing, tinyproxy was fixed and plain-HTTP pulls by tag may work again.
  it('tinyproxy keeps only the first of repeated Accept headers', async () => {
    const echo: Server = createServer((req, res) => res.end(JSON.stringify(req.headersDistinct.accept ?? [])));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as { port: number }).port;
    try {
      const accepts = await new Promise<string[]>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${port}/`, headers: { accept: ['a/1', 'b/2', 'c/3'] } },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(JSON.parse(body)));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(accepts).toEqual(['a/1']);
    } finally {
      echo.close();
    }
  });
});
