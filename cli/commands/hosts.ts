/**
 * `fleetdock hosts [--group NAME] [--json]`: lists enrolled hosts with their status, applied and
 * desired revision, last action, when last seen and the last error.
 */
import type { FleetSummaryView } from '../../controller/api/drift-schemas.js';
import type { HostView } from '../../controller/api/schemas.js';
import { parseCommandArgs, UsageError, withUsage } from '../args.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, ControllerClient, resolveConnection } from '../client.js';

const USAGE = `usage: fleetdock hosts [--group NAME] [--json]

Lists enrolled hosts. STATUS is converged, pending (behind, connected), failed (the desired revision
rolled back or failed), offline or new (never connected).
The last line sums the fleet up: converged, drifted (on the desired revision, but a file or dockerd
says otherwise: see fleetdock drift), behind, offline (or never connected) and failed.

options:
  --group NAME   only this group's hosts
  --json         the API's answer as JSON

${CONNECTION_USAGE}`;

/** Pure: how long ago `then` was, as `42s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function renderAge(then: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(then)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** Pure: the fleet summary line (converged, drifted, behind, offline, failed). */
export function renderFleetSummary(s: FleetSummaryView): string {
  return `${s.total} host${s.total === 1 ? '' : 's'}: ${s.converged} converged, ${s.drifted} drifted, ${s.behind} behind, ${s.offline} offline, ${s.failed} failed\n`;
}

/** Pure: the hosts table, columns padded to fit. */
export function renderHostsTable(hosts: readonly HostView[], now: Date): string {
  const header = ['NAME', 'GROUP', 'STATUS', 'APPLIED/DESIRED', 'ACTION', 'LAST-SEEN', 'ERROR'];
  const rows = hosts.map((h) => {
    const error = h.lastResult?.error;
    const errorText = error ? `${error.code}: ${error.message}` : '';
    return [
      h.name,
      h.group,
      h.revokedAt ? 'revoked' : h.status,
      `${h.appliedRevision ?? '-'}/${h.desiredRevision ?? '-'}`,
      h.lastResult?.action ?? '-',
      h.connected ? 'connected' : h.lastSeenAt ? renderAge(h.lastSeenAt, now) : 'never',
      errorText.length > 80 ? `${errorText.slice(0, 79)}…` : errorText,
    ];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Runs `hosts`. */
export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, argv, async () => {
    const { values, positionals } = parseCommandArgs(argv, { ...CONNECTION_OPTIONS, group: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const { hosts, summary } = await new ControllerClient(resolveConnection(values)).listHosts(values.group);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ hosts, summary }, null, 2)}\n`);
    } else if (hosts.length === 0) {
      process.stdout.write(`no hosts enrolled${values.group ? ` in group ${values.group}` : ''} (make a join token: fleetdock token create --group NAME)\n`);
    } else {
      process.stdout.write(`${renderHostsTable(hosts, new Date())}\n${renderFleetSummary(summary)}`);
    }
    return 0;
  });
}
