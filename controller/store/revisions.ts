/**
 * SQL for settings revisions: numbered 1, 2, ... per group, appended and never changed (triggers in
 * the schema refuse UPDATE and DELETE). Settings are stored as canonical JSON, so "same settings as the
 * latest revision" is a text comparison. Proxy passwords are sealed on the way in and opened on the way
 * out (controller/secret-box.ts): the database file never holds them in clear.
 */
import { FleetdockError } from '../../protocol/errors.js';
import type { Settings } from '../../protocol/settings.js';
import type { SecretBox } from '../secret-box.js';
import { renderSettingsJson } from '../settings.js';
import { openSettingsSecrets, sealSettingsSecrets } from '../settings-secrets.js';
import type { Db } from './database.js';

/** One revision of a group's settings (unredacted: callers redact before showing it). */
export interface Revision {
  groupId: number;
  number: number;
  settings: Settings;
  createdAt: string;
  createdBy: string | null;
}

interface RevisionRow {
  groupId: number;
  number: number;
  settings: string;
  createdAt: string;
  createdBy: string | null;
}

const COLUMNS = 'group_id AS groupId, number, settings, created_at AS createdAt, created_by AS createdBy';


/** Reads and appends to the `revisions` table. */
export class RevisionStore {
  readonly #db: Db;
  readonly #latest;
  readonly #latestJson;
  readonly #list;
  readonly #get;
  readonly #insert;
  readonly #latestNumbers;
  readonly #box;

  constructor(db: Db, box: SecretBox) {
    this.#db = db;
    this.#box = box;
    this.#latest = db.prepare(`SELECT ${COLUMNS} FROM revisions WHERE group_id = ? ORDER BY number DESC LIMIT 1`);
    this.#latestJson = db.prepare('SELECT number, settings FROM revisions WHERE group_id = ? ORDER BY number DESC LIMIT 1');
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM revisions WHERE group_id = ? ORDER BY number`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM revisions WHERE group_id = ? AND number = ?`);
    this.#insert = db.prepare(`INSERT INTO revisions (group_id, number, settings, created_at, created_by) VALUES (?, ?, ?, ?, ?) RETURNING ${COLUMNS}`);
    this.#latestNumbers = db.prepare('SELECT group_id AS groupId, MAX(number) AS number FROM revisions GROUP BY group_id');
  }

  #toRevision(row: RevisionRow): Revision {
    // The JSON was written by renderSettingsJson from schema-checked settings: trusted, not re-parsed.
    return { ...row, settings: openSettingsSecrets(JSON.parse(row.settings) as Settings, this.#box) };
  }

  /** The group's newest revision, or undefined when it has none yet. */
  latest(groupId: number): Revision | undefined {
    const row = this.#latest.get(groupId) as RevisionRow | undefined;
    return row && this.#toRevision(row);
  }

  /** The number of every group's newest revision, by group id (groups without one are absent). */
  latestNumbers(): Map<number, number> {
    const rows = this.#latestNumbers.all() as { groupId: number; number: number }[];
    return new Map(rows.map((r) => [r.groupId, r.number]));
  }

  /** All revisions of the group, oldest first. */
  list(groupId: number): Revision[] {
    return (this.#list.all(groupId) as RevisionRow[]).map((row) => this.#toRevision(row));
  }

  /** Revision `number` of the group; NOT_FOUND otherwise. */
  require(groupId: number, groupName: string, number: number): Revision {
    const row = this.#get.get(groupId, number) as RevisionRow | undefined;
    if (!row) throw new FleetdockError('NOT_FOUND', `group ${groupName} has no revision ${number}`, { details: { group: groupName, revision: number } });
    return this.#toRevision(row);
  }

  /**
   * Appends a revision with `settings` unless they equal the latest revision's; in one transaction, so
   * two operators changing one group at once get numbers N+1 and N+2, never the same number.
   */
  appendIfChanged(groupId: number, settings: Settings, createdBy: string | null, at: Date): { revision: Revision; changed: boolean } {
    const json = renderSettingsJson(sealSettingsSecrets(settings, this.#box));
    return this.#db.transaction(() => {
      const latest = this.#latestJson.get(groupId) as { number: number; settings: string } | undefined;
      if (latest && latest.settings === json) {
        return { revision: this.require(groupId, '', latest.number), changed: false };
      }
      const row = this.#insert.get(groupId, (latest?.number ?? 0) + 1, json, at.toISOString(), createdBy) as RevisionRow;
      return { revision: this.#toRevision(row), changed: true };
    }).immediate();
  }
}
