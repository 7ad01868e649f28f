#!/usr/bin/env node
// Entry point of the `fleetdock` command: runs the compiled CLI (built by `npm ci` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('fleetdock: dist/ is missing; run `npm ci` (or `npm run build`) in the checkout first\n');
  process.exit(1);
}
await import(main.href);
