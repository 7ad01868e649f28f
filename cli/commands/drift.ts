/**
 * `fleetdock drift [--group G] [--host H] [--json]`: which hosts are not what their desired revision
 * says, in what field, why and since when, with the fleet summary. With `--history [--since T]
 * [--limit N]`: every drift period, ended ones too (rendered by drift-render.ts). Turns the API's
 * answers into text.
 */
import { DriftHistorySchema } from '../../controller/api/drift-history-schemas.js';
import { DriftListSchema, type DriftList } from '../../controller/api/drift-schemas.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';
import { renderDriftHistoryTable } from './drift-render.js';
import { renderAge, renderFleetSummary } from './hosts.js';
import { parseSince } from './log.js';

const USAGE = `usage: fleetdock drift [--group NAME] [--host NAME] [--json]
       fleetdock drift --history [--group NAME] [--host NAME] [--since T] [--limit N] [--json]

Lists hosts whose files or daemon differ from their desired revision, one line per field and reason:
  file-edited          the host is on its desired revision, but a file says something else
  daemon-not-reloaded  the files are right, but dockerd reports something else (reload or restart it)
  apply-failed         the host's last apply of its desired revision failed or was rolled back
  behind               the host is not on its desired revision yet
  offline              the host has not been connected for a while
Fields: registryMirrors, insecureRegistries, daemonProxy, clientProxy, or host (the whole host).
Proxy passwords are never shown.

With --history: every drift period, the ended ones too, oldest first: host, group, field, kind, when
it began, when it ended (or "open"), and how long it lasted (so far, when open).

options:
  --group NAME   only this group's hosts
  --host NAME    only this host
  --history      the drift periods, not only the hosts drifted now
  --since T      (--history) periods that lasted until T or later: an ISO time (2026-11-28T10:00:00Z)
                 or a duration ago (30s, 10m, 2h, 7d)
  --limit N      (--history) at most N periods, the ones that began last (1-1000, default 100)
  --json         the API's answer as JSON: { summary, hosts: [{ name, group, drifts: [...] }] }, or
                 with --history { periods: [{ host, group, field, kind, beganAt, endedAt, durationMs, ... }], truncated }

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
    const { values, positionals } = parseCommandArgs(argv, {
      ...CONNECTION_OPTIONS,
      group: { type: 'string' },
      host: { type: 'string' },
      history: { type: 'boolean' },
      since: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.history && (values.since !== undefined || values.limit !== undefined)) throw new UsageError(`--${values.since !== undefined ? 'since' : 'limit'} goes with --history`);
    if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit)) throw new UsageError(`--limit ${JSON.stringify(values.limit)} must be a whole number from 1 to 1000`);
    const query = new URLSearchParams();
    if (values.group !== undefined) query.set('group', values.group);
    if (values.host !== undefined) query.set('host', values.host);
    const client = new ControllerClient(resolveConnection(values));
    if (values.history) {
      if (values.since !== undefined) query.set('since', parseSince(values.since, new Date()));
      if (values.limit !== undefined) query.set('limit', values.limit);
      const history = await client.request('GET', `/v1/drift/history${query.size ? `?${query}` : ''}`, DriftHistorySchema);
      process.stdout.write(values.json ? `${JSON.stringify(history, null, 2)}\n` : renderDriftHistoryTable(history));
      return 0;
    }
    const path = `/v1/drift${query.size ? `?${query}` : ''}`;
    const list = await client.request('GET', path, DriftListSchema);
    process.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : renderDriftTable(list, new Date()));
    return 0;
  });
}
