/**
 * Pure: `fleetdock drift --history` as text: one line per drift period (host, group, field, kind,
 * when it began and ended, how long it lasted). No I/O; the command itself is drift.ts.
 */
import type { DriftHistory } from '../../controller/api/drift-history-schemas.js';

/** Pure: a duration as at most two units: `850ms`, `42s`, `3m 05s`, `2h 10m`, `4d 03h`. */
export function renderDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${pad(Math.floor((seconds % 3600) / 60))}m`;
  return `${Math.floor(seconds / 86_400)}d ${pad(Math.floor((seconds % 86_400) / 3600))}h`;
}

/**
 * Pure: the drift history as a table, oldest period first; an open period's ENDED is `open` and its
 * duration is how long it has lasted so far.
 */
export function renderDriftHistoryTable(history: DriftHistory): string {
  if (history.periods.length === 0) return 'no drift periods\n';
  const header = ['HOST', 'GROUP', 'FIELD', 'KIND', 'BEGAN', 'ENDED', 'DURATION'];
  const rows = history.periods.map((p) => [p.host, p.group, p.field, p.kind, p.beganAt, p.endedAt ?? 'open', renderDuration(p.durationMs)]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const more = history.truncated ? '(earlier periods not shown: use --since or --limit)\n' : '';
  return `${more}${[header, ...rows].map(line).join('\n')}\n`;
}
