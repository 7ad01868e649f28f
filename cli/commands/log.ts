/**
 * `fleetdock log [--host H] [--group G] [--since T] [--limit N] [--json]`: the audit log, oldest of
 * the shown entries first. T is an ISO time or a duration back from now (`30s`, `10m`, `2h`, `7d`).
 */
import { AuditLogSchema, type AuditEntryView } from '../../controller/api/drift-schemas.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock log [--host NAME] [--group NAME] [--since T] [--limit N] [--json]

Shows the audit log: operator actions (group.create, settings.set, token.create, group.drift-policy,
rollout.*) and host events (host.enrol, host.applied, host.rolled-back, host.failed, host.drifted,
host.converged, drift.enforce): when, who, what, from which revision to which. Nothing in it is secret.

options:
  --host NAME    only this host's entries
  --group NAME   only this group's entries
  --since T      entries at or after T: an ISO time (2026-11-28T10:00:00Z) or a duration ago (30s, 10m, 2h, 7d)
  --limit N      at most N entries, the newest (1-1000, default 100)
  --json         the API's answer as JSON: { entries: [...], truncated }

${CONNECTION_USAGE}`;

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Pure: `--since` as an ISO time; throws UsageError when it is neither a time nor a duration. */
export function parseSince(text: string, now: Date): string {
  const duration = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return new Date(text).toISOString();
  throw new UsageError(`--since ${JSON.stringify(text)} is neither an ISO time (2026-11-28T10:00:00Z) nor a duration (30s, 10m, 2h, 7d)`);
}

function revisions(e: AuditEntryView): string {
  if (e.fromRevision === null && e.toRevision === null) return '-';
  if (e.fromRevision === null) return `${e.toRevision}`;
  return `${e.fromRevision}->${e.toRevision ?? '-'}`;
}

/** Pure: an entry's details as one short line. */
export function renderDetails(details: Record<string, unknown> | null): string {
  if (!details) return '';
  const text = Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** Pure: the log as a table. */
export function renderLogTable(entries: readonly AuditEntryView[], truncated: boolean): string {
  if (entries.length === 0) return 'no entries\n';
  const header = ['TIME', 'ACTOR', 'ACTION', 'GROUP', 'HOST', 'REVISION', 'DETAILS'];
  const rows = entries.map((e) => [e.at, e.actor, e.action, e.group ?? '-', e.host ?? '-', revisions(e), renderDetails(e.details)]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const more = truncated ? `(older entries not shown: use --since or --limit)\n` : '';
  return `${more}${[header, ...rows].map(line).join('\n')}\n`;
}

/** Runs `log`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...CONNECTION_OPTIONS,
      host: { type: 'string' },
      group: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit)) throw new UsageError(`--limit ${JSON.stringify(values.limit)} must be a whole number from 1 to 1000`);
    const query = new URLSearchParams();
    if (values.host !== undefined) query.set('host', values.host);
    if (values.group !== undefined) query.set('group', values.group);
    if (values.since !== undefined) query.set('since', parseSince(values.since, new Date()));
    if (values.limit !== undefined) query.set('limit', values.limit);
    const path = `/v1/log${query.size ? `?${query}` : ''}`;
    const log = await new ControllerClient(resolveConnection(values)).request('GET', path, AuditLogSchema);
    process.stdout.write(values.json ? `${JSON.stringify(log, null, 2)}\n` : renderLogTable(log.entries, log.truncated));
    return 0;
  });
}
