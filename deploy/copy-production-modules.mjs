#!/usr/bin/env node
/**
 * `node deploy/copy-production-modules.mjs FROM_DIR TO_DIR`: copies FROM_DIR/node_modules to
 * TO_DIR/node_modules without the development-only packages, as package-lock.json marks them
 * (`"dev": true`). What `npm prune --omit=dev` leaves, but offline and with no npm: a host with only
 * node (a build server, a slim image) can run it. Native add-ons built in FROM_DIR (better-sqlite3)
 * are copied as they are, so FROM_DIR must have been installed with the same node major.
 *
 * Must not: change FROM_DIR, or copy anything the lockfile does not list (node_modules/.bin, caches).
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The lockfile's package directories (`node_modules/...`) needed in production, outermost first,
 * with nested ones dropped when their parent directory is copied whole anyway.
 * @param {{ lockfileVersion?: number, packages?: Record<string, { dev?: boolean }> }} lock
 * @returns {string[]}
 */
function productionPackageDirs(lock) {
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new Error('package-lock.json has no "packages" map (lockfileVersion 2 or 3 needed; run npm install with npm 7 or later)');
  }
  const wanted = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
    .map(([path]) => path)
    .sort();
  return wanted.filter((path) => !wanted.some((outer) => path !== outer && path.startsWith(`${outer}/`)));
}

function main([from, to]) {
  if (!from || !to) throw new Error('usage: copy-production-modules.mjs FROM_DIR TO_DIR');
  const lock = JSON.parse(readFileSync(join(from, 'package-lock.json'), 'utf8'));
  let copied = 0;
  for (const dir of productionPackageDirs(lock)) {
    const source = join(from, dir);
    // Optional packages for other platforms are in the lockfile but were never installed.
    if (!existsSync(source)) continue;
    mkdirSync(dirname(join(to, dir)), { recursive: true });
    cpSync(source, join(to, dir), { recursive: true, verbatimSymlinks: true });
    copied += 1;
  }
  process.stdout.write(`copied ${copied} production packages to ${join(to, 'node_modules')}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`copy-production-modules: ${error.message}\n`);
  process.exitCode = 1;
}
