// The pure parts of `fleetdock drift` (and `drift --history`), `fleetdock log` and the summary line: values to text, tables,
// and --since as a time or a duration.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/args.js';
import { parseSecondsFlag } from '../../cli/commands/controller.js';
import { renderDriftTable, renderDriftValue } from '../../cli/commands/drift.js';
import { renderDriftHistoryTable, renderDuration } from '../../cli/commands/drift-render.js';
import { renderFleetSummary } from '../../cli/commands/hosts.js';
import { parseSince, renderDetails, renderLogTable } from '../../cli/commands/log.js';

const NOW = new Date('2026-11-28T10:00:00.000Z');

describe('renderDriftValue', () => {
  it.each<[unknown, string]>([
    [['http://a:5000', 'http://b:5000'], 'http://a:5000, http://b:5000'],
    [[], '(none)'],
    [null, '(none)'],
    ['daemon.json is not valid JSON', 'daemon.json is not valid JSON'],
    [{ http: 'http://xxxxx:xxxxx@p:3128', https: null, noProxy: ['localhost', '.internal'] }, 'http http://xxxxx:xxxxx@p:3128 no-proxy localhost,.internal'],
    [{ ci: { http: null, https: 'http://p:3128', noProxy: [] }, ops: null }, 'ci: https http://p:3128; ops: (none)'],
    [{ revision: 4 }, 'revision 4'],
    [{ revision: null, error: 'VERIFY_FAILED' }, 'revision none (VERIFY_FAILED)'],
    [{ connected: true }, 'connected'],
    [{ connected: false, lastSeenAt: '2026-11-28T09:55:00.000Z' }, 'last seen 5m ago'],
    [{ connected: false, lastSeenAt: null }, 'never connected'],
  ])('%j -> %s', (value, text) => {
    expect(renderDriftValue(value, NOW)).toBe(text);
  });
});

describe('renderDriftTable', () => {
  const summary = { total: 3, converged: 1, drifted: 1, behind: 0, offline: 1, failed: 0 };
  it('one line per drift, then the summary', () => {
    const text = renderDriftTable(
      {
        summary,
        hosts: [
          { name: 'bs1', group: 'ci', connected: true, desiredRevision: 2, appliedRevision: 2, drifts: [{ field: 'registryMirrors', kind: 'file-edited', since: '2026-11-28T09:59:48.000Z', expected: ['http://a'], actual: ['http://b'], detail: 'x' }] },
          { name: 'bs2', group: 'ci', connected: false, desiredRevision: 2, appliedRevision: 2, drifts: [{ field: 'host', kind: 'offline', since: '2026-11-28T07:00:00.000Z', expected: { connected: true }, actual: { connected: false, lastSeenAt: '2026-11-28T07:00:00.000Z' }, detail: 'y' }] },
        ],
      },
      NOW,
    );
    expect(text).toBe(
      [
        'HOST  GROUP  FIELD            KIND         SINCE    EXPECTED   ACTUAL',
        'bs1   ci     registryMirrors  file-edited  12s ago  http://a   http://b',
        'bs2   ci     host             offline      3h ago   connected  last seen 3h ago',
        '',
        '3 hosts: 1 converged, 1 drifted, 0 behind, 1 offline, 0 failed',
        '',
      ].join('\n'),
    );
  });
  it('says so when nothing drifted', () => {
    expect(renderDriftTable({ summary: { ...summary, total: 1, converged: 1, drifted: 0, offline: 0 }, hosts: [] }, NOW)).toBe('no drift\n1 host: 1 converged, 0 drifted, 0 behind, 0 offline, 0 failed\n');
  });
  it('the summary line', () => {
    expect(renderFleetSummary(summary)).toBe('3 hosts: 1 converged, 1 drifted, 0 behind, 1 offline, 0 failed\n');
  });
});

describe('parseSince', () => {
  it.each<[string, string]>([
    ['30s', '2026-11-28T09:59:30.000Z'],
    ['10m', '2026-11-28T09:50:00.000Z'],
    ['2h', '2026-11-28T08:00:00.000Z'],
    ['7d', '2026-11-21T10:00:00.000Z'],
    ['2026-11-27T12:00:00Z', '2026-11-27T12:00:00.000Z'],
    ['2026-11-27T14:00:00+02:00', '2026-11-27T12:00:00.000Z'],
  ])('%s -> %s', (text, iso) => {
    expect(parseSince(text, NOW)).toBe(iso);
  });
  it.each(['yesterday', '10', '-5m', '10 m', '2026-13-45'])('refuses %j', (text) => {
    expect(() => parseSince(text, NOW)).toThrow(UsageError);
  });
});

describe('renderLogTable', () => {
  it('one line per entry, revisions as from->to, details on one line', () => {
    const text = renderLogTable(
      [
        { id: 1, at: '2026-11-28T09:00:00.000Z', actor: 'admin', action: 'settings.set', group: 'ci', host: null, fromRevision: 1, toRevision: 2, details: { changed: ['registryMirrors'] } },
        { id: 2, at: '2026-11-28T09:01:00.000Z', actor: 'host:bs1', action: 'host.applied', group: 'ci', host: 'bs1', fromRevision: null, toRevision: 2, details: null },
      ],
      true,
    );
    expect(text.split('\n')).toEqual([
      '(older entries not shown: use --since or --limit)',
      'TIME                      ACTOR     ACTION        GROUP  HOST  REVISION  DETAILS',
      '2026-11-28T09:00:00.000Z  admin     settings.set  ci     -     1->2      changed=["registryMirrors"]',
      '2026-11-28T09:01:00.000Z  host:bs1  host.applied  ci     bs1   2',
      '',
    ]);
    expect(renderLogTable([], false)).toBe('no entries\n');
    expect(renderDetails({ a: 'x'.repeat(200) })).toHaveLength(120);
  });
});

describe('parseSecondsFlag', () => {
  it('turns seconds into milliseconds and refuses anything else', () => {
    expect(parseSecondsFlag('enforce-interval', '30')).toBe(30_000);
    expect(parseSecondsFlag('enforce-interval', undefined)).toBeUndefined();
    expect(() => parseSecondsFlag('enforce-interval', '1.5')).toThrow('--enforce-interval must be a whole number of seconds');
  });
});

describe('renderDuration', () => {
  it.each<[number, string]>([
    [0, '0ms'],
    [850, '850ms'],
    [42_300, '42s'],
    [185_000, '3m 05s'],
    [7_800_000, '2h 10m'],
    [356_400_000, '4d 03h'],
  ])('%d ms -> %s', (ms, text) => {
    expect(renderDuration(ms)).toBe(text);
  });
});

describe('renderDriftHistoryTable', () => {
  it('one line per period, oldest first; an open one says open', () => {
    const period = { host: 'bs1', group: 'ci', field: 'registryMirrors', kind: 'file-edited', detail: 'x', desiredRevision: 2, appliedRevision: 2 } as const;
    const text = renderDriftHistoryTable({
      truncated: true,
      periods: [
        { ...period, beganAt: '2026-11-28T09:00:00.000Z', endedAt: '2026-11-28T09:03:05.000Z', durationMs: 185_000 },
        { ...period, host: 'build-07', kind: 'daemon-not-reloaded', beganAt: '2026-11-28T09:58:00.000Z', endedAt: null, durationMs: 120_000 },
      ],
    });
    expect(text.split('\n')).toEqual([
      '(earlier periods not shown: use --since or --limit)',
      'HOST      GROUP  FIELD            KIND                 BEGAN                     ENDED                     DURATION',
      'bs1       ci     registryMirrors  file-edited          2026-11-28T09:00:00.000Z  2026-11-28T09:03:05.000Z  3m 05s',
      'build-07  ci     registryMirrors  daemon-not-reloaded  2026-11-28T09:58:00.000Z  open                      2m 00s',
      '',
    ]);
    expect(renderDriftHistoryTable({ periods: [], truncated: false })).toBe('no drift periods\n');
  });
});
