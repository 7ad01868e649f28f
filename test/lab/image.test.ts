// The seeded busybox image, checked without any registry or dockerd: a tar that tar reads, and
// digests that hang together the way a registry and dockerd verify them.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, labPaths, requireLab, type RegistryImage } from '../../lab/index.js';

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
// Like every lab test: a loud skip without the lab, a failure with CI=true (never a silent skip).
const labReady = requireLab();

describe.skipIf(!labReady)('busybox image', () => {
  // Built in beforeAll, not while collecting: a skipped suite's body still runs, without busybox too.
  let image: RegistryImage;
  let dir: string;
  beforeAll(() => {
    image = buildBusyboxImage(labPaths.busybox);
    dir = mkdtempSync(join(tmpdir(), 'fdl-image-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has a layer that GNU tar lists, with busybox and an sh link', () => {
    writeFileSync(join(dir, 'layer.tar.gz'), image.layer);
    const listing = execFileSync('tar', ['-tvzf', join(dir, 'layer.tar.gz')], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rwxr-xr-x root\/root +\d+ .* bin\/busybox$/m);
    expect(listing).toMatch(/^lrwxrwxrwx root\/root .* bin\/sh -> busybox$/m);
  });

  it('extracts to a busybox that runs', () => {
    execFileSync('tar', ['-xzf', join(dir, 'layer.tar.gz'), '-C', dir]);
    expect(execFileSync(join(dir, 'bin/sh'), ['-c', 'echo ok'], { encoding: 'utf8' })).toBe('ok\n');
  });

  it('has digests that match its content', () => {
    expect(image.layerDigest).toBe(sha(image.layer));
    expect(image.diffId).toBe(sha(gunzipSync(image.layer)));
    expect(image.configDigest).toBe(sha(image.config));
    expect(image.manifestDigest).toBe(sha(image.manifest));
    const config = JSON.parse(image.config.toString());
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: [image.diffId] });
    const manifest = JSON.parse(image.manifest.toString());
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.config).toEqual({
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: image.config.length,
      digest: image.configDigest,
    });
    expect(manifest.layers).toEqual([
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: image.layer.length, digest: image.layerDigest },
    ]);
  });

  it('is byte for byte the same when built again', () => {
    expect(buildBusyboxImage(labPaths.busybox).manifestDigest).toBe(image.manifestDigest);
  });
});
