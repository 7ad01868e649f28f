/**
 * Shows hosts at work on a terminal and runs them: on a TTY, one line per host at work updating in
 * place (redrawn at most ten times a second) below the final lines of the hosts that are done; not on
 * a TTY, only the final lines; with --json nothing until the JSON. Then the failure details, notes and
 * summary. The wording is report.ts's; the concurrency is run-hosts.ts's.
 */
import type { HostReport, HostStep } from './host-report.js';
import type { HostTarget } from './inventory.js';
import { exitCodeOf, fitLine, renderFailureDetails, renderJsonResult, renderLiveLine, renderNotes, renderResultLine, renderSummary, type LiveHost } from './report.js';
import { runHosts } from './run-hosts.js';

/** Where and how to show progress. */
export interface DisplayOptions {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  json: boolean;
  parallel: number;
}

/** A host job: reports its steps through `onStep`, resolves with the host's report, never throws. */
export type HostJob = (target: HostTarget, onStep: (step: HostStep, detail?: string) => void) => Promise<HostReport>;

const REDRAW_MS = 100;

/** Runs `job` on every target with the display; prints the result; returns the exit code (0 or 1). */
export async function runWithDisplay(targets: readonly HostTarget[], job: HostJob, options: DisplayOptions): Promise<number> {
  const { out } = options;
  const tty = !options.json && out.isTTY === true;
  const live = new Map<number, LiveHost>();
  const finished: string[] = [];
  let drawn = 0;
  let done = 0;
  let timer: NodeJS.Timeout | null = null;

  const redraw = () => {
    timer = null;
    const width = (out.columns ?? 100) - 1;
    const now = Date.now();
    let text = drawn > 0 ? `\x1b[${drawn}A\r\x1b[0J` : '';
    for (const line of finished.splice(0)) text += `${fitLine(line, width)}\n`;
    const lines = [...live.values()].map((h) => fitLine(renderLiveLine(h, now), width));
    lines.push(`  ${done}/${targets.length} done`);
    text += lines.map((l) => `${l}\n`).join('');
    drawn = lines.length;
    out.write(text);
  };
  const schedule = () => {
    if (tty && timer === null) timer = setTimeout(redraw, REDRAW_MS);
  };
  const ticker = tty ? setInterval(schedule, 1000) : null;

  const reports = await runHosts(
    targets,
    options.parallel,
    async (target, index) => {
      live.set(index, { target: target.label, step: 'connect', startedAt: Date.now() });
      schedule();
      const report = await job(target, (step, detail) => {
        const host = live.get(index);
        if (host) live.set(index, { ...host, step, detail });
        schedule();
      });
      live.delete(index);
      done += 1;
      if (tty) {
        finished.push(renderResultLine(report));
        schedule();
      } else if (!options.json) {
        out.write(`${renderResultLine(report)}\n`);
      }
      return report;
    },
    (target, error): HostReport => ({
      target: target.label,
      name: target.name,
      group: target.group,
      outcome: 'failed',
      step: null,
      error: `internal error: ${error instanceof Error ? error.message : String(error)}`,
      output: null,
      changes: [],
      notes: [],
      facts: null,
      durationMs: 0,
    }),
  );
  if (ticker) clearInterval(ticker);
  if (timer) clearTimeout(timer);
  if (tty) {
    redraw();
    // Leave the finished lines; drop the live area's counter line.
    out.write(`\x1b[${drawn}A\r\x1b[0J`);
  }
  if (options.json) out.write(renderJsonResult(reports));
  else out.write(`${renderFailureDetails(reports)}${renderNotes(reports)}\n${renderSummary(reports)}`);
  return exitCodeOf(reports);
}
