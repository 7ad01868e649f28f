// How hosts are shown: final lines, failure details, summary, JSON and the exit code; and the live
// display on a terminal and off one (a fake stream), with bounded concurrency.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HostReport } from './host-report.js';
import type { HostTarget } from './inventory.js';
import { runWithDisplay } from './progress-display.js';
import { exitCodeOf, fitLine, renderFailureDetails, renderJsonResult, renderLiveLine, renderNotes, renderResultLine, renderSummary } from './report.js';
import { runHosts } from './run-hosts.js';

const report = (over: Partial<HostReport>): HostReport => ({
  target: 'root@127.0.0.1:2201',
  name: 'bs1',
  group: 'ci',
  outcome: 'enrolled',
  step: null,
  error: null,
  output: null,
  changes: [],
  notes: [],
  facts: null,
  durationMs: 12_345,
  ...over,
});
const FAILED = report({ target: 'root@127.0.0.1:2299', name: null, outcome: 'failed', step: 'connect', error: 'ECONNREFUSED 127.0.0.1:2299', durationMs: 40 });
const NO_SUDO = report({ target: 'bob@bs2', name: 'bs2', outcome: 'failed', step: 'check', error: 'sudo needs a password for user bob', output: 'line 1\nline 2' });

describe('lines', () => {
  it.each([
    [report({}), '✓ root@127.0.0.1:2201 (bs1): enrolled, 12.3 s'],
    [report({ outcome: 'already-enrolled' }), '✓ root@127.0.0.1:2201 (bs1): already enrolled, 12.3 s'],
    [FAILED, '✗ root@127.0.0.1:2299: connect: ECONNREFUSED 127.0.0.1:2299, 0.0 s'],
    [report({ outcome: 'failed', step: 'host-key', error: 'changed (expected SHA256:a, got SHA256:b)' }), '✗ root@127.0.0.1:2201 (bs1): host key: changed (expected SHA256:a, got SHA256:b), 12.3 s'],
  ])('%#', (r, line) => {
    expect(renderResultLine(r)).toBe(line);
  });

  it('a live line shows the step, its detail and the time so far', () => {
    expect(renderLiveLine({ target: 'root@bs1', step: 'upload', detail: '45%', startedAt: 1_000 }, 4_200)).toBe('  … root@bs1  upload 45%  (3.2 s)');
  });

  it('cuts lines to the terminal width and never lets them wrap', () => {
    expect(fitLine('abcdef', 4)).toBe('abc…');
    expect(fitLine('ab\n  cd', 80)).toBe('ab cd');
  });

  it('details show each failure and the failing command\'s output', () => {
    expect(renderFailureDetails([report({}), FAILED, NO_SUDO])).toBe(
      [
        '',
        'failed:',
        '  root@127.0.0.1:2299',
        '    connect: ECONNREFUSED 127.0.0.1:2299',
        '  bob@bs2 (bs2)',
        '    check: sudo needs a password for user bob',
        '      | line 1',
        '      | line 2',
        '',
      ].join('\n'),
    );
    expect(renderFailureDetails([report({})])).toBe('');
  });

  it('shows each note once with the hosts it is about', () => {
    const note = 'live-restore off: a dockerd restart (proxy changes) stops running containers';
    const hosts = Array.from({ length: 10 }, (_, i) => report({ name: `bs${i}`, notes: i === 3 ? [note, 'other'] : [note] }));
    expect(renderNotes(hosts)).toBe(`\nnotes:\n  bs0, bs1, bs2, bs3, bs4, bs5, bs6, bs7 and 2 more: ${note}\n  bs3: other\n`);
    expect(renderNotes([report({})])).toBe('');
  });

  it('sums up, and exits 1 when any host failed', () => {
    const all = [report({}), report({ outcome: 'already-enrolled' }), FAILED];
    expect(renderSummary(all)).toBe('3 hosts: 1 enrolled, 1 already enrolled, 1 failed\n');
    expect(renderSummary([report({ outcome: 'removed' })])).toBe('1 host: 1 removed, 0 failed\n');
    expect(exitCodeOf(all)).toBe(1);
    expect(exitCodeOf([report({}), report({ outcome: 'updated' }), report({ outcome: 'not-installed' })])).toBe(0);
    expect(JSON.parse(renderJsonResult(all))).toMatchObject({ ok: false, summary: { total: 3, enrolled: 1, 'already-enrolled': 1, failed: 1 }, hosts: all });
  });
});

describe('runHosts', () => {
  it('never runs more than `parallel` at once, keeps the order, and turns a throw into that host\'s result', async () => {
    let running = 0;
    let most = 0;
    const results = await runHosts(
      [5, 1, 3, 'boom', 2, 4] as const,
      2,
      async (item) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, typeof item === 'number' ? item * 3 : 1));
        running -= 1;
        if (item === 'boom') throw new Error('bad host');
        return `ok ${item}`;
      },
      (item, error) => `failed ${item}: ${(error as Error).message}`,
    );
    expect(results).toEqual(['ok 5', 'ok 1', 'ok 3', 'failed boom: bad host', 'ok 2', 'ok 4']);
    expect(most).toBe(2);
  });

  it('refuses a parallel of 0', async () => {
    await expect(runHosts([1], 0, async () => 1, () => 0)).rejects.toThrow(/at least 1/);
  });
});

describe('runWithDisplay', () => {
  const targets = ['a', 'b', 'c'].map((n): HostTarget => ({ label: `root@${n}`, host: n, port: 22, user: 'root', keyPath: null, group: 'ci', name: null, fingerprint: null, source: 'test' }));
  const job = async (t: HostTarget, onStep: (step: 'check' | 'upload', detail?: string) => void): Promise<HostReport> => {
    onStep('check');
    await new Promise((r) => setTimeout(r, 150));
    onStep('upload', '50%');
    await new Promise((r) => setTimeout(r, 150));
    return t.host === 'b' ? report({ target: t.label, name: t.host, outcome: 'failed', step: 'check', error: 'no dockerd on the host' }) : report({ target: t.label, name: t.host });
  };
  const sink = (isTTY: boolean) => {
    let text = '';
    const out = Object.assign(new Writable({ write(chunk, _e, done) { text += String(chunk); done(); } }), { isTTY, columns: 60 });
    return { out, text: () => text };
  };

  it('off a terminal: one final line per host, the details and the summary', async () => {
    const { out, text } = sink(false);
    expect(await runWithDisplay(targets, job, { out, json: false, parallel: 3 })).toBe(1);
    expect(text()).not.toMatch(/\x1b/);
    const lines = text().split('\n');
    expect(lines.slice(0, 3).sort()).toEqual(['✓ root@a (a): enrolled, 12.3 s', '✓ root@c (c): enrolled, 12.3 s', '✗ root@b (b): check: no dockerd on the host, 12.3 s']);
    expect(text()).toMatch(/failed:\n {2}root@b \(b\)\n {4}check: no dockerd on the host\n/);
    expect(text().endsWith('3 hosts: 2 enrolled, 1 failed\n')).toBe(true);
  });

  it('on a terminal: live lines redrawn in place, then the final lines', async () => {
    const { out, text } = sink(true);
    await runWithDisplay(targets, job, { out, json: false, parallel: 2 });
    expect(text()).toMatch(/\x1b\[\d+A\r\x1b\[0J/);
    expect(text()).toMatch(/… root@a {2}(check|upload)/);
    expect(text()).toMatch(/\/3 done/);
    expect(text()).toContain('✗ root@b (b): check: no dockerd on the host, 12.3 s\n');
  });

  it('--json: only the JSON document', async () => {
    const { out, text } = sink(true);
    expect(await runWithDisplay(targets, job, { out, json: true, parallel: 3 })).toBe(1);
    expect(JSON.parse(text()).summary).toMatchObject({ total: 3, enrolled: 2, failed: 1 });
  });
});
