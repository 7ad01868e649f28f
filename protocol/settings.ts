/**
 * The settings model: what an operator wants a group of hosts to have. One schema, checked by the
 * controller on every request and by the agent on every `desired` message; types are inferred from it.
 */
import { z } from 'zod';
import { parseInsecureRegistry, parseMirrorUrl, parseNoProxyEntry, parseProxyUrl, parseUserName, type ParseResult } from './values.js';

/** Turns one of the value parsers into a string schema that normalises on success. */
function valueSchema(parse: (raw: string) => ParseResult) {
  return z.string().transform((raw, ctx) => {
    const result = parse(raw);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.message });
      return z.NEVER;
    }
    return result.value;
  });
}

function uniqueList<T extends z.ZodType<string>>(item: T, max: number, what: string) {
  return z
    .array(item)
    .max(max, `at most ${max} ${what}`)
    .refine((list) => new Set(list).size === list.length, { message: `${what} must not repeat` });
}

/** A proxy for dockerd: used for pulls from registries the host cannot reach directly. */
export const DaemonProxySchema = z.strictObject({
  /** Proxy for plain-HTTP registries, `http(s)://[user:pass@]host[:port]`. */
  http: valueSchema(parseProxyUrl).optional(),
  /** Proxy for HTTPS registries. */
  https: valueSchema(parseProxyUrl).optional(),
  /** Hosts, domains, IPs and CIDRs reached without the proxy. */
  noProxy: uniqueList(valueSchema(parseNoProxyEntry), 256, 'no-proxy entries').default([]),
}).refine((p) => p.http !== undefined || p.https !== undefined, { message: 'a proxy needs http or https' });

/** A proxy for the docker client (and so for builds and new containers), opt-in per user. */
export const ClientProxySchema = z.strictObject({
  http: valueSchema(parseProxyUrl).optional(),
  https: valueSchema(parseProxyUrl).optional(),
  noProxy: uniqueList(valueSchema(parseNoProxyEntry), 256, 'no-proxy entries').default([]),
  /** Local users whose `~/.docker/config.json` gets the proxy. */
  users: uniqueList(valueSchema(parseUserName), 64, 'users').min(1, 'a client proxy needs at least one user'),
}).refine((p) => p.http !== undefined || p.https !== undefined, { message: 'a proxy needs http or https' });

/** The settings of a host group, as one revision holds them. */
export const SettingsSchema = z.strictObject({
  /** Registry mirrors for Docker Hub pulls, in order of preference. */
  registryMirrors: uniqueList(valueSchema(parseMirrorUrl), 32, 'registry mirrors').default([]),
  /** Registries dockerd may reach over plain HTTP or with an unverified certificate. */
  insecureRegistries: uniqueList(valueSchema(parseInsecureRegistry), 128, 'insecure registries').default([]),
  /** dockerd's own proxy; null for none. */
  daemonProxy: DaemonProxySchema.nullable().default(null),
  /** The docker client's proxy; null for none. */
  clientProxy: ClientProxySchema.nullable().default(null),
});

export type Settings = z.output<typeof SettingsSchema>;
export type SettingsInput = z.input<typeof SettingsSchema>;
export type DaemonProxy = z.output<typeof DaemonProxySchema>;
export type ClientProxy = z.output<typeof ClientProxySchema>;

/** Settings with nothing set. */
export const EMPTY_SETTINGS: Settings = Object.freeze({
  registryMirrors: [],
  insecureRegistries: [],
  daemonProxy: null,
  clientProxy: null,
}) as Settings;
