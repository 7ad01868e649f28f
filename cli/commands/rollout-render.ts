/**
 * Pure: what the `rollout` commands print. A one-line summary (for logs and non-terminals), the
 * progress block a terminal redraws in place, the detailed status with one row per host, and the dry
 * run's table naming hosts whose restart stops running containers.
 */
import type { RolloutPlanResponse, RolloutView } from '../../controller/api/rollout-schemas.js';

/** Rollout states after which nothing more happens. */
export const FINISHED_STATES: ReadonlySet<RolloutView['state']> = new Set(['halted', 'aborted', 'completed', 'rolled-back']);

/** Most batches listed one per line in the progress block; more are summarised. */
const MAX_BATCH_LINES = 10;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** `5/20 done, 1 failed, 2 applying, 12 pending, 0 offline` (done = succeeded). */
export function renderCounts(view: RolloutView): string {
  const c = view.counts;
  const extra = [...(c.skipped ? [`${c.skipped} skipped`] : []), ...(c.rolledBack ? [`${c.rolledBack} rolled back`] : [])];
  return [`${c.succeeded}/${c.total} done`, `${c.failed} failed`, `${c.applying} applying`, `${c.pending} pending`, `${c.offline} offline`, ...extra].join(', ');
}

/** One line: `rollout 3 ci 1→2 running: batch 2/3, 5/20 done, ...`. */
export function renderRolloutLine(view: RolloutView): string {
  const batches = view.batches.length;
  const batch = batches === 0 ? 'no hosts' : `batch ${Math.min(view.currentBatch + 1, batches)}/${batches}`;
  return `rollout ${view.id} ${view.group} ${view.fromRevision}→${view.toRevision} ${view.state}: ${batch}, ${renderCounts(view)}`;
}

function batchLine(view: RolloutView, batch: RolloutView['batches'][number]): string {
  const states = new Map<string, number>();
  for (const h of batch.hosts) states.set(h.state, (states.get(h.state) ?? 0) + 1);
  const parts = [...states].map(([state, n]) => `${n} ${state}`).join(', ');
  const current = !FINISHED_STATES.has(view.state) && batch.index === view.currentBatch ? '>' : ' ';
  const label = `batch ${batch.index + 1}${batch.canary ? ' (canary)' : ''}`;
  const names = batch.hosts.length <= 3 ? ` [${batch.hosts.map((h) => h.name).join(', ')}]` : '';
  return `${current} ${label.padEnd(18)} ${plural(batch.hosts.length, 'host')}${names}: ${parts}`;
}

/**
 * The progress block: a header, one line per batch (the current one marked `>`; long lists
 * summarised), the counts, and the reason once there is one.
 */
export function renderRolloutProgress(view: RolloutView): string[] {
  const lines = [`rollout ${view.id} of ${view.group}: revision ${view.fromRevision} → ${view.toRevision}, ${view.state}`];
  const batches = view.batches;
  if (batches.length <= MAX_BATCH_LINES) {
    for (const batch of batches) lines.push(batchLine(view, batch));
  } else {
    const first = Math.max(0, Math.min(view.currentBatch - 2, batches.length - MAX_BATCH_LINES + 2));
    const last = Math.min(batches.length, first + MAX_BATCH_LINES - 2);
    if (first > 0) lines.push(`  batches 1-${first}: ${plural(batches.slice(0, first).reduce((n, b) => n + b.hosts.length, 0), 'host')}`);
    for (const batch of batches.slice(first, last)) lines.push(batchLine(view, batch));
    if (last < batches.length) lines.push(`  batches ${last + 1}-${batches.length}: ${plural(batches.slice(last).reduce((n, b) => n + b.hosts.length, 0), 'host')}`);
  }
  lines.push(`  hosts: ${renderCounts(view)}`);
  if (view.reason) lines.push(`  ${view.reason}`);
  return lines;
}

/**
 * The text that replaces a block of `drawn` lines printed last time with `lines`: cursor up to the
 * block's first line (ESC [ n F), clear to the end of the screen (ESC [ J), print the new block.
 */
export function renderRedraw(drawn: number, lines: readonly string[]): string {
  return `${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`;
}

/** The detailed status: the progress block, then one row per host. */
export function renderRolloutText(view: RolloutView): string {
  const rows = view.batches.flatMap((batch) =>
    batch.hosts.map((h) => {
      const error = h.error ? `${h.error.code}: ${h.error.message}` : '';
      return [
        `${batch.index + 1}${batch.canary ? '*' : ''}`,
        h.name,
        h.reverted && h.state !== 'rolled-back' ? `${h.state} (reverted)` : h.state,
        h.outcome ?? '-',
        h.action ?? '-',
        error.length > 80 ? `${error.slice(0, 79)}…` : error,
      ];
    }),
  );
  const head = `${renderRolloutProgress(view).join('\n')}\n  strategy: ${renderStrategy(view.strategy)}; up to ${plural(view.allowedFailures, 'failure')} tolerated\n`;
  return rows.length === 0 ? head : `${head}\n${table(['BATCH', 'HOST', 'STATE', 'OUTCOME', 'ACTION', 'ERROR'], rows)}`;
}

/** `canary 1, batches of 25%, 50 at once, budget 0, on halt rollback, offline skip, timeout 120 s`. */
export function renderStrategy(s: RolloutView['strategy']): string {
  return `canary ${s.canary}, batches of ${s.batchSize}, ${s.maxConcurrent} at once, failure budget ${s.failureBudget}, on halt ${s.onHalt}, offline ${s.offline}, result timeout ${s.resultTimeoutSeconds} s`;
}

/** The dry run: batches, a row per host (what changes, the action), and who loses running containers. */
export function renderPlanText(plan: RolloutPlanResponse): string {
  const lines = [
    `plan for group ${plan.group}: revision ${plan.fromRevision} → ${plan.toRevision} (dry run, nothing changed)`,
    `strategy: ${renderStrategy(plan.strategy)}; up to ${plural(plan.allowedFailures, 'failure')} tolerated`,
    `batches: ${plan.batches.length === 0 ? 'none (no hosts)' : plan.batches.map((b) => `${b.canary ? 'canary ' : ''}${b.hosts.length}`).join(', ')}`,
  ];
  const rows = plan.plan.map((h) => [
    String(h.batch + 1),
    h.host,
    h.connected ? 'yes' : 'no',
    `${h.fromRevision ?? '-'}→${h.toRevision}`,
    h.changes.length === 0 ? '(none)' : h.changes.join(', '),
    h.action,
    [...(h.stopsContainers ? ['stops running containers (no live-restore)'] : []), ...(h.warning ? [h.warning] : [])].join('; '),
  ]);
  let text = `${lines.join('\n')}\n`;
  if (rows.length > 0) text += `\n${table(['BATCH', 'HOST', 'CONNECTED', 'REVISION', 'CHANGES', 'ACTION', 'NOTE'], rows)}`;
  const stopping = plan.plan.filter((h) => h.stopsContainers).map((h) => h.host);
  text += stopping.length === 0
    ? '\nno host has to stop running containers\n'
    : `\nrestart without live-restore, running containers stop on: ${stopping.join(', ')}\n`;
  return text;
}
