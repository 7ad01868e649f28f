/**
 * Watches the directories of the files the agent manages (fs.watch, inotify on Linux) and calls
 * `onChange` when one of those files, or a directory on the way to it, changes. Re-arms itself when
 * the plan changes (a directory appeared or was replaced). Thin: the plan is watch-plan.ts's.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { eventMatters, planWatches } from './watch-plan.js';

type Armed = { watcher: FSWatcher; ino: number; names: Set<string> };

/** A set of directory watches over a list of files. */
export class FileWatcher {
  readonly #onChange: (what: string) => void;
  readonly #log: Logger;
  readonly #armed = new Map<string, Armed>();
  #files: string[] = [];
  #closed = false;

  constructor(onChange: (what: string) => void, log: Logger) {
    this.#onChange = onChange;
    this.#log = log;
  }

  /** Watches exactly what `files` needs now (call again when the list changes or periodically). */
  arm(files: readonly string[]): void {
    if (this.#closed) return;
    this.#files = [...files];
    const inodes = new Map<string, number>();
    const isDirectory = (path: string) => {
      try {
        const st = statSync(path);
        if (!st.isDirectory()) return false;
        inodes.set(path, st.ino);
        return true;
      } catch {
        return false;
      }
    };
    const plan = planWatches(this.#files, isDirectory);
    for (const [dir, armed] of this.#armed) {
      if (!plan.has(dir) || inodes.get(dir) !== armed.ino) {
        armed.watcher.close();
        this.#armed.delete(dir);
      }
    }
    for (const [dir, names] of plan) {
      const armed = this.#armed.get(dir);
      if (armed) {
        armed.names = names;
        continue;
      }
      try {
        const entry: Armed = { watcher: null as unknown as FSWatcher, ino: inodes.get(dir) ?? -1, names };
        entry.watcher = watch(dir, { persistent: false }, (_event, filename) => this.#event(dir, entry, filename === null ? null : String(filename)));
        entry.watcher.on('error', (error) => {
          // The directory went away: forget it; the next arm() finds the nearest one that exists.
          this.#log.debug({ dir, err: error.message }, 'watch ended');
          entry.watcher.close();
          if (this.#armed.get(dir) === entry) this.#armed.delete(dir);
          this.#onChange(dir);
        });
        this.#armed.set(dir, entry);
      } catch (error) {
        this.#log.warn({ dir, err: (error as Error).message }, 'cannot watch directory; the periodic check still covers it');
      }
    }
  }

  /** The directories watched now (for tests and logs). */
  get directories(): string[] {
    return [...this.#armed.keys()].sort();
  }

  /** Stops every watch. */
  close(): void {
    this.#closed = true;
    for (const armed of this.#armed.values()) armed.watcher.close();
    this.#armed.clear();
  }

  #event(dir: string, entry: Armed, filename: string | null): void {
    if (this.#closed || !eventMatters(entry.names, filename)) return;
    // A directory on the way may have appeared or been replaced: re-plan before the check reads.
    this.arm(this.#files);
    this.#onChange(filename === null ? dir : `${dir}/${filename}`);
  }
}
