// The proof a mirror rollout worked, on both dockerd versions: with the mirror in daemon.json (+ SIGHUP)
// `docker pull busybox` succeeds and the mirror serves the blobs; without it the pull fails (no internet).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab, startBareDockerd, startRegistryMirror, type BareDockerd, type RegistryMirror } from '../../lab/index.js';

const labReady = requireLab();

describe.skipIf(!labReady)('registry mirror', () => {
  let mirror: RegistryMirror;
  beforeAll(async () => {
    mirror = await startRegistryMirror({ seed: ['library/busybox', 'team/tool:v1'] });
  });
  afterAll(async () => {
    await mirror?.stop();
  });

  it('serves the seeded repositories over the registry API', async () => {
    expect(mirror.url).toBe(`http://127.0.0.1:${mirror.port}`);
    const catalog = await (await fetch(`${mirror.url}/v2/_catalog`)).json();
    expect(catalog.repositories).toEqual(['library/busybox', 'team/tool']);
    const tags = await (await fetch(`${mirror.url}/v2/team/tool/tags/list`)).json();
    expect(tags.tags).toEqual(['v1']);
    const manifest = await fetch(`${mirror.url}/v2/library/busybox/manifests/latest`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(mirror.manifestDigest);
  });

  describe.each(['20', '26'] as const)('dockerd %s', (version) => {
    let d: BareDockerd;
    beforeAll(async () => {
      d = await startBareDockerd({ version });
    });
    afterAll(async () => {
      await d?.stop();
    });

    it('cannot pull busybox without the mirror', async () => {
      const r = await d.docker(['pull', 'busybox'], { timeoutMs: 60_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/registry-1\.docker\.io|docker\.io/);
    });

    it('pulls busybox through the mirror once it is in daemon.json and dockerd got SIGHUP', async () => {
      const blobGetsBefore = mirror.blobGets('library/busybox');
      d.writeDaemonJson({ ...d.readDaemonJson(), 'registry-mirrors': [mirror.url] });
      d.reload();
      await expect.poll(async () => (await d.info()).RegistryConfig.Mirrors, { timeout: 10_000 }).toEqual([`${mirror.url}/`]);
      const r = await d.docker(['pull', 'busybox']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Digest: ${mirror.manifestDigest}`);
      expect(mirror.blobGets('library/busybox')).toBeGreaterThan(blobGetsBefore);
      const run = await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo hello from $(uname -s)']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('hello from Linux\n');
    });

    it('pulls another seeded repository straight from the registry (127.0.0.0/8 is insecure by default)', async () => {
      const r = await d.docker(['pull', `127.0.0.1:${mirror.port}/team/tool:v1`]);
      expect(r.code, r.stderr).toBe(0);
    });
  });
});
