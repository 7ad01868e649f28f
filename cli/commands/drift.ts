/**
 * `fleetdock drift [--group G] [--host H] [--json]`: which hosts are not what their desired revision
 * says, in what field, why and since when, with the fleet summary. Turns the API's answer into text.
 */
import { DriftListSchema, type DriftList } from '../../controller/api/drift-schemas.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';
import { renderAge, renderFleetSummary } from './hosts.js';

const USAGE = `usage: fleetdock drift [--group NAME] [--host NAME] [--json]

Lists hosts whose files or daemon differ from their desired revision, one line per field and reason:
  file-edited          the host is on its desired revision, but a file says something else
  daemon-not-reloaded  the files are right, but dockerd reports something else (reload or restart it)
  apply-failed         the host's last apply of its desired revision failed or was rolled back
  behind               the host is not on its desired revision yet
  offline              the host has not been connected for a while
Fields: registryMirrors, insecureRegistries, daemonProxy, clientProxy, or host (the whole host).
Proxy passwords are never shown.

options:
  --group NAME   only this group's hosts
  --host NAME    only this host
  --json         the API's answer as JSON: { summary, hosts: [{ name, group, drifts: [...] }] }

${CONNECTION_USAGE}`;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Pure: a drift value (redacted JSON) as short text. */
export function renderDriftValue(value: unknown, now: Date): string {
  if (value === null || value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : '(none)';
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('revision' in v) return `revision ${v.revision ?? 'none'}${typeof v.error === 'string' ? ` (${v.error})` : ''}`;
    if ('connected' in v) return v.connected ? 'connected' : typeof v.lastSeenAt === 'string' ? `last seen ${renderAge(v.lastSeenAt, now)}` : 'never connected';
    if ('http' in v || 'https' in v || 'noProxy' in v) {
      const parts = [v.http && `http ${v.http}`, v.https && `https ${v.https}`, Array.isArray(v.noProxy) && v.noProxy.length && `no-proxy ${v.noProxy.join(',')}`].filter(Boolean);
      return parts.length ? parts.join(' ') : '(none)';
    }
    // client proxy: user -> proxy
    const users = Object.keys(v).sort();
    return users.length ? users.map((u) => `${u}: ${renderDriftValue(v[u], now)}`).join('; ') : '(none)';
  }
  return String(value);
}

/** Pure: the drift table with the summary line, columns padded to fit. */
export function renderDriftTable(list: DriftList, now: Date): string {
  const summary = renderFleetSummary(list.summary);
  if (list.hosts.length === 0) return `no drift\n${summary}`;
  const header = ['HOST', 'GROUP', 'FIELD', 'KIND', 'SINCE', 'EXPECTED', 'ACTUAL'];
  const rows = list.hosts.flatMap((h) =>
    h.drifts.map((d) => [h.name, h.group, d.field, d.kind, renderAge(d.since, now), clip(renderDriftValue(d.expected, now), 60), clip(renderDriftValue(d.actual, now), 60)]),
  );
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n\n${summary}`;
}

/** Runs `drift`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const { values, positionals } = parseCommandArgs(argv, { ...CONNECTION_OPTIONS, group: { type: 'string' }, host: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const query = new URLSearchParams();
    if (values.group !== undefined) query.set('group', values.group);
    if (values.host !== undefined) query.set('host', values.host);
    const path = `/v1/drift${query.size ? `?${query}` : ''}`;
    const list = await new ControllerClient(resolveConnection(values)).request('GET', path, DriftListSchema);
    process.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : renderDriftTable(list, new Date()));
    return 0;
  });
}
