/**
 * lab/image.ts: builds the lab's one container image, busybox, as registry blobs (no dockerd needed).
 *
 * Owns the layer (a gzipped tar of the machine's static busybox with a few applet links), the image
 * config and the Docker schema2 manifest, with their digests. Pure apart from reading the busybox binary.
 * Must not: talk to a registry (lab/registry-push.ts does).
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { renderTar, type TarEntry } from './tar.js';

/** Media types of a Docker image manifest v2 schema 2, which dockerd 20.10 and 26 both pull. */
export const MEDIA_TYPES = Object.freeze({
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
});

/** An image as the registry stores it. Digests are `sha256:<hex>`. */
export interface RegistryImage {
  /** Gzipped layer tar. */
  layer: Buffer;
  layerDigest: string;
  /** sha256 of the uncompressed layer tar, as listed in the config's `rootfs.diff_ids`. */
  diffId: string;
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

/** Applets linked to busybox in the image's /bin, enough for `docker run busybox sh -c '...'`. */
const APPLETS = ['sh', 'ls', 'cat', 'echo', 'true', 'false', 'env', 'sleep', 'wget', 'id', 'uname', 'hostname'];

/** `sha256:<hex>` of `data`. */
export function sha256Digest(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Docker's name for `process.arch` (x64 -> amd64). */
function dockerArchitecture(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}

/**
 * Builds a busybox image from the static busybox binary at `busyboxPath` (default `/bin/busybox`, from
 * Debian's busybox-static). The same binary always gives the same digests.
 */
export function buildBusyboxImage(busyboxPath = '/bin/busybox'): RegistryImage {
  const entries: TarEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', mode: 0o755, content: readFileSync(busyboxPath) },
    ...APPLETS.map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ];
  const tar = renderTar(entries);
  const layer = gzipSync(tar);
  const diffId = sha256Digest(tar);
  const layerDigest = sha256Digest(layer);
  const created = new Date(1_700_000_000_000).toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: dockerArchitecture(),
      os: 'linux',
      created,
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['sh'],
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'fleetdock lab: busybox-static from the test machine' }],
    }),
  );
  const configDigest = sha256Digest(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, size: config.length, digest: configDigest },
      layers: [{ mediaType: MEDIA_TYPES.layer, size: layer.length, digest: layerDigest }],
    }),
  );
  return { layer, layerDigest, diffId, config, configDigest, manifest, manifestDigest: sha256Digest(manifest) };
}
