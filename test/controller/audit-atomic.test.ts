// Each operator change and its audit entry commit together, over a real controller and its SQLite
// file: when the audit insert fails (a trigger the test adds to the controller's database, standing in
// for a crash or a full disk between the two writes), the change is not made either; once the insert
// works again, the change and its entry are both there. Covers group.create, settings.set,
// token.create and host.enrol.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FACTS, startTestController, type TestController } from './harness.js';

let t: TestController;
let db: Database.Database;

beforeAll(async () => {
  t = await startTestController();
  // A second connection to the controller's own database file (WAL: both may use it at once).
  db = new Database(join(t.dataDir, 'fleetdock.db'));
});

afterEach(() => {
  db.exec('DROP TRIGGER IF EXISTS test_audit_insert_fails');
});

afterAll(async () => {
  db?.close();
  await t?.stop();
});

/** From now on, appending an `action` entry to the audit log fails inside the controller. */
function failAuditInserts(action: string): void {
  db.exec(`CREATE TRIGGER test_audit_insert_fails BEFORE INSERT ON audit_log WHEN NEW.action = '${action}'
    BEGIN SELECT RAISE(ABORT, 'injected: the audit insert fails'); END`);
}

const count = (sql: string, ...params: unknown[]) => db.prepare(sql).pluck().get(...params) as number;
const audited = (action: string) => count('SELECT COUNT(*) FROM audit_log WHERE action = ?', action);

describe('an audit entry and its change are one transaction', () => {
  it('group.create: no group without its entry', async () => {
    failAuditInserts('group.create');
    const refused = await t.api('POST', '/v1/groups', { name: 'ci' });
    expect(refused.status, refused.text).toBe(500);
    expect((await t.api('GET', '/v1/groups/ci')).status).toBe(404);
    expect(audited('group.create')).toBe(0);

    db.exec('DROP TRIGGER test_audit_insert_fails');
    expect((await t.api('POST', '/v1/groups', { name: 'ci' })).status).toBe(201);
    expect(db.prepare("SELECT actor, group_name AS \"group\" FROM audit_log WHERE action = 'group.create'").all()).toEqual([{ actor: 'admin', group: 'ci' }]);
  });

  it('settings.set: no revision, and no current revision, without its entry', async () => {
    failAuditInserts('settings.set');
    const refused = await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror.internal:5000'] });
    expect(refused.status, refused.text).toBe(500);
    expect((await t.api('GET', '/v1/groups/ci/revisions')).body.revisions).toEqual([]);
    expect((await t.api('GET', '/v1/groups/ci')).body.currentRevision).toBeNull();
    expect(audited('settings.set')).toBe(0);

    db.exec('DROP TRIGGER test_audit_insert_fails');
    const set = await t.api('PUT', '/v1/groups/ci/settings', { registryMirrors: ['http://mirror.internal:5000'] });
    expect(set.body).toMatchObject({ revision: 1, currentRevision: 1, changed: true });
    expect(db.prepare("SELECT to_revision AS toRevision, details FROM audit_log WHERE action = 'settings.set'").all()).toEqual([
      { toRevision: 1, details: JSON.stringify({ changed: ['registryMirrors'], current: true }) },
    ]);
  });

  it('token.create: no usable join token without its entry', async () => {
    failAuditInserts('token.create');
    const refused = await t.api('POST', '/v1/groups/ci/join-tokens', {});
    expect(refused.status, refused.text).toBe(500);
    expect(refused.text).not.toMatch(/FD1|::/); // no token handed out
    expect((await t.api('GET', '/v1/join-tokens')).body.tokens).toEqual([]);
    expect(audited('token.create')).toBe(0);

    db.exec('DROP TRIGGER test_audit_insert_fails');
    expect((await t.api('POST', '/v1/groups/ci/join-tokens', { uses: 2 })).status).toBe(201);
    expect((await t.api('GET', '/v1/join-tokens')).body.tokens).toMatchObject([{ group: 'ci', usesTotal: 2, usesLeft: 2, state: 'usable' }]);
    expect(audited('token.create')).toBe(1);
  });

  it('host.enrol: no host, and no use of the token taken, without its entry', async () => {
    const { body: joinToken } = await t.api('POST', '/v1/groups/ci/join-tokens', { uses: 1 });
    const enrol = () => t.api('POST', '/v1/enrol', { joinToken: joinToken.token, name: 'bs1', facts: FACTS }, { token: null });
    failAuditInserts('host.enrol');
    const refused = await enrol();
    expect(refused.status, refused.text).toBe(500);
    expect(refused.text).not.toContain('credential');
    expect((await t.api('GET', '/v1/hosts/bs1')).status).toBe(404);
    expect(count('SELECT COUNT(*) FROM hosts')).toBe(0);
    expect(audited('host.enrol')).toBe(0);

    // The token's one use was not spent: the same token enrols the host once the log works again.
    db.exec('DROP TRIGGER test_audit_insert_fails');
    const enrolled = await enrol();
    expect(enrolled.status, enrolled.text).toBe(201);
    expect((await t.api('GET', '/v1/hosts/bs1')).body).toMatchObject({ name: 'bs1', group: 'ci' });
    expect(db.prepare("SELECT actor, host_name AS host, group_name AS \"group\" FROM audit_log WHERE action = 'host.enrol'").all()).toEqual([{ actor: 'host:bs1', host: 'bs1', group: 'ci' }]);
  });
});
