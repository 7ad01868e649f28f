// The audit log on a real SQLite file with the real migrations: append, filter, and the database's
// own refusal to change or delete an entry; no secret gets in, whatever a caller passes.
import { openMigratedStore, type MigratedStore } from '../../test/support/migrated-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scrubSecrets, type AuditStore } from './audit.js';
import { type Db } from './database.js';

let dir: string;
let db: Db;
let testStore: MigratedStore;
let audit: AuditStore;

beforeEach(() => {
  ({ dir, db, store: { audit } } = testStore = openMigratedStore('audit', () => new Date('2026-11-28T00:00:00.000Z')));
});

afterEach(() => {
  testStore.remove();
});

const at = (minute: number) => new Date(Date.UTC(2026, 10, 28, 10, minute)).toISOString();

describe('AuditStore', () => {
  it('appends entries with every field as given, and returns their ids in order', () => {
    const first = audit.record({ at: new Date(at(1)), actor: 'admin', action: 'settings.set', group: 'ci', fromRevision: 1, toRevision: 2, details: { changed: ['registryMirrors'] } });
    const second = audit.record({ at: at(2), actor: 'host:bs1', action: 'host.applied', host: 'bs1', toRevision: 2 });
    expect(second).toBeGreaterThan(first);
    expect(audit.list()).toEqual({
      entries: [
        { id: first, at: at(1), actor: 'admin', action: 'settings.set', group: 'ci', host: null, fromRevision: 1, toRevision: 2, details: { changed: ['registryMirrors'] } },
        { id: second, at: at(2), actor: 'host:bs1', action: 'host.applied', group: null, host: 'bs1', fromRevision: null, toRevision: 2, details: null },
      ],
      truncated: false,
    });
  });

  it('filters by host, group and time, and returns the newest N oldest first', () => {
    audit.record({ at: at(1), actor: 'admin', action: 'group.create', group: 'ci' });
    audit.record({ at: at(2), actor: 'host:bs1', action: 'host.enrol', group: 'ci', host: 'bs1' });
    audit.record({ at: at(3), actor: 'host:bs2', action: 'host.enrol', group: 'web', host: 'bs2' });
    audit.record({ at: at(4), actor: 'controller', action: 'host.drifted', group: 'ci', host: 'bs1' });
    audit.record({ at: at(5), actor: 'host:bs1', action: 'host.applied', group: 'ci', host: 'bs1', toRevision: 3 });
    const actions = (q: Parameters<AuditStore['list']>[0]) => audit.list(q).entries.map((e) => e.action);
    expect(actions({ host: 'bs1' })).toEqual(['host.enrol', 'host.drifted', 'host.applied']);
    expect(actions({ group: 'web' })).toEqual(['host.enrol']);
    expect(actions({ group: 'ci', since: at(3) })).toEqual(['host.drifted', 'host.applied']);
    expect(actions({ host: 'nobody' })).toEqual([]);
    expect(audit.list({ limit: 2 })).toMatchObject({ entries: [{ action: 'host.drifted' }, { action: 'host.applied' }], truncated: true });
    expect(audit.list({ limit: 5 }).truncated).toBe(false);
  });

  it('is append-only: the database refuses to change or delete an entry', () => {
    audit.record({ at: at(1), actor: 'admin', action: 'group.create', group: 'ci' });
    expect(() => db.prepare("UPDATE audit_log SET actor = 'someone-else'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect(audit.list().entries).toMatchObject([{ actor: 'admin' }]);
  });

  it('keeps secrets out of what it stores, whatever the caller passed', () => {
    audit.record({
      at: at(1),
      actor: 'admin',
      action: 'settings.set',
      group: 'ci',
      details: {
        proxy: 'http://builder:canary-pw@proxy.internal:3128',
        nested: [{ message: 'restart with https://u:canary-pw@p:3128 failed', password: 'canary-pw' }],
        token: 'canary-pw',
      },
    });
    const raw = db.prepare('SELECT * FROM audit_log').all();
    expect(JSON.stringify(raw)).not.toContain('canary-pw');
    expect(audit.list().entries[0]!.details).toEqual({
      proxy: 'http://xxxxx:xxxxx@proxy.internal:3128',
      nested: [{ message: 'restart with https://xxxxx:xxxxx@p:3128 failed', password: '[redacted]' }],
      token: '[redacted]',
    });
  });
});

describe('scrubSecrets', () => {
  it.each<[unknown, unknown]>([
    ['http://proxy:3128', 'http://proxy:3128'],
    ['http://u:p@proxy:3128', 'http://xxxxx:xxxxx@proxy:3128'],
    ['two: http://a:b@x and https://c:d@y', 'two: http://xxxxx:xxxxx@x and https://xxxxx:xxxxx@y'],
    [{ Credential: 'abc', joinToken: 'def', uses: 2 }, { Credential: '[redacted]', joinToken: '[redacted]', uses: 2 }],
    [[1, null, true], [1, null, true]],
  ])('%j -> %j', (input, output) => {
    expect(scrubSecrets(input)).toEqual(output);
  });
});
