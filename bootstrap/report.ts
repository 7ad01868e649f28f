/**
 * Pure: how bootstrap and uninstall show hosts. The live line of a host at work, the final line of a
 * host that is done, the failure details (the output of the step that failed), the summary line,
 * the JSON result, and the exit code (0 when every host succeeded, 1 when any failed).
 */
import { describeFailure, STEP_LABELS, SUCCESS_OUTCOMES, type HostOutcome, type HostReport, type HostStep } from './host-report.js';

/** A host at work, for the live display. */
export interface LiveHost {
  target: string;
  step: HostStep;
  detail?: string | undefined;
  /** When the host started, ms since epoch. */
  startedAt: number;
}

/** Outcomes as people read them. */
export const OUTCOME_LABELS: Record<HostOutcome, string> = {
  enrolled: 'enrolled',
  'already-enrolled': 'already enrolled',
  updated: 'updated',
  removed: 'removed',
  'not-installed': 'not installed',
  failed: 'failed',
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Cuts a line to `width` characters (a terminal line must not wrap, or redrawing breaks). */
export function fitLine(line: string, width: number): string {
  const oneLine = line.replace(/\s*\n\s*/g, ' ');
  if (width <= 1 || oneLine.length <= width) return oneLine;
  return `${oneLine.slice(0, width - 1)}…`;
}

/** `  … root@bs1:2222  upload 45%  (3.2 s)` */
export function renderLiveLine(host: LiveHost, now: number): string {
  return `  … ${host.target}  ${STEP_LABELS[host.step]}${host.detail ? ` ${host.detail}` : ''}  (${seconds(now - host.startedAt)})`;
}

/** `✓ root@bs1:2222 (bs1): enrolled, 12.3 s` or `✗ root@bs9:2299: connect: ECONNREFUSED 127.0.0.1:2299` */
export function renderResultLine(report: HostReport): string {
  const ok = SUCCESS_OUTCOMES.includes(report.outcome);
  const who = `${report.target}${report.name && report.name !== report.target ? ` (${report.name})` : ''}`;
  const what = ok ? OUTCOME_LABELS[report.outcome] : describeFailure(report);
  return `${ok ? '✓' : '✗'} ${who}: ${what}, ${seconds(report.durationMs)}`;
}

/** Per failed host: its failure and the output of the failing command, indented; '' when none failed. */
export function renderFailureDetails(reports: readonly HostReport[]): string {
  const blocks = reports
    .filter((r) => r.outcome === 'failed')
    .map((r) => {
      const head = `${r.target}${r.name ? ` (${r.name})` : ''}\n    ${describeFailure(r)}`;
      return r.output ? `${head}\n${r.output.split('\n').map((l) => `      | ${l}`).join('\n')}` : head;
    });
  return blocks.length === 0 ? '' : `\nfailed:\n${blocks.map((b) => `  ${b}`).join('\n')}\n`;
}

/** How many host names a note lists before `and N more`. */
const NOTE_HOSTS_SHOWN = 8;

/** Notes (live-restore, what was left alone), each once with the hosts it is about. */
export function renderNotes(reports: readonly HostReport[]): string {
  const hostsByNote = new Map<string, string[]>();
  for (const r of reports) {
    for (const note of r.notes) hostsByNote.set(note, [...(hostsByNote.get(note) ?? []), r.name ?? r.target]);
  }
  const lines = [...hostsByNote].map(([note, hosts]) => {
    const shown = hosts.slice(0, NOTE_HOSTS_SHOWN).join(', ');
    const more = hosts.length > NOTE_HOSTS_SHOWN ? ` and ${hosts.length - NOTE_HOSTS_SHOWN} more` : '';
    return `  ${shown}${more}: ${note}`;
  });
  return lines.length === 0 ? '' : `\nnotes:\n${lines.join('\n')}\n`;
}

/** How many hosts ended each way. */
export function countOutcomes(reports: readonly HostReport[]): Record<HostOutcome, number> & { total: number } {
  const counts = { total: reports.length, enrolled: 0, 'already-enrolled': 0, updated: 0, removed: 0, 'not-installed': 0, failed: 0 };
  for (const r of reports) counts[r.outcome] += 1;
  return counts;
}

/** `5 hosts: 3 enrolled, 1 already enrolled, 1 failed` (outcomes with zero hosts left out, except failed). */
export function renderSummary(reports: readonly HostReport[]): string {
  const counts = countOutcomes(reports);
  const parts = (Object.keys(OUTCOME_LABELS) as HostOutcome[]).filter((o) => counts[o] > 0 || o === 'failed').map((o) => `${counts[o]} ${OUTCOME_LABELS[o]}`);
  return `${counts.total} host${counts.total === 1 ? '' : 's'}: ${parts.join(', ')}\n`;
}

/** 0 when every host succeeded, 1 when any failed. */
export function exitCodeOf(reports: readonly HostReport[]): number {
  return reports.every((r) => SUCCESS_OUTCOMES.includes(r.outcome)) ? 0 : 1;
}

/** The --json document: `{ ok, summary, hosts }`. */
export function renderJsonResult(reports: readonly HostReport[]): string {
  const { total, ...byOutcome } = countOutcomes(reports);
  return `${JSON.stringify({ ok: exitCodeOf(reports) === 0, summary: { total, ...byOutcome }, hosts: reports }, null, 2)}\n`;
}
