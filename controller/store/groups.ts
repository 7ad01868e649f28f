/**
 * SQL for host groups: create, find, list. Names are unique; a missing group is NOT_FOUND with a
 * message that says how to create it.
 */
import { FleetdockError } from '../../protocol/errors.js';
import type { Db } from './database.js';

/** A host group as stored. */
export interface GroupRow {
  id: number;
  name: string;
  createdAt: string;
  createdBy: string | null;
  /** The revision the group as a whole should be on (hosts follow it unless a rollout moves them); null before the first. */
  currentRevision: number | null;
}

const COLUMNS = 'id, name, created_at AS createdAt, created_by AS createdBy, current_revision AS currentRevision';

/** Reads and writes the `groups` table. */
export class GroupStore {
  readonly #insert;
  readonly #byName;
  readonly #all;
  readonly #setCurrent;
  readonly #setFirstCurrent;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO groups (name, created_at, created_by) VALUES (?, ?, ?) RETURNING ${COLUMNS}`);
    this.#byName = db.prepare(`SELECT ${COLUMNS} FROM groups WHERE name = ?`);
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM groups ORDER BY name`);
    this.#setCurrent = db.prepare('UPDATE groups SET current_revision = ? WHERE id = ?');
    this.#setFirstCurrent = db.prepare('UPDATE groups SET current_revision = ? WHERE id = ? AND current_revision IS NULL');
  }

  /** Makes `revision` the group's current revision (a rollout completed). */
  setCurrentRevision(id: number, revision: number): void {
    this.#setCurrent.run(revision, id);
  }

  /**
   * Makes `revision` current only if the group has no current revision yet (its first settings:
   * nothing was configured before, so nothing can break). Returns whether it did.
   */
  setFirstCurrentRevision(id: number, revision: number): boolean {
    return this.#setFirstCurrent.run(revision, id).changes === 1;
  }

  /** Creates a group; ALREADY_EXISTS when the name is taken. */
  create(name: string, createdBy: string | null, at: Date): GroupRow {
    try {
      return this.#insert.get(name, at.toISOString(), createdBy) as GroupRow;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new FleetdockError('ALREADY_EXISTS', `group ${name} already exists`, { cause: error, details: { group: name } });
      }
      throw error;
    }
  }

  /** The group called `name`, or undefined. */
  find(name: string): GroupRow | undefined {
    return this.#byName.get(name) as GroupRow | undefined;
  }

  /** The group called `name`; NOT_FOUND naming it otherwise. */
  require(name: string): GroupRow {
    const group = this.find(name);
    if (!group) {
      throw new FleetdockError('NOT_FOUND', `group ${name} does not exist (create it with: fleetdock group create ${name})`, { details: { group: name } });
    }
    return group;
  }

  /** All groups, by name. */
  list(): GroupRow[] {
    return this.#all.all() as GroupRow[];
  }
}
