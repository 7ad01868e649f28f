/**
 * The fixed host paths the agent manages, under its `--root` (tests and chroots use a prefix; a real
 * host uses `/`). No path ever comes from the network.
 */
import { join } from 'node:path';

/** Paths as the host sees them (reported to the controller). */
export const HOST_PATHS = Object.freeze({
  daemonJson: '/etc/docker/daemon.json',
  dropIn: '/etc/systemd/system/docker.service.d/http-proxy.conf',
  /** The proxy's values for dockerd < 23 under systemd, root only (the drop-in points at it). */
  proxyEnvironmentFile: '/etc/fleetdock/docker-proxy.env',
});

/** A host path under `root`. */
export function underRoot(root: string, hostPath: string): string {
  return root === '/' ? hostPath : join(root, hostPath);
}

/** The host path of a path under `root` (inverse of underRoot). */
export function hostPathOf(root: string, path: string): string {
  if (root === '/' || !path.startsWith(root)) return path;
  const rest = path.slice(root.replace(/\/+$/, '').length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** A user's docker client config, by home directory. */
export function clientConfigPath(home: string): string {
  return join(home, '.docker/config.json');
}
