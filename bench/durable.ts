/**
 * Watches the controller's SQLite database, read-only, for hosts whose applied revision reached a
 * target: the bench's definition of "ack durable". A separate better-sqlite3 connection on the same
 * WAL file sees only committed transactions. It re-scans when `PRAGMA data_version` says another
 * connection committed, at most every `pollMs`, and never sooner than one scan's CPU time after the
 * last scan ended (a scan of 10,000 wide rows takes tens of milliseconds: the watcher must not take
 * the CPU the controller needs). A host first seen in a scan gets that scan's START time, which is at
 * or after its commit and at most one gap between scan starts later (`maxGapMs`).
 */
import Database from 'better-sqlite3';

/** What a watch found. */
export interface DurableTimes {
  /** When each host (by id) was first seen at the target revision, ms since the epoch. */
  seenAt: Map<string, number>;
  /** Scans done and their total time, to show what watching cost the bench process. */
  scans: number;
  scanMs: number;
  /** Longest time between the starts of two consecutive scans: the resolution of `seenAt`. */
  maxGapMs: number;
  /** Whether every expected host was seen before the timeout. */
  complete: boolean;
}

/** A read-only view of the controller's hosts table. */
export class DurableWatcher {
  readonly #db: Database.Database;
  readonly #dataVersion;
  readonly #atRevision;
  readonly #names;

  constructor(file: string) {
    this.#db = new Database(file, { readonly: true, fileMustExist: true });
    this.#db.pragma('mmap_size = 268435456'); // scans read pages by mmap instead of copying them
    this.#dataVersion = this.#db.prepare('PRAGMA data_version').pluck();
    this.#atRevision = this.#db.prepare('SELECT id FROM hosts WHERE applied_revision = ?').pluck();
    this.#names = this.#db.prepare('SELECT name, id FROM hosts');
  }

  /** Host ids by name. */
  idsByName(): Map<string, string> {
    return new Map((this.#names.all() as { name: string; id: string }[]).map((r) => [r.name, r.id]));
  }

  /** How many hosts are at `revision` now. */
  countAt(revision: number): number {
    return (this.#atRevision.all(revision) as string[]).length;
  }

  /**
   * Polls until `expected` hosts are at `revision` or `timeoutMs` passes; `onProgress` gets the count
   * about once a second.
   */
  async watch(revision: number, expected: number, options: { pollMs: number; timeoutMs: number; onProgress?: (seen: number) => void }): Promise<DurableTimes> {
    const seenAt = new Map<string, number>();
    const deadline = Date.now() + options.timeoutMs;
    let lastVersion = -1;
    let scans = 0;
    let scanMs = 0;
    let lastProgress = Date.now();
    let lastScanStart = NaN;
    let maxGapMs = 0;
    while (seenAt.size < expected && Date.now() < deadline) {
      const version = this.#dataVersion.get() as number;
      let wait = options.pollMs;
      if (version !== lastVersion) {
        lastVersion = version;
        const started = Date.now();
        if (!Number.isNaN(lastScanStart)) maxGapMs = Math.max(maxGapMs, started - lastScanStart);
        lastScanStart = started;
        const t = performance.now();
        const cpu = process.cpuUsage();
        for (const id of this.#atRevision.all(revision) as string[]) if (!seenAt.has(id)) seenAt.set(id, started);
        scanMs += performance.now() - t;
        scans++;
        // Rest as long as the scan used the CPU (not its wall time, which other load inflates).
        const used = process.cpuUsage(cpu);
        wait = Math.max(wait, Math.ceil((used.user + used.system) / 1000));
      }
      if (options.onProgress && Date.now() - lastProgress >= 1_000) {
        lastProgress = Date.now();
        options.onProgress(seenAt.size);
      }
      await new Promise((r) => setTimeout(r, wait));
    }
    return { seenAt, scans, scanMs, maxGapMs, complete: seenAt.size >= expected };
  }

  close(): void {
    this.#db.close();
  }
}
