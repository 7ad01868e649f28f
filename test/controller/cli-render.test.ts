// The pure parts of the operator commands: flags to a settings request, hosts to a table, and where
// the controller and token come from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostView } from '../../controller/api/schemas.js';
import { UsageError } from '../../cli/args.js';
import { DEFAULT_CONTROLLER_URL, resolveConnection } from '../../cli/client.js';
import { renderSettingsRequest } from '../../cli/commands/group.js';
import { renderAge, renderHostsTable } from '../../cli/commands/hosts.js';

describe('renderSettingsRequest', () => {
  it('clears everything when no flag is given', () => {
    expect(renderSettingsRequest({})).toEqual({ registryMirrors: [], insecureRegistries: [], daemonProxy: null, clientProxy: null });
  });

  it('gives the client proxy the same proxy as dockerd when users are named', () => {
    const request = renderSettingsRequest({ 'https-proxy': 'http://proxy:3128', 'no-proxy': 'localhost, .internal,,', 'client-proxy-user': ['ci', 'jenkins'] });
    expect(request.daemonProxy).toEqual({ https: 'http://proxy:3128', noProxy: ['localhost', '.internal'] });
    expect(request.clientProxy).toEqual({ https: 'http://proxy:3128', noProxy: ['localhost', '.internal'], users: ['ci', 'jenkins'] });
  });

  it.each([
    [{ 'no-proxy': 'localhost' }, '--no-proxy needs --http-proxy or --https-proxy'],
    [{ 'client-proxy-user': ['ci'] }, '--client-proxy-user needs --http-proxy or --https-proxy'],
  ])('refuses %j', (flags, message) => {
    expect(() => renderSettingsRequest(flags)).toThrow(new UsageError(message));
  });
});

describe('resolveConnection', () => {
  it('takes flags over the environment over the defaults', () => {
    expect(resolveConnection({}, {})).toEqual({ url: DEFAULT_CONTROLLER_URL, token: null, ca: null });
    expect(resolveConnection({}, { FLEETDOCK_URL: 'http://c:7700/', FLEETDOCK_TOKEN: 'env' })).toEqual({ url: 'http://c:7700', token: 'env', ca: null });
    expect(resolveConnection({ controller: 'https://d', token: 'flag' }, { FLEETDOCK_URL: 'http://c:7700', FLEETDOCK_TOKEN: 'env' })).toEqual({ url: 'https://d', token: 'flag', ca: null });
  });

  it('reads --token-file, trimmed, and names a file it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetdock-token-'));
    try {
      writeFileSync(join(dir, 't'), 'from-file\n');
      expect(resolveConnection({ 'token-file': join(dir, 't') }, { FLEETDOCK_TOKEN: 'env' }).token).toBe('from-file');
      expect(() => resolveConnection({ 'token-file': join(dir, 'missing') }, {})).toThrow(`cannot read the token file ${join(dir, 'missing')}: ENOENT`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a controller URL that is not http(s)', () => {
    expect(() => resolveConnection({ controller: 'ftp://c' }, {})).toThrow(UsageError);
  });
});

describe('renderHostsTable', () => {
  const now = new Date('2026-11-28T10:00:00.000Z');
  const host = (overrides: Partial<HostView>): HostView => ({
    id: 'id',
    name: 'bs1',
    group: 'ci',
    status: 'converged',
    connected: true,
    lastSeenAt: '2026-11-28T09:59:00.000Z',
    enrolledAt: '2026-11-28T09:00:00.000Z',
    facts: null,
    desiredRevision: 3,
    appliedRevision: 3,
    lastResult: null,
    observed: null,
    observedAt: null,
    ...overrides,
  });

  it('lines up the columns and shows revisions, age and the last error', () => {
    const table = renderHostsTable(
      [
        host({}),
        host({
          name: 'build-server-22',
          status: 'offline',
          connected: false,
          appliedRevision: null,
          lastResult: { revision: 3, outcome: 'failed', action: 'restart', filesChanged: [], verification: null, error: { code: 'VERIFY_FAILED', message: 'no' }, durationMs: 5, at: now.toISOString() },
        }),
        host({ name: 'fresh', status: 'new', connected: false, lastSeenAt: null, appliedRevision: null, desiredRevision: null }),
      ],
      now,
    );
    expect(table).toBe(
      [
        'NAME             GROUP  STATUS     APPLIED/DESIRED  ACTION   LAST-SEEN  ERROR',
        'bs1              ci     converged  3/3              -        connected',
        'build-server-22  ci     offline    -/3              restart  1m ago     VERIFY_FAILED: no',
        'fresh            ci     new        -/-              -        never',
        '',
      ].join('\n'),
    );
  });

  it.each([
    ['2026-11-28T09:59:58.000Z', '2s ago'],
    ['2026-11-28T07:00:00.000Z', '3h ago'],
    ['2026-11-25T10:00:00.000Z', '3d ago'],
  ])('renders %s as %s', (then, text) => {
    expect(renderAge(then, now)).toBe(text);
  });
});
