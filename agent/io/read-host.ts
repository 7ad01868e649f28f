/**
 * Reads a host as the planner and the controller need it: the texts of the managed files, dockerd's
 * flags and reported state (the snapshot), and the observed state that is reported upstream (with
 * every proxy credential redacted).
 */
import type { ObservedFiles, ObservedState, ProxyView } from '../../protocol/observed.js';
import { redactUrl } from '../../protocol/values.js';
import type { HostFile, HostSnapshot } from '../plan/apply-plan.js';
import { observeDaemonInfo } from '../plan/expected-daemon.js';
import { parseProxyEnvironmentFile } from '../render/drop-in.js';
import { clientConfigPath, HOST_PATHS, underRoot } from '../paths.js';
import { sha256OrNull } from '../state.js';
import type { DockerApi } from './docker-api.js';
import { readTextOrNull } from './files.js';
import type { ServiceManager } from './service-manager.js';
import { readLocalUsers } from './users.js';

/** Everything the agent's I/O needs to reach the host. */
export type HostContext = { root: string; docker: DockerApi; service: ServiceManager };

/** Reads the snapshot planApply takes; `users` are the users whose client config matters. */
export async function readHostSnapshot(ctx: HostContext, users: readonly string[]): Promise<HostSnapshot> {
  const daemonJsonPath = underRoot(ctx.root, HOST_PATHS.daemonJson);
  const dropInPath = underRoot(ctx.root, HOST_PATHS.dropIn);
  const envFilePath = underRoot(ctx.root, HOST_PATHS.proxyEnvironmentFile);
  const [daemonJson, dropIn, envFile, info, dockerdArgs] = await Promise.all([
    readTextOrNull(daemonJsonPath),
    readTextOrNull(dropInPath),
    readTextOrNull(envFilePath),
    ctx.docker.info(),
    ctx.service.dockerdArgs(),
  ]);
  const clientConfigs: Record<string, HostFile> = {};
  if (users.length > 0) {
    const known = await readLocalUsers(ctx.root);
    for (const name of users) {
      const user = known.get(name);
      if (!user) continue;
      const path = underRoot(ctx.root, clientConfigPath(user.home));
      clientConfigs[name] = { path, text: await readTextOrNull(path), owner: { uid: user.uid, gid: user.gid } };
    }
  }
  return {
    daemonJson: { path: daemonJsonPath, text: daemonJson },
    dropIn: { path: dropInPath, text: dropIn },
    proxyEnvironmentFile: { path: envFilePath, text: envFile },
    clientConfigs,
    serviceManager: ctx.service.kind,
    dockerdArgs,
    daemon: observeDaemonInfo(info),
  };
}

function proxyView(http: unknown, https: unknown, noProxy: unknown): ProxyView {
  const url = (v: unknown) => (typeof v === 'string' && v !== '' ? redactUrl(v) : null);
  const list = typeof noProxy === 'string' && noProxy !== '' ? noProxy.split(',').map((s) => s.trim()).filter(Boolean) : [];
  return { http: url(http), https: url(https), noProxy: list };
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Reads what the managed files say (pure over their texts). */
export function observeFiles(daemonJson: string | null, dropIn: string | null, proxyEnvironmentFile: string | null, clientConfigs: Record<string, string | null>): ObservedFiles {
  let parsed: Record<string, unknown> | null = null;
  let status: ObservedFiles['daemonJson'] = daemonJson === null ? 'missing' : 'invalid';
  if (daemonJson !== null) {
    try {
      parsed = daemonJson.trim() === '' ? {} : asObject(JSON.parse(daemonJson));
      if (parsed) status = 'ok';
    } catch {
      parsed = null;
    }
  }
  const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  const proxies = asObject(parsed?.proxies);
  // The proxy dockerd < 23 gets under systemd: only in force while the drop-in points at the file.
  const env = dropIn === null ? null : parseProxyEnvironmentFile(proxyEnvironmentFile);
  const clientProxies: ObservedFiles['clientProxies'] = {};
  for (const [user, text] of Object.entries(clientConfigs)) {
    let def: Record<string, unknown> | null = null;
    try {
      def = asObject(asObject(asObject(text ? JSON.parse(text) : null)?.proxies)?.default);
    } catch {
      def = null;
    }
    clientProxies[user] = def ? proxyView(def.httpProxy, def.httpsProxy, def.noProxy) : null;
  }
  return {
    daemonJson: status,
    daemonJsonSha256: sha256OrNull(daemonJson),
    registryMirrors: strings(parsed?.['registry-mirrors']),
    insecureRegistries: strings(parsed?.['insecure-registries']),
    daemonJsonProxy: proxies ? proxyView(proxies['http-proxy'], proxies['https-proxy'], proxies['no-proxy']) : null,
    dropInProxy: env ? proxyView(env.HTTP_PROXY, env.HTTPS_PROXY, env.NO_PROXY) : null,
    clientProxies,
  };
}

/** The observed state of the host: its files, its daemon, the revision last applied. */
export async function observeHost(ctx: HostContext, appliedRevision: number | null, clientUsers: readonly string[], now: () => Date): Promise<ObservedState> {
  const snapshot = await readHostSnapshot(ctx, clientUsers);
  const clientTexts: Record<string, string | null> = {};
  for (const [user, file] of Object.entries(snapshot.clientConfigs)) clientTexts[user] = file.text;
  return {
    at: now().toISOString(),
    appliedRevision,
    files: observeFiles(snapshot.daemonJson.text, snapshot.dropIn.text, snapshot.proxyEnvironmentFile.text, clientTexts),
    daemon: snapshot.daemon,
  };
}
