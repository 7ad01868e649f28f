/**
 * What an agent sees on its host: the facts it reports once per connection and the observed state of
 * the files it manages and of the running daemon. Proxy URLs in here are always redacted (`xxxxx`).
 */
import { z } from 'zod';

/** Facts about a host that decide how settings are applied there. */
export const HostFactsSchema = z.strictObject({
  /** The host's own name (`os.hostname()`). */
  hostname: z.string().max(255),
  /** `process.platform`-style OS name and kernel release, e.g. `linux 6.1.0`. */
  os: z.string().max(255),
  /** CPU architecture, e.g. `x64`, `arm64`. */
  arch: z.string().max(64),
  /** dockerd's version from `GET /info` (`ServerVersion`), or null when the daemon did not answer. */
  dockerVersion: z.string().max(64).nullable(),
  /** How the agent reloads and restarts dockerd on this host. */
  serviceManager: z.enum(['systemd', 'signal']),
  /** Whether dockerd runs with live-restore (a restart then keeps containers running); null if unknown. */
  liveRestore: z.boolean().nullable(),
  /** Version of the agent's own code. */
  agentVersion: z.string().max(64),
});
export type HostFacts = z.infer<typeof HostFactsSchema>;

const ProxyViewSchema = z.strictObject({
  http: z.string().max(2048).nullable(),
  https: z.string().max(2048).nullable(),
  noProxy: z.array(z.string().max(300)).max(256),
});
/** A proxy as observed, credentials redacted. */
export type ProxyView = z.infer<typeof ProxyViewSchema>;

/** What the files fleetdock manages say. */
export const ObservedFilesSchema = z.strictObject({
  /** daemon.json: `missing`, `invalid` (not JSON or not an object), or `ok`. */
  daemonJson: z.enum(['ok', 'missing', 'invalid']),
  /** sha256 of daemon.json's bytes, or null when missing. */
  daemonJsonSha256: z.string().max(64).nullable(),
  registryMirrors: z.array(z.string().max(2048)).max(64),
  insecureRegistries: z.array(z.string().max(300)).max(256),
  /** `proxies` in daemon.json (Docker >= 23), or null. */
  daemonJsonProxy: ProxyViewSchema.nullable(),
  /** The proxy in fleetdock's systemd drop-in, or null when there is none. */
  dropInProxy: ProxyViewSchema.nullable(),
  /** Client proxies in users' `~/.docker/config.json`, by user. */
  clientProxies: z.record(z.string().max(64), ProxyViewSchema.nullable()),
});
export type ObservedFiles = z.infer<typeof ObservedFilesSchema>;

/** What the running daemon reports through `GET /info`. */
export const ObservedDaemonSchema = z.strictObject({
  /** Whether `GET /_ping` answered. */
  running: z.boolean(),
  version: z.string().max(64).nullable(),
  /** `RegistryConfig.Mirrors`, trailing `/` removed. */
  registryMirrors: z.array(z.string().max(2048)).max(64),
  /** Insecure registries from `IndexConfigs` (not docker.io) and `InsecureRegistryCIDRs` (not 127.0.0.0/8). */
  insecureRegistries: z.array(z.string().max(300)).max(256),
  /** `HttpProxy`, `HttpsProxy`, `NoProxy`, as dockerd reports them (masked). */
  proxy: ProxyViewSchema,
  liveRestore: z.boolean().nullable(),
});
export type ObservedDaemon = z.infer<typeof ObservedDaemonSchema>;

/** The observed state of one host. */
export const ObservedStateSchema = z.strictObject({
  /** When the agent looked, ISO 8601. */
  at: z.string().max(64),
  /** The revision whose settings the agent last applied with success, or null. */
  appliedRevision: z.number().int().nonnegative().nullable(),
  files: ObservedFilesSchema,
  daemon: ObservedDaemonSchema,
});
export type ObservedState = z.infer<typeof ObservedStateSchema>;
