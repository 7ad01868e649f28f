/**
 * `fleetdock group create|set|show`: create a host group, replace its settings (a new revision), and
 * show its latest settings (redacted) and host counts. Turns flags into an API request and the answer
 * into text; the controller checks the values.
 */
import type { SettingsInput } from '../../protocol/settings.js';
import type { GroupDetail } from '../../controller/api/schemas.js';
import { DriftPolicyResponseSchema } from '../../controller/api/drift-schemas.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock group create NAME
       fleetdock group set NAME [--registry-mirror URL]... [--insecure-registry R]...
                                [--http-proxy URL] [--https-proxy URL] [--no-proxy LIST]
                                [--client-proxy-user USER]...
       fleetdock group show NAME [--json]
       fleetdock group set-policy NAME audit|enforce

set replaces the group's settings with exactly the flags given (no flags: clears them all) and
prints the revision. A group's first revision reaches its hosts at once; every later one waits for
'fleetdock rollout start NAME' (canary first, then batches). The client proxy (users' ~/.docker/config.json) gets the same proxy as dockerd
and is written only for the users given with --client-proxy-user.

set-policy chooses what happens when a host of the group drifts (a file edited by hand, a daemon not
reloaded): audit (the default) reports it; enforce also re-sends the host's desired revision, at most
once per 30 s per host, and records each re-send in the audit log.

${CONNECTION_USAGE}`;

const SET_OPTIONS = {
  ...CONNECTION_OPTIONS,
  'registry-mirror': { type: 'string', multiple: true },
  'insecure-registry': { type: 'string', multiple: true },
  'http-proxy': { type: 'string' },
  'https-proxy': { type: 'string' },
  'no-proxy': { type: 'string' },
  'client-proxy-user': { type: 'string', multiple: true },
} as const;

/** The flags of `group set`, as parsed. */
export interface SetFlags {
  'registry-mirror'?: string[] | undefined;
  'insecure-registry'?: string[] | undefined;
  'http-proxy'?: string | undefined;
  'https-proxy'?: string | undefined;
  'no-proxy'?: string | undefined;
  'client-proxy-user'?: string[] | undefined;
}

/**
 * Pure: the settings request `group set` sends for its flags. Throws UsageError for combinations
 * that mean nothing (a no-proxy list or client users without a proxy).
 */
export function renderSettingsRequest(flags: SetFlags): SettingsInput {
  const http = flags['http-proxy'];
  const https = flags['https-proxy'];
  const noProxy = (flags['no-proxy'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const users = flags['client-proxy-user'] ?? [];
  const hasProxy = http !== undefined || https !== undefined;
  if (!hasProxy && flags['no-proxy'] !== undefined) throw new UsageError('--no-proxy needs --http-proxy or --https-proxy');
  if (!hasProxy && users.length > 0) throw new UsageError('--client-proxy-user needs --http-proxy or --https-proxy');
  const proxy = { ...(http !== undefined ? { http } : {}), ...(https !== undefined ? { https } : {}), noProxy };
  return {
    registryMirrors: flags['registry-mirror'] ?? [],
    insecureRegistries: flags['insecure-registry'] ?? [],
    daemonProxy: hasProxy ? proxy : null,
    clientProxy: hasProxy && users.length > 0 ? { ...proxy, users } : null,
  };
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}

function proxyLine(proxy: { http?: string | undefined; https?: string | undefined; noProxy: string[] } | null): string {
  if (!proxy) return '(none)';
  return `http ${proxy.http ?? '-'}, https ${proxy.https ?? '-'}, no-proxy ${list(proxy.noProxy)}`;
}

/**
 * Pure: what `group set` prints: the revision, and how to roll it out when hosts do not follow it yet
 * (every revision but a group's first waits for a rollout).
 */
export function renderSetResult(group: string, result: { revision: number; changed: boolean; currentRevision: number | null }): string {
  const line = `revision ${result.revision}${result.changed ? '' : ' (unchanged)'}\n`;
  if (result.currentRevision === result.revision) return line;
  return `${line}hosts are on revision ${result.currentRevision ?? '-'}; roll it out with: fleetdock rollout start ${group}\n`;
}

/** Pure: the human text of `group show`. */
export function renderGroupText(group: GroupDetail): string {
  const h = group.hosts;
  const lines = [`group ${group.name}`];
  if (!group.revision) {
    lines.push('revision            none yet (set settings with: fleetdock group set NAME ...)');
  } else {
    const { settings: s, number, createdAt, createdBy } = group.revision;
    lines.push(
      `revision            ${number} (${createdAt}${createdBy ? ` by ${createdBy}` : ''})`,
      `registry mirrors    ${list(s.registryMirrors)}`,
      `insecure registries ${list(s.insecureRegistries)}`,
      `daemon proxy        ${proxyLine(s.daemonProxy)}`,
      `client proxy        ${s.clientProxy ? `${proxyLine(s.clientProxy)}; users ${list(s.clientProxy.users)}` : '(none)'}`,
    );
    if (group.currentRevision !== number) {
      lines.push(`current revision    ${group.currentRevision ?? '-'} (hosts follow it; roll ${number} out with: fleetdock rollout start ${group.name})`);
    }
  }
  lines.push(`hosts               ${h.total} (converged ${h.converged}, pending ${h.pending}, failed ${h.failed}, offline ${h.offline}, new ${h.new})`);
  if (group.driftPolicy) lines.push(`drift policy        ${group.driftPolicy}${group.driftPolicy === 'audit' ? ' (change with: fleetdock group set-policy NAME enforce)' : ''}`);
  return `${lines.join('\n')}\n`;
}

function onlyName(positionals: string[], sub: string): string {
  if (positionals.length === 0) throw new UsageError(`group ${sub} needs a group NAME`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  return positionals[0]!;
}

/** Runs `group <create|set|show>`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'create': {
        const { values, positionals } = parseCommandArgs(rest, CONNECTION_OPTIONS);
        const name = onlyName(positionals, sub);
        await new ControllerClient(resolveConnection(values)).createGroup(name);
        process.stdout.write(`group ${name} created\n`);
        return 0;
      }
      case 'set': {
        const { values, positionals } = parseCommandArgs(rest, SET_OPTIONS);
        const name = onlyName(positionals, sub);
        const request = renderSettingsRequest(values);
        const connection = resolveConnection(values);
        const cleared = Object.keys(SET_OPTIONS).every((k) => k in CONNECTION_OPTIONS || values[k as keyof typeof values] === undefined);
        if (cleared) process.stderr.write(`fleetdock: no settings given: clearing every mirror, insecure registry and proxy of group ${name}\n`);
        const result = await new ControllerClient(connection).setSettings(name, request);
        process.stdout.write(renderSetResult(name, result));
        return 0;
      }
      case 'show': {
        const { values, positionals } = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
        const name = onlyName(positionals, sub);
        const group = await new ControllerClient(resolveConnection(values)).getGroup(name);
        process.stdout.write(values.json ? `${JSON.stringify(group, null, 2)}\n` : renderGroupText(group));
        return 0;
      }
      case 'set-policy': {
        const { values, positionals } = parseCommandArgs(rest, CONNECTION_OPTIONS);
        if (positionals.length !== 2) throw new UsageError('group set-policy needs a group NAME and a policy: audit or enforce');
        const [name, policy] = positionals as [string, string];
        if (policy !== 'audit' && policy !== 'enforce') throw new UsageError(`drift policy must be audit or enforce, not ${JSON.stringify(policy)}`);
        const result = await new ControllerClient(resolveConnection(values)).request('PUT', `/v1/groups/${encodeURIComponent(name)}/drift-policy`, DriftPolicyResponseSchema, { policy });
        process.stdout.write(`group ${result.group}: drift policy ${result.policy}${result.changed ? '' : ' (unchanged)'}\n`);
        return 0;
      }
      default:
        throw new UsageError(sub === undefined ? 'group needs a subcommand: create, set, show or set-policy' : `unknown group subcommand '${sub}'`);
    }
  });
}
