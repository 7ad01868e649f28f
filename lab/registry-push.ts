/**
 * lab/registry-push.ts: pushes a {@link RegistryImage} into a registry through the HTTP API v2.
 *
 * Owns blob upload (POST for a session, PUT with `?digest=`) and the manifest PUT.
 * Must not: start a registry, or handle auth or TLS (the lab's registry has neither).
 */

import { httpRequest } from './http.js';
import { MEDIA_TYPES, type RegistryImage } from './image.js';

/**
 * Pushes `image` as `repository:tag` to the registry at `baseUrl` (`http://127.0.0.1:PORT`).
 * Blobs the repository already has are skipped. Rejects with the registry's answer on any failure.
 */
export async function pushImage(baseUrl: string, repository: string, tag: string, image: RegistryImage): Promise<void> {
  await pushBlob(baseUrl, repository, image.layerDigest, image.layer);
  await pushBlob(baseUrl, repository, image.configDigest, image.config);
  const res = await httpRequest({
    method: 'PUT',
    url: `${baseUrl}/v2/${repository}/manifests/${tag}`,
    headers: { 'content-type': MEDIA_TYPES.manifest },
    body: image.manifest,
  });
  if (res.status !== 201) throw registryError('PUT manifest', repository, res.status, res.body);
}

async function pushBlob(baseUrl: string, repository: string, digest: string, data: Buffer): Promise<void> {
  const head = await httpRequest({ method: 'HEAD', url: `${baseUrl}/v2/${repository}/blobs/${digest}` });
  if (head.status === 200) return;
  const start = await httpRequest({ method: 'POST', url: `${baseUrl}/v2/${repository}/blobs/uploads/` });
  if (start.status !== 202) throw registryError('POST blob upload', repository, start.status, start.body);
  const location = start.headers.location;
  if (typeof location !== 'string') throw new Error(`registry gave no Location for the upload of ${digest}`);
  // Location may be absolute or relative, and already carries a query (the upload state).
  const uploadUrl = new URL(location, baseUrl);
  uploadUrl.searchParams.set('digest', digest);
  const put = await httpRequest({
    method: 'PUT',
    url: uploadUrl.toString(),
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  if (put.status !== 201) throw registryError(`PUT blob ${digest}`, repository, put.status, put.body);
}

function registryError(what: string, repository: string, status: number, body: Buffer): Error {
  return new Error(`registry refused ${what} for ${repository}: HTTP ${status} ${body.toString('utf8').slice(0, 300)}`);
}
