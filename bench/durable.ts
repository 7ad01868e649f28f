/**
 * Watches the controller's SQLite database, read-only, for hosts whose applied revision reached a
 * target: the bench's definition of "ack durable". Separate better-sqlite3 connections on the same
 * WAL file see only committed transactions.
 *
 * A scan of 10,000 wide rows costs milliseconds to tens of milliseconds of the CPU the controller
 * and the simulator need, so the watcher cannot scan after every commit. Instead it keeps the
 * committed states it has not scanned yet: a cheap probe (`PRAGMA data_version`, every `pollMs`)
 * notices each commit, and a pooled connection opens a read transaction at once, which keeps that
 * snapshot readable, stamped with the time the snapshot was taken (the commits it holds happened
 * before). Every `scanEveryMs` the newest snapshot is scanned; a host found at the target for the
 * first time is looked up by rowid in the snapshots kept since the last scan (a binary search: a
 * host's applied revision only moves forward during a push), and gets the time of the first one
 * that holds it. Then the snapshots are let go.
 *
 * So a host's time is at or after its commit, and at most one probe interval (plus the time the
 * probe waited for a CPU) later: `maxGapMs` is the longest time between two probes.
 */
import Database from 'better-sqlite3';

/** What a watch found. */
export interface DurableTimes {
  /** When each host (by id) was first seen at the target revision, ms since the epoch. */
  seenAt: Map<string, number>;
  /** Scans done and their total time, to show what watching cost the bench process. */
  scans: number;
  scanMs: number;
  /** Snapshots taken (about one per commit) and rowid look-ups made in them. */
  snapshots: number;
  lookups: number;
  /** Longest time between two probes for a commit: the resolution of `seenAt`. */
  maxGapMs: number;
  /** Whether every expected host was seen before the timeout. */
  complete: boolean;
}

/** How to watch. */
export interface WatchOptions {
  /** Time between two probes for a new commit. */
  pollMs: number;
  /** Time between two scans of the newest snapshot (at the latest; sooner when the pool is used up). */
  scanEveryMs: number;
  timeoutMs: number;
  /** Gets the count of hosts seen, about once a second. */
  onProgress?: (seen: number) => void;
}

/** Snapshots held at most between two scans: a connection each. */
const MAX_SNAPSHOTS = 64;

/** One read-only connection that can hold a snapshot open. */
class SnapshotReader {
  readonly db: Database.Database;
  readonly #begin;
  readonly #pin;
  readonly #end;
  readonly #revisionOf;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.db.pragma('mmap_size = 268435456'); // scans read pages by mmap instead of copying them
    this.#begin = this.db.prepare('BEGIN');
    this.#pin = this.db.prepare('SELECT 1 FROM hosts LIMIT 1'); // a read: the snapshot is fixed now
    this.#end = this.db.prepare('COMMIT');
    // By rowid, and the id too: `hosts` has a text primary key, so a rowid could name another row.
    this.#revisionOf = this.db.prepare('SELECT applied_revision FROM hosts WHERE rowid = ? AND id = ?').pluck();
  }

  /** Opens a read transaction: this connection keeps seeing the database as it is now. */
  hold(): void {
    this.#begin.run();
    this.#pin.get();
  }

  release(): void {
    if (this.db.inTransaction) this.#end.run();
  }

  /** The host's applied revision in this snapshot (undefined when the row is not there). */
  revisionOf(rowid: number, id: string): number | null | undefined {
    return this.#revisionOf.get(rowid, id) as number | null | undefined;
  }
}

/** A read-only view of the controller's hosts table. */
export class DurableWatcher {
  readonly #file: string;
  readonly #probe: Database.Database;
  readonly #dataVersion;
  readonly #names;
  /** Every connection opened for snapshots, and those not holding one now. */
  readonly #pool: SnapshotReader[] = [];
  readonly #free: SnapshotReader[] = [];

  constructor(file: string) {
    this.#file = file;
    this.#probe = new Database(file, { readonly: true, fileMustExist: true });
    this.#probe.pragma('mmap_size = 268435456');
    this.#dataVersion = this.#probe.prepare('PRAGMA data_version').pluck();
    this.#names = this.#probe.prepare('SELECT name, id FROM hosts');
  }

  /** Host ids by name. */
  idsByName(): Map<string, string> {
    return new Map((this.#names.all() as { name: string; id: string }[]).map((r) => [r.name, r.id]));
  }

  /** How many hosts are at `revision` now. */
  countAt(revision: number): number {
    return this.#probe.prepare('SELECT COUNT(*) FROM hosts WHERE applied_revision = ?').pluck().get(revision) as number;
  }

  /** Polls until `expected` hosts are at `revision` or `options.timeoutMs` passes. */
  async watch(revision: number, expected: number, options: WatchOptions): Promise<DurableTimes> {
    const seenAt = new Map<string, number>();
    const found: DurableTimes = { seenAt, scans: 0, scanMs: 0, snapshots: 0, lookups: 0, maxGapMs: 0, complete: false };
    const deadline = Date.now() + options.timeoutMs;
    /** Snapshots taken since the last scan, oldest first, with the time each was taken. */
    const held: { reader: SnapshotReader; at: number }[] = [];
    const free = this.#free;
    let lastVersion = this.#dataVersion.get() as number;
    let lastProbe = Date.now();
    let lastScan = Date.now();
    let lastProgress = Date.now();

    const takeSnapshot = () => {
      let reader = free.pop();
      if (!reader) {
        reader = new SnapshotReader(this.#file);
        this.#pool.push(reader);
      }
      reader.hold();
      held.push({ reader, at: Date.now() }); // after the read began: every commit it sees came before
      found.snapshots++;
    };

    /** Scans the newest snapshot; dates the hosts new in it by the oldest held snapshot that has them. */
    const scan = () => {
      const newest = held[held.length - 1];
      if (!newest) return;
      const t = performance.now();
      const rows = newest.reader.db.prepare('SELECT rowid AS rowid, id FROM hosts WHERE applied_revision = ?').all(revision) as { rowid: number; id: string }[];
      for (const { rowid, id } of rows) {
        if (seenAt.has(id)) continue;
        // The first held snapshot at the target: it is in the newest; none before these had it.
        let lo = 0;
        let hi = held.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          found.lookups++;
          if (held[mid]!.reader.revisionOf(rowid, id) === revision) hi = mid;
          else lo = mid + 1;
        }
        seenAt.set(id, held[lo]!.at);
      }
      for (const { reader } of held.splice(0)) {
        reader.release();
        free.push(reader);
      }
      found.scanMs += performance.now() - t;
      found.scans++;
      lastScan = Date.now();
    };

    try {
      takeSnapshot(); // hosts already at the target get the time the watch began
      while (seenAt.size < expected && Date.now() < deadline) {
        const probedAt = Date.now();
        found.maxGapMs = Math.max(found.maxGapMs, probedAt - lastProbe);
        lastProbe = probedAt;
        const version = this.#dataVersion.get() as number;
        if (version !== lastVersion) {
          lastVersion = version;
          takeSnapshot();
        }
        if (held.length > 0 && (held.length >= MAX_SNAPSHOTS || Date.now() - lastScan >= options.scanEveryMs)) scan();
        if (options.onProgress && Date.now() - lastProgress >= 1_000) {
          lastProgress = Date.now();
          options.onProgress(seenAt.size);
        }
        await new Promise((r) => setTimeout(r, options.pollMs));
      }
      scan();
    } finally {
      for (const { reader } of held.splice(0)) {
        reader.release();
        free.push(reader);
      }
    }
    found.complete = seenAt.size >= expected;
    return found;
  }

  close(): void {
    this.#free.length = 0;
    for (const reader of this.#pool.splice(0)) reader.db.close();
    this.#probe.close();
  }
}
