/**
 * Pure: which directories to watch so that a change to any of the files the agent manages is seen,
 * even when a file's directory does not exist yet (`docker.service.d/` before the first drop-in,
 * `~/.docker/` before the first client config). Each file is watched through its parent directory;
 * when that is missing, through the nearest ancestor that exists, for the name of the next directory
 * on the way (when it appears, the plan changes and the watch moves down).
 */
import { dirname, basename, sep } from 'node:path';

/** Directory to watch → names in it whose changes matter. */
export type WatchPlan = Map<string, Set<string>>;

/** Plans the watches for `files` (absolute paths); `isDirectory` says whether a path is an existing directory. */
export function planWatches(files: readonly string[], isDirectory: (path: string) => boolean): WatchPlan {
  const plan: WatchPlan = new Map();
  for (const file of files) {
    let name = basename(file);
    let dir = dirname(file);
    while (!isDirectory(dir)) {
      const parent = dirname(dir);
      if (parent === dir) break; // the root itself is missing: nothing to watch
      name = basename(dir);
      dir = parent;
    }
    if (!isDirectory(dir)) continue;
    let names = plan.get(dir);
    if (!names) plan.set(dir, (names = new Set()));
    names.add(name);
  }
  return plan;
}

/** Whether an event for `filename` (null when the platform does not say) in a watched dir matters. */
export function eventMatters(names: ReadonlySet<string>, filename: string | null): boolean {
  if (filename === null) return true;
  // Some platforms report a path relative to the watched dir; only the first component counts.
  return names.has(filename.split(sep)[0]!);
}
